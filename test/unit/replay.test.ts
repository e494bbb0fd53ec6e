import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { sharedFixture } from '../support/fixtures.js';
import { bundleWorkflows } from '../../src/worker/create-worker.js';
import { dataConverterFor } from '../../src/codec/data-converter.js';
import { HISTORY_KEY } from '../support/sealed.js';

/**
 * Histories recorded from real runs (scripts/record-histories.ts) replayed against today's
 * workflow code: a change that would break runs in flight fails here, before it ships.
 */
const DIR = join(import.meta.dirname, '..', 'histories');

describe('workflow replay', function () {
  this.timeout(120_000);

  it('replays every recorded history without nondeterminism', async () => {
    const ids = JSON.parse(readFileSync(join(DIR, 'workflow-ids.json'), 'utf8')) as Record<string, string>;
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json');
    assert.deepEqual(files.map((f) => f.replace(/\.json$/, '')).sort(), Object.keys(ids).sort(), 'every history has its workflow id');
    assert.ok(files.length >= 5, 'histories of every workflow kind are recorded');
    const workflowBundle = await sharedFixture('workflow-bundle', bundleWorkflows, async () => undefined);
    const histories = files.map((file) => ({ workflowId: ids[file.replace(/\.json$/, '')]!, history: JSON.parse(readFileSync(join(DIR, file), 'utf8')) as unknown }));
    const failures: string[] = [];
    const dataConverter = dataConverterFor({ keys: [HISTORY_KEY], corsOrigins: [] });
    for await (const result of Worker.runReplayHistories({ workflowBundle, dataConverter }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
  });
});
