import type { HostCommand } from './shell.js';
import { quote } from './shell.js';
import { FailureType, PlanError } from '../domain/failures.js';
import { parsePinnedReference } from '../domain/pinned-reference.js';

/** The `compose` runtime, one builder per runbook step. */
export interface ComposeRuntime {
  kind: 'compose';
  dir: string;
  file: string;
  envFile: string;
  imageVars: Record<string, string>;
  migrate?: { service: string; command: string; revision?: string | undefined; downgrade?: string | undefined } | undefined;
  prune: boolean;
  /** With `prune`: how many releases' images stay on each host (the newest known-good ones). */
  keepReleases: number;
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

/**
 * `--policy missing`: every image is pinned by digest, so an image the host has is the very
 * one asked for. A plain `pull` asks the registry anyway, and fails while it is down: a
 * rollback to an image still on the host would then fail when it is needed most.
 */
export function composePull(runtime: ComposeRuntime, dir: string, env: Record<string, string>): HostCommand {
  return { label: 'docker compose pull', argv: compose(runtime, 'pull', '--policy', 'missing'), cwd: dir, env };
}

export function composeMigrate(runtime: ComposeRuntime, dir: string, env: Record<string, string>): HostCommand | undefined {
  if (!runtime.migrate) return undefined;
  const { service, command } = runtime.migrate;
  // The migration command is the operator's own config, run as the runbook writes it.
  const script = `${compose(runtime, 'run', '--rm', service).map(quote).join(' ')} ${command}`;
  return { label: `migrate: ${command}`, argv: [], cwd: dir, env, script };
}

/** `revision`: run like the migration, with the same images; its output names the schema's revision. */
export function composeRevision(runtime: ComposeRuntime, dir: string, env: Record<string, string>): HostCommand | undefined {
  if (!runtime.migrate?.revision) return undefined;
  const { service, revision } = runtime.migrate;
  return { label: `revision: ${revision}`, argv: [], cwd: dir, env, script: `${compose(runtime, 'run', '--rm', service).map(quote).join(' ')} ${revision}` };
}

/**
 * `downgrade` to `revision`, run like the migration with `env` (the newer release's images: the
 * code that has the down-migrations). The revision was read from a host: it goes in quoted.
 */
export function composeDowngrade(runtime: ComposeRuntime, dir: string, env: Record<string, string>, revision: string): HostCommand | undefined {
  if (!runtime.migrate?.downgrade) return undefined;
  const { service, downgrade } = runtime.migrate;
  return { label: `downgrade: ${downgrade.replaceAll('{revision}', revision)}`, argv: [], cwd: dir, env, script: `${compose(runtime, 'run', '--rm', service).map(quote).join(' ')} ${downgrade.replaceAll('{revision}', quote(revision))}` };
}

export function composeUp(runtime: ComposeRuntime, dir: string, env: Record<string, string>): HostCommand {
  return { label: 'docker compose up -d', argv: compose(runtime, 'up', '-d', '--remove-orphans'), cwd: dir, env };
}

export function imagePrune(dir: string): HostCommand {
  return { label: 'docker image prune', argv: ['docker', 'image', 'prune', '-f'], cwd: dir };
}

/**
 * The local tag that keeps a release's image through `image prune`: an image pulled by digest
 * has no tag, so prune deletes it as soon as no container uses it, and a rollback would have
 * to pull it again, from a registry that may be down. One tag per service, environment and
 * digest, so that the tags of one environment never decide what another keeps.
 */
export function keepTag(reference: string, scope: { service: string; environment: string }): string {
  const pinned = parsePinnedReference(reference);
  if (!pinned) throw new PlanError(FailureType.ReleaseIncomplete, `cannot keep image ${JSON.stringify(reference)}: it is not pinned by digest`);
  return `${pinned.repository}:${keepTagPrefix(scope)}${pinned.digest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
}

const keepTagPrefix = ({ service, environment }: { service: string; environment: string }) => `slipway.${service}.${environment}.`;

/**
 * Tags the images of the releases to keep (those the host has) and drops this environment's
 * older keep tags, so that the `image prune` after it removes the rest. A tag whose image a
 * container still uses cannot be dropped yet: it goes at a later prune.
 */
export function keepReleaseImages(dir: string, releases: Array<Record<string, string>>, scope: { service: string; environment: string }): HostCommand | undefined {
  // A dry run shows an image not pushed yet by its tag alone: there is no digest to keep it by.
  const references = [...new Set(releases.flatMap((release) => Object.values(release)))].filter((reference) => parsePinnedReference(reference));
  if (!references.length) return undefined;
  const tags = references.map((reference) => [reference, keepTag(reference, scope)] as const);
  const lines = tags.map(([reference, tag]) => `if docker image inspect ${quote(reference)} >/dev/null 2>&1; then docker tag ${quote(reference)} ${quote(tag)} || exit 1; fi`);
  lines.push([
    `docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F ${quote(`:${keepTagPrefix(scope)}`)}`,
    `grep -vxF ${tags.map(([, tag]) => `-e ${quote(tag)}`).join(' ')}`,
    'while read -r stale; do docker rmi "$stale" >/dev/null 2>&1 || echo "kept $stale: a container still uses it"; done',
  ].join(' | '));
  return { label: `keep the images of ${releases.length} release${releases.length === 1 ? '' : 's'}`, argv: [], cwd: dir, script: lines.join('\n') };
}

/** After an env file change (a rotation): recreate the containers so they read the new values, on the pinned images. */
export function composeRecreate(runtime: ComposeRuntime, dir: string, env: Record<string, string>): HostCommand {
  return { label: 'docker compose up -d --force-recreate', argv: compose(runtime, 'up', '-d', '--force-recreate', '--remove-orphans'), cwd: dir, env };
}
