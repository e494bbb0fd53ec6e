import { quote, type HostCommand } from './shell.js';

/**
 * Edits the login user's `~/.ssh/authorized_keys` for an `ssh-key` rotation. A key is known by
 * its base64 blob, whatever options or comment its line carries.
 */
const FILE = '"$HOME/.ssh/authorized_keys"';
const KEY_LINE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) ([A-Za-z0-9+/]+={0,2})(?: [^\n\r\0']*)?$/;
/** awk that exits 0 when a line of the file holds the key (as any of its fields). */
const HAS_KEY = (blob: string) => `awk -v k=${quote(blob)} '{for(i=1;i<=NF;i++) if($i==k) found=1} END{exit !found}' ${FILE}`;
/** So an appended line never joins the last one. */
const END_WITH_NEWLINE = `if [ -s ${FILE} ] && [ -n "$(tail -c1 ${FILE})" ]; then echo >> ${FILE}; fi`;

/** The blob of an authorized_keys line; throws on anything else, so no request text reaches a shell unchecked. */
export function publicKeyBlob(publicKey: string): string {
  const match = KEY_LINE.exec(publicKey.trim());
  if (!match) throw new Error('expected an OpenSSH public key line (ssh-ed25519 AAAA… comment)');
  return match[2]!;
}

/** Adds the key unless a line already holds it; creates `~/.ssh` (0700) and the file (0600) when missing. */
export function authorizeKeyCommand(publicKey: string): HostCommand {
  const blob = publicKeyBlob(publicKey);
  const script = [
    'set -e', 'umask 077', 'mkdir -p "$HOME/.ssh"', `touch ${FILE}`,
    `if ! ${HAS_KEY(blob)}; then`, `  ${END_WITH_NEWLINE}`, `  printf '%s\\n' ${quote(publicKey.trim())} >> ${FILE}`, 'fi',
  ].join('\n');
  return { label: 'add the new key to authorized_keys', argv: [], script };
}

/**
 * Removes every line that holds the key, replacing the file in one `mv` with its mode kept.
 * With `keepAs`, the removed lines are saved once to `~/.ssh/<keepAs>` so a compensation can
 * put them back exactly (options and all).
 */
export function revokeKeyCommand(publicKey: string, keepAs?: string): HostCommand {
  const blob = publicKeyBlob(publicKey);
  const k = quote(blob);
  const script = [
    'set -e', `[ -f ${FILE} ] || exit 0`,
    ...(keepAs ? [`kept="$HOME/.ssh/"${quote(keepAs)}`, `if [ ! -e "$kept" ]; then (umask 077 && awk -v k=${k} '{for(i=1;i<=NF;i++) if($i==k){print; next}}' ${FILE} > "$kept"); fi`] : []),
    'tmp=$(mktemp "$HOME/.ssh/authorized_keys.slipway-tmp.XXXXXX")', 'trap \'rm -f "$tmp"\' EXIT',
    `awk -v k=${k} '{for(i=1;i<=NF;i++) if($i==k) next; print}' ${FILE} > "$tmp"`,
    `chmod --reference=${FILE} "$tmp"`, `mv -f "$tmp" ${FILE}`, 'trap - EXIT',
  ].join('\n');
  return { label: keepAs ? 'remove the old key from authorized_keys' : 'remove the new key from authorized_keys', argv: [], script };
}

/** Puts back the lines `revokeKeyCommand` kept as `keepAs` (those not there already), then drops that file. */
export function restoreRevokedKeysCommand(keepAs: string): HostCommand {
  const script = [
    'set -e', `kept="$HOME/.ssh/"${quote(keepAs)}`, '[ -f "$kept" ] || exit 0', `touch ${FILE}`, END_WITH_NEWLINE,
    `while IFS= read -r line; do grep -qxF -- "$line" ${FILE} || printf '%s\\n' "$line" >> ${FILE}; done < "$kept"`,
    'rm -f "$kept"',
  ].join('\n');
  return { label: 'put the old key back in authorized_keys', argv: [], script };
}

/** Drops what `revokeKeyCommand` kept, once the rotation has succeeded. */
export function forgetRevokedKeysCommand(keepAs: string): HostCommand {
  return { label: `remove ~/.ssh/${keepAs}`, argv: [], script: `rm -f "$HOME/.ssh/"${quote(keepAs)}` };
}

/** Runs `true`: used to prove a login with a given key works. */
export function loginCheckCommand(): HostCommand {
  return { label: 'log in with the new key', argv: ['true'] };
}
