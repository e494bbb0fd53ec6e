import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The Temporal CLI, pinned: later tags cannot be go-installed. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  return (env.PATH ?? '').split(delimiter).map((dir) => join(dir, name)).find((file) => existsSync(file));
}

function goBinDir(): string | undefined {
  try {
    const gobin = execFileSync('go', ['env', 'GOBIN'], { encoding: 'utf8' }).trim();
    return gobin || join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin');
  } catch {
    return undefined;
  }
}

/**
 * The `temporal` binary: `SLIPWAY_TEMPORAL_CLI`, else one on the PATH, else one `go install`
 * left in GOBIN, else installed now with `go install` (a minute or two, once).
 */
export function ensureTemporalCli(log: (line: string) => void = console.error, env: NodeJS.ProcessEnv = process.env): string {
  if (env.SLIPWAY_TEMPORAL_CLI) return env.SLIPWAY_TEMPORAL_CLI;
  const found = onPath('temporal', env);
  if (found) return found;
  const bin = goBinDir();
  if (!bin) throw new Error('the Temporal CLI is not on the PATH and Go is not installed to build it: install Go 1.25+ or the temporal CLI, or set TEMPORAL_ADDRESS to a running server');
  const installed = join(bin, 'temporal');
  if (existsSync(installed)) return installed;
  log(`installing the Temporal CLI: go install ${TEMPORAL_CLI_MODULE} (once; this takes a minute or two)`);
  execFileSync('go', ['install', TEMPORAL_CLI_MODULE], { stdio: 'inherit' });
  return installed;
}
