import type { HealthCheck } from '../domain/plan.js';
import { readLimited } from './body.js';

/** One probe's outcome, with enough evidence to explain a failure (never a whole body). */
export interface ProbeResult {
  ok: boolean;
  check: string;
  evidence: string;
}

export function describeCheck(check: HealthCheck): string {
  return 'http' in check ? `GET ${check.http.url}` : `command: ${check.command}`;
}

const EXCERPT = 300;
/** The most of a health page a probe reads: `bodyContains` looks in this much. */
export const MAX_HEALTH_BODY = 1024 * 1024;

export async function probeHttp(check: Extract<HealthCheck, { http: unknown }>['http'], timeoutMs: number): Promise<ProbeResult> {
  const name = `GET ${check.url}`;
  try {
    const response = await fetch(check.url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    const { text: body, truncated } = await readLimited(response, MAX_HEALTH_BODY);
    const excerpt = body.length > EXCERPT ? `${body.slice(0, EXCERPT)}…` : body;
    if (truncated && check.bodyContains !== undefined && !body.includes(check.bodyContains)) {
      return { ok: false, check: name, evidence: `answered ${response.status} with a body larger than ${MAX_HEALTH_BODY} bytes, without "${check.bodyContains}" in its first ${MAX_HEALTH_BODY}: ${excerpt}` };
    }
    if (response.status !== check.status) return { ok: false, check: name, evidence: `answered ${response.status}, expected ${check.status}: ${excerpt}` };
    if (check.bodyContains !== undefined && !body.includes(check.bodyContains)) {
      return { ok: false, check: name, evidence: `answered ${response.status} without "${check.bodyContains}" in the body: ${excerpt}` };
    }
    return { ok: true, check: name, evidence: `answered ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return { ok: false, check: name, evidence: `no answer (${cause})` };
  }
}
