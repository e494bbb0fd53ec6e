import { FailureType } from '../domain/failures.js';
import type { ImageSpec, PinnedImages } from '../domain/plan.js';
import { pinnedReference, RegistryClient, RegistryError } from '../registry/client.js';
import { permanentFailure, transientFailure } from './failure.js';
import { firstScheduledMs, heartbeat, pause } from './context.js';

export interface RegistryDeps {
  registry: RegistryClient;
  /** How often to look again for an image that is not pushed yet. */
  imagePollMs: number;
}

function classify(error: unknown): Error {
  if (!(error instanceof RegistryError)) return error as Error;
  if (error.kind === 'auth') return permanentFailure(FailureType.RegistryAuthFailed, error.message);
  if (error.kind === 'invalid') return permanentFailure(FailureType.RegistryAnswerInvalid, error.message);
  return transientFailure('RegistryUnavailable', error.message);
}

export function registryActivities({ registry, imagePollMs }: RegistryDeps) {
  return {
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
              throw permanentFailure(FailureType.ImageTimeout, `image ${image.repository}:${image.tag} did not appear within ${Math.round(imageTimeoutMs / 1000)} s`, { image: `${image.repository}:${image.tag}` });
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
