import assert from 'node:assert/strict';
import { toShell } from '../../../src/commands/shell.js';
import { buildSteps, restartUnit } from '../../../src/commands/systemd.js';

/** The `systemd` runtime's commands. */
describe('systemd commands', () => {
  it('builds systemd build steps and restarts', () => {
    assert.deepEqual(buildSteps('/opt/bot', ['git checkout --force abc']).map(toShell), ['cd /opt/bot || exit 1\ngit checkout --force abc']);
    assert.equal(toShell(restartUnit('/opt/bot', 'bot-worker@1.service')), 'cd /opt/bot && systemctl restart bot-worker@1.service');
  });
});
