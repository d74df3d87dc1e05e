/** Options shared by the `lopt` commands and their parsing into engine inputs. */
import type { ParseArgsConfig } from 'node:util';
import { readDatasetFile } from '../engine/datasets/parse-dataset.js';
import type { DatasetFormat, DatasetRow, ReadOptions } from '../engine/datasets/dataset-row.js';
import type { PromptStack } from '../engine/models/frozen-model.js';
import { catalogTaskSpec, isTaskId, TASK_CATALOG, TASK_IDS, type CatalogTask } from '../engine/tasks/task-catalog.js';
import type { TaskSpec } from '../engine/tasks/task-spec.js';
import { UsageError } from './usage-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export const MODEL_OPTIONS = {
  model: { type: 'string' },
  backend: { type: 'string' },
  'native-kernels': { type: 'string' },
} as const satisfies Options;

export const DATA_OPTIONS = {
  data: { type: 'string' },
  preset: { type: 'string' },
  format: { type: 'string' },
  columns: { type: 'string' },
  header: { type: 'string' },
  limit: { type: 'string' },
} as const satisfies Options;

export const TASK_OPTIONS = {
  template: { type: 'string' },
  'label-words': { type: 'string' },
  'text-to-text': { type: 'boolean' },
  'target-field': { type: 'string' },
} as const satisfies Options;

export const DATA_USAGE = `data:
  --data FILE            JSONL, CSV or TSV file
  --preset NAME          ${TASK_IDS.join(' | ')}: format, columns and task of a known dataset
  --format F             jsonl | csv | tsv (else from the preset or the file extension)
  --columns MAP          field=column pairs, e.g. text=sentence,label=label
  --header H             true | false | auto (CSV/TSV)
  --limit N              read only the first N rows`;

export const TASK_USAGE = `task (default: the preset's):
  --template T           e.g. '{text} It was'
  --label-words JSON     label → word, e.g. '{"0":" terrible","1":" great"}'
  --text-to-text         generate a target instead (field: --target-field, default target)`;

export function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

export function integer(values: Values, name: string, fallback?: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(value)) throw new UsageError(`--${name} must be an integer, got "${raw}"`);
  return value;
}

export function number(values: Values, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
  return value;
}

function preset(values: Values): CatalogTask | undefined {
  const name = values.preset;
  if (name === undefined) return undefined;
  if (!isTaskId(name)) throw new UsageError(`--preset must be one of ${TASK_IDS.join(', ')}, got "${name}"`);
  return TASK_CATALOG[name];
}

function parseColumns(raw: string): Record<string, string> {
  return Object.fromEntries(
    raw.split(',').map((pair) => {
      const [field, column, ...rest] = pair.split('=');
      if (!field || !column || rest.length) throw new UsageError(`--columns wants field=column pairs, got "${pair}"`);
      return [field.trim(), column.trim()];
    }),
  );
}

/** Reads the rows of `path` as the data options say. */
export async function readRows(values: Values, path: string): Promise<DatasetRow[]> {
  const fromPreset = preset(values)?.reading;
  const extension = path.split('.').pop()?.toLowerCase();
  const format = (values.format ?? fromPreset?.format ?? (extension === 'jsonl' || extension === 'json' ? 'jsonl' : extension)) as DatasetFormat;
  if (!['jsonl', 'csv', 'tsv'].includes(format)) throw new UsageError(`--format must be jsonl, csv or tsv (cannot tell from "${path}")`);
  const header = values.header === undefined ? fromPreset?.header : values.header === 'auto' ? 'auto' : values.header === 'true';
  const options: ReadOptions = {
    format,
    ...(values.columns ? { columns: parseColumns(values.columns as string) } : fromPreset ? { columns: fromPreset.columns } : {}),
    ...(header === undefined ? {} : { header }),
  };
  const rows = await readDatasetFile(path, options);
  const limit = integer(values, 'limit');
  return limit === undefined ? rows : rows.slice(0, limit);
}

/** The task the options describe, for a model whose prompt goes in front of `stack` (a preset's task depends on it). */
export function taskSpec(values: Values, stack: PromptStack): TaskSpec {
  const entry = preset(values);
  const base = entry && catalogTaskSpec(entry, stack);
  if (values['text-to-text']) {
    return { kind: 'text-to-text', template: required(values, 'template'), targetField: (values['target-field'] as string) ?? 'target' };
  }
  let labelWords = base?.labelWords;
  if (values['label-words'] !== undefined) {
    try {
      labelWords = JSON.parse(values['label-words'] as string) as Record<string, string>;
    } catch {
      throw new UsageError(`--label-words must be a JSON object of label → word, got ${values['label-words']}`);
    }
  }
  const template = (values.template as string | undefined) ?? base?.template;
  if (!template || !labelWords) throw new UsageError('give --preset, or --template and --label-words (or --text-to-text)');
  return { kind: 'classification', template, labelWords };
}
