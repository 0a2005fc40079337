// Exposition fuzzing: random metric shapes, names, help texts, unicode label values
// and values, generated from a seed. Each batch's 0.0.4 body must pass promtool, both
// bodies must parse with prometheus_client's parsers (the OpenMetrics one is strict),
// and parsing must give back exactly the recorded label values and numbers.
//   FUZZ_SEED=<n> FUZZ_BATCHES=<n> node --test __test__/fuzz-exposition.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry, counterSchema, gaugeSchema, gaugeSchemaFloat, histogramSchema, summarySchema } from 'slotmetrics';
import { parseOpenMetricsStrict, parseTextFormat, promtoolCheck } from './helpers.mjs';

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const BATCHES = Number(process.env.FUZZ_BATCHES ?? 8);
const METRICS_PER_BATCH = 30;

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
function generator(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (items) => items[int(items.length)];
  return { next, int, pick };
}

// Characters that stress escaping and encoding: quotes, backslashes, newlines, other
// whitespace, non-ASCII letters, astral emoji, joiners, line separators, NUL, lone
// surrogates (sent on as U+FFFD).
const ALPHABET = [
  ...'abcXYZ019 _-:/.,={}#',
  '"',
  '\\',
  '\n',
  '\r',
  '\t',
  '\\n',
  '\\"',
  'é',
  'ß',
  'ж',
  '漢',
  '😀',
  '👩‍💻',
  '\u200d',
  '\u2028',
  '\u0000',
  '\u00a0',
  '\ud800',
  '\udfff',
];
const NAME_START = 'abcdefghijklmnopqrstuvwxyz_';
const NAME_REST = `${NAME_START}0123456789`;

function randomText(r, max) {
  let text = '';
  for (let i = r.int(max + 1); i > 0; i--) text += r.pick(ALPHABET);
  return text;
}

function randomLabelNames(r, count, taken) {
  const names = [];
  while (names.length < count) {
    let name = r.pick([...'abcdefghijklmnopqrstuvwxyz']);
    for (let i = r.int(6); i > 0; i--) name += r.pick([...NAME_REST]);
    if (name !== 'le' && !taken.has(name) && !names.includes(name)) names.push(name);
  }
  return names;
}

function randomFloat(r) {
  return r.pick([
    () => r.int(1000),
    () => r.next() * 1000,
    () => r.next() * 1e-300,
    () => r.next() * 1e300,
    () => 0.1 * r.int(10),
    () => Number.MIN_VALUE,
    () => 2 ** 53 + 2,
  ])();
}

const sameNumber = (a, b) => a === b || (Number.isNaN(a) && Number.isNaN(b));

/** Builds one random metric in `registry`, records random values, returns its expected samples. */
function randomMetric(r, registry, index, defaultLabels) {
  const type = r.pick(['counter', 'gauge', 'gaugeFloat', 'histogram', 'summary']);
  let name = `fz${index}_`;
  for (let i = r.int(8); i > 0; i--) name += r.pick([...`${NAME_REST}:`]);
  const help = r.next() < 0.2 ? '' : randomText(r, 30);
  const taken = new Set(Object.keys(defaultLabels));
  const staticNames = randomLabelNames(r, r.int(3), taken);
  for (const name of staticNames) taken.add(name);
  const keys = randomLabelNames(r, r.int(4), taken);
  const builder = { counter: counterSchema, gauge: gaugeSchema, gaugeFloat: gaugeSchemaFloat, histogram: histogramSchema, summary: summarySchema }[
    type
  ];
  let schema = builder(name);
  if (help !== '') schema = schema.help(help);
  const statics = Object.fromEntries(staticNames.map((n) => [n, randomText(r, 12)]));
  schema = schema.staticLabels(statics);
  let bounds = [];
  if (type === 'histogram') {
    const set = new Set(Array.from({ length: 1 + r.int(6) }, () => (r.next() - 0.3) * 10 ** r.int(4)));
    bounds = [...set].sort((a, b) => a - b);
    schema = schema.buckets(bounds);
  }
  let quantiles = [];
  if (type === 'summary') {
    quantiles = [...new Set(Array.from({ length: r.int(5) }, () => r.pick([0, 0.5, 0.9, 0.99, 1, r.next()])))];
    schema = schema.percentiles(quantiles);
  }
  for (const key of keys) schema = schema.requireDynamicKey(key);
  const metric = schema.build({ registry });

  // Several label sets per metric (one if it has no dynamic keys).
  const expected = [];
  const seen = new Set();
  for (let s = keys.length === 0 ? 1 : 1 + r.int(4); s > 0; s--) {
    const labels = Object.fromEntries(keys.map((k) => [k, randomText(r, 16)]));
    const wellFormed = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, v.toWellFormed()]));
    const identity = JSON.stringify(wellFormed);
    if (seen.has(identity)) continue;
    seen.add(identity);
    const handle = keys.length === 0 ? metric : metric.with(labels);
    const all = { ...defaultLabels, ...Object.fromEntries(Object.entries(statics).map(([k, v]) => [k, v.toWellFormed()])), ...wellFormed };
    const base = type === 'counter' ? name.replace(/_total$/, '') : name;
    if (type === 'counter') {
      let total = 0;
      for (let i = r.int(4); i > 0; i--) {
        const amount = randomFloat(r);
        handle.add(amount);
        total += amount;
      }
      expected.push({ name: `${base}_total`, labels: all, value: total });
    } else if (type === 'gauge') {
      const value = r.pick([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), BigInt(r.int(1e9)) - 500_000_000n]);
      handle.set(value);
      expected.push({ name, labels: all, value: Number(value) });
    } else if (type === 'gaugeFloat') {
      const value = r.pick([NaN, Infinity, -Infinity, -0, 5e-324, -1.5, randomFloat(r), -randomFloat(r)]);
      handle.set(value);
      expected.push({ name, labels: all, value });
    } else if (type === 'summary') {
      // Estimated quantiles: checked to lie within the observations (NaN without any).
      // Observations are not negative: OpenMetrics refuses negative quantiles (docs/metrics-and-labels.md).
      const observed = Array.from({ length: r.int(6) }, () => r.next() * 10 ** r.int(4));
      for (const value of observed) handle.observe(value);
      const within = [Math.min(...observed), Math.max(...observed)];
      for (const q of quantiles) {
        expected.push({ name, labels: { ...all, quantile: String(q) }, value: observed.length === 0 ? NaN : undefined, within });
      }
      expected.push({ name: `${name}_count`, labels: all, value: observed.length });
      expected.push({ name: `${name}_sum`, labels: all, value: observed.reduce((a, b) => a + b, 0) });
    } else {
      const counts = new Array(bounds.length + 1).fill(0);
      let sum = 0;
      // Negative observations only with negative buckets: otherwise _sum, a counter in
      // OpenMetrics, would go negative, which its strict parser refuses (docs/metrics-and-labels.md).
      const low = bounds[0] < 0 ? -0.3 : 0;
      for (let i = r.int(6); i > 0; i--) {
        const value = (r.next() + low) * 10 ** r.int(4);
        handle.observe(value);
        sum += value;
        counts[bounds.findIndex((b) => value <= b) === -1 ? bounds.length : bounds.findIndex((b) => value <= b)]++;
      }
      let cumulative = 0;
      // Bounds as they are written: shortest round-trip form, integers without ".0".
      [...bounds.map((b) => String(b)), '+Inf'].forEach((le, i) => {
        cumulative += counts[i];
        expected.push({ name: `${name}_bucket`, labels: { ...all, le }, value: cumulative });
      });
      // OpenMetrics has no _sum (nor _count) for a histogram with negative buckets.
      const sumIsCounter = bounds[0] >= 0;
      expected.push({ name: `${name}_count`, labels: all, value: cumulative, inOpenMetrics: sumIsCounter });
      expected.push({ name: `${name}_sum`, labels: all, value: sum, inOpenMetrics: sumIsCounter });
    }
  }
  return expected;
}

/**
 * Checks parsed samples against the expected ones, bucket `le` and `quantile` values
 * compared as numbers; a sample with `within` and no value must lie in that range.
 */
function assertSamples(parsed, expected, format) {
  const key = (s) => {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => [k, k === 'le' || k === 'quantile' ? String(Number(v === '+Inf' ? Infinity : v)) : v])
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return JSON.stringify([s.name, labels]);
  };
  const got = new Map(parsed.filter((s) => !s.name.endsWith('_created')).map((s) => [key(s), s.value]));
  for (const sample of expected) {
    const k = key({ ...sample, labels: { ...sample.labels, ...(sample.labels.le === '+Inf' ? { le: 'Infinity' } : {}) } });
    assert.ok(got.has(k) || got.has(key(sample)), `${format}: sample ${k} missing`);
    const value = got.has(k) ? got.get(k) : got.get(key(sample));
    if (sample.value === undefined) {
      assert.ok(value >= sample.within[0] && value <= sample.within[1], `${format}: ${k} is ${value}, outside the observations ${sample.within}`);
    } else {
      assert.ok(sameNumber(value, sample.value), `${format}: ${k} is ${value}, recorded ${sample.value}`);
    }
  }
  assert.equal(got.size, expected.length, `${format}: no sample beyond those recorded`);
}

test(`exposition fuzzing: ${BATCHES} batches of ${METRICS_PER_BATCH} random metrics (seed ${SEED})`, { timeout: 300_000 }, async () => {
  const r = generator(SEED);
  let cases = 0;
  for (let batch = 0; batch < BATCHES; batch++) {
    const defaultLabels =
      r.next() < 0.5 ? {} : Object.fromEntries(randomLabelNames(r, 1 + r.int(2), new Set()).map((k) => [`zz_${k}`, randomText(r, 8)]));
    const registry = new Registry({ defaultLabels });
    const wellFormedDefaults = Object.fromEntries(Object.entries(defaultLabels).map(([k, v]) => [k, v.toWellFormed()]));
    const expected = [];
    for (let i = 0; i < METRICS_PER_BATCH; i++) expected.push(...randomMetric(r, registry, i, wellFormedDefaults));
    cases += METRICS_PER_BATCH;

    const text = await registry.metrics();
    // Random names break promtool's style lint (exit 3: no help, ':' or unit-like
    // words in names); a body it cannot parse is exit 1.
    const checked = promtoolCheck(text);
    assert.ok(
      [0, 3].includes(checked.status) && !/error/.test(checked.output),
      `promtool rejected batch ${batch} (seed ${SEED}):\n${checked.output}`,
    );
    assertSamples(parseTextFormat(text), expected, `text 0.0.4, batch ${batch} (seed ${SEED})`);
    const inOpenMetrics = expected.filter((sample) => sample.inOpenMetrics !== false);
    assertSamples(
      parseOpenMetricsStrict(await registry.metrics({ format: 'openmetrics' })),
      inOpenMetrics,
      `OpenMetrics, batch ${batch} (seed ${SEED})`,
    );
  }
  console.log(`${cases} random metrics checked by promtool and both prometheus_client parsers (seed ${SEED})`);
});
