import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * OpenSSH `known_hosts`: plain names, hashed `|1|salt|hash` names, `[host]:port` for other
 * ports, `*`/`?` wildcards, `!negation` and `@revoked`. Host keys are pinned: a host with no
 * entry is refused, never trusted on first use.
 */
export interface KnownHostKey {
  keyType: string;
  key: Buffer;
  revoked: boolean;
}

interface Entry extends KnownHostKey {
  patterns: string[];
}

export function parseKnownHosts(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]!.startsWith('@')) marker = fields.shift();
    if (marker === '@cert-authority') continue; // certificates are not supported; such lines pin nothing
    const [hosts, keyType, keyBase64] = fields;
    if (!hosts || !keyType || !keyBase64) continue;
    entries.push({ patterns: hosts.split(','), keyType, key: Buffer.from(keyBase64, 'base64'), revoked: marker === '@revoked' });
  }
  return entries;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`, 'i');
  return regex.test(name);
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const expected = Buffer.from(hash, 'base64');
    const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  return wildcardMatch(pattern, name);
}

function entryMatches(entry: Entry, name: string): boolean {
  let matched = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith('!')) {
      if (patternMatches(pattern.slice(1), name)) return false;
    } else if (patternMatches(pattern, name)) matched = true;
  }
  return matched;
}

/**
 * The keys pinned for `host`. A key on an `@revoked` line is refused wherever it appears in the
 * file, whatever host that line names, as OpenSSH does: it is marked revoked here too.
 */
export function keysForHost(entries: Entry[], host: string, port: number): KnownHostKey[] {
  const name = knownHostsName(host, port);
  const revoked = revokedKeys(entries);
  return entries.filter((e) => entryMatches(e, name))
    .map(({ keyType, key, revoked: marked }) => ({ keyType, key, revoked: marked || revoked.some((r) => r.equals(key)) }));
}

/** Every key on an `@revoked` line, for any host. */
export function revokedKeys(entries: Entry[]): Buffer[] {
  return entries.filter((e) => e.revoked).map((e) => e.key);
}

/** `SHA256:…` as `ssh-keygen -l` prints it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** Host key algorithms to offer, so the server presents a key of a type we have pinned. */
export function hostKeyAlgorithms(keys: KnownHostKey[]): string[] {
  const algorithms = new Set<string>();
  for (const { keyType, revoked } of keys) {
    if (revoked) continue;
    if (keyType === 'ssh-rsa') ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'].forEach((a) => algorithms.add(a));
    else algorithms.add(keyType);
  }
  return [...algorithms];
}
