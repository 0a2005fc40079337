// slotmetrics/prom-client against every prom-client API peer, the same code on each:
// prom-client 15.1.3, its successor @prometheus-io/client 0.16.1 and the
// @platformatic/prom-client fork. Each case of each library runs in a fresh process.
//   npm run bench:peers [-- --cases a,b] [--json FILE]
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const { measure } = require('./measure');
const { runtimeName } = require('./runtime');

const PEERS = [
  { name: 'prom-client 15.1.3', module: 'prom-client' },
  { name: '@prometheus-io/client 0.16.1', module: '@prometheus-io/client' },
  { name: '@platformatic/prom-client 1.0.0', module: '@platformatic/prom-client' },
];
const OURS = { name: 'slotmetrics/prom-client', module: 'slotmetrics/prom-client' };

const METHODS = ['GET', 'POST'];
const CODES = ['200', '404', '500', '201'];
const ROUTES = ['/users', '/orders', '/health', '/login'];
const VALUES = Float64Array.from({ length: 1024 }, (_, i) => (i % 10 === 0 ? (i % 7) * 0.7 : (i % 97) / 1000));
const TRACES = Array.from({ length: 1024 }, (_, i) => (0x9e3779b97f4a7c15n * BigInt(i + 1)).toString(16).padStart(16, '0').slice(-16));

/** The median of `rounds` timings of `run()`, in ms. */
function medianMs(rounds, run) {
  const times = [];
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    run(round);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[rounds >> 1];
}

/**
 * µs per label set used for the first time: `metrics` fresh counters each get `series`
 * new label sets, after one untimed warm-up metric; the median metric's figure.
 */
function firstUse(client, series, metrics) {
  const fill = (index, count) => {
    const counter = new client.Counter({ name: `first_use_${index}_total`, help: 'First use', labelNames: ['route', 'code'] });
    return () => {
      for (let i = 0; i < count; i++) counter.inc({ route: `/api/v1/resource/${i}`, code: CODES[i & 3] });
    };
  };
  fill('warm', 1000)();
  const counters = Array.from({ length: metrics }, (_, index) => fill(index, series));
  return (medianMs(metrics, (round) => counters[round]()) * 1000) / series;
}

/**
 * µs per label value for the part of a first use every library's cache pays, whatever
 * else it does: one Map get of a label value not seen before, then its set, with
 * `firstUse`'s values and counts. V8 hashes the new string on the get, and on Node 26
 * (not on Node 20) also internalizes it: a lookup and an insertion in its string table.
 */
function freshKeyFloor(series, maps) {
  const fill = () => {
    const seen = new Map();
    return () => {
      for (let i = 0; i < series; i++) {
        const route = `/api/v1/resource/${i}`;
        if (seen.get(route) === undefined) seen.set(route, i);
      }
    };
  };
  fill()();
  const fills = Array.from({ length: maps }, fill);
  return (medianMs(maps, (round) => fills[round]()) * 1000) / series;
}

/** Each case: the value it measures (ns per call unless `unit` says otherwise) given the library. */
const CASES = {
  labeledInc: {
    title: 'counter.inc({ 2 labels })',
    run(client) {
      const counter = new client.Counter({ name: 'requests_total', help: 'Requests', labelNames: ['method', 'code'] });
      const labels = Array.from({ length: 8 }, (_, i) => ({ method: METHODS[i >> 2], code: CODES[i & 3] }));
      return measure((n) => {
        for (let i = 0; i < n; i++) counter.inc(labels[i & 7]);
      }).nsPerOp;
    },
  },
  keptChild: {
    title: 'counter.labels(…) kept, .inc()',
    run(client) {
      const counter = new client.Counter({ name: 'requests_total', help: 'Requests', labelNames: ['method', 'code'] });
      const child = counter.labels('GET', '200');
      return measure((n) => {
        for (let i = 0; i < n; i++) child.inc();
      }).nsPerOp;
    },
  },
  histogramObserve: {
    title: 'histogram.observe({ 1 label }, v)',
    run(client) {
      const histogram = new client.Histogram({ name: 'duration_seconds', help: 'Duration', labelNames: ['route'] });
      const labels = ROUTES.map((route) => ({ route }));
      return measure((n) => {
        for (let i = 0; i < n; i++) histogram.observe(labels[(i >> 3) & 3], VALUES[i & 1023]);
      }).nsPerOp;
    },
  },
  summaryObserve: {
    title: 'summary.observe({ 1 label }, v)',
    run(client) {
      const summary = new client.Summary({ name: 'duration_summary_seconds', help: 'Duration', labelNames: ['route'] });
      const labels = ROUTES.map((route) => ({ route }));
      return measure((n) => {
        for (let i = 0; i < n; i++) summary.observe(labels[(i >> 3) & 3], VALUES[i & 1023]);
      }).nsPerOp;
    },
  },
  exemplarInc: {
    title: 'counter.inc({ labels, value, exemplarLabels })',
    run(client) {
      client.register.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
      const counter = new client.Counter({ name: 'traced_total', help: 'Traced', labelNames: ['method', 'code'], enableExemplars: true });
      const labels = Array.from({ length: 8 }, (_, i) => ({ method: METHODS[i >> 2], code: CODES[i & 3] }));
      return measure((n) => {
        for (let i = 0; i < n; i++) counter.inc({ labels: labels[i & 7], value: 1, exemplarLabels: { traceId: TRACES[i & 1023] } });
      }).nsPerOp;
    },
  },
  firstUse5k: {
    title: 'first use of a label set, 5k series (µs)',
    unit: 'µs',
    run: (client) => firstUse(client, 5_000, 5),
  },
  firstUse100k: {
    title: 'first use of a label set, 100k series (µs)',
    unit: 'µs',
    run: (client) => firstUse(client, 100_000, 3),
  },
  overflow: {
    title: 'new label set past the series limit (µs)',
    unit: 'µs',
    ours: true,
    run(client) {
      // slotmetrics only: the peers have no series limit.
      require('slotmetrics').setCardinalityLimit(1000);
      const counter = new client.Counter({ name: 'overflowing_total', help: 'Overflowing', labelNames: ['route'] });
      for (let i = 0; i < 1000; i++) counter.inc({ route: `/full/${i}` });
      let next = 0;
      const ms = medianMs(5, () => {
        for (let i = 0; i < 10_000; i++) counter.inc({ route: `/over/${next++}` });
      });
      return (ms * 1000) / 10_000;
    },
  },
  metrics10k: {
    title: 'register.metrics(), 10k counter + 1k histogram series (ms)',
    unit: 'ms',
    async run(client) {
      const counter = new client.Counter({ name: 'bench_requests_total', help: 'Requests', labelNames: ['route', 'code'] });
      const histogram = new client.Histogram({ name: 'bench_duration_seconds', help: 'Duration', labelNames: ['route'] });
      for (let i = 0; i < 10_000; i++) counter.inc({ route: `/api/v1/resource/${i % 1000}`, code: String(Math.floor(i / 1000)) }, i % 7);
      for (let i = 0; i < 1000; i++) histogram.observe({ route: `/api/v1/resource/${i}` }, (i % 100) / 50);
      const times = [];
      for (let round = 0; round < 11; round++) {
        const start = process.hrtime.bigint();
        await client.register.metrics();
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      return times.sort((a, b) => a - b)[5];
    },
  },
};

/** In a child: one case of one library, printed as JSON. */
async function child(module, name) {
  const client = require(module);
  if (module === OURS.module) {
    // prom-client has no series limit; raise slotmetrics' default (10k) above the largest case.
    require('slotmetrics').setCardinalityLimit(1_000_000);
  }
  const value = await CASES[name].run(client);
  process.stdout.write(`${JSON.stringify({ value })}\n`);
}

function runCase(library, name) {
  try {
    const output = execFileSync(process.execPath, [__filename, '--child', library.module, name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(output).value;
  } catch (error) {
    // A peer that does not run on this runtime (0.16 needs Node 22+) prints n/a.
    const firstLine = String(error.stderr ?? error.message)
      .split('\n')
      .find((line) => /Error/.test(line));
    console.error(`  ${library.name} failed ${name}: ${firstLine ?? 'no output'}`);
    return undefined;
  }
}

function format(value, unit) {
  if (value === undefined) return 'n/a';
  return unit === undefined ? `${value.toFixed(1)} ns` : `${value.toFixed(unit === 'ms' ? 1 : 2)} ${unit}`;
}

function main() {
  const argument = (flag) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
  const names = argument('--cases')?.split(',') ?? Object.keys(CASES);
  const unknown = names.filter((name) => !(name in CASES));
  if (unknown.length > 0) throw new Error(`unknown cases: ${unknown.join(', ')} (known: ${Object.keys(CASES).join(', ')})`);
  const libraries = [...PEERS, OURS];
  console.log(`${runtimeName()}: each case of each library in a fresh process; "ahead": the fastest peer's figure / slotmetrics/prom-client's`);
  const header = ['case', ...libraries.map((library) => library.name), 'ahead'];
  const rows = [];
  const report = {};
  for (const name of names) {
    const { title, unit, ours } = CASES[name];
    const values = libraries.map((library) => (ours && library !== OURS ? undefined : runCase(library, name)));
    const peers = values.slice(0, PEERS.length).filter((value) => value !== undefined);
    const mine = values[PEERS.length];
    const ahead = peers.length > 0 && mine !== undefined ? `${(Math.min(...peers) / mine).toFixed(1)}×` : '';
    rows.push([title, ...values.map((value) => format(value, unit)), ahead]);
    report[name] = { title, unit: unit ?? 'ns', ...Object.fromEntries(libraries.map((library, i) => [library.name, values[i] ?? null])) };
    console.log(`  ${rows.at(-1).join(' | ')}`);
  }
  if (names.some((name) => name.startsWith('firstUse'))) {
    const floor = JSON.parse(execFileSync(process.execPath, [__filename, '--floor'], { encoding: 'utf8' })).value;
    console.log(`  of a first use, a Map get and set of the new label value alone (every library's cache): ${format(floor, 'µs')}`);
  }
  console.log();
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  const json = argument('--json');
  if (json) fs.writeFileSync(json, `${JSON.stringify({ runtime: runtimeName(), cases: report }, null, 2)}\n`);
}

if (process.argv[2] === '--child') child(process.argv[3], process.argv[4]);
else if (process.argv[2] === '--floor') process.stdout.write(`${JSON.stringify({ value: freshKeyFloor(5_000, 5) })}\n`);
else main();
