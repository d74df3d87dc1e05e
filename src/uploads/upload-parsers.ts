/**
 * Uploads parsed off the API's event loop, a bounded number at a time. Each upload gets a thread
 * of its own that ends with it (so the memory it took is returned), and its body is streamed
 * into that thread as it arrives: this side holds no more of it than one chunk. Uploads past the
 * running ones wait, their bodies unread, in a queue of bounded length; past that they are
 * refused as busy. Every upload has a deadline, waiting included, so a slow or stuck client
 * cannot hold a thread.
 */
import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import type { Config } from '../config.js';
import type { ReadOptions } from '../engine/datasets/dataset-row.js';
import type { DatasetSummary } from '../engine/datasets/dataset-summary.js';
import { moduleBeside, startModuleThread } from '../threads/module-thread.js';
import type { FromParseThread, ParseJob, ToParseThread } from './messages.js';

/** The configuration an upload pool takes. */
export type UploadSettings = Pick<
  Config,
  'maxUploadBytes' | 'maxUploadRows' | 'maxUploadFields' | 'maxUploadLineBytes' | 'uploadThreads' | 'uploadQueue' | 'uploadTimeoutMs'
>;

/** What an upload is stored as. */
export interface ParsedUpload {
  readonly rowCount: number;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** The stored rows (see src/datasets/stored-dataset.ts). */
  readonly content: Uint8Array;
  /** What a job's submit checks need of the rows. */
  readonly summary: DatasetSummary;
}

export type UploadRefusalReason =
  /** The content cannot be read (the message names the line). */
  | 'invalid'
  /** Past a limit on rows, fields, line length or stored size (details: limit, max, line). */
  | 'too-large'
  /** More bytes than maxUploadBytes. */
  | 'body-too-large'
  /** Every thread busy and the queue full, or the deadline passed while waiting. */
  | 'busy'
  /** The deadline passed while the body was still arriving or being parsed. */
  | 'timeout'
  /** The client went away before the body ended. */
  | 'aborted';

export class UploadRefused extends Error {
  constructor(
    readonly reason: UploadRefusalReason,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'UploadRefused';
    Object.setPrototypeOf(this, UploadRefused.prototype);
  }
}

export interface UploadParsers {
  readonly settings: UploadSettings;
  /** Reads `body` (the upload's bytes) in a parse thread, as `read` says, under the configured limits. */
  parse(body: Readable, read: Omit<ReadOptions, 'limits'>): Promise<ParsedUpload>;
  /** Threads alive now (parsing, or ending). */
  readonly liveThreads: number;
  /** Uploads waiting for a thread. */
  readonly waiting: number;
  /** Ends every thread and refuses the waiting uploads. */
  close(): Promise<void>;
}

/** Stored rows may take this many times the largest upload: room for the line numbers and field names each row repeats. */
const STORED_BYTES_PER_UPLOAD_BYTE = 3;
/**
 * A parse thread's V8 heap: it holds a few rows at a time, and a line at most as long as the
 * longest allowed; past this it is ended (an upload that needs more is refused, not the process).
 */
const THREAD_HEAP_MB = 256;
const THREAD_MODULE = moduleBeside(import.meta.url, 'parse-thread');

export function createUploadParsers(settings: UploadSettings): UploadParsers {
  const threads = new Set<Worker>();
  const queue: Array<{ admit(): void; refuse(err: Error): void }> = [];
  let running = 0;
  let closed = false;
  const job = (read: Omit<ReadOptions, 'limits'>): ParseJob => ({
    read: { ...read, limits: { maxRows: settings.maxUploadRows, maxFields: settings.maxUploadFields, maxLineBytes: settings.maxUploadLineBytes } },
    maxStoredBytes: STORED_BYTES_PER_UPLOAD_BYTE * settings.maxUploadBytes,
  });

  /** A running slot, now or once one frees; refused when the queue is full, at the deadline, or when the client leaves first. */
  function admit(body: Readable, deadline: number): Promise<void> {
    if (closed) return Promise.reject(new UploadRefused('busy', 'the service is shutting down'));
    if (running < settings.uploadThreads) {
      running++;
      return Promise.resolve();
    }
    if (queue.length >= settings.uploadQueue) {
      return Promise.reject(new UploadRefused('busy', `${running} uploads are being parsed and ${queue.length} are waiting; try again shortly`));
    }
    return new Promise((resolve, reject) => {
      const leave = (err: Error) => {
        clearTimeout(timer);
        body.off('close', onClose);
        queue.splice(queue.indexOf(entry), 1);
        reject(err);
      };
      const onClose = () => leave(new UploadRefused('aborted', 'the client went away while its upload waited'));
      const timer = setTimeout(() => leave(new UploadRefused('busy', `no upload thread came free within ${settings.uploadTimeoutMs} ms`)), deadline - Date.now());
      const entry = {
        admit() {
          clearTimeout(timer);
          body.off('close', onClose);
          resolve();
        },
        refuse: leave,
      };
      body.once('close', onClose);
      queue.push(entry);
    });
  }

  /** Frees a slot: the next waiting upload takes it. */
  function release(): void {
    const next = queue.shift();
    if (next) next.admit();
    else running--;
  }

  /** Streams `body` into a new parse thread and waits for its answer; the thread is ended whatever happens. */
  function run(body: Readable, parseJob: ParseJob, deadline: number): Promise<ParsedUpload> {
    return new Promise((resolve, reject) => {
      const thread = startModuleThread(THREAD_MODULE, { workerData: parseJob, resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } });
      threads.add(thread);
      thread.once('exit', () => threads.delete(thread));
      let received = 0;
      let settled = false;

      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // Bytes still arriving are read and dropped (the stream keeps flowing without listeners).
        body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
        void thread.terminate();
        outcome();
      };
      const refuse = (reason: UploadRefusalReason, message: string, details?: unknown) => settle(() => reject(new UploadRefused(reason, message, details)));

      const onData = (chunk: Buffer) => {
        received += chunk.length;
        if (received > settings.maxUploadBytes) return refuse('body-too-large', `the upload is larger than ${settings.maxUploadBytes} bytes`);
        // A copy of its own, moved to the thread: the chunk may be a view of a buffer the socket reuses.
        const bytes = new Uint8Array(chunk);
        thread.postMessage({ type: 'chunk', bytes } satisfies ToParseThread, [bytes.buffer]);
      };
      const onEnd = () => {
        if (received === 0) return refuse('invalid', 'the upload is empty');
        thread.postMessage({ type: 'end' } satisfies ToParseThread);
      };
      const onError = () => refuse('aborted', 'the client went away mid-upload');
      const onClose = () => {
        if (!body.readableEnded) onError();
      };
      const timer = setTimeout(() => refuse('timeout', `the upload did not arrive and parse within ${settings.uploadTimeoutMs} ms`), deadline - Date.now());

      thread.on('message', (message: FromParseThread) => {
        if (message.type === 'refused') return refuse(message.refusal.kind, message.refusal.message, message.refusal.details);
        const { rowCount, sha256, content, summary } = message;
        settle(() => resolve({ rowCount, sha256, content, summary, sizeBytes: received }));
      });
      thread.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') return refuse('too-large', `reading it needs more than the ${THREAD_HEAP_MB} MiB an upload may use`);
        settle(() => reject(err));
      });
      thread.on('exit', (code) => {
        if (closed) return refuse('busy', 'the service is shutting down');
        settle(() => reject(new Error(`the parse thread exited (code ${code}) before it answered`)));
      });
      body.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
    });
  }

  return {
    settings,
    async parse(body, read) {
      // A client that left before now (during auth, say) sends no 'close' any more.
      if (body.destroyed) throw new UploadRefused('aborted', 'the client went away before its upload was read');
      const deadline = Date.now() + settings.uploadTimeoutMs;
      await admit(body, deadline);
      try {
        return await run(body, job(read), deadline);
      } finally {
        release();
      }
    },
    get liveThreads() {
      return threads.size;
    },
    get waiting() {
      return queue.length;
    },
    async close() {
      closed = true;
      for (const waiting of queue.slice()) waiting.refuse(new UploadRefused('busy', 'the service is shutting down'));
      await Promise.all([...threads].map((thread) => thread.terminate()));
    },
  };
}
