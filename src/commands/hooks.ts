import type { HookName } from '../domain/hooks.js';
import type { HostCommand } from './shell.js';

/** A hook as the host's shell gets it: the operator's command, rendered, run as written in the runtime's directory. */
export function hookCommand(hook: HookName, command: string, dir: string): HostCommand {
  const firstLine = command.split('\n')[0]!;
  return { label: `${hook}: ${firstLine}${firstLine === command ? '' : ' …'}`, argv: [], cwd: dir, script: command };
}
