// slotmetrics vs prom-client vs the OpenTelemetry SDK, in one run on one machine.
//   npm run bench [-- --json FILE] [-- --cases a,b]
// Each (library, case) runs in a fresh process; figures are the median ns per
// operation over 7 rounds of ~100 ms. Ratios are the other library's time over
// slotmetrics' (above 1: slotmetrics is faster). slotmetrics also runs each case as a
// member of a multi-process group (SLOTMETRICS_MULTIPROCESS_DIR): its slots in the
// group's mapped files, its new label sets registered through the group's journal.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runtimeName } = require('./runtime');

const GROUP = 'slotmetrics in a group';
const LIBRARIES = ['slotmetrics', GROUP, 'prom-client', 'opentelemetry', 'slotmetrics/prom-client'];

// The targets are DESIGN §7's, for slotmetrics.
const CASES = [
  { name: 'unlabeledIncrement', label: 'unlabeled increment' },
  { name: 'cachedIncrement', label: 'cached handle increment', target: 5 },
  { name: 'labeledIncrement', label: 'with(2 labels).increment()', target: 30 },
  { name: 'gaugeSet', label: 'gauge set' },
  { name: 'cachedObserve', label: 'histogram observe, cached', target: 10 },
  { name: 'labeledObserve', label: 'histogram with(1 label).observe()', target: 40 },
  // #16's targets: within 1.5× of the classic histogram's 8 and 30 ns.
  { name: 'cachedNativeObserve', label: 'native histogram observe, cached', target: 12 },
  { name: 'labeledNativeObserve', label: 'native histogram with(1 label).observe()', target: 45 },
  { name: 'summaryObserve', label: 'summary with(1 label).observe()' },
  { name: 'exemplarIncrement', label: 'counter inc, 2 labels + exemplar' },
  { name: 'twoWorkers', label: '2 workers, one counter (each)', target: 8 },
  { name: 'helperIncrement', label: 'metrics.increment(name, 2 labels)', target: 60 },
  { name: 'helperGauge', label: 'metrics.gauge(name, v, 2 labels)' },
  { name: 'helperHistogram', label: 'metrics.histogram(name, v, 2 labels)' },
];

function parseArgs(argv) {
  const args = { json: undefined, cases: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') args.json = argv[++i];
    else if (argv[i] === '--cases') args.cases = argv[++i].split(',');
    else throw new Error(`unknown argument ${argv[i]}; use --json FILE and/or --cases a,b`);
  }
  return args;
}

function runCase(library, name) {
  const dir = library === GROUP ? fs.mkdtempSync(path.join(os.tmpdir(), 'slotmetrics-bench-group-')) : undefined;
  try {
    const out = execFileSync(process.execPath, [path.join(__dirname, 'case.js'), dir ? 'slotmetrics' : library, name], {
      encoding: 'utf8',
      env: dir ? { ...process.env, SLOTMETRICS_MULTIPROCESS_DIR: dir } : process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(out);
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true });
  }
}

/** A package's version; read from disk when its `exports` do not list its package.json. */
function versionOf(pkg) {
  try {
    return require(`${pkg}/package.json`).version;
  } catch (error) {
    if (error.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error;
    const file = require.resolve
      .paths(pkg)
      .map((dir) => path.join(dir, pkg, 'package.json'))
      .find(fs.existsSync);
    return JSON.parse(fs.readFileSync(file, 'utf8')).version;
  }
}

function format(ns) {
  if (ns === null || Number.isNaN(ns)) return 'n/a';
  return ns >= 100 ? ns.toFixed(0) : ns.toFixed(1);
}

/** `a / b`, or null when either is missing. */
function over(a, b) {
  return a === null || b === null ? null : a / b;
}

function formatRatio(ratio) {
  return ratio === null ? 'n/a' : `${ratio.toFixed(1)}×`;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const cases = CASES.filter((c) => !args.cases || args.cases.includes(c.name));
  const versions = {
    slotmetrics: versionOf('slotmetrics'),
    [GROUP]: versionOf('slotmetrics'),
    'prom-client': versionOf('prom-client'),
    opentelemetry: versionOf('@opentelemetry/sdk-metrics'),
    'slotmetrics/prom-client': versionOf('slotmetrics'),
  };
  console.log(`${runtimeName()}, ${os.cpus().length} × ${os.cpus()[0].model}`);
  console.log(`slotmetrics ${versions.slotmetrics}, prom-client ${versions['prom-client']}, @opentelemetry/sdk-metrics ${versions.opentelemetry}\n`);

  const header = [
    'case',
    'slotmetrics ns/op',
    'target',
    'in a group ns/op',
    'group/alone',
    'prom-client ns/op',
    'OTel SDK ns/op',
    'vs prom-client',
    'vs OTel',
    'slotmetrics/prom-client ns/op',
    'its gain on prom-client',
  ];
  const rows = [];
  const results = [];
  for (const c of cases) {
    const figures = Object.fromEntries(LIBRARIES.map((library) => [library, runCase(library, c.name)]));
    const slot = figures.slotmetrics.nsPerOp;
    const row = {
      case: c.name,
      label: c.label,
      target: c.target ?? null,
      met: c.target === undefined ? null : slot <= c.target,
      nsPerOp: Object.fromEntries(LIBRARIES.map((l) => [l, figures[l].nsPerOp])),
      // null where either has no such call or instrument
      ratio: {
        'prom-client': over(figures['prom-client'].nsPerOp, slot),
        opentelemetry: over(figures.opentelemetry.nsPerOp, slot),
        // What the multi-process group costs: above 1, its time is longer.
        groupOverAlone: over(figures[GROUP].nsPerOp, slot),
        // The compatibility entry against prom-client itself, running the same code.
        compatOverPromClient: over(figures['prom-client'].nsPerOp, figures['slotmetrics/prom-client'].nsPerOp),
      },
    };
    if (c.name === 'twoWorkers') {
      // Only slotmetrics aggregates across threads; record that it lost nothing.
      row.slotmetricsCountedExactly = figures.slotmetrics.counted === figures.slotmetrics.operations;
    }
    results.push(row);
    rows.push([
      c.label,
      format(slot),
      c.target === undefined ? '' : `≤ ${c.target} ${row.met ? 'met' : 'MISSED'}`,
      format(row.nsPerOp[GROUP]),
      formatRatio(row.ratio.groupOverAlone),
      format(row.nsPerOp['prom-client']),
      format(row.nsPerOp.opentelemetry),
      formatRatio(row.ratio['prom-client']),
      formatRatio(row.ratio.opentelemetry),
      format(row.nsPerOp['slotmetrics/prom-client']),
      formatRatio(row.ratio.compatOverPromClient),
    ]);
    console.error(`  done: ${c.label}`);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  const workers = results.find((r) => r.case === 'twoWorkers');
  if (workers) {
    console.log(
      `\n2 workers: slotmetrics counted every increment of both threads in one metric: ${workers.slotmetricsCountedExactly ? 'yes' : 'NO'};` +
        ' prom-client and the OTel SDK keep a separate, unaggregated registry per thread.',
    );
  }
  if (args.json) {
    const report = { date: new Date().toISOString(), runtime: runtimeName(), cpus: os.cpus().length, versions, results };
    fs.writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${args.json}`);
  }
}

main();
