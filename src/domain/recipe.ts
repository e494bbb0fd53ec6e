/**
 * Rotation recipes (issue 9): named rotation sagas from `services.<svc>.rotations`, whose new
 * values are made by one system (a provisioning command, the worker's random generator) and
 * used by others (env files of other services, GitHub secrets, HTTP APIs). Pure functions,
 * shared by the config checks, the API and the workflow.
 */

/** A recipe's call to another system (a webhook's config in Gitea, say), as its plan holds it. */
export interface HttpStepCall {
  method: string;
  url: string;
  /** May hold `${env:NAME}` (the worker's environment) and `{new:X}`/`{old:X}`. */
  headers: Record<string, string>;
  body?: unknown;
  expect: number[];
  /** How long 5xx answers and connection errors are retried, counted from the first attempt. */
  retryFor: number;
  /**
   * false: a call that may have reached the other system (no answer, a reset) is not made
   * again; only a refused connection is retried. A POST that creates something says so.
   */
  idempotent: boolean;
}

/** The values a recipe step may name: `{new:X}` and `{old:X}`. */
export interface RecipeValues {
  new: Record<string, string>;
  old: Record<string, string>;
}

/** `{new:NAME}` and `{old:NAME}` in a command, an HTTP url, header or body. */
const PLACEHOLDER = /\{(new|old):([A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface Placeholder {
  which: 'new' | 'old';
  name: string;
}

/** Every placeholder in `text`, in order. */
export function placeholders(text: string): Placeholder[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => ({ which: m[1] as 'new' | 'old', name: m[2]! }));
}

/**
 * The placeholders of a shell command that stand inside quotes. A value goes into a command
 * single-quoted, which is one word only outside quotes: inside `"…"` its own quotes end the
 * string, and `"{old:ID}"` with an old value `k1$(id -un)` would run `id`.
 */
export function quotedPlaceholders(command: string): Placeholder[] {
  const found: Placeholder[] = [];
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === '\\' && quote !== "'") { i++; continue; }
    if (quote ? c === quote : c === "'" || c === '"') { quote = quote ? undefined : c as "'" | '"'; continue; }
    if (quote && c === '{') {
      const match = new RegExp(PLACEHOLDER.source, 'y');
      match.lastIndex = i;
      const m = match.exec(command);
      if (m) found.push({ which: m[1] as 'new' | 'old', name: m[2]! });
    }
  }
  return found;
}

/** Every string inside a JSON-like value (an HTTP body), keys included. */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...stringsIn(v)]);
  return [];
}

/**
 * Fills the placeholders of `text`. `escape` makes a value safe where it lands (shell quoting
 * for commands; nothing for an HTTP body, which is JSON-encoded as a whole).
 */
export function fillPlaceholders(text: string, values: { new: Record<string, string>; old: Record<string, string> }, escape: (value: string) => string = (v) => v): string {
  return text.replace(PLACEHOLDER, (_, which: 'new' | 'old', name: string) => {
    const value = values[which][name];
    if (value === undefined) throw new Error(`{${which}:${name}} has no value`);
    return escape(value);
  });
}

/**
 * A value as one component of a URL (path segment or query value), percent-encoded. `.` and
 * `..` cannot be one: URL parsers read them (encoded too) as "this" and "the parent" path, so
 * the call would go to another resource.
 */
export function urlComponent(value: string): string {
  if (value === '.' || value === '..') throw new Error(`a value cannot be "${value}" in a URL: it would name another path`);
  return encodeURIComponent(value);
}

/** `fillPlaceholders` through a JSON value: every string, keys kept as written. */
export function fillBody(body: unknown, values: { new: Record<string, string>; old: Record<string, string> }): unknown {
  if (typeof body === 'string') return fillPlaceholders(body, values);
  if (Array.isArray(body)) return body.map((item) => fillBody(item, values));
  if (body && typeof body === 'object') return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, fillBody(v, values)]));
  return body;
}

export class ProvisionedOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvisionedOutputError';
  }
}

/**
 * The `NAME=VALUE` lines a provisioning command printed, for exactly `names`. Every name must
 * be printed once; every other line is discarded. Messages name the names, never a value.
 */
export function parseProvisioned(output: string, names: string[]): Record<string, string> {
  const wanted = new Set(names);
  const found: Record<string, string> = {};
  const twice = new Set<string>();
  for (const line of output.split(/\r?\n/)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m || !wanted.has(m[1]!)) continue;
    if (m[1]! in found) twice.add(m[1]!);
    found[m[1]!] = m[2]!;
  }
  if (twice.size) throw new ProvisionedOutputError(`printed ${[...twice].join(', ')} more than once`);
  const missing = names.filter((n) => !(n in found));
  if (missing.length) throw new ProvisionedOutputError(`did not print ${missing.join(', ')} (expected NAME=VALUE lines for ${names.join(', ')})`);
  const empty = names.filter((n) => found[n] === '');
  if (empty.length) throw new ProvisionedOutputError(`printed an empty value for ${empty.join(', ')}`);
  return found;
}

/**
 * The service/environment pairs a recipe writes to, in the one order every recipe takes their
 * locks in: two recipes that share environments then can never wait on each other in a circle.
 */
export function lockOrder(pairs: { service: string; environment: string }[]): { service: string; environment: string }[] {
  const key = (p: { service: string; environment: string }) => `${p.service}\0${p.environment}`;
  const unique = new Map(pairs.map((p) => [key(p), { service: p.service, environment: p.environment }]));
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
}
