// An app instrumented with OpenTelemetry's own instrumentations, recording into
// slotmetrics: `slotmetrics/otel/register` makes the global MeterProvider one whose
// instruments write slot memory, and instrumentation-http then records
// http.server.request.duration for every request, exposed as
// http_server_request_duration_seconds beside the app's other metrics.
//   node examples/opentelemetry/app.js   (PORT, METRICS_PORT; 0 picks free ports)
'use strict';

// First: a meter obtained before a provider is registered stays a no-op.
require('slotmetrics/otel/register');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');

registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

// Required after the instrumentation, so that it patches `http`.
const http = require('node:http');
const { metrics } = require('@opentelemetry/api');
const { serve } = require('slotmetrics');

const greetings = metrics.getMeter('greeter', '1.0.0').createCounter('greeter.greetings', { description: 'Greetings sent' });

const server = http.createServer((_req, res) => {
  greetings.add(1, { 'greeting.language': 'en' });
  res.end('hello\n');
});

serve({ port: Number(process.env.METRICS_PORT ?? 9464), host: '127.0.0.1' }).then((metricsServer) => {
  server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    console.log(`listening: http://127.0.0.1:${server.address().port} metrics: ${metricsServer.url}`);
  });
  process.on('SIGTERM', () => server.close(() => metricsServer.close()));
});
