import type { HostCommand } from './shell.js';
import { quote } from './shell.js';
import { FailureType, PlanError } from '../domain/failures.js';

/** The `compose` runtime, one builder per runbook step. */
export interface ComposeRuntime {
  kind: 'compose';
  dir: string;
  file: string;
  envFile: string;
  imageVars: Record<string, string>;
  migrate?: { service: string; command: string } | undefined;
  prune: boolean;
}

/** `BACKEND_IMAGE` -> `ghcr.io/acme/shop-backend:sha-abc1234@sha256:…` for every imageVars entry. */
export function imageEnvironment(runtime: ComposeRuntime, pinned: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(runtime.imageVars).map(([variable, image]) => {
    const reference = pinned[image];
    if (!reference) throw new PlanError(FailureType.ReleaseIncomplete, `the release has no pinned reference for image "${image}" (${variable}): it was deployed before the config named that image`);
    return [variable, reference];
  }));
}

function compose(runtime: ComposeRuntime, ...args: string[]): string[] {
  return ['docker', 'compose', '-f', runtime.file, '--env-file', runtime.envFile, ...args];
}

export function composePull(runtime: ComposeRuntime, dir: string, env: Record<string, string>): HostCommand {
  return { label: 'docker compose pull', argv: compose(runtime, 'pull'), cwd: dir, env };
}

export function composeMigrate(runtime: ComposeRuntime, dir: string, env: Record<string, string>): HostCommand | undefined {
  if (!runtime.migrate) return undefined;
  const { service, command } = runtime.migrate;
  // The migration command is the operator's own config, run as the runbook writes it.
  const script = `${compose(runtime, 'run', '--rm', service).map(quote).join(' ')} ${command}`;
  return { label: `migrate: ${command}`, argv: [], cwd: dir, env, script };
}

export function composeUp(runtime: ComposeRuntime, dir: string, env: Record<string, string>): HostCommand {
  return { label: 'docker compose up -d', argv: compose(runtime, 'up', '-d', '--remove-orphans'), cwd: dir, env };
}

export function imagePrune(dir: string): HostCommand {
  return { label: 'docker image prune', argv: ['docker', 'image', 'prune', '-f'], cwd: dir };
}

/** After an env file change (a rotation): recreate the containers so they read the new values, on the pinned images. */
export function composeRecreate(runtime: ComposeRuntime, dir: string, env: Record<string, string>): HostCommand {
  return { label: 'docker compose up -d --force-recreate', argv: compose(runtime, 'up', '-d', '--force-recreate', '--remove-orphans'), cwd: dir, env };
}
