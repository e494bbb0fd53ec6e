import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');

/** The production-shaped stack of SPEC §1. No Docker engine runs here: this checks that it fits the repository. */
describe('docker-compose.temporal.yml', () => {
  const stack = parse(readFileSync(join(ROOT, 'docker-compose.temporal.yml'), 'utf8')) as {
    services: Record<string, { image?: string; build?: string; command?: string[]; environment?: Record<string, string>; depends_on?: unknown }>;
  };
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

  it('runs Temporal on PostgreSQL, the UI with Slipway as its codec server, and the worker and API from the Dockerfile', () => {
    assert.deepEqual(Object.keys(stack.services).sort(), ['api', 'postgresql', 'temporal', 'temporal-ui', 'worker']);
    assert.equal(stack.services.temporal!.environment!.DB, 'postgres12');
    assert.equal(stack.services['temporal-ui']!.environment!.TEMPORAL_CODEC_ENDPOINT, 'http://localhost:3000/codec');
    for (const [name, script] of [['worker', 'worker'], ['api', 'api']] as const) {
      const service = stack.services[name]!;
      assert.equal(service.build, '.');
      assert.deepEqual(service.command, ['npm', 'run', script]);
      assert.ok(scripts[script], `package.json has the ${script} script`);
      assert.equal(service.environment!.TEMPORAL_ADDRESS, 'temporal:7233');
    }
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /RUN npm ci --omit=dev/);
    assert.match(dockerfile, /COPY src \.\/src/);
  });
});
