// Threads that die: workers of an uncaught exception or by terminate(), and the main
// thread of an uncaught exception (where Node 22–26 skip the addon's instance-data
// finalizer, nodejs/node#58341). A dead worker's counts are kept exactly and its stripe
// is reused; every line logged before a death is written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { counterSchema, log, registry } from 'slotmetrics';
import { binding } from '../dist/base/native.js';
import { eventually, inLanes, parseSamples } from './helpers.mjs';

const CRASHES = 200;
const AT_ONCE = 4;
const PER_WORKER = 1000;

const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'slotmetrics-death-')), 'app.log');
log.configure({ destination: file });

// Counts, logs a line, then throws: nothing catches it, so the worker dies with an error.
const CRASHING = `
const { workerData } = require('node:worker_threads');
const { counterSchema, log } = require('slotmetrics');
const deaths = counterSchema('death_counts_total').requireDynamicKey('how').build().with({ how: 'crash' });
for (let i = 0; i < ${PER_WORKER}; i++) deaths.increment();
log.info('about to crash', { worker: workerData.n });
throw new Error('crash ' + workerData.n);
`;

// Counts and logs, says so, then waits to be terminated (idle: Deno's terminate() does
// not stop a worker busy in a loop; workers.test.mjs terminates a busy one elsewhere).
const SPINNING = `
const { parentPort, workerData } = require('node:worker_threads');
const { counterSchema, log } = require('slotmetrics');
const deaths = counterSchema('death_counts_total').requireDynamicKey('how').build().with({ how: 'terminate' });
for (let i = 0; i < ${PER_WORKER}; i++) deaths.increment();
log.info('about to be terminated', { worker: workerData.n });
parentPort.postMessage('counted');
setInterval(() => {}, 1000);
`;

function crash(n) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CRASHING, { eval: true, workerData: { n } });
    let error;
    worker.on('error', (e) => (error = e));
    // The exit code is the runtime's: 1 on Node and Deno, 0 on Bun.
    worker.on('exit', (code) => (error?.message === `crash ${n}` ? resolve() : reject(new Error(`worker ${n} ended with ${code}, ${error}`))));
  });
}

async function terminate(n) {
  const worker = new Worker(SPINNING, { eval: true, workerData: { n } });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
}

function loggedWorkers(msg) {
  const lines = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  return new Set(lines.filter((line) => line.msg === msg).map((line) => line.worker));
}

for (const [how, msg, die] of [
  ['crash', 'about to crash', crash],
  ['terminate', 'about to be terminated', terminate],
]) {
  test(`${CRASHES} workers that die by ${how}: counts exact, every line written, stripes reused`, { timeout: 300_000 }, async () => {
    counterSchema('death_counts_total').requireDynamicKey('how').build();
    const before = binding.stripeStats();
    await inLanes(CRASHES, AT_ONCE, die);
    // Teardown of the last environments, which gives their stripes back and then
    // writes their last lines, runs after their 'exit' event.
    const after = await eventually(
      () => binding.stripeStats(),
      (stats) => stats.live === before.live,
    );
    const missingLines = async () => {
      await log.flush();
      const logged = loggedWorkers(msg);
      return Array.from({ length: CRASHES }, (_, n) => n).filter((n) => !logged.has(n));
    };
    const missing = await eventually(missingLines, (workers) => workers.length === 0);

    assert.equal(parseSamples(await registry.metrics()).get(`death_counts_total{how="${how}"}`), CRASHES * PER_WORKER);
    assert.deepEqual(missing, [], 'every dead worker’s line was written');
    assert.equal(after.live, before.live, `the dead workers hold no stripe: ${JSON.stringify(after)}`);
    assert.ok(
      after.live + after.free <= before.live + before.free + AT_ONCE,
      `${CRASHES} workers, ${AT_ONCE} at a time, need at most ${AT_ONCE} more stripes: ${JSON.stringify({ before, after })}`,
    );
  });
}

test('the main thread dying of an uncaught exception still writes every line logged before', () => {
  const source = `
    const { log } = require('slotmetrics');
    for (let i = 0; i < 5000; i++) log.info('before the crash', { i });
    throw new Error('main crashed');`;
  const run = spawnSync(process.execPath, ['-e', source], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 26 });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /main crashed/);
  const seen = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line).i);
  assert.deepEqual(
    seen,
    Array.from({ length: 5000 }, (_, i) => i),
  );
});
