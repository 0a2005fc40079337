// Many processes sharing one metric set through SLOTMETRICS_MULTIPROCESS_DIR: every
// process (and every worker thread in it) counts into the same series, any process
// reads the group's totals, and a process that dies keeps its counts in them.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSamples } from './helpers.mjs';

const MEMBER = fileURLToPath(new URL('./fixtures/group-member.cjs', import.meta.url));

// Every member forked, so that none outlives a failed test.
const forked = new Set();
after(() => {
  for (const child of forked) child.kill('SIGKILL');
});

function groupDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'slotmetrics-group-'));
}

/** A forked process of the group in `dir`, answering one request at a time. */
async function join(dir) {
  const child = fork(MEMBER, [], { env: { ...process.env, SLOTMETRICS_MULTIPROCESS_DIR: dir }, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  forked.add(child);
  child.once('exit', () => forked.delete(child));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const reply = () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from member ${child.pid} in 20 s; its stderr: ${stderr}`)), 20_000);
      const onExit = (code) => reject(new Error(`member ${child.pid} exited (${code}): ${stderr}`));
      child.once('exit', onExit);
      child.once('message', (message) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(message);
      });
    });
  await reply();
  const ask = (request) => {
    const answer = reply();
    child.send(request);
    return answer;
  };
  return {
    ask,
    metrics: async () => parseSamples((await ask({ do: 'metrics' })).text),
    kill: (signal) =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill(signal);
      }),
  };
}

test('processes and their worker threads count into one metric set; any of them reads the totals', { timeout: 120_000 }, async () => {
  const dir = groupDir();
  const members = await Promise.all([0, 1, 2, 3].map(() => join(dir)));
  await Promise.all(members.map((member, n) => member.ask({ do: 'count', who: `p${n}`, times: 1000 * (n + 1) })));
  await members[0].ask({ do: 'count in a worker', who: 'p0', times: 500 });
  await members[3].ask({ do: 'set temperature', value: 21.5 });

  for (const member of members) {
    const samples = await member.metrics();
    assert.equal(samples.get('group_jobs_total{who="everyone"}'), 10_500);
    assert.equal(samples.get('group_jobs_total{who="p0"}'), 1500, "its own 1000 and its worker thread's 500");
    assert.equal(samples.get('group_jobs_total{who="p3"}'), 4000);
    assert.equal(samples.get('group_latency_seconds_count'), 10_000);
    assert.equal(samples.get('group_latency_seconds_bucket{le="0.1"}'), 0);
    assert.equal(samples.get('group_latency_seconds_sum'), 5000);
    assert.equal(samples.get('group_temperature'), 21.5, 'a gauge has one value for the group');
  }
  await Promise.all(members.map((member) => member.ask({ do: 'exit' }).catch(() => {})));
  fs.rmSync(dir, { recursive: true });
});

test("a process killed with SIGKILL keeps its counts in the group's totals", { timeout: 120_000 }, async () => {
  const dir = groupDir();
  const [survivor, victim] = await Promise.all([join(dir), join(dir)]);
  await survivor.ask({ do: 'count', who: 'survivor', times: 300 });
  await victim.ask({ do: 'count', who: 'victim', times: 700 });
  await victim.kill('SIGKILL');

  const after = await survivor.metrics();
  assert.equal(after.get('group_jobs_total{who="victim"}'), 700);
  assert.equal(after.get('group_jobs_total{who="everyone"}'), 1000);
  // A new process takes the dead one's place and sees the same; its counts add on.
  const newcomer = await join(dir);
  await newcomer.ask({ do: 'count', who: 'victim', times: 5 });
  for (const member of [survivor, newcomer]) {
    assert.equal((await member.metrics()).get('group_jobs_total{who="victim"}'), 705);
  }
  await Promise.all([survivor, newcomer].map((member) => member.ask({ do: 'exit' }).catch(() => {})));
  // Every process gone: the next one to join still reads every count.
  const late = await join(dir);
  assert.equal((await late.metrics()).get('group_jobs_total{who="everyone"}'), 1005);
  await late.ask({ do: 'exit' }).catch(() => {});
  fs.rmSync(dir, { recursive: true });
});

test('two groups in two directories do not see each other', { timeout: 60_000 }, async () => {
  const [dirA, dirB] = [groupDir(), groupDir()];
  const [a, b] = await Promise.all([join(dirA), join(dirB)]);
  await a.ask({ do: 'count', who: 'a', times: 10 });
  await b.ask({ do: 'count', who: 'b', times: 20 });
  const [seenByA, seenByB] = [await a.metrics(), await b.metrics()];
  assert.equal(seenByA.get('group_jobs_total{who="everyone"}'), 10);
  assert.equal(seenByA.has('group_jobs_total{who="b"}'), false);
  assert.equal(seenByB.get('group_jobs_total{who="everyone"}'), 20);
  await Promise.all([a, b].map((member) => member.ask({ do: 'exit' }).catch(() => {})));
  fs.rmSync(dirA, { recursive: true });
  fs.rmSync(dirB, { recursive: true });
});

test('a directory other users can write to is refused with an error naming it', { timeout: 60_000 }, async () => {
  const dir = groupDir();
  fs.chmodSync(dir, 0o777);
  await assert.rejects(join(dir), /SLOTMETRICS_MULTIPROCESS_DIR=.*refusing .*other users can write to it \(mode 777\)/);
  fs.rmSync(dir, { recursive: true });
});
