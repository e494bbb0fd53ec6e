import { FailureType, TransientFailureType } from '../domain/failures.js';
import { ApplicationFailure } from '@temporalio/common';
import { fillBody, fillPlaceholders, urlComponent, type HttpStepCall, type RecipeValues } from '../domain/recipe.js';
import { cancellationSignal, firstScheduledMs } from './context.js';
import { hidingSecrets, permanentFailure, transientFailure } from './failure.js';

/** How long one attempt may take before it counts as a connection error. */
const ATTEMPT_TIMEOUT_MS = 30_000;

/** `${env:NAME}` from the worker's environment: the secret never rides in a plan. */
function fromEnvironment(text: string, env: NodeJS.ProcessEnv, used: string[]): string {
  return text.replace(/\$\{env:([^}]+)\}/g, (_, name: string) => {
    const value = env[name];
    if (!value) throw permanentFailure(FailureType.InvalidInput, `environment variable ${name} is not set on this worker`);
    used.push(value);
    return value;
  });
}

/**
 * A header is sent exactly as filled, or not at all: a line break could add headers of its
 * own, and fetch would silently trim blanks at the ends or refuse characters past Latin-1.
 */
const HEADER_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

function headerValue(name: string, value: string): string {
  if (!HEADER_VALUE.test(value)) throw new Error(`the value of header ${name} cannot be sent as it is (a line break, a control character, a blank at either end, or a character past Latin-1)`);
  return value;
}

/**
 * Makes one HTTP step of a recipe. A 5xx answer or a connection error is retried (by the
 * activity's retry policy) until `retryFor` has passed since the first attempt; any other
 * status outside `expect` fails at once. Neither the values nor the credentials it sends can
 * appear in its errors; the answer's body is never kept.
 */
export function httpActivities({ env = process.env }: { env?: NodeJS.ProcessEnv } = {}) {
  return {
    async callHttp(step: HttpStepCall, values: RecipeValues): Promise<{ status: number }> {
      const secrets = [...Object.values(values.new), ...Object.values(values.old)];
      return hidingSecrets(secrets, async () => {
        const fromEnv: string[] = [];
        // Named as the config writes it: placeholders and ${env:…} name values, they hold none.
        const where = `${step.method} ${step.url}`;
        // `${env:…}` first, from the config's own text: a value that holds one (a provisioned
        // value is whatever a host printed) must never make the worker send its environment.
        // In a URL, values are percent-encoded (`+`, `/` and `=` of base64 included).
        const filled = (fill: () => string) => {
          try {
            return fill();
          } catch (error) {
            if (error instanceof ApplicationFailure) throw error;
            throw permanentFailure(FailureType.InvalidInput, `${where}: ${(error as Error).message}`);
          }
        };
        const url = filled(() => fillPlaceholders(fromEnvironment(step.url, env, fromEnv), values, urlComponent));
        const headers = Object.fromEntries(Object.entries(step.headers).map(([k, v]) => [k, filled(() => headerValue(k, fillPlaceholders(fromEnvironment(v, env, fromEnv), values)))]));
        const hasBody = step.body !== undefined;
        if (hasBody && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
        return hidingSecrets(fromEnv, async () => {
          // Read before the clock: outside an activity the first attempt is "now", and a clock
          // read first could come out a millisecond before it.
          const firstAttemptMs = firstScheduledMs();
          const waited = () => Date.now() - firstAttemptMs;
          const retryOrGiveUp = (problem: string) => {
            if (waited() >= step.retryFor) throw permanentFailure(FailureType.HttpStepFailed, `${where}: ${problem} (gave up after ${Math.round(waited() / 1000)} s)`);
            return transientFailure(TransientFailureType.HttpStepTransient, `${where}: ${problem}`);
          };
          let response: Response;
          try {
            const signals = [AbortSignal.timeout(ATTEMPT_TIMEOUT_MS), cancellationSignal()].filter((s): s is AbortSignal => !!s);
            response = await fetch(url, {
              method: step.method, headers, body: hasBody ? JSON.stringify(fillBody(step.body, values)) : undefined,
              signal: AbortSignal.any(signals), redirect: 'manual',
            });
          } catch (error) {
            if (cancellationSignal()?.aborted) throw error;
            const cause = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
            // The call may have reached the other system: made again, it could act twice.
            if (!step.idempotent && cause !== 'ECONNREFUSED') {
              throw permanentFailure(FailureType.HttpStepFailed, `${where}: no answer (${cause}); not retried, as the step is not idempotent: check the other system before retrying the rotation`);
            }
            throw retryOrGiveUp(`no answer (${cause})`);
          }
          await response.body?.cancel();
          if (step.expect.includes(response.status)) return { status: response.status };
          if (response.status >= 500) throw retryOrGiveUp(`answered ${response.status}`);
          throw permanentFailure(FailureType.HttpStepFailed, `${where}: answered ${response.status}, expected ${step.expect.join(' or ')}`, { evidence: { status: response.status } });
        });
      });
    },
  };
}
