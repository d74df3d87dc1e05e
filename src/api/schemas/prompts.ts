import { Type } from 'typebox';
import { StringMap } from './common.js';

export const PromptSchema = Type.Object({
  id: Type.String(),
  jobId: Type.String(),
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
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('safetensors')], { default: 'json' })),
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
  { ...Inputs, maxNewTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })) },
  { additionalProperties: false },
);

export const PredictionsSchema = Type.Object({
  predictions: Type.Array(Type.Object({ label: Type.String(), probabilities: Type.Record(Type.String(), Type.Number()) })),
});
export const GenerationsSchema = Type.Object({ outputs: Type.Array(Type.Object({ text: Type.String() })) });
