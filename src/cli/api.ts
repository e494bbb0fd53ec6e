/**
 * The CLI's view of Slipway's HTTP API: JSON in and out, problem+json turned into
 * an error the CLI prints whole (`detail` and every field error) before exiting with 2.
 */
export class ApiRefused extends Error {
  constructor(readonly status: number, readonly detail: string, readonly errors: { field: string; message: string }[] = []) {
    super(`${status}: ${detail}`);
    this.name = 'ApiRefused';
  }

  /** What the CLI prints: the detail, then one line per invalid field. */
  lines(): string[] {
    return [`error: the API answered ${this.status}: ${this.detail}`, ...this.errors.map((e) => `  ${e.field || '(body)'}: ${e.message}`)];
  }
}

/** The API could not be reached at all (wrong URL, API down). */
export class ApiUnreachable extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot reach the Slipway API at ${url} (${(cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message}); set SLIPWAY_URL or --url`);
    this.name = 'ApiUnreachable';
  }
}

export interface ApiClient {
  url: string;
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export function apiClient(url: string, token: string | undefined, fetchImpl: typeof fetch = fetch): ApiClient {
  const base = url.replace(/\/+$/, '');
  return {
    url: base,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      let response: Response;
      try {
        response = await fetchImpl(`${base}${path}`, {
          method,
          headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (error) {
        throw new ApiUnreachable(base, error);
      }
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        throw new ApiRefused(response.status, `not JSON from ${method} ${path}: ${text.slice(0, 200)}`);
      }
      if (!response.ok) {
        const problem = (parsed ?? {}) as { detail?: string; title?: string; errors?: { field: string; message: string }[] };
        throw new ApiRefused(response.status, problem.detail ?? problem.title ?? response.statusText, problem.errors ?? []);
      }
      return parsed as T;
    },
  };
}
