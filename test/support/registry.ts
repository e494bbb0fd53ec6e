import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { freePort } from '../../src/sandbox/fleet.js';
import { spawnManaged, stopManaged } from './processes.js';

/**
 * Debian's docker-registry (distribution 2.8) behind a small token server: the Bearer
 * challenge flow GHCR uses. Users: `ci` / `REGISTRY_PASSWORD` may pull and push; anonymous
 * callers may pull repositories under `public/`.
 */
export const REGISTRY_USER = 'ci';
export const REGISTRY_PASSWORD = 'registry-pass-7f3a9c';

export interface TestRegistry {
  host: string;
  tokenRequests: number;
  /** Passwords of REGISTRY_USER the token endpoint accepted, in order (a rotation's new token among them). */
  passwordsUsed: string[];
  /**
   * Another password the token endpoint accepts for REGISTRY_USER (a rotated token); with
   * `repositories`, a token scoped to those alone, as GHCR scopes a fine-grained token.
   */
  acceptPassword(password: string, repositories?: string[]): void;
  /** The next `count` requests to the registry API answer `status` (429 with Retry-After, or a 5xx). */
  failNext(status: number, count: number): void;
  /** The token endpoint refuses this password of REGISTRY_USER from now on (a revoked token). */
  revokePassword(password: string): void;
  /** `METHOD path` of every request the registry API got, in order. */
  requests: string[];
  /** Blob downloads wait this long before they start (a slow link), until set back to 0. */
  delayBlobs(ms: number): void;
  /** Stops answering (connections refused) until the returned function is called. */
  goOffline(): Promise<() => Promise<void>>;
  push(path: string, tag: string, payload?: string): Promise<string>;
  stop(): Promise<void>;
}

export function ensureDockerRegistry(): void {
  if (existsSync('/usr/bin/docker-registry')) return;
  if (process.getuid?.() !== 0) throw new Error('docker-registry is not installed and we are not root to install it');
  execFileSync('apt-get', ['install', '-y', '-qq', 'docker-registry'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const attempt = async (): Promise<void> => {
    try {
      await fetch(url);
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} never answered`);
      await new Promise((r) => setTimeout(r, 100));
      return attempt();
    }
  };
  return attempt();
}

export async function startTestRegistry(): Promise<TestRegistry> {
  ensureDockerRegistry();
  const dir = mkdtempSync(join(tmpdir(), 'slipway-registry-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '2', '-subj', '/CN=slipway-test-token'], { stdio: 'ignore' });
  const key = createPrivateKey(readFileSync(join(dir, 'key.pem')));
  const certDer = new X509Certificate(readFileSync(join(dir, 'cert.pem'))).raw.toString('base64');
  const [registryPort, tokenPort, proxyPort] = [await freePort('127.0.0.1'), await freePort('127.0.0.1'), await freePort('127.0.0.1')];
  // Clients talk to a proxy in front of the registry, where faults are injected.
  const host = `127.0.0.1:${proxyPort}`;
  const faults: number[] = [];
  const requests: string[] = [];
  let blobDelayMs = 0;
  const proxy: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (blobDelayMs && req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) {
      const wait = blobDelayMs;
      req.pause();
      setTimeout(() => { req.resume(); forward(req, res); }, wait);
      return;
    }
    forward(req, res);
  });
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const forced = faults.shift();
    if (forced) {
      res.writeHead(forced, { 'content-type': 'application/json', ...(forced === 429 ? { 'retry-after': '1' } : {}) })
        .end(JSON.stringify({ errors: [{ code: forced === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected fault' }] }));
      return;
    }
    const upstream = request({ host: '127.0.0.1', port: registryPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => { if (!res.headersSent) res.writeHead(502).end(); else res.destroy(); });
    req.pipe(upstream);
  };
  await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r));
  const state = { tokenRequests: 0, passwordsUsed: [] as string[] };
  const passwords = new Set([REGISTRY_PASSWORD]);
  /** Passwords whose tokens reach only these repositories. */
  const scopedTo = new Map<string, string[]>();

  const tokenServer: Server = createServer((req, res) => {
    void (async () => {
      state.tokenRequests++;
      const url = new URL(req.url ?? '/', 'http://x');
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      let subject = '';
      let password = '';
      if (basic) {
        const [user, pass] = Buffer.from(basic[1]!, 'base64').toString().split(':');
        if (user !== REGISTRY_USER || !passwords.has(pass ?? '')) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
          return;
        }
        subject = user;
        state.passwordsUsed.push(pass!);
        password = pass!;
      }
      const access = url.searchParams.getAll('scope').flatMap((scope) => {
        const [type, name, actions] = scope.split(':');
        if (type !== 'repository' || !name) return [];
        const scoped = scopedTo.get(password);
        const allowed = subject && (!scoped || scoped.includes(name)) ? (actions ?? '').split(',') : name.startsWith('public/') ? ['pull'] : [];
        return [{ type, name, actions: allowed.filter((a) => (actions ?? '').split(',').includes(a)) }];
      });
      const token = await new SignJWT({ access })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5c: [certDer] })
        .setIssuer('slipway-test').setSubject(subject).setAudience('test-registry')
        .setIssuedAt().setNotBefore('-10s').setExpirationTime('10m').setJti(String(Math.random()))
        .sign(key);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token }));
    })();
  });
  await new Promise<void>((r) => tokenServer.listen(tokenPort, '127.0.0.1', r));

  writeFileSync(join(dir, 'config.yml'), `version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: ${join(dir, 'data')} } }
http: { addr: 127.0.0.1:${registryPort} }
auth:
  token:
    realm: http://127.0.0.1:${tokenPort}/token
    service: test-registry
    issuer: slipway-test
    rootcertbundle: ${join(dir, 'cert.pem')}
`);
  const registry: ChildProcess = spawnManaged('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  await waitForHttp(`http://127.0.0.1:${registryPort}/v2/`, 15_000);

  async function pushToken(path: string): Promise<string> {
    const auth = Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString('base64');
    const res = await fetch(`http://127.0.0.1:${tokenPort}/token?service=test-registry&scope=repository:${path}:pull,push`, { headers: { authorization: `Basic ${auth}` } });
    return ((await res.json()) as { token: string }).token;
  }

  return {
    host,
    get tokenRequests() { return state.tokenRequests; },
    passwordsUsed: state.passwordsUsed,
    acceptPassword: (password, repositories) => { passwords.add(password); if (repositories) scopedTo.set(password, repositories); },
    revokePassword: (password) => { passwords.delete(password); },
    requests,
    delayBlobs: (ms) => { blobDelayMs = ms; },
    async goOffline() {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
      return () => new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r));
    },
    failNext: (status, count) => { faults.push(...Array<number>(count).fill(status)); },
    async push(path, tag, payload = `${path}:${tag}:${Date.now()}:${Math.random()}`) {
      const headers = { authorization: `Bearer ${await pushToken(path)}` };
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, comment: payload }));
      const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
      const start = await fetch(`http://${host}/v2/${path}/blobs/uploads/`, { method: 'POST', headers });
      if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`);
      const location = new URL(start.headers.get('location')!, `http://${host}`);
      location.searchParams.set('digest', configDigest);
      const put = await fetch(location, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: config });
      if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configDigest }, layers: [],
      }));
      const res = await fetch(`http://${host}/v2/${path}/manifests/${tag}`, {
        method: 'PUT', headers: { ...headers, 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' }, body: manifest,
      });
      if (res.status !== 201) throw new Error(`manifest push: ${res.status} ${await res.text()}`);
      return res.headers.get('docker-content-digest')!;
    },
    async stop() {
      await stopManaged(registry, 200);
      tokenServer.closeAllConnections();
      await new Promise<void>((r) => tokenServer.close(() => r()));
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    },
  };
}
