/**
 * One check for every route: a request whose JSON body, query string, path or headers hold a
 * string PostgreSQL cannot store (a NUL, a lone surrogate; see db/storable-text.ts), as a value or
 * as a key, is refused with 400 VALIDATION_FAILED naming the field, before validation and before
 * any route code. Without it such a string reaches the store as a 500 (a template, a label word, a
 * dataset name, an Idempotency-Key…), or is changed on the way in.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { unstorableInText } from '../../db/storable-text.js';
import { ApiError } from '../api-error.js';

interface Unstorable {
  /** JSON pointer of the field (of the object whose key it is, for a key). */
  instancePath: string;
  reason: string;
  inKey: boolean;
}

const pointerSegment = (key: string) => `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
/**
 * Arrays and plain objects: parsed JSON, and the query string's object (whose prototype is an
 * empty object without one). Not class instances, such as an upload's stream or a Buffer.
 */
function isPlainContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || prototype === Object.prototype || Object.getPrototypeOf(prototype) === null;
}

/**
 * The first unstorable string in `value`, depth first. Iterative, so that a deeply nested body
 * cannot overflow the stack; bodies that are not parsed JSON (a Buffer upload) are not looked into.
 */
export function findUnstorable(value: unknown): Unstorable | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    if (typeof next.value === 'string') {
      const reason = unstorableInText(next.value);
      if (reason) return { instancePath: next.path, reason, inKey: false };
    } else if (isPlainContainer(next.value)) {
      const entries = Object.entries(next.value);
      for (const [key] of entries) {
        const reason = Array.isArray(next.value) ? undefined : unstorableInText(key);
        if (reason) return { instancePath: next.path, reason, inKey: true };
      }
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], path: next.path + pointerSegment(entries[i]![0]) });
    }
  }
  return undefined;
}

const PARTS = ['body', 'querystring', 'params', 'headers'] as const;
const partOf = (request: FastifyRequest, part: (typeof PARTS)[number]): unknown =>
  part === 'body' ? request.body : part === 'querystring' ? request.query : part === 'params' ? request.params : request.headers;

export const storableStrings = fp(
  async (app: FastifyInstance) => {
    app.addHook('preValidation', async (request: FastifyRequest) => {
      for (const part of PARTS) {
        const found = findUnstorable(partOf(request, part));
        if (!found) continue;
        const field = `${part}${found.instancePath}`;
        const message = found.inKey ? `${field} has a key holding ${found.reason}, which cannot be stored` : `${field} holds ${found.reason}, which cannot be stored`;
        throw new ApiError(400, 'VALIDATION_FAILED', message, [{ instancePath: found.instancePath, httpPart: part, keyword: 'storable', message }]);
      }
    });
  },
  { name: 'storable-strings' },
);
