import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import express, { Router } from 'express';
import type { SlipwayConfig } from '../../config/schema.js';
import { githubDeploymentsLink } from '../../domain/links.js';
import { actionsFor } from '../../domain/operator-actions.js';
import { FINISHED_STATUSES } from '../../domain/run.js';
import type { StepLogStore } from '../../step-logs/store.js';
import { hasScope, requireScope } from '../auth.js';
import { board } from '../board.js';
import { notFound } from '../problem.js';
import type { Runs, RunView } from '../runs.js';
import { streamChanges, Watches } from '../sse.js';

const CONSOLE_DIR = resolve(import.meta.dirname, '..', '..', '..', 'console');
const require = createRequire(import.meta.url);
// Each package's ES module build, next to the entry point its exports name.
const moduleBeside = (entry: string, file: string) => join(dirname(require.resolve(entry)), file);
/** The console's only dependencies, served from node_modules as they are: no build, no CDN. */
const VENDOR: Record<string, string> = {
  'preact.js': moduleBeside('preact', 'preact.module.js'),
  'hooks.js': moduleBeside('preact/hooks', 'hooks.module.js'),
  'htm.js': moduleBeside('htm', 'htm.module.js'),
};
const IMPORT_MAP = JSON.stringify({ imports: { preact: '/ui/vendor/preact.js', 'preact/hooks': '/ui/vendor/hooks.js', htm: '/ui/vendor/htm.js' } });

/**
 * The operator console (docs/console.md) at `/ui`: static files, and no token in them. The
 * page signs in with a bearer token it keeps in the tab's session storage, and reads the API
 * as any client does. The CSP allows only this origin's scripts and the one inline import map.
 */
export function consolePages(): Router {
  const router = Router();
  const importMap = `<script type="importmap">${IMPORT_MAP}</script>`;
  const csp = [
    "default-src 'self'", `script-src 'self' 'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`,
    "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
  ].join('; ');
  const index = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8').replace('<!-- import map -->', importMap);
  router.use((_req, res, next) => {
    res.set({ 'content-security-policy': csp, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
    next();
  });
  router.get('/', (_req, res) => { res.type('html').set('cache-control', 'no-store').send(index); });
  router.get('/vendor/:file', (req, res, next) => {
    const file = VENDOR[req.params.file];
    if (!file) return next();
    res.type('text/javascript').sendFile(file);
  });
  router.use(express.static(CONSOLE_DIR, { index: false }));
  return router;
}

/**
 * What the console reads beyond the run API: who the token is, the board, and event streams
 * (`text/event-stream`) of the board and of one run, which the API fills by watching Temporal.
 */
export function consoleRoutes(config: SlipwayConfig, runs: Runs, stepLogs: StepLogStore): Router {
  const router = Router();
  // Every stream of the board, and every stream of one run, shares one look at Temporal.
  const watches = new Watches();
  const liveRun = async (id: string) => {
    const run = await runs.get(id);
    if (!run) throw notFound(`no deployment ${id}`);
    for (const target of run.targets) if (target.status === 'updating') target.step = stepLogs.runningStep(run.id, target.id);
    return run;
  };
  router.get('/whoami', (req, res) => {
    requireScope(req.principal, 'read');
    res.json({ name: req.principal!.name, scopes: req.principal!.scopes });
  });
  router.get('/board', async (req, res) => {
    requireScope(req.principal, 'read');
    res.json(await board(config, runs));
  });
  router.get('/board/events', (req, res) => {
    requireScope(req.principal, 'read');
    streamChanges(req, res, { event: 'board', follow: (f) => watches.follow('board', 1_000, () => board(config, runs), f), shape: (b) => b });
  });
  router.get('/deployments/:id/events', async (req, res) => {
    requireScope(req.principal, 'read');
    const { id } = req.params;
    if (!await runs.get(id)) throw notFound(`no deployment ${id}`);
    const { principal } = req;
    streamChanges(req, res, {
      event: 'run',
      follow: (f) => watches.follow(`run ${id}`, 500, () => liveRun(id), f),
      // What this caller may press: its own token's scopes.
      shape: (run: RunView) => {
        const repo = config.services[run.service]?.repo;
        return {
          run,
          actions: actionsFor(run, { deploy: hasScope(principal, `deploy:${run.service}/${run.environment}`), admin: hasScope(principal, 'admin') }),
          ...(config.github && repo && run.githubDeploymentId ? { githubUrl: githubDeploymentsLink(config.github.apiUrl, repo) } : {}),
        };
      },
      done: (run) => FINISHED_STATUSES.includes(run.status) && !run.awaitingOperator,
    });
  });
  return router;
}
