// Liveness and readiness, answered by the Rust server with no JS running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { health, serve } from 'slotmetrics';

const get = async (url, init) => {
  const response = await fetch(url, init);
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
};

test('liveness turns 503 while the serving thread is blocked, and 200 again after', { timeout: 60_000 }, async () => {
  // The child serves, then blocks its own event loop for 1.5 s when told to.
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('slotmetrics').serve({ port: 0, host: '127.0.0.1', health: { staleAfterMs: 300 } }).then((s) => {
      console.log(s.url);
      process.stdin.once('data', () => { const end = Date.now() + 1500; while (Date.now() < end); console.log('unblocked'); });
    });`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  try {
    const lines = [];
    const nextLine = () =>
      new Promise((resolve) => {
        const check = () =>
          lines.length
            ? resolve(lines.shift())
            : child.stdout.once('data', (d) => {
                lines.push(...String(d).trim().split('\n'));
                check();
              });
        check();
      });
    const live = (await nextLine()).replace('/metrics', '/health/live');
    const before = await get(live);
    assert.equal(before.status, 200, before.body);
    assert.equal(before.type, 'application/json');
    assert.match(before.body, /^\{"status":"live","heartbeatAgeMs":\d+\}\n$/);

    child.stdin.write('block\n');
    let stalled;
    for (let i = 0; i < 40 && !stalled; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const r = await get(live);
      if (r.status === 503) stalled = r;
    }
    assert.ok(stalled, 'liveness answered 503 while the event loop was blocked');
    const age = Number(JSON.parse(stalled.body).heartbeatAgeMs);
    assert.equal(JSON.parse(stalled.body).status, 'stalled');
    assert.ok(age > 300, `heartbeat age ${age} ms is past the threshold`);

    assert.equal(await nextLine(), 'unblocked');
    let after;
    for (let i = 0; i < 40; i++) {
      after = await get(live);
      if (after.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(after.status, 200, 'live again once the loop runs');
  } finally {
    child.kill();
  }
});

test('readiness is 200 only while every check is true, and names the failing ones', { timeout: 30_000 }, async () => {
  const server = await serve({ port: 0, host: '127.0.0.1' });
  const ready = server.url.replace('/metrics', '/health/ready');
  try {
    assert.deepEqual(await get(ready), { status: 200, type: 'application/json', body: '{"status":"ready"}\n' });
    health.setReady('database', false);
    health.setReady('cache "eu"', false);
    health.setReady('queue', true);
    const failing = await get(ready);
    assert.equal(failing.status, 503);
    const metricsText = await (await fetch(server.url)).text();
    assert.match(metricsText, /^health_ready\{check="database"\} 0$/m);
    assert.match(metricsText, /^health_ready\{check="queue"\} 1$/m);
    assert.deepEqual(JSON.parse(failing.body), { status: 'not ready', failing: ['cache "eu"', 'database'] });
    health.setReady('database', true);
    health.setReady('cache "eu"', true);
    assert.equal((await get(ready)).status, 200);
    assert.equal((await get(ready, { method: 'HEAD' })).status, 200);
    assert.equal((await get(ready, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
  }
  assert.throws(() => health.setReady('', true), /health.setReady\(\) takes a check name/);
  assert.throws(() => health.setReady('db', 'yes'), /health.setReady\("db"\) takes true or false, got the string "yes"/);
});

test('health paths are configurable, can be turned off, and are checked', { timeout: 30_000 }, async () => {
  const custom = await serve({ port: 0, host: '127.0.0.1', health: { livePath: '/livez', readyPath: '/readyz' } });
  const base = custom.url.replace('/metrics', '');
  try {
    assert.equal((await get(`${base}/livez`)).status, 200);
    assert.equal((await get(`${base}/readyz`)).status, 200);
    assert.equal((await get(`${base}/health/live`)).status, 404);
  } finally {
    await custom.close();
  }
  const off = await serve({ port: 0, host: '127.0.0.1', health: false });
  try {
    assert.equal((await get(off.url.replace('/metrics', '/health/live'))).status, 404);
  } finally {
    await off.close();
  }
  const bad = [
    [{ health: { livePath: 'live' } }, TypeError, /health.livePath must be a string starting with "\/"/],
    [{ health: { staleAfterMs: 0 } }, RangeError, /health.staleAfterMs must be an integer number of milliseconds >= 10, got number 0/],
    [{ health: { readyPath: '/metrics' } }, Error, /path "\/metrics" is used twice/],
    [{ health: 'yes' }, TypeError, /serve\(\): health takes an options object, got the string "yes"/],
    [{ health: { live: '/x' } }, TypeError, /serve\(\): health: unknown option "live"/],
  ];
  for (const [options, type, pattern] of bad) {
    await assert.rejects(serve({ port: 0, host: '127.0.0.1', ...options }), (e) => e instanceof type && pattern.test(e.message), String(pattern));
  }
});
