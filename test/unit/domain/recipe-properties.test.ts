import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { quote } from '../../../src/commands/shell.js';
import { fillBody, fillPlaceholders, quotedPlaceholders, urlComponent } from '../../../src/domain/recipe.js';

const RUNS = Number(process.env.SLIPWAY_PROPERTY_RUNS ?? 1_000);

/**
 * A recipe's `{new:X}` and `{old:X}` values in every place a template can put them: a shell
 * command (outside quotes, as the config requires), a URL, an HTTP body. Values are generated,
 * hostile ones among them; a provisioned value is whatever a host printed.
 */
describe('recipe placeholders under generated values (fast-check)', function () {
  this.timeout(300_000);
  const hostile = fc.constantFrom('$(id -un)', '`id`', '; echo pwned', "' ; echo pwned ; '", '" ; echo pwned ; "', '${HOME}', '$IFS', '*', '~', '\\', "'", '"',
    ' ', '\t', '\n', '#', '&', '?', '/', '+', '=', '%', '%2F', '${env:SLIPWAY_DB_PASSWORD}', '{new:A}', 'é', '\u2028');
  const value = fc.array(fc.oneof(hostile, fc.string({ maxLength: 5 })), { maxLength: 5 }).map((parts) => parts.join('').replaceAll('\0', ''));
  const values = fc.record({ new: fc.record({ A: value, B: value }), old: fc.record({ A: value }) });
  const literal = fc.stringMatching(/^[a-z0-9._-]{1,6}$/);
  const placeholder = fc.constantFrom('{new:A}', '{new:B}', '{old:A}');
  /** One shell word of a template: a placeholder, a plain word, or both glued together. */
  const word = fc.oneof(placeholder, literal, fc.tuple(literal, placeholder, literal).map((p) => p.join('')));

  it('puts each value in a shell command as exactly what it is, inside one word, whatever it holds', () => {
    fc.assert(fc.property(fc.array(word, { minLength: 1, maxLength: 5 }), values, (words, v) => {
      const template = `printf '%s\\0' ${words.join(' ')}`;
      assert.deepEqual(quotedPlaceholders(template), [], 'the config accepts it: no placeholder inside quotes');
      const ran = spawnSync('/bin/sh', ['-c', fillPlaceholders(template, v, quote)], { encoding: 'utf8' });
      assert.equal(ran.status, 0, ran.stderr);
      const expected = words.map((w) => fillPlaceholders(w, v));
      assert.deepEqual(ran.stdout.split('\0').slice(0, -1), expected);
    }), { numRuns: RUNS });
  });

  it('finds every placeholder a template puts inside quotes, where a value would not stay one word', () => {
    const quoted = fc.tuple(fc.constantFrom("'", '"'), literal, placeholder, literal).map(([q, a, p, b]) => `${q}${a}${p}${b}${q}`);
    fc.assert(fc.property(fc.array(word, { maxLength: 3 }), quoted, fc.array(word, { maxLength: 3 }), (before, inside, after) => {
      const template = ['revoke', ...before, inside, ...after].join(' ');
      const found = quotedPlaceholders(template).map((p) => `{${p.which}:${p.name}}`);
      assert.ok(found.includes(inside.match(/\{(new|old):[A-Z]\}/)![0]), `${template}: the placeholder inside quotes is found`);
    }), { numRuns: RUNS });
  });

  it('percent-encodes each value in a URL: path and query get back exactly the value, or the call is refused', () => {
    const dots = fc.constantFrom('.', '..');
    fc.assert(fc.property(fc.oneof(values, fc.record({ new: fc.record({ A: dots, B: value }), old: fc.record({ A: value }) })), (v) => {
      const template = 'https://git.example/api/keys/{new:A}?old={old:A}&b={new:B}';
      if ([v.new.A, v.new.B, v.old.A].some((x) => x === '.' || x === '..')) {
        // A parser reads `.` and `..` (encoded too) as "this" and "the parent": another resource.
        assert.throws(() => fillPlaceholders(template, v, urlComponent), /would name another path/);
        return;
      }
      const url = new URL(fillPlaceholders(template, v, urlComponent));
      assert.equal(url.host, 'git.example', 'no value moves the call elsewhere');
      assert.equal(decodeURIComponent(url.pathname.slice('/api/keys/'.length)), v.new.A);
      assert.deepEqual([url.searchParams.get('old'), url.searchParams.get('b')], [v.old.A, v.new.B]);
    }), { numRuns: RUNS * 10 });
  });

  it('puts each value in a JSON body as a string of exactly that value, and never fills what a value holds', () => {
    fc.assert(fc.property(values, (v) => {
      const body = JSON.parse(JSON.stringify(fillBody({ config: { secret: '{new:A}', was: 'prefix-{old:A}' }, list: ['{new:B}'] }, v)));
      assert.deepEqual(body, { config: { secret: v.new.A, was: `prefix-${v.old.A}` }, list: [v.new.B] });
    }), { numRuns: RUNS * 10 });
  });
});
