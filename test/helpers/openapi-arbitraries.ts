/**
 * fast-check arbitraries for HTTP requests, generated from openapi.yaml: for every operation,
 * requests that follow its parameter and body schemas, and the same requests with hostile edits
 * (wrong types, missing and extra fields, huge and non-finite numbers, NaN-ish strings, NUL, lone
 * surrogates, over-long strings, bad ids, raw bodies that are not JSON, encoded or mangled paths,
 * no key or a wrong one).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';

export interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  propertyNames?: Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  oneOf?: Schema[];
  anyOf?: Schema[];
}

interface Parameter {
  $ref?: string;
  name: string;
  in: 'path' | 'query' | 'header';
  schema: Schema;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  security?: unknown[];
}

export interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; parameters: Record<string, Parameter> };
}

export const spec = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as Spec;

const resolveRef = <T>(ref: string): T => ref.slice(2).split('/').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], spec) as T;
const resolved = (schema: Schema): Schema => (schema.$ref ? resolved(resolveRef<Schema>(schema.$ref)) : schema);

/** A JSON number written as its raw text, for what JSON.stringify cannot say (1e400 parses to Infinity). */
export class RawNumber {
  constructor(readonly text: string) {}
}

/** JSON text of a value that may hold RawNumbers. */
export function toJson(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof RawNumber ? `\u0001RAW${raws.push(v.text) - 1}\u0001` : v));
  return text === undefined ? '' : text.replace(/"\\u0001RAW(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]!);
}

// ---------- hostile values ----------

const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff'];
/** Code units that stress storage and text handling: NUL, controls, lone surrogates, BOM, RTL, astral. */
const nastyUnit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom('\u0000', '\u0001', '\u001f', '\u007f', '\ufeff', '\u202e', '\u2028', '\uffff', '\ufffd', '😀', ...LONE_SURROGATES) },
);

const NASTY_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', ...LONE_SURROGATES, `x${LONE_SURROGATES[0]}y`, '\ud83d', '5', '-1', '0', '1.5', '1e400', '-1e400', 'Infinity', '-Infinity', 'NaN', '0x10', '1_000',
  ' 5 ', '+5', 'true', 'false', 'null', '[]', '{}', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '{text}', '{{text}}', '{__proto__}', '{', '%00', '%', '../../etc/passwd',
  "'; DROP TABLE jobs; --", '\\', '"', '😀😀😀', '\u202eevil', 'a'.repeat(65), 'a'.repeat(101), 'a'.repeat(201), 'a'.repeat(1001), 'a'.repeat(2001), 'a'.repeat(20_001),
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: nastyUnit, maxLength: 30 }) },
);

const NASTY_NUMBERS = [0, -0, -1, 1.5, -1.5, 2 ** 31, 2 ** 32, 2 ** 53 + 2, Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, 1e308];
const RAW_NUMBERS = ['1e400', '-1e400', '1e-400', '1E999', '123456789012345678901234567890', '-0.0'].map((text) => new RawNumber(text));

/** Any value of the wrong kind, or of the right kind out of any bound. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(...NASTY_NUMBERS, ...RAW_NUMBERS) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], [''], { '': '' }) },
  { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 3 }), { minLength: 65, maxLength: 70 }) },
  { weight: 1, arbitrary: fc.dictionary(nastyString, fc.oneof(nastyString, fc.integer()), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

// ---------- values that follow a schema ----------

const DEFAULT_MAX_LENGTH = 24;
const DEFAULT_MAX_ITEMS = 3;

function stringFor(schema: Schema): fc.Arbitrary<string> {
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? Infinity) && s.length <= DEFAULT_MAX_LENGTH);
  const minLength = schema.minLength ?? 0;
  return fc.string({ unit: 'grapheme', minLength, maxLength: Math.max(minLength, Math.min(schema.maxLength ?? DEFAULT_MAX_LENGTH, DEFAULT_MAX_LENGTH)) });
}

function numberFor(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? schema.exclusiveMinimum ?? -1e6;
  const max = schema.maximum ?? schema.exclusiveMaximum ?? 1e6;
  if (integer) {
    const low = Math.ceil(schema.exclusiveMinimum !== undefined ? min + 1 : min);
    const high = Math.floor(schema.exclusiveMaximum !== undefined ? max - 1 : max);
    // Small values are the ones that make cheap, checkable requests; the bounds themselves too.
    return fc.oneof({ weight: 4, arbitrary: fc.integer({ min: low, max: Math.min(high, low + 20) }) }, { weight: 1, arbitrary: fc.constantFrom(low, high) });
  }
  return fc.double({ min, max, minExcluded: schema.exclusiveMinimum !== undefined, maxExcluded: schema.exclusiveMaximum !== undefined, noNaN: true, noDefaultInfinity: true });
}

function objectFor(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = schema.required ?? [];
  const known = fc.record(Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, valueFor(value)])), { requiredKeys: required.filter((k) => k in properties) });
  const extra = schema.additionalProperties;
  if (!extra || extra === true) return known;
  const keys = schema.propertyNames ? stringFor(resolved(schema.propertyNames)) : fc.string({ maxLength: 10 });
  return fc.tuple(known, fc.dictionary(keys, valueFor(extra), { minKeys: 1, maxKeys: DEFAULT_MAX_ITEMS })).map(([a, b]) => ({ ...b, ...a }));
}

/** Values that satisfy `schema` (a subset of JSON Schema: what openapi.yaml uses). */
export function valueFor(schemaOrRef: Schema): fc.Arbitrary<unknown> {
  const schema = resolved(schemaOrRef);
  if ('const' in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) return fc.oneof(...alternatives.map(valueFor));
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => valueFor({ ...schema, type })));
  switch (schema.type) {
    case 'string':
      return stringFor(schema);
    case 'integer':
      return numberFor(schema, true);
    case 'number':
      return numberFor(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = schema.minItems ?? 0;
      return fc.array(valueFor(schema.items ?? {}), { minLength, maxLength: Math.max(minLength, Math.min(schema.maxItems ?? DEFAULT_MAX_ITEMS, DEFAULT_MAX_ITEMS)) });
    }
    case 'object':
      return objectFor(schema);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// ---------- hostile edits of a value ----------

type Edit = { kind: 'retype' | 'same-type' | 'delete' | 'add'; pick: number; value: unknown; text: string; number: unknown; key: string };

const nastyNumber = fc.oneof(fc.constantFrom<unknown>(...NASTY_NUMBERS, ...RAW_NUMBERS), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));

const edit: fc.Arbitrary<Edit> = fc.record({
  // same-type edits keep the request otherwise valid, so they reach the route's own code and the store.
  kind: fc.constantFrom<Edit['kind']>('same-type', 'same-type', 'same-type', 'retype', 'retype', 'delete', 'add'),
  pick: fc.nat(),
  value: nastyValue,
  text: nastyString,
  number: nastyNumber,
  key: fc.oneof(nastyString, fc.constantFrom('extra', '__proto__', 'constructor')),
});

const isContainer = (value: unknown): value is object => value !== null && typeof value === 'object' && !(value instanceof RawNumber);

/** Every object and array inside `value`, itself included. */
function containers(value: unknown): Array<{ node: object }> {
  if (!isContainer(value)) return [];
  return [{ node: value }, ...Object.values(value).flatMap(containers)];
}

/**
 * A value of the kind `current` is (a string for a string, a number for a number), but hostile.
 * A string is as often kept with the hostile text put inside it, so that what made it valid (a
 * template's `{field}`) stays.
 */
function sameType(current: unknown, { text, number, value, pick }: Edit): unknown {
  if (typeof current === 'number') return number;
  if (typeof current !== 'string') return value;
  if (pick % 3 === 0) return text;
  const at = pick % (current.length + 1);
  return current.slice(0, at) + text + current.slice(at);
}

function applyEdit(root: unknown, change: Edit): unknown {
  const { kind, pick, key } = change;
  // fast-check hands out the same instance of a constant each time: edit a copy.
  const value = structuredCloneWithRaw(change.value);
  const targets = containers(root);
  if (targets.length === 0) return kind === 'same-type' ? sameType(root, change) : value; // a scalar body: replace it whole
  if (kind === 'same-type') {
    // A scalar anywhere in the body (or a key beside it), so that deep fields are hit as often as top-level ones.
    const scalars = targets.flatMap(({ node }) => Object.keys(node).filter((k) => !isContainer((node as Record<string, unknown>)[k])).map((k) => ({ node: node as Record<string, unknown>, k })));
    const target = scalars[pick % Math.max(scalars.length, 1)];
    if (target) {
      const { node, k } = target;
      if (!Array.isArray(node) && typeof node[k] === 'string' && pick % 3 === 0) {
        // Rename the key instead: keys are stored too (label words, example fields).
        const kept = node[k];
        delete node[k];
        Object.defineProperty(node, change.text, { value: kept, enumerable: true, writable: true, configurable: true });
      } else {
        node[k] = structuredCloneWithRaw(sameType(node[k], change));
      }
      return root;
    }
  }
  const { node } = targets[pick % targets.length]!;
  const keys = Object.keys(node);
  const existing = keys.length ? keys[pick % keys.length]! : undefined;
  const record = node as Record<string, unknown>;
  if (kind === 'add' || existing === undefined) {
    // Half the additions are strings: a record of strings (label words, examples) then stays valid but for the key.
    const added = pick % 2 === 0 ? change.text : value;
    if (Array.isArray(node)) node.push(added);
    // defineProperty, so that a key such as __proto__ becomes an own, serialised property.
    else Object.defineProperty(record, key, { value: added, enumerable: true, writable: true, configurable: true });
  } else if (kind === 'delete') {
    if (Array.isArray(node)) node.splice(Number(existing), 1);
    else delete record[existing];
  } else {
    record[existing] = value;
  }
  return root;
}

/** `base` with one to three hostile edits: a field replaced by a wrong value, deleted, or added. */
export function mutated(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(base, fc.oneof({ weight: 3, arbitrary: fc.array(edit, { minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.array(edit, { minLength: 2, maxLength: 3 }) })).map(([value, edits]) => edits.reduce(applyEdit, structuredCloneWithRaw(value)));
}

function structuredCloneWithRaw(value: unknown): unknown {
  if (value instanceof RawNumber || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(structuredCloneWithRaw);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, structuredCloneWithRaw(v)]));
}

// ---------- requests ----------

export type KeyKind = 'valid' | 'none' | 'unknown' | 'other-tenant' | 'malformed';

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** `GET /v1/jobs/{id}`: the operation the request was made for. */
  operation: string;
  /** Whether the path was mangled (encoded, re-cased, slashes): the route it reaches is then unknown. */
  mangled: boolean;
  keyKind: KeyKind;
}

/** What the fuzz needs from the service under test: keys, and real ids for each path. */
export interface FuzzContext {
  keys: { valid: string; otherTenant: string };
  /** Real ids a path parameter can take, by the path's first segment after /v1 (datasets, jobs, prompts). */
  ids: Record<string, string[]>;
  /** Whole bodies known to be valid for an operation, mutated as well as sent as they are. */
  validBodies: Record<string, unknown[]>;
  /** Raw bodies for operations that take files. */
  rawBodies: Record<string, string[]>;
}

/** Percent-encodes the UTF-8 bytes of a string (a lone surrogate becomes U+FFFD's bytes, as a client would send). */
const encode = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

/** Raw path or query text that no encoder would produce. */
const RAW_URL_PIECES = ['%', '%zz', '%ED%A0%80', '%C0%AF', '%FF', '%00', '%2F', '..', '.', ';x=1', '%2e%2e'];

const queryValue = (schema: Schema) =>
  fc.oneof(
    { weight: 3, arbitrary: valueFor(schema).map((v) => encode(String(v))) },
    { weight: 3, arbitrary: nastyString.map(encode) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_URL_PIECES) },
  );

const JSON_TYPE = 'application/json';
const OTHER_CONTENT_TYPES = ['application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', '', 'application/xml', 'application/json, text/plain'];
const RAW_JSON_BODIES = ['', ' ', '{', '}', 'null', '[]', '"x"', '1e400', 'true', '{"a":1,"a":2}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '['.repeat(5000), `{"x":"${'a'.repeat(1_100_000)}"}`, '\u0000', '\ufeff{}'];

/** A path mangled the ways a client or an attacker might: encoded letters, case, doubled or trailing slashes, dot segments. */
const mangledPath = (path: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.nat().map((i) => {
      const letters = [...path].map((c, j) => [c, j] as const).filter(([c]) => /[a-z0-9]/.test(c));
      const [c, j] = letters[i % letters.length]!;
      return `${path.slice(0, j)}%${c.charCodeAt(0).toString(16)}${path.slice(j + 1)}`;
    }),
    fc.constantFrom(path.replace('/v1/', '/%761/'), path.replace('/v1/', '/v%31/'), path.replace('/v1/', '/%76%31/')),
    fc.constant(path.toUpperCase()),
    fc.constant(path.replace('/v1', '/V1')),
    fc.constant(`/${path}`),
    fc.constant(path.replace(/\//g, '//')),
    fc.constant(`${path}/`),
    fc.constant(path.replace('/v1/', '/v1/./')),
    fc.constant(path.replace('/v1/', '/v2/../v1/')),
    fc.constant(path.replace(/\/([^/]+)$/, '%2F$1')),
    fc.constant(`${path};x`),
    fc.constant(`${path}%00`),
    fc.constant(`${path}#frag`),
  );

function authHeader(kind: KeyKind, keys: FuzzContext['keys']): Record<string, string> {
  switch (kind) {
    case 'valid':
      return { authorization: `Bearer ${keys.valid}` };
    case 'other-tenant':
      return { authorization: `Bearer ${keys.otherTenant}` };
    case 'unknown':
      return { authorization: 'Bearer lopt_not-a-real-key' };
    case 'malformed':
      return { authorization: `bearer ${keys.valid}x` };
    case 'none':
      return {};
  }
}

const keyKind = fc.oneof(
  { weight: 8, arbitrary: fc.constant<KeyKind>('valid') },
  { weight: 1, arbitrary: fc.constantFrom<KeyKind>('none', 'unknown', 'other-tenant', 'malformed') },
);

function pathParamValue(param: Parameter, path: string, context: FuzzContext): fc.Arbitrary<string> {
  const real = context.ids[path.split('/')[2] ?? ''] ?? [];
  return fc.oneof(
    ...(real.length ? [{ weight: 6, arbitrary: fc.constantFrom(...real) }] : []),
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: valueFor(param.schema).map((v) => encode(String(v))) },
    { weight: 2, arbitrary: nastyString.map(encode) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_URL_PIECES, 'a'.repeat(101), 'a'.repeat(100)) },
  );
}

function bodyFor(operation: Operation, operationId: string, context: FuzzContext): fc.Arbitrary<{ payload?: string | Buffer; contentType?: string }> {
  const content = operation.requestBody?.content;
  if (!content) {
    // No body is expected; sometimes send one anyway.
    return fc.oneof({ weight: 5, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.record({ payload: fc.constantFrom('{}', 'x', '{"a":1}'), contentType: fc.constantFrom('application/json', 'text/plain') }) });
  }
  const json = content['application/json']?.schema;
  if (json) {
    const valid = context.validBodies[operationId] ?? [];
    // Bodies known to be valid are the better base: an edit of one reaches the route's own checks and the store.
    const base = valid.length ? fc.oneof({ weight: 1, arbitrary: valueFor(json) }, { weight: 3, arbitrary: fc.constantFrom(...valid) }) : valueFor(json);
    const value = fc.oneof(
      { weight: 2, arbitrary: base.map(toJson) },
      { weight: 5, arbitrary: mutated(base).map(toJson) },
      { weight: 1, arbitrary: fc.constantFrom(...RAW_JSON_BODIES) },
    );
    const contentType = fc.oneof({ weight: 8, arbitrary: fc.constant(JSON_TYPE) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_CONTENT_TYPES) });
    return fc.record({ payload: value, contentType });
  }
  // A file upload: its declared types and a few others, with real files, broken ones and bytes that are not UTF-8.
  const raw = context.rawBodies[operationId] ?? [''];
  const payload = fc.oneof<fc.Arbitrary<string | Buffer>[]>(
    fc.constantFrom(...raw),
    fc.tuple(fc.constantFrom(...raw), fc.nat(), nastyString).map(([file, at, insert]) => file.slice(0, at % (file.length + 1)) + insert + file.slice(at % (file.length + 1))),
    fc.constantFrom(Buffer.from([0xff, 0xfe, 0x00, 0x0a]), Buffer.from([0xed, 0xa0, 0x80, 0x0a]), Buffer.alloc(0)),
    fc.string({ unit: nastyUnit, maxLength: 200 }),
  );
  return fc.record({ payload, contentType: fc.constantFrom(...Object.keys(content), 'application/json', 'application/xml', '') });
}

/** Requests for one operation of the spec. */
function requestsFor(path: string, method: string, operation: Operation, context: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const operationId = `${method.toUpperCase()} ${path}`;
  const parameters = (operation.parameters ?? []).map((p) => (p.$ref ? resolveRef<Parameter>(p.$ref) : p));
  const pathParams = parameters.filter((p) => p.in === 'path');
  const queryParams = parameters.filter((p) => p.in === 'query');
  const headerParams = parameters.filter((p) => p.in === 'header');

  const pathArb = fc.tuple(...pathParams.map((p) => pathParamValue(p, path, context))).map((values) =>
    pathParams.reduce((text, p, i) => text.replace(`{${p.name}}`, values[i]!), path),
  );
  const queryArb = fc
    .tuple(
      ...queryParams.map((p) => fc.option(queryValue(p.schema).map((v) => `${p.name}=${v}`), { nil: undefined, freq: 2 })),
      fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('unknown=1', 'limit=1&limit=2', '=x', '&&', 'x', '__proto__=1') }),
    )
    .map((parts) => parts.filter((p) => p !== undefined).join('&'));
  const headerArb = fc.tuple(...headerParams.map((p) => fc.option(fc.oneof(valueFor(p.schema).map(String), nastyString), { nil: undefined }))).map((values) =>
    Object.fromEntries(headerParams.flatMap((p, i) => (values[i] === undefined ? [] : [[p.name.toLowerCase(), values[i]!]]))),
  );
  const mangle = path.startsWith('/v1/') ? fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) : fc.constant(false);

  return fc
    .record({ path: pathArb, query: queryArb, headers: headerArb, body: bodyFor(operation, operationId, context), keyKind, mangle })
    // Half of the mangled paths go without a key: they are how an auth check on the URL string is passed.
    .chain((r) => (r.mangle ? fc.tuple(mangledPath(r.path), fc.boolean()).map(([path, keyless]) => ({ ...r, path, keyKind: keyless ? ('none' as const) : r.keyKind })) : fc.constant(r)))
    .map(({ path: url, query, headers, body, keyKind: kind, mangle: mangled }) => ({
      method: method.toUpperCase(),
      url: query ? `${url}?${query}` : url,
      headers: { ...authHeader(kind, context.keys), ...headers, ...(body.contentType ? { 'content-type': body.contentType } : {}) },
      ...(body.payload !== undefined ? { payload: body.payload } : {}),
      operation: operationId,
      mangled,
      keyKind: kind,
    }));
}

/** Requests for every operation in openapi.yaml; those with a body, where most can go wrong, three times as often. */
export function fuzzRequests(context: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ weight: operation.requestBody ? 3 : 1, arbitrary: requestsFor(path, method, operation, context) })),
  );
  return fc.oneof(...operations);
}
