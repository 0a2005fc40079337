// The Rust HTTP server: routing, methods, negotiation, gzip, port errors, lifecycle.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { counterSchema, histogramSchema, registry, serve } from 'slotmetrics';

const TIMEOUT = { timeout: 30_000 };

/** A raw request, so no client quietly adds or strips headers. */
function request(url, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, timeout: 10_000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** `promise`, or a rejection naming what was awaited once `ms` have passed (after `giveUp()`). */
async function within(promise, ms, what, giveUp = () => {}) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(async () => {
      await giveUp();
      reject(new Error(`waited ${ms} ms for ${what}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

counterSchema('served_total').help('Served').requireDynamicKey('route').build().with({ route: '/a' }).add(7);
histogramSchema('served_seconds').help('Time').buckets([0.1]).build().observe(0.05);

test('serves the same text as registry.metrics(), in both formats, on 127.0.0.1', TIMEOUT, async () => {
  const server = await serve({ port: 0, host: '127.0.0.1' });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.ok(server.port > 0);
    const plain = await request(server.url);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), await registry.metrics());
    assert.match(plain.body.toString(), /^served_total\{route="\/a"\} 7$/m);

    const om = await request(server.url, {
      headers: { accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2,*/*;q=0.1' },
    });
    assert.equal(om.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores');
    assert.equal(om.body.toString(), await registry.metrics({ format: 'openmetrics' }));

    const zipped = await request(server.url, { headers: { 'accept-encoding': 'gzip, deflate' } });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(zipped.body).toString(), plain.body.toString());

    const head = await request(server.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-type'], plain.headers['content-type']);
  } finally {
    await server.close();
  }
});

test('other paths are 404 and other methods 405, with no internals in the body', TIMEOUT, async () => {
  const server = await serve({ port: 0, host: '127.0.0.1', path: '/custom' });
  try {
    assert.equal(server.url, `http://127.0.0.1:${server.port}/custom`);
    assert.equal((await request(server.url)).status, 200);
    const base = `http://127.0.0.1:${server.port}`;
    for (const path of ['/metrics', '/', '/custom/', '/customx', '/custom?x=1#']) {
      const r = await request(base + path);
      if (path.startsWith('/custom?')) {
        assert.equal(r.status, 200, 'a query string does not change the path');
        continue;
      }
      assert.equal(r.status, 404, path);
      assert.equal(r.body.toString(), 'Not Found\n');
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await request(server.url, { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
      assert.equal(r.body.toString(), 'Method Not Allowed\n');
    }
  } finally {
    await server.close();
  }
});

test('a port in use rejects with a clear error; the first server keeps serving', TIMEOUT, async () => {
  const first = await serve({ port: 0, host: '127.0.0.1' });
  try {
    await assert.rejects(serve({ port: first.port, host: '127.0.0.1' }), {
      message: `port ${first.port} on 127.0.0.1 is already in use (EADDRINUSE)`,
    });
    const other = net.createServer();
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const taken = other.address().port;
    await assert.rejects(serve({ port: taken, host: '127.0.0.1' }), /already in use/);
    other.close();
    assert.equal((await request(first.url)).status, 200);
  } finally {
    await first.close();
  }
});

test('bad options are refused before anything starts', async () => {
  const cases = [
    [{ port: -1 }, RangeError, /port must be an integer from 0 to 65535, got number -1/],
    [{ port: 70000 }, RangeError, /got number 70000/],
    [{ port: '9464' }, RangeError, /got the string "9464"/],
    [{ port: 1.5 }, RangeError, /got number 1.5/],
    [{ host: '' }, TypeError, /host must be a non-empty string/],
    [{ path: 'metrics' }, TypeError, /path must be a string starting with "\/"/],
    [{ prot: 9464 }, TypeError, /unknown option "prot"/],
    [null, TypeError, /serve\(\) takes an options object, got null/],
  ];
  for (const [options, type, pattern] of cases) {
    await assert.rejects(serve(options), (e) => e instanceof type && pattern.test(e.message), String(pattern));
  }
  await assert.rejects(serve({ host: 'no-such-host.invalid', port: 0 }), /cannot resolve host "no-such-host.invalid"/);
});

test('close() stops listening, is idempotent, and the port can be served again', TIMEOUT, async () => {
  const server = await serve({ port: 0, host: '127.0.0.1' });
  const { port } = server;
  await server.close();
  await server.close();
  await assert.rejects(request(server.url), /ECONNREFUSED/);
  const again = await serve({ port, host: '127.0.0.1' });
  assert.equal((await request(again.url)).status, 200);
  await again.close();
});

test('an open server keeps the process alive until close() or unref()', TIMEOUT, async () => {
  const { spawn } = await import('node:child_process');
  const run = (code) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const timer = setTimeout(() => child.kill(), 5_000);
      child.on('exit', (status, signal) => {
        clearTimeout(timer);
        resolve({ status, signal, out });
      });
    });
  const unrefd = await run(`require('slotmetrics').serve({ port: 0, host: '127.0.0.1' }).then((s) => { s.unref(); console.log('up'); })`);
  assert.deepEqual([unrefd.status, unrefd.out.trim()], [0, 'up'], 'exits by itself once unref()ed');
  const kept = await run(
    `require('slotmetrics').serve({ port: 0, host: '127.0.0.1' }).then((s) => { console.log('up'); setTimeout(() => s.close().then(() => console.log('closed')), 300); })`,
  );
  assert.deepEqual([kept.status, kept.out.trim()], [0, 'up\nclosed'], 'stays up until close()');
});

test('a server started by a worker outlives the worker, and serves what it counted', TIMEOUT, async () => {
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const { counterSchema, serve } = require('slotmetrics');
     counterSchema('from_worker_total').help('Counted by a worker').build().add(41);
     serve({ port: 0, host: '127.0.0.1' }).then((server) => {
       server.unref(); // let the worker exit with its server open
       parentPort.postMessage(server.url);
     });`,
    { eval: true },
  );
  // Listened for from the start: a worker that exits right after posting has both
  // events emitted in one go, before code awaiting the message could listen for 'exit'.
  const exited = once(worker, 'exit');
  // Each step bounded on its own, so a hang names the step (the test's timeout would not).
  const [url] = await within(once(worker, 'message'), 10_000, 'the worker to start its server');
  const [code] = await within(exited, 10_000, 'the worker to exit', () => worker.terminate());
  assert.equal(code, 0);
  const r = await request(url);
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /^from_worker_total 41$/m);
});

test('auth: the metrics path wants the credentials, compared whole; health stays open', TIMEOUT, async () => {
  for (const [auth, good, bad] of [
    [{ bearer: 's3cr3t-token' }, 'Bearer s3cr3t-token', ['Bearer s3cr3t-toke', 'Bearer s3cr3t-token2', 'Basic s3cr3t-token', '']],
    [
      { username: 'prom', password: 'p:w ü' },
      `Basic ${Buffer.from('prom:p:w ü').toString('base64')}`,
      [`Basic ${Buffer.from('prom:p:w').toString('base64')}`, 'Bearer x'],
    ],
  ]) {
    const server = await serve({ port: 0, host: '127.0.0.1', auth });
    try {
      const refused = await request(server.url);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.toString(), 'Unauthorized\n');
      assert.match(refused.headers['www-authenticate'], /^(Bearer|Basic) realm="metrics"/);
      for (const wrong of bad) {
        assert.equal((await request(server.url, { headers: { authorization: wrong } })).status, 401, wrong);
      }
      const ok = await request(server.url, { headers: { authorization: good } });
      assert.equal(ok.status, 200);
      assert.match(ok.body.toString(), /served_total/);
      assert.equal((await request(server.url.replace('/metrics', '/health/live'))).status, 200, 'probes need no credentials');
    } finally {
      await server.close();
    }
  }
  for (const auth of [{ bearer: '' }, { bearer: 'has space' }, { username: 'a:b', password: 'x' }, { token: 'x' }, 'secret']) {
    await assert.rejects(serve({ port: 0, host: '127.0.0.1', auth }), TypeError, JSON.stringify(auth));
  }
});
