import type { ChildProcess } from 'node:child_process';
import { createVerify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort } from '../../src/sandbox/fleet.js';

const sodium = createRequire(import.meta.url)('libsodium-wrappers') as typeof import('libsodium-wrappers');
import { spawnManaged, stopManaged } from './processes.js';

/**
 * GitHub for tests: a stateful fake that remembers commits, checks and deployments, behind
 * Prism (`prism proxy --errors`), which validates every request Slipway sends, and every
 * answer the fake gives, against GitHub's official description (test/fixtures/github).
 * The fake builds its answers from that description's own examples.
 */
export const GITHUB_TOKEN = 'ghp_testtoken0123456789abcdefghijklmnopqr';
const SPEC_PATH = join(import.meta.dirname, '..', 'fixtures', 'github', 'openapi.json');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface FakeCommit {
  checkRuns: { name: string; status: 'queued' | 'in_progress' | 'completed'; conclusion: string | null }[];
  statuses: { context: string; state: 'pending' | 'success' | 'failure' | 'error' }[];
}

export interface FakeDeployment {
  id: number;
  repo: string;
  sha: string;
  environment: string;
  payload: unknown;
  statuses: { state: string; description: string }[];
}

export interface TestGithub {
  /** Prism's address: what Slipway's `github.apiUrl` points at. */
  apiUrl: string;
  commits: Map<string, FakeCommit>;
  deployments: FakeDeployment[];
  /** Requests Prism let through to the fake, as `METHOD path`. */
  requests: string[];
  /** Answers to give instead of the fake's, by `METHOD path` (for 5xx and throttling). */
  override: Map<string, number>;
  /** Requests, by `METHOD path`, that are carried out but answered with this status instead (an answer lost on the way back). */
  loseAnswer: Map<string, number>;
  /** A GitHub App whose JWTs the fake accepts in exchange for an installation token. */
  app: { id: string; publicKey: KeyObject } | undefined;
  /** Actions secrets as the fake decrypted them with the repository's private key, by `repo/NAME`. */
  secrets: Map<string, string>;
  addCommit(sha: string, commit?: Partial<FakeCommit>): void;
  stop(): Promise<void>;
}

function example(spec: Json, ref: string): Json {
  return structuredClone(spec.components.examples[ref.split('/').pop()!].value);
}

async function body(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
}

/** An RS256 JWT signed by the app's key, issued by the app, still valid. */
function validAppJwt(authorization: string, app: { id: string; publicKey: KeyObject }): boolean {
  const match = /^bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(authorization);
  if (!match) return false;
  const verifier = createVerify('RSA-SHA256').update(`${match[1]}.${match[2]}`);
  if (!verifier.verify(app.publicKey, Buffer.from(match[3]!, 'base64url'))) return false;
  const claims = JSON.parse(Buffer.from(match[2]!, 'base64url').toString()) as { iss?: unknown; exp?: number };
  return String(claims.iss) === app.id && (claims.exp ?? 0) * 1000 > Date.now();
}

export async function startTestGithub(): Promise<TestGithub> {
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Json;
  const commits = new Map<string, FakeCommit>();
  const deployments: FakeDeployment[] = [];
  const requests: string[] = [];
  const override = new Map<string, number>();
  const loseAnswer = new Map<string, number>();
  const state: { app: TestGithub['app'] } = { app: undefined };
  const secrets = new Map<string, string>();
  await sodium.ready;
  const repoKeys = sodium.crypto_box_keypair();
  const findCommit = (ref: string) => [...commits.keys()].find((sha) => sha.startsWith(ref));

  const fake: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url!, 'http://fake');
      const key = `${req.method} ${url.pathname}`;
      let m: RegExpExecArray | null;
      requests.push(key);
      const send = (status: number, payload?: unknown) => {
        res.writeHead(status, payload === undefined ? {} : { 'content-type': 'application/json' });
        res.end(payload === undefined ? undefined : JSON.stringify(payload));
      };
      if (/^POST \/app\/installations\/\d+\/access_tokens$/.test(key)) {
        if (!state.app || !validAppJwt(req.headers.authorization ?? '', state.app)) return send(401, { message: 'A JSON web token could not be decoded', documentation_url: 'https://docs.github.com/rest' });
        return send(201, { ...example(spec, 'installation-token'), token: GITHUB_TOKEN, expires_at: new Date(Date.now() + 3_600_000).toISOString() });
      }
      if (req.headers.authorization !== `token ${GITHUB_TOKEN}` && req.headers.authorization !== `Bearer ${GITHUB_TOKEN}`) {
        return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      }
      const forced = override.get(key);
      if (forced) return send(forced, { message: 'Server Error', documentation_url: 'https://docs.github.com/rest' });
      if ((m = /^GET \/repos\/([^/]+\/[^/]+)\/commits\/([^/]+)$/.exec(key))) {
        const sha = findCommit(m[2]!);
        if (!sha) return send(422, { message: `No commit found for SHA: ${m[2]}`, documentation_url: 'https://docs.github.com/rest' });
        return send(200, { ...example(spec, 'commit'), sha });
      }
      if ((m = /^GET \/repos\/([^/]+\/[^/]+)\/commits\/([^/]+)\/check-runs$/.exec(key))) {
        const commit = commits.get(findCommit(m[2]!) ?? '');
        const template = example(spec, 'check-run-paginated').check_runs[0];
        const runs = (commit?.checkRuns ?? []).map((r, i) => ({ ...template, id: i + 1, name: r.name, status: r.status, conclusion: r.conclusion }));
        return send(200, { total_count: runs.length, check_runs: runs });
      }
      if ((m = /^GET \/repos\/([^/]+\/[^/]+)\/commits\/([^/]+)\/status$/.exec(key))) {
        const commit = commits.get(findCommit(m[2]!) ?? '');
        const answer = example(spec, 'combined-commit-status');
        const template = answer.statuses[0];
        const statuses = (commit?.statuses ?? []).map((s, i) => ({ ...template, id: i + 1, context: s.context, state: s.state }));
        const state = statuses.some((s) => s.state !== 'success') ? (statuses.find((s) => s.state !== 'success')!.state) : statuses.length ? 'success' : 'pending';
        return send(200, { ...answer, sha: findCommit(m[2]!) ?? m[2], statuses, total_count: statuses.length, state });
      }
      if ((m = /^GET \/repos\/([^/]+\/[^/]+)\/actions\/secrets\/public-key$/.exec(key))) {
        return send(200, { key_id: '568250167242549743', key: sodium.to_base64(repoKeys.publicKey, sodium.base64_variants.ORIGINAL) });
      }
      if ((m = /^PUT \/repos\/([^/]+\/[^/]+)\/actions\/secrets\/([A-Za-z0-9_]+)$/.exec(key))) {
        const request = await body(req);
        if (request.key_id !== '568250167242549743') return send(422, { message: 'Bad key_id', documentation_url: 'https://docs.github.com/rest' });
        const sealed = sodium.from_base64(request.encrypted_value, sodium.base64_variants.ORIGINAL);
        secrets.set(`${m[1]}/${m[2]}`, sodium.to_string(sodium.crypto_box_seal_open(sealed, repoKeys.publicKey, repoKeys.privateKey)));
        return send(204);
      }
      if ((m = /^POST \/repos\/([^/]+\/[^/]+)\/deployments$/.exec(key))) {
        const request = await body(req);
        const deployment: FakeDeployment = { id: deployments.length + 1, repo: m[1]!, sha: request.ref, environment: request.environment, payload: request.payload ?? {}, statuses: [] };
        deployments.push(deployment);
        const lost = loseAnswer.get(key);
        if (lost) {
          loseAnswer.delete(key);
          return send(lost, { message: 'Server Error', documentation_url: 'https://docs.github.com/rest' });
        }
        return send(201, { ...example(spec, 'deployment-simple-example'), id: deployment.id, sha: request.ref, ref: request.ref, environment: request.environment, payload: deployment.payload });
      }
      if ((m = /^GET \/repos\/([^/]+\/[^/]+)\/deployments$/.exec(key))) {
        const sha = url.searchParams.get('sha');
        const environment = url.searchParams.get('environment');
        const template = example(spec, 'deployment-items')[0];
        const found = deployments.filter((d) => d.repo === m![1] && (!sha || d.sha === sha) && (!environment || d.environment === environment)).reverse();
        return send(200, found.map((d) => ({ ...template, id: d.id, sha: d.sha, ref: d.sha, environment: d.environment, payload: d.payload })));
      }
      if ((m = /^POST \/repos\/([^/]+\/[^/]+)\/deployments\/(\d+)\/statuses$/.exec(key))) {
        const request = await body(req);
        const deployment = deployments.find((d) => d.id === Number(m![2]));
        if (!deployment) return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
        deployment.statuses.push({ state: request.state, description: request.description ?? '' });
        return send(201, { ...example(spec, 'deployment-status'), state: request.state, description: request.description ?? '' });
      }
      send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  const fakePort = await freePort('127.0.0.1');
  await new Promise<void>((r) => fake.listen(fakePort, '127.0.0.1', r));

  const prismPort = await freePort('127.0.0.1');
  const prism: ChildProcess = spawnManaged(join('node_modules', '.bin', 'prism'),
    ['proxy', SPEC_PATH, `http://127.0.0.1:${fakePort}`, '--errors', '-h', '127.0.0.1', '-p', String(prismPort)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prism did not start: ${log}`)), 60_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (/Prism is listening/.test(log)) { clearTimeout(timer); resolve(); }
    };
    prism.stdout!.on('data', onData);
    prism.stderr!.on('data', onData);
    prism.once('exit', (code) => { clearTimeout(timer); reject(new Error(`Prism exited with ${code}: ${log}`)); });
  });
  prism.stdout!.resume();
  prism.stderr!.resume();

  return {
    apiUrl: `http://127.0.0.1:${prismPort}`,
    commits, deployments, requests, override, loseAnswer, secrets,
    get app() { return state.app; },
    set app(value) { state.app = value; },
    addCommit(sha, commit = {}) {
      commits.set(sha, { checkRuns: commit.checkRuns ?? [], statuses: commit.statuses ?? [] });
    },
    async stop() {
      prism.removeAllListeners('exit');
      await stopManaged(prism);
      fake.closeAllConnections();
      await new Promise<void>((r) => fake.close(() => r()));
    },
  };
}
