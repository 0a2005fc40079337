// What collectDefaultMetrics() costs an idle process: CPU time over 10 s, with and
// without it, each in a fresh process (the difference is the overhead).
//   npm run bench:defaults
'use strict';

const { execFileSync } = require('node:child_process');
const { runtimeName } = require('./runtime');

const SECONDS = 10;
const child = (withDefaults) => `
  const { collectDefaultMetrics, registry } = require('slotmetrics');
  ${withDefaults ? 'collectDefaultMetrics();' : ''}
  const start = process.cpuUsage();
  setTimeout(async () => {
    const used = process.cpuUsage(start);
    // One scrape's worth of rendering, as Prometheus would ask every 15 s or so.
    await registry.metrics();
    console.log((used.user + used.system) / 1e3);
  }, ${SECONDS * 1000});`;

const cpuMs = (withDefaults) => Number(execFileSync(process.execPath, ['-e', child(withDefaults)], { encoding: 'utf8' }));
const without = cpuMs(false);
const withDefaults = cpuMs(true);
const percent = ((withDefaults - without) / (SECONDS * 1000)) * 100;
console.log(`${runtimeName()}, idle ${SECONDS} s: ${without.toFixed(1)} ms CPU without default metrics, ${withDefaults.toFixed(1)} ms with`);
console.log(`overhead: ${percent.toFixed(3)}% of one core (target < 1%)`);
