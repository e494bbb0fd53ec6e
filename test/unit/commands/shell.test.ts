import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quote, toShell, type HostCommand } from '../../../src/commands/shell.js';
import { forLoginShell } from '../../../src/ssh/session.js';
import { ensureDebianPackage } from '../../support/packages.js';

/** A login shell whose syntax is not sh's (installed from Debian's packages when root). */
const tcsh = ensureDebianPackage('tcsh', '/usr/bin/tcsh');

/** Runs a command through a real shell with `printf` standing in for the program, returning argv as seen. */
function argvSeenByShell(command: HostCommand): string[] {
  const shell = toShell({ ...command, cwd: undefined }).replace(/^(env (\S+ )*)?\S+/, (m) => m.replace(/\S+$/, "printf '%s\\0'"));
  return execFileSync('sh', ['-c', shell]).toString().split('\0').slice(0, -1);
}

/** How a command reaches a host's shell: quoted, guarded by its cd, under /bin/sh whatever the login shell. */
describe('host commands in a shell', () => {
  it('quotes every word so that no value can inject a command', () => {
    const hostile = ["$(touch /tmp/pwned)", "a'b", '`id`', 'x; rm -rf /', 'new\nline', '', '*'];
    assert.deepEqual(argvSeenByShell({ label: 't', argv: ['prog', ...hostile] }), hostile);
    assert.equal(quote('sha-abc1234'), 'sha-abc1234');
    assert.throws(() => quote('a\0b'), /NUL/);
  });

  it('guards every line of a script with its cd: nothing runs in the wrong directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-cd-'));
    const script = toShell({ label: 'build', argv: [], cwd: join(dir, 'missing'), script: 'echo building\ntouch built' });
    assert.throws(() => execFileSync('sh', ['-c', script], { cwd: dir, stdio: 'pipe' }));
    assert.throws(() => statSync(join(dir, 'built')), 'the second line did not run');
  });

  it('runs under /bin/sh whatever the login shell, values intact', function () {
    const command: HostCommand = { label: 'env', argv: [], cwd: "/tmp", env: { QUOTED: "it's $(not) run", MULTI: 'a\nb' }, script: 'printf "%s|" "$QUOTED" "$MULTI"\nprintf "%s" "$0"' };
    const wire = forLoginShell(toShell(command));
    const seen = (shell: string) => execFileSync(shell, ['-c', wire], { encoding: 'utf8' });
    assert.equal(seen('sh'), "it's $(not) run|a\nb|/bin/sh");
    if (!tcsh) return this.skip();
    assert.equal(seen(tcsh), "it's $(not) run|a\nb|/bin/sh", 'tcsh, whose syntax is not sh');
  });

  it('quotes directories with spaces', () => {
    assert.equal(toShell({ label: 'x', argv: ['ls'], cwd: "/srv/my app" }), "cd '/srv/my app' && ls");
  });
});
