/**
 * Request validation with two Ajv instances, chosen by the part of the request a schema is for.
 * A JSON body is taken as sent: no type coercion, so `"n": "5"` or `"texts": true` is a 400 rather
 * than a number or the text "true" (a client's bug would otherwise become a trained job). The
 * query string, path and headers are text by nature, so there strings still become the numbers
 * and booleans their schemas ask for. Both keep unknown fields so that `additionalProperties:
 * false` refuses them, and fill in defaults.
 *
 * Non-finite numbers: a body's 1e400 parses to Infinity, which `strictNumbers` refuses. Ajv's
 * coercion of text does not check the type again after it, and with `strictNumbers` it then skips
 * the bounds of a non-finite number, so `?limit=1e400` would pass; without it the bounds refuse
 * ±Infinity ("NaN" is never coerced). So every number in a query or path has a minimum and a
 * maximum (test/api/validation.test.ts checks every route's).
 */
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';

const COMMON = { removeAdditional: false, useDefaults: true, allErrors: false } as const;
const AS_SENT = { ...COMMON, coerceTypes: false, strictNumbers: true } as const;
const FROM_TEXT = { ...COMMON, coerceTypes: 'array', strictNumbers: false } as const;

/** Fastify's own compiler (its Ajv defaults, formats and shared schemas), built twice; these options replace the server's `ajv` option. */
export const validatorPerHttpPart: ValidatorFactory = (externalSchemas) => {
  const fromPool = AjvCompiler();
  const asSent = fromPool(externalSchemas, { customOptions: AS_SENT });
  const fromText = fromPool(externalSchemas, { customOptions: FROM_TEXT });
  return (route) => (route.httpPart === 'body' ? asSent(route) : fromText(route));
};
