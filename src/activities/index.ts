import { own, type SlipwayConfig } from '../config/schema.js';
import { openCredentialStore } from '../credentials/open.js';
import { GithubClient } from '../github/client.js';
import { RegistryClient, type RegistryAuth } from '../registry/client.js';
import { credentialActivities, RotatedCredentials } from './credentials.js';
import { bakeActivities } from './bake.js';
import { githubActivities } from './github.js';
import { healthActivities } from './health.js';
import { registryActivities } from './registry.js';
import { httpActivities } from './http.js';
import { notificationActivities } from './notifications.js';
import { secretActivities } from './secrets.js';
import { temporalActivities, type RunQueue } from './temporal.js';
import { DEFAULT_UI_URL } from '../domain/links.js';
import { HostRunner } from '../ssh/runner.js';
import { sshActivities } from './ssh.js';
import { runbookActivities } from './runbook.js';
import { trafficActivities } from './traffic.js';
import { stepLogStore } from '../step-logs/store.js';

export interface ActivityOptions {
  /** Poll intervals while waiting for images and checks (tests shorten them). */
  imagePollMs?: number;
  checksPollMs?: number;
  /** True once the worker is shutting down: multi-step activities stop between steps. */
  stopping?: () => boolean;
  /** The Temporal UI that links of runs started by the worker (scheduled rotations) open. */
  uiUrl?: string | undefined;
}

/** What the activities are given rather than import: how they queue runs. */
export interface ActivityDeps {
  queue: RunQueue;
}

/** Every activity the worker registers, bound to the worker's config (which holds the secrets). */
export function createActivities(config: SlipwayConfig, deps: ActivityDeps, options: ActivityOptions = {}) {
  const store = openCredentialStore(config);
  const runner = new HostRunner(config.ssh, store, stepLogStore(config));
  const registry = new RegistryClient(async (host) => ({ ...own(config.registries, host), ...await store?.registryCredential(host) }));
  const clientWith = (credentials: RegistryAuth) => new RegistryClient((host) => ({ insecure: own(config.registries, host)?.insecure, ...credentials }));
  const rotated = new RotatedCredentials({ config, store, runner });
  const github = config.github ? new GithubClient(config.github) : undefined;
  return {
    ...sshActivities({ runner }),
    ...runbookActivities({ runner, stopping: options.stopping ?? (() => false) }),
    ...healthActivities({ runner }),
    ...trafficActivities({ runner }),
    ...bakeActivities({ runner }),
    ...registryActivities({ registry, clientWith, imagePollMs: options.imagePollMs ?? 5_000 }),
    ...githubActivities({ github, runner, credentials: rotated, checksPollMs: options.checksPollMs ?? 10_000 }),
    ...credentialActivities({ runner, store, rotated }),
    ...secretActivities(),
    ...httpActivities(),
    ...notificationActivities({ config }),
    ...temporalActivities({ config, queue: deps.queue, uiUrl: options.uiUrl ?? DEFAULT_UI_URL }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
