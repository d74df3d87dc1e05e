/**
 * Checks a response body against the schema openapi.yaml declares for its operation and status,
 * so e2e tests keep the spec honest. The whole spec is registered with Ajv under one `$id`, and
 * each response schema is compiled as a `$ref` into it: `#/components/...` refs then resolve
 * within the spec, as OpenAPI 3.1 (JSON Schema 2020-12) means them.
 */
import { AssertionError } from 'node:assert';
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

interface Response {
  $ref?: string;
  content?: Record<string, { schema?: unknown }>;
}
interface Spec {
  paths: Record<string, Record<string, { responses?: Record<string, Response> }>>;
  components?: { responses?: Record<string, Response> };
}

const SPEC_ID = 'urn:lopt:openapi';
const spec = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as Spec;

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv); // CommonJS: under ESM the plugin is the module's `default`
// The spec's own keywords, and OpenAPI's additions to JSON Schema, are not validation keywords.
ajv.addVocabulary(['openapi', 'info', 'servers', 'tags', 'security', 'paths', 'components', 'discriminator', 'example', 'xml', 'externalDocs']);
ajv.addSchema({ ...spec, $id: SPEC_ID });

const pointer = (...segments: string[]) => segments.map((s) => `/${encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))}`).join('');
const compiled = new Map<string, ValidateFunction>();

/**
 * Asserts that `body` matches the JSON response openapi.yaml declares for `method path` (a
 * template such as `/v1/jobs/{id}`) and `status`; throws an AssertionError listing what does
 * not, or saying that the spec declares no such response. An `undefined` body is no body at all,
 * which only a response the spec gives no content (a 204) may have.
 */
export function assertMatchesSpec(method: string, path: string, status: number, body: unknown): void {
  const operation = `${method.toUpperCase()} ${path}`;
  const responses = spec.paths[path]?.[method.toLowerCase()]?.responses;
  if (!responses) throw new AssertionError({ message: `openapi.yaml has no operation ${operation}` });
  const declared = responses[String(status)];
  if (!declared) throw new AssertionError({ message: `openapi.yaml declares no ${status} response for ${operation} (it has ${Object.keys(responses).join(', ')})` });
  // A response is inline or a $ref to components/responses; either way, where it is in the spec.
  const shared = declared.$ref && /^#\/components\/responses\/([^/]+)$/.exec(declared.$ref)?.[1];
  const response = shared ? spec.components?.responses?.[shared] : declared;
  const location = shared ? pointer('components', 'responses', shared) : pointer('paths', path, method.toLowerCase(), 'responses', String(status));
  if (!response?.content) {
    if (body === undefined) return;
    throw new AssertionError({ message: `${operation} ${status}: openapi.yaml declares no body, but one came`, actual: body });
  }
  if (!response.content['application/json']?.schema) throw new AssertionError({ message: `${operation} ${status}: openapi.yaml declares no JSON body` });
  if (body === undefined) throw new AssertionError({ message: `${operation} ${status}: openapi.yaml declares a JSON body, but none came` });

  const ref = `${SPEC_ID}#${location}${pointer('content', 'application/json', 'schema')}`;
  let validate = compiled.get(ref);
  if (!validate) compiled.set(ref, (validate = ajv.compile({ $ref: ref })));
  if (validate(body)) return;
  const problems = validate.errors!.map((e) => `  ${e.instancePath || '(body)'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);
  throw new AssertionError({
    message: `${operation} ${status}: the body does not match openapi.yaml:\n${problems.join('\n')}`,
    actual: body,
    operator: 'assertMatchesSpec',
  });
}
