import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { registerSecret } from '../redact.js';
import { configSchema, type SlipwayConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`invalid config ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `services.shop.environments.production.targets[1].address` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    const name = String(key);
    const plain = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(name);
    if (!plain) return `${text}[${JSON.stringify(name)}]`;
    return text ? `${text}.${name}` : name;
  }, '');
}

export function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const missing = /^Invalid input: expected (.+), received undefined$/.exec(issue.message);
    return `${formatPath(issue.path) || '(root)'}: ${missing ? `required (${missing[1]})` : issue.message}`;
  });
}

const REFERENCE = /^\$\{(env|file):([^}]+)\}$/;

/** `services.<svc>.rotations.<recipe>.http…`: references there are the worker's to fill in. */
const resolvedByWorker = (path: PropertyKey[]) => path[0] === 'services' && path[2] === 'rotations' && path[4] === 'http';

/**
 * Replaces `${env:NAME}` and `${file:PATH}` values. Problems name the path and the
 * variable or file, never a value.
 */
export function resolveReferences(
  tree: unknown,
  env: NodeJS.ProcessEnv,
  baseDir: string,
  problems: string[],
  path: PropertyKey[] = [],
): unknown {
  if (Array.isArray(tree)) return tree.map((item, i) => resolveReferences(item, env, baseDir, problems, [...path, i]));
  if (tree && typeof tree === 'object') {
    return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, resolveReferences(v, env, baseDir, problems, [...path, k])]));
  }
  if (typeof tree !== 'string') return tree;
  if (resolvedByWorker(path)) {
    // Kept as written: the worker fills them in when it makes the call, so that the secret
    // never travels in a rotation's plan. Checked here so that a missing one is a config error.
    for (const [, kind, name] of tree.matchAll(/\$\{(env|file):([^}]+)\}/g)) {
      if (kind === 'file') problems.push(`${formatPath(path)}: an HTTP step takes \${env:NAME} only, not \${file:${name}}`);
      else if (!env[name!]) problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
    }
    return tree;
  }
  const match = REFERENCE.exec(tree.trim());
  if (!match) return tree;
  const [, kind, name] = match as unknown as [string, 'env' | 'file', string];
  if (kind === 'env') {
    const value = env[name];
    if (value === undefined || value === '') problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
    return value ?? '';
  }
  try {
    return readFileSync(resolve(baseDir, name), 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    problems.push(`${formatPath(path)}: cannot read file ${name} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return '';
  }
}

export function parseConfig(text: string, options: { source?: string; env?: NodeJS.ProcessEnv; baseDir?: string } = {}): SlipwayConfig {
  const source = options.source ?? 'slipway.yaml';
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(source, doc.errors.slice(0, 3).map((e) => e.message.split('\n')[0]!));
  const problems: string[] = [];
  const resolved = resolveReferences(doc.toJS() ?? {}, options.env ?? process.env, options.baseDir ?? process.cwd(), problems);
  if (problems.length) throw new ConfigError(source, problems);
  const result = configSchema.safeParse(resolved);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  registerConfigSecrets(result.data);
  return result.data;
}

/** Every credential in the config is redacted wherever it might surface in text. */
function registerConfigSecrets(config: SlipwayConfig): void {
  [config.ssh.privateKey, config.ssh.passphrase, config.github?.token, config.github?.app?.privateKey,
    ...Object.values(config.registries).map((r) => r.token), ...(config.encryption?.keys.map((k) => k.key) ?? []),
    // A Slack webhook URL is a credential too.
    ...config.notifications.flatMap((n) => [n.url, n.secret])].forEach(registerSecret);
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): SlipwayConfig {
  const text = readFileSync(path, 'utf8');
  return parseConfig(text, { source: path, env, baseDir: resolve(path, '..') });
}
