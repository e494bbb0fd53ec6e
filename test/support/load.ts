export interface LoadResult {
  sent: number;
  failed: number;
  /** The first few failures as the client saw them (status and body, or the error). */
  failures: string[];
}

export interface Load {
  stop(): Promise<LoadResult>;
}

/**
 * Requests through a load balancer for as long as a test runs: `concurrency` clients, each
 * sending `path` again as soon as its last answer came back, on keep-alive connections as
 * browsers and API clients do. A request fails when it gets no answer or anything but 200.
 */
export function startLoad(url: string, { concurrency = 8, path = '/work?ms=50', timeoutMs = 10_000 } = {}): Load {
  const result: LoadResult = { sent: 0, failed: 0, failures: [] };
  let running = true;
  const fail = (what: string) => {
    result.failed++;
    if (result.failures.length < 10) result.failures.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
  };
  const client = async () => {
    while (running) {
      result.sent++;
      try {
        const answer = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
        const body = await answer.text();
        if (answer.status !== 200) fail(`${answer.status} ${body.trim().slice(0, 80)}`);
      } catch (error) {
        const cause = (error as Error & { cause?: Error }).cause;
        fail(`${(error as Error).message}${cause ? `: ${cause.message}` : ''}`);
      }
    }
  };
  const clients = Array.from({ length: concurrency }, client);
  return {
    async stop() {
      running = false;
      await Promise.all(clients);
      return result;
    },
  };
}
