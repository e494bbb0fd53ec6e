/**
 * The same rolling update on the same fleet of real OpenSSH hosts, three ways (docs/benchmarks.md):
 *
 *   - the physical limit: each batch's host-side work (`docker compose pull && up -d`) run on
 *     all its hosts at once over plain `ssh`, batch after batch;
 *   - Ansible (Debian's ansible-core): `serial: [1, 10]`, pipelining, ControlPersist;
 *   - Slipway: a deploy through the real workflows and activities, canary 1, then batches of
 *     10, no bake, no health checks.
 *
 * Then, in each round, the same rollout behind HAProxy with a load of 8 clients going through it
 * (each host's app answers nothing while `up` replaces it): Ansible with its rolling-update
 * example's `delegate_to` HAProxy disable (drain) and enable (wait), Slipway without `traffic`,
 * and Slipway with it. Its line gives the medians, the failed requests over all rounds, and
 * the time Slipway spent in drain and ready steps (batch after batch), apart:
 *
 *   bench: behind-haproxy fleet=50 rounds=3 limit_s=… ansible_lb_s=… ansible_lb_failed=… slipway_no_traffic_s=… slipway_no_traffic_failed=… slipway_traffic_s=… slipway_traffic_failed=… drain_ready_s=… …
 *
 *   npm run bench:fleet                # 50 hosts, 3 rounds
 *   npm run bench:fleet -- 50 5        # hosts, rounds
 *
 * Then a real-container round (bench/containers.ts): the limit and Slipway on three hosts
 * running the real docker and Compose against one Engine, with the last line's medians:
 *
 *   bench: containers=3 rounds=3 limit_s=… slipway_s=… slipway_ratio=…
 *
 * The hosts' fake `docker` takes as long as the steps measured on real hosts (pull 0.8 s,
 * up 1.5 s; docs/benchmarks.md). Each round runs the three one after the other. The last
 * line gives the medians:
 *
 *   bench: fleet=50 rounds=3 limit_s=14.9 ansible_s=47.9 slipway_s=16.2 ansible_ratio=3.21 slipway_ratio=1.09
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { containerRounds } from './containers.js';
import { Runs } from '../src/api/runs.js';
import { parseConfig } from '../src/config/load.js';
import { buildDeployPlan } from '../src/config/plan.js';
import { planBatches } from '../src/domain/rollout.js';
import type { Run } from '../src/domain/run.js';
import { withNewline } from '../src/sandbox/fleet.js';
import { stepLogStore } from '../src/step-logs/store.js';
import { createWorker } from '../src/worker/create-worker.js';
import { stopAllFixtures } from '../test/support/fixtures.js';
import { startHaproxy, untilAllServing } from '../test/support/haproxy.js';
import { startLoad } from '../test/support/load.js';
import { startOpenSshFleet, type OpenSshFleet } from '../test/support/openssh.js';
import { ensureDebianPackage } from '../test/support/packages.js';
import { testTemporal } from '../test/support/temporal.js';

const run = promisify(execFile);
const [hostCount = 50, rounds = 3] = process.argv.slice(2).map(Number);
const PULL_S = 0.8;
const UP_S = 1.5;
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const ansible = ensureDebianPackage('ansible-core', '/usr/bin/ansible-playbook');
if (!ansible) throw new Error('ansible-core is needed (run as root to install it)');
const names = Array.from({ length: hostCount }, (_, i) => `h-${String(i).padStart(2, '0')}`);
const fleet: OpenSshFleet = await startOpenSshFleet(names, 100);
const work = mkdtempSync(join(tmpdir(), 'slipway-bench-fleet-'));
const keyPath = join(work, 'id_ed25519');
writeFileSync(keyPath, withNewline(fleet.clientKey.private), { mode: 0o600 });
const dirOf = (name: string) => join(fleet.dir, 'hosts', name, 'srv', 'app');
for (const host of fleet.hosts) {
  mkdirSync(dirOf(host.name), { recursive: true });
  writeFileSync(join(dirOf(host.name), '.env'), '');
  writeFileSync(join(host.stateDir, 'delay-pull'), String(PULL_S));
  writeFileSync(join(host.stateDir, 'delay-up'), String(UP_S));
  // The app answers no request while `up` replaces it, as a restarted container.
  writeFileSync(join(host.stateDir, 'down-during-up'), '');
}
// Every host's app behind one HAProxy (its checks as a busy site sets them), and a load through it.
const balancer = await startHaproxy('app', Object.fromEntries(fleet.hosts.map((h) => [h.name, `${h.address}:8000`])), '/health', 'inter 500ms fall 2 rise 1');
if (!balancer) throw new Error('HAProxy is needed (run as root to install it)');
const haproxyModule = ensureDebianPackage('ansible', '/usr/lib/python3/dist-packages/ansible_collections/community/general/plugins/modules/haproxy.py');
if (!haproxyModule) throw new Error('Debian\'s ansible (its community.general collection has the haproxy module) is needed (run as root to install it)');
const batches = planBatches(fleet.hosts, 1, 10);
const hostWork = (name: string) => `cd ${dirOf(name)} && docker compose pull && docker compose up -d`;

/** Each batch's work on all its hosts at once over plain ssh (a new connection each), batch after batch. */
async function physicalLimit(): Promise<number> {
  const started = Date.now();
  for (const batch of batches) {
    await Promise.all(batch.map((host) => run('ssh', [
      '-i', keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${fleet.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
      '-p', String(host.port), `${host.user}@${host.address}`, hostWork(host.name),
    ])));
  }
  return Date.now() - started;
}

// Ansible: the same batches, with what makes it fast (pipelining, ControlPersist, forks).
writeFileSync(join(work, 'ansible.cfg'), `[defaults]
inventory = ${join(work, 'inventory.yml')}
forks = 10
host_key_checking = True
interpreter_python = /usr/bin/python3
stdout_callback = default
[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=120s -o UserKnownHostsFile=${fleet.knownHostsPath} -o IdentitiesOnly=yes
control_path_dir = ${join(work, 'cp')}
`);
writeFileSync(join(work, 'inventory.yml'), `fleet:
  hosts:
${fleet.hosts.map((h) => `    ${h.name}: { ansible_host: ${h.address}, ansible_port: ${h.port}, ansible_user: ${h.user}, ansible_ssh_private_key_file: ${keyPath}, app_dir: ${dirOf(h.name)} }`).join('\n')}
`);
const play = `- hosts: fleet
  gather_facts: false
  serial: [1, 10]
  tasks:
    - name: docker compose pull
      ansible.builtin.command: docker compose pull
      args: { chdir: "{{ app_dir }}" }
    - name: docker compose up -d
      ansible.builtin.command: docker compose up -d
      args: { chdir: "{{ app_dir }}" }
`;
writeFileSync(join(work, 'rollout.yml'), play);

// As Ansible's own rolling-update example (ansible-examples, lamp_haproxy/rolling_update.yml):
// each host disabled in HAProxy first (drained: its sessions end), enabled after, waiting until
// HAProxy sees it up; delegated to the balancer's host (here, this one).
writeFileSync(join(work, 'rollout-lb.yml'), `${play}  pre_tasks:
    - name: disable the server in haproxy
      community.general.haproxy: { state: disabled, drain: true, backend: app, host: "{{ inventory_hostname }}", socket: ${balancer.socket}, wait_interval: 1, wait_retries: 30 }
      delegate_to: localhost
  post_tasks:
    - name: enable the server in haproxy
      community.general.haproxy: { state: enabled, wait: true, backend: app, host: "{{ inventory_hostname }}", socket: ${balancer.socket}, wait_interval: 1, wait_retries: 30 }
      delegate_to: localhost
`);

async function ansibleRollout(playbook = 'rollout.yml'): Promise<number> {
  const started = Date.now();
  await run(ansible!, [join(work, playbook)], { cwd: work, env: { ...process.env, ANSIBLE_CONFIG: join(work, 'ansible.cfg') }, maxBuffer: 64 * 1024 * 1024 });
  return Date.now() - started;
}

/** `rollout` with requests going through HAProxy all along: its time, and the requests that failed. */
async function underLoad(rollout: () => Promise<number>): Promise<{ ms: number; failed: number; sent: number }> {
  await untilAllServing(balancer!, 'app', 60_000);
  const load = startLoad(balancer!.url, { path: '/' });
  try {
    const ms = await rollout();
    const { failed, sent } = await load.stop();
    return { ms, failed, sent };
  } finally {
    await load.stop();
  }
}

// Slipway: the real worker (activities over ssh2), the run enqueued as the API does.
const targets = fleet.hosts.map((h) => `{ name: ${h.name}, address: ${h.address}, port: ${h.port}, user: ${h.user} }`).join(', ');
const configText = `
ssh:
  privateKey: \${file:${keyPath}}
  knownHosts: ${fleet.knownHostsPath}
  commandTimeout: 60s
stepLogs: { dir: ${join(work, 'step-logs')} }
services:
  app:
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/app" }
    environments:
      bench:
        targets: [${targets}]
        rollout: { canary: 1, batchSize: 10, bake: 0s }
      balanced:
        targets: [${targets}]
        rollout: { canary: 1, batchSize: 10, bake: 0s }
        traffic: { haproxy: { runtimeApi: "${balancer.runtimeApi}", backend: app }, drainTimeout: 10s }
`;
const config = parseConfig(configText, { env: {} });
const temporal = await testTemporal();
const taskQueue = `bench-fleet-${Date.now().toString(36)}`;
const worker = await createWorker({ connection: temporal.nativeConnection, namespace: temporal.namespace, config, taskQueue, workflowBundle: temporal.workflowBundle });
const running = worker.run();
const runs = new Runs(temporal.client, { taskQueue, namespace: temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://localhost:8233' });

async function slipwayRollout(round: number, environment: 'bench' | 'balanced' = 'bench'): Promise<number> {
  const service = config.services.app!;
  const plan = buildDeployPlan('app', service, environment, service.environments[environment]!, { sha: `${round}`.repeat(7) });
  const { run: queued } = await runs.enqueue('deploy', plan);
  let finished: Run | undefined;
  while (!finished?.finishedAt) {
    await new Promise((r) => setTimeout(r, 100));
    finished = await runs.get(queued.id);
  }
  if (finished.status !== 'succeeded') throw new Error(`the Slipway run ended ${finished.status}: ${JSON.stringify(finished.error)}`);
  lastRunId = finished.id;
  return Date.parse(finished.finishedAt) - Date.parse(finished.createdAt);
}
let lastRunId = '';

/** The time a run spent in its drain and ready steps, batch after batch (each batch's slowest): part of the work, reported apart. */
function trafficStepsMs(runId: string): number {
  const logs = stepLogStore(config);
  return batches.reduce((sum, batch) => {
    const steps = batch.map((host) => logs.read(runId, host.name).filter((s) => /^(drain|ready) /.test(s.label)));
    const slowest = (kind: string) => Math.max(0, ...steps.map((ss) => ss.filter((s) => s.label.startsWith(kind)).reduce((n, s) => n + (s.durationMs ?? 0), 0)));
    return sum + slowest('drain') + slowest('ready');
  }, 0);
}

try {
  const results = { limit: [] as number[], ansible: [] as number[], slipway: [] as number[] };
  const balanced = { ansible: [] as number[], bare: [] as number[], slipway: [] as number[], trafficSteps: [] as number[] };
  const failed = { ansible: [] as number[], bare: [] as number[], slipway: [] as number[] };
  for (let round = 1; round <= rounds; round++) {
    results.limit.push(await physicalLimit());
    results.ansible.push(await ansibleRollout());
    results.slipway.push(await slipwayRollout(round));
    console.log(JSON.stringify({ round, limitMs: results.limit.at(-1), ansibleMs: results.ansible.at(-1), slipwayMs: results.slipway.at(-1) }));
    // The same rollouts behind HAProxy, under load.
    const ansibleLb = await underLoad(() => ansibleRollout('rollout-lb.yml'));
    const bare = await underLoad(() => slipwayRollout(round + 1_000));
    const slipwayLb = await underLoad(() => slipwayRollout(round + 2_000, 'balanced'));
    balanced.ansible.push(ansibleLb.ms); failed.ansible.push(ansibleLb.failed);
    balanced.bare.push(bare.ms); failed.bare.push(bare.failed);
    balanced.slipway.push(slipwayLb.ms); failed.slipway.push(slipwayLb.failed);
    balanced.trafficSteps.push(trafficStepsMs(lastRunId));
    console.log(JSON.stringify({ round, loaded: true, ansibleLb, slipwayWithoutTraffic: bare, slipwayWithTraffic: slipwayLb, trafficStepsMs: balanced.trafficSteps.at(-1) }));
  }
  const summary = (values: number[]) => `${seconds(Math.min(...values))} / ${seconds(median(values))} / ${seconds(Math.max(...values))} s`;
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  console.log(JSON.stringify({ commit, hosts: hostCount, batches: batches.length, rounds, limit: summary(results.limit), ansible: summary(results.ansible), slipway: summary(results.slipway) }));
  const [limit, ansibleS, slipwayS] = [median(results.limit), median(results.ansible), median(results.slipway)];
  console.log(`bench: fleet=${hostCount} rounds=${rounds} limit_s=${seconds(limit)} ansible_s=${seconds(ansibleS)} slipway_s=${seconds(slipwayS)} ansible_ratio=${(ansibleS / limit).toFixed(2)} slipway_ratio=${(slipwayS / limit).toFixed(2)}`);
  const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const [ansibleLbS, bareS, slipwayLbS, stepsS] = [median(balanced.ansible), median(balanced.bare), median(balanced.slipway), median(balanced.trafficSteps)];
  console.log(`bench: behind-haproxy fleet=${hostCount} rounds=${rounds} limit_s=${seconds(limit)} ansible_lb_s=${seconds(ansibleLbS)} ansible_lb_failed=${total(failed.ansible)} slipway_no_traffic_s=${seconds(bareS)} slipway_no_traffic_failed=${total(failed.bare)} slipway_traffic_s=${seconds(slipwayLbS)} slipway_traffic_failed=${total(failed.slipway)} drain_ready_s=${seconds(stepsS)} slipway_traffic_ratio=${(slipwayLbS / limit).toFixed(2)} slipway_traffic_ratio_without_drain_ready=${((slipwayLbS - stepsS) / limit).toFixed(2)}`);

  // The same rollout on real containers, on the real tier's three hosts (bench/containers.ts).
  const containers = await containerRounds(rounds);
  if (typeof containers === 'string') console.log(`bench: containers skipped: ${containers}`);
  else {
    const [limitC, slipwayC] = [median(containers.limitMs), median(containers.slipwayMs)];
    console.log(`bench: containers=${containers.hosts} rounds=${rounds} limit_s=${seconds(limitC)} slipway_s=${seconds(slipwayC)} slipway_ratio=${(slipwayC / limitC).toFixed(2)}`);
  }
} finally {
  worker.shutdown();
  await running;
  await balancer.stop();
  await fleet.stop();
  await stopAllFixtures();
}
process.exit(0);
