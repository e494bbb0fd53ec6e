import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import ssh2 from 'ssh2';
import type { Activities } from '../../../src/activities/index.js';
import type { HostCommand } from '../../../src/commands/shell.js';
import { emptyLedger } from '../../../src/domain/ledger.js';
import type { HostRef, Target } from '../../../src/domain/plan.js';
import { ROTATION_BATCH_HOSTS, type RotationView, type SshKeyPlan } from '../../../src/domain/rotation.js';
import { testTemporal, type TestTemporal } from '../../support/temporal.js';

const HOSTS = ROTATION_BATCH_HOSTS + 30;
// Real key lines: the commands that add and remove them parse them.
const [NEW_KEY, OLD_KEY] = [1, 2].map((n) => `${(ssh2.utils.parseKey(ssh2.utils.generateKeyPairSync('ed25519').public) as ssh2.ParsedKey).getPublicSSH().toString('base64')} key-${n}`).map((blob) => `ssh-ed25519 ${blob}`);

/** A fleet of fake hosts: the host calls of an ssh-key rotation, each answered at once. */
function fakeHostCalls(calls: string[], failOn?: { label: string; address: string }): Partial<Activities> {
  const done = async () => undefined;
  return {
    checkCredentialStore: done, lockSshLogins: done, unlockSshLogins: done, switchSshKey: done, restoreSshKey: done, forgetRotation: done,
    stageSshKey: async () => ({ publicKey: NEW_KEY! }),
    sshPublicKeyInUse: async () => ({ publicKey: OLD_KEY! }),
    verifySshLogin: async (host: HostRef) => { calls.push(`verify ${host.address}`); },
    runOnHost: async (host: HostRef, command: HostCommand) => {
      calls.push(`${command.label} ${host.address}`);
      if (failOn && command.label.startsWith(failOn.label) && host.address === failOn.address) {
        throw ApplicationFailure.create({ type: 'CommandFailed', message: `${command.label} failed on ${host.address}`, nonRetryable: true, details: [{ hostReached: true }] });
      }
      return { durationMs: 0 };
    },
  };
}

/**
 * A rotation of a fleet larger than one history should hold: its hosts' steps run in batch
 * children, so its own history stays the same size whatever the fleet (here 130 fake hosts).
 */
describe('a rotation of a large fleet', function () {
  this.timeout(300_000);
  let temporal: TestTemporal;
  before(async () => { temporal = await testTemporal(); });

  const targets: Target[] = Array.from({ length: HOSTS }, (_, i) => ({
    id: `h${i}`, name: `h${i}`, hostName: `h${i}`, host: { address: `10.8.${Math.floor(i / 250)}.${i % 250}`, port: 22, user: 'deploy' },
  }));
  const plan: SshKeyPlan = { kind: 'ssh-key', service: 'fleet', environment: 'production', targets, canary: 1, batchSize: 10 };

  async function rotate(activities: Partial<Activities>, id: string): Promise<{ result: RotationView; events: number; children: string[] }> {
    const taskQueue = `large-${Date.now().toString(36)}`;
    const worker = await Worker.create({
      connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue, workflowBundle: temporal.workflowBundle, activities, shutdownGraceTime: '1s',
    });
    const running = worker.run();
    try {
      const handle = await temporal.client.workflow.start('rotation', {
        workflowId: id, taskQueue, args: [{ plan, createdAt: new Date().toISOString(), stepTimeoutMs: 60_000, granted: emptyLedger() }],
      });
      const result = await handle.result() as RotationView;
      const { events } = await handle.fetchHistory();
      const children = (events ?? []).flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? []);
      return { result, events: events?.length ?? 0, children };
    } finally {
      worker.shutdown();
      await running;
    }
  }

  it('runs each step of more hosts than a batch holds in batch children: its own history does not grow with the fleet', async () => {
    const calls: string[] = [];
    const id = `rotation-fleet-production-large-${Date.now().toString(36)}`;
    const { result, events, children } = await rotate(fakeHostCalls(calls), id);
    assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
    assert.equal(result.steps.filter((s) => s.status === 'succeeded').length, 3 + 3 * HOSTS + 1, 'every host\'s three steps, each shown');
    const count = (prefix: string) => calls.filter((c) => c.startsWith(prefix)).length;
    assert.deepEqual([count('add the new key'), count('verify'), count('remove the old key'), count('remove ~/.ssh/')], [HOSTS, HOSTS, HOSTS, HOSTS], 'each host once in each step');
    // add, verify, remove, and the cleanup: two batches each (100 hosts, then 30).
    assert.equal(children.length, 4 * Math.ceil(HOSTS / ROTATION_BATCH_HOSTS));
    assert.ok(events < 300, `the rotation's own history has ${events} events for ${HOSTS} hosts`);
  });

  it('undoes a large rotation in batch children too, and only on the hosts it reached', async () => {
    const calls: string[] = [];
    const failing = targets[110]!.host.address;
    const id = `rotation-fleet-production-undo-${Date.now().toString(36)}`;
    const { result, children } = await rotate(fakeHostCalls(calls, { label: 'add the new key', address: failing }), id);
    assert.equal(result.status, 'compensated', JSON.stringify(result.error));
    assert.equal(result.error?.target, 'h110');
    const adds = result.steps.filter((s) => s.name === 'add the new key to authorized_keys');
    assert.deepEqual(adds.map((s) => s.status), [...Array(111).fill('compensated'), ...Array(HOSTS - 111).fill('pending')], 'the hosts after the failure were never touched');
    assert.equal(calls.filter((c) => c.startsWith('remove the new key')).length, 111, 'the new key is taken off every host it reached, once');
    assert.equal(calls.filter((c) => c.startsWith('verify')).length, 0);
    // The add step (two batches), the undos (two: 100 hosts, then 11), the cleanup (two).
    assert.equal(children.length, 2 + 2 + 2);
  });
});
