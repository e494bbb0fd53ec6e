/**
 * The Prometheus text exposition format, labels included (escaped quotes, backslashes and
 * newlines in label values; `+Inf`, `-Inf`, `NaN`; optional timestamps). Histogram and
 * summary series come out as their `_bucket`/`_sum`/`_count` samples.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class ExpositionError extends Error {}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string, line: number): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new ExpositionError(`line ${line}: "${text}" is not a sample value`);
  return value;
}

/** Reads `{a="1",b="x\"y"}` from the start of `text`; returns the labels and what follows. */
function parseLabels(text: string, line: number): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let rest = text.slice(1).trimStart();
  while (!rest.startsWith('}')) {
    const name = LABEL_NAME.exec(rest)?.[0];
    if (!name) throw new ExpositionError(`line ${line}: expected a label name at "${rest.slice(0, 20)}"`);
    rest = rest.slice(name.length).trimStart();
    if (!rest.startsWith('="')) throw new ExpositionError(`line ${line}: expected ="…" after label ${name}`);
    let value = '';
    let i = 2;
    for (; i < rest.length && rest[i] !== '"'; i++) {
      if (rest[i] === '\\') {
        const next = rest[++i];
        value += next === 'n' ? '\n' : next;
      } else value += rest[i];
    }
    if (i >= rest.length) throw new ExpositionError(`line ${line}: unterminated value of label ${name}`);
    labels[name] = value;
    rest = rest.slice(i + 1).trimStart();
    if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
    else if (!rest.startsWith('}')) throw new ExpositionError(`line ${line}: expected , or } after label ${name}`);
  }
  return [labels, rest.slice(1)];
}

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const name = NAME.exec(line)?.[0];
    if (!name) throw new ExpositionError(`line ${index + 1}: expected a metric name`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) [labels, rest] = parseLabels(rest, index + 1);
    const [value] = rest.trim().split(/\s+/);
    samples.push({ name, labels, value: parseValue(value ?? '', index + 1) });
  });
  return samples;
}

/** `app_errors_total` or `http_requests_total{code="500",method="GET"}`: equality matchers only. */
export interface Selector {
  name: string;
  labels: Record<string, string>;
}

export function parseSelector(text: string): Selector {
  const name = NAME.exec(text.trim())?.[0];
  if (!name) throw new ExpositionError(`"${text}" is not a metric selector`);
  const rest = text.trim().slice(name.length);
  if (!rest) return { name, labels: {} };
  if (!rest.startsWith('{')) throw new ExpositionError(`"${text}" is not a metric selector`);
  const [labels, after] = parseLabels(rest, 1);
  if (after.trim()) throw new ExpositionError(`"${text}" has text after its labels`);
  return { name, labels };
}

/** The sum of every series the selector matches, or undefined when none does. */
export function selectSum(samples: Sample[], selector: Selector): number | undefined {
  const matching = samples.filter((s) => s.name === selector.name && Object.entries(selector.labels).every(([k, v]) => s.labels[k] === v));
  return matching.length ? matching.reduce((sum, s) => sum + s.value, 0) : undefined;
}
