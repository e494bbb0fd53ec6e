import { z } from 'zod';
import { parseDuration } from '../domain/duration.js';
import { placeholders, quotedPlaceholders, stringsIn } from '../domain/recipe.js';
import { githubSecretName, variableName } from './names.js';

/**
 * `services.<svc>.rotations.<name>`: a rotation recipe (docs/rotations.md, "Rotation recipes"). The shape
 * is checked here; what it names elsewhere in the config (services, environments, values) is
 * checked by `recipeIssues` once the whole config is parsed.
 */
const NAME = variableName;
const where = z.strictObject({ service: z.string().min(1), environment: z.string().min(1) });

const retryFor = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 30s or 5m (got "${text}")` });
    return z.NEVER;
  }
  return ms;
});

const commandValues = z.strictObject({
  /** Run once, on the first target of `on`; prints `NAME=VALUE` lines. */
  command: z.string().min(1),
  on: where,
  names: z.array(NAME).min(1),
});
const generatedValue = z.strictObject({
  generate: z.strictObject({ name: NAME, bytes: z.number().int().min(16, 'at least 16 bytes').max(512), encoding: z.enum(['hex', 'base64', 'base64url']).default('hex') }),
});
const recipeCommand = z.strictObject({ command: z.string().min(1), on: where });

const httpStep = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  url: z.string().regex(/^https?:\/\/\S+$/, 'expected an http:// or https:// URL'),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'expected a header name'), z.string()).default({}),
  body: z.unknown().optional(),
  expect: z.array(z.number().int().min(100).max(599)).min(1).default([200]),
  /** How long 5xx answers and connection errors are retried. */
  retryFor: retryFor.default(60_000),
  /** false: a call that may have reached the other system is not retried, only a refused connection. */
  idempotent: z.boolean().default(true),
});

export const recipeSchema = z.strictObject({
  values: z.array(z.union([commandValues, generatedValue], { error: 'expected { command, on, names } or { generate: { name, bytes, encoding } }' })).min(1),
  write: z.array(where.extend({ variables: z.array(NAME).min(1) })).default([]),
  /** Value name -> GitHub Actions secret of the service's repo. */
  githubSecrets: z.record(NAME, githubSecretName).default({}),
  http: z.array(httpStep).default([]),
  finally: z.array(recipeCommand).default([]),
  undo: z.array(recipeCommand).default([]),
}).refine((r) => r.write.length || Object.keys(r.githubSecrets).length || r.http.length, 'a recipe must use its values: write, githubSecrets or http');

export type RecipeConfig = z.output<typeof recipeSchema>;

/** The names a recipe's values make, in order. */
export function valueNames(recipe: RecipeConfig): string[] {
  return recipe.values.flatMap((v) => ('generate' in v ? [v.generate.name] : v.names));
}

interface Issue { path: (string | number)[]; message: string }

/**
 * What a recipe names that the config lacks, each issue with its path under the recipe:
 * services and environments of `on` and `write`, values used but never made, `{old:X}` of a
 * value no env file holds, a `finally` with no `undo` to retire what the recipe made.
 */
export function recipeIssues(
  recipe: RecipeConfig,
  services: Record<string, { repo?: string | undefined; environments: Record<string, unknown> }>,
  service: string,
): Issue[] {
  const issues: Issue[] = [];
  const exists = (w: { service: string; environment: string }, path: (string | number)[]) => {
    const svc = Object.hasOwn(services, w.service) ? services[w.service] : undefined;
    if (!svc) issues.push({ path: [...path, 'service'], message: `unknown service "${w.service}"` });
    else if (!Object.hasOwn(svc.environments, w.environment)) issues.push({ path: [...path, 'environment'], message: `service "${w.service}" has no environment "${w.environment}"` });
  };
  const made = valueNames(recipe);
  const madeSet = new Set(made);
  const written = new Set(recipe.write.flatMap((w) => w.variables));

  made.forEach((name, i) => { if (made.indexOf(name) !== i) issues.push({ path: ['values'], message: `${name} is made twice` }); });
  recipe.values.forEach((v, i) => {
    if ('command' in v) {
      exists(v.on, ['values', i, 'on']);
      if (placeholders(v.command).length) issues.push({ path: ['values', i, 'command'], message: 'a provisioning command cannot use {new:…} or {old:…}: the values do not exist yet' });
    }
  });
  recipe.write.forEach((w, i) => {
    exists(w, ['write', i]);
    w.variables.forEach((name, j) => { if (!madeSet.has(name)) issues.push({ path: ['write', i, 'variables', j], message: `${name} is not made by any of values` }); });
  });
  for (const name of Object.keys(recipe.githubSecrets)) {
    if (!madeSet.has(name)) issues.push({ path: ['githubSecrets', name], message: `${name} is not made by any of values` });
  }
  if (Object.keys(recipe.githubSecrets).length && !services[service]?.repo) issues.push({ path: ['githubSecrets'], message: `GitHub secrets need the repo of service "${service}"` });

  const checkPlaceholders = (text: string, path: (string | number)[]) => {
    for (const p of placeholders(text)) {
      if (!madeSet.has(p.name)) issues.push({ path, message: `{${p.which}:${p.name}}: ${p.name} is not made by any of values` });
      else if (p.which === 'old' && !written.has(p.name)) issues.push({ path, message: `{old:${p.name}}: the old value is read from an env file, and no write holds ${p.name}` });
    }
  };
  recipe.http.forEach((h, i) => {
    checkPlaceholders(h.url, ['http', i, 'url']);
    for (const [name, value] of Object.entries(h.headers)) checkPlaceholders(value, ['http', i, 'headers', name]);
    for (const text of stringsIn(h.body)) checkPlaceholders(text, ['http', i, 'body']);
  });
  for (const key of ['finally', 'undo'] as const) {
    recipe[key].forEach((c, i) => {
      exists(c.on, [key, i, 'on']);
      checkPlaceholders(c.command, [key, i, 'command']);
      for (const p of quotedPlaceholders(c.command)) {
        issues.push({ path: [key, i, 'command'], message: `{${p.which}:${p.name}} stands inside quotes: Slipway quotes each value itself, so write it bare (revoke {${p.which}:${p.name}})` });
      }
    });
  }
  if (recipe.finally.length && !recipe.undo.length) {
    issues.push({ path: ['finally'], message: 'finally retires the old credential once all went well; add an undo that retires the new one when a step fails' });
  }
  return issues;
}
