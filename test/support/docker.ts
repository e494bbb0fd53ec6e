import { execFile, execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sharedFixture } from './fixtures.js';
import { ensureDebianPackage } from './packages.js';
import { spawnManaged, stopManaged } from './processes.js';

/**
 * The real-container tier's Docker: Debian's Engine (`dockerd`, started here when none runs,
 * on a socket and data root of its own) and the Compose v2 plugin built from the Go module
 * proxy, pinned. The images are the test app's (test/fixtures/testapp), built FROM scratch.
 */
export const COMPOSE_VERSION = 'v5.6.0';
const COMPOSE_MODULE = 'github.com/docker/compose/v5';
/** Where the plugin is built once and kept, as the Temporal CLI is (`~/go/bin`). */
export const COMPOSE_PLUGIN = join(homedir(), '.docker', 'cli-plugins', 'docker-compose');
const TESTAPP_DIR = resolve(import.meta.dirname, '..', 'fixtures', 'testapp');

const DEFAULT_SOCKET = 'unix:///var/run/docker.sock';
const isRoot = () => process.getuid?.() === 0;
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/** Why the real tier cannot run on this machine, or undefined when it can (installing Debian's docker.io as root). */
export function dockerUnavailable(): string | undefined {
  if (!has('go')) return 'the real-container tier builds its test app and the Compose plugin with Go, which is not installed';
  if (!isRoot()) {
    // Without root, the tier can use an Engine that runs already, but neither install nor start one.
    if (has('docker') && engineAnswers(process.env.DOCKER_HOST ?? DEFAULT_SOCKET)) return undefined;
    return 'the real-container tier needs a running Docker Engine, or root to install Debian\'s docker.io and start dockerd';
  }
  if (has('dockerd') && has('docker')) return undefined;
  ensureDebianPackage('docker.io', '/usr/sbin/dockerd');
  return undefined;
}

/**
 * Builds the Compose plugin when it is missing or another version (about 70 s on 2 cores).
 * `go install …@v5.6.0` is refused (its go.mod has `exclude` directives): a throwaway module is not.
 */
export function ensureComposePlugin(log: (line: string) => void = () => undefined): string {
  const version = existsSync(COMPOSE_PLUGIN) ? spawnSync(COMPOSE_PLUGIN, ['version', '--short'], { encoding: 'utf8' }).stdout.trim() : '';
  if (version === COMPOSE_VERSION.slice(1)) return COMPOSE_PLUGIN;
  log(`building the Docker Compose plugin ${COMPOSE_VERSION} from the Go module proxy into ${COMPOSE_PLUGIN} (about a minute)`);
  const dir = mkdtempSync(join(tmpdir(), 'slipway-compose-build-'));
  try {
    const go = (...args: string[]) => execFileSync('go', args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, GOFLAGS: '-mod=mod' } });
    go('mod', 'init', 'slipway.test/compose-build');
    go('get', `${COMPOSE_MODULE}/cmd@${COMPOSE_VERSION}`);
    mkdirSync(join(homedir(), '.docker', 'cli-plugins'), { recursive: true });
    go('build', '-trimpath', '-ldflags', `-s -w -X ${COMPOSE_MODULE}/internal.Version=${COMPOSE_VERSION}`, '-o', COMPOSE_PLUGIN, `${COMPOSE_MODULE}/cmd`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return COMPOSE_PLUGIN;
}

export interface DockerEngine {
  /** `DOCKER_HOST` for the CLI (the hosts' commands get it too). */
  host: string;
  /**
   * Runs the docker CLI against this Engine, with a config dir of the test's own. Never
   * synchronously: the registry and its token server answer from this very process.
   */
  docker(args: string[], options?: { input?: string }): Promise<string>;
  stop(): Promise<void>;
}

function engineAnswers(host: string): boolean {
  return spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { env: { ...process.env, DOCKER_HOST: host }, stdio: 'ignore', timeout: 10_000 }).status === 0;
}

/**
 * The Engine the tier uses: one already answering at DOCKER_HOST (or the default socket), or a
 * `dockerd` started here, as root, with no iptables and no bridge (the containers use the host's
 * network, each app on its own 127.0.0.N), stopped with the run.
 */
export function dockerEngine(): Promise<DockerEngine> {
  return sharedFixture('docker', async () => {
    const configDir = mkdtempSync(join(tmpdir(), 'slipway-docker-config-'));
    const cli = (host: string): DockerEngine['docker'] => (args, options = {}) => new Promise((resolve, reject) => {
      const child = execFile('docker', args, {
        encoding: 'utf8', maxBuffer: 16 << 20,
        env: { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: configDir, DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' },
      }, (error, stdout, stderr) => (error ? reject(new Error(`docker ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout)));
      child.stdin!.end(options.input ?? '');
    });
    const existing = process.env.DOCKER_HOST ?? DEFAULT_SOCKET;
    if (engineAnswers(existing)) return { host: existing, docker: cli(existing), stop: async () => undefined };

    const dir = mkdtempSync(join(tmpdir(), 'slipway-dockerd-'));
    const host = `unix://${join(dir, 'docker.sock')}`;
    let log = '';
    const daemon: ChildProcess = spawnManaged('dockerd', [
      '--iptables=false', '--bridge=none', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'docker.pid'), '--host', host,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout!.on('data', (c: Buffer) => { log = (log + c.toString()).slice(-4000); });
    daemon.stderr!.on('data', (c: Buffer) => { log = (log + c.toString()).slice(-4000); });
    for (let i = 0; !engineAnswers(host); i++) {
      if (i > 150 || daemon.exitCode !== null) throw new Error(`dockerd did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const docker = cli(host);
    return {
      host, docker,
      async stop() {
        const containers = (await docker(['ps', '-aq'])).split('\n').filter(Boolean);
        if (containers.length) await docker(['rm', '-f', '-v', ...containers]);
        await stopManaged(daemon, 20_000);
        // dockerd leaves its network namespace file mounted in its exec root.
        for (const mount of readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' ')[1]).filter((m) => m?.startsWith(dir))) {
          spawnSync('umount', ['-l', mount!], { stdio: 'ignore' });
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }, (engine) => engine.stop());
}

/** One release of the test app: what its image's release.json says. */
export interface AppRelease {
  version: string;
  /** The schema revision its migration moves the volume to. */
  revision: string;
  healthy?: boolean;
  migrationFails?: boolean;
  /** How long it keeps serving after SIGTERM, so replacing its container takes that long. */
  stopDelayMs?: number;
}

/** The test app's static binary, built once per source (CGO off: it runs FROM scratch). */
function testAppBinary(): string {
  const source = readdirSync(TESTAPP_DIR).sort().map((f) => readFileSync(join(TESTAPP_DIR, f), 'utf8')).join('\0');
  const out = join(tmpdir(), `slipway-testapp-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  if (!existsSync(out)) {
    execFileSync('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', `${out}.tmp`, '.'], { cwd: TESTAPP_DIR, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CGO_ENABLED: '0' } });
    execFileSync('mv', [`${out}.tmp`, out]);
  }
  return out;
}

/**
 * Builds a release's image FROM scratch, pushes it with `docker login` and `docker push` to
 * `repository:tag`, and removes it from the Engine again, so that a deploy pulls it for real.
 * Returns its digest.
 */
export async function pushAppImage(engine: DockerEngine, repository: string, tag: string, release: AppRelease, login: { registry: string; username: string; password: string }): Promise<string> {
  const context = mkdtempSync(join(tmpdir(), 'slipway-testapp-image-'));
  try {
    copyFileSync(testAppBinary(), join(context, 'app'));
    writeFileSync(join(context, 'release.json'), JSON.stringify({ healthy: true, ...release }));
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY app /app\nCOPY release.json /release.json\nENTRYPOINT ["/app"]\nCMD ["serve"]\n');
    const reference = `${repository}:${tag}`;
    await engine.docker(['build', '--quiet', '--tag', reference, context]);
    await engine.docker(['login', login.registry, '--username', login.username, '--password-stdin'], { input: login.password });
    const pushed = await engine.docker(['push', reference]);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
    if (!digest) throw new Error(`docker push ${reference} printed no digest:\n${pushed}`);
    await engine.docker(['rmi', reference]);
    return digest;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** The login docker keeps for `registry` under a host's home (`~/.docker/config.json`), real or fake. */
export function registryLoginOf(home: string, registry: string): { username: string; password: string } | undefined {
  const file = join(home, '.docker', 'config.json');
  if (!existsSync(file)) return undefined;
  const auth = (JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string }> }).auths?.[registry]?.auth;
  if (!auth) return undefined;
  const decoded = Buffer.from(auth, 'base64').toString();
  const colon = decoded.indexOf(':');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
