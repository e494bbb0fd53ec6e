/**
 * A command for a host, as data. Turning it into the one string SSH sends is the only place
 * quoting happens, so every value from a request goes through `quote`.
 */
export interface HostCommand {
  /** Shown in logs, heartbeats and the Temporal UI: what the runbook step is called. */
  label: string;
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Passed on standard input, never on the command line (secrets, file contents). */
  stdin?: string;
  /** A shell snippet from the operator's own config (a health or build command), run as written. */
  script?: string;
  /**
   * Set on a step that is not idempotent (a migration, a build): its key, one per run, target
   * and step. It then runs at most once to success on the host, whatever retries follow
   * (src/commands/host-process.ts).
   */
  once?: string;
  /**
   * With `once`: standard output is the step's result (a provisioning command's `NAME=VALUE`
   * lines). It is kept on the host, owner-only, apart from the log, and printed again to a retry
   * after success, until `forgetOnceOutput` removes it.
   */
  onceOutput?: boolean;
  /** Its standard output holds secrets (a file read back): never quoted in an error. */
  sensitiveOutput?: boolean;
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function quote(word: string): string {
  if (word.includes('\0')) throw new Error('a shell word cannot contain a NUL byte');
  if (SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The command as a POSIX `sh` script: what `/bin/sh` runs on the host (src/ssh/session.ts sends it). */
export function toShell(command: HostCommand): string {
  const env = Object.entries(command.env ?? {});
  for (const [name] of env) if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name ${JSON.stringify(name)}`);
  if (command.script !== undefined) {
    // An operator's script may span lines: `cd` guards all of them, not only the first.
    const lines: string[] = [];
    if (command.cwd) lines.push(`cd ${quote(command.cwd)} || exit 1`);
    if (env.length) lines.push(`export ${env.map(([name, value]) => `${name}=${quote(value)}`).join(' ')}`);
    lines.push(command.script);
    return lines.join('\n');
  }
  const parts: string[] = [];
  if (command.cwd) parts.push(`cd ${quote(command.cwd)} &&`);
  if (env.length) parts.push('env', ...env.map(([name, value]) => `${name}=${quote(value)}`));
  parts.push(...command.argv.map(quote));
  return parts.join(' ');
}

