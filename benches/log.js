// log.info throughput, slotmetrics against pino, each in a fresh process.
//   npm run bench:log [-- --json FILE]
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { runtimeName } = require('./runtime');

const CASES = [
  { fields: 0, label: 'log.info(msg)' },
  { fields: 3, label: 'log.info(msg, {3 fields})' },
  { fields: 'disabled', label: 'log.debug() below threshold' },
];

function run(library, fields) {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'log-case.js'), library, String(fields)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out).linesPerSecond;
}

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
console.log(
  `${runtimeName()}, pino ${require('pino/package.json').version}; lines per second to /dev/null, flush included, median of 5 rounds of 200k lines\n`,
);
const results = CASES.map(({ fields, label }) => {
  const slotmetrics = run('slotmetrics', fields);
  const pino = run('pino', fields);
  const rate = (perSecond) => (perSecond >= 1e8 ? `${(1e9 / perSecond).toFixed(2)} ns/call` : `${(perSecond / 1e6).toFixed(2)} M/s`);
  const target = typeof fields === 'number' ? ' (target ≥ 2×)' : '';
  console.log(
    `${label.padEnd(30)} slotmetrics ${rate(slotmetrics).padStart(13)}   pino ${rate(pino).padStart(13)}   ${(slotmetrics / pino).toFixed(2)}× pino${target}`,
  );
  return { fields, slotmetrics, pino, ratio: slotmetrics / pino };
});
if (jsonAt >= 0) {
  fs.writeFileSync(args[jsonAt + 1], `${JSON.stringify({ date: new Date().toISOString(), runtime: runtimeName(), results }, null, 2)}\n`);
}
