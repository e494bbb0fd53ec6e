import { authorizeKeyCommand, forgetRevokedKeysCommand, restoreRevokedKeysCommand, revokeKeyCommand } from '../../commands/authorized-keys.js';
import type { HostCommand } from '../../commands/shell.js';
import type { HostRef } from '../../domain/plan.js';
import type { SshKeyPlan } from '../../domain/rotation.js';
import { apiSteps, summary } from '../activity-options.js';
import type { HostJob, HostJobOutcome } from '../contract.js';
import { checkCredentialStore, distinctLogins, type Compensation, type RotationSaga, type Saga } from './saga.js';

/** What `sshPublicKeyInUse`, the first call of a host's job, answered. */
const publicKeyOf = (outcome: HostJobOutcome | undefined): string => (outcome?.status === 'succeeded' ? (outcome.results[0] as { publicKey: string }).publicKey : '');

/**
 * `ssh-key` (docs/rotations.md): a new Ed25519 key, authorized on every host, a login with it proved on
 * every host, then Slipway switches to it (in its credential store, per host and user), the
 * GitHub secret gets it, and only then is the old key removed from every host. Any failure
 * unwinds in reverse: old key lines back, GitHub secret and Slipway's key back, new key removed.
 */
export function sshKeyRotation(plan: SshKeyPlan, saga: Saga): RotationSaga {
  const logins = distinctLogins(plan.targets);
  const hosts = logins.map((l) => l.host);
  const keepAs = `authorized_keys.slipway-revoked-${saga.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  const undos: Compensation[] = [];
  const onHost = (name: string, host: HostRef, command: HostCommand, attempts?: number): HostJob => ({
    calls: [{ activity: 'runOnHost', args: [host, command], summary: `${name}: ${command.label}`, attempts }],
  });

  /** Set once the lock step starts: cleanup releases only what this rotation may hold. */
  let locked = false;

  return {
    async run() {
      await checkCredentialStore(saga);
      locked = true;
      await saga.perform(saga.addStep('lock the logins for this rotation'), () => apiSteps.lockSshLogins.executeWithOptions(summary('lock the logins for this rotation'), [hosts, saga.id]));
      let newKey = '';
      await saga.perform(saga.addStep('generate a new Ed25519 key'), async () => {
        newKey = (await apiSteps.stageSshKey.executeWithOptions(summary('generate a new Ed25519 key'), [saga.id])).publicKey;
      });
      const adds = logins.map(({ name, host }) => {
        const step = saga.addStep('add the new key to authorized_keys', name);
        undos.push({ step, job: onHost(name, host, revokeKeyCommand(newKey)), byHand: `remove the key ${newKey} from ~/.ssh/authorized_keys of ${host.user} on ${name}` });
        const job: HostJob = {
          calls: [{ activity: 'sshPublicKeyInUse', args: [host], summary: `${name}: the key Slipway logs in with` }, ...onHost(name, host, authorizeKeyCommand(newKey)).calls],
        };
        return { step, job };
      });
      const added = await saga.onHosts(adds, 'in-turn');
      // The key each host let Slipway in with: the one removed at the end.
      const oldKeys = new Map(logins.map(({ name }, i) => [name, publicKeyOf(added[i])]));
      await saga.onHosts(logins.map(({ name, host }) => ({
        step: saga.addStep('log in with the new key', name),
        job: { calls: [{ activity: 'verifySshLogin', args: [host, saga.id], summary: `${name}: log in with the new key` }] },
      })), 'in-turn');
      const switchStep = saga.addStep('switch Slipway to the new key');
      undos.push({ step: switchStep, undo: () => apiSteps.restoreSshKey.executeWithOptions(summary('switch Slipway back to the old key'), [hosts, saga.id]), byHand: `put back the keys in Slipway's credentialStore for ${logins.map((l) => l.name).join(', ')}` });
      await saga.perform(switchStep, () => apiSteps.switchSshKey.executeWithOptions(summary('switch Slipway to the new key'), [hosts, saga.id]));
      if (plan.githubSecret) {
        const secret = plan.githubSecret;
        const step = saga.addStep(`update GitHub secret ${secret}`);
        undos.push({
          step,
          undo: () => apiSteps.setGithubSecretFromStore.executeWithOptions(summary(`restore GitHub secret ${secret}`), [plan.repo!, secret, { kind: 'old-ssh-key', host: hosts[0]!, rotationId: saga.id }]),
          byHand: `set the GitHub Actions secret ${secret} of ${plan.repo} back to the old deploy key`,
        });
        await saga.perform(step, () => apiSteps.setGithubSecretFromStore.executeWithOptions(summary(`update GitHub secret ${secret}`), [plan.repo!, secret, { kind: 'new-ssh-key', rotationId: saga.id }]));
      }
      await saga.onHosts(logins.map(({ name, host }) => {
        const step = saga.addStep('remove the old key from authorized_keys', name);
        undos.push({ step, job: onHost(name, host, restoreRevokedKeysCommand(keepAs)), byHand: `put the lines of ~/.ssh/${keepAs} back into ~/.ssh/authorized_keys of ${host.user} on ${name}` });
        return { step, job: onHost(name, host, revokeKeyCommand(oldKeys.get(name)!, keepAs)) };
      }), 'in-turn');
    },

    unwind: () => [...undos].reverse(),

    /** The removed lines kept on each host and the staged key and snapshots go once the rotation has ended. */
    async cleanup() {
      // Public keys only: harmless when a host cannot be reached.
      await saga.hostJobs(logins.map(({ name, host }) => onHost(name, host, forgetRevokedKeysCommand(keepAs), 3)));
      await apiSteps.forgetRotation.executeWithOptions(summary('forget the staged key and snapshots'), [saga.id]).catch(() => undefined);
      // Released only once the rotation has ended: a failed one keeps its logins until then.
      // Left held only if the store cannot be written: the next rotation's error names the lock file.
      if (locked) await apiSteps.unlockSshLogins.executeWithOptions(summary('release the logins'), [hosts, saga.id]).catch(() => undefined);
    },
  };
}
