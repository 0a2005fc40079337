// Series limits: a full metric counts new label sets in one __overflow__ series (or
// refuses them), warns once, and keeps memory bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counterSchema, gaugeSchemaFloat, registry, setCardinalityLimit } from 'slotmetrics';
import { parseSamples } from './helpers.mjs';

const warnings = [];
process.on('warning', (warning) => warnings.push(warning));

test('past its limit, a metric counts new label sets in its overflow series and warns once', async () => {
  const c = counterSchema('capped_requests_total').help('h').requireDynamicKey('user').cardinalityLimit(3).build();
  for (const user of ['a', 'b', 'c', 'd', 'e', 'd']) c.with({ user }).increment();
  c.with({ user: 'a' }).add(10); // known label sets keep their own series
  await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  const s = parseSamples(await registry.metrics());
  assert.equal(s.get('capped_requests_total{user="a"}'), 11);
  assert.equal(s.get('capped_requests_total{user="c"}'), 1);
  assert.equal(s.get('capped_requests_total{user="__overflow__"}'), 3, 'd, e and d again');
  assert.equal(s.get('capped_requests_total{user="d"}'), undefined);
  assert.equal(s.get('slotmetrics_series_overflow_total{metric="capped_requests_total"}'), 3);
  const ours = warnings.filter((w) => w.code === 'SLOTMETRICS_CARDINALITY');
  assert.equal(ours.length, 1);
  assert.match(ours[0].message, /metric "capped_requests_total" has reached its series limit/);
});

test('a strict limit refuses new label sets with a RangeError and records nothing', async () => {
  const g = gaugeSchemaFloat('strict_sessions').help('h').requireDynamicKey('id').cardinalityLimit(2, { strict: true }).build();
  g.with({ id: '1' }).set(1);
  g.with({ id: '2' }).set(2);
  assert.throws(
    () => g.with({ id: '3' }).set(3),
    (e) => e instanceof RangeError && /metric "strict_sessions" has reached its limit of 2 series; this label set was refused/.test(e.message),
  );
  const s = parseSamples(await registry.metrics());
  assert.deepEqual([...s.keys()].filter((k) => k.startsWith('strict_sessions')), ['strict_sessions{id="1"}', 'strict_sessions{id="2"}']);
});

test('setCardinalityLimit() sets the limit of metrics defined afterwards; bad limits are refused', async () => {
  setCardinalityLimit(2);
  try {
    const c = counterSchema('defaulted_total').help('h').requireDynamicKey('k').build();
    for (const k of ['1', '2', '3']) c.with({ k }).increment();
    assert.equal(parseSamples(await registry.metrics()).get('defaulted_total{k="__overflow__"}'), 1);
  } finally {
    setCardinalityLimit(10_000);
  }
  assert.throws(() => setCardinalityLimit(0), RangeError);
  assert.throws(() => counterSchema('x_total').cardinalityLimit(1.5), /must be an integer from 1 to 2\^32-1, got number 1.5/);
  assert.throws(() => counterSchema('x_total').cardinalityLimit(5, { strict: 'yes' }), /strict must be true or false/);
  assert.throws(
    () => counterSchema('capped_requests_total').help('h').requireDynamicKey('user').cardinalityLimit(4).build(),
    /has a limit of 4 series instead of 3/,
  );
});

test('a million distinct label sets keep memory bounded', { timeout: 120_000 }, async () => {
  const c = counterSchema('flooded_total').help('h').requireDynamicKey('request_id').cardinalityLimit(10).build();
  global.gc?.();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 1_000_000; i++) c.with({ request_id: `req-${i}` }).increment();
  global.gc?.();
  const grown = process.memoryUsage().rss - before;
  const s = parseSamples(await registry.metrics());
  assert.equal([...s.keys()].filter((k) => k.startsWith('flooded_total{')).length, 11, '10 series and the overflow series');
  assert.equal(s.get('flooded_total{request_id="__overflow__"}'), 1_000_000 - 10);
  // A per-label-set cache would take hundreds of MB here; allow for heap slack.
  assert.ok(grown < 96 * 1024 * 1024, `RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
});
