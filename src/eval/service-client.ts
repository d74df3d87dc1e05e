/** The few REST calls the evaluation makes, typed by what it reads from the answers (see openapi.yaml). */

export interface TaskPreset {
  readonly id: string;
  readonly title: string;
  readonly reading: { readonly format: 'jsonl' | 'csv' | 'tsv'; readonly header?: boolean; readonly columns: Readonly<Record<string, string>> };
}

export interface JobRequest {
  readonly model: string;
  readonly datasetId: string;
  readonly validationDatasetId: string;
  readonly task: string;
  readonly method: string;
  readonly n: number;
  readonly r?: number;
  readonly activation?: string;
  readonly seed: number;
  readonly hyperparameters: Readonly<Record<string, number>>;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Job {
  readonly id: string;
  readonly status: JobStatus;
  readonly trainableParameters: number | null;
  readonly progress: { readonly step: number; readonly totalSteps: number | null } | null;
  readonly bestMetrics: { readonly loss: number; readonly accuracy?: number; readonly macroF1?: number } | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiRequestError';
    Object.setPrototypeOf(this, ApiRequestError.prototype);
  }
}

export function createServiceClient(baseUrl: string, apiKey: string) {
  async function call<T>(method: 'GET' | 'POST', path: string, options: { json?: unknown; text?: string; headers?: Record<string, string> } = {}): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, ...options.headers };
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    if (options.text !== undefined) headers['content-type'] = 'text/plain';
    const body = options.json !== undefined ? JSON.stringify(options.json) : options.text;
    const response = await fetch(new URL(path, baseUrl), { method, headers, ...(body !== undefined ? { body } : {}) });
    const answer = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    if (!response.ok) {
      const reason = answer?.error ? `${answer.error.code}: ${answer.error.message}` : `HTTP ${response.status}`;
      throw new ApiRequestError(response.status, `${method} ${path} failed (${reason})`);
    }
    return answer as T;
  }

  return {
    /** The inference backend, once PostgreSQL, Redis and the backend answer; throws while not ready. */
    readiness: async () => (await call<{ checks: { backend: string } }>('GET', '/readyz')).checks.backend,
    tasks: async () => (await call<{ items: TaskPreset[] }>('GET', '/v1/tasks')).items,
    modelIds: async () => (await call<{ items: Array<{ id: string }> }>('GET', '/v1/models')).items.map((model) => model.id),
    /** A file in the format of a catalog task's files, read as `?preset=` says. */
    uploadDataset: (name: string, preset: string, content: string) =>
      call<{ id: string; rowCount: number }>('POST', `/v1/datasets?name=${encodeURIComponent(name)}&preset=${preset}`, { text: content }),
    submitJob: (request: JobRequest, idempotencyKey: string) => call<Job>('POST', '/v1/jobs', { json: request, headers: { 'idempotency-key': idempotencyKey } }),
    job: (id: string) => call<Job>('GET', `/v1/jobs/${id}`),
    trainingLoss: async (id: string) =>
      (await call<{ items: Array<{ step: number; loss: number }> }>('GET', `/v1/jobs/${id}/metrics?split=train&limit=10000`)).items.map(({ step, loss }) => ({ step, loss })),
  };
}

export type ServiceClient = ReturnType<typeof createServiceClient>;
