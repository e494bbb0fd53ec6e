import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ensureDebianPackage } from './packages.js';
import { startNpmStart, type NpmStart } from './npm-start.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Where a browser test puts its screenshots: with UPDATE_SCREENSHOTS=1 the README's, under docs/screenshots/. */
export const screenshotDir = (name: string) => (process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), `slipway-${name}-`)));

export interface RunAnswer { id: string; status: string; links: { ui: string } }

/** `npm start` (the demo) and Debian's Chromium, driven by playwright-core; the API as the demo's admin calls it. */
export interface BrowserStack {
  slipway: NpmStart;
  browser: Browser;
  api(method: string, path: string, body?: unknown): Promise<RunAnswer>;
  waitForStatus(id: string, statuses: string[]): Promise<RunAnswer>;
  stop(): Promise<void>;
}

/** Undefined when Chromium is not installed and cannot be (not root): the test skips. */
export async function startBrowserStack(): Promise<BrowserStack | undefined> {
  const executablePath = ensureDebianPackage('chromium', '/usr/bin/chromium');
  if (!executablePath) return undefined;
  const slipway = await startNpmStart();
  // As root (CI) Chromium's sandbox cannot start.
  const browser = await chromium.launch({ executablePath, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${slipway.api}${path}`, {
      method, headers: { authorization: `Bearer ${slipway.token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    return await response.json() as RunAnswer;
  };
  return {
    slipway, browser, api,
    async waitForStatus(id, statuses) {
      for (let i = 0; i < 900; i++) {
        const run = await api('GET', `/v1/deployments/${id}`);
        if (statuses.includes(run.status)) return run;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`${id} never reached ${statuses.join(' or ')}`);
    },
    async stop() {
      await browser.close();
      await slipway.stop();
    },
  };
}
