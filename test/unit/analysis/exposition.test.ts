import assert from 'node:assert/strict';
import { parseExposition, parseSelector, selectSum } from '../../../src/analysis/exposition.js';

describe('Prometheus exposition format', () => {
  const text = [
    '# HELP app_errors_total Errors.',
    '# TYPE app_errors_total counter',
    'app_errors_total{code="500",path="/a\\"b\\\\c"} 3',
    'app_errors_total{code="502"} 4 1700000000000',
    'app_errors_total 1',
    '# TYPE latency histogram',
    'latency_bucket{le="0.1",route="/"} 5',
    'latency_bucket{le="+Inf",route="/"} 9',
    'latency_sum{route="/"} 1.5e-1',
    'up NaN',
    'temperature -Inf',
  ].join('\n');

  it('parses samples with escaped labels, timestamps, histograms and special values', () => {
    const samples = parseExposition(text);
    assert.equal(samples.length, 8);
    assert.deepEqual(samples[0], { name: 'app_errors_total', labels: { code: '500', path: '/a"b\\c' }, value: 3 });
    assert.deepEqual(samples[4], { name: 'latency_bucket', labels: { le: '+Inf', route: '/' }, value: 9 });
    assert.equal(samples[5]!.value, 0.15);
    assert.ok(Number.isNaN(samples[6]!.value));
    assert.equal(samples[7]!.value, -Infinity);
  });

  it('sums the series a selector matches', () => {
    const samples = parseExposition(text);
    assert.equal(selectSum(samples, parseSelector('app_errors_total')), 8);
    assert.equal(selectSum(samples, parseSelector('app_errors_total{code="502"}')), 4);
    assert.equal(selectSum(samples, parseSelector('latency_bucket{le="+Inf"}')), 9);
    assert.equal(selectSum(samples, parseSelector('missing_total')), undefined);
  });

  it('names the line of malformed input', () => {
    assert.throws(() => parseExposition('ok 1\nbad{code="500" 1'), /line 2: expected , or \}/);
    assert.throws(() => parseExposition('x one'), /line 1: "one" is not a sample value/);
  });
});
