import { dockerManifestCommand } from '../../commands/docker.js';
import type { RegistryTokenPlan } from '../../domain/rotation.js';
import { apiSteps, hostSteps, summary } from '../activity-options.js';
import { checkCredentialStore, distinctLogins, type Compensation, type RotationSaga, type Saga } from './saga.js';

/**
 * `registry-token` (docs/rotations.md): the supplied token verified at the registry's token endpoint,
 * `docker login` with it on every host, the current release's manifests read with it on the
 * canary, the GitHub secret updated, and Slipway's own credential for the registry
 * switched. A failure logs the hosts back in with the credential Slipway had before.
 */
export function registryTokenRotation(plan: RegistryTokenPlan, saga: Saga): RotationSaga {
  const steps = hostSteps(saga.stepTimeoutMs, saga.heartbeatTimeoutMs);
  const logins = distinctLogins(plan.targets);
  const undos: Compensation[] = [];
  const { registry, username, token } = plan;

  saga.hide([token]);

  return {
    async run() {
      await checkCredentialStore(saga);
      await saga.perform(saga.addStep(`verify the token at ${registry}`), async () => {
        for (const repository of plan.repositories) {
          await apiSteps.verifyRegistryToken.executeWithOptions(summary(`verify the token of ${username} for ${repository}`), [repository, username, token]);
        }
      });
      await saga.onHosts(logins.map(({ name, host }) => {
        const step = saga.addStep(`docker login ${registry}`, name);
        undos.push({
          step,
          job: { calls: [{ activity: 'registryLoginAsBefore', args: [host, registry, saga.id], summary: `${name}: docker login ${registry} with the old token` }] },
          byHand: `docker login ${registry} on ${name} with the token Slipway had before`,
        });
        return { step, job: { calls: [{ activity: 'registryLogin', args: [host, registry, username, token], summary: `${name}: docker login ${registry} as ${username}` }] } };
      }), 'in-turn');
      const current = Object.values(saga.ledger.current?.images ?? {}).filter((ref) => ref.startsWith(`${registry}/`));
      if (current.length) {
        const canary = logins[0]!;
        await saga.perform(saga.addStep('read the current images from the registry with the new token', canary.name), async () => {
          for (const ref of current) await steps.runOnHost.executeWithOptions(summary(`${canary.name}: docker manifest inspect ${ref}`), [canary.host, dockerManifestCommand(ref, plan.insecure)]);
        });
      }
      if (plan.githubSecret) {
        const secret = plan.githubSecret;
        const step = saga.addStep(`update GitHub secret ${secret}`);
        undos.push({
          step,
          undo: () => apiSteps.setGithubSecretFromStore.executeWithOptions(summary(`restore GitHub secret ${secret}`), [plan.repo!, secret, { kind: 'old-registry-token', registry, rotationId: saga.id }]),
          byHand: `set the GitHub Actions secret ${secret} of ${plan.repo} back to the old token for ${registry}`,
        });
        await saga.perform(step, () => apiSteps.setGithubSecret.executeWithOptions(summary(`update GitHub secret ${secret}`), [plan.repo!, secret, token]));
      }
      const switchStep = saga.addStep(`switch Slipway to the new token for ${registry}`);
      undos.push({
        step: switchStep,
        undo: () => apiSteps.restoreRegistryCredential.executeWithOptions(summary(`switch Slipway back to the old token for ${registry}`), [registry, saga.id]),
        byHand: `put back Slipway's credential for ${registry} in its credentialStore`,
      });
      await saga.perform(switchStep, () => apiSteps.switchRegistryCredential.executeWithOptions(summary(`switch Slipway to the new token for ${registry}`), [registry, username, token, saga.id]));
    },

    unwind: () => [...undos].reverse(),

    async cleanup() {
      // A snapshot left behind holds an old credential, owner-only, in the store: no reason to fail the rotation.
      await apiSteps.forgetRotation.executeWithOptions(summary('forget the snapshots'), [saga.id]).catch(() => undefined);
    },
  };
}
