// Real OpenTelemetry instrumentations record into slotmetrics/otel: instrumentation-http
// (server and client), instrumentation-undici (fetch) and instrumentation-runtime-node.
// The fixture hands every measurement to slotmetrics/otel and to the OpenTelemetry
// SDK at once; here each SDK point is found in slotmetrics' exposition under the
// specification's Prometheus name and labels, with the same count, sum and buckets.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSamples, runtime } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { disagreements, prometheusName } = require('./fixtures/sdk-oracle.cjs');
const FIXTURE = fileURLToPath(new URL('./fixtures/otel-instrumentations.cjs', import.meta.url));

test('instrumentation-http, -undici and -runtime-node record into slotmetrics/otel: every SDK point, under its Prometheus name, with the same count, sum and buckets', {
  timeout: 60_000,
}, () => {
  const run = spawnSync(process.execPath, [FIXTURE], { encoding: 'utf8', timeout: 50_000 });
  assert.equal(run.status, 0, run.stderr);
  const { sdk, text } = JSON.parse(run.stdout.trim().split('\n').at(-1));
  // Its callback resets the delay histogram each time it runs and reports nothing below
  // 5 samples: after the SDK's run, slotmetrics' may see too few.
  const delay = (metric) => metric.descriptor.name.startsWith('nodejs.eventloop.delay.');
  // Observable callbacks ran once per provider, and their values move between runs:
  // their series are checked for being there, every other point for its values.
  const observed = (metric) => metric.descriptor.type.startsWith('OBSERVABLE');
  // The same measurements in the same order: the histograms' sums are the same doubles.
  assert.deepEqual(
    disagreements(sdk, parseSamples(text), (metric) => delay(metric) || observed(metric)),
    [],
  );
  const checked = new Set();
  for (const { metrics } of sdk) {
    for (const metric of metrics) {
      const name = prometheusName(metric.descriptor);
      checked.add(name);
      if (delay(metric)) assert.match(text, new RegExp(`^# TYPE ${name} gauge$`, 'm'));
      else if (observed(metric)) assert.match(text, new RegExp(`^${name}\\{`, 'm'), name);
    }
  }
  for (const expected of [
    'http_server_request_duration_seconds',
    'http_client_request_duration_seconds',
    'v8js_memory_heap_used_bytes',
    'nodejs_eventloop_utilization_ratio',
    'nodejs_eventloop_time_seconds_total',
  ]) {
    assert.ok(checked.has(expected), `${expected} was recorded by the SDK and checked (checked: ${[...checked].join(', ')})`);
  }
  // Both libraries' client durations are one metric, told apart by their scope
  // (Deno's fetch is its own, not undici: only Node's is instrumented).
  const clientScopes = ['@opentelemetry/instrumentation-http', ...(runtime === 'node' ? ['@opentelemetry/instrumentation-undici'] : [])];
  for (const scope of clientScopes) {
    assert.match(
      text,
      new RegExp(`^http_client_request_duration_seconds_count\\{.*otel_scope_name="${scope.replace('/', '\\/')}".*\\} \\d+$`, 'm'),
      scope,
    );
  }
});
