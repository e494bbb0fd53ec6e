import { accessSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';

/**
 * Whether the credential store outlives the worker's container. After an `ssh-key` rotation
 * it holds the only key that still gets in: a store in the container's own layer (overlay) or
 * in memory (tmpfs) is gone with the next `docker compose up --build`, and the hosts with it.
 */

/** Filesystems that do not outlive the container or the machine's next boot. */
const NOT_PERSISTENT: Record<string, string> = {
  overlay: "the container's own layer (overlay): it is lost when the container is recreated",
  aufs: "the container's own layer (aufs): it is lost when the container is recreated",
  tmpfs: 'memory (tmpfs): it is lost at the next restart',
  ramfs: 'memory (ramfs): it is lost at the next restart',
};

export interface Mount {
  mountPoint: string;
  fsType: string;
}

/** The mounts of /proc/self/mountinfo (proc(5)): field 5 is the mount point, the type follows the " - ". */
export function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    const fields = before?.split(' ');
    const mountPoint = fields?.[4];
    const fsType = after?.split(' ')[0];
    if (mountPoint && fsType) mounts.push({ mountPoint: unescapeOctal(mountPoint), fsType });
  }
  return mounts;
}

// Spaces and the like in mount points are written as \040.
const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** The mount `path` lives on: the deepest mount point above it (the last mounted wins a tie). */
export function mountOf(path: string, mounts: Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const mount of mounts) {
    const prefix = mount.mountPoint === '/' ? '/' : `${mount.mountPoint}${sep}`;
    if (path !== mount.mountPoint && !path.startsWith(prefix)) continue;
    if (!best || mount.mountPoint.length >= best.mountPoint.length) best = mount;
  }
  return best;
}

/** Why `dir` is not a place for credentials, or undefined when it is. */
export function storageProblem(dir: string, mounts: Mount[]): string | undefined {
  const path = resolve(dir);
  const mount = mountOf(path, mounts);
  const why = mount && NOT_PERSISTENT[mount.fsType];
  if (why) return `credentialStore ${path} is on ${why}. Put it on a volume (docker-compose.temporal.yml mounts one at /var/lib/slipway/credentials)`;
  return undefined;
}

/**
 * Checks the store as a worker sees it: a directory (made, as the store's writes would make
 * it, when missing), that it may write, on storage that lasts.
 */
export function checkPersistentStore(dir: string, mountInfo = '/proc/self/mountinfo'): string | undefined {
  const path = resolve(dir);
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    if (!statSync(path).isDirectory()) return `credentialStore ${path} is not a directory`;
  } catch (error) {
    return `credentialStore ${path} does not exist and cannot be made (${(error as NodeJS.ErrnoException).code ?? 'error'}): create it on persistent storage (a volume), writable by the worker`;
  }
  try {
    accessSync(path, constants.W_OK);
  } catch {
    return `credentialStore ${path} is not writable by the worker (uid ${process.getuid?.() ?? '?'})`;
  }
  let text: string;
  try {
    text = readFileSync(mountInfo, 'utf8');
  } catch {
    return undefined; // not Linux: no mount table to judge by
  }
  return storageProblem(path, parseMountInfo(text));
}
