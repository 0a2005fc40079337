// slotmetrics/prom-client in a Node cluster: AggregatorRegistry and the aggregators,
// side by side with prom-client 15.1.3; and registries holding objects that are not
// metrics of the entry (custom collectors), which aggregated registries are made of.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as compat from 'slotmetrics/prom-client';
import { outcomeOf, parseOpenMetricsStrict, promtoolCheck } from './helpers.mjs';

const require = createRequire(import.meta.url);
const real = require('prom-client');
const fixture = fileURLToPath(new URL('./fixtures/cluster-metrics.cjs', import.meta.url));

function clusterMetrics(client, env = {}) {
  const run = spawnSync(process.execPath, [fixture], { env: { ...process.env, CLIENT: client, ...env }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, `${client}: ${run.stderr}`);
  return run.stdout;
}

test("clusterMetrics() aggregates 3 workers' metrics as prom-client does, each with its aggregator", { timeout: 90_000 }, () => {
  const ours = clusterMetrics('slotmetrics/prom-client');
  assert.equal(ours, clusterMetrics('prom-client'));
  for (const line of [
    'jobs_total{queue="a"} 6',
    'temperature 20',
    'coldest -5',
    'load 1',
    'version 7',
    'latency_bucket{le="1"} 2',
    'latency_count 3',
    'size{quantile="0.5"} 3',
  ]) {
    assert.ok(ours.split('\n').includes(line), `${line} in:\n${ours}`);
  }
  assert.doesNotMatch(ours, /pid_like/, "the 'omit' aggregator leaves a metric out");
  assert.equal(promtoolCheck(ours).status, 0, promtoolCheck(ours).output);
});

test("in a multi-process group, clusterMetrics() reads shared memory: workers answer nothing, the text is prom-client's but for quantiles", {
  timeout: 90_000,
}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slotmetrics-cluster-group-'));
  const ours = clusterMetrics('slotmetrics/prom-client', { SLOTMETRICS_MULTIPROCESS_DIR: dir, SILENT_WORKERS: '1' });
  // prom-client sums the workers' quantiles (0 + 1 + 2 for the median here); the group's
  // summary has quantiles of the primary's own observations (none).
  const quantilesLeftOut = (text) =>
    text
      .split('\n')
      .filter((line) => !line.includes('quantile='))
      .join('\n');
  assert.equal(quantilesLeftOut(ours), quantilesLeftOut(clusterMetrics('prom-client')));
  assert.ok(ours.split('\n').includes('temperature 20'), ours);
  assert.doesNotMatch(ours, /pid_like/, "an 'omit' gauge is left out of a group's metrics");
  assert.equal(promtoolCheck(ours).status, 0, promtoolCheck(ours).output);
  fs.rmSync(dir, { recursive: true });
});

test('AggregatorRegistry.aggregate(), the aggregators and setRegistries() behave as prom-client', async () => {
  const workerMetrics = (worker) => [
    {
      name: 'requests',
      help: 'Requests',
      type: 'counter',
      aggregator: 'sum',
      values: [
        { value: worker + 1, labels: { code: '200' } },
        { value: 2, labels: { code: '500' } },
      ],
    },
    { name: 'ratio', help: 'Ratio', type: 'gauge', aggregator: 'average', values: [{ value: worker / 4, labels: {} }] },
    { name: 'peak', help: 'Peak', type: 'gauge', aggregator: 'max', values: [{ value: worker * 3, labels: { pool: 'a"b' } }] },
    { name: 'started', help: 'Start', type: 'gauge', aggregator: 'omit', values: [{ value: worker, labels: {} }] },
    {
      name: 'latency',
      help: 'Latency',
      type: 'histogram',
      aggregator: 'sum',
      values: [
        { metricName: 'latency_bucket', value: worker, labels: { le: 1 } },
        { metricName: 'latency_bucket', value: worker + 1, labels: { le: '+Inf' } },
        { metricName: 'latency_sum', value: 0.5, labels: {} },
        { metricName: 'latency_count', value: worker + 1, labels: {} },
      ],
    },
  ];
  const inputs = [0, 1, 2].map(workerMetrics);
  for (const type of [real.Registry.PROMETHEUS_CONTENT_TYPE, real.Registry.OPENMETRICS_CONTENT_TYPE]) {
    const [theirs, ours] = [real, compat].map((client) => {
      const registry = client.AggregatorRegistry.aggregate(inputs, type);
      registry.setDefaultLabels({ host: 'h1' });
      return registry;
    });
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
    assert.equal(await ours.getSingleMetricAsString('peak'), await theirs.getSingleMetricAsString('peak'));
    if (type === real.Registry.OPENMETRICS_CONTENT_TYPE) parseOpenMetricsStrict(await ours.metrics());
  }
  for (const name of ['sum', 'first', 'min', 'max', 'average']) {
    assert.deepEqual(compat.aggregators[name](inputs.map((m) => m[0])), real.aggregators[name](inputs.map((m) => m[0])), name);
  }
  assert.equal(compat.aggregators.omit(inputs.map((m) => m[0])), undefined);

  for (const call of [
    (client) => client.AggregatorRegistry.aggregate([[{ name: 'x', help: 'h', type: 'gauge', aggregator: 'median', values: [] }]]),
    (client) => client.AggregatorRegistry.aggregate([[{ name: 'x', help: 'h', type: 'gauge', values: [] }]]),
    (client) => client.AggregatorRegistry.setRegistries([{}]),
    (client) => client.AggregatorRegistry.setRegistries(new client.Registry()),
  ]) {
    assert.equal(
      outcomeOf(() => call(compat)),
      outcomeOf(() => call(real)),
      String(call),
    );
  }
  compat.AggregatorRegistry.setRegistries(compat.register);
});

test('a registry renders objects registered beside its metrics (custom collectors) as prom-client does', async () => {
  const texts = [];
  for (const client of [real, compat]) {
    const registry = new client.Registry();
    new client.Gauge({ name: 'own_gauge', help: 'Own', registers: [registry] }).set(3);
    const custom = {
      name: 'custom_total',
      get: () => ({
        name: 'custom_total',
        help: 'A custom\ncollector',
        type: 'counter',
        values: [
          { value: 5, labels: { kind: 'x\\y' }, exemplar: { labelSet: { traceId: 'c1', n: 2 }, value: 0.5, timestamp: 1700000000.25 } },
          { value: NaN, labels: {} },
        ],
      }),
    };
    registry.registerMetric(custom);
    assert.throws(() => registry.registerMetric({ ...custom }), { message: 'A metric with the name custom_total has already been registered.' });
    registry.setDefaultLabels({ app: 'a' });
    texts.push(await registry.metrics(), await registry.getSingleMetricAsString('custom_total'));
    // Exemplars only in OpenMetrics.
    registry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
    texts.push(await registry.metrics());
    registry.removeSingleMetric('custom_total');
    texts.push(await registry.metrics());
  }
  assert.match(texts[0], / Nan$/m, 'NaN as prom-client writes it');
  assert.deepEqual(texts.slice(4), texts.slice(0, 4));
  assert.match(texts[6], /^custom_total_total\{kind="x\\\\y",app="a"\} 5 # \{traceId="c1",n="2"\} 0\.5 1700000000\.25$/m);
  assert.doesNotMatch(texts[4], / # /);
});
