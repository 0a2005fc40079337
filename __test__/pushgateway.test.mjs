// Push, push-add and delete against a real Pushgateway (Debian's), on 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { counterSchema, gaugeSchemaFloat, pushgateway } from 'slotmetrics';
import { freePort } from './helpers.mjs';

let gateway;
let url;

before(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // In memory only: Debian's build persists to /var/lib/prometheus by default, which
  // would carry one run's pushes into the next.
  gateway = spawn('prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='], {
    stdio: 'ignore',
  });
  gateway.on('error', (error) => {
    throw new Error(`prometheus-pushgateway could not start (install Debian's "prometheus-pushgateway"): ${error.message}`);
  });
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the Pushgateway did not become ready');
});

after(() => gateway?.kill());

const pushed = async () => (await fetch(`${url}/metrics`)).text();

test('push, pushAdd and delete round trip through a real Pushgateway', { timeout: 30_000 }, async () => {
  const batches = counterSchema('batch_jobs_processed_total').help('Jobs processed').build();
  const lastRun = gaugeSchemaFloat('batch_last_run_seconds').help('Last run').build();
  batches.add(42);
  lastRun.set(1700000000.5);

  const group = pushgateway({ url, job: 'nightly', groupings: { instance: 'worker/1', region: '' } });
  await group.push();
  let text = await pushed();
  const labels = 'instance="worker/1",job="nightly",region=""';
  assert.match(text, new RegExp(`^batch_jobs_processed_total\\{${labels}\\} 42$`, 'm'));
  assert.match(text, new RegExp(`^batch_last_run_seconds\\{${labels}\\} 1\\.7000000005e\\+09$`, 'm'));

  batches.add(8);
  await group.pushAdd();
  text = await pushed();
  assert.match(text, new RegExp(`^batch_jobs_processed_total\\{${labels}\\} 50$`, 'm'));

  await group.delete();
  const left = await pushed();
  assert.ok(
    !left.includes('job="nightly"'),
    `the group is gone:\n${left
      .split('\n')
      .filter((l) => l.includes('nightly'))
      .join('\n')}`,
  );
});

test('a refused push rejects with the status; bad options are TypeErrors', { timeout: 30_000 }, async () => {
  await assert.rejects(
    pushgateway({ url: `${url}/not-the-api`, job: 'nightly' }).push(),
    /Pushgateway PUT .*\/not-the-api\/metrics\/job\/nightly answered 404/,
  );
  // A port nothing listens on (not port 1, which fetch refuses to try on Deno: a WHATWG "bad port").
  const closed = `http://127.0.0.1:${await freePort()}`;
  await assert.rejects(pushgateway({ url: closed, job: 'nightly', timeoutMs: 2000 }).delete(), /fetch failed|ECONNREFUSED|[Cc]onnection refused/);
  assert.throws(() => pushgateway({ url: 'localhost:9091', job: 'x' }), /url must be an http\(s\) URL/);
  assert.throws(() => pushgateway({ url, job: '' }), /job must be a non-empty string/);
  assert.throws(() => pushgateway({ url, job: 'x', groupings: { a: 1 } }), /groupings must be an object of strings/);
});

test("slotmetrics/prom-client's Pushgateway class pushes what prom-client's pushes", { timeout: 30_000 }, async () => {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const clients = { theirs: require('prom-client'), ours: await import('slotmetrics/prom-client') };
  const groupText = (text, job) =>
    text
      .split('\n')
      .filter((line) => line.includes(`job="${job}"`) && !line.startsWith('push_time_seconds') && !line.startsWith('push_failure_time_seconds'))
      .map((line) => line.replace(`job="${job}"`, 'job="J"'))
      .sort()
      .join('\n');
  for (const [who, client] of Object.entries(clients)) {
    const registry = new client.Registry();
    const jobs = new client.Counter({ name: 'compat_push_jobs_total', help: 'Jobs', labelNames: ['kind'], registers: [registry] });
    jobs.inc({ kind: 'a' }, 3);
    const gateway = new client.Pushgateway(url, { timeout: 5000 }, registry);
    assert.throws(() => gateway.push({}), { message: 'Missing jobName parameter' });
    const { resp, body } = await gateway.push({ jobName: `compat-${who}`, groupings: { instance: 'x-1' } });
    assert.equal(resp.statusCode, 200);
    assert.equal(body, '');
    jobs.inc({ kind: 'b' });
    await gateway.pushAdd({ jobName: `compat-${who}`, groupings: { instance: 'x-1' } });
  }
  const text = await pushed();
  const theirs = groupText(text, 'compat-theirs');
  assert.match(theirs, /compat_push_jobs_total\{instance="x-1",job="J",kind="b"\} 1/);
  assert.equal(groupText(text, 'compat-ours'), theirs);
  for (const [who, client] of Object.entries(clients)) {
    await new client.Pushgateway(url).delete({ jobName: `compat-${who}`, groupings: { instance: 'x-1' } });
    await assert.rejects(new client.Pushgateway(`${url}/nope`).push({ jobName: 'x' }), /^Error: push failed with status 404/);
  }
  assert.doesNotMatch(await pushed(), /compat-/);
});
