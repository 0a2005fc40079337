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

/**
 * Each error the modules in `files` construct with a template literal: its whole
 * statement, and the literal text between its placeholders.
 */
function errorTemplates(files) {
  return files.flatMap((file) => {
    const source = fs.readFileSync(new URL(`../lib/${file}`, import.meta.url), 'utf8');
    return [...source.matchAll(/new (?:Type|Range)?Error\(\s*`([^`]*)`/g)].map((match) => ({
      file,
      statement: source.slice(match.index, source.indexOf(';', match.index)),
      fragments: match[1].split(/\$\{[^}]*\}/).map((fragment) => fragment.trim()),
    }));
  });
}

test('docs/troubleshooting.md names every warning code, and every error of defining, recording and serving', () => {
  const guide = fs.readFileSync(docs('troubleshooting.md'), 'utf8');
  const sources = fs.readdirSync(new URL('../lib', import.meta.url), { recursive: true }).filter((file) => file.endsWith('.ts'));
  const codes = new Set(
    sources.flatMap((file) =>
      [...fs.readFileSync(new URL(`../lib/${file}`, import.meta.url), 'utf8').matchAll(/code: '(SLOTMETRICS_\w+)'/g)].map((m) => m[1]),
    ),
  );
  assert.ok(codes.size >= 3);
  for (const code of codes) assert.ok(guide.includes(`\`${code}\``), `${code} is not in the guide`);

  // Argument checks all read "<call>: <option> must be <what>, got <value>" (or "takes
  // <what>, got"), which the guide's Arguments section covers as one pattern.
  const argumentCheck = /\b(must be|takes)\b.*\bgot\b/;
  // Invariants a caller cannot reach: a family's cache is made only for dynamic keys; a
  // native window is placed by the arithmetic that is checked against it.
  const invariants = ['has no dynamic keys to look up', 'no window holds'];
  const files = ['metrics/counter.ts', 'metrics/gauge.ts', 'metrics/histogram.ts', 'metrics/summary.ts', 'metrics/labels.ts'];
  const checked = errorTemplates([...files, 'metrics/schema.ts', 'metrics/helpers.ts', 'metrics/nativeHistogram.ts', 'exposition/server.ts']);
  assert.ok(checked.length >= 30, `${checked.length} errors found`);
  for (const { file, statement, fragments } of checked) {
    const text = fragments.join(' … ');
    if (argumentCheck.test(statement.replace(/\s+/g, ' ')) || invariants.some((invariant) => text.includes(invariant))) continue;
    const longest = [...fragments].sort((a, b) => b.length - a.length)[0];
    assert.ok(guide.includes(longest), `${file}: "${text}" is not in the guide`);
  }
});
