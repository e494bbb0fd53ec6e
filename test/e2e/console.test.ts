import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { screenshotDir, startBrowserStack, type BrowserStack } from '../support/browser.js';
import { checkAnswer } from '../support/contract.js';
import type { NpmStart } from '../support/npm-start.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SHOTS = screenshotDir('console');
const PHONE = { width: 390, height: 844 };

/**
 * The operator console (`/ui`, docs/console.md) of `npm start`'s demo, in Debian's Chromium
 * driven by playwright-core: sign-in, the board, a run's page updated live, the operator's
 * buttons as the token's scopes and the run's state allow them, and a host's step log.
 */
describe('the operator console in a browser', function () {
  this.timeout(240_000);
  let stack: BrowserStack;
  let slipway: NpmStart;
  let browser: Browser;
  let readToken: string;

  before(async function () {
    const started = await startBrowserStack();
    if (!started) return this.skip();
    stack = started;
    ({ slipway, browser } = stack);
    readToken = readFileSync(join(slipway.home, 'demo', 'read-token'), 'utf8').trim();
  });
  after(() => stack?.stop());

  const api = (method: string, path: string, body?: unknown) => stack.api(method, path, body);
  const waitForStatus = (id: string, statuses: string[]) => stack.waitForStatus(id, statuses);
  async function signedIn(token: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    await page.goto(`${slipway.api}/ui`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /Environments/ }).waitFor();
    return page;
  }

  it('refuses an unknown token, then shows the demo environments on the board; a deploy from the CLI appears and goes to succeeded live, with no reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${slipway.api}/ui`);
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not one this Slipway knows' }).waitFor();
    assert.ok(!page.url().includes('not-a-token'), 'never in the URL');
    await page.getByLabel('API token').fill(slipway.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const sandbox = page.getByRole('region', { name: 'demo / sandbox' });
    await sandbox.waitFor();
    assert.match(await sandbox.innerText(), /Nothing deployed yet/);
    assert.equal(await page.evaluate('document.cookie'), '', 'no cookie');

    const cli = promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'slipway.js'), 'deploy', 'demo', 'sandbox', '--sha', 'c0ffee1', '--reason', 'from the CLI'], {
      cwd: ROOT, env: { ...process.env, SLIPWAY_URL: slipway.api, SLIPWAY_TOKEN: slipway.token }, encoding: 'utf8',
    });
    // The board hears of the run while it goes, then of the release it made current.
    await sandbox.getByRole('link', { name: /deploy c0ffee1/ }).waitFor({ timeout: 60_000 });
    const id = /deploy-demo-sandbox-\S+/.exec((await cli).stdout)?.[0] ?? (await sandbox.getByRole('link', { name: /deploy c0ffee1/ }).getAttribute('href'))!.split('/').pop()!;
    await sandbox.getByText('Deployed', { exact: true }).waitFor({ timeout: 60_000 });
    assert.match(await sandbox.innerText(), /c0ffee1[\s\S]*by demo/);
    await page.screenshot({ path: join(SHOTS, 'console-board.png'), fullPage: true });

    await page.goto(`${slipway.api}/ui#/runs/${id}`);
    await page.getByText('succeeded', { exact: true }).first().waitFor({ timeout: 60_000 });
    await page.getByText('The run has ended: there is nothing to press.').waitFor();
    // The environment's history: the run, who asked for it.
    await page.goto(`${slipway.api}/ui#/environments/demo/sandbox`);
    const history = await page.getByRole('table').innerText();
    assert.match(history, /deploy by demo\s+succeeded\s+c0ffee1/);
    const phone = await signedIn(slipway.token, PHONE);
    await phone.screenshot({ path: join(SHOTS, 'console-board-phone.png'), fullPage: true });
    await phone.close();
    await page.close();
  });

  it('updates a run page live, offers Approve to an admin and shows a read token why it cannot press it', async () => {
    const admin = await signedIn(slipway.token);
    const started = await api('POST', '/v1/deployments', { service: 'demo', environment: 'gated', sha: 'c0ffee2' });
    await admin.goto(`${slipway.api}/ui#/runs/${started.id}`);
    await admin.evaluate('window.notReloaded = true');
    const approve = admin.getByRole('button', { name: 'Approve' });
    // Enabled once the canary is baked and the run waits: the page heard it from the stream.
    await approve.waitFor();
    for (let i = 0; !(await approve.isEnabled()); i++) {
      if (i > 600) assert.fail('Approve never became enabled');
      await new Promise((r) => setTimeout(r, 100));
    }

    const reader = await signedIn(readToken);
    await reader.goto(`${slipway.api}/ui#/runs/${started.id}`);
    const refused = reader.getByRole('button', { name: 'Approve' });
    await refused.waitFor();
    assert.equal(await refused.isDisabled(), true);
    assert.equal(await reader.locator(`#${await refused.getAttribute('aria-describedby')}`).innerText(), 'your token has no deploy:demo/gated scope');
    assert.equal(await reader.getByRole('button', { name: 'Abort' }).isDisabled(), true);
    await reader.screenshot({ path: join(SHOTS, 'console-run-read-only.png'), fullPage: true });
    await reader.close();

    await admin.screenshot({ path: join(SHOTS, 'console-run.png'), fullPage: true });
    await approve.click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await admin.getByText(/^Approve: the run is/).waitFor();
    await admin.locator('p[aria-live] .badge').filter({ hasText: 'succeeded' }).waitFor({ timeout: 60_000 });
    assert.equal(await admin.evaluate('window.notReloaded'), true, 'updated live, not reloaded');
    assert.equal((await api('GET', `/v1/deployments/${started.id}`)).status, 'succeeded');
    const phone = await browser.newPage({ viewport: PHONE });
    await phone.goto(`${slipway.api}/ui`);
    await phone.getByLabel('API token').fill(slipway.token);
    await phone.getByRole('button', { name: 'Sign in' }).click();
    await phone.goto(`${slipway.api}/ui#/runs/${started.id}`);
    await phone.getByRole('heading', { name: 'Targets' }).waitFor();
    await phone.screenshot({ path: join(SHOTS, 'console-run-phone.png'), fullPage: true });
    await phone.close();
    await admin.close();
  });

  it('opens the step log of a host that failed, with its output', async () => {
    const host = join(slipway.home, 'demo', 'fleet', 'hosts', 'demo-1');
    writeFileSync(join(host, 'fail-restart'), 'demo.service: address already in use\n');
    try {
      const started = await api('POST', '/v1/deployments', { service: 'demo', environment: 'sandbox', sha: 'c0ffee3' });
      const ended = await waitForStatus(started.id, ['failed', 'rolled_back']);
      const page = await signedIn(slipway.token);
      await page.goto(`${slipway.api}/ui#/runs/${ended.id}`);
      await page.getByRole('alert').waitFor();
      await page.getByRole('button', { name: 'Show step log of demo-1' }).click();
      const log = page.getByRole('region', { name: 'Step log of demo-1' });
      await log.getByRole('table').waitFor();
      const text = await log.innerText();
      // The failed step, its output and exit code.
      assert.match(text, /systemctl restart demo\.service\ndemo\.service: address already in use\n\tfailed\t[\d.]+ s\t1\n/);
      await page.close();
    } finally {
      rmSync(join(host, 'fail-restart'), { force: true });
    }
  });

  it('streams the board and a run as server-sent events, as its OpenAPI document says', async () => {
    const controller = new AbortController();
    const response = await fetch(`${slipway.api}/v1/board/events`, { headers: { authorization: `Bearer ${readToken}` }, signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('\n\n')) text += (await reader.read()).value ?? '';
    controller.abort();
    checkAnswer({ method: 'GET', path: '/v1/board/events', status: response.status, contentType: response.headers.get('content-type'), body: text });
    const [event, data] = text.split('\n');
    assert.equal(event, 'event: board');
    const board = JSON.parse(data!.slice('data: '.length)) as { environments: { service: string; environment: string }[] };
    checkAnswer({ method: 'GET', path: '/v1/board', status: 200, contentType: 'application/json', body: board });
    assert.deepEqual(board.environments.map((e) => `${e.service}/${e.environment}`), ['demo/sandbox', 'demo/gated']);
    const unauthenticated = await fetch(`${slipway.api}/v1/board/events`);
    assert.equal(unauthenticated.status, 401);
  });
});
