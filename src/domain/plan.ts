import type { ComposeRuntime } from '../commands/compose.js';
import type { SystemdRuntime } from '../commands/systemd.js';
import type { AnalysisGate } from '../analysis/gates.js';
import type { HooksPlan } from './hooks.js';
import type { WindowsPlan } from './windows.js';

/**
 * What a deploy workflow is given: everything from config and the request that the run
 * needs, resolved when the run starts and free of secrets (credentials stay on the worker).
 */
export interface HostRef {
  address: string;
  port: number;
  user: string;
}

/** A target's id in runs, step logs and once-keys: the host's name, with its instance for systemd. */
export const targetId = (hostName: string, instance?: string | number): string => (instance === undefined ? hostName : `${hostName}-${instance}`);

/** A host's login: systemd instances of one host share it, and its build. */
export const hostKey = (t: Target): string => `${t.host.user}@${t.host.address}:${t.host.port}`;

/** A host, or one instance on a host for systemd. */
export interface Target {
  id: string;
  /** Shown in the API and UI: the host's name, with `#instance` for systemd instances. */
  name: string;
  /** The host's name in config: what `{name}` renders to. */
  hostName: string;
  host: HostRef;
  instance?: string | undefined;
}

/**
 * The load balancer in front of an environment's targets (docs/configuration.md, `traffic`),
 * as a run is given it: templates not yet rendered, no secret in it.
 */
export type TrafficPlan = { drainTimeoutMs: number } & (
  | { kind: 'haproxy'; runtimeApi: string; via?: HostRef | undefined; backend: string; server: string }
  | { kind: 'command'; drain: string; ready: string; on?: HostRef | undefined }
);

/** One target's place behind the balancer: what its drain and ready steps act on. */
export type TrafficTarget =
  | { kind: 'haproxy'; runtimeApi: string; via?: HostRef | undefined; backend: string; server: string }
  | { kind: 'command'; drain: string; ready: string; on: HostRef };

/** An image of a service, as the config names it. */
export interface PlanImage {
  /** Logical name from config (`backend`). */
  name: string;
  repository: string;
}

/** An image at the tag a release resolves it at (`src/domain/release.ts`). */
export interface ImageSpec extends PlanImage {
  tag: string;
}

export type HealthCheck =
  | { http: { url: string; status: number; bodyContains?: string | undefined } }
  | { command: string };

export interface HealthPlan {
  timeoutMs: number;
  intervalMs: number;
  checks: HealthCheck[];
}

export interface RolloutPlan {
  canary: number | string;
  batchSize: number | string;
  bakeMs: number;
  autoRollback: boolean;
  approval: boolean;
  approvalTimeoutMs?: number | undefined;
  imageTimeoutMs: number;
}

export interface DeployPlan {
  service: string;
  environment: string;
  /** The commit as requested, or the image tag when deploying by tag. */
  ref: { sha: string } | { tag: string };
  repo?: string | undefined;
  requireChecks: boolean;
  images: PlanImage[];
  /** The image tag template (`sha-{sha7}`) for SHA deploys; resolved once the SHA is known. */
  tagTemplate: string;
  runtime: ComposeRuntime | SystemdRuntime;
  health: HealthPlan;
  /** Metric gates of the bake, templates not yet rendered. */
  analysis: AnalysisGate[];
  targets: Target[];
  /** The load balancer each target leaves while it changes. */
  traffic?: TrafficPlan | undefined;
  /** The operator's commands around the rollout (absent: none). */
  hooks?: HooksPlan | undefined;
  /** When runs may start (absent: any time). */
  windows?: WindowsPlan | undefined;
  rollout: RolloutPlan;
  reason?: string | undefined;
}

/** An image pinned to its digest: what a deploy writes and what a rollback returns to. */
export type PinnedImages = Record<string, string>;

/** The SHA or tag a run was asked for, as it is shown and searched (`SlipwayVersion`). */
export const refName = (ref: DeployPlan['ref']): string => ('sha' in ref ? ref.sha : ref.tag);

/** The commit a run was asked for; null when it was asked for by tag. */
export const refSha = (ref: DeployPlan['ref']): string | null => ('sha' in ref ? ref.sha : null);

/** How a run names its release in a summary: the short SHA, or the tag. */
export const refLabel = (ref: DeployPlan['ref']): string => ('sha' in ref ? ref.sha.slice(0, 7) : ref.tag);
