// What one update of a slot costs the running V8, written each way an update could be:
// the read-modify-write of a Float64Array element (slotmetrics' slots) as `+=`, `++`
// and `-= -x`, the same on an Int32Array, and with a fractional amount. Run it with
// each runtime's own node; `--no-additive-safe-int-feedback` shows what V8 14's
// additive-safe-integer compilation costs `+=`.
//   node benches/stores.js
'use strict';

const { runtimeName } = require('./runtime');

const LOOPS = 20_000_000;

/** The best of 5 rounds of `LOOPS` updates, in ns per update, after a warm-up. */
function nsPerUpdate(loop) {
  for (let round = 0; round < 3; round++) loop(1_000_000);
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    loop(LOOPS);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / LOOPS);
  }
  return best;
}

const floats = new Float64Array(16);
const ints = new Int32Array(16);
const fraction = 0.5;
const CASES = {
  'Float64Array x[i] += 1': (n) => {
    for (let i = 0; i < n; i++) floats[5] += 1;
  },
  'Float64Array x[i]++': (n) => {
    for (let i = 0; i < n; i++) floats[6]++;
  },
  'Float64Array x[i] -= -1': (n) => {
    for (let i = 0; i < n; i++) floats[7] -= -1;
  },
  'Float64Array x[i] += 0.5': (n) => {
    for (let i = 0; i < n; i++) floats[8] += fraction;
  },
  'Int32Array x[i] += 1': (n) => {
    for (let i = 0; i < n; i++) ints[5] += 1;
  },
};

console.log(`${runtimeName()}: ns per update, best of 5 rounds of ${LOOPS.toLocaleString('en-US')}`);
for (const [name, loop] of Object.entries(CASES)) {
  console.log(`  ${name.padEnd(26)} ${nsPerUpdate(loop).toFixed(2)} ns`);
}
