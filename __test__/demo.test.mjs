// `npm run demo` works as README says: it serves /metrics from three threads and stops
// cleanly on Ctrl-C.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSamples, runtime } from './helpers.mjs';

const DEMO = fileURLToPath(new URL('../examples/demo/main.js', import.meta.url));

test('the demo serves metrics counted by the main thread and both workers', { timeout: 30_000 }, async () => {
  const demo = spawn(process.execPath, [DEMO], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => demo.on('exit', (code, signal) => resolve({ code, signal })));
  let out = '';
  const url = await new Promise((resolve, reject) => {
    demo.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/^metrics: (\S+)$/m);
      if (match) resolve(match[1]);
    });
    exited.then(() => reject(new Error(`demo exited early:\n${out}`)));
  });
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    let samples;
    for (let attempt = 0; attempt < 50; attempt++) {
      samples = parseSamples(await (await fetch(url)).text());
      const threads = ['main', 'worker-1', 'worker-2'];
      if (threads.every((t) => samples.get(`memory_usage_bytes{service="my-api",thread="${t}"}`) > 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const thread of ['main', 'worker-1', 'worker-2']) {
      assert.ok(samples.get(`memory_usage_bytes{service="my-api",thread="${thread}"}`) > 0, thread);
    }
    const served = [...samples].filter(([k]) => k.startsWith('http_requests_total{')).reduce((sum, [, v]) => sum + v, 0);
    assert.ok(served > 0);
  } finally {
    demo.kill('SIGINT');
  }
  // Deno's child_process reports the signal it sent even when the child handled it and
  // exited 0; the "stopped" line shows that it did.
  assert.deepEqual(await exited, runtime === 'deno' ? { code: null, signal: 'SIGINT' } : { code: 0, signal: null });
  assert.match(out, /stopped\n$/);
});
