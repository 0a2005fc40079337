// startReporter() and shutdown().
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { counterSchema, startReporter } from 'slotmetrics';
import { eventually } from './helpers.mjs';

test('startReporter() hands the exposition over on its interval until stopped', { timeout: 30_000 }, async () => {
  const c = counterSchema('reported_total').help('Reported').build();
  c.add(3);
  const exports = [];
  const stop = startReporter({ intervalMs: 20, onExport: (text) => exports.push(text) });
  await eventually(() => exports.length >= 2);
  stop();
  const count = exports.length;
  assert.ok(count >= 2, `exported ${count} times`);
  assert.match(exports.at(-1), /^reported_total 3$/m);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(exports.length, count, 'nothing after stop()');

  const om = [];
  const stopOm = startReporter({ intervalMs: 10, format: 'openmetrics', onExport: async (text) => om.push(text) });
  await eventually(() => om.length >= 1);
  stopOm();
  assert.ok(om[0]?.endsWith('# EOF\n'), `an OpenMetrics export: ${om[0]}`);

  assert.throws(() => startReporter({ intervalMs: 0, onExport: () => {} }), /intervalMs must be an integer from 1 to 2147483647, got number 0/);
  assert.throws(() => startReporter({ intervalMs: 10 }), /onExport must be a function, got undefined/);
});

test('shutdown() stops servers, reporters and sampling, flushes logs, and lets the process exit', { timeout: 30_000 }, () => {
  // Without shutdown() the open server would keep this child alive until killed.
  const run = spawnSync(
    process.execPath,
    [
      '-e',
      `
    const { serve, startReporter, collectDefaultMetrics, log, shutdown } = require('slotmetrics');
    (async () => {
      const server = await serve({ port: 0, host: '127.0.0.1' });
      startReporter({ intervalMs: 5, onExport: () => {} });
      collectDefaultMetrics();
      log.info('before shutdown');
      await shutdown();
      await shutdown(); // again: harmless
      const refused = await fetch(server.url).then(() => false, () => true);
      console.error(refused ? 'server closed' : 'server still open');
    })();`,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.signal, null, 'exited by itself');
  assert.match(run.stdout, /"msg":"before shutdown"/);
  assert.match(run.stderr, /server closed/);
});
