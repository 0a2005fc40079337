// Memory of a metric flooded with distinct label sets past its series limit: RSS and the
// live JS heap (after a full GC) at 1, 2, 4, 8 and 16 million label sets. Bounded means
// both stop growing; the first millions let the engine size its heap to the allocation
// rate, which differs by V8 version (docs/performance.md, "Past the series limit").
//   node benches/overflow-memory.js [millions...]
'use strict';

const v8 = require('node:v8');
const vm = require('node:vm');
const { counterSchema } = require('slotmetrics');
const { runtimeName } = require('./runtime');

function fullGc() {
  if (globalThis.Bun) return () => globalThis.Bun.gc(true);
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc');
}

const steps = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1, 2, 4, 8, 16];
const gc = fullGc();
const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
const flooded = counterSchema('flooded_total').help('h').requireDynamicKey('request_id').cardinalityLimit(10).build();
process.removeAllListeners('warning'); // the one overflow warning is expected

gc();
const before = process.memoryUsage();
console.log(`${runtimeName()}: RSS ${mib(before.rss)} MiB before`);
let next = 0;
for (const millions of steps) {
  const started = process.hrtime.bigint();
  for (; next < millions * 1_000_000; next++) flooded.with({ request_id: `req-${next}` }).increment();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  gc();
  const now = process.memoryUsage();
  console.log(`${millions}M label sets: RSS +${mib(now.rss - before.rss)} MiB, live JS heap ${mib(now.heapUsed)} MiB (${seconds.toFixed(1)} s)`);
}
