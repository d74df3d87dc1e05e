/**
 * A PEFT adapter folder as one file over HTTP: an uncompressed POSIX tar, which `tar -xf` and
 * Python's tarfile read and whose float32 contents would not shrink much compressed. Downloads put
 * the files under one folder named for the prompt; uploads take such a tar with or without the
 * folder, and keep only the adapter's own two files (PEFT also saves a README.md).
 */
import { createTar, parseTar, type ParsedTarFileItem } from 'nanotar';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../engine/peft-adapter.js';
import { ApiError } from './api-error.js';

const ADAPTER_FILES = [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE];

/** The tar of `files` under `folder/`, dated `mtime` (so a prompt's download is the same bytes each time). */
export function packAdapter(folder: string, files: ReadonlyMap<string, Uint8Array>, mtime: Date): Uint8Array {
  const attrs = { mtime: mtime.getTime(), mode: '644', uid: 0, gid: 0, user: '', group: '' };
  return createTar([...files].map(([name, data]) => ({ name: `${folder}/${name}`, data, attrs })));
}

/** The adapter's config and weights from an uploaded tar: found by file name, in its top folder or at its root. */
export function unpackAdapter(archive: Uint8Array): { config: unknown; weights: Uint8Array } {
  const invalid = (message: string) => new ApiError(400, 'ADAPTER_INVALID', message);
  let entries: ParsedTarFileItem[];
  try {
    entries = parseTar(archive);
  } catch (err) {
    throw invalid(`the adapter is not a readable tar archive (${(err as Error).message})`);
  }
  const found = new Map<string, Uint8Array>();
  for (const entry of entries) {
    if (entry.type !== 'file' || !entry.data) continue;
    const parts = entry.name.replace(/^\.\//, '').split('/').filter(Boolean);
    const name = parts.at(-1)!;
    if (parts.length > 2 || !ADAPTER_FILES.includes(name)) continue;
    if (found.has(name)) throw invalid(`the archive holds ${name} twice`);
    found.set(name, entry.data);
  }
  const missing = ADAPTER_FILES.filter((name) => !found.has(name));
  if (missing.length > 0) throw invalid(`the archive has no ${missing.join(' and no ')} (at its root or in one folder)`);
  let config: unknown;
  try {
    config = JSON.parse(Buffer.from(found.get(PEFT_CONFIG_FILE)!).toString('utf8'));
  } catch (err) {
    throw invalid(`${PEFT_CONFIG_FILE} is not JSON (${(err as Error).message})`);
  }
  return { config, weights: found.get(PEFT_WEIGHTS_FILE)! };
}
