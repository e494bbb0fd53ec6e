import { isIP } from 'node:net';
import { resolve, sep } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../domain/duration.js';
import { targetId } from '../domain/plan.js';
import { HOOK_TEMPLATE_VARIABLES, unknownTemplateVariables } from '../domain/templates.js';
import { DAYS, isTimeZone, minutesOf } from '../domain/windows.js';
import { notificationSchema } from './notifications.js';
import { githubSecretName, variableName } from './names.js';
import { recipeIssues, recipeSchema } from './recipes.js';

/** `slipway.yaml`, every key documented in docs/configuration.md. Every object is strict: a typo is an error, not a no-op. */

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 30s, 5m, 2h (got "${text}")` });
    return z.NEVER;
  }
  return ms;
});

const HOST_NAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const hostAddress = z.string().refine((v) => isIP(v) !== 0 || HOST_NAME.test(v), 'expected a host name or IP');

const template = z.string().min(1).superRefine((value, ctx) => {
  const unknown = unknownTemplateVariables(value);
  if (unknown.length) ctx.addIssue({ code: 'custom', message: `unknown template variable ${unknown.map((v) => `{${v}}`).join(', ')}` });
});

/** Hooks know `{previousSha}` too. */
const hookTemplate = z.string().min(1).superRefine((value, ctx) => {
  const unknown = unknownTemplateVariables(value, HOOK_TEMPLATE_VARIABLES);
  if (unknown.length) ctx.addIssue({ code: 'custom', message: `unknown template variable ${unknown.map((v) => `{${v}}`).join(', ')}` });
});
const hookList = z.array(z.strictObject({
  command: hookTemplate,
  on: z.enum(['first', 'all'], { error: 'expected first (the run\'s first target) or all (every target, in batches)' }).default('first'),
}));
/** The runbook's steps around a deploy (docs/hooks.md); an environment's list replaces the service's. */
const hooksSchema = z.strictObject({
  beforeDeploy: hookList.optional(),
  afterDeploy: hookList.optional(),
  afterRollback: hookList.optional(),
});

/** A count of targets (`2`) or a share of them (`"50%"`). */
const targetCount = z.union([
  z.number().int().min(1),
  z.string().regex(/^(100|[1-9]?\d)(\.\d+)?%$/, 'expected a count or a percentage like "50%"'),
]);

/** A secret after `${env:…}`/`${file:…}` resolution. Never echoed in messages. */
const secret = z.string({ error: 'expected a string (or ${env:NAME} / ${file:PATH})' }).min(1, 'must not be empty');

export const rolloutSchema = z.strictObject({
  canary: targetCount.default(1),
  batchSize: targetCount.default(1),
  bake: duration.default(0),
  autoRollback: z.boolean().default(true),
  approval: z.boolean().default(false),
  /** With `approval`: roll back when nobody approves within this time (default: wait forever). */
  approvalTimeout: duration.optional(),
  imageTimeout: duration.default(15 * 60_000),
});
/** The longest a request may ask a run to bake or wait: a run that waits longer is a stuck run. */
export const MAX_REQUEST_DURATION_MS = 24 * 3_600_000;
const requestDuration = duration.refine((ms) => ms <= MAX_REQUEST_DURATION_MS, 'at most 24h');

/** A request's overrides of the rollout (how far they may go is src/api/policy.ts). */
export const rolloutOverrideSchema = z.strictObject({
  canary: targetCount.optional(),
  batchSize: targetCount.optional(),
  bake: requestDuration.optional(),
  autoRollback: z.boolean().optional(),
  approval: z.boolean().optional(),
  approvalTimeout: requestDuration.optional(),
  imageTimeout: requestDuration.optional(),
});

const targetSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'expected a name of letters, digits, ".", "_" or "-"'),
  address: hostAddress,
  user: z.string().regex(/^[a-z_][a-z0-9_.-]*$/i, 'expected a user name').default('root'),
  port: z.number().int().min(1).max(65535).default(22),
  instances: z.array(z.union([z.number().int().min(0), z.string().regex(/^[a-zA-Z0-9_.-]+$/)])).min(1).optional(),
});

/** A host Slipway logs in to that is not a target (the load balancer's). */
const hostRefSchema = z.strictObject({
  address: hostAddress,
  user: z.string().regex(/^[a-z_][a-z0-9_.-]*$/i, 'expected a user name').default('root'),
  port: z.number().int().min(1).max(65535).default(22),
});

// As HAProxy allows them; the runtime API runs `;`-separated commands, so none may carry one.
const haproxyName = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected a name HAProxy allows (letters, digits, "_", ".", ":", "-")');
const haproxyServer = template.refine((t) => /^[A-Za-z0-9_.:{}-]{1,128}$/.test(t), 'expected a server name HAProxy allows, with template variables like {name}');
const runtimeApi = z.string().refine((v) => v.startsWith('/') || /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):([1-9]\d{0,4})$/.test(v) && Number(v.split(':').pop()) <= 65535, 'expected host:port or a unix socket path');

/** The load balancer in front of the targets: drained before a target changes, readied once it is healthy. */
const trafficSchema = z.strictObject({
  haproxy: z.strictObject({
    runtimeApi,
    via: hostRefSchema.optional(),
    backend: haproxyName,
    server: haproxyServer.default('{name}'),
  }).optional(),
  command: z.strictObject({ drain: template, ready: template, on: hostRefSchema.optional() }).optional(),
  drainTimeout: duration.default(30_000),
}).superRefine((traffic, ctx) => {
  if (Number(!!traffic.haproxy) + Number(!!traffic.command) !== 1) ctx.addIssue({ code: 'custom', message: 'expected exactly one of haproxy or command' });
});

const timeOfDay = z.string().refine((t) => minutesOf(t) !== undefined, 'expected a time of day like "09:00" (24-hour, up to "24:00")');
const instant = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date and time with its offset, like "2026-12-23T00:00:00Z"' });
/** When an environment takes runs (docs/windows.md). */
const windowsSchema = z.strictObject({
  allow: z.array(z.strictObject({
    days: z.array(z.enum(DAYS, { error: `expected a day: ${DAYS.join(', ')}` })).min(1, 'expected at least one day'),
    from: timeOfDay,
    to: timeOfDay,
    timeZone: z.string().refine(isTimeZone, 'expected an IANA time zone like "Europe/Paris" or "UTC"'),
  }).refine((w) => minutesOf(w.from) === undefined || minutesOf(w.to) === undefined || minutesOf(w.from)! < minutesOf(w.to)!, { path: ['to'], message: 'expected to after from (a window that spans midnight is two windows)' })).default([]),
  freezes: z.array(z.strictObject({
    from: instant,
    to: instant,
    reason: z.string().min(1),
  }).refine((f) => !(Date.parse(f.from) >= Date.parse(f.to)), { path: ['to'], message: 'expected to after from' })).default([]),
  /** A run going when its window closes (or a freeze begins) pauses before its next batch until it opens again. */
  pauseBetweenBatches: z.boolean().default(false),
});

const environmentSchema = z.strictObject({
  requireChecks: z.boolean().default(false),
  targets: z.array(targetSchema).min(1, 'expected at least one target'),
  rollout: rolloutSchema.prefault({}),
  traffic: trafficSchema.optional(),
  hooks: hooksSchema.optional(),
  /** Only what was current and healthy in `from` for `soak` may be deployed here (docs/windows.md). */
  promotion: z.strictObject({ from: z.string().min(1), soak: duration.default(0) }).optional(),
  windows: windowsSchema.optional(),
}).superRefine((env, ctx) => {
  const seen = new Set<string>();
  env.targets.forEach((t, i) => {
    if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `duplicate target name "${t.name}"` });
    seen.add(t.name);
  });
  // Ids join a host's name and its instance: `web` instance "1-2" and `web-1` instance 2 would
  // both be `web-1-2`, and the second would never be updated while the run succeeded.
  const ids = new Map<string, { what: string; name: string; index: number }>();
  env.targets.forEach((t, i) => {
    for (const instance of t.instances ?? [undefined]) {
      const id = targetId(t.name, instance);
      const what = instance === undefined ? t.name : `${t.name} instance ${instance}`;
      const other = ids.get(id);
      // A name given twice is refused above already.
      if (other && other.name !== t.name) {
        ctx.addIssue({ code: 'custom', path: ['targets', i, instance === undefined ? 'name' : 'instances'], message: `${what} has the target id "${id}", as ${other.what} has: rename one` });
      } else if (other?.index === i) {
        ctx.addIssue({ code: 'custom', path: ['targets', i, 'instances'], message: `${what} is listed twice` });
      }
      ids.set(id, { what, name: t.name, index: i });
    }
  });
});

const httpCheck = z.union([
  template.transform((url) => ({ url, status: 200, bodyContains: undefined as string | undefined })),
  z.strictObject({ url: template, status: z.number().int().min(100).max(599).default(200), bodyContains: template.optional() }),
]);
const healthCheckSchema = z.union([
  z.strictObject({ http: httpCheck }),
  z.strictObject({ command: template }),
], { error: 'expected { http: URL } or { command: "..." }' });

const healthSchema = z.strictObject({
  timeout: duration.default(60_000),
  interval: duration.default(2_000),
  checks: z.array(healthCheckSchema).default([]),
});

const analysisSchema = z.strictObject({
  name: z.string().min(1),
  // With `rate: true`, max/min apply to the per-second increase since the bake started.
  scrape: z.strictObject({ url: template, metric: z.string().min(1), rate: z.boolean().optional() }).optional(),
  prometheus: z.strictObject({ url: z.url(), query: template }).optional(),
  expect: z.enum(['increase', 'no-increase']).optional(),
  max: z.number().optional(),
  min: z.number().optional(),
}).superRefine((gate, ctx) => {
  if (Number(!!gate.scrape) + Number(!!gate.prometheus) !== 1) ctx.addIssue({ code: 'custom', message: 'expected exactly one of scrape or prometheus' });
  if (gate.expect === undefined && gate.max === undefined && gate.min === undefined) ctx.addIssue({ code: 'custom', message: 'expected expect, max or min' });
  if (gate.prometheus && gate.expect) ctx.addIssue({ code: 'custom', path: ['expect'], message: 'expect applies to scrape gates; use max or min with prometheus' });
});

const composeRuntime = z.strictObject({
  kind: z.literal('compose'),
  dir: template,
  file: z.string().min(1).default('docker-compose.yml'),
  envFile: z.string().min(1).default('.env'),
  imageVars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string()).default({}),
  migrate: z.strictObject({
    service: z.string().min(1),
    command: z.string().min(1),
    /** Prints the schema's revision: the first word of the last non-empty line of its output. */
    revision: z.string().min(1).optional(),
    /** Takes the schema down to `{revision}`, run with the newer release's image before a rollback. */
    downgrade: z.string().min(1).refine((command) => command.includes('{revision}'), 'expected a command with {revision}, the revision to go down to').optional(),
  }).refine((m) => !m.downgrade || m.revision, { path: ['downgrade'], message: 'needs revision: Slipway must know which revision each release is at to go down to it' }).optional(),
  prune: z.boolean().default(false),
  keepReleases: z.number().int().min(1).max(100).default(5),
});
const systemdRuntime = z.strictObject({
  kind: z.literal('systemd'),
  dir: template,
  unit: template,
  build: z.array(template).default([]),
  /** The env file that `env-secret` rotations write, read by the unit (`EnvironmentFile=`). */
  envFile: z.string().min(1).default('.env'),
});

const imageRepository = z.string().regex(
  /^[a-z0-9.-]+(:\d+)?\/[a-z0-9._/-]+$/,
  'expected a registry repository like ghcr.io/owner/name',
);

const serviceSchema = z.strictObject({
  repo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'expected owner/name').optional(),
  images: z.record(z.string().regex(/^[a-zA-Z0-9_-]+$/), imageRepository).default({}),
  tag: template.default('{sha}'),
  runtime: z.discriminatedUnion('kind', [composeRuntime, systemdRuntime], { error: 'expected kind: compose or kind: systemd' }),
  health: healthSchema.prefault({}),
  analysis: z.array(analysisSchema).default([]),
  environments: z.record(z.string().regex(/^[a-zA-Z0-9_-]+$/), environmentSchema),
  hooks: hooksSchema.optional(),
  /**
   * What `env-secret` rotations of this service may write: its env-file variables and GitHub
   * Actions secrets. Without it they are refused; an image variable is never writable.
   */
  rotatable: z.strictObject({ variables: z.array(variableName).default([]), githubSecrets: z.array(githubSecretName).default([]) }).optional(),
  /** Rotation recipes, started as `{"kind": "recipe", "recipe": <name>}` (src/config/recipes.ts). */
  rotations: z.record(z.string().regex(/^[a-zA-Z0-9_-]+$/, 'expected a recipe name of letters, digits, "_" or "-"'), recipeSchema).default({}),
}).superRefine((svc, ctx) => {
  if (svc.runtime.kind === 'compose') {
    const { imageVars } = svc.runtime;
    for (const [variable, image] of Object.entries(imageVars)) {
      if (!Object.hasOwn(svc.images, image)) ctx.addIssue({ code: 'custom', path: ['runtime', 'imageVars', variable], message: `names image "${image}", which is not in images` });
    }
    if (svc.runtime.migrate && !Object.keys(svc.images).length) ctx.addIssue({ code: 'custom', path: ['runtime', 'migrate'], message: 'migrations need at least one image' });
    svc.rotatable?.variables.forEach((variable, i) => {
      if (Object.hasOwn(imageVars, variable)) ctx.addIssue({ code: 'custom', path: ['rotatable', 'variables', i], message: `${variable} is an image variable: a deploy writes it, never a rotation` });
    });
  }
  for (const [envName, env] of Object.entries(svc.environments)) {
    const from = env.promotion?.from;
    if (from === envName) ctx.addIssue({ code: 'custom', path: ['environments', envName, 'promotion', 'from'], message: 'an environment cannot be promoted from itself' });
    else if (from !== undefined && !Object.hasOwn(svc.environments, from)) ctx.addIssue({ code: 'custom', path: ['environments', envName, 'promotion', 'from'], message: `names no environment of this service (${Object.keys(svc.environments).join(', ')})` });
    env.targets.forEach((t, i) => {
      if (t.instances && svc.runtime.kind !== 'systemd') ctx.addIssue({ code: 'custom', path: ['environments', envName, 'targets', i, 'instances'], message: 'instances apply to systemd runtimes only' });
    });
  }
  if (svc.runtime.kind === 'systemd' && !svc.runtime.unit.includes('{instance}')) {
    for (const [envName, env] of Object.entries(svc.environments)) {
      env.targets.forEach((t, i) => {
        if (t.instances) ctx.addIssue({ code: 'custom', path: ['environments', envName, 'targets', i, 'instances'], message: 'the unit has no {instance} placeholder' });
      });
    }
  }
});

const githubSchema = z.strictObject({
  apiUrl: z.url().default('https://api.github.com'),
  token: secret.optional(),
  app: z.strictObject({ id: z.union([z.number().int(), z.string().regex(/^\d+$/)]), privateKey: secret, installationId: z.union([z.number().int(), z.string().regex(/^\d+$/)]) }).optional(),
}).refine((g) => Number(!!g.token) + Number(!!g.app) === 1, 'expected exactly one of token or app');

const registrySchema = z.strictObject({
  username: z.string().optional(),
  token: secret.optional(),
  insecure: z.boolean().default(false),
}).refine((r) => !!r.username === !!r.token, 'username and token go together');

const sshSchema = z.strictObject({
  privateKey: secret,
  passphrase: secret.optional(),
  knownHosts: z.string().min(1, 'expected a known_hosts path: host keys are pinned, never trusted on first use'),
  connectTimeout: duration.default(10_000),
  keepaliveInterval: duration.default(5_000),
  retryFor: duration.default(120_000),
  commandTimeout: duration.default(30 * 60_000),
  /** SSH handshakes one worker runs at once (docs/architecture.md, "Work over workers"). */
  maxConcurrentHandshakes: z.number().int().min(1).max(1_000).default(30),
});

const SCOPE = /^(read|decode|admin|(deploy|rotate):([a-zA-Z0-9_-]+|\*)\/([a-zA-Z0-9_-]+|\*))$/;
const apiSchema = z.strictObject({
  tokens: z.array(z.strictObject({
    name: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'expected the SHA-256 of the token as 64 hex digits'),
    scopes: z.array(z.string().regex(SCOPE, 'expected read, decode, admin, deploy:<service>/<environment> or rotate:<service>/<environment>')).min(1),
  })).default([]),
});

/** Keys of the payload codec: base64 of 32 random bytes each, read from env or file. */
const encryptionSchema = z.strictObject({
  keys: z.array(z.strictObject({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a key id of letters, digits, ".", "_" or "-"'),
    key: secret.refine((k) => Buffer.from(k, 'base64').length === 32, 'expected the base64 of 32 bytes (openssl rand -base64 32)'),
  })).min(1, 'expected at least one key'),
  /** The key new payloads are encrypted with (default: the first); the others only decrypt. */
  current: z.string().optional(),
  /** Origins allowed to call /codec/* from a browser (the Temporal UI). */
  corsOrigins: z.array(z.string()).default(['http://localhost:8233', 'http://127.0.0.1:8233']),
}).refine((e) => !e.current || e.keys.some((k) => k.id === e.current), 'current names no configured key');

export const configSchema = z.strictObject({
  github: githubSchema.optional(),
  encryption: encryptionSchema.optional(),
  registries: z.record(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, 'expected a registry host'), registrySchema).default({}),
  ssh: sshSchema,
  /**
   * Where rotated credentials are kept (src/credentials/store.ts), which every worker must see:
   * a directory, or `postgres://…` (a table there, sealed with `encryption.keys`).
   */
  credentialStore: z.string().min(1).optional(),
  /** Where the worker keeps each target step's output tail (src/step-logs/store.ts), and for how long. */
  stepLogs: z.strictObject({
    /** Default: $SLIPWAY_HOME/step-logs (SLIPWAY_HOME defaults to ./.slipway). */
    dir: z.string().min(1).optional(),
    keep: duration.default(14 * 86_400_000),
  }).prefault({}),
  api: apiSchema.prefault({}),
  services: z.record(z.string().regex(/^[a-zA-Z0-9_-]+$/, 'expected a service name of letters, digits, "_" or "-"'), serviceSchema),
  notifications: z.array(notificationSchema).default([]),
}).superRefine((cfg, ctx) => {
  if (cfg.credentialStore && cfg.stepLogs.dir && !isPostgresUrl(cfg.credentialStore) && nested(cfg.stepLogs.dir, cfg.credentialStore)) {
    ctx.addIssue({ code: 'custom', path: ['stepLogs', 'dir'], message: 'the step logs\' retention sweep would reach the credential store (credentialStore): give them directories apart' });
  }
  if (cfg.credentialStore && isPostgresUrl(cfg.credentialStore)) {
    if (!cfg.encryption) ctx.addIssue({ code: 'custom', path: ['credentialStore'], message: 'a PostgreSQL credential store seals its entries with encryption.keys: configure them' });
    if (!URL.canParse(cfg.credentialStore)) ctx.addIssue({ code: 'custom', path: ['credentialStore'], message: 'expected postgres://user:password@host:port/database' });
  }
  cfg.notifications.forEach((n, i) => n.services?.forEach((service, j) => {
    if (!Object.hasOwn(cfg.services, service)) ctx.addIssue({ code: 'custom', path: ['notifications', i, 'services', j], message: `unknown service "${service}"` });
  }));
  for (const [name, svc] of Object.entries(cfg.services)) {
    if (svc.repo && !cfg.github) ctx.addIssue({ code: 'custom', path: ['services', name, 'repo'], message: 'a repo needs the github section' });
    for (const [envName, env] of Object.entries(svc.environments)) {
      if (env.requireChecks && !svc.repo) ctx.addIssue({ code: 'custom', path: ['services', name, 'environments', envName, 'requireChecks'], message: 'requireChecks needs the service repo' });
    }
    for (const [recipeName, recipe] of Object.entries(svc.rotations)) {
      for (const issue of recipeIssues(recipe, cfg.services, name)) {
        ctx.addIssue({ code: 'custom', path: ['services', name, 'rotations', recipeName, ...issue.path], message: issue.message });
      }
      recipe.write.forEach((w, i) => {
        const written = own(cfg.services, w.service)?.runtime;
        w.variables.forEach((variable, j) => {
          if (written?.kind === 'compose' && Object.hasOwn(written.imageVars, variable)) {
            ctx.addIssue({ code: 'custom', path: ['services', name, 'rotations', recipeName, 'write', i, 'variables', j], message: `${variable} is an image variable of ${w.service}: a deploy writes it, never a rotation` });
          }
        });
      });
    }
  }
});

/** Whether one of two directories holds the other (or they are the same). */
function nested(a: string, b: string): boolean {
  const [x, y] = [resolve(a), resolve(b)];
  return x === y || x.startsWith(`${y}${sep}`) || y.startsWith(`${x}${sep}`);
}

/** A credentialStore in PostgreSQL rather than a directory. */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\//i.test(store);
}

export type SlipwayConfig = z.output<typeof configSchema>;
export type ServiceConfig = SlipwayConfig['services'][string];
export type EnvironmentConfig = ServiceConfig['environments'][string];
export type TargetConfig = EnvironmentConfig['targets'][number];
export type RolloutConfig = z.output<typeof rolloutSchema>;
export type RolloutOverride = z.output<typeof rolloutOverrideSchema>;
export type RuntimeConfig = ServiceConfig['runtime'];
export type HealthConfig = ServiceConfig['health'];
export type SshConfig = SlipwayConfig['ssh'];
export type GithubConfig = NonNullable<SlipwayConfig['github']>;
export type RegistryCredentials = SlipwayConfig['registries'][string];
export type EncryptionConfig = NonNullable<SlipwayConfig['encryption']>;

/** `record[key]` for a key from outside (a request, a registry host): never an inherited `toString` or `constructor`. */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
