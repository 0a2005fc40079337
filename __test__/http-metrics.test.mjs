// HTTP metrics for Express, Fastify and node:http: route patterns, never raw URLs.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { httpMetrics, registry } from 'slotmetrics';
import { parseSamples } from './helpers.mjs';

const metrics = httpMetrics();

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

const requests = async (base, paths) => {
  for (const [method, path] of paths) await (await fetch(base + path, { method })).text();
};

const series = async (route, method, code) => {
  const s = parseSamples(await registry.metrics());
  const labels = `method="${method}",route="${route}",status_code="${code}"`;
  return { count: s.get(`http_requests_total{${labels}}`), observed: s.get(`http_request_duration_seconds_count{${labels}}`) };
};

test('Express: the matched route pattern, nested routers included; "" for no route', { timeout: 30_000 }, async () => {
  const app = express();
  app.use(metrics.express());
  app.get('/users/:id', (_req, res) => res.send('user'));
  const api = express.Router();
  api.post('/items/:itemId', (_req, res) => res.status(201).send('created'));
  app.use('/api', api);
  const server = http.createServer(app);
  const base = await listen(server);
  try {
    await requests(base, [
      ['GET', '/users/1'],
      ['GET', '/users/2'],
      ['POST', '/api/items/9'],
      ['GET', '/no/such/page'],
      ['GET', '/another/miss'],
    ]);
    assert.deepEqual(await series('/users/:id', 'GET', '200'), { count: 2, observed: 2 });
    assert.deepEqual(await series('/api/items/:itemId', 'POST', '201'), { count: 1, observed: 1 });
    assert.deepEqual(await series('', 'GET', '404'), { count: 2, observed: 2 });
    const text = await registry.metrics();
    assert.ok(!text.includes('/users/1') && !text.includes('/no/such/page'), 'no raw URL becomes a label value');
  } finally {
    server.close();
  }
});

test('Fastify: the route pattern from the router; "" for no route', { timeout: 30_000 }, async () => {
  const app = Fastify();
  metrics.fastify(app);
  app.get('/orders/:orderId', async () => 'order');
  app.delete('/orders/:orderId', async (_request, reply) => reply.code(204).send());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${app.server.address().port}`;
  try {
    await requests(base, [
      ['GET', '/orders/1'],
      ['GET', '/orders/2'],
      ['GET', '/orders/3'],
      ['DELETE', '/orders/1'],
      ['GET', '/missing'],
    ]);
    assert.deepEqual(await series('/orders/:orderId', 'GET', '200'), { count: 3, observed: 3 });
    assert.deepEqual(await series('/orders/:orderId', 'DELETE', '204'), { count: 1, observed: 1 });
    assert.equal((await series('', 'GET', '404')).count >= 1, true);
  } finally {
    await app.close();
  }
});

test('node:http: the route a function names, else ""; durations land in the histogram', { timeout: 30_000 }, async () => {
  const server = http.createServer((req, res) => setTimeout(() => res.end('ok'), req.url === '/slow' ? 30 : 0));
  const stop = metrics.observe(server, (req) => (req.url.startsWith('/health') ? '/health' : ''));
  const base = await listen(server);
  try {
    const before = (await series('', 'PUT', '200')).count ?? 0;
    await requests(base, [
      ['PUT', '/health/a'],
      ['PUT', '/health/b'],
      ['PUT', '/slow'],
    ]);
    assert.deepEqual(await series('/health', 'PUT', '200'), { count: 2, observed: 2 });
    assert.equal((await series('', 'PUT', '200')).count, before + 1);
    const s = parseSamples(await registry.metrics());
    assert.ok(s.get('http_request_duration_seconds_sum{method="PUT",route="",status_code="200"}') >= 0.025, 'the slow request took 30 ms');
    stop();
    await requests(base, [['PUT', '/health/c']]);
    assert.equal((await series('/health', 'PUT', '200')).count, 2, 'nothing counted after stop()');
  } finally {
    server.close();
  }
  assert.throws(() => metrics.observe(server, 'route'), /route must be a function, got the string "route"/);
  assert.throws(() => httpMetrics({ prefix: 3 }), /prefix must be a string/);
});
