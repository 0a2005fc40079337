// Times a loop: calibrates its length to ~100 ms, then reports the median ns per
// operation over several rounds (after one warm-up round).
'use strict';

const ROUND_NS = 100e6;

function timeRound(loop, n) {
  const start = process.hrtime.bigint();
  loop(n);
  return Number(process.hrtime.bigint() - start);
}

/** Finds the n for ~100 ms rounds; also returns the operations it ran to find it. */
function calibrate(loop) {
  let n = 1000;
  let operations = 0;
  for (;;) {
    const ns = timeRound(loop, n);
    operations += n;
    if (ns >= ROUND_NS / 4) return { n: Math.max(1000, Math.round((n * ROUND_NS) / ns)), operations };
    n *= 4;
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs `loop(n)` for a calibrated n; returns { nsPerOp, rounds, operations }. */
function measure(loop, { rounds = 7, n = calibrate(loop).n } = {}) {
  timeRound(loop, n);
  const perOp = [];
  for (let r = 0; r < rounds; r++) perOp.push(timeRound(loop, n) / n);
  return { nsPerOp: median(perOp), rounds: perOp, operations: n * (rounds + 1) };
}

module.exports = { measure, calibrate };
