import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { sharedFixture } from '../../support/fixtures.js';
import { bundleWorkflows } from '../../../src/worker/create-worker.js';
import { dataConverterFor } from '../../../src/codec/data-converter.js';
import { HISTORY_KEY } from '../../support/sealed.js';

/**
 * Histories recorded from real runs (`npm run record-histories`) replayed against today's
 * workflow code: a change that would break runs in flight fails here, before it ships. Each
 * file is named after the version that recorded it (`0.1.0-deploy-succeeded.json`).
 */
const DIR = join(import.meta.dirname, '..', '..', 'histories');

interface RecordedHistory {
  events: Array<{ workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }>;
}

function histories(files: string[]): Array<{ workflowId: string; history: RecordedHistory }> {
  const ids = JSON.parse(readFileSync(join(DIR, 'workflow-ids.json'), 'utf8')) as Record<string, string>;
  return files.map((file) => ({ workflowId: ids[file.replace(/\.json$/, '')]!, history: JSON.parse(readFileSync(join(DIR, file), 'utf8')) as RecordedHistory }));
}

describe('workflow replay', function () {
  this.timeout(120_000);

  it('replays every recorded history without nondeterminism', async () => {
    const ids = JSON.parse(readFileSync(join(DIR, 'workflow-ids.json'), 'utf8')) as Record<string, string>;
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json');
    assert.deepEqual(files.map((f) => f.replace(/\.json$/, '')).sort(), Object.keys(ids).sort(), 'every history has its workflow id');
    assert.deepEqual(files.filter((f) => !/^\d+\.\d+\.\d+-[a-z0-9-]+\.json$/.test(f)), [], 'every history is named <version>-<what>.json');
    const kinds = new Set(histories(files).map(({ history }) => history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name));
    for (const kind of ['deploy', 'environment', 'rotation', 'notifier']) assert.ok(kinds.has(kind), `a history of ${kind} is recorded`);
    const workflowBundle = await sharedFixture('workflow-bundle', bundleWorkflows, async () => undefined);
    const failures: string[] = [];
    const dataConverter = dataConverterFor({ keys: [HISTORY_KEY], corsOrigins: [] });
    for await (const result of Worker.runReplayHistories({ workflowBundle, dataConverter }, histories(files))) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
  });
});
