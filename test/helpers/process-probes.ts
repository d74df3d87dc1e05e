/** Probes of a running service from outside, shared by tests and benchmarks. */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

/** A memory line of /proc/PID/status (current or peak resident set), in bytes. */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** GET /healthz on a connection of its own (so it never waits behind another request); its latency in ms. */
export function healthz(port: number): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(`/healthz answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}
