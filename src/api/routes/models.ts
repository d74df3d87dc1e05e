import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';
import { errors } from '../schemas/common.js';

const ModelListSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      modelType: Type.String(),
      promptStack: Type.Union([Type.Literal('decoder'), Type.Literal('encoder')]),
      vocabSize: Type.Integer(),
      hiddenSize: Type.Integer(),
      maxPositions: Type.Integer(),
      numLayers: Type.Integer(),
      numHeads: Type.Integer(),
    }),
  ),
});

export async function modelRoutes(app: FastifyInstance, { deps: { models } }: { deps: ApiDeps }): Promise<void> {
  app.get('/v1/models', { schema: { tags: ['models'], response: { 200: ModelListSchema, ...errors(401) } } }, async () => ({
    items: models.list().map(({ id, modelType, promptStack, dims }) => ({ id, modelType, promptStack, ...dims })),
  }));
}
