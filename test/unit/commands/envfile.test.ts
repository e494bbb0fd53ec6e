import assert from 'node:assert/strict';
import { readEnvValues, restoreEnvValues, rewriteEnvFile } from '../../../src/commands/envfile.js';

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
});
