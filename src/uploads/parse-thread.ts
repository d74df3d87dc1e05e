/**
 * A parse thread: reads one upload as its bytes arrive from the API's event loop, checks it
 * (format, fields, limits), and answers with its stored rows, their count and the upload's
 * SHA-256, or why it is refused. It parses one upload and ends, so whatever the upload took in
 * memory goes with it.
 */
import { DatasetSummarizer } from '../engine/datasets/dataset-summary.js';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { DatasetLimitExceeded } from '../engine/datasets/dataset-limits.js';
import { streamDataset } from '../engine/datasets/parse-dataset.js';
import { EngineError } from '../engine/engine-error.js';
import { StoredRowsWriter } from '../datasets/stored-dataset.js';
import type { FromParseThread, ParseJob, ParseRefusal, ToParseThread } from './messages.js';

const { read, maxStoredBytes } = workerData as ParseJob;
const port = parentPort!;
const send = (message: FromParseThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

class Refused extends Error {
  constructor(readonly refusal: ParseRefusal) {
    super(refusal.message);
  }
}

function refusalOf(err: unknown): ParseRefusal {
  if (err instanceof Refused) return err.refusal;
  if (err instanceof DatasetLimitExceeded) return { kind: 'too-large', message: err.message, details: { limit: err.limit, max: err.max, line: err.line } };
  if (err instanceof EngineError && err.code === 'DATASET_INVALID') return { kind: 'invalid', message: err.message };
  throw err; // a bug, not the upload's fault: the thread's error event reports it
}

const body = new Readable({ read() {} });
port.on('message', (message: ToParseThread) => body.push(message.type === 'chunk' ? message.bytes : null));

const hash = createHash('sha256');
async function* hashed(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
}

const stored = new StoredRowsWriter();
const summary = new DatasetSummarizer();
function checkStoredSize(bytes: number, line: number): void {
  if (bytes <= maxStoredBytes) return;
  const message = `${read.source ?? 'upload'} line ${line}: its rows take more than ${maxStoredBytes} bytes stored (the limit)`;
  throw new Refused({ kind: 'too-large', message, details: { limit: 'maxStoredBytes', max: maxStoredBytes, line } });
}

try {
  let lastLine = 0;
  const rowCount = await streamDataset(hashed(body), read, (row) => {
    stored.add(row);
    summary.add(row);
    lastLine = row.line;
    checkStoredSize(stored.byteLength, lastLine);
  });
  const content = stored.finish();
  checkStoredSize(content.length, lastLine);
  send({ type: 'parsed', rowCount, sha256: hash.digest('hex'), content, summary: summary.finish() }, [content.buffer]);
} catch (err) {
  send({ type: 'refused', refusal: refusalOf(err) });
}
port.close();
