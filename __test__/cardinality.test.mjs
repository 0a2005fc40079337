// Series limits: a full metric counts new label sets in one __overflow__ series (or
// refuses them), warns once, and keeps memory bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { counterSchema, gaugeSchemaFloat, registry, setCardinalityLimit } from 'slotmetrics';
import { parseSamples, runtime } from './helpers.mjs';

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
  assert.deepEqual(
    [...s.keys()].filter((k) => k.startsWith('strict_sessions')),
    ['strict_sessions{id="1"}', 'strict_sessions{id="2"}'],
  );
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

/** V8's full garbage collection, made callable without starting with --expose-gc. */
function exposedGc() {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc');
}

// Bounded means memory stops growing with the label sets. Two parts are read after every
// million, after a full GC: the live JS heap, which must not grow (a per-label-set cache
// of even 1 byte would show), and the memory outside the V8 heap (RSS less the heap V8
// has committed), where the engine's allocations live. V8's own reservation is left
// out: Node 26's V8 grows its heap from 39 to 72 MiB between the 6th and 7th millions
// with the live heap flat at 6 MiB. Outside the heap, Node 26 also grows in 16 MiB
// steps until the 7th million (from 100 to 140–155 MiB, then flat to the 16th; a loop
// of plain Map lookups does the same), while Node 20 and Bun stay flat. So the lowest
// of the 7th and 8th millions is compared with the lowest of the 3rd and 4th (+31 MiB
// at most on Node 26): a leak of 16 bytes a label set (64 MiB over 4 million) fails.
test('millions of distinct label sets past the limit keep memory bounded', { timeout: 300_000 }, async () => {
  const gc = runtime === 'bun' ? () => globalThis.Bun.gc(true) : exposedGc();
  const c = counterSchema('flooded_total').help('h').requireDynamicKey('request_id').cardinalityLimit(10).build();
  const readings = [];
  for (let millions = 1; millions <= 8; millions++) {
    for (let i = (millions - 1) * 1_000_000; i < millions * 1_000_000; i++) c.with({ request_id: `req-${i}` }).increment();
    gc();
    readings.push(process.memoryUsage());
  }
  const outsideHeap = (reading) => reading.rss - reading.heapTotal;
  const lowestOutsideHeap = (from, to) => Math.min(...readings.slice(from, to).map(outsideHeap));
  const [warmOutside, afterOutside] = [lowestOutsideHeap(2, 4), lowestOutsideHeap(6, 8)];
  const [warmHeap, afterHeap] = [readings[3].heapUsed, readings[7].heapUsed];
  const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  console.log(
    `outside the V8 heap after each million label sets: ${readings.map((r) => mib(outsideHeap(r))).join(', ')}; live heap ${mib(warmHeap)} → ${mib(afterHeap)}`,
  );

  const s = parseSamples(await registry.metrics());
  assert.equal([...s.keys()].filter((k) => k.startsWith('flooded_total{')).length, 11, '10 series and the overflow series');
  assert.equal(s.get('flooded_total{request_id="__overflow__"}'), 8_000_000 - 10);
  assert.ok(afterHeap - warmHeap < 4 * 2 ** 20, `the live JS heap grew by ${mib(afterHeap - warmHeap)}`);
  assert.ok(
    afterOutside - warmOutside < 4_000_000 * 16,
    `memory outside the V8 heap grew by ${mib(afterOutside - warmOutside)} over the last 4M label sets`,
  );
});
