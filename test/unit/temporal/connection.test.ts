import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporalSettings } from '../../../src/temporal/connection.js';

describe('Temporal connection settings', () => {
  it('defaults to a local server and the default namespace', () => {
    const settings = temporalSettings({ TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' });
    assert.equal(settings.connectionOptions.address, 'localhost:7233');
    assert.equal(settings.namespace, 'default');
  });

  it('reads the standard environment variables', () => {
    const settings = temporalSettings({ TEMPORAL_ADDRESS: 'prod.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'slipway.acme', TEMPORAL_API_KEY: 'key-123', TEMPORAL_CONFIG_FILE: '/nonexistent' });
    assert.equal(settings.connectionOptions.address, 'prod.tmprl.cloud:7233');
    assert.equal(settings.namespace, 'slipway.acme');
    assert.equal(settings.connectionOptions.apiKey, 'key-123');
  });

  it('reads a temporal.toml profile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-toml-'));
    writeFileSync(join(dir, 'temporal.toml'), '[profile.staging]\naddress = "staging.internal:7233"\nnamespace = "deploys"\n');
    const settings = temporalSettings({ TEMPORAL_CONFIG_FILE: join(dir, 'temporal.toml'), TEMPORAL_PROFILE: 'staging' });
    assert.equal(settings.connectionOptions.address, 'staging.internal:7233');
    assert.equal(settings.namespace, 'deploys');
  });
});
