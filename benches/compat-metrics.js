// register.metrics() at 10k series: prom-client 15.1.3 against slotmetrics/prom-client
// running the same code, each library in a fresh process.
//   npm run bench:compat [-- --json FILE]
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const { runtimeName } = require('./runtime');

const SERIES = 10_000;
const ROUNDS = 11;

/** In a child: builds 10k counter series and 10k histogram series, times metrics(). */
async function child(library) {
  const client = require(library);
  const registry = new client.Registry();
  const counter = new client.Counter({ name: 'bench_requests_total', help: 'Requests', labelNames: ['route', 'code'], registers: [registry] });
  const histogram = new client.Histogram({ name: 'bench_duration_seconds', help: 'Duration', labelNames: ['route'], registers: [registry] });
  for (let i = 0; i < SERIES; i++) counter.inc({ route: `/api/v1/resource/${i % 1000}`, code: String(Math.floor(i / 1000)) }, i % 7);
  for (let i = 0; i < SERIES / 10; i++) histogram.observe({ route: `/api/v1/resource/${i}` }, (i % 100) / 50);
  const times = [];
  let bytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    bytes = (await registry.metrics()).length;
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ ms: times[ROUNDS >> 1], bytes })}\n`);
}

function main() {
  const json = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;
  const run = (library) => JSON.parse(execFileSync(process.execPath, [__filename, library], { encoding: 'utf8' }));
  const theirs = run('prom-client');
  const ours = run('slotmetrics/prom-client');
  console.log(
    `${runtimeName()}: register.metrics() with ${SERIES} counter series and ${SERIES / 10} histogram series (default buckets), median of ${ROUNDS}:`,
  );
  console.log(`  prom-client 15.1.3        ${theirs.ms.toFixed(1)} ms (${theirs.bytes} bytes)`);
  console.log(`  slotmetrics/prom-client   ${ours.ms.toFixed(1)} ms (${ours.bytes} bytes)`);
  console.log(`  ${(theirs.ms / ours.ms).toFixed(1)}× faster, rendered off the event loop`);
  if (json) fs.writeFileSync(json, `${JSON.stringify({ series: SERIES, rounds: ROUNDS, promClient: theirs, compat: ours }, null, 2)}\n`);
}

const library = process.argv[2];
if (library !== undefined && !library.startsWith('--')) child(library);
else main();
