import { quote, type HostCommand } from './shell.js';

/** A file name as an operand: one that starts with "-" would be read as an option (`rm`, `cp`, `mv`, `mktemp`). */
const operand = (file: string) => (file.startsWith('-') ? `./${file}` : file);

/** Prints the file, or nothing when it does not exist yet. Its output (secrets) is never shown in an error. */
export function readFileCommand(cwd: string, file: string): HostCommand {
  const f = quote(operand(file));
  return { label: `read ${file}`, argv: [], cwd, script: `if [ -f ${f} ]; then cat ${f}; fi`, sensitiveOutput: true };
}

/**
 * Copies `file` to `backup` once: a retried step keeps the first copy, which holds what was
 * there before anything changed. A missing file is backed up as an empty one.
 */
export function backupFileCommand(cwd: string, file: string, backup: string): HostCommand {
  const f = quote(operand(file));
  const b = quote(operand(backup));
  const script = `if [ ! -e ${b} ]; then if [ -f ${f} ]; then cp -p ${f} ${b}; else (umask 077 && : > ${b}); fi; fi`;
  return { label: `back up ${file}`, argv: [], cwd, script };
}

/** Exits 0 when `file` exists. */
export function fileExistsCommand(cwd: string, file: string): HostCommand {
  return { label: `look for ${file}`, argv: ['test', '-f', operand(file)], cwd };
}

export function removeFileCommand(cwd: string, file: string): HostCommand {
  return { label: `remove ${file}`, argv: ['rm', '-f', operand(file)], cwd };
}

/**
 * Replaces `file` with standard input in one `mv`, so a reader never sees half a file, and
 * keeps what was there as `<file>.slipway-prev` with its permissions.
 */
export function replaceFileCommand(cwd: string, file: string, content: string): HostCommand {
  const f = quote(operand(file));
  const prev = quote(operand(`${file}.slipway-prev`));
  const script = [
    'set -e',
    `tmp=$(mktemp ${quote(operand(`${file}.slipway-tmp.`))}XXXXXX)`,
    'trap \'rm -f "$tmp"\' EXIT',
    'cat > "$tmp"',
    `if [ -f ${f} ]; then chmod --reference=${f} "$tmp"; cp -p ${f} ${prev}; else chmod 600 "$tmp"; fi`,
    `mv -f "$tmp" ${f}`,
    'trap - EXIT',
  ].join('\n');
  return { label: `write ${file}`, argv: [], cwd, script, stdin: content };
}
