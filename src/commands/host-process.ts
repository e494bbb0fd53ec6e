import { quote, toShell, type HostCommand } from './shell.js';

/**
 * How a command lives on the host, so that it can be stopped and, when it must run once,
 * is never run twice.
 *
 * sshd starts each command as the leader of its own process group (it calls setsid), and the
 * script writes that group's id to a pid file named by a token. Stopping a step (a cancel, a
 * timeout) kills the whole group: `docker compose run` and whatever a build script started
 * go with it, not only the shell.
 *
 * A step that is not idempotent (a migration, a build) carries a `once` key: one per run,
 * target and step. It runs under a lock (`flock`) with a marker written when it succeeds, in a
 * process of its own that a dropped connection or a dead worker does not stop. A retry after
 * success finds the marker and skips the step; a retry while the first copy still runs waits
 * on the lock and then finds the marker (or runs it again if that copy failed).
 *
 * Hosts need `flock` and `setsid` (util-linux, or busybox).
 */
const STATE_DIR = '"$HOME/.slipway/steps"';

/** Markers, logs and locks older than this are removed by the next step that runs once. */
const KEEP_DAYS = 30;

/** The most of a step's log a guarded step prints back when it ends (its errors are at the end). */
const LOG_TAIL_BYTES = 16 * 1024;

/** A file name for a key: injective, and only characters every shell and filesystem takes as they are. */
export function stepToken(key: string): string {
  return [...new TextEncoder().encode(key)].map((byte) => {
    const c = String.fromCharCode(byte);
    return /[A-Za-z0-9.-]/.test(c) ? c : `_${byte.toString(16).padStart(2, '0')}`;
  }).join('');
}

/** The token whose pid file names the command's process group: its `once` key, or the caller's. */
export function processToken(command: HostCommand, fresh: string): string {
  return stepToken(command.once ?? fresh);
}

/** The `sh` script that runs `command` on the host, its process group recorded under `token`. */
export function hostScript(command: HostCommand, token: string): string {
  if (command.once === undefined) {
    return [
      `s=${STATE_DIR}; mkdir -p "$s" && echo $$ > "$s/${token}.pid" || exit 1`,
      `trap 'rm -f "$s/${token}.pid"' EXIT`,
      toShell(command),
    ].join('\n');
  }
  if (command.stdin !== undefined) throw new Error(`"${command.label}" runs once, in the background: it cannot take standard input`);
  // The step's own process holds the lock (fd 9, inherited) and writes the marker, so both
  // outlive this shell: sshd's side of the connection may go at any time.
  const step = [
    'echo $$ > "$0.pid"',
    toShell(command),
  ].join('\n');
  // A step whose output is its result (provisioned secrets) keeps it apart from the log,
  // owner-only, until `forgetOnceOutput`: a retry after success gets it again.
  const output = command.onceOutput ? ' >"$0.out"' : '';
  const marked = `${command.onceOutput ? 'umask 077; ' : ''}( ${step}\n)${output}; rc=$?; [ $rc -eq 0 ] && : > "$0.done"; rm -f "$0.pid"; exit $rc`;
  const printOutput = command.onceOutput ? 'cat "$k.out"; ' : '';
  return [
    `s=${STATE_DIR}; k="$s/${token}"; mkdir -p "$s" || exit 1`,
    'exec 9>>"$k.lock" || exit 1',
    'if ! flock -n 9; then echo "an earlier attempt of this step is still running on the host: waiting for it" >&2; flock 9 || exit 1; fi',
    `if [ -e "$k.done" ]; then echo "already done by an earlier attempt of this run: not run again" >&2; ${printOutput}exit 0; fi`,
    `find "$s" -type f -mtime +${KEEP_DAYS} -exec rm -f {} + 2>/dev/null`,
    `setsid /bin/sh -c ${quote(marked)} "$k" </dev/null >"$k.log" 2>&1 &`,
    'wait $!; rc=$?',
    `tail -c ${LOG_TAIL_BYTES} "$k.log" >&2`,
    ...(command.onceOutput ? ['if [ $rc -eq 0 ]; then cat "$k.out"; else rm -f "$k.out"; fi'] : []),
    'exit $rc',
  ].join('\n');
}

/** Removes what a step with `onceOutput` kept on the host, once its run no longer needs it. */
export function forgetOnceOutput(once: string): HostCommand {
  return { label: 'remove the kept output of a provisioning step', argv: [], script: `rm -f ${STATE_DIR}/${stepToken(once)}.out` };
}

/**
 * Stops the process group recorded under `token`: TERM, then KILL after `graceSeconds`. Quiet
 * and successful when there is nothing left to stop.
 */
export function stopScript(token: string, graceSeconds = 5): string {
  const f = `${STATE_DIR}/${token}.pid`;
  return [
    `f=${f}; [ -f "$f" ] || exit 0; p=$(cat "$f"); case "$p" in ''|*[!0-9]*) exit 0;; esac`,
    'kill -s TERM -- "-$p" 2>/dev/null || exit 0',
    `i=0; while kill -s 0 -- "-$p" 2>/dev/null && [ $i -lt ${graceSeconds * 10} ]; do sleep 0.1; i=$((i + 1)); done`,
    'kill -s KILL -- "-$p" 2>/dev/null; rm -f "$f"; exit 0',
  ].join('\n');
}
