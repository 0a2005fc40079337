// Many processes sharing one metric set through SLOTMETRICS_MULTIPROCESS_DIR: every
// process (and every worker thread in it) counts into the same series, any process
// reads the group's totals, and a process that dies keeps its counts in them.
import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, parseSamples } from './helpers.mjs';

const MEMBER = fileURLToPath(new URL('./fixtures/group-member.cjs', import.meta.url));
const CLUSTER = fileURLToPath(new URL('./fixtures/cluster-group.cjs', import.meta.url));

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
    text: async (format) => (await ask({ do: 'metrics', format })).text,
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

test('gauges with a value per process: summed, max and min over the live processes', { timeout: 60_000 }, async () => {
  const dir = groupDir();
  const members = await Promise.all([0, 1, 2].map(() => join(dir)));
  await Promise.all([1, 5, -2].map((value, n) => members[n].ask({ do: 'set queue', value })));
  for (const member of members) {
    const samples = await member.metrics();
    assert.deepEqual(
      ['livesum', 'max', 'min'].map((mode) => samples.get(`group_queue_${mode}`)),
      [4, 5, -2],
    );
  }
  // The process that set 5 is killed: its value goes with it.
  await members[1].kill('SIGKILL');
  const samples = await members[0].metrics();
  assert.deepEqual(
    ['livesum', 'max', 'min'].map((mode) => samples.get(`group_queue_${mode}`)),
    [-1, 1, -2],
  );
  await Promise.all([members[0], members[2]].map((member) => member.ask({ do: 'exit' }).catch(() => {})));
  fs.rmSync(dir, { recursive: true });
});

test("default metrics: the group's figures, combined as prom-client's AggregatorRegistry combines a cluster's", { timeout: 60_000 }, async () => {
  const dir = groupDir();
  const members = await Promise.all([0, 1].map(() => join(dir)));
  await Promise.all(members.map((member) => member.ask({ do: 'collect default metrics' })));
  const samples = await members[0].metrics();
  const limit = Number(fs.readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+(\d+)/)[1]);
  assert.equal(samples.get('process_max_fds'), 2 * limit, 'summed over the two processes');
  assert.equal(samples.has('process_start_time_seconds'), false, "left out, as prom-client's 'omit' aggregator does");
  assert.equal(
    samples.get(
      `nodejs_version_info{version="${process.version}",major="${process.versions.node.split('.')[0]}",minor="${process.versions.node.split('.')[1]}",patch="${process.versions.node.split('.')[2]}"}`,
    ),
    1,
  );
  assert.ok(samples.get('nodejs_heap_size_used_bytes') > 0, 'the V8 figures, summed');
  assert.ok(samples.get('nodejs_eventloop_lag_max_seconds') >= samples.get('nodejs_eventloop_lag_min_seconds'));
  await Promise.all(members.map((member) => member.ask({ do: 'exit' }).catch(() => {})));
  fs.rmSync(dir, { recursive: true });
});

test("a summary's quantiles cover every live process's observations; its count and sum are exact", { timeout: 60_000 }, async () => {
  const dir = groupDir();
  const members = await Promise.all([0, 1].map(() => join(dir)));
  await members[0].ask({ do: 'observe sizes', from: 1, to: 100 });
  await members[1].ask({ do: 'observe sizes', from: 101, to: 200 });
  // Each process publishes its digests every second.
  const samples = await eventually(
    () => members[0].metrics(),
    (read) => read.get('group_size{quantile="1"}') === 200 && Math.abs(read.get('group_size{quantile="0.5"}') - 100.5) < 2,
  );
  assert.equal(samples.get('group_size_count'), 200);
  assert.equal(samples.get('group_size_sum'), 20_100);
  const median = samples.get('group_size{quantile="0.5"}');
  assert.ok(Math.abs(median - 100.5) < 2, `the median of 1..200: ${median}`);
  assert.equal(samples.get('group_size{quantile="1"}'), 200);
  // The process that observed 101..200 exits: its observations leave the quantiles.
  await members[1].kill('SIGKILL');
  const after = await members[0].metrics();
  assert.equal(after.get('group_size{quantile="1"}'), 100);
  assert.equal(after.get('group_size_count'), 200, 'the count keeps them');
  await members[0].ask({ do: 'exit' }).catch(() => {});
  fs.rmSync(dir, { recursive: true });
});

test('an exemplar set in one process is exposed by every process of the group', { timeout: 60_000 }, async () => {
  const dir = groupDir();
  const [tracer, reader] = await Promise.all([0, 1].map(() => join(dir)));
  await tracer.ask({ do: 'count with an exemplar', trace: 'abc123' });
  // Each process publishes its exemplars every second.
  const exemplar = /^group_traced_total 1 # \{trace_id="abc123"\} 1 \d+(\.\d+)?$/m;
  const text = await eventually(
    () => reader.text('openmetrics'),
    (read) => exemplar.test(read),
  );
  assert.match(text, exemplar, text);
  await Promise.all([tracer, reader].map((member) => member.ask({ do: 'exit' }).catch(() => {})));
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

/** One scrape on a new connection, so that the kernel may hand it to any listener. */
function scrape(port) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: 10_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(parseSamples(body)));
    });
    request.on('timeout', () => request.destroy(new Error('scrape timed out')));
    request.on('error', reject);
  });
}

test('a group file of another version, cut short or foreign is refused at load with an error naming it', { timeout: 60_000 }, async () => {
  const dir = groupDir();
  const member = await join(dir);
  await member.ask({ do: 'count', who: 'before', times: 1 });
  await member.ask({ do: 'exit' }).catch(() => {});
  const journal = path.join(dir, 'journal');
  const header = fs.readFileSync(journal).subarray(0, 4096);
  // Another format version in the header.
  fs.writeFileSync(journal, Buffer.concat([header.subarray(0, 8), Buffer.from([9, 0, 0, 0]), header.subarray(12)]));
  await assert.rejects(join(dir), /journal has format version 9; this slotmetrics reads version 2/);
  // Cut short: not even a header.
  fs.writeFileSync(journal, header.subarray(0, 100));
  await assert.rejects(join(dir), /journal is truncated: 100 bytes/);
  // Not a slotmetrics file at all.
  fs.writeFileSync(journal, Buffer.alloc(4096, 7));
  await assert.rejects(join(dir), /journal is not a slotmetrics multi-process file/);
  fs.rmSync(dir, { recursive: true });
});

test('node:cluster workers serve one port; every scrape shows the exact totals, while any worker lives', { timeout: 120_000 }, async () => {
  const dir = groupDir();
  const primary = spawn(process.execPath, [CLUSTER], {
    env: { ...process.env, SLOTMETRICS_MULTIPROCESS_DIR: dir },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  forked.add(primary);
  let output = '';
  const waiting = new Set();
  primary.stdout.on('data', (chunk) => {
    output += chunk;
    for (const check of waiting) check();
  });
  const printed = (pattern) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the cluster did not print ${pattern} in 30 s: ${output}`)), 30_000);
      const check = () => {
        const match = output.match(pattern);
        if (!match) return;
        clearTimeout(timer);
        waiting.delete(check);
        resolve(match);
      };
      waiting.add(check);
      check();
    });
  const port = Number((await printed(/port (\d+)\n/))[1]);
  const expected = { 'cluster_jobs_total{worker="0"}': 1000, 'cluster_jobs_total{worker="3"}': 4000 };
  for (let i = 0; i < 50; i++) {
    const samples = await scrape(port);
    for (const [series, value] of Object.entries(expected)) assert.equal(samples.get(series), value, `scrape ${i}: ${series}`);
  }
  // Three of the four killed: the last one serves the same totals, the dead ones' counts kept.
  primary.stdin.write('kill 3\n');
  await printed(/killed\n/);
  for (let i = 0; i < 10; i++) {
    const samples = await scrape(port);
    for (const [series, value] of Object.entries(expected)) assert.equal(samples.get(series), value, `after the kills, scrape ${i}: ${series}`);
  }
  primary.stdin.write('exit\n');
  await new Promise((resolve) => primary.once('exit', resolve));
  fs.rmSync(dir, { recursive: true });
});

const CHURN = fileURLToPath(new URL('./fixtures/group-churn.cjs', import.meta.url));

/** Runs the churn fixture in `mode` as a member of the group in `dir`; resolves with its stdout. */
function churn(dir, mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHURN, mode], {
      env: { ...process.env, SLOTMETRICS_MULTIPROCESS_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const expected = mode === 'crash' ? signal === 'SIGKILL' : code === 0;
      if (expected) resolve(stdout);
      else reject(new Error(`${mode} ended with ${code ?? signal}: ${stderr}`));
    });
  });
}

function directorySize(dir) {
  return fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
}

test("1,000 processes come and go, a quarter SIGKILLed: every count kept, the directory's size bounded", { timeout: 300_000 }, async () => {
  const dir = groupDir();
  const RUNS = 1000;
  const AT_ONCE = 4;
  let sizeAfterFirstRound;
  for (let round = 0; round < RUNS / AT_ONCE; round++) {
    await Promise.all(Array.from({ length: AT_ONCE }, (_, n) => churn(dir, n === 0 ? 'crash' : 'count')));
    sizeAfterFirstRound ??= directorySize(dir);
  }
  const samples = parseSamples(await churn(dir, 'read'));
  assert.equal(samples.get('churn_jobs_total{kind="job"}'), RUNS * 10);
  const size = directorySize(dir);
  const stripes = fs.readdirSync(dir).filter((name) => name.startsWith('stripe-'));
  console.log(
    `# ${RUNS} processes: the directory holds ${fs.readdirSync(dir).length} files, ${size} bytes (${sizeAfterFirstRound} after the first ${AT_ONCE}); ${stripes.length} stripe files`,
  );
  assert.ok(stripes.length <= 2 * AT_ONCE, `stripes of dead processes are reused: ${stripes.length} stripe files`);
  assert.ok(size <= sizeAfterFirstRound + AT_ONCE * 69_632, `${size} bytes after ${RUNS} processes, ${sizeAfterFirstRound} after ${AT_ONCE}`);
  fs.rmSync(dir, { recursive: true });
});

test('processes SIGKILLed while they register label sets leave a group the next process uses', { timeout: 120_000 }, async () => {
  const dir = groupDir();
  for (let kill = 0; kill < 20; kill++) {
    const child = spawn(process.execPath, [CHURN, 'register'], {
      env: { ...process.env, SLOTMETRICS_MULTIPROCESS_DIR: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    forked.add(child);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    // Registration is nearly all the child does, so most kills land in one.
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 45));
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGKILL');
    });
  }
  await churn(dir, 'count');
  const text = await churn(dir, 'read');
  const users = text.split('\n').filter((line) => line.startsWith('churn_users_total{'));
  assert.ok(users.length > 20, `the killed processes registered label sets: ${users.length}`);
  assert.equal(new Set(users.map((line) => line.slice(0, line.lastIndexOf(' ')))).size, users.length, 'each label set once');
  // A process killed between registering a label set and counting it leaves it at 0.
  const uncounted = users.filter((line) => !line.endsWith(' 1'));
  assert.ok(uncounted.length <= 20 && uncounted.every((line) => line.endsWith(' 0')), `each counted at most once: ${uncounted}`);
  assert.equal(parseSamples(text).get('churn_jobs_total{kind="job"}'), 10);
  fs.rmSync(dir, { recursive: true });
});
