import assert from 'node:assert/strict';
import { Watches } from '../../../src/api/sse.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The console's streams share their looks at Temporal: one poll per thing watched, however many follow it. */
describe('watches behind the event streams', () => {
  it('reads once per interval for every follower, tells a newcomer the last value at once, and stops when the last one leaves', async () => {
    const watches = new Watches();
    let reads = 0;
    const read = async () => ++reads;
    const first: number[] = [];
    const second: number[] = [];
    const stopFirst = watches.follow('board', 50, read, (o) => first.push(o.value!));
    await tick(120);
    const stopSecond = watches.follow('board', 50, read, (o) => second.push(o.value!));
    await tick(10);
    assert.ok(second.length >= 1 && first.includes(second[0]!), 'the newcomer hears the last value without a read of its own');
    await tick(100);
    stopFirst();
    stopSecond();
    const readsWhenLeft = reads;
    assert.equal(readsWhenLeft, first.length, 'one read per interval, each told to the first follower, none made for the second');
    assert.deepEqual(second.slice(1), first.slice(first.length - second.length + 1), 'both heard the same reads');
    await tick(150);
    assert.equal(reads, readsWhenLeft, 'no follower: no more reads');
  });

  it('tells its followers when a read fails, and goes on', async () => {
    const watches = new Watches();
    let n = 0;
    const outcomes: string[] = [];
    const stop = watches.follow('run', 20, async () => { if (++n === 1) throw new Error('Temporal is away'); return n; }, (o) => outcomes.push(o.error ? o.error.message : String(o.value)));
    await tick(70);
    stop();
    assert.equal(outcomes[0], 'Temporal is away');
    assert.equal(outcomes[1], '2');
  });
});
