/** The memory a process may use, as the machine and its container (cgroup v2 or v1) say, or as configured. */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

function cgroupLimit(): number {
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const value = Number(readFileSync(path, 'utf8').trim()); // "max" reads as NaN: no limit
      if (Number.isFinite(value) && value > 0) return value;
    } catch {
      // no such cgroup file here
    }
  }
  return Infinity;
}

/** The memory this process may use: `configured` bytes, else the machine's or its container's. */
export function detectMemoryLimit(configured?: number): number {
  return configured ?? Math.min(totalmem(), cgroupLimit());
}
