// The migration example: the same Express app with `require('prom-client')` and with
// `require('slotmetrics/prom-client')` serves the same /metrics, values aside.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APP = readFileSync(new URL('../examples/prom-client-migration/app.js', import.meta.url), 'utf8');

/** Runs the app's source with `library` as its metrics import; returns its /metrics after some traffic. */
async function metricsOf(library) {
  const source = APP.replace("require('slotmetrics/prom-client')", `require(${JSON.stringify(library)})`);
  assert.ok(source.includes(`require(${JSON.stringify(library)})`), 'the import was switched');
  const app = spawn(process.execPath, ['-e', source], { cwd: ROOT, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const base = await new Promise((resolve, reject) => {
      let out = '';
      app.stdout.on('data', (chunk) => {
        out += chunk;
        const match = out.match(/listening: (\S+)/);
        if (match) resolve(match[1]);
      });
      app.on('exit', () => reject(new Error(`the app exited:\n${out}`)));
    });
    for (const path of ['/users/1', '/users/2', '/nowhere', '/users/3']) await (await fetch(base + path)).text();
    // The app records a request in its response's 'finish' handler, which may run after
    // the client has the response (Deno runs it later than Node), and slotmetrics renders
    // off the event loop, so a scrape can come before the last request is recorded:
    // scrape until all four are (both libraries alike; 5 s at most), leaving out what
    // the scrapes record of themselves.
    const deadline = Date.now() + 5000;
    for (;;) {
      const scraped = await (await fetch(`${base}/metrics`)).text();
      const text = scraped
        .split('\n')
        .filter((line) => !line.includes('route="/metrics"'))
        .join('\n');
      const recorded = text.match(/^http_request_duration_seconds_count\{[^}]*\} \d+$/gm) ?? [];
      const observations = recorded.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
      if (observations >= 4 || Date.now() > deadline) return text;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    app.kill('SIGTERM');
  }
}

test('the migration example serves the same /metrics with prom-client and with slotmetrics/prom-client', { timeout: 30_000 }, async () => {
  const theirs = await metricsOf('prom-client');
  const ours = await metricsOf('slotmetrics/prom-client');
  // Durations differ from run to run: compare everything but sample values, then the
  // counts, which do not depend on timing.
  const shape = (text) => text.replace(/ [^ \n]+$/gm, ' <value>');
  assert.equal(shape(ours), shape(theirs));
  const counts = (text) => text.split('\n').filter((line) => /^http_requests_total|_count\{/.test(line));
  assert.deepEqual(counts(ours), counts(theirs));
  assert.match(ours, /^http_requests_total\{method="GET",route="\/users\/:id",status="200",app="shop"\} 3$/m);
});
