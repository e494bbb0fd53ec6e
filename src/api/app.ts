import express, { type Express } from 'express';
import type { Client } from '@temporalio/client';
import { own, type SlipwayConfig } from '../config/schema.js';
import { authenticate } from './auth.js';
import { createMetrics, type Metrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { HttpProblem, problemHandler, sendProblem } from './problem.js';
import { deploymentRoutes } from './routes/deployments.js';
import { codecFor } from '../codec/data-converter.js';
import { codecRoutes } from './routes/codec.js';
import { consolePages, consoleRoutes } from './routes/console.js';
import { promotionRoutes } from './routes/promotions.js';
import { rollbackRoutes } from './routes/rollbacks.js';
import { rotationRoutes, scheduleRoutes } from './routes/rotations.js';
import { Rotations } from './rotations.js';
import { serviceRoutes } from './routes/services.js';
import { Runs, type RunsOptions } from './runs.js';
import { openCredentialStore } from '../credentials/open.js';
import { GithubClient } from '../github/client.js';
import { RegistryClient } from '../registry/client.js';
import type { DryRunDeps } from './dry-run.js';
import { stepLogStore } from '../step-logs/store.js';

export interface ApiOptions extends RunsOptions {
  config: SlipwayConfig;
  client: Client;
  metrics?: Metrics;
  logError?: (error: unknown) => void;
  /** Origins of a local Temporal UI whose loopback requests may decode without a token (`npm start` only). */
  localUiOrigins?: string[];
}

export function createApi(options: ApiOptions): Express {
  const { config, client } = options;
  const metrics = options.metrics ?? createMetrics();
  const environments = Object.entries(config.services).flatMap(([service, s]) => Object.keys(s.environments).map((environment) => ({ service, environment })));
  const runs = new Runs(client, { ...options, notifications: config.notifications, environments });
  const rotations = new Rotations(client, { ...options, notifications: config.notifications, environments });
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const stop = metrics.httpRequests.startTimer({ method: req.method });
    res.on('finish', () => stop({ route: req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched', status: String(res.statusCode) }));
    next();
  });

  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/readyz', async (_req, res) => {
    try {
      await client.workflowService.getSystemInfo({});
      res.json({ status: 'ready', temporal: 'connected' });
    } catch (error) {
      sendProblem(res, new HttpProblem(503, 'Not ready', `Temporal is not reachable: ${(error as Error).message}`));
    }
  });
  app.get('/metrics', async (_req, res) => { res.type(metrics.registry.contentType).send(await metrics.registry.metrics()); });
  app.get('/openapi.json', (_req, res) => { res.json(openApiDocument()); });

  const v1 = express.Router();
  v1.use(authenticate(config.api.tokens));
  v1.use(express.json({ limit: '64kb', type: () => true }));
  // A dry run reads GitHub and the registry as the worker would, with the same credentials.
  const store = openCredentialStore(config);
  const planning: DryRunDeps = {
    github: config.github ? new GithubClient(config.github) : undefined,
    registry: new RegistryClient(async (host) => ({ ...own(config.registries, host), ...await store?.registryCredential(host) })),
    environment: (service, environment) => runs.environment(service, environment),
  };
  const stepLogs = stepLogStore(config);
  // Before the run routes: /deployments/:id/events is the console's stream of a run.
  v1.use(consoleRoutes(config, runs, stepLogs));
  v1.use('/deployments', deploymentRoutes(config, runs, metrics, planning, stepLogs));
  v1.use('/rollbacks', rollbackRoutes(config, runs, metrics, planning));
  v1.use('/promotions', promotionRoutes(config, runs, metrics, planning));
  v1.use('/services', serviceRoutes(config, runs));
  v1.use('/rotations', rotationRoutes(config, rotations, metrics));
  v1.use('/schedules', scheduleRoutes(rotations));
  app.use('/v1', v1);
  app.use('/ui', consolePages());
  app.use('/codec', codecRoutes(config, config.encryption ? codecFor(config.encryption) : undefined, options.localUiOrigins));

  app.use((req, _res, next) => next(new HttpProblem(404, 'Not found', `no route ${req.method} ${req.path}`)));
  app.use(problemHandler(options.logError ?? ((error) => console.error(error))));
  return app;
}
