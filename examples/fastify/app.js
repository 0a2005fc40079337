// A Fastify service instrumented with slotmetrics, serving /metrics from its own
// routes: `registry.scrape()` answers each scraper in the format it asks for
// (OpenMetrics for Prometheus 3, protobuf with native histograms on), rendered on a
// libuv thread rather than the event loop.
//   node examples/fastify/app.js      (PORT; 0 picks a free port)
'use strict';

const fastify = require('fastify');
const { histogramSchema, httpMetrics, registry } = require('slotmetrics');

const lookups = histogramSchema('inventory_lookup_seconds').help('Time to look an item up').buckets([0.0005, 0.001, 0.005, 0.01]).native().build();

const app = fastify();
httpMetrics().fastify(app);
app.get('/items/:itemId', async (request) => {
  const stop = lookups.startTimer();
  const item = { id: request.params.itemId, stock: 3 };
  stop();
  return item;
});
app.get('/metrics', async (request, reply) => {
  const { contentType, body } = await registry.scrape(request.headers.accept);
  reply.header('content-type', contentType);
  return typeof body === 'string' ? body : Buffer.from(body);
});

app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' }).then((address) => {
  console.log(`listening: ${address} metrics: ${address}/metrics`);
});
process.on('SIGTERM', () => app.close());
