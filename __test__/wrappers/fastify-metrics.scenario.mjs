// fastify-metrics 13 on slotmetrics/prom-client: given through its `promClient` option,
// and as the `prom-client` it resolves (scripts/test-wrappers.mjs stands it in).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(`${process.cwd()}/`);
const { fastify } = require('fastify');
const fastifyMetrics = require('fastify-metrics').default;
const entry = require('slotmetrics/prom-client');

async function requestAll(options) {
  entry.register.clear();
  const app = fastify();
  await app.register(fastifyMetrics, { endpoint: '/metrics', ...options });
  app.get('/users/:id', async () => 'ok');
  app.get('/fail', async (_request, reply) => reply.code(503).send('no'));
  await app.ready();
  for (const url of ['/users/1', '/users/2', '/fail']) await app.inject({ method: 'GET', url });
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  await app.close();
  return { app, response };
}

test('through its promClient option: route histogram and summary, default metrics, at /metrics', async () => {
  const { app, response } = await requestAll({ promClient: entry });
  assert.equal(app.metrics.client, entry);
  assert.equal(response.statusCode, 200);
  const text = response.payload;
  assert.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/users\/:id",status_code="200"\} 2$/m);
  assert.match(text, /^http_request_summary_seconds_count\{method="GET",route="\/users\/:id",status_code="200"\} 2$/m);
  assert.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/fail",status_code="503"\} 1$/m);
  assert.match(text, /^http_request_summary_seconds\{quantile="0\.5",method="GET",route="\/fail",status_code="503"\} [\d.e-]+$/m);
  assert.match(text, /^process_cpu_user_seconds_total \d/m, 'default metrics');
});

test("as the prom-client it resolves: the same metrics, in slotmetrics' own registry too", async () => {
  const { app, response } = await requestAll({});
  assert.equal(app.metrics.client.register, entry.register, 'prom-client is the entry');
  assert.match(response.payload, /^http_request_duration_seconds_count\{method="GET",route="\/users\/:id",status_code="200"\} 2$/m);
  assert.match(
    await require('slotmetrics').registry.metrics(),
    /^http_request_summary_seconds_count\{method="GET",route="\/users\/:id",status_code="200"\} 2$/m,
  );
});
