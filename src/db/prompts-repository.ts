/**
 * Prompts, trained (one per job) or imported: their tensors as float32 little-endian bytes with
 * their shapes beside them.
 */
import type { Prisma, Prompt, PrismaClient } from './generated/client.js';
import { bytesToFloat32, float32ToBytes } from './float32-bytes.js';
import { jsonInput } from './prisma-inputs.js';
import { afterCursor, NEWEST_FIRST, pageOf, type Page, type PageQuery } from './newest-first-page.js';
import { isUniqueViolation } from './prisma-errors.js';
import { isUuid } from './uuid.js';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** How a prompt came: trained by its job, or imported from a PEFT adapter or a prompt file. */
export type PromptSource = 'trained' | 'peft' | 'prompt-file';

export interface NewPrompt {
  tenantId: string;
  /** The job that trained it; null for an import. */
  jobId: string | null;
  source: PromptSource;
  /** The prompt spec as given (method, n, r, …), as a job request or a prompt file has it. */
  spec: object;
  modelId: string;
  method: string;
  n: number;
  r: number | null;
  activation: string | null;
  trainableParameters: number;
  task: object;
  metrics: object;
  /** X always (the materialised prompt); U and V for lopt1; U, V and X0 for lopt2. */
  tensors: Record<string, Tensor>;
}

export type StoredPrompt = Omit<Prompt, TensorColumn> & { tensors: Record<string, Tensor> };
/** A prompt without its tensors (their shapes are in `shapes`), as listings show it. */
export type PromptSummary = Omit<Prompt, TensorColumn>;

export interface PromptPageQuery extends PageQuery {
  modelId?: string;
  method?: string;
  jobId?: string;
  source?: PromptSource;
}

const WITHOUT_TENSORS = { u: true, v: true, x0: true, x: true } as const;

const TENSOR_COLUMNS = { U: 'u', V: 'v', X0: 'x0', X: 'x' } as const;
type TensorName = keyof typeof TENSOR_COLUMNS;
type TensorColumn = (typeof TENSOR_COLUMNS)[TensorName];

function isTensorName(name: string): name is TensorName {
  return Object.hasOwn(TENSOR_COLUMNS, name);
}

function tensorColumns(tensors: Record<string, Tensor>) {
  const columns: Partial<Record<TensorColumn, Uint8Array<ArrayBuffer>>> = {};
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    if (!isTensorName(name)) throw new Error(`prompt tensor "${name}" is not one of ${Object.keys(TENSOR_COLUMNS).join(', ')}`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`prompt tensor ${name} has ${data.length} values for shape [${shape.join(', ')}]`);
    columns[TENSOR_COLUMNS[name]] = float32ToBytes(data);
  }
  const { x, ...rest } = columns;
  if (!x) throw new Error('a prompt needs its materialised tensor X');
  return { x, ...rest };
}

function toStoredPrompt(prompt: Prompt): StoredPrompt {
  const { u, v, x0, x, ...row } = prompt;
  const bytes: Record<TensorColumn, Uint8Array | null> = { u, v, x0, x };
  const tensors: Record<string, Tensor> = {};
  for (const [name, shape] of Object.entries(row.shapes as Record<string, number[]>)) {
    const data = isTensorName(name) ? bytes[TENSOR_COLUMNS[name]] : null;
    if (!data) throw new Error(`prompt ${row.id} lists tensor ${name} but does not store it`);
    tensors[name] = { shape, data: bytesToFloat32(data) };
  }
  return { ...row, tensors };
}

/** Writes a prompt row with the given client (a transaction's, for a job's final write). */
export async function insertPrompt(db: Pick<Prisma.TransactionClient, 'prompt'>, { tensors, task, metrics, spec, ...fields }: NewPrompt): Promise<StoredPrompt> {
  const shapes = Object.fromEntries(Object.entries(tensors).map(([name, tensor]) => [name, tensor.shape]));
  const prompt = await db.prompt.create({
    data: { ...fields, spec: jsonInput(spec), task: jsonInput(task), metrics: jsonInput(metrics), shapes, ...tensorColumns(tensors) },
  });
  return toStoredPrompt(prompt);
}

export function createPromptsRepository(prisma: PrismaClient) {
  async function findByJobId(jobId: string): Promise<StoredPrompt | null> {
    if (!isUuid(jobId)) return null;
    const prompt = await prisma.prompt.findUnique({ where: { jobId } });
    return prompt && toStoredPrompt(prompt);
  }

  return {
    /** Idempotent per job: a retried worker gets the prompt its first attempt stored. */
    async create(prompt: NewPrompt): Promise<StoredPrompt> {
      try {
        return await insertPrompt(prisma, prompt);
      } catch (err) {
        const existing = isUniqueViolation(err) && prompt.jobId ? await findByJobId(prompt.jobId) : null;
        if (!existing) throw err;
        return existing;
      }
    },

    async findById(tenantId: string, id: string): Promise<StoredPrompt | null> {
      if (!isUuid(id)) return null;
      const prompt = await prisma.prompt.findFirst({ where: { id, tenantId } });
      return prompt && toStoredPrompt(prompt);
    },

    findByJobId,

    /** Newest first, without tensors. Throws InvalidCursorError for a cursor that is not the tenant's prompt. */
    async list(tenantId: string, { modelId, method, jobId, source, cursor, limit }: PromptPageQuery): Promise<Page<PromptSummary>> {
      if (jobId !== undefined && !isUuid(jobId)) return { items: [], nextCursor: null };
      const after = await afterCursor(cursor, 'prompt', (id) => prisma.prompt.findFirst({ where: { id, tenantId }, select: { id: true, createdAt: true } }));
      const rows = await prisma.prompt.findMany({ where: { tenantId, modelId, method, jobId, source, ...after }, orderBy: [...NEWEST_FIRST], take: limit + 1, omit: WITHOUT_TENSORS });
      return pageOf(rows, limit);
    },

    /** Deletes the tenant's prompt; false when there was none. */
    async delete(tenantId: string, id: string): Promise<boolean> {
      if (!isUuid(id)) return false;
      return (await prisma.prompt.deleteMany({ where: { id, tenantId } })).count > 0;
    },

    /** The id of a job's prompt, without reading its tensors. */
    async idForJob(jobId: string): Promise<string | null> {
      if (!isUuid(jobId)) return null;
      return (await prisma.prompt.findUnique({ where: { jobId }, select: { id: true } }))?.id ?? null;
    },
  };
}
