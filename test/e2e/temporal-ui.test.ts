import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Page } from 'playwright-core';
import { dataConverterFor } from '../../src/codec/data-converter.js';
import { screenshotDir, startBrowserStack, type BrowserStack } from '../support/browser.js';
import type { NpmStart } from '../support/npm-start.js';

const SHOTS = screenshotDir('ui');
// "binary/encrypted", the encoding of an encrypted payload, as the UI shows undecoded metadata.
const ENCRYPTED = Buffer.from('binary/encrypted').toString('base64');

/**
 * The Temporal UI of `npm start`, in Debian's Chromium driven by playwright-core: payloads read
 * as JSON through Slipway's codec server, and an operator's retry goes from the UI's controls.
 */
describe('the Temporal UI in a browser', function () {
  this.timeout(240_000);
  let stack: BrowserStack;
  let slipway: NpmStart;
  let page: Page;

  before(async function () {
    const started = await startBrowserStack();
    if (!started) return this.skip();
    stack = started;
    slipway = stack.slipway;
  });
  beforeEach(async () => { page = await stack.browser.newPage({ viewport: { width: 1400, height: 1000 } }); });
  afterEach(async () => { await page?.close(); });
  after(() => stack?.stop());

  const api = (method: string, path: string, body?: unknown) => stack.api(method, path, body);
  const waitForStatus = (id: string, statuses: string[]) => stack.waitForStatus(id, statuses);
  const codecAnswer = (p: Page) => p.waitForResponse((r) => r.url().endsWith('/codec/decode') && r.request().method() === 'POST');
  const text = (p: Page) => p.locator('body').innerText();

  it("opens a finished run from the API's link and shows its input decoded through /codec/decode, with no token to set", async () => {
    const started = await api('POST', '/v1/deployments', { service: 'demo', environment: 'sandbox', sha: 'c0ffee1' });
    const run = await waitForStatus(started.id, ['succeeded', 'failed', 'rolled_back']);
    assert.equal(run.status, 'succeeded');
    assert.ok(run.links.ui.startsWith(slipway.uiUrl), `${run.links.ui} is on the UI npm start printed (${slipway.uiUrl})`);

    const decoded = codecAnswer(page);
    await page.goto(run.links.ui);
    assert.equal((await decoded).status(), 200, 'the UI asked Slipway\'s codec server, and it answered');
    await page.getByText('"sha": "c0ffee1"').first().waitFor({ timeout: 30_000 });
    const shown = await text(page);
    assert.match(shown, /"service": "demo"/, 'the input, as JSON');
    assert.match(shown, /"status": "succeeded"/, 'the result, as JSON');
    assert.ok(!shown.includes(ENCRYPTED), 'no payload left encrypted');

    // Without a token, only npm start's own UI decodes: another origin gets 401.
    const decode = (origin: string) => fetch(`${slipway.api}/codec/decode`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: '{"payloads":[]}' });
    assert.equal((await decode(slipway.uiUrl)).status, 200);
    assert.equal((await decode('http://evil.example')).status, 401);
    await page.screenshot({ path: join(SHOTS, 'temporal-ui-run.png') });
  });

  it('shows a run whose decode is refused as encrypted payloads, not an error page', async () => {
    // Started with a key Slipway does not have: its codec server refuses to decode it.
    const connection = await Connection.connect({ address: `127.0.0.1:${slipway.temporalPort}` });
    const stranger = new Client({ connection, dataConverter: dataConverterFor({ keys: [{ id: 'elsewhere', key: randomBytes(32).toString('base64') }], corsOrigins: [] }) });
    const workflowId = `sealed-elsewhere-${Date.now()}`;
    await stranger.workflow.start('deploy', { taskQueue: 'nobody-polls-this', workflowId, args: [{ note: 'only the other key opens this' }] });
    await connection.close();

    const refused = codecAnswer(page);
    await page.goto(`${slipway.uiUrl}/namespaces/default/workflows/${workflowId}`);
    assert.equal((await refused).status(), 400);
    await page.getByRole('heading', { name: workflowId }).waitFor({ timeout: 30_000 });
    await page.getByText(ENCRYPTED).first().waitFor({ timeout: 30_000 });
    const shown = await text(page);
    assert.match(shown, /"encryption-key-id": "ZWxzZXdoZXJl"/, 'the encrypted payload, as stored ("elsewhere")');
    assert.ok(!shown.includes('only the other key opens this'));
    assert.ok(!/Uh oh|Something went wrong|Internal Server Error/i.test(shown), 'the page itself works');
  });

  it("retries a failed step from the UI's Send an Update: the run goes on and succeeds", async () => {
    const host = join(slipway.home, 'demo', 'fleet', 'hosts', 'demo-2');
    writeFileSync(join(host, 'fail-restart'), 'demo.service: address already in use\n');
    const started = await api('POST', '/v1/deployments', { service: 'demo', environment: 'sandbox', sha: 'c0ffee2', rollout: { autoRollback: false } });
    const stuck = await waitForStatus(started.id, ['awaiting_operator', 'failed', 'succeeded']);
    assert.equal(stuck.status, 'awaiting_operator');
    rmSync(join(host, 'fail-restart'));

    await page.goto(stuck.links.ui);
    await page.getByRole('button', { name: 'More Actions' }).click({ timeout: 30_000 });
    await page.getByRole('menuitem', { name: 'Send an Update' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Select an Update' }).click();
    // The UI lists the run's updates from the workflow's own metadata.
    await page.getByRole('option', { name: 'retry', exact: true }).click();
    await page.getByRole('option', { name: 'retry', exact: true }).waitFor({ state: 'hidden' });
    await page.screenshot({ path: join(SHOTS, 'temporal-ui-retry.png') });
    await dialog.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('Update successful').waitFor({ timeout: 30_000 });

    const ended = await waitForStatus(started.id, ['succeeded', 'failed', 'rolled_back', 'aborted']);
    assert.equal(ended.status, 'succeeded');
    const served = await (await fetch('http://127.0.0.62:3100/healthz')).json() as { version: string };
    assert.equal(served.version, 'c0ffee2', 'demo-2 runs the release after the retry');
  });
});
