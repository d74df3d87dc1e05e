import { Type } from 'typebox';
import { PAGE_QUERY, PageSchema, StringMap } from './common.js';
import { TaskSchema } from './jobs.js';
import { TaskIdSchema } from './tasks.js';

export const PromptSchema = Type.Object({
  id: Type.String(),
  jobId: Type.Union([Type.String(), Type.Null()], { description: 'The job that trained it; null for an imported prompt or once its job is deleted.' }),
  source: Type.Union([Type.Literal('trained'), Type.Literal('peft'), Type.Literal('prompt-file')]),
  model: Type.String(),
  method: Type.String(),
  n: Type.Integer(),
  r: Type.Union([Type.Integer(), Type.Null()]),
  activation: Type.Union([Type.String(), Type.Null()]),
  trainableParameters: Type.Integer(),
  shapes: Type.Record(Type.String(), Type.Array(Type.Integer())),
  task: Type.Unknown(),
  metrics: Type.Unknown(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const WeightsQuerySchema = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('safetensors'), Type.Literal('peft')], { default: 'json' })),
});

export const WeightsJsonSchema = Type.Object({
  method: Type.String(),
  tensors: Type.Record(Type.String(), Type.Object({ shape: Type.Array(Type.Integer()), data: Type.Array(Type.Number()) })),
});

const Inputs = {
  texts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 20_000 }), { minItems: 1, maxItems: 64, description: "Each fills the template's one field." })),
  inputs: Type.Optional(Type.Array(StringMap(Type.String({ maxLength: 64 }), Type.String({ maxLength: 20_000 })), { minItems: 1, maxItems: 64 })),
};

export const PredictRequestSchema = Type.Object(Inputs, { additionalProperties: false });
export const GenerateRequestSchema = Type.Object(
  {
    ...Inputs,
    maxNewTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 10, description: 'Softmax temperature of the draws; 0 (the default) generates greedily.' })),
    topK: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Draw only from the k most likely tokens.' })),
    topP: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Draw only from the most likely tokens whose probabilities add up to p (nucleus sampling).' })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Seed of the draws: the same request with the same seed generates the same text. Each input draws from it afresh.' })),
    stream: Type.Optional(Type.Boolean({ description: 'Answer as Server-Sent Events: `text` events as each input grows, then `done` with the outputs (also with Accept: text/event-stream).' })),
  },
  { additionalProperties: false },
);

export const PredictionsSchema = Type.Object({
  predictions: Type.Array(Type.Object({ label: Type.String(), labelWord: Type.String({ description: 'The label word the prompt scores for the label.' }), probabilities: Type.Record(Type.String(), Type.Number()) })),
});
export const GenerationsSchema = Type.Object({ outputs: Type.Array(Type.Object({ text: Type.String() })) });

/** Base64 of at most IMPORT_FILE_BYTES bytes. */
export const IMPORT_FILE_BYTES = 12 * 1024 * 1024;

export const PromptImportSchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 100 }),
    format: Type.Union([Type.Literal('peft'), Type.Literal('prompt-file')], {
      description: 'peft: a tar of a PEFT prompt-tuning adapter folder; prompt-file: a prompt file (safetensors) of lopt train or a download.',
    }),
    file: Type.String({ minLength: 1, maxLength: Math.ceil(IMPORT_FILE_BYTES / 3) * 4, description: 'The tar or the prompt file, base64-encoded.' }),
    task: Type.Optional(Type.Union([TaskSchema, TaskIdSchema], { description: "What the prompt serves; required for a PEFT adapter, a prompt file's own task otherwise." })),
  },
  { additionalProperties: false },
);

export const PromptListQuerySchema = Type.Object({
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  method: Type.Optional(Type.Union([Type.Literal('pt'), Type.Literal('lopt1'), Type.Literal('lopt2')])),
  jobId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  source: Type.Optional(Type.Union([Type.Literal('trained'), Type.Literal('peft'), Type.Literal('prompt-file')])),
  ...PAGE_QUERY,
});
export const PromptListSchema = PageSchema(PromptSchema);
