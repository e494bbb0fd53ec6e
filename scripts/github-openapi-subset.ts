/**
 * Writes test/fixtures/github/openapi.json: the operations Slipway calls, cut from GitHub's
 * official description with every component they reference, for Prism to validate against.
 *
 *   npm install --no-save @octokit/openapi && npm run github:subset
 */
import { readFileSync, writeFileSync } from 'node:fs';

export const OPERATIONS: [string, string][] = [
  ['get', '/repos/{owner}/{repo}/commits/{ref}'],
  ['get', '/repos/{owner}/{repo}/commits/{ref}/check-runs'],
  ['get', '/repos/{owner}/{repo}/commits/{ref}/status'],
  ['get', '/repos/{owner}/{repo}/deployments'],
  ['post', '/repos/{owner}/{repo}/deployments'],
  ['post', '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses'],
  ['get', '/repos/{owner}/{repo}/actions/secrets/public-key'],
  ['put', '/repos/{owner}/{repo}/actions/secrets/{secret_name}'],
  ['post', '/app/installations/{installation_id}/access_tokens'],
];

type Json = Record<string, unknown>;
const source = process.argv[2] ?? 'node_modules/@octokit/openapi/generated/api.github.com.json';
const spec = JSON.parse(readFileSync(source, 'utf8')) as Json & { paths: Record<string, Json>; components: Record<string, Json> };

const paths: Record<string, Json> = {};
for (const [method, path] of OPERATIONS) {
  const operation = spec.paths[path]?.[method];
  if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not in ${source}`);
  paths[path] = { ...paths[path], [method]: operation };
}

const components: Record<string, Json> = {};
const seen = new Set<string>();
function collect(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(collect);
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/') && !seen.has(value)) {
      seen.add(value);
      const [, , section, name] = value.split('/') as [string, string, string, string];
      const target = spec.components[section]?.[name];
      if (target === undefined) throw new Error(`dangling ${value}`);
      (components[section] ??= {})[name] = target as Json;
      collect(target);
    } else collect(value);
  }
}
collect(paths);

const subset = { openapi: spec.openapi, info: spec.info, servers: spec.servers, paths, components };
writeFileSync('test/fixtures/github/openapi.json', `${JSON.stringify(subset, null, 1)}\n`);
console.log(`wrote ${OPERATIONS.length} operations and ${seen.size} components`);
