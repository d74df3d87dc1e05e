/**
 * The files uploaded for each dataset: a fixed sample of its training file, validation rows
 * carved from the same file (disjoint from the training rows: they pick the learning rates), and a
 * fixed sample of its evaluation split, kept in the original format (the upload names the catalog
 * preset that reads it). RTE has no labelled split besides train.jsonl here, so a fixed share of
 * it is held out for evaluation and never trained on or tuned on. The same seed always gives the
 * same rows, so every run of every method trains and is scored on the same data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { DatasetPlan, EvalTaskId } from './profiles.js';
import type { TaskPreset } from './service-client.js';

const SAMPLE_SEED = 2024;
const RTE_HELD_OUT = 0.1;

type Source = { readonly train: string; readonly eval: string } | { readonly train: string; readonly heldOut: number };
const SOURCES: Record<EvalTaskId, Source> = {
  sst2: { train: 'sst2/train.tsv', eval: 'sst2/dev.tsv' },
  ag_news: { train: 'ag_news/train.csv', eval: 'ag_news/dev.csv' },
  rte: { train: 'superglue/RTE/train.jsonl', heldOut: RTE_HELD_OUT },
};

interface FileRecord {
  /** The record's text in the file, without its line end. */
  readonly raw: string;
  readonly fields: Readonly<Record<string, string>>;
}
interface DataFile {
  readonly header: string | null;
  readonly records: readonly FileRecord[];
}

export interface UploadFile {
  readonly content: string;
  readonly rows: number;
  /** Where the rows come from, for the report. */
  readonly origin: string;
}

export interface PreparedData {
  readonly train: UploadFile;
  readonly validation: UploadFile;
  readonly evaluation: UploadFile & {
    /** Share of the most frequent label: what always answering it scores. */
    readonly majorityShare: number;
  };
}

function readDataFile(path: string, reading: TaskPreset['reading']): DataFile {
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  if (reading.format === 'jsonl') {
    const lines = text.split('\n').filter((line) => line.trim());
    return { header: null, records: lines.map((raw) => ({ raw, fields: stringFields(JSON.parse(raw) as Record<string, unknown>) })) };
  }
  if (reading.format === 'csv') {
    const parsed = parseCsv(text, { columns: reading.header === true, raw: true, skip_empty_lines: true }) as unknown as Array<{ record: Record<string, string>; raw: string }>;
    const header = reading.header ? text.slice(0, text.indexOf('\n')) : null;
    return { header, records: parsed.map(({ record, raw }) => ({ raw: raw.replace(/\n$/, ''), fields: record })) };
  }
  const [first, ...rest] = text.split('\n').filter((line) => line.length > 0);
  const header = reading.header ? first! : null;
  const names = header ? header.split('\t') : [];
  const lines = header ? rest : [first!, ...rest];
  return { header, records: lines.map((raw) => ({ raw, fields: Object.fromEntries(raw.split('\t').map((cell, i) => [names[i] ?? String(i), cell])) })) };
}

const stringFields = (object: Record<string, unknown>) => Object.fromEntries(Object.entries(object).map(([key, value]) => [key, String(value)]));

/** Fisher–Yates with mulberry32: the same seed, the same order, on every machine. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const shuffled = [...items];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return shuffled;
}

export function majorityShare(labels: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return labels.length ? Math.max(...counts.values()) / labels.length : 0;
}

/** The first `count` of `pool` (records of `file`, shuffled), as a file of the same format. */
function sample(file: DataFile, pool: readonly FileRecord[], count: number, poolName: string): { upload: UploadFile; records: readonly FileRecord[] } {
  if (pool.length < count) throw new Error(`${poolName} has ${pool.length} rows; the profile asks for ${count}`);
  const records = pool.slice(0, count);
  const content = [...(file.header === null ? [] : [file.header]), ...records.map((record) => record.raw)].join('\n');
  const origin = count === pool.length ? `all ${count} rows of ${poolName}` : `${count} of the ${pool.length} rows of ${poolName} (fixed sample)`;
  return { upload: { content, rows: count, origin }, records };
}

export function prepareData(datasetsDir: string, plan: DatasetPlan, preset: TaskPreset): PreparedData {
  const source = SOURCES[plan.task];
  const read = (file: string) => readDataFile(join(datasetsDir, file), preset.reading);
  const trainFile = read(source.train);
  const trainPool = seededShuffle(trainFile.records, SAMPLE_SEED);
  let evaluation;
  let rest = trainPool;
  let restName = source.train;
  if ('heldOut' in source) {
    const size = Math.round(trainPool.length * source.heldOut);
    evaluation = sample(trainFile, trainPool.slice(0, size), plan.evalRows, `the ${Math.round(source.heldOut * 100)}% of ${source.train} held out`);
    rest = trainPool.slice(size);
    restName = `the rest of ${source.train}`;
  } else {
    const evalFile = read(source.eval);
    evaluation = sample(evalFile, seededShuffle(evalFile.records, SAMPLE_SEED), plan.evalRows, source.eval);
  }
  // The validation rows come first from what may be trained on, the training rows from what follows them.
  const validation = sample(trainFile, rest.slice(0, plan.validationRows), plan.validationRows, restName);
  const validationUpload = { ...validation.upload, origin: `${plan.validationRows} rows carved out of ${restName} for validation (never trained on)` };
  const train = sample(trainFile, rest.slice(plan.validationRows), plan.trainRows, `${restName} beside the validation rows`);
  const labelColumn = preset.reading.columns.label ?? 'label';
  const labels = evaluation.records.map((record) => record.fields[labelColumn] ?? '');
  return { train: train.upload, validation: validationUpload, evaluation: { ...evaluation.upload, majorityShare: majorityShare(labels) } };
}
