import { Option, type Command } from 'commander';
import { UsageError, waitFlags, type CliContext } from '../context.js';
import type { WaitOptions } from '../io.js';
import type { Watched } from '../progress.js';

interface RotateOptions extends WaitOptions { kind: string; generate?: string[]; set?: string[]; githubSecret?: string[]; recipe?: string }

/** `slipway rotate`: env-secret values, the SSH key, or a recipe from the config. */
export function rotateCommands(program: Command, cli: CliContext): void {
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  waitFlags(program.command('rotate <service> <environment>').description('Rotate secrets: env-secret values, the SSH key, or a recipe from the config')
    .addOption(new Option('--kind <kind>', 'what to rotate').choices(['env-secret', 'ssh-key', 'recipe']).default('env-secret'))
    .option('--generate <NAME[:bytes[:encoding]]>', 'env-secret: a new random value (default 32 bytes, hex; or base64)', collect)
    .option('--set <NAME=VALUE>', 'env-secret: a value you supply', collect)
    .option('--github-secret <NAME=SECRET>', 'env-secret: also set this GitHub Actions secret; ssh-key: the secret for the new key', collect)
    .option('--recipe <name>', 'recipe: its name under services.<service>.rotations'))
    .action(async (service: string, environment: string, opts: RotateOptions) => {
      const rotation = await cli.api().request<Watched>('POST', '/v1/rotations', rotationBody(service, environment, opts));
      await cli.started('/v1/rotations', rotation, opts);
    });
}

function rotationBody(service: string, environment: string, opts: RotateOptions): Record<string, unknown> {
  const base = { kind: opts.kind, service, environment };
  if (opts.kind === 'recipe') {
    if (!opts.recipe) throw new UsageError('--kind recipe needs --recipe <name>');
    return { ...base, recipe: opts.recipe };
  }
  if (opts.kind === 'ssh-key') {
    if ((opts.githubSecret ?? []).length > 1) throw new UsageError('ssh-key takes one --github-secret');
    return { ...base, ...(opts.githubSecret?.[0] ? { githubSecret: opts.githubSecret[0] } : {}) };
  }
  const variables: Record<string, unknown> = {};
  for (const spec of opts.generate ?? []) {
    const [name, bytes = '32', encoding = 'hex'] = spec.split(':');
    if (!name || !/^\d+$/.test(bytes) || !['hex', 'base64', 'base64url'].includes(encoding)) throw new UsageError(`--generate ${spec}: expected NAME[:bytes[:hex|base64]]`);
    // base64 here is the URL-safe kind: it needs no quoting in an env file.
    variables[name] = { generate: { bytes: Number(bytes), encoding: encoding === 'hex' ? 'hex' : 'base64url' } };
  }
  for (const pair of opts.set ?? []) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError('--set expects NAME=VALUE');
    variables[pair.slice(0, at)] = { value: pair.slice(at + 1) };
  }
  if (!Object.keys(variables).length) throw new UsageError('env-secret needs at least one --generate or --set');
  const githubSecrets = Object.fromEntries((opts.githubSecret ?? []).map((pair) => {
    const [variable, secret] = pair.split('=');
    if (!variable || !secret) throw new UsageError('--github-secret expects NAME=SECRET for env-secret');
    return [variable, secret];
  }));
  return { ...base, variables, ...(Object.keys(githubSecrets).length ? { githubSecrets } : {}) };
}
