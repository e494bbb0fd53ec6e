import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { generateEd25519KeyPair } from '../../src/ssh/keygen.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface ComposeService {
  image?: string; build?: string; command?: string[]; entrypoint?: string[];
  environment?: Record<string, string>; depends_on?: Record<string, { condition: string }>; volumes?: string[];
}
const text = readFileSync(join(ROOT, 'docker-compose.temporal.yml'), 'utf8');
const stack = parse(text) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };

/** `source:target[:mode]` of a service: the named volume or host path, and where it appears inside. */
const mounts = (service: ComposeService) => (service.volumes ?? []).map((v) => {
  const [source, target, mode] = v.split(':');
  return { source: source!, target: target!, readOnly: mode === 'ro' };
});
const mountFor = (service: ComposeService, path: string) =>
  mounts(service).filter((m) => path === m.target || path.startsWith(`${m.target}/`)).sort((a, b) => b.target.length - a.target.length)[0];

/**
 * The production-shaped stack (docs/operations.md). No Docker engine runs here: the file is checked
 * against the Compose Specification and against the repository it builds from.
 */
describe('docker-compose.temporal.yml', () => {
  it('is a valid Compose file (the Compose Specification\'s JSON schema)', () => {
    // compose-go v2.16.2's schema/compose-spec.json (Apache-2.0):
    // go mod download github.com/compose-spec/compose-go/v2@v2.16.2
    const schema = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'compose-spec.json'), 'utf8')) as object;
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);
    assert.ok(validate(stack), JSON.stringify(validate.errors, null, 2));
    // And the check can fail: a misspelt key is refused.
    assert.equal(validate({ services: { worker: { image: 'x', volume: [] } } }), false);
  });

  it('runs Temporal as its own Postgres sample does: admin-tools sets up the schema, then temporalio/server', () => {
    assert.deepEqual(Object.keys(stack.services).sort(), ['api', 'postgresql', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker']);
    assert.ok(!text.includes('auto-setup'), 'no deprecated auto-setup image');
    const { temporal, 'temporal-schema': schema, 'temporal-namespace': namespace } = stack.services;
    assert.match(temporal!.image!, /^temporalio\/server:\d/);
    assert.equal(temporal!.environment!.DB, 'postgres12');
    assert.equal(temporal!.depends_on!['temporal-schema']!.condition, 'service_completed_successfully');
    for (const [tool, script] of [[schema!, 'setup-postgres.sh'], [namespace!, 'create-namespace.sh']] as const) {
      assert.match(tool.image!, /^temporalio\/admin-tools:\d/);
      assert.equal(tool.image!.split(':')[1], temporal!.image!.split(':')[1], 'admin-tools of the server\'s release');
      const inContainer = tool.command![0]!;
      const mount = mountFor(tool, inContainer)!;
      const onHost = join(ROOT, mount.source, posix.relative(mount.target, inContainer));
      assert.ok(statSync(onHost).isFile() && onHost.endsWith(script), `${inContainer} is ${script} of the repository`);
    }
    const dynamic = mountFor(temporal!, `/etc/temporal/${temporal!.environment!.DYNAMIC_CONFIG_FILE_PATH}`)!;
    assert.ok(statSync(join(ROOT, dynamic.source, 'slipway.yaml')).isFile(), 'the dynamic config file is in the repository');
    assert.equal(stack.services['temporal-ui']!.environment!.TEMPORAL_CODEC_ENDPOINT, 'http://localhost:3000/codec');
  });

  it('runs the compiled worker and API with node behind tini, and the image builds them', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.deepEqual(JSON.parse(/^ENTRYPOINT (.*)$/m.exec(finalStage)![1]!), ['/usr/bin/tini', '--']);
    assert.match(finalStage, /apt-get install [^\n]*\btini\b/);
    assert.match(finalStage, /RUN npm ci --omit=dev/);
    assert.match(finalStage, /COPY --from=build \/app\/dist \.\/dist/);
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.match(dockerfile, /RUN npm run build/);
    assert.equal(scripts.build, 'tsc -p tsconfig.build.json');
    for (const [name, main] of [['worker', 'dist/main/worker.js'], ['api', 'dist/main/api.js']] as const) {
      const service = stack.services[name]!;
      assert.equal(service.build, '.');
      assert.deepEqual(service.command, ['node', main], `${name} runs compiled JavaScript, not npm or tsx`);
      assert.equal(service.environment!.TEMPORAL_ADDRESS, 'temporal:7233');
    }
  });

  it('keeps the credential store on a named volume, and mounts every path the example config names', () => {
    assert.ok('credentials' in stack.volumes);
    const example = readFileSync(join(ROOT, 'deploy', 'slipway.example.yaml'), 'utf8');
    // The example is a config Slipway accepts, with its files where the mounts put them.
    const secrets = mkdtempSync(join(tmpdir(), 'slipway-secrets-'));
    writeFileSync(join(secrets, 'deploy_ed25519'), generateEd25519KeyPair('test').private);
    const env = { GITHUB_TOKEN: 'x', GHCR_USERNAME: 'x', GHCR_TOKEN: 'x', SLIPWAY_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64') };
    const config = parseConfig(example.replaceAll('/etc/slipway/secrets', secrets), { env });
    assert.equal(config.credentialStore, '/var/lib/slipway/credentials');

    const configPath = /^ENV .*\bSLIPWAY_CONFIG=(\S+)/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))![1]!;
    const named = parse(example) as { ssh: { knownHosts: string }; credentialStore: string };
    const files = [...example.matchAll(/\$\{file:([^}]+)\}/g)].map((m) => m[1]!);
    const paths = [named.ssh.knownHosts, named.credentialStore, ...files];
    assert.ok(files.length > 0);
    for (const name of ['worker', 'api'] as const) {
      const service = stack.services[name]!;
      assert.ok(mountFor(service, configPath), `${name} mounts the config at ${configPath}`);
      for (const path of paths) assert.ok(mountFor(service, path), `${name} mounts ${path}`);
    }
    const store = mountFor(stack.services.worker!, named.credentialStore)!;
    assert.deepEqual([store.source, store.readOnly], ['credentials', false], 'the worker writes the store on the named volume');
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /install -d -m 0700 -o node -g node \/var\/lib\/slipway\/credentials/, 'the image makes the mount point the worker\'s own');
  });
});
