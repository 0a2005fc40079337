// @willsoto/nestjs-prometheus 6 on slotmetrics/prom-client (its `prom-client` stood in
// by scripts/test-wrappers.mjs): the module's /metrics controller, default metrics, and
// metrics made with its providers and injected by token.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(`${process.cwd()}/`);
require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { PrometheusModule, makeCounterProvider, makeHistogramProvider, getToken } = require('@willsoto/nestjs-prometheus');

test('the module serves its metrics and default metrics; injected metrics count', { timeout: 30_000 }, async () => {
  require('prom-client').register.clear();
  class AppModule {}
  Module({
    imports: [PrometheusModule.register({ defaultLabels: { app: 'nest' } })],
    providers: [
      makeCounterProvider({ name: 'jobs_total', help: 'Jobs', labelNames: ['queue'] }),
      makeHistogramProvider({ name: 'job_seconds', help: 'Job duration', buckets: [0.1, 1] }),
    ],
  })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  try {
    app.get(getToken('jobs_total')).inc({ queue: 'mail' }, 3);
    app.get(getToken('job_seconds')).observe(0.5);
    const response = await fetch(`${await app.getUrl()}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /^jobs_total\{queue="mail",app="nest"\} 3$/m);
    assert.match(text, /^job_seconds_bucket\{le="1",app="nest"\} 1$/m);
    assert.match(text, /^process_cpu_user_seconds_total\{app="nest"\} \d/m, 'default metrics, with the default labels');
    // The prom-client the module uses is the entry: the same metric objects.
    assert.equal(require('prom-client').register.getSingleMetric('jobs_total'), app.get(getToken('jobs_total')));
    assert.equal(require('slotmetrics/prom-client').register, require('prom-client').register);
  } finally {
    await app.close();
  }
});
