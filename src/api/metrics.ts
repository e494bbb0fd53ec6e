import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The API's Prometheus metrics (`GET /metrics`). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'slipway_api_' });
  return {
    registry,
    httpRequests: new Histogram({
      name: 'slipway_api_request_duration_seconds',
      help: 'API request durations by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    runsStarted: new Counter({
      name: 'slipway_runs_started_total',
      help: 'Runs started through the API, by kind, service and environment',
      labelNames: ['kind', 'service', 'environment'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
