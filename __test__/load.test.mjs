// Load on the endpoint: 50 clients scrape back to back for 30 s while two workers
// update at full speed. No request fails, every counter only grows from one scrape to
// the next, and each body is self-consistent (a histogram's _count is its +Inf bucket).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const TARGET = fileURLToPath(new URL('./fixtures/load-target.cjs', import.meta.url));
const CLIENTS = 50;
const SECONDS = 30;

function get(agent, url) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, timeout: 10_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

/** The value of the sample line that starts with `series ` in a 0.0.4 body. */
function sampleValue(body, series) {
  const at = body.indexOf(`\n${series} `);
  if (at < 0) return undefined;
  return Number(body.slice(at + series.length + 2, body.indexOf('\n', at + 1)));
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

test(`${CLIENTS} clients scrape for ${SECONDS} s while two workers update: no failure, counters monotonic`, {
  timeout: SECONDS * 1000 + 60_000,
}, async () => {
  const target = spawn(process.execPath, [TARGET], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    target.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/^metrics: (\S+)$/m);
      if (match) resolve(match[1]);
    });
    target.on('exit', () => reject(new Error(`the load target exited:\n${out}`)));
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const latencies = [];
  const failures = [];
  const end = Date.now() + SECONDS * 1000;
  const client = async (id) => {
    const last = { w1: 0, w2: 0, count: 0 };
    while (Date.now() < end) {
      const start = performance.now();
      try {
        const { status, body } = await get(agent, url);
        latencies.push(performance.now() - start);
        if (status !== 200) throw new Error(`status ${status}`);
        const now = {
          w1: sampleValue(body, 'load_updates_total{worker="1"}'),
          w2: sampleValue(body, 'load_updates_total{worker="2"}'),
          count: sampleValue(body, 'load_sizes_count'),
        };
        if (sampleValue(body, 'load_routes_total{route="/api/v1/items/1999"}') !== 1999) throw new Error('a filler series is wrong');
        if (sampleValue(body, 'load_sizes_bucket{le="+Inf"}') !== now.count) throw new Error('_count differs from the +Inf bucket');
        for (const key of Object.keys(last)) {
          // A worker's series appears with its first update, shortly after start.
          const value = now[key] ?? 0;
          if (!(value >= last[key])) throw new Error(`${key} went from ${last[key]} to ${value}`);
          last[key] = value;
        }
      } catch (error) {
        failures.push(`client ${id}: ${error.message}`);
      }
    }
    return last;
  };
  try {
    const finals = await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(`${latencies.length} scrapes in ${SECONDS} s by ${CLIENTS} clients: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    assert.deepEqual(failures.slice(0, 10), []);
    assert.ok(latencies.length >= CLIENTS * 10, `only ${latencies.length} scrapes completed`);
    assert.ok(
      finals.every((f) => f.w1 > 0 && f.w2 > 0),
      'both workers were counting',
    );
  } finally {
    agent.destroy();
    target.stdin.end();
    await new Promise((resolve) => (target.exitCode !== null ? resolve() : target.once('exit', resolve)));
  }
});
