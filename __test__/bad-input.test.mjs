// The bad-input matrix: every public function and option, called with a value of every
// JS type and many awkward ones. Each call either accepts the value (what it documents
// accepting, or a documented coercion) or throws a TypeError or RangeError whose
// message names the argument. After the whole matrix, everything recorded before it
// reads the same in /metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Registry,
  collectDefaultMetrics,
  counterSchema,
  gaugeSchema,
  gaugeSchemaFloat,
  health,
  histogramSchema,
  httpMetrics,
  log,
  metrics,
  pushgateway,
  registry,
  serve,
  setCardinalityLimit,
  startReporter,
  summarySchema,
} from 'slotmetrics';

const VALUES = {
  undefined: undefined,
  null: null,
  true: true,
  false: false,
  zero: 0,
  'negative zero': -0,
  'minus one': -1,
  fraction: 1.5,
  NaN: NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
  '2^64': 2 ** 64,
  MAX_SAFE_INTEGER: Number.MAX_SAFE_INTEGER,
  bigint: 1n,
  'bigint 2^70': 2n ** 70n,
  'bigint -2^70': -(2n ** 70n),
  'empty string': '',
  string: 'abc',
  'bad name': 'bad-name',
  'reserved name': '__x',
  'numeric string': '12',
  'huge string': 'x'.repeat(1 << 20),
  symbol: Symbol('s'),
  'plain object': {},
  array: [],
  'array of strings': ['a', 'b'],
  function: () => {},
  'null-prototype object': Object.create(null),
  Map: new Map(),
  Date: new Date(0),
  '__proto__ key': JSON.parse('{"__proto__": {"polluted": "yes"}}'),
  'constructor key': { constructor: 'x' },
};

const isMetricName = (v) => typeof v === 'string' && /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(v);
const isLabelName = (v) => typeof v === 'string' && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(v) && !v.startsWith('__');
const isInt64 = (v) =>
  (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63) || (typeof v === 'bigint' && v >= -(2n ** 63n) && v < 2n ** 63n);
const isFiniteNumber = (v) => typeof v === 'number' && Number.isFinite(v);
const isPlainObject = (v) => v !== null && typeof v === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(v));
const isEmptyPlainObject = (v) => isPlainObject(v) && Object.keys(v).length === 0;
const isSeriesLimit = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 2 ** 32 - 1;
const isPositiveInteger = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
const isLabelValue = (v) => ['string', 'number', 'boolean'].includes(typeof v);
/** A string record: a plain object whose values are all strings (the constructor key counts). */
const isStringRecord = (v) => isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string');

// A registry per call, so accepted names never clash with each other.
const fresh = () => new Registry();

/**
 * [what, call(value), accepts(value), message, operational?]: `message` must be in the
 * error of a refused value, so the error names the argument. `operational` matches the
 * plain Error of a well-typed value the system refuses (a host name that does not
 * resolve), which also names it.
 */
const MATRIX = [
  ['counterSchema(name)', (v) => counterSchema(v).build({ registry: fresh() }), isMetricName, /metric name/],
  ['gaugeSchema(name)', (v) => gaugeSchema(v).build({ registry: fresh() }), isMetricName, /metric name/],
  ['gaugeSchemaFloat(name)', (v) => gaugeSchemaFloat(v).build({ registry: fresh() }), isMetricName, /metric name/],
  ['histogramSchema(name)', (v) => histogramSchema(v).build({ registry: fresh() }), isMetricName, /metric name/],
  ['.help(text)', (v) => counterSchema('m').help(v), (v) => typeof v === 'string', /help of metric "m"/],
  ['.staticLabel(name, "x")', (v) => counterSchema('m').staticLabel(v, 'x').build({ registry: fresh() }), isLabelName, /label/],
  ['.staticLabel("k", value)', (v) => counterSchema('m').staticLabel('k', v), (v) => typeof v === 'string', /static label of metric "m" "k": value/],
  ['.staticLabels(labels)', (v) => counterSchema('m').staticLabels(v).build({ registry: fresh() }), (v) => isStringRecord(v), /labels|label name/],
  ['.requireDynamicKey(name)', (v) => counterSchema('m').requireDynamicKey(v).build({ registry: fresh() }), isLabelName, /dynamic key|label name/],
  ['.cardinalityLimit(n)', (v) => counterSchema('m').cardinalityLimit(v), isSeriesLimit, /cardinality limit of metric "m"/],
  [
    '.cardinalityLimit(1, options)',
    (v) => counterSchema('m').cardinalityLimit(1, v),
    (v) => v === undefined || isEmptyPlainObject(v),
    /option|strict/,
  ],
  [
    '.cardinalityLimit(1, { strict })',
    (v) => counterSchema('m').cardinalityLimit(1, { strict: v }),
    (v) => v === undefined || typeof v === 'boolean',
    /strict/,
  ],
  [
    '.buckets(bounds)',
    (v) => histogramSchema('h').buckets(v).build({ registry: fresh() }),
    (v) => Array.isArray(v) && v.length === 0,
    /buckets of histogram "h"/,
  ],
  ['summarySchema(name)', (v) => summarySchema(v).build({ registry: fresh() }), isMetricName, /metric name/],
  [
    '.multiprocess(mode)',
    (v) => gaugeSchema('g').multiprocess(v).build({ registry: fresh() }),
    (v) => ['shared', 'livesum', 'max', 'min', 'average', 'omit'].includes(v),
    /multiprocess\(\) of gauge "g" takes 'shared', 'livesum', 'max', 'min', 'average', 'omit'/,
  ],
  [
    '.percentiles(quantiles)',
    (v) => summarySchema('s').percentiles(v).build({ registry: fresh() }),
    (v) => Array.isArray(v) && v.length === 0,
    /percentiles of summary "s"/,
  ],
  [
    '.slidingWindow(seconds, 2)',
    (v) => summarySchema('s').slidingWindow(v, 2).build({ registry: fresh() }),
    (v) => typeof v === 'number' && v > 0 && v <= 2 ** 32,
    /maxAgeSeconds/,
  ],
  [
    '.slidingWindow(60, ageBuckets)',
    (v) => summarySchema('s').slidingWindow(60, v).build({ registry: fresh() }),
    (v) => Number.isInteger(v) && v >= 1 && v <= 1000,
    /ageBuckets/,
  ],
  [
    '.slidingWindow(60, 2, options)',
    (v) => summarySchema('s').slidingWindow(60, 2, v).build({ registry: fresh() }),
    (v) => v === undefined || isEmptyPlainObject(v),
    /slidingWindow\(\) of summary "s"/,
  ],
  ['.build(options)', (v) => counterSchema('m').build(v), (v) => v === undefined || isEmptyPlainObject(v), /build\(\) of metric "m"/],
  ['.build({ registry })', (v) => counterSchema('m').build({ registry: v }), (v) => v === undefined, /registry must be a Registry/],
  ['family.with(labels)', (v) => family().with(v), () => false, /metric "bad_input_family" takes|dynamic label|unexpected label/],
  ['family.with({ k: value })', (v) => family().with({ k: v }), isLabelValue, /label "k" of metric "bad_input_family"/],
  ['family.remove(labels)', (v) => family().remove(v), () => false, /metric "bad_input_family" takes|dynamic label|unexpected label/],
  ['family.zero({ k: value })', (v) => family().zero({ k: v }), isLabelValue, /label "k" of metric "bad_input_family"/],
  ['counter.add(amount)', (v) => counter().add(v), (v) => isFiniteNumber(v) && v >= 0, /counter "bad_input_counter_total" add\(\)|can only go up/],
  ['gauge.set(value)', (v) => gauge().set(v), isInt64, /gauge "bad_input_gauge"/],
  ['gauge.inc(amount)', (v) => gauge().inc(v), (v) => v === undefined || isInt64(v), /gauge "bad_input_gauge"/],
  ['gauge.dec(amount)', (v) => gauge().dec(v), (v) => v === undefined || isInt64(v), /gauge "bad_input_gauge"/],
  ['floatGauge.set(value)', (v) => floatGauge().set(v), (v) => typeof v === 'number', /gauge "bad_input_float" set\(\)/],
  ['floatGauge.inc(amount)', (v) => floatGauge().inc(v), (v) => v === undefined || isFiniteNumber(v), /gauge "bad_input_float" inc\(\)/],
  ['histogram.observe(value)', (v) => histogram().observe(v), isFiniteNumber, /histogram "bad_input_histogram" observe\(\)/],
  ['summary.observe(value)', (v) => summary().observe(v), isFiniteNumber, /summary "bad_input_summary" observe\(\)/],
  ['setCardinalityLimit(n)', (v) => setCardinalityLimit(v), isSeriesLimit, /setCardinalityLimit\(\)/],
  ['new Registry(options)', (v) => new Registry(v), (v) => v === undefined || isEmptyPlainObject(v), /new Registry\(\)/],
  ['new Registry({ prefix })', (v) => new Registry({ prefix: v }), (v) => v === undefined || v === '' || isMetricName(v), /prefix/],
  ['new Registry({ defaultLabels })', (v) => new Registry({ defaultLabels: v }), (v) => v === undefined || isStringRecord(v), /labels|label name/],
  ['registry.setDefaultLabels(labels)', (v) => fresh().setDefaultLabels(v), isStringRecord, /labels|label name/],
  ['registry.metrics({ format })', (v) => fresh().metrics({ format: v }), (v) => v === undefined || v === 'openmetrics', /format/],
  // Accepted options are made local and ephemeral, so the matrix never binds 9464.
  [
    'serve(options)',
    (v) => serve(v === undefined || isEmptyPlainObject(v) ? { ...v, port: 0, host: '127.0.0.1' } : v),
    (v) => v === undefined || isEmptyPlainObject(v),
    /serve\(\)/,
  ],
  [
    'serve({ port })',
    (v) => serve({ port: v === undefined ? 0 : v, host: '127.0.0.1', health: false }),
    (v) => v === 0 || v === undefined,
    /serve\(\): port/,
  ],
  [
    'serve({ host })',
    (v) => serve({ host: v === undefined ? '127.0.0.1' : v, port: 0, health: false }),
    (v) => v === undefined,
    /host/,
    /cannot resolve host|cannot listen on/,
  ],
  ['serve({ path })', (v) => serve({ path: v, port: 0, host: '127.0.0.1', health: false }), (v) => v === undefined, /serve\(\): path/],
  [
    'serve({ health })',
    (v) => serve({ health: v, port: 0, host: '127.0.0.1' }),
    (v) => v === undefined || typeof v === 'boolean' || isEmptyPlainObject(v),
    /health/,
  ],
  ['serve({ auth })', (v) => serve({ auth: v, port: 0, host: '127.0.0.1', health: false }), (v) => v === undefined, /serve\(\): auth/],
  [
    'serve({ maxConnections })',
    (v) => serve({ maxConnections: v, port: 0, host: '127.0.0.1', health: false }),
    (v) => v === undefined || (isPositiveInteger(v) && v <= 65535),
    /maxConnections/,
  ],
  [
    'serve({ registry })',
    (v) => serve({ registry: v, port: 0, host: '127.0.0.1', health: false }),
    (v) => v === undefined,
    /registry must be a Registry/,
  ],
  [
    'health.setReady(name, true)',
    (v) => health.setReady(v, true),
    (v) => typeof v === 'string' && v !== '',
    /health.setReady\(\) takes a check name/,
  ],
  [
    'health.setReady("db", ready)',
    (v) => health.setReady('bad_input_check', v),
    (v) => typeof v === 'boolean',
    /health.setReady\("bad_input_check"\) takes true or false/,
  ],
  ['startReporter({ intervalMs })', (v) => startReporter({ intervalMs: v, onExport() {} }), (v) => isPositiveInteger(v) && v < 2 ** 31, /intervalMs/],
  ['startReporter({ onExport })', (v) => startReporter({ intervalMs: 1000, onExport: v }), (v) => typeof v === 'function', /onExport/],
  [
    'collectDefaultMetrics({ sampleIntervalMs })',
    (v) => collectDefaultMetrics({ sampleIntervalMs: v, registry: fresh() }),
    (v) => v === undefined || (isPositiveInteger(v) && v < 2 ** 31),
    /sampleIntervalMs/,
  ],
  [
    'collectDefaultMetrics({ labels })',
    (v) => collectDefaultMetrics({ labels: v, registry: fresh() }),
    (v) => v === undefined || isStringRecord(v),
    /labels|label name/,
  ],
  [
    'pushgateway({ timeoutMs })',
    (v) => pushgateway({ url: 'http://127.0.0.1:1', job: 'j', timeoutMs: v }),
    (v) => v === undefined || (isPositiveInteger(v) && v < 2 ** 31),
    /timeoutMs/,
  ],
  ['pushgateway({ url })', (v) => pushgateway({ url: v, job: 'j' }), () => false, /url/],
  ['pushgateway({ job })', (v) => pushgateway({ url: 'http://127.0.0.1:1', job: v }), (v) => typeof v === 'string' && v !== '', /job/],
  ['httpMetrics(options)', (v) => httpMetrics(v), (v) => v === undefined || isEmptyPlainObject(v), /httpMetrics\(\)/],
  [
    'metrics.increment(name)',
    (v) => metrics.increment(v),
    (v) => typeof v === 'string' && v !== '' && isMetricName(`js_user_${v}`),
    /metrics.increment\(\)|metric name/,
  ],
  [
    'metrics.add("bad_input_helper", value)',
    (v) => metrics.add('bad_input_helper', v),
    (v) => isFiniteNumber(v) && v >= 0,
    /counter "js_user_bad_input_helper"/,
  ],
  [
    'metrics.gauge("bad_input_helper_gauge", value)',
    (v) => metrics.gauge('bad_input_helper_gauge', v),
    (v) => typeof v === 'number',
    /gauge "js_user_bad_input_helper_gauge"/,
  ],
  ['log.info(message)', (v) => log.info(v), (v) => typeof v === 'string', /log.info\(\) takes a message string/],
  // Any object: its own enumerable properties are the fields (an Error's too).
  [
    'log.info("m", fields)',
    (v) => log.info('m', v),
    (v) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v)),
    /log.info\(\) takes its fields as an object/,
  ],
  ['log.setLevel(level)', (v) => log.setLevel(v), () => false, /log.setLevel\(\)/],
];

let familyMetric;
const family = () => (familyMetric ??= counterSchema('bad_input_family').requireDynamicKey('k').build());
let counterMetric;
const counter = () => (counterMetric ??= counterSchema('bad_input_counter_total').build());
let gaugeMetric;
const gauge = () => (gaugeMetric ??= gaugeSchema('bad_input_gauge').build());
let floatMetric;
const floatGauge = () => (floatMetric ??= gaugeSchemaFloat('bad_input_float').build());
let summaryMetric;
const summary = () => (summaryMetric ??= summarySchema('bad_input_summary').build());
let histogramMetric;
const histogram = () => (histogramMetric ??= histogramSchema('bad_input_histogram').buckets([1, 10]).build());

/** What a call did: 'accepted', or the error it threw (or rejected with). */
async function outcome(call, value) {
  try {
    const result = call(value);
    if (result instanceof Promise) {
      const resolved = await result;
      // An accepted serve() started a server, and startReporter() a timer: stop them.
      await resolved?.close?.();
    } else if (typeof result === 'function') {
      result();
    }
    return 'accepted';
  } catch (error) {
    return error;
  }
}

test(`bad-input matrix: ${MATRIX.length} arguments × ${Object.keys(VALUES).length} values`, { timeout: 120_000 }, async () => {
  log.configure({ destination: '/dev/null' });
  // What was recorded before the matrix, to compare after it.
  const kept = counterSchema('bad_input_kept_total').requireDynamicKey('k').build();
  kept.with({ k: 'a' }).add(41);
  gaugeSchemaFloat('bad_input_kept_gauge').build().set(2.5);
  histogramSchema('bad_input_kept_histogram').buckets([1]).build().observe(0.5);
  summarySchema('bad_input_kept_summary').percentiles([0.5]).build().observe(0.5);
  const keptLines = (text) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('bad_input_kept_'))
      .join('\n');
  const before = keptLines(await registry.metrics());
  assert.match(before, /bad_input_kept_total\{k="a"\} 41/);

  const problems = [];
  let cases = 0;
  for (const [what, call, accepts, message, operational] of MATRIX) {
    for (const [label, value] of Object.entries(VALUES)) {
      cases++;
      const result = await outcome(call, value);
      const expected = accepts(value);
      if (result === 'accepted') {
        if (!expected) problems.push(`${what} accepted ${label}`);
      } else if (expected) {
        problems.push(`${what} refused ${label}: ${String(result?.message ?? result).slice(0, 200)}`);
      } else if (operational?.test(result?.message) && typeof value === 'string') {
        // A well-typed value the system refused, named in a plain Error: fine.
      } else if (!(result instanceof TypeError || result instanceof RangeError)) {
        problems.push(`${what} with ${label} threw ${result?.constructor?.name}: ${String(result?.message ?? result).slice(0, 200)}`);
      } else if (!message.test(result.message)) {
        problems.push(`${what} with ${label}: the message does not name the argument: ${result.message.slice(0, 200)}`);
      } else if (result.message.length > 1000) {
        problems.push(`${what} with ${label}: a ${result.message.length}-character message`);
      }
    }
  }
  setCardinalityLimit(10_000);
  assert.deepEqual(problems, [], `${problems.length} of ${cases} cases went wrong`);
  assert.equal({}.polluted, undefined, 'no prototype was polluted');
  assert.equal(keptLines(await registry.metrics()), before, 'what was recorded before the matrix is unchanged');
  console.log(`${cases} bad-input cases`);
});
