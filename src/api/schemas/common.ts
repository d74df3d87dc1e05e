import { Type, type Static, type TSchema } from 'typebox';

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Machine-readable reason, e.g. VALIDATION_FAILED, NOT_FOUND, DATASET_INVALID.' }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'Error' },
);

export const IdParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** One error schema per status a route may answer with. */
export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorSchema]));

/**
 * An object used as a map from string keys to values, with the keys' schema enforced
 * (`propertyNames`). TypeBox's Record puts its key schema into a `patternProperties` pattern and
 * drops the rest: a key's maxLength is lost, and a key with a line break escapes `^.*$` and its
 * value is not checked at all.
 */
export const StringMap = <V extends TSchema>(key: TSchema, value: V, options: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, Static<V>>>({ type: 'object', propertyNames: key, additionalProperties: value, ...options });

/** A listing's page: `cursor` is the previous page's `nextCursor`. */
export const PAGE_QUERY = {
  cursor: Type.Optional(Type.String({ maxLength: 100 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
};

/** A newest-first page of `item`s and the cursor of the next (null after the last). */
export const PageSchema = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** The largest step or count PostgreSQL's int columns hold: query numbers above it are refused, not passed to the store. */
export const MAX_INT4 = 2 ** 31 - 1;
