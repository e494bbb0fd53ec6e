import { FailureType, TransientFailureType } from '../domain/failures.js';
import type { ImageSpec, PinnedImages } from '../domain/plan.js';
import { pinnedReference, RegistryClient, RegistryError, type RegistryAuth } from '../registry/client.js';
import { hidingSecrets, permanentFailure, transientFailure } from './failure.js';
import { firstScheduledMs, heartbeat, pause } from './context.js';

export interface RegistryDeps {
  registry: RegistryClient;
  /** A client with other credentials than Slipway's (a token being rotated in). */
  clientWith: (credentials: RegistryAuth) => RegistryClient;
  /** How often to look again for an image that is not pushed yet. */
  imagePollMs: number;
}

function classify(error: unknown): Error {
  if (!(error instanceof RegistryError)) return error as Error;
  if (error.kind === 'auth') return permanentFailure(FailureType.RegistryAuthFailed, error.message);
  if (error.kind === 'invalid') return permanentFailure(FailureType.RegistryAnswerInvalid, error.message);
  return transientFailure(TransientFailureType.RegistryUnavailable, error.message);
}

export function registryActivities({ registry, clientWith, imagePollMs }: RegistryDeps) {
  return {
    /** A `registry-token` rotation's first step: the registry's token endpoint accepts the new token. */
    async verifyRegistryToken(repository: string, username: string, token: string): Promise<void> {
      await hidingSecrets([token], async () => {
        try {
          await clientWith({ username, token }).verifyAccess(repository);
        } catch (error) {
          throw classify(error);
        }
      });
    },

    /**
     * Pins every image of the deploy to `repository:tag@digest`, waiting (with heartbeats)
     * for images CI has not pushed yet, up to `imageTimeoutMs` from the first attempt.
     */
    async resolveImages(images: ImageSpec[], imageTimeoutMs: number): Promise<PinnedImages> {
      const deadline = firstScheduledMs() + imageTimeoutMs;
      const pinned: PinnedImages = {};
      try {
        for (const image of images) {
          for (;;) {
            const digest = await registry.resolveDigest(image.repository, image.tag);
            if (digest) {
              pinned[image.name] = pinnedReference(image.repository, image.tag, digest);
              break;
            }
            if (Date.now() + imagePollMs > deadline) {
              throw permanentFailure(FailureType.ImageTimeout, `image ${image.repository}:${image.tag} did not appear within ${Math.round(imageTimeoutMs / 1000)} s`, { evidence: { image: `${image.repository}:${image.tag}` } });
            }
            heartbeat({ waitingFor: `${image.repository}:${image.tag}` });
            await pause(imagePollMs);
          }
        }
      } catch (error) {
        throw classify(error);
      }
      return pinned;
    },
  };
}
