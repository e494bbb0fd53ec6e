import type { HostCommand } from './shell.js';

/** The `systemd` runtime: build once per host, restart each instance's unit. */
export interface SystemdRuntime {
  kind: 'systemd';
  dir: string;
  unit: string;
  build: string[];
  envFile: string;
}

/** `build` entries, already rendered with `{sha}` etc., each its own step in `dir`. */
export function buildSteps(dir: string, renderedBuild: string[]): HostCommand[] {
  return renderedBuild.map((script) => ({ label: script, argv: [], cwd: dir, script }));
}

export function restartUnit(dir: string, unit: string): HostCommand {
  return { label: `systemctl restart ${unit}`, argv: ['systemctl', 'restart', unit], cwd: dir };
}
