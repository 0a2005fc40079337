// log.* helpers: JSON lines from every thread through one writer, never lost or torn.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { log, registry } from 'slotmetrics';
import { parseSamples } from './helpers.mjs';

const LINES = 10_000;

/** Runs a script in a child process; returns its stdout lines, parsed. */
function runChild(source, env = {}) {
  const run = spawnSync(process.execPath, ['-e', source], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 1 << 28,
    env: { ...process.env, ...env },
  });
  assert.equal(run.status, 0, `child failed: ${run.stderr}`);
  return run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

// Main thread and two workers each log LINES lines, wait for each other, then all call
// process.exit(0) at once (or, with `returns`, the main thread just returns).
const threeThreads = (ending) => `
  const { Worker, isMainThread, workerData, threadId } = require('node:worker_threads');
  const { log } = require('slotmetrics');
  const barrier = isMainThread ? new Int32Array(new SharedArrayBuffer(4)) : new Int32Array(workerData);
  if (isMainThread) for (let i = 0; i < 2; i++) new Worker(process.argv[1] ?? __filename, { eval: true, workerData: barrier.buffer });
  for (let seq = 0; seq < ${LINES}; seq++) log.info('line', { thread: threadId, seq, pad: 'x'.repeat(seq % 50) });
  Atomics.add(barrier, 0, 1);
  while (Atomics.load(barrier, 0) < 3) Atomics.wait(barrier, 0, Atomics.load(barrier, 0), 10);
  ${ending}
`;

for (const [name, ending] of [
  ['all three call process.exit(0) at once', 'process.exit(0);'],
  ['workers exit and the main thread returns', 'if (!isMainThread) process.exit(0);'],
]) {
  test(`every line of 3 threads × ${LINES} arrives whole and in order: ${name}`, { timeout: 90_000 }, () => {
    const source = threeThreads(ending).replace('process.argv[1] ?? __filename', 'SOURCE');
    const lines = runChild(`const SOURCE = ${JSON.stringify(source)};\n${source}`);
    const byThread = new Map();
    for (const line of lines) {
      assert.equal(line.level, 'info');
      assert.equal(line.msg, 'line');
      assert.equal(typeof line.time, 'number');
      const seen = byThread.get(line.thread) ?? [];
      seen.push(line.seq);
      byThread.set(line.thread, seen);
    }
    assert.equal(byThread.size, 3, `threads seen: ${[...byThread.keys()]}`);
    for (const [thread, seqs] of byThread) {
      assert.equal(seqs.length, LINES, `thread ${thread}`);
      assert.ok(
        seqs.every((seq, i) => seq === i),
        `thread ${thread} kept its order`,
      );
    }
  });
}

test('the level threshold comes from SLOTMETRICS_LOG_LEVEL, else LOG_LEVEL, else info', () => {
  // flush() first: console.log writes to stdout on its own, not through the log writer.
  const source = `const { log } = require('slotmetrics'); log.debug('d'); log.info('i'); log.warn('w'); log.error('e');
    log.flush().then(() => console.log(JSON.stringify({ level: 'report', msg: log.level })));`;
  const levels = (env) => runChild(source, env).map((l) => l.msg);
  assert.deepEqual(levels({ SLOTMETRICS_LOG_LEVEL: '', LOG_LEVEL: '' }), ['i', 'w', 'e', 'info']);
  assert.deepEqual(levels({ SLOTMETRICS_LOG_LEVEL: 'debug' }), ['d', 'i', 'w', 'e', 'debug']);
  assert.deepEqual(levels({ SLOTMETRICS_LOG_LEVEL: 'ERROR', LOG_LEVEL: 'debug' }), ['e', 'error']);
  assert.deepEqual(levels({ LOG_LEVEL: 'warn' }), ['w', 'e', 'warn']);
});

// In this process, lines go to a file: stdout carries the test runner's report.
const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'slotmetrics-log-')), 'app.log');
log.configure({ destination: file });
const written = async () => {
  await log.flush();
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
};

test('fields: any JSON, Errors, bigints, cycles and redacted keys at any depth', async () => {
  log.setLevel('debug');
  const error = Object.assign(new TypeError('bad input'), { code: 'E_INPUT' });
  const cycle = { name: 'loop' };
  cycle.self = cycle;
  log.configure({ redact: ['password', 'credit_card'] });
  try {
    log.info('Order processed', { order_id: 12345, total: 99.99, tags: ['a', 'b'], nested: { ok: true, none: null } });
    log.error('failed', {
      error,
      big: 2n ** 64n,
      cycle,
      user: { name: 'ann', password: 'hunter2', cards: [{ credit_card: '4111', last4: '1111' }] },
    });
    log.debug('no fields');
    log.warn('empty fields', {});
  } finally {
    log.configure({ redact: [] });
  }
  const lines = (await written()).slice(-4);
  assert.deepEqual(lines[0], {
    level: 'info',
    time: lines[0].time,
    msg: 'Order processed',
    order_id: 12345,
    total: 99.99,
    tags: ['a', 'b'],
    nested: { ok: true, none: null },
  });
  assert.ok(Math.abs(lines[0].time - Date.now()) < 60_000);
  const failed = lines[1];
  assert.deepEqual(Object.keys(failed).slice(0, 3), ['level', 'time', 'msg']);
  assert.deepEqual(failed.error, { message: 'bad input', stack: error.stack, name: 'TypeError', code: 'E_INPUT' });
  assert.equal(failed.big, '18446744073709551616');
  assert.deepEqual(failed.cycle, { name: 'loop', self: '[Circular]' });
  assert.deepEqual(failed.user, { name: 'ann', password: '[Redacted]', cards: [{ credit_card: '[Redacted]', last4: '1111' }] });
  assert.deepEqual(lines[2], { level: 'debug', time: lines[2].time, msg: 'no fields' });
  assert.deepEqual(lines[3], { level: 'warn', time: lines[3].time, msg: 'empty fields' });
});

test('plain fields, formatted by the writer thread, come out exactly as JSON.stringify writes them', async () => {
  const fields = {
    int: 12345,
    float: 99.99,
    negative: -0.5,
    zero: -0,
    big: 1e21,
    small: 1.5e-7,
    max: Number.MAX_VALUE,
    nan: NaN,
    inf: Infinity,
    ninf: -Infinity,
    text: 'quote " backslash \\ newline \n tab \t bell \u0007 del \u007f unicode ü 日本 😀',
    empty: '',
    yes: true,
    no: false,
    none: null,
    skipped: undefined,
    fn: () => 1,
    sym: Symbol('s'),
    'key "with" quotes\n': 1,
  };
  const message = 'Order "processed"\n\u0001';
  log.info(message, fields);
  log.info('no fields at all');
  await log.flush();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(-2);
  const time = JSON.parse(lines[0]).time;
  assert.equal(lines[0], JSON.stringify({ level: 'info', time, msg: message, ...fields }));
  assert.equal(lines[1], JSON.stringify({ level: 'info', time: JSON.parse(lines[1]).time, msg: 'no fields at all' }));
});

test('setLevel filters, and log_messages_total counts the lines written by level', async () => {
  const count = async (level) => parseSamples(await registry.metrics()).get(`log_messages_total{level="${level}"}`) ?? 0;
  const before = { debug: await count('debug'), info: await count('info'), warn: await count('warn') };
  log.setLevel('warn');
  try {
    log.debug('dropped');
    log.info('dropped');
    log.warn('kept');
    assert.equal(log.level, 'warn');
  } finally {
    log.setLevel('info');
  }
  const lines = await written();
  assert.equal(lines.at(-1).msg, 'kept');
  assert.ok(!lines.some((l) => l.msg === 'dropped'));
  assert.equal(await count('debug'), before.debug);
  assert.equal(await count('info'), before.info);
  assert.equal(await count('warn'), before.warn + 1);
});

test('a line longer than half the ring is written whole, in its place', async () => {
  const long = 'y'.repeat(400_000);
  log.info('before');
  log.info('long', { long });
  log.info('after');
  const lines = (await written()).slice(-3);
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['before', 'long', 'after'],
  );
  assert.equal(lines[1].long, long);
});

test('lines keep flowing past many ring-fulls', async () => {
  const start = (await written()).length;
  const pad = 'z'.repeat(500);
  for (let i = 0; i < 20_000; i++) log.info('bulk', { i, pad }); // ~10 MB through a 1 MiB ring
  const lines = (await written()).slice(start);
  assert.equal(lines.length, 20_000);
  assert.ok(lines.every((l, i) => l.i === i));
});

test('bad arguments are refused with the problem named', () => {
  const cases = [
    [() => log.info(42), /log.info\(\) takes a message string, got number 42/],
    [() => log.warn('m', 'fields'), /log.warn\(\) takes its fields as an object, got the string "fields"/],
    [() => log.error('m', [1]), /takes its fields as an object, got an array/],
    [() => log.setLevel('verbose'), /log.setLevel\(\) takes 'debug', 'info', 'warn' or 'error', got the string "verbose"/],
    [() => log.configure({ redact: 'password' }), /redact must be an array of key names/],
    [() => log.configure({ destination: -1 }), /destination must be a file path or a file descriptor, got number -1/],
    [() => log.configure({ level: 'info' }), /unknown option "level"/],
  ];
  for (const [call, pattern] of cases) {
    assert.throws(call, (e) => e instanceof TypeError && pattern.test(e.message), String(pattern));
  }
  assert.throws(() => log.configure({ destination: '/nonexistent-dir/x.log' }), /cannot log to "\/nonexistent-dir\/x.log"/);
});

test('a destination that breaks (stdout closed by its reader) never makes a log call throw', { timeout: 60_000 }, async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const { log } = require('slotmetrics');
      for (let i = 0; i < 50000; i++) log.info('line', { i, pad: 'p'.repeat(200) });
      log.flush().then(() => process.stderr.write('no error\\n'), (e) => process.stderr.write('flush: ' + e.message + '\\n'));`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.once('data', () => child.stdout.destroy()); // the reader goes away
  const [code] = await new Promise((resolve) => child.on('exit', (...args) => resolve(args)));
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^(no error|flush: slotmetrics log: .*(pipe|EPIPE).*)\n$/i);
});
