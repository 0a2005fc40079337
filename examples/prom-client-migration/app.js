// A small Express app instrumented the prom-client way. Moving it to slotmetrics took
// one line: the require below (it was `require('prom-client')`). Its /metrics keeps the
// same text; the metrics now live in shared memory that worker threads also update.
//   node examples/prom-client-migration/app.js   (PORT=0 picks a free port)
'use strict';

const express = require('express');
const client = require('slotmetrics/prom-client');

const requests = new client.Counter({
  name: 'http_requests_total',
  help: 'Total HTTP requests',
  labelNames: ['method', 'route', 'status'],
});
const duration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration in seconds',
  labelNames: ['method', 'route'],
  buckets: client.exponentialBuckets(0.001, 4, 6),
});
const inFlight = new client.Gauge({ name: 'http_requests_in_flight', help: 'Requests being served' });
client.register.setDefaultLabels({ app: 'shop' });

const app = express();
app.use((req, res, next) => {
  inFlight.inc();
  const end = duration.startTimer({ method: req.method });
  res.on('finish', () => {
    const route = req.route?.path ?? 'unmatched';
    requests.inc({ method: req.method, route, status: res.statusCode });
    end({ route });
    inFlight.dec();
  });
  next();
});
app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
app.get('/metrics', async (_req, res) => {
  res.set('Content-Type', client.register.contentType);
  res.end(await client.register.metrics());
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening: http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => server.close());
