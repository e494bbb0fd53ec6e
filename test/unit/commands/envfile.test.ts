import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readEnvValues, restoreEnvValues, rewriteEnvFile } from '../../../src/commands/envfile.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** Env files rewritten line by line: only the named keys change. */
describe('env file rewrite', () => {
  it('changes only the named keys, keeps every other line and appends new keys', () => {
    const before = '# production\nDATABASE_URL=postgres://db/shop\nexport BACKEND_IMAGE=old\n\nFRONTEND_IMAGE=keep\n';
    const after = rewriteEnvFile(before, { BACKEND_IMAGE: 'ghcr.io/a/b:t@sha256:1', WORKER_IMAGE: 'w' });
    assert.equal(after, '# production\nDATABASE_URL=postgres://db/shop\nexport BACKEND_IMAGE=ghcr.io/a/b:t@sha256:1\n\nFRONTEND_IMAGE=keep\nWORKER_IMAGE=w\n');
    assert.equal(rewriteEnvFile(after, { BACKEND_IMAGE: 'ghcr.io/a/b:t@sha256:1', WORKER_IMAGE: 'w' }), after, 'idempotent');
    assert.equal(rewriteEnvFile('', { A: '1' }), 'A=1\n');
    assert.equal(rewriteEnvFile('A=1\nA=2\n', { A: '3' }), 'A=3\nA=3\n');
  });

  it('quotes values that need it and reads them back unchanged', () => {
    const values = { SPACE: 'a b', QUOTE: "it's", DOLLAR: '$HOME' };
    assert.deepEqual(readEnvValues(rewriteEnvFile('', values)), values);
    assert.throws(() => rewriteEnvFile('', { A: 'x\ny' }), /line break/);
  });

  it('restores rotated values from a backup: old values back, variables that were new removed, other lines kept', () => {
    const backup = '# app\nDB=postgres://db\nAPI_KEY=old-key\n';
    const current = '# app\nDB=postgres://db2\nAPI_KEY=new-key\nAPI_KEY_ID=k2\nADDED_LATER=1\n';
    assert.equal(restoreEnvValues(current, backup, ['API_KEY', 'API_KEY_ID']), '# app\nDB=postgres://db2\nAPI_KEY=old-key\nADDED_LATER=1\n');
    assert.equal(restoreEnvValues('A=1\n', '', ['A']), '');
  });

  it('reads a file of the largest size Slipway accepts, a line of blanks included, at once (time linear in its size)', () => {
    // A lazy match backtracked over the blanks: 40,000 took 2.4 s, and 1 MiB would take hours,
    // so the read runs in a process of its own that is killed if it takes more than seconds.
    const script = `
      import { readEnvValues } from ${JSON.stringify(join(ROOT, 'src', 'commands', 'envfile.ts'))};
      const blanks = ' '.repeat(1024 * 1024 - 16);
      const values = readEnvValues('A=a' + blanks + 'b\\nB= x \\nC=' + blanks);
      process.stdout.write(JSON.stringify([values.A.length, values.B, values.C]));`;
    const read = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(read.signal, null, 'the read finished within 20 s');
    assert.deepEqual(JSON.parse(read.stdout), [1024 * 1024 - 14, 'x', '']);
  });
});
