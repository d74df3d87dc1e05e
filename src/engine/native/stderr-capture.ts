/**
 * Holds back what native libraries print to file descriptor 2 while a call runs (Dawn prints
 * warnings there as it finds an adapter), so the caller can decide which of it to show. Needs
 * the native addon; without it the call runs and its output goes to stderr as usual.
 */
import { loadNativeAddon } from './native-addon.js';

export interface CapturedRun<T> {
  readonly value: T;
  /** What reached fd 2 during the call: native output and the process's own stderr writes alike. */
  readonly printed: string;
}

/** When the call throws, what it printed goes to stderr after all: it may say why. */
export async function withStderrCaptured<T>(run: () => Promise<T>): Promise<CapturedRun<T>> {
  const { addon } = loadNativeAddon();
  if (!addon) return { value: await run(), printed: '' };
  addon.stderrCaptureBegin();
  let value: T;
  try {
    value = await run();
  } catch (err) {
    process.stderr.write(addon.stderrCaptureEnd());
    throw err;
  }
  return { value, printed: addon.stderrCaptureEnd() };
}
