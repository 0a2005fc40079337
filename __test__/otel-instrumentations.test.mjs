// Real OpenTelemetry instrumentations record into slotmetrics/otel: instrumentation-http
// (server and client), instrumentation-undici (fetch) and instrumentation-runtime-node.
// The fixture hands every measurement to slotmetrics/otel and to the OpenTelemetry
// SDK at once; here each SDK point is found in slotmetrics' exposition under the
// specification's Prometheus name and labels, with the same count, sum and buckets.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSamples, runtime } from './helpers.mjs';

const FIXTURE = fileURLToPath(new URL('./fixtures/otel-instrumentations.cjs', import.meta.url));

// The SDK's data point types and instrument types this checks.
const HISTOGRAM_POINTS = 0;
const COUNTERS = new Set(['COUNTER', 'OBSERVABLE_COUNTER']);
const GAUGES = new Set(['GAUGE', 'OBSERVABLE_GAUGE']);
const UNIT_WORDS = { s: 'seconds', By: 'bytes', 1: '' };

/** The Prometheus name of an SDK metric, written out for the instruments these libraries have. */
function prometheusName({ name, unit, type }) {
  let exposed = name.replace(/[^a-zA-Z0-9]+/g, '_');
  const word = UNIT_WORDS[unit] ?? '';
  if (word !== '' && !exposed.endsWith(word)) exposed += `_${word}`;
  if (GAUGES.has(type) && unit === '1') exposed += '_ratio';
  if (COUNTERS.has(type)) exposed += '_total';
  return exposed;
}

/** A point's label text as the exposition writes it: attributes escaped, then the scope's, sorted by name. */
function labelText(attributes, scope) {
  const pairs = Object.entries(attributes).map(([key, value]) => [key.replace(/[^a-zA-Z0-9_]/g, '_'), String(value)]);
  pairs.push(['otel_scope_name', scope.name], ['otel_scope_version', scope.version]);
  pairs.sort(([a], [b]) => (a < b ? -1 : 1));
  return pairs.map(([key, value]) => `${key}="${value}"`).join(',');
}

test('instrumentation-http, -undici and -runtime-node record into slotmetrics/otel: every SDK point, under its Prometheus name, with the same count, sum and buckets', {
  timeout: 60_000,
}, () => {
  const run = spawnSync(process.execPath, [FIXTURE], { encoding: 'utf8', timeout: 50_000 });
  assert.equal(run.status, 0, run.stderr);
  const { sdk, text } = JSON.parse(run.stdout.trim().split('\n').at(-1));
  const samples = parseSamples(text);
  const checked = new Set();
  for (const { scope, metrics } of sdk) {
    for (const { descriptor, dataPoints, dataPointType } of metrics) {
      const name = prometheusName(descriptor);
      for (const point of dataPoints) {
        const labels = labelText(point.attributes, scope);
        if (dataPointType === HISTOGRAM_POINTS) {
          // The same measurements in the same order: the sums are the same doubles.
          const { count, sum, buckets } = point.value;
          assert.equal(samples.get(`${name}_count{${labels}}`), count, `${name}_count{${labels}}`);
          assert.equal(samples.get(`${name}_sum{${labels}}`), sum, `${name}_sum{${labels}}`);
          let cumulative = 0;
          buckets.boundaries.forEach((bound, i) => {
            cumulative += buckets.counts[i];
            assert.equal(samples.get(`${name}_bucket{${labels},le="${bound}"}`), cumulative, `${name} le=${bound}`);
          });
          assert.equal(samples.get(`${name}_bucket{${labels},le="+Inf"}`), count);
        } else if (descriptor.name.startsWith('nodejs.eventloop.delay.')) {
          // Its callback resets the delay histogram each time it runs and reports
          // nothing below 5 samples: after the SDK's run, slotmetrics' may see too few.
          assert.match(text, new RegExp(`^# TYPE ${name} gauge$`, 'm'));
        } else {
          // Observable callbacks ran once per provider, and their values move between runs: the series is there.
          assert.equal(typeof samples.get(`${name}{${labels}}`), 'number', `${name}{${labels}}\n${text}`);
        }
        checked.add(name);
      }
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
    assert.ok(text.includes(`otel_scope_name="${scope}"`) && text.includes('http_client_request_duration_seconds_count{'), scope);
  }
});
