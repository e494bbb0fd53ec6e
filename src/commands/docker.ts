import { parsePinnedReference } from '../domain/pinned-reference.js';
import type { HostCommand } from './shell.js';

/** `docker login` with the token on standard input, never on the command line or in `ps`. */
export function dockerLoginCommand(registry: string, username: string, token: string): HostCommand {
  return { label: `docker login ${registry} as ${username}`, argv: ['docker', 'login', registry, '--username', username, '--password-stdin'], stdin: token };
}

/**
 * Reads one pinned image's manifest from the registry with the host's stored login. Not
 * `docker pull`: the Engine answers a pull of an image it has by digest without asking the
 * registry (seen on Engine 20.10), so a pull proves nothing about a new token.
 */
export function dockerManifestCommand(reference: string, insecure: boolean): HostCommand {
  // By digest alone: given `repository:tag@digest`, the CLI asks for the tag.
  const pinned = parsePinnedReference(reference);
  const byDigest = pinned ? `${pinned.repository}@${pinned.digest}` : reference;
  return { label: `docker manifest inspect ${byDigest}`, argv: ['docker', 'manifest', 'inspect', ...(insecure ? ['--insecure'] : []), byDigest] };
}
