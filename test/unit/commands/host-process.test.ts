import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostScript, stepToken, stopScript } from '../../../src/commands/host-process.js';
import type { HostCommand } from '../../../src/commands/shell.js';

/**
 * The scripts that run every host command, under a real /bin/sh started as sshd starts it: in a
 * session and process group of its own, with the login user's HOME.
 */
describe('host processes: stopping a step, and steps that run once', function () {
  this.timeout(20_000);
  let home: string;
  let work: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'slipway-home-'));
    work = mkdtempSync(join(tmpdir(), 'slipway-work-'));
  });

  const asSshd = (script: string): ChildProcess => spawn('sh', ['-c', script], { detached: true, env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  const finished = (child: ChildProcess) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => resolve({ code, stderr }));
  });
  const run = (script: string) => {
    const r = spawnSync('sh', ['-c', script], { env: { PATH: process.env.PATH, HOME: home }, encoding: 'utf8' });
    return { code: r.status, stderr: r.stderr };
  };
  const until = async (ready: () => boolean) => {
    for (const start = Date.now(); !ready(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() - start > 10_000) throw new Error('timed out');
  };
  const count = () => (existsSync(join(work, 'count')) ? readFileSync(join(work, 'count'), 'utf8').split('\n').filter(Boolean).length : 0);
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  const migrate = (script: string): HostCommand => ({ label: 'migrate', argv: [], cwd: work, script, once: 'run-7f3/web-1/migrate' });

  it('keeps the exit code of a plain command, and leaves no pid file behind', () => {
    assert.equal(run(hostScript({ label: 'x', argv: ['sh', '-c', 'exit 4'] }, 'tok')).code, 4);
    assert.equal(run(hostScript({ label: 'x', argv: ['true'] }, 'tok')).code, 0);
    assert.deepEqual(readdirSync(join(home, '.slipway', 'steps')), []);
  });

  it('stops the whole process group of a running command, children included', async () => {
    const child = asSshd(hostScript({ label: 'x', argv: [], script: 'sleep 30 & echo $! > bg; sleep 30', cwd: work }, 'tok'));
    await until(() => existsSync(join(work, 'bg')) && readFileSync(join(work, 'bg'), 'utf8').trim() !== '');
    const background = Number(readFileSync(join(work, 'bg'), 'utf8'));
    const ended = finished(child);
    assert.equal(run(stopScript('tok', 1)).code, 0);
    await ended;
    await until(() => !alive(background));
    // Nothing left to stop is not an error.
    assert.equal(run(stopScript('tok', 1)).code, 0);
  });

  it('runs a step once: a retry after success skips it and says so', () => {
    const first = run(hostScript(migrate('echo ran >> count; echo migrated'), stepToken('run-7f3/web-1/migrate')));
    assert.equal(first.code, 0);
    assert.match(first.stderr, /migrated/, 'the step\'s output comes back');
    const retry = run(hostScript(migrate('echo ran >> count'), stepToken('run-7f3/web-1/migrate')));
    assert.equal(retry.code, 0);
    assert.match(retry.stderr, /already done by an earlier attempt/);
    assert.equal(count(), 1);
  });

  it('runs a failed step again on retry, and keeps its exit code and output', () => {
    const failed = run(hostScript(migrate('echo ran >> count; echo "relation users exists" >&2; exit 3'), stepToken('run-7f3/web-1/migrate')));
    assert.equal(failed.code, 3);
    assert.match(failed.stderr, /relation users exists/);
    assert.equal(run(hostScript(migrate('echo ran >> count'), stepToken('run-7f3/web-1/migrate'))).code, 0);
    assert.equal(count(), 2);
  });

  it('lets the first copy finish when its connection drops, and a retry waits for it instead of running it again', async () => {
    const token = stepToken('run-7f3/web-1/migrate');
    const first = asSshd(hostScript(migrate('echo ran >> count; sleep 1; echo finished >> count'), token));
    await until(() => count() === 1);
    // The connection drops: sshd's side of the command goes, the step itself runs on.
    process.kill(-first.pid!, 'SIGKILL');
    const retry = run(hostScript(migrate('echo ran >> count'), token));
    assert.equal(retry.code, 0);
    assert.match(retry.stderr, /still running on the host: waiting for it[\s\S]*already done/);
    assert.deepEqual(readFileSync(join(work, 'count'), 'utf8'), 'ran\nfinished\n');
  });

  it('names a state file after its key, one name per key, with no character a shell would read', () => {
    const keys = ['run-1/web-1/migrate', 'run-1/web_1/migrate', 'run-1/web/1/migrate', "x'; rm -rf / #", 'ü/..', 'a_2fb'];
    const tokens = keys.map(stepToken);
    assert.equal(new Set(tokens).size, keys.length);
    for (const t of tokens) assert.match(t, /^[A-Za-z0-9._-]+$/);
  });
});
