/** Worker threads that run a module of this code base, under tsx (tests, `npm run` scripts) as once built. */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The module `name` beside `callerUrl` (an `import.meta.url`): .ts under tsx, .js once built. */
export function moduleBeside(callerUrl: string, name: string): URL {
  return new URL(`./${name}${extname(fileURLToPath(callerUrl))}`, callerUrl);
}

let tsxApi: string | undefined;

/** Threads do not inherit tsx's loader: a .ts module registers it first. */
export function startModuleThread(module: URL, options: WorkerOptions = {}): Worker {
  if (extname(fileURLToPath(module)) !== '.ts') return new Worker(module, options);
  // Resolved once: under tsx a resolve is a synchronous round trip to its loader thread (tens of ms).
  tsxApi ??= import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
