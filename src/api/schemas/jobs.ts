import { Type, type Static } from 'typebox';
import { MAX_INT4, PAGE_QUERY, PageSchema, StringMap } from './common.js';
import { MAX_V_LEARNING_RATE_RATIO } from '../../engine/training/train-options.js';
import { TaskIdSchema } from './tasks.js';

const Field = Type.String({ pattern: '^\\w+$', maxLength: 64 });

export const TaskSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('classification'),
      template: Type.String({ minLength: 3, maxLength: 2000, description: "Input with {field} placeholders, e.g. '{text} It was'." }),
      labelWords: StringMap(Type.String({ maxLength: 200 }), Type.String({ minLength: 1, maxLength: 100 }), {
        description: 'Label (as in the data) → label word; a word of several tokens scores its summed log-probability.',
      }),
      labelField: Type.Optional(Field),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('text-to-text'),
      template: Type.String({ minLength: 3, maxLength: 2000 }),
      targetField: Type.Optional(Field),
      maxTargetTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 512 })),
    },
    { additionalProperties: false },
  ),
]);

export const HyperparametersSchema = Type.Object(
  {
    batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 512, default: 16 })),
    epochs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    maxSteps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    learningRate: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.03 })),
    vLearningRateRatio: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_V_LEARNING_RATE_RATIO })),
    warmupRatio: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1 })),
    schedule: Type.Optional(Type.Union([Type.Literal('linear'), Type.Literal('cosine'), Type.Literal('constant')])),
    weightDecay: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    clipNorm: Type.Optional(Type.Number({ minimum: 0 })),
    evalEvery: Type.Optional(Type.Integer({ minimum: 0, default: 50 })),
    earlyStoppingPatience: Type.Optional(Type.Integer({ minimum: 0 })),
    keepBest: Type.Optional(Type.Boolean()),
    bucketByLength: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const JobRequestSchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 100 }),
    datasetId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'An uploaded dataset; or give `examples`.' })),
    examples: Type.Optional(Type.Array(StringMap(Type.String({ maxLength: 64 }), Type.String({ maxLength: 20_000 })), { minItems: 1, maxItems: 5000 })),
    validationDatasetId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    validationFraction: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.1 })),
    task: Type.Union([TaskSchema, TaskIdSchema]),
    method: Type.Union([Type.Literal('pt'), Type.Literal('lopt1'), Type.Literal('lopt2')]),
    n: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, default: 20 })),
    r: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'Rank of lopt1 and lopt2 (default 4).' })),
    activation: Type.Optional(Type.Union([Type.Literal('tanh'), Type.Literal('relu'), Type.Literal('sigmoid'), Type.Literal('gelu')])),
    init: Type.Optional(Type.Union([Type.Literal('vocab'), Type.Literal('random'), Type.Literal('text')])),
    initText: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
    hyperparameters: Type.Optional(HyperparametersSchema),
  },
  { additionalProperties: false },
);
export type JobRequest = Static<typeof JobRequestSchema>;

const Metrics = Type.Object({ loss: Type.Number(), accuracy: Type.Optional(Type.Number()), macroF1: Type.Optional(Type.Number()) });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const JobSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('train'), Type.Literal('evaluate')]),
  status: Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
  model: Type.String(),
  datasetId: Nullable(Type.String({ description: 'Null once the dataset was deleted (after the job ended).' })),
  validationDatasetId: Nullable(Type.String()),
  spec: Type.Unknown({ description: 'The accepted request: task, prompt spec, hyperparameters, validation fraction.' }),
  trainableParameters: Nullable(Type.Integer()),
  progress: Nullable(
    Type.Object({
      step: Type.Integer(),
      totalSteps: Nullable(Type.Integer()),
      epoch: Type.Optional(Type.Integer()),
      loss: Type.Optional(Type.Number()),
      learningRate: Type.Optional(Type.Number()),
      tokensPerSecond: Type.Optional(Type.Number()),
      etaSeconds: Type.Optional(Type.Number()),
    }),
  ),
  bestMetrics: Nullable(Metrics),
  error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  promptId: Nullable(Type.String()),
  result: Type.Unknown({ description: "An evaluation's report; null for a tuning job." }),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Nullable(Type.String({ format: 'date-time' })),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
});

export const JobListQuerySchema = Type.Object({
  status: Type.Optional(Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s)))),
  ...PAGE_QUERY,
});

export const JobListSchema = PageSchema(JobSchema);

export const MetricsQuerySchema = Type.Object({
  split: Type.Optional(Type.Union([Type.Literal('train'), Type.Literal('validation')])),
  afterStep: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT4 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
});

export const MetricsSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      step: Type.Integer(),
      split: Type.String(),
      loss: Type.Number(),
      accuracy: Nullable(Type.Number()),
      macroF1: Nullable(Type.Number()),
      learningRate: Nullable(Type.Number()),
      tokensPerSecond: Nullable(Type.Number()),
    }),
  ),
});
