/**
 * Dataset uploads under load: rounds of N concurrent uploads of one CSV body (AG News rows
 * repeated to `--mib` MiB, `?preset=ag_news`) to a real API process (`src/server.ts`, no training
 * workers) on a database of its own. Per round: the time of each upload, the API process's peak
 * RSS during the round (VmHWM, reset before it), its RSS `--settle-ms` after the round, and the
 * latency of `/healthz`, asked every 50 ms on a connection of its own meanwhile.
 *
 *   npm run bench:uploads -- [--concurrency 6,16] [--mib 20] [--settle-ms 10000]
 *
 * Extra environment (LOPT_UPLOAD_THREADS=4, …) passes through to the API process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { healthz, procStatusBytes } from '../test/helpers/process-probes.js';
import { DATASETS_DIR } from '../test/helpers/shared.js';
import { startServiceProcess } from './service-process.js';

const { values: args } = parseArgs({
  options: { concurrency: { type: 'string', default: '6,16' }, mib: { type: 'string', default: '20' }, 'settle-ms': { type: 'string', default: '10000' } },
});
const ROUNDS = args.concurrency.split(',').map(Number);
const BODY_BYTES = Math.floor(Number(args.mib) * 1024 * 1024);
const SETTLE_MS = Number(args['settle-ms']);
const MiB = 1024 * 1024;

/** AG News training rows after the header, repeated until the next one would pass `bytes`. */
function agNewsBody(bytes: number): Buffer {
  const [header, ...rows] = readFileSync(join(DATASETS_DIR, 'ag_news', 'train.csv'), 'utf8').trimEnd().split('\n');
  const lines = [header!];
  let size = header!.length + 1;
  for (let i = 0; ; i++) {
    const row = rows[i % rows.length]!;
    const rowBytes = Buffer.byteLength(row) + 1;
    if (size + rowBytes > bytes) break;
    lines.push(row);
    size += rowBytes;
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

interface Upload {
  readonly status: number;
  readonly seconds: number;
  readonly code?: string;
}

async function upload(base: string, key: string, body: Buffer): Promise<Upload> {
  const start = performance.now();
  const response = await fetch(`${base}/v1/datasets?name=bench&preset=ag_news`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' },
    body,
  });
  const answer = (await response.json()) as { rowCount?: number; error?: { code: string } };
  return { status: response.status, seconds: (performance.now() - start) / 1000, ...(answer.error ? { code: answer.error.code } : {}) };
}

const service = await startServiceProcess();
const { base, port, pid, key } = service;

try {
  const body = agNewsBody(BODY_BYTES);
  const rows = body.toString('utf8').split('\n').length - 2;
  await sleep(2000); // the inference thread loads its model at start
  console.log(`body: ${(body.length / MiB).toFixed(2)} MiB CSV, ${rows} rows; API pid ${pid}, idle RSS ${(procStatusBytes(pid, 'VmRSS') / MiB).toFixed(0)} MiB`);
  console.log('concurrent  answers             per upload s (mean / max)   peak RSS   RSS after   /healthz max (n)');

  for (const concurrency of ROUNDS) {
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
    let probing = true;
    const latencies: number[] = [];
    const prober = (async () => {
      while (probing) {
        latencies.push(await healthz(port));
        await sleep(50);
      }
    })();
    const uploads = await Promise.all(Array.from({ length: concurrency }, () => upload(base, key, body)));
    probing = false;
    await prober;
    const peak = procStatusBytes(pid, 'VmHWM');
    await sleep(SETTLE_MS);
    const after = procStatusBytes(pid, 'VmRSS');

    const answers = new Map<string, number>();
    for (const { status, code } of uploads) {
      const answer = code ? `${status} ${code}` : String(status);
      answers.set(answer, (answers.get(answer) ?? 0) + 1);
    }
    const seconds = uploads.map((u) => u.seconds);
    const mean = seconds.reduce((a, b) => a + b, 0) / seconds.length;
    console.log(
      [
        String(concurrency).padStart(10),
        [...answers].map(([answer, count]) => `${count}× ${answer}`).join(', ').padEnd(18),
        `${mean.toFixed(1)} / ${Math.max(...seconds).toFixed(1)}`.padStart(26),
        `${(peak / MiB).toFixed(0)} MiB`.padStart(10),
        `${(after / MiB).toFixed(0)} MiB`.padStart(11),
        `${Math.max(...latencies).toFixed(0)} ms (${latencies.length})`.padStart(18),
      ].join('  '),
    );
  }
} finally {
  await service.stop();
}
