import { AssertionError } from 'node:assert';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Express } from 'express';
import { openApiDocument } from '../../src/api/openapi.js';

/**
 * The API's answers held to `/openapi.json`: every answer the tests get back goes through
 * `checkAnswer`, which finds the documented operation and status and validates the body
 * against its schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it).
 */
const doc = openApiDocument() as unknown as OpenApi;
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc as object, 'openapi.json');

interface OpenApiResponse { $ref?: string; description?: string; content?: Record<string, { schema?: unknown }> }
interface OpenApiOperation { responses: Record<string, OpenApiResponse> }
interface OpenApi { paths: Record<string, Record<string, OpenApiOperation>>; components: { responses: Record<string, OpenApiResponse> } }

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options'];
const operations = Object.entries(doc.paths).flatMap(([template, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((method) => ({
  template, method,
  pattern: new RegExp(`^${template.split('/').map((s) => (/^\{.+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/')}$`),
  // A literal segment beats a parameter: /v1/rotations/{id}/retry before /{id}/{action}.
  parameters: (template.match(/\{/g) ?? []).length,
})));

/** The documented operation a request reaches: the most literal path that matches. */
export function documentedOperation(method: string, path: string): { template: string; method: string } | undefined {
  // Express routes are not strict: /v1/deployments/ is /v1/deployments.
  const pathname = path.split('?')[0]!.replace(/(.)\/$/, '$1');
  return operations.filter((o) => o.method === method.toLowerCase() && o.pattern.test(pathname)).sort((a, b) => a.parameters - b.parameters)[0];
}

const pointer = (...tokens: string[]) => tokens.map((t) => encodeURIComponent(t.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
const validators = new Map<string, ValidateFunction>();

function validatorFor(ref: string): ValidateFunction {
  let validate = validators.get(ref);
  if (!validate) validators.set(ref, validate = ajv.compile({ $ref: ref }));
  return validate;
}

export interface Answer { method: string; path: string; status: number; contentType: string | null; body: unknown }

/**
 * Throws when the answer is not what `/openapi.json` says: an undocumented route or status,
 * another content type, or a body its schema refuses. An unknown route may only answer 404, or
 * a problem from the token and body checks before it (401, 400, 413).
 */
export function checkAnswer({ method, path, status, contentType, body }: Answer): void {
  const fail = (why: string) => {
    throw new AssertionError({ message: `${method} ${path} answered ${status}, against /openapi.json: ${why}\n${JSON.stringify(body)?.slice(0, 2_000)}` });
  };
  const operation = documentedOperation(method, path);
  if (!operation) {
    // Under /v1 the token and the body are checked before the route is looked up.
    if (![400, 401, 404, 413].includes(status)) fail('no documented route matches');
    return checkBody(validatorFor('openapi.json#/components/schemas/Problem'), body, fail);
  }
  const responses = doc.paths[operation.template]![operation.method]!.responses;
  const key = String(status) in responses ? String(status) : 'default';
  let response = responses[key];
  if (!response) return fail(`documented statuses are ${Object.keys(responses).join(', ')}`);
  const viaRef = response.$ref?.replace('#/components/responses/', '');
  if (viaRef) response = doc.components.responses[viaRef]!;
  if (!response.content) {
    if (body !== undefined && body !== '') fail('documented without a body, yet it has one');
    return;
  }
  const type = (contentType ?? '').split(';')[0]!.trim();
  if (!(type in response.content)) fail(`content type ${type || '(none)'}; documented: ${Object.keys(response.content).join(', ')}`);
  if (!response.content[type]!.schema) return;
  const ref = viaRef
    ? `openapi.json#/${pointer('components', 'responses', viaRef, 'content', type, 'schema')}`
    : `openapi.json#/${pointer('paths', operation.template, operation.method, 'responses', key, 'content', type, 'schema')}`;
  checkBody(validatorFor(ref), body, fail);
}

function checkBody(validate: ValidateFunction, body: unknown, fail: (why: string) => void): void {
  if (!validate(body)) fail(ajv.errorsText(validate.errors, { separator: '; ' }));
}

/** Every route the Express app answers, as `METHOD /path/{param}`, walked from its router stack. */
export function appRoutes(app: Express): string[] {
  interface Layer { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; rawPath?: string }
  const walk = (stack: Layer[], prefix: string): string[] => stack.flatMap((layer) => {
    if (layer.route) {
      const path = `${prefix}${layer.route.path}`.replace(/:([A-Za-z]+)/g, '{$1}').replace(/(.)\/$/, '$1');
      return Object.keys(layer.route.methods).filter((m) => m !== '_all').map((m) => `${m.toUpperCase()} ${path}`);
    }
    if (layer.handle?.stack) return walk(layer.handle.stack, `${prefix}${layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : ''}`);
    return [];
  });
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
}

/** Every documented operation, as `METHOD /path/{param}`. */
export function documentedRoutes(): string[] {
  return operations.map((o) => `${o.method.toUpperCase()} ${o.template}`);
}
