// End to end with a real Prometheus (Debian's package): it scrapes the demo app and a
// target the test drives, every second, and its query API gives back what they recorded.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { freePort } from './helpers.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DEMO = fileURLToPath(new URL('../examples/demo/main.js', import.meta.url));
const RECORDER = fileURLToPath(new URL('./fixtures/recorder.cjs', import.meta.url));

/** Starts a Node app that prints `metrics: <url>`; resolves to { child, url, send(line) }. */
function startApp(script, env = {}) {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const waiters = [];
  child.stdout.on('data', (chunk) => {
    out += chunk;
    for (const waiter of waiters.splice(0)) waiter();
  });
  /** Resolves with `read(out)` once it is truthy. */
  const until = (read) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = read(out);
        if (found) resolve(found);
        else if (child.exitCode !== null) reject(new Error(`${script} exited:\n${out}`));
        else waiters.push(check);
      };
      check();
    });
  const acks = () => (out.match(/^ok$/gm) ?? []).length;
  /** Sends a command and waits for its "ok". */
  const send = async (line) => {
    const expected = acks() + 1;
    child.stdin.write(`${line}\n`);
    await until(() => acks() >= expected);
  };
  return until((text) => text.match(/^metrics: (\S+)$/m)).then((match) => ({ child, url: new URL(match[1]), send }));
}

/** Evaluates `promql` at `time` (seconds since the epoch; default: when Prometheus gets it). */
async function query(base, promql, time) {
  const at = time === undefined ? '' : `&time=${time}`;
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}${at}`, { signal: AbortSignal.timeout(5000) });
  const body = await response.json();
  assert.equal(body.status, 'success', `${promql}: ${JSON.stringify(body)}`);
  return body.data.result;
}

/** Polls `promql` until `accept(result)` holds, for up to `ms`. */
async function eventually(base, promql, accept, ms = 30_000) {
  const deadline = Date.now() + ms;
  let result;
  while (Date.now() < deadline) {
    try {
      result = await query(base, promql);
      if (accept(result)) return result;
    } catch {
      // Prometheus still starting.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${promql} never satisfied the test; last result: ${JSON.stringify(result)}`);
}

const value = (result) => Number(result[0]?.value[1]);

/**
 * Starts Prometheus scraping `targets` (job name → host:port) every second, with these
 * extra flags; resolves to { base, stop() }.
 */
async function startPrometheus(targets, flags = []) {
  const dir = mkdtempSync(join(tmpdir(), 'slotmetrics-prometheus-'));
  const port = await freePort();
  const jobs = Object.entries(targets).map(([job, host]) => `  - job_name: ${job}\n    static_configs: [{ targets: ['${host}'] }]\n`);
  writeFileSync(join(dir, 'prometheus.yml'), `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n${jobs.join('')}`);
  const prometheus = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, ...flags],
    { stdio: 'ignore' },
  );
  const stop = async () => {
    if (prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await new Promise((resolve) => prometheus.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { base: `http://127.0.0.1:${port}`, stop };
}

/** Ends a test app started by startApp(). */
async function stopApp(app, signal) {
  if (signal) app.child.kill(signal);
  else app.child.stdin.end();
  if (app.child.exitCode === null) await new Promise((resolve) => app.child.once('exit', resolve));
}

/**
 * Brings Prometheus's `e2e_jobs_total` from 0 to 1000 and checks `increase()` over the
 * jump: between the recorded 1000 and what its extrapolation can add. Returns the
 * figures it checked.
 */
async function checkIncrease(base, recorder) {
  // A few scrapes at 0, the jump, then a few more: increase() has samples both sides.
  await eventually(base, 'count_over_time(e2e_jobs_total[30s]) and e2e_jobs_total == 0', (r) => value(r) >= 4);
  await recorder.send('add 1000');
  await eventually(base, 'count_over_time((e2e_jobs_total == 1000)[30s:1s])', (r) => value(r) >= 6);
  // Over a range holding n samples (about 1 s apart) from before and after the jump,
  // increase() extrapolates: not before the first sample (it is 0, where a counter
  // starts), and past the last by at most 1.1 intervals. So it lies between the
  // recorded 1000 and 1000 × (n - 1 + 1.1) / (n - 1). Both are evaluated at one
  // instant a few scrapes back: a scrape is stamped when it starts and stored when
  // it ends, so at "now" one could land between the two queries and change n.
  const at = Date.now() / 1000 - 3;
  const [increase, samples] = await Promise.all([
    query(base, 'increase(e2e_jobs_total[30s])', at),
    query(base, 'count_over_time(e2e_jobs_total[30s])', at),
  ]).then((results) => results.map(value));
  const bound = (1000 * (samples - 1 + 1.1)) / (samples - 1);
  assert.ok(increase >= 1000 && increase <= bound + 1e-9, `increase() = ${increase} over ${samples} samples (at most ${bound})`);
  return { increase, samples };
}

/**
 * Records 100 latencies in the classic histogram and checks histogram_quantile() and
 * the sum; returns the quantiles found.
 */
async function checkClassicQuantiles(base, recorder) {
  await recorder.send('observe 0.003 50');
  await recorder.send('observe 0.3 40');
  await recorder.send('observe 0.7 10');
  await eventually(base, 'e2e_latency_seconds_count', (r) => value(r) === 100);
  // 50 at or below 0.005, 40 in (0.25, 0.5], 10 in (0.5, 1]: the median is the top of
  // the first bucket; the 0.9 quantile is the top of (0.25, 0.5]; the 0.95 one halfway
  // through (0.5, 1].
  const quantiles = [];
  for (const [q, expected] of [
    [0.5, 0.005],
    [0.9, 0.5],
    [0.95, 0.75],
  ]) {
    const got = value(await query(base, `histogram_quantile(${q}, e2e_latency_seconds_bucket)`));
    assert.ok(Math.abs(got - expected) < 1e-9, `histogram_quantile(${q}) = ${got}, expected ${expected}`);
    quantiles.push(`${q} → ${got}`);
  }
  assert.ok(Math.abs(value(await query(base, 'e2e_latency_seconds_sum')) - (50 * 0.003 + 40 * 0.3 + 10 * 0.7)) < 1e-9);
  return quantiles;
}

/**
 * Records 100 latencies in the native histogram and checks histogram_count(),
 * histogram_sum() and histogram_quantile() on it; returns what it found.
 */
async function checkNativeHistogram(base, recorder) {
  await recorder.send('native 0.003 50');
  await recorder.send('native 0.3 40');
  await recorder.send('native 0.7 10');
  await eventually(base, 'histogram_count(e2e_native_seconds)', (r) => value(r) === 100);
  const sum = value(await query(base, 'histogram_sum(e2e_native_seconds)'));
  assert.ok(Math.abs(sum - (50 * 0.003 + 40 * 0.3 + 10 * 0.7)) < 1e-9, `histogram_sum() = ${sum}`);
  const found = ['histogram_count 100', `histogram_sum ${sum}`];
  // Schema 3: a bucket spans a factor of 2^(1/8). A quantile lands in the bucket of the
  // observation at its rank: within that factor of it.
  const factor = 2 ** (1 / 8);
  for (const [q, observed] of [
    [0.25, 0.003],
    [0.5, 0.003],
    [0.75, 0.3],
    [0.95, 0.7],
  ]) {
    const got = value(await query(base, `histogram_quantile(${q}, e2e_native_seconds)`));
    assert.ok(got > observed / factor && got <= observed * factor, `histogram_quantile(${q}) = ${got}, the bucket of ${observed}`);
    found.push(`${q} → ${got.toPrecision(4)}`);
  }
  return found;
}

test('Prometheus scrapes the demo and a recorder: up == 1, increase() and histogram_quantile() match what was recorded', {
  timeout: 120_000,
}, async () => {
  const demo = await startApp(DEMO, { PORT: '0' });
  const recorder = await startApp(RECORDER);
  const prometheus = await startPrometheus({ demo: demo.url.host, recorder: recorder.url.host });
  const { base } = prometheus;
  try {
    await eventually(base, 'up', (r) => r.length === 2 && r.every((s) => s.value[1] === '1'));

    // The demo: every thread's series arrive, and its request counter grows.
    await eventually(base, 'count(memory_usage_bytes{service="my-api"})', (r) => value(r) === 3);
    await eventually(base, 'sum(increase(http_requests_total[10s]))', (r) => value(r) > 0);

    // The recorder: 1000 jobs and 100 observations between two known points.
    const { increase, samples } = await checkIncrease(base, recorder);
    const quantiles = await checkClassicQuantiles(base, recorder);
    console.log(
      `Prometheus: up == 1 for both targets; increase(e2e_jobs_total[30s]) = ${increase} over ${samples} samples; histogram_quantile ${quantiles.join(', ')}`,
    );
  } finally {
    await prometheus.stop();
    await Promise.all([stopApp(demo, 'SIGINT'), stopApp(recorder)]);
  }
});

test('Prometheus with native histograms on scrapes over protobuf: increase(), histogram_quantile() and native histograms match what was recorded', {
  timeout: 120_000,
}, async () => {
  const recorder = await startApp(RECORDER);
  // A proxy between Prometheus and the recorder notes what was asked for and answered.
  const exchanges = [];
  const proxy = createServer(async (request, response) => {
    const answer = await fetch(`${recorder.url.origin}${request.url}`, { headers: { accept: request.headers.accept ?? '' } });
    exchanges.push({ accept: request.headers.accept, contentType: answer.headers.get('content-type') });
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') });
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const prometheus = await startPrometheus({ recorder: `127.0.0.1:${proxy.address().port}` }, ['--enable-feature=native-histograms']);
  const { base } = prometheus;
  try {
    await eventually(base, 'up', (r) => r.length === 1 && r[0].value[1] === '1');
    assert.match(exchanges[0].accept, /^application\/vnd\.google\.protobuf;proto=io\.prometheus\.client\.MetricFamily;encoding=delimited/);
    assert.equal(
      exchanges[0].contentType,
      'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores',
    );
    const { increase, samples } = await checkIncrease(base, recorder);
    const quantiles = await checkClassicQuantiles(base, recorder);
    const native = await checkNativeHistogram(base, recorder);
    assert.ok(
      exchanges.every((exchange) => exchange.contentType.startsWith('application/vnd.google.protobuf')),
      'every scrape was protobuf',
    );
    console.log(
      `Prometheus over protobuf (${exchanges.length} scrapes): increase() = ${increase} over ${samples} samples; histogram_quantile ${quantiles.join(', ')}; native: ${native.join(', ')}`,
    );
  } finally {
    await prometheus.stop();
    proxy.close();
    await stopApp(recorder);
  }
});
