#!/usr/bin/env node
/** `lopt`: train, evaluate and use soft prompts from the command line, without the service. */
import { shutdownBackend } from '../engine/backend.js';
import { EngineError } from '../engine/engine-error.js';
import { EVAL_USAGE, evalCommand } from './eval-command.js';
import { EXPORT_USAGE, exportCommand } from './export-command.js';
import { PREDICT_USAGE, predictCommand } from './predict-command.js';
import { TRAIN_USAGE, trainCommand } from './train-command.js';
import { UsageError } from './usage-error.js';

const COMMANDS: Record<string, { run: (args: string[]) => Promise<void>; usage: string }> = {
  train: { run: trainCommand, usage: TRAIN_USAGE },
  eval: { run: evalCommand, usage: EVAL_USAGE },
  predict: { run: predictCommand, usage: PREDICT_USAGE },
  export: { run: exportCommand, usage: EXPORT_USAGE },
};

const USAGE = `usage: lopt <command> [options]   (lopt <command> --help for its options)
commands: ${Object.keys(COMMANDS).join(', ')}`;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`${name && name !== '--help' ? `unknown command "${name}"\n` : ''}${USAGE}\n`);
    return name === '--help' ? 0 : 2;
  }
  if (args.includes('--help')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    await command.run(args);
    return 0;
  } catch (err) {
    // parseArgs reports unknown or malformed options with these codes.
    const code = (err as { code?: string }).code ?? '';
    if (err instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`lopt ${name}: ${(err as Error).message}\n\n${command.usage}\n`);
      return 2;
    }
    if (err instanceof EngineError) {
      process.stderr.write(`lopt ${name}: ${err.message} [${err.code}]\n`);
      return 1;
    }
    throw err;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} finally {
  shutdownBackend();
}
