// The demo's metrics (seed 002's examples). Every thread requires this file: built in
// each, the schemas are the same metrics, so nothing has to be passed between threads.
const { counterSchema, gaugeSchema, gaugeSchemaFloat, histogramSchema } = require('slotmetrics');

const requests = counterSchema('http_requests_total')
  .help('HTTP requests served')
  .staticLabel('service', 'my-api')
  .staticLabel('version', '1.0')
  .requireDynamicKey('status_code')
  .requireDynamicKey('method')
  .build();

const memory = gaugeSchema('memory_usage_bytes')
  .help('Heap used by each thread, in bytes')
  .staticLabel('service', 'my-api')
  .requireDynamicKey('thread')
  .build();

const cpu = gaugeSchemaFloat('cpu_usage_percent')
  .help('Simulated CPU usage by core')
  .staticLabel('service', 'my-api')
  .requireDynamicKey('cpu_id')
  .build();

const latency = histogramSchema('request_duration_seconds')
  .help('Request latency')
  .buckets([0.005, 0.01, 0.05, 0.1, 0.5, 1, 5])
  .requireDynamicKey('route')
  .build();

module.exports = { requests, memory, cpu, latency };
