import { z } from 'zod';
import { readLimited } from '../health/body.js';
import { parseExposition, parseSelector, selectSum } from './exposition.js';

/**
 * Metric gates evaluated through the bake (`analysis` in docs/configuration.md): a `scrape` of a Prometheus
 * text endpoint on the canary, or a PromQL query against a Prometheus server.
 */
export interface AnalysisGate {
  name: string;
  scrape?: { url: string; metric: string; rate?: boolean | undefined } | undefined;
  prometheus?: { url: string; query: string } | undefined;
  expect?: 'increase' | 'no-increase' | undefined;
  max?: number | undefined;
  min?: number | undefined;
}

export interface GateVerdict {
  ok: boolean;
  gate: string;
  evidence: string;
}

/** What a scrape gate saw at the start of the bake, to compare against. */
export interface Baseline {
  value: number;
  atMs: number;
}

const TIMEOUT_MS = 10_000;

function within(value: number, gate: AnalysisGate): string | undefined {
  if (Number.isNaN(value)) return 'is NaN';
  if (gate.max !== undefined && value > gate.max) return `${value} is above the maximum ${gate.max}`;
  if (gate.min !== undefined && value < gate.min) return `${value} is below the minimum ${gate.min}`;
  return undefined;
}

/** The most of a metrics page a scrape reads. */
export const MAX_SCRAPE_BODY = 16 * 1024 * 1024;

export async function scrapeValue(url: string, metric: string): Promise<number> {
  // Not redirected, as health checks are not: the canary's own endpoint answers, or the gate fails.
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  const { text, truncated } = await readLimited(response, MAX_SCRAPE_BODY);
  if (truncated) throw new Error(`GET ${url} answered more than ${MAX_SCRAPE_BODY} bytes of metrics`);
  const value = selectSum(parseExposition(text), parseSelector(metric));
  if (value === undefined) throw new Error(`${url} has no series ${metric}`);
  return value;
}

const promAnswer = z.object({
  status: z.literal('success'),
  data: z.discriminatedUnion('resultType', [
    z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })) }),
    z.object({ resultType: z.literal('scalar'), result: z.tuple([z.number(), z.string()]) }),
  ]),
});

export async function queryPrometheus(baseUrl: string, query: string): Promise<{ labels: Record<string, string>; value: number }[]> {
  const url = new URL('/api/v1/query', baseUrl);
  url.searchParams.set('query', query);
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = await response.json().catch(() => undefined) as { error?: string } | undefined;
  if (!response.ok) throw new Error(`Prometheus answered ${response.status}${body?.error ? `: ${body.error}` : ''}`);
  const parsed = promAnswer.safeParse(body);
  if (!parsed.success) throw new Error('Prometheus gave an answer that is neither a vector nor a scalar');
  const { data } = parsed.data;
  if (data.resultType === 'scalar') return [{ labels: {}, value: Number(data.result[1]) }];
  return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
}

export async function takeBaseline(gate: AnalysisGate, nowMs: number): Promise<Baseline | undefined> {
  if (!gate.scrape) return undefined;
  return { value: await scrapeValue(gate.scrape.url, gate.scrape.metric), atMs: nowMs };
}

export async function evaluateGate(gate: AnalysisGate, baseline: Baseline | undefined, nowMs: number): Promise<GateVerdict> {
  const verdict = (problem: string | undefined, seen: string): GateVerdict => ({ ok: !problem, gate: gate.name, evidence: problem ? `${problem} (${seen})` : seen });
  try {
    if (gate.scrape) {
      const { url, metric } = gate.scrape;
      const value = await scrapeValue(url, metric);
      const seen = `${metric} at ${url} is ${value}${baseline ? `, was ${baseline.value}` : ''}`;
      if (gate.expect === 'no-increase' && baseline && value > baseline.value) return verdict(`${metric} increased by ${value - baseline.value}`, seen);
      if (gate.expect === 'increase' && baseline && value <= baseline.value) return verdict(`${metric} did not increase`, seen);
      if (gate.scrape.rate && baseline) {
        const seconds = Math.max(1, (nowMs - baseline.atMs) / 1000);
        const rate = (value - baseline.value) / seconds;
        return verdict(within(rate, gate), `${seen}; ${rate.toFixed(4)}/s over ${Math.round(seconds)} s`);
      }
      return verdict(within(value, gate), seen);
    }
    const { url, query } = gate.prometheus!;
    const results = await queryPrometheus(url, query);
    if (!results.length) return verdict(gate.min !== undefined ? 'the query returned no data' : undefined, `${query}: no data`);
    const problems = results.map((r) => within(r.value, gate)).filter(Boolean);
    return verdict(problems[0], `${query} = ${results.map((r) => r.value).join(', ')}`);
  } catch (error) {
    return { ok: false, gate: gate.name, evidence: (error as Error).message };
  }
}
