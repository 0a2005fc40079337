// Scale benchmark: scrapes of 1k–100k series over HTTP, slotmetrics' serve() (text, and
// protobuf as Prometheus asks for it with native histograms on) against prom-client's
// registry.metrics() behind node:http, each target in a process of its
// own, scraped by a client process (scrape-client.js) over loopback. Also the target's event-loop delay during the
// scrapes, registration cost, RSS per series, and update speed while being scraped.
//   npm run bench:scale [-- --json FILE] [-- --chart FILE]   (chart default: benches/scale.svg)
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { scaleChart } = require('./chart');
const { runtimeName } = require('./runtime');

const LIBRARIES = ['slotmetrics', 'prom-client'];
const CONFIGS = [
  { kind: 'counters', series: 1_000 },
  { kind: 'counters', series: 10_000 },
  { kind: 'counters', series: 100_000 },
  { kind: 'histograms', series: 10_000 },
];
const SCRAPES = 11;

/** A target process and a way to send it commands and read its JSON replies. */
function startTarget(library, kind, series, extra = []) {
  const child = spawn(process.execPath, ['--expose-gc', path.join(__dirname, 'scale-target.js'), library, kind, String(series), ...extra], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${library} target exited`);
    return JSON.parse(value);
  };
  return {
    ready: next(),
    ask: (command) => {
      child.stdin.write(`${command}\n`);
      return next();
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.write('exit\n');
      }),
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Scrapes from a separate client process: `times` scrapes, one after another. With
 * `idle`, the client runs under SCHED_IDLE, so it only uses CPU the target leaves free,
 * as a scraper on another machine would; that is how the target's event loop is
 * watched, so that its delays are the library's and not the client's (both libraries
 * alike).
 */
function scrapeFromClient(url, { times = SCRAPES, gzip = false, protobuf = false, idle = false } = {}) {
  const client = [path.join(__dirname, 'scrape-client.js'), url, String(times), ...(gzip ? ['--gzip'] : []), ...(protobuf ? ['--protobuf'] : [])];
  const [command, args] = idle ? ['chrt', ['--idle', '0', process.execPath, ...client]] : [process.execPath, client];
  const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const { ms, bytes } = JSON.parse(out);
  return { ms: median(ms), bytes };
}

async function measureLibrary(library, { kind, series }) {
  const target = startTarget(library, kind, series);
  const info = await target.ready;
  const plain = scrapeFromClient(info.url);
  const gzip = library === 'slotmetrics' ? scrapeFromClient(info.url, { gzip: true }) : null;
  const protobuf = library === 'slotmetrics' ? scrapeFromClient(info.url, { protobuf: true }) : null;
  await target.ask('reset');
  scrapeFromClient(info.url, { idle: true });
  const delay = await target.ask('delay');
  await target.stop();
  return {
    scrapeMs: plain.ms,
    bodyBytes: plain.bytes,
    gzipScrapeMs: gzip?.ms ?? null,
    gzipBodyBytes: gzip?.bytes ?? null,
    protobufScrapeMs: protobuf?.ms ?? null,
    protobufBodyBytes: protobuf?.bytes ?? null,
    eventLoopDelayP99Ms: delay.p99Ms,
    eventLoopDelayMaxMs: delay.maxMs,
    registerUsPerSeries: info.registerUsPerSeries,
    rssBytesPerSeries: info.rssBytesPerSeries,
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two workers increment one series flat out; their speed without, then during, back-to-back scrapes. */
async function updatesDuringScrapes(series) {
  const target = startTarget('slotmetrics', 'counters', series, ['--workers']);
  const { url } = await target.ready;
  await sleep(500);
  const SCRAPES_DURING = 20;
  const window = async (during) => {
    const from = await target.ask('updates');
    if (during) scrapeFromClient(url, { times: SCRAPES_DURING });
    else await sleep(1500);
    const to = await target.ask('updates');
    // Two workers ran the whole window: ns of one worker per increment.
    return { nsPerOp: ((to.at - from.at) * 2) / (to.increments - from.increments) };
  };
  const without = await window(false);
  const during = await window(true);
  await target.stop();
  return { series, withoutNsPerOp: without.nsPerOp, duringNsPerOp: during.nsPerOp, scrapes: SCRAPES_DURING + 1 };
}

function parseArgs(argv) {
  const args = { json: undefined, chart: path.join(__dirname, 'scale.svg') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') args.json = argv[++i];
    else if (argv[i] === '--chart') args.chart = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}; use --json FILE and/or --chart FILE`);
  }
  return args;
}

const fmt = (n, digits = 1) => (n === null ? '' : n.toFixed(digits));

async function main() {
  const args = parseArgs(process.argv.slice(2));
  console.log(`${runtimeName()}, ${os.cpus().length} × ${os.cpus()[0].model}; scrapes from a separate process over loopback, median of ${SCRAPES}\n`);
  const results = [];
  for (const config of CONFIGS) {
    const row = { ...config };
    for (const library of LIBRARIES) row[library] = await measureLibrary(library, config);
    results.push(row);
    console.error(`  done: ${config.series} ${config.kind}`);
  }
  const header = [
    'series',
    'lib',
    'scrape ms',
    'gzip ms',
    'protobuf ms',
    'body KB',
    'gzip KB',
    'protobuf KB',
    'loop p99 ms',
    'loop max ms',
    'register µs',
    'RSS B/series',
  ];
  const rows = results.flatMap((r) =>
    LIBRARIES.map((library) => {
      const m = r[library];
      return [
        `${r.series} ${r.kind}`,
        library,
        fmt(m.scrapeMs),
        fmt(m.gzipScrapeMs),
        fmt(m.protobufScrapeMs),
        fmt(m.bodyBytes / 1024, 0),
        m.gzipBodyBytes === null ? '' : fmt(m.gzipBodyBytes / 1024, 0),
        m.protobufBodyBytes === null ? '' : fmt(m.protobufBodyBytes / 1024, 0),
        fmt(m.eventLoopDelayP99Ms, 2),
        fmt(m.eventLoopDelayMaxMs, 2),
        fmt(m.registerUsPerSeries, 2),
        fmt(m.rssBytesPerSeries, 0),
      ];
    }),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  for (const r of results) {
    console.log(
      `${r.series} ${r.kind}: slotmetrics scrape takes ${(r.slotmetrics.scrapeMs / r['prom-client'].scrapeMs).toFixed(3)}× prom-client's time`,
    );
  }

  const updates = await updatesDuringScrapes(100_000);
  console.log(
    `\n2 workers incrementing one of 100k series: ${fmt(updates.withoutNsPerOp, 2)} ns/op without scrapes, ` +
      `${fmt(updates.duringNsPerOp, 2)} ns/op during ${updates.scrapes} back-to-back scrapes (${(updates.duringNsPerOp / updates.withoutNsPerOp).toFixed(2)}×)`,
  );

  const report = { date: new Date().toISOString(), runtime: runtimeName(), cpus: os.cpus().length, results, updates };
  if (args.json) {
    fs.writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${args.json}`);
  }
  fs.writeFileSync(args.chart, scaleChart(report));
  console.log(`wrote ${args.chart}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
