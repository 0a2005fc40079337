// exportOtlp() in a multi-process group: one process exports the group's totals; when
// it is SIGKILLed another takes over, and the deltas the receiver got add up to exactly
// what the group counted, nothing lost and nothing twice.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeOtlp, eventually, unsupportedOn } from './helpers.mjs';

const MEMBER = fileURLToPath(new URL('./fixtures/group-exporter.cjs', import.meta.url));

test('one exporter for the group; after its SIGKILL another takes over and the delta sums stay exact', {
  timeout: 60_000,
  skip: process.platform === 'win32' ? 'multi-process groups need a Unix system' : unsupportedOn({}),
}, async () => {
  const bodies = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const { gunzipSync } = await import('node:zlib');
      bodies.push(gunzipSync(Buffer.concat(chunks)));
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'slotmetrics-otlp-group-'));
  const members = {};
  try {
    for (const name of ['a', 'b']) {
      const child = fork(MEMBER, {
        env: { ...process.env, SLOTMETRICS_MULTIPROCESS_DIR: dir, TEST_ENDPOINT: `http://127.0.0.1:${server.address().port}`, TEST_NAME: name },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await new Promise((resolve) => child.once('message', resolve));
      members[name] = child;
    }
    const add = (name, n) =>
      new Promise((resolve) => {
        members[name].once('message', resolve);
        members[name].send({ add: n });
      });
    /** Every point of grp_jobs_total received, with who sent it. */
    const received = () =>
      decodeOtlp(bodies).flatMap((decoded) => {
        const { resource, scopeMetrics } = decoded.resourceMetrics[0];
        const sender = resource.attributes.find((a) => a.key === 'service.instance.id').value.stringValue;
        const metric = scopeMetrics[0].metrics.find((m) => m.name === 'grp_jobs_total');
        return (metric?.sum.dataPoints ?? []).map((point) => ({
          sender,
          value: point.asDouble,
          start: point.startTimeUnixNano,
          end: point.timeUnixNano,
        }));
      });
    const total = () => received().reduce((sum, p) => sum + p.value, 0);
    const until = async (check) =>
      assert.ok(await eventually(check, Boolean, { ms: 20_000, every: 100 }), `not reached; received ${JSON.stringify(received())}`);

    await add('a', 5);
    await add('b', 7);
    await until(() => total() === 12);
    const senders = new Set(received().map((p) => p.sender));
    assert.equal(senders.size, 1, `one exporter for the group, got ${[...senders]}`);
    const [leader] = senders;
    const survivor = leader === 'a' ? 'b' : 'a';

    members[leader].kill('SIGKILL');
    await new Promise((resolve) => members[leader].once('exit', resolve));
    await add(survivor, 3);
    await until(() => received().some((p) => p.sender === survivor));
    await until(() => total() >= 15);
    // A few more exports: nothing the dead leader sent comes again.
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(total(), 15, JSON.stringify(received()));
    const points = received();
    const first = points.findIndex((p) => p.sender === survivor);
    assert.equal(points[first].start, points[first - 1].end, 'the survivor continues the window chain');
  } finally {
    for (const child of Object.values(members)) child.kill('SIGKILL');
    server.closeAllConnections?.();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
