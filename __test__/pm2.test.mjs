// Real PM2 in cluster mode, 4 instances of examples/pm2 in one multi-process group:
// every scrape shows the exact total, across `pm2 reload` and an instance killed with
// SIGKILL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, parseSamples, unsupportedOn } from './helpers.mjs';

// The example's own ecosystem file, with this test's name, group directory and port.
const [EXAMPLE] = createRequire(import.meta.url)('../examples/pm2/ecosystem.config.js').apps;
const PM2 = fileURLToPath(new URL('../node_modules/pm2/bin/pm2', import.meta.url));
const NAME = 'slotmetrics-pm2-test';
const INSTANCES = 4;

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'slotmetrics-pm2-'));
const group = path.join(home, 'group');

/** Runs the PM2 CLI with this test's own PM2_HOME. */
function pm2(...args) {
  const run = spawnSync(process.execPath, [PM2, ...args], {
    env: { ...process.env, PM2_HOME: path.join(home, 'pm2') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, `pm2 ${args.join(' ')}: ${run.stdout}${run.stderr}`);
  return run.stdout;
}

after(() => {
  pm2('kill');
  fs.rmSync(home, { recursive: true, force: true });
});

/** The group's total, from whichever instance the kernel hands a new connection to. */
function scrape(port) {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(parseSamples(body).get('jobs_processed_total')));
    });
    request.on('timeout', () => request.destroy());
    // Nothing listening yet (instances starting): no total.
    request.on('error', () => resolve(undefined));
  });
}

/** Waits until scrapes show `total`, then checks that 20 more show exactly it. */
async function expectTotal(port, total, when) {
  const deadline = Date.now() + 60_000;
  for (let seen = await scrape(port); seen !== total; seen = await scrape(port)) {
    assert.ok(seen === undefined || seen < total, `${when}: ${seen} jobs, more than ${total}`);
    assert.ok(Date.now() < deadline, `${when}: the total stayed ${seen}, not ${total}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (let i = 0; i < 20; i++) assert.equal(await scrape(port), total, `${when}, scrape ${i}`);
}

test('PM2 cluster mode, 4 instances on one port: exact totals across a reload and a kill -9', {
  timeout: 240_000,
  skip: unsupportedOn({ bun: 'the test drives PM2 with Node', deno: 'the test drives PM2 with Node' }),
}, async () => {
  const port = await freePort();
  const ecosystem = path.join(home, 'ecosystem.config.cjs');
  const app = {
    ...EXAMPLE,
    name: NAME,
    instances: INSTANCES,
    env: { ...EXAMPLE.env, SLOTMETRICS_MULTIPROCESS_DIR: group, METRICS_PORT: String(port), JOBS: '1000' },
  };
  fs.writeFileSync(ecosystem, `module.exports = ${JSON.stringify({ apps: [app] })};\n`);
  pm2('start', ecosystem);
  await expectTotal(port, 1000 * INSTANCES, 'after start');

  // A reload starts 4 new instances and stops the old ones: their counts are kept.
  pm2('reload', NAME);
  await expectTotal(port, 2000 * INSTANCES, 'after pm2 reload');

  const [victim] = JSON.parse(pm2('jlist')).filter((entry) => entry.name === NAME);
  process.kill(victim.pid, 'SIGKILL');
  // PM2 starts a new instance in its place, which counts its 1000.
  await expectTotal(port, 2000 * INSTANCES + 1000, 'after kill -9 of one instance');
});
