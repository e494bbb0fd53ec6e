import { checkAnswer } from './contract.js';

/** The API tokens of the test stacks' configs: each test calls as the caller it plays. */
export const TOKENS = { ci: 'ci-token-5b0c1d', reader: 'reader-token-77aa01', ops: 'ops-token-9e9e9e', rotator: 'rotator-token-31c4a0', decoder: 'decoder-token-4d3c2b', hooks: 'hooks-token-6a7b8c', cli: 'cli-token-0f1e2d' };

/* eslint-disable @typescript-eslint/no-explicit-any -- answers are checked against the OpenAPI document, then read as the test needs */
export interface ApiClient {
  /** Calls the API; every answer is checked against its OpenAPI document. */
  request(method: string, path: string, body?: unknown, token?: string, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  /** Waits until a run has ended and its environment's ledger has it. */
  waitForRun(id: string, timeoutMs?: number): Promise<any>;
  /** Polls a run until `predicate` holds (`what` names the state in the error otherwise). */
  waitFor(id: string, predicate: (run: any) => boolean, what: string, timeoutMs?: number): Promise<any>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export function apiClient(api: string): ApiClient {
  const request: ApiClient['request'] = async (method, path, body, token = TOKENS.ci, headers = {}) => {
    const response = await fetch(`${api}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    checkAnswer({ method, path, status: response.status, contentType: response.headers.get('content-type'), body: parsed });
    return { status: response.status, body: parsed, headers: response.headers };
  };
  return {
    request,
    async waitForRun(id, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { body } = await request('GET', `/v1/deployments/${id}`, undefined, TOKENS.reader);
        // Ended (or waiting for an operator); a run between an operator's abort and its end
        // (putting back what it drained) is `failed` without `finishedAt` for a moment.
        if (['succeeded', 'failed', 'rolled_back', 'aborted'].includes(body.status) && (body.finishedAt || body.awaitingOperator)) {
          // A run is reported ended only once its environment has recorded it: what a test (or
          // an operator after `--wait`) reads of the ledger next includes this run.
          if (!body.awaitingOperator) {
            const env = (await request('GET', `/v1/services/${body.service}/environments/${body.environment}`, undefined, TOKENS.reader)).body;
            if (!env.history?.some((e: { runId: string }) => e.runId === id) || env.active === id) throw new Error(`run ${id} answered ${body.status}, but its environment's ledger does not have it yet: ${JSON.stringify(env)}`);
          }
          return body;
        }
        if (Date.now() > deadline) throw new Error(`run ${id} still ${body.status} after ${timeoutMs} ms: ${JSON.stringify(body)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async waitFor(id, predicate, what, timeoutMs = 40_000) {
      const get = async () => (await request('GET', `/v1/deployments/${id}`, undefined, TOKENS.reader)).body;
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
        const run = await get();
        if (predicate(run)) return run;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`run ${id} never became ${what}: ${JSON.stringify(await get())}`);
    },
  };
}
