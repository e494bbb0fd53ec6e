/**
 * Rewrites `KEY=value` lines of a dotenv file the way an operator edits it by hand: only the
 * named keys change, every other line (comments, order, blank lines) stays as it was, and keys
 * that were missing are appended.
 */
const ASSIGNMENT = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=)/;

export function formatEnvValue(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error('an env file value cannot contain a line break or NUL byte');
  if (/^[A-Za-z0-9_@%+=:,./-]*$/.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

export function rewriteEnvFile(content: string, updates: Record<string, string>): string {
  const pending = new Map(Object.entries(updates));
  const lines = content === '' ? [] : content.replace(/\n$/, '').split('\n');
  const rewritten = lines.map((line) => {
    const match = ASSIGNMENT.exec(line);
    if (!match || !Object.hasOwn(updates, match[2]!)) return line;
    const value = updates[match[2]!]!;
    pending.delete(match[2]!);
    return `${match[1]}${match[2]}${match[3]}${formatEnvValue(value)}`;
  });
  for (const [key, value] of pending) rewritten.push(`${key}=${formatEnvValue(value)}`);
  return rewritten.length ? `${rewritten.join('\n')}\n` : '';
}

/** Reads the values of a dotenv file (for the keys Slipway manages). */
export function readEnvValues(content: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of content.split('\n')) {
    // Matched in one pass and trimmed after: a lazy `(.*?)\s*$` backtracks over every run of
    // blanks, and a host's 1 MB line of them would hold the worker's event loop for minutes.
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2]!.trim();
    if (/^'.*'$/.test(value)) value = value.slice(1, -1);
    else if (/^".*"$/.test(value)) value = value.slice(1, -1).replace(/\\([\\"$`])/g, '$1');
    values[match[1]!] = value;
  }
  return values;
}

/**
 * Puts `names` back as `backup` had them: the value it held, or no line at all when the backup
 * had none. Every other line of `current` stays as it is.
 */
export function restoreEnvValues(current: string, backup: string, names: string[]): string {
  const before = readEnvValues(backup);
  const kept = names.filter((n) => Object.hasOwn(before, n));
  const dropped = new Set(names.filter((n) => !Object.hasOwn(before, n)));
  const withoutDropped = current.split('\n').filter((line) => {
    const match = ASSIGNMENT.exec(line);
    return !match || !dropped.has(match[2]!);
  }).join('\n');
  return rewriteEnvFile(withoutDropped, Object.fromEntries(kept.map((n) => [n, before[n]!])));
}
