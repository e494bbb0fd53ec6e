import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { readEnvValues, rewriteEnvFile } from '../../../src/commands/envfile.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const RUNS = Number(process.env.SLIPWAY_PROPERTY_RUNS ?? 2_000);

/** Env files under generated input (fast-check): what Slipway writes it reads back, and any host's file is read in linear time. */
describe('env files under generated input (fast-check)', function () {
  this.timeout(120_000);
  const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/);
  /** Anything a value can be in an env file (no line break, no NUL), quotes, blanks and backslashes likely. */
  const value = fc.array(fc.oneof(fc.constantFrom("'", '"', '\\', '$', '`', ' ', '\t', '=', '#', 'export ', '\\"', "'\\''"), fc.string({ maxLength: 4 })), { maxLength: 8 })
    .map((parts) => parts.join('').replace(/[\r\n\0]/g, ''));
  /** Lines an operator may have in the file already: comments, blanks, other assignments. */
  const otherLine = fc.oneof(fc.constant(''), fc.constant('# a comment'), fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, '')));

  it('reads back every value it writes, and leaves every other line as it was', () => {
    fc.assert(fc.property(fc.array(otherLine, { maxLength: 5 }), fc.dictionary(name, value, { minKeys: 1, maxKeys: 4 }), (lines, updates) => {
      // Other lines that assign a key being written are the ones that change: keep them out.
      const kept = lines.filter((l) => !Object.keys(updates).some((k) => new RegExp(`^\\s*(export\\s+)?${k}\\s*=`).test(l)));
      const before = kept.length ? `${kept.join('\n')}\n` : '';
      const after = rewriteEnvFile(before, updates);
      const read = readEnvValues(after);
      for (const [key, v] of Object.entries(updates)) assert.equal(read[key], v, `${key} read back as written`);
      assert.deepEqual(after.split('\n').slice(0, kept.length), kept, 'the lines before are untouched');
      assert.equal(rewriteEnvFile(after, updates), after, 'writing the same again changes nothing');
    }), { numRuns: RUNS });
  });

  it('reads files of generated shapes a megabyte long in time linear in their size', () => {
    // Each shape is one unit repeated to a megabyte: any backtracking match would take hours on
    // one of them, so they are read in a process of their own, killed after 20 s.
    const units = fc.sample(fc.array(fc.constantFrom(' ', '\t', "'", '"', '=', 'a', '\\', '#', 'A=', 'export '), { minLength: 1, maxLength: 4 }).map((p) => p.join('')), { numRuns: 40, seed: 42 });
    const script = `
      import { readEnvValues } from ${JSON.stringify(join(ROOT, 'src', 'commands', 'envfile.ts'))};
      const units = ${JSON.stringify(units)};
      const started = process.hrtime.bigint();
      for (const unit of units) {
        const body = unit.repeat(Math.ceil(256 * 1024 / unit.length));
        readEnvValues('A=' + body + 'b\\n' + body + '\\nexport B=' + body + '\\n' + 'C="' + body + '\\n');
      }
      process.stdout.write(String(Number(process.hrtime.bigint() - started) / 1e6));`;
    const read = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(read.signal, null, `${units.length} files of a megabyte read within 20 s`);
    assert.equal(read.status, 0, read.stderr);
  });
});
