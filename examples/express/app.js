// An Express service instrumented with slotmetrics: request metrics by route pattern,
// the default runtime metrics, a readiness check, and /metrics served by Rust on its
// own port, off the event loop.
//   node examples/express/app.js      (PORT, METRICS_PORT; 0 picks free ports)
'use strict';

const express = require('express');
const { collectDefaultMetrics, counterSchema, health, httpMetrics, serve } = require('slotmetrics');

collectDefaultMetrics();
const orders = counterSchema('shop_orders_total').help('Orders placed').requireDynamicKey('payment').build();

const app = express();
app.use(httpMetrics().express());
app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
app.post('/orders', (req, res) => {
  orders.with({ payment: req.query.payment ?? 'card' }).increment();
  res.status(201).json({ ok: true });
});

async function main() {
  const metrics = await serve({ port: Number(process.env.METRICS_PORT ?? 9464), host: '127.0.0.1' });
  const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    health.setReady('http', true);
    console.log(`listening: http://127.0.0.1:${server.address().port} metrics: ${metrics.url}`);
  });
  process.on('SIGTERM', () => server.close(() => metrics.close()));
}

main();
