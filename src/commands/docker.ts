import type { HostCommand } from './shell.js';

/** `docker login` with the token on standard input, never on the command line or in `ps`. */
export function dockerLoginCommand(registry: string, username: string, token: string): HostCommand {
  return { label: `docker login ${registry} as ${username}`, argv: ['docker', 'login', registry, '--username', username, '--password-stdin'], stdin: token };
}

/** Pulls one pinned image reference (`repository:tag@sha256:…`). */
export function dockerPullCommand(reference: string): HostCommand {
  return { label: `docker pull ${reference}`, argv: ['docker', 'pull', reference] };
}
