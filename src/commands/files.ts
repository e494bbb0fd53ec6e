import { quote, type HostCommand } from './shell.js';

/** Prints the file, or nothing when it does not exist yet. */
export function readFileCommand(cwd: string, file: string): HostCommand {
  return { label: `read ${file}`, argv: [], cwd, script: `if [ -f ${quote(file)} ]; then cat ${quote(file)}; fi` };
}

/**
 * Replaces `file` with standard input in one `mv`, so a reader never sees half a file, and
 * keeps what was there as `<file>.slipway-prev` with its permissions.
 */
export function replaceFileCommand(cwd: string, file: string, content: string): HostCommand {
  const f = quote(file);
  const prev = quote(`${file}.slipway-prev`);
  const script = [
    'set -e',
    `tmp=$(mktemp ${quote(`${file}.slipway-tmp.`)}XXXXXX)`,
    'trap \'rm -f "$tmp"\' EXIT',
    'cat > "$tmp"',
    `if [ -f ${f} ]; then chmod --reference=${f} "$tmp"; cp -p ${f} ${prev}; else chmod 600 "$tmp"; fi`,
    `mv -f "$tmp" ${f}`,
    'trap - EXIT',
  ].join('\n');
  return { label: `write ${file}`, argv: [], cwd, script, stdin: content };
}
