// Slot memory reaches JS as a SharedArrayBuffer where the runtime can make one over
// external memory (node_api_create_external_sharedarraybuffer: Node 22.23.3+, 24.16+,
// 26.1+, Bun), else as an ArrayBuffer (Node 20, Deno, or SLOTMETRICS_SLOT_BUFFERS=
// arraybuffer). Either way every thread counts into the same memory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { counterSchema, gaugeSchema } from 'slotmetrics';
import { binding } from '../dist/base/native.js';
import { runtime } from './helpers.mjs';

function runtimeHasExternalSharedArrayBuffers() {
  if (runtime === 'bun') return true;
  if (runtime === 'deno') return false;
  const [major, minor, patch] = process.versions.node.split('.').map(Number);
  if (major === 22) return minor > 23 || (minor === 23 && patch >= 3);
  if (major === 24) return minor >= 16;
  return major >= 26 && (major > 26 || minor >= 1);
}

// Counts into one counter and a gauge; `kind` is the buffer kinds this thread got.
const THREAD = `
const { counterSchema, gaugeSchema } = require('slotmetrics');
const { binding } = require(${JSON.stringify(new URL('../dist/base/native.js', import.meta.url).pathname)});
const c = counterSchema('buffers_total').help('h').build();
for (let i = 0; i < 10000; i++) c.increment();
gaugeSchema('buffers_gauge').build().set(1);
const kind = binding.stripeChunk(0).constructor.name + '/' + binding.sharedChunk(0).constructor.name;
`;

// The main thread and two workers count; prints every thread's kinds and the total.
const COUNT = `${THREAD}
const { Worker } = require('node:worker_threads');
const worker = () => new Promise((resolve) =>
  new Worker(${JSON.stringify(`${THREAD} require('node:worker_threads').parentPort.postMessage(kind);`)}, { eval: true }).once('message', resolve));
Promise.all([worker(), worker()]).then(async (kinds) => {
  const total = (await require('slotmetrics').registry.metrics()).match(/^buffers_total (\\d+)$/m)[1];
  console.log(JSON.stringify({ kinds: [kind, ...kinds], total }));
});
`;

function countIn(env) {
  const run = spawnSync(process.execPath, ['-e', COUNT], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

test('slot memory is a SharedArrayBuffer exactly where the runtime can make one over external memory', () => {
  counterSchema('buffers_kind_total').build().increment();
  gaugeSchema('buffers_kind_gauge').build().set(1); // the first gauge allocates gauge slot memory
  const expected = runtimeHasExternalSharedArrayBuffers() ? SharedArrayBuffer : ArrayBuffer;
  assert.equal(binding.stripeChunk(0).constructor, expected);
  assert.equal(binding.sharedChunk(0).constructor, expected);
});

test('three threads count the same into SharedArrayBuffers or, when asked, ArrayBuffers', () => {
  const shared = runtimeHasExternalSharedArrayBuffers() ? 'SharedArrayBuffer' : 'ArrayBuffer';
  assert.deepEqual(countIn({}), { kinds: Array(3).fill(`${shared}/${shared}`), total: '30000' });
  assert.deepEqual(countIn({ SLOTMETRICS_SLOT_BUFFERS: 'arraybuffer' }), {
    kinds: Array(3).fill('ArrayBuffer/ArrayBuffer'),
    total: '30000',
  });
});
