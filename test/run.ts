/**
 * The test command: runs every mocha suite under test/ and closes with the line CI reads,
 * `N passed, N failed`. Suites that need system services start them through test/support.
 */
import Mocha from 'mocha';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { dockerUnavailable, ensureComposePlugin } from './support/docker.js';
import { stopAllFixtures } from './support/fixtures.js';

/** Test files under the given files or folders (default: unit, integration, e2e, then the real-container tier). */
function testFiles(path: string): string[] {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path).sort().flatMap((entry) => testFiles(join(path, entry)));
}
// `npm test -- [paths…] [--grep pattern]`: a subset while working on one part.
const args = process.argv.slice(2);
const grepAt = args.indexOf('--grep');
const grep = grepAt >= 0 ? args.splice(grepAt, 2)[1] : undefined;
const files = (args.length ? args : ['test/unit', 'test/integration', 'test/e2e', 'test/real']).flatMap(testFiles);

// The end-to-end suites run on the Temporal CLI's dev server. On a fresh machine `go install`
// builds it, which takes minutes: done here, before any test's timer starts.
const tiers = new Set(files.flatMap((file) => file.split(/[\\/]/)));
if (tiers.has('e2e') || tiers.has('real')) {
  const cli = ensureTemporalCli((line) => console.log(`${line}\n(before the tests start, so that no test times out waiting for it)`));
  console.log(`Temporal CLI: ${cli}`);
}
// The real-container tier builds the Compose plugin from the Go module proxy once (about a
// minute), before its timers start too; without Docker or root it says why it skips.
if (tiers.has('real') && !dockerUnavailable()) console.log(`Docker Compose plugin: ${ensureComposePlugin((line) => console.log(line))}`);
const mocha = new Mocha({ timeout: 120_000, reporter: 'spec', color: process.stdout.isTTY, ...(grep ? { grep } : {}) });
for (const file of files) mocha.addFile(file);

await mocha.loadFilesAsync();
const runner = mocha.run();
const counts = { passed: 0, failed: 0 };
runner.on('pass', () => counts.passed++);
runner.on('fail', () => counts.failed++);
runner.on('end', () => {
  void stopAllFixtures().finally(() => {
    console.log(`\n${counts.passed} passed, ${counts.failed} failed`);
    process.exit(counts.failed ? 1 : 0);
  });
});
