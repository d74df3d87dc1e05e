/** What the report says about where it ran. */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, type as osType, release } from 'node:os';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** The checkout's commit, `-dirty` when it has uncommitted changes. */
  readonly revision: string;
}

function gitRevision(repoDir: string): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoDir, encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!docs') ? '-dirty' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export function describeMachine(repoDir: string): Machine {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
    revision: gitRevision(repoDir),
  };
}
