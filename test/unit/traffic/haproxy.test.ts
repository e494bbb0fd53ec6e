import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HaproxyAnswerError, readSetAnswer, readShowStat, serverStat, servingServers, setServerState } from '../../../src/traffic/haproxy.js';

/** `show stat` as HAProxy 2.6 answered it: web-1 up, web-2 drained, web-3 without checks, web-4 in maintenance. */
const SHOW_STAT = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'haproxy', 'show-stat-2.6.csv'), 'utf8');

describe('HAProxy\'s runtime API, as data', () => {
  it('builds drain and ready, and refuses a name that could carry a second command', () => {
    assert.equal(setServerState('shop', 'web-1', 'drain'), 'set server shop/web-1 state drain');
    assert.equal(setServerState('shop', 'web-1.example.com', 'ready'), 'set server shop/web-1.example.com state ready');
    for (const bad of ['web-1; shutdown sessions server shop/web-2', 'web 1', 'web-1\nshow info', '']) {
      assert.throws(() => setServerState('shop', bad, 'drain'), (e: HaproxyAnswerError) => e.kind === 'invalid' && e.message.includes('not one HAProxy allows'));
    }
    assert.throws(() => setServerState('shop/x', 'web-1', 'drain'), /backend name "shop\/x"/);
  });

  it('reads HAProxy\'s answer to set server: nothing is success, its words name what it lacks', () => {
    assert.doesNotThrow(() => readSetAnswer('\n', 'shop', 'web-1'));
    assert.throws(() => readSetAnswer('No such backend.\n\n', 'shp', 'web-1'), (e: HaproxyAnswerError) => e.kind === 'unknown-backend' && /no backend "shp"/.test(e.message));
    assert.throws(() => readSetAnswer('No such server.\n\n', 'shop', 'web-9'), (e: HaproxyAnswerError) => e.kind === 'unknown-server' && /has no server "web-9"/.test(e.message));
    assert.throws(() => readSetAnswer('Permission denied\n', 'shop', 'web-1'), (e: HaproxyAnswerError) => e.kind === 'refused' && /Permission denied/.test(e.message));
  });

  it('reads the servers of show stat: status and open sessions, the frontend and backend rows left out', () => {
    const stats = readShowStat(SHOW_STAT);
    assert.deepEqual(stats.map((s) => [s.backend, s.server, s.status, s.sessions]), [
      ['shop', 'web-1', 'UP', 0], ['shop', 'web-2', 'DRAIN', 0], ['shop', 'web-3', 'no check', 0], ['shop', 'web-4', 'MAINT', 0],
    ]);
    assert.deepEqual(servingServers(stats, 'shop'), ['web-1', 'web-3'], 'drained and maintenance servers take no new request');
    assert.equal(serverStat(stats, 'shop', 'web-2').status, 'DRAIN');
    assert.throws(() => serverStat(stats, 'shop', 'web-9'), /backend "shop" has no server "web-9" \(it has web-1, web-2, web-3, web-4\)/);
    assert.throws(() => serverStat(stats, 'api', 'web-1'), /no backend "api"/);
  });

  it('reads a field HAProxy quoted because it holds a comma (a failing check\'s reason)', () => {
    const [header, ...rows] = SHOW_STAT.split('\n');
    const columns = header!.slice(2).split(',');
    const fields = rows.find((r) => r.startsWith('shop,web-1,'))!.split(',');
    // As HAProxy 2.6 wrote it for a check answered `503 Busy, "really" later`.
    fields[columns.indexOf('last_chk')] = '"Busy, ""really"" later"';
    fields[columns.indexOf('status')] = 'DOWN';
    assert.deepEqual(readShowStat(`${header}\n${fields.join(',')}\n`), [{ backend: 'shop', server: 'web-1', status: 'DOWN', sessions: 0 }]);
  });

  it('refuses an answer that is not show stat\'s CSV, naming what is wrong', () => {
    assert.throws(() => readShowStat('Unknown command. Please enter one of the following commands only :\n'), /did not start with its CSV header/);
    const [header, ...rows] = SHOW_STAT.split('\n');
    const web1 = rows.find((r) => r.startsWith('shop,web-1,'))!;
    assert.throws(() => readShowStat(`${header}\n${web1.split(',').slice(0, 10).join(',')}\n`), /not CSV: .*got 10 on line 2/);
    const columns = header!.slice(2).split(',');
    const broken = web1.split(',');
    broken[columns.indexOf('scur')] = 'many';
    assert.throws(() => readShowStat(`${header}\n${broken.join(',')}\n`), /line 2: scur: expected a count/);
  });
});
