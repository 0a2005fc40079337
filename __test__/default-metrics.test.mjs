// collectDefaultMetrics(): the same names, types, label names and help as prom-client
// 15's, checked against prom-client itself in the same run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import client from 'prom-client';
import { collectDefaultMetrics, registry } from 'slotmetrics';
import { parseSamples, promtoolCheck } from './helpers.mjs';

const OPTIONS = { prefix: 'app_', labels: { service: 'api' } };

/** name → { type, help, labels: Set } from a text 0.0.4 body; `le` left out. */
function describeText(text) {
  const families = new Map();
  const family = (name) => families.get(name) ?? families.set(name, { labels: new Set() }).get(name);
  for (const line of text.split('\n')) {
    const meta = line.match(/^# (HELP|TYPE) (\S+) (.*)$/);
    if (meta) {
      family(meta[2])[meta[1] === 'HELP' ? 'help' : 'type'] = meta[3];
      continue;
    }
    const sample = line.match(/^([a-zA-Z_:][\w:]*?)(?:_bucket|_sum|_count)?\{(.*)\} /);
    if (sample && families.has(sample[1])) {
      for (const [, key] of sample[2].matchAll(/([a-zA-Z_]\w*)="(?:[^"\\]|\\.)*"/g)) if (key !== 'le') family(sample[1]).labels.add(key);
    }
  }
  return families;
}

test("the default metrics match prom-client 15's names, types, labels and help", async () => {
  collectDefaultMetrics(OPTIONS);
  const theirs = new client.Registry();
  client.collectDefaultMetrics({ register: theirs, ...OPTIONS });
  // Let a GC happen and both sides sample once more.
  const garbage = [];
  for (let i = 0; i < 200_000; i++) garbage.push({ i });
  await new Promise((resolve) => setTimeout(resolve, 1200));

  const ours = describeText(await registry.metrics());
  const expected = describeText(await theirs.metrics());
  assert.ok(expected.size >= 30, `prom-client produced ${expected.size} families`);
  assert.deepEqual([...ours.keys()].sort(), [...expected.keys()].sort(), 'the same metric names');
  for (const [name, want] of expected) {
    const got = ours.get(name);
    assert.equal(got.type, want.type, `${name}: type`);
    assert.equal(got.help, want.help, `${name}: help`);
    // Label names wherever prom-client has samples to show them.
    if (want.labels.size > 0) assert.deepEqual([...got.labels].sort(), [...want.labels].sort(), `${name}: labels`);
  }
  garbage.length = 0;
});

test('the process figures read from /proc are those of this process', async () => {
  const s = parseSamples(await registry.metrics());
  const value = (name) => s.get(`app_${name}{service="api"}`);
  const now = Date.now() / 1000;
  assert.ok(Math.abs(value('process_start_time_seconds') - (now - process.uptime())) < 2, 'start time');
  assert.ok(Math.abs(value('process_resident_memory_bytes') - process.memoryUsage().rss) < 50e6, 'resident memory');
  assert.ok(value('process_open_fds') >= 3 && value('process_open_fds') < value('process_max_fds'));
  const cpu = process.cpuUsage();
  assert.ok(Math.abs(value('process_cpu_seconds_total') - (cpu.user + cpu.system) / 1e6) < 0.5, 'cpu seconds');
  assert.equal(value('process_cpu_seconds_total'), value('process_cpu_user_seconds_total') + value('process_cpu_system_seconds_total'));
  assert.equal(
    s.get(
      `app_nodejs_version_info{service="api",version="${process.version}",major="${process.versions.node.split('.')[0]}",minor="${process.versions.node.split('.')[1]}",patch="${process.versions.node.split('.')[2]}"}`,
    ),
    1,
  );
  assert.ok(value('nodejs_heap_size_used_bytes') > 1e6);
});

test("the whole body with default metrics passes promtool, but for the lint on prom-client's own names", async () => {
  const { status, output } = promtoolCheck(await registry.metrics());
  // prom-client names three gauges *_total; matching its names is the point, so
  // promtool's lint (exit 3, not a parse error) about those three is expected.
  const problems = output
    .trim()
    .split('\n')
    .filter((line) => line !== '');
  const expected = ['handles', 'requests', 'resources'].map(
    (kind) => `app_nodejs_active_${kind}_total non-counter metrics should not have "_total" suffix`,
  );
  assert.equal(status, 3, output);
  assert.deepEqual(problems, expected);
});

test('bad options are refused', () => {
  // Running already: a second call returns the same stop function without checking.
  const stop = collectDefaultMetrics();
  assert.equal(collectDefaultMetrics({ prefix: 'other_' }), stop);
  stop();
  assert.throws(() => collectDefaultMetrics({ prefix: 1 }), /prefix must be a string, got number 1/);
  assert.throws(() => collectDefaultMetrics({ labels: { a: 1 } }), /labels must be an object of strings/);
  assert.throws(
    () => collectDefaultMetrics({ sampleIntervalMs: 0 }),
    /sampleIntervalMs must be an integer from 1 to 2147483647 milliseconds, got number 0/,
  );
  assert.throws(() => collectDefaultMetrics({ registers: [] }), /unknown option "registers"/);
});
