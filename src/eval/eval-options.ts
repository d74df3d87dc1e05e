/** The command line of `npm run eval:paper`. */
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PROFILES, type Profile } from './profiles.js';

export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const USAGE = `npm run eval:paper -- [--profile quick|full|smoke] [options]

Trains PT, LoPT-1 and LoPT-2 through the service's REST API on SST-2, AG News and RTE, and writes
OUT/results.md with figures in OUT/figures/.

  --profile P      ${Object.values(PROFILES).map((p) => `${p.name}: ${p.summary}`).join('\n                   ')}
                   (default quick)
  --url URL        use the service running at URL (with --api-key) instead of starting one
  --api-key KEY    a key of that service (npm run keys:create -- --tenant NAME)
  --workers N      worker processes of the service it starts (default: one per core, ${cpus().length} here)
  --model ID       the model to tune prompts for (default gpt2-mini; the paper profile's own model for it)
  --out DIR        where results.md and figures/ go (default docs)
  --datasets DIR   the shared datasets (default ../shared/datasets beside the checkout, or $LOPT_SHARED_DIR/datasets)`;

export interface EvalOptions {
  readonly profile: Profile;
  readonly service: { readonly url: string; readonly apiKey: string } | { readonly workers: number };
  readonly model: string;
  readonly outDir: string;
  readonly datasetsDir: string;
  /** How to run it again, for the report. */
  readonly command: string;
}

export class EvalUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvalUsageError';
    Object.setPrototypeOf(this, EvalUsageError.prototype);
  }
}

const hideKey = (key: string | undefined) => (arg: string) => (arg === key ? '<key>' : arg.startsWith('--api-key=') ? '--api-key=<key>' : arg);

export function parseEvalOptions(args: readonly string[]): EvalOptions | 'help' {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      profile: { type: 'string', default: 'quick' },
      url: { type: 'string' },
      'api-key': { type: 'string' },
      workers: { type: 'string' },
      model: { type: 'string' },
      out: { type: 'string', default: 'docs' },
      datasets: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const profile = PROFILES[values.profile];
  if (!profile) throw new EvalUsageError(`--profile must be one of ${Object.keys(PROFILES).join(', ')}, got "${values.profile}"`);
  if ((values.url === undefined) !== (values['api-key'] === undefined)) throw new EvalUsageError('--url and --api-key go together');
  if (values.url !== undefined && values.workers !== undefined) throw new EvalUsageError('--workers is for the service this command starts, not one at --url');
  const workers = values.workers === undefined ? cpus().length : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new EvalUsageError(`--workers must be an integer ≥ 1, got "${values.workers}"`);
  const sharedDir = process.env.LOPT_SHARED_DIR ?? join(REPO_DIR, '../shared');
  return {
    profile,
    service: values.url !== undefined ? { url: values.url, apiKey: values['api-key']! } : { workers },
    model: values.model ?? profile.requirements?.model ?? 'gpt2-mini',
    outDir: resolve(values.out),
    datasetsDir: resolve(values.datasets ?? join(sharedDir, 'datasets')),
    command: ['npm run eval:paper', ...(args.length ? ['--', ...args.map(hideKey(values['api-key']))] : [])].join(' '),
  };
}
