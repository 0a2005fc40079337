// docs/: the scrape config and alert rules are valid for Prometheus, and every metric
// the alerts and the Grafana dashboard query is one slotmetrics produces.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { collectDefaultMetrics, health, httpMetrics, log, registry, shutdown } from 'slotmetrics';

const docs = (name) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));

function promtool(...args) {
  const run = spawnSync('promtool', args, { encoding: 'utf8', timeout: 30_000 });
  if (run.error) throw run.error;
  return { status: run.status, output: run.stdout + run.stderr };
}

/** The metric names a PromQL expression reads (not functions, labels or `up`). */
function metricNames(expr) {
  const PROMQL = new Set([
    'sum',
    'min',
    'max',
    'avg',
    'rate',
    'irate',
    'increase',
    'histogram_quantile',
    'by',
    'without',
    'and',
    'or',
    'unless',
    'up',
  ]);
  const bare = expr
    .replace(/label_values\(([^,]+),[^)]*\)/g, '$1') // its second argument is a label
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, '');
  return (bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []).filter((word) => !PROMQL.has(word));
}

test('docs/prometheus.yml and docs/alerts.yml pass promtool', () => {
  for (const [what, file] of [
    ['config', 'prometheus.yml'],
    ['rules', 'alerts.yml'],
  ]) {
    const { status, output } = promtool('check', what, docs(file));
    assert.equal(status, 0, output);
  }
});

test('every metric the alerts and the dashboard query exists', { timeout: 30_000 }, async () => {
  log.configure({ destination: '/dev/null' });
  collectDefaultMetrics();
  httpMetrics().record('GET', '/users/:id', 200, 0.01);
  health.setReady('database', true);
  log.info('one line');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const produced = new Set();
  for (const line of (await registry.metrics()).split('\n')) {
    const [, family, type] = line.match(/^# TYPE (\S+) (\S+)$/) ?? [];
    if (family) {
      // A histogram's series may not exist yet (no GC so far, say); its names do.
      const names = type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => family + s) : [family];
      for (const name of names) produced.add(name);
    }
  }
  await shutdown();

  const alerts = fs.readFileSync(docs('alerts.yml'), 'utf8');
  const alertExprs = [...alerts.matchAll(/expr: (?:>\n((?: {10}.*\n)+)|(.*)\n)/g)].map((m) => m[1] ?? m[2]);
  const dashboard = JSON.parse(fs.readFileSync(docs('grafana-dashboard.json'), 'utf8'));
  const panelExprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
  const variableExprs = dashboard.templating.list.filter((v) => v.type === 'query').map((v) => v.query);
  assert.equal(alertExprs.length, 6);
  assert.ok(panelExprs.length >= 10);
  for (const expr of [...alertExprs, ...panelExprs, ...variableExprs]) {
    const names = metricNames(expr);
    assert.ok(names.length > 0 || expr.includes('up{'), `no metric found in ${expr}`);
    for (const name of names) assert.ok(produced.has(name), `"${name}" (in ${expr.trim()}) is not produced`);
  }
});
