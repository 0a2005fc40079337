// process.exit() at any moment (mid-scrape, while workers count, while a scrape is
// being rendered off the event loop) ends the process with the code asked for: no
// crash, no hang.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const RUNS = 30;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Serves, lets two workers count at full speed and four loops scrape (two over HTTP,
// two through registry.metrics()), and exits with code 7 after `delay` ms.
const CHILD = `
const { Worker } = require('node:worker_threads');
const { counterSchema, histogramSchema, registry, serve } = require('slotmetrics');
const delay = Number(process.argv[1]);
const ops = counterSchema('exit_ops_total').requireDynamicKey('k').build();
histogramSchema('exit_sizes').build();
for (let i = 0; i < 2000; i++) ops.with({ k: String(i) }).increment();
serve({ port: 0, host: '127.0.0.1' }).then((server) => {
  for (let w = 0; w < 2; w++) {
    new Worker(\`
      const { counterSchema, histogramSchema } = require('slotmetrics');
      const h = counterSchema('exit_ops_total').requireDynamicKey('k').build().with({ k: 'w' });
      const sizes = histogramSchema('exit_sizes').build();
      for (let i = 0; ; i++) { h.increment(); sizes.observe(i % 3); }
    \`, { eval: true });
  }
  const overHttp = async () => { for (;;) await (await fetch(server.url)).text(); };
  const inProcess = async () => { for (;;) await registry.metrics({ format: 'openmetrics' }); };
  overHttp(); overHttp(); inProcess(); inProcess();
  setTimeout(() => process.exit(7), delay);
});
`;

function runChild(delay) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', CHILD, String(delay)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const hung = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code, signal) => {
      clearTimeout(hung);
      resolve({ delay, code, signal, stderr });
    });
  });
}

test(`process.exit() during scrapes and worker updates, ${RUNS} runs: always exit code 7, never a crash or hang`, { timeout: 300_000 }, async () => {
  const results = [];
  // Two at a time; delays spread from just after start to well into the scraping.
  for (let run = 0; run < RUNS; run += 2) {
    results.push(...(await Promise.all([runChild(5 + run * 13), runChild(12 + run * 17)])));
  }
  const failed = results.filter((r) => r.code !== 7 || r.signal !== null);
  assert.deepEqual(failed, [], `runs that did not exit cleanly: ${JSON.stringify(failed, null, 1)}`);
  assert.equal(results.length, RUNS);
});
