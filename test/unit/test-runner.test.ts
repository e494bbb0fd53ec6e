import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * `npm test` on a fresh machine: the Temporal CLI is not there yet, and `go install` builds it
 * in minutes. The runner must do that before any test starts, or the first end-to-end suite's
 * hook times out. A stand-in `go` (slow, like the real one) shows the order of things.
 */
describe('the test command on a machine without the Temporal CLI', function () {
  this.timeout(60_000);

  it('installs the CLI with go install before the first test starts, and says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-runner-'));
    const fakeBin = join(dir, 'bin');
    const gobin = join(dir, 'gobin');
    mkdirSync(fakeBin);
    mkdirSync(gobin);
    writeFileSync(join(fakeBin, 'go'), `#!/bin/sh
case "$1" in
  env) [ "$2" = GOBIN ] && echo "${gobin}" || echo "${dir}/gopath" ;;
  install) sleep 1; echo "go install $2" >&2; printf '#!/bin/sh\\necho fake temporal\\n' > "${gobin}/temporal"; chmod +x "${gobin}/temporal" ;;
esac
`);
    chmodSync(join(fakeBin, 'go'), 0o755);
    // An end-to-end suite of one test.
    mkdirSync(join(dir, 'e2e'));
    writeFileSync(join(dir, 'e2e', 'probe.test.ts'), `describe('probe', () => { it('runs', () => undefined); });\n`);
    const path = [fakeBin, ...(process.env.PATH ?? '').split(delimiter).filter((d) => d && !existsSync(join(d, 'temporal')) && !existsSync(join(d, 'go')))].join(delimiter);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: path };
    delete env.SLIPWAY_TEMPORAL_CLI;
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'test/run.ts', join(dir, 'e2e')], { env, encoding: 'utf8', timeout: 50_000 });
    const output = `${result.stdout}${result.stderr}`;

    assert.equal(result.status, 0, output);
    assert.ok(existsSync(join(gobin, 'temporal')), `the CLI was installed:\n${output}`);
    const announced = result.stdout.indexOf('installing the Temporal CLI');
    assert.ok(announced >= 0, `the runner says what it is doing:\n${output}`);
    assert.ok(announced < result.stdout.indexOf('probe'), `the install came before the tests:\n${output}`);
    assert.match(result.stdout, /^1 passed, 0 failed$/m);
  });
});
