import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A program from Debian's packages that a test needs: installed when missing and we are root
 * (CI is root, so nothing is skipped there); otherwise undefined, with the reason printed.
 */
export function ensureDebianPackage(pkg: string, binary: string): string | undefined {
  if (existsSync(binary)) return binary;
  if (process.getuid?.() !== 0) {
    console.log(`(${pkg} is not installed and we are not root to install it: the tests that need it are skipped)`);
    return undefined;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
  } catch {
    // The package lists may be missing or stale on a fresh machine.
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
  }
  return binary;
}
