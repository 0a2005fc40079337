// Shared by the tests: read the exposition back, and run the real consumers of it.
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { gunzipSync } from 'node:zlib';
import { registry } from 'slotmetrics';

/** The JavaScript runtime running the tests: 'node', 'bun' or 'deno'. */
export const runtime = globalThis.Bun ? 'bun' : globalThis.Deno ? 'deno' : 'node';

/**
 * For a test's `skip` option: the reason the test cannot apply on this runtime, from
 * `reasons` ({ bun: '…', deno: '…' }), printed so that a run says why; false where it
 * applies.
 */
export function unsupportedOn(reasons) {
  const reason = reasons[runtime];
  if (!reason) return false;
  console.log(`# skipped on ${runtime}: ${reason}`);
  return `not on ${runtime}: ${reason}`;
}

/** A free port on 127.0.0.1: free when asked, for a server started a moment later. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * A receiver on 127.0.0.1 for what exporters push: keeps every request as `{ method,
 * path, headers, body, at }` (the body gunzipped if it came gzipped) and answers with
 * `answer(request, count)`'s `{ status, headers, body }`, 200 by default. `close()`
 * also closes the connections clients keep alive.
 */
export async function loopbackReceiver(answer = () => ({})) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const request = { method: req.method, path: req.url, headers: req.headers, body, at: Date.now() };
      requests.push(request);
      const { status = 200, headers = {}, body: reply = '' } = answer(request, requests.length);
      res.writeHead(status, headers).end(reply);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(resolve);
    });
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close };
}

/**
 * Reads `read()` (awaited) every `every` ms until `accept` holds for what it returned,
 * or `ms` have passed; returns the last value read. For what another thread, process or
 * timer finishes on a turn of its own: the caller asserts on the value, so a value
 * that never comes fails with the test's own message.
 */
export async function eventually(read, accept = Boolean, { ms = 10_000, every = 50 } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/** Runs `work(n)` for every n in [0, count), `atOnce` at a time, each lane taking the next n. */
export async function inLanes(count, atOnce, work) {
  let next = 0;
  const lane = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: atOnce }, lane));
}

/** Parses a text 0.0.4 body into Map('name{labels}' → number). */
export function parseSamples(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    const raw = line.slice(at + 1);
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.set(line.slice(0, at), value);
  }
  return samples;
}

/** The current value of one sample, e.g. sample('x_total{a="1"}'). */
export async function sample(series) {
  return parseSamples(await registry.metrics()).get(series);
}

/**
 * What a call did, as text to compare between prom-client and slotmetrics/prom-client:
 * 'no error', or the thrown error's class and message.
 */
export function outcomeOf(call) {
  try {
    call();
    return 'no error';
  } catch (error) {
    return `${error.constructor.name}: ${error.message}`;
  }
}

/** Runs `promtool check metrics` on a 0.0.4 body; returns { status, output }. */
export function promtoolCheck(body) {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 30_000 });
  if (run.error) throw new Error(`promtool could not run (install Debian's "prometheus" package): ${run.error.message}`);
  return { status: run.status, output: run.stdout + run.stderr };
}

// Reads a body on stdin with one of prometheus_client's parsers (argv[1]: the module)
// and prints every sample, with its exemplar if any, as JSON.
const PARSE_WITH_PROMETHEUS_CLIENT = `
import importlib, json, math, sys
parser = importlib.import_module(sys.argv[1])
def number(v):
    if math.isnan(v): return 'NaN'
    if math.isinf(v): return '+Inf' if v > 0 else '-Inf'
    return v
def exemplar(e):
    if e is None: return None
    return {'labels': e.labels, 'value': number(e.value), 'timestamp': None if e.timestamp is None else float(e.timestamp)}
out = []
for family in parser.text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({'family': family.name, 'type': family.type, 'documentation': family.documentation,
                    'name': s.name, 'labels': s.labels, 'value': number(s.value), 'exemplar': exemplar(s.exemplar)})
print(json.dumps(out))
`;

function parseWithPrometheusClient(parser, what, body) {
  const run = spawnSync('python3', ['-c', PARSE_WITH_PROMETHEUS_CLIENT, parser], {
    input: body,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 1 << 30,
  });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`the ${what} parser rejected the body:\n${run.stderr}`);
  return JSON.parse(run.stdout).map((s) => ({
    ...s,
    value: s.value === '+Inf' ? Infinity : s.value === '-Inf' ? -Infinity : s.value === 'NaN' ? NaN : s.value,
  }));
}

/**
 * Parses an OpenMetrics body with the strict parser of Python's prometheus_client;
 * throws with the parser's message if it rejects the body.
 */
export function parseOpenMetricsStrict(body) {
  return parseWithPrometheusClient('prometheus_client.openmetrics.parser', 'OpenMetrics', body);
}

/** Parses a text 0.0.4 body with prometheus_client's parser of that format. */
export function parseTextFormat(body) {
  return parseWithPrometheusClient('prometheus_client.parser', 'text 0.0.4', body);
}

let metricFamilyType;

/**
 * Decodes a protobuf exposition (length-delimited `io.prometheus.client.MetricFamily`
 * messages) with protobufjs and the official `metrics.proto`, read from the
 * prometheus-client crate the engine's tests build with (found through `cargo
 * metadata`). Numbers come as numbers, enums as names, defaults included.
 */
export function decodeMetricFamilies(bytes) {
  if (metricFamilyType === undefined) {
    const metadata = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1'], { encoding: 'utf8', maxBuffer: 1 << 28 }));
    const crate = metadata.packages.find((p) => p.name === 'prometheus-client');
    const root = protobuf.loadSync(join(dirname(crate.manifest_path), 'src/encoding/proto/metrics.proto'));
    metricFamilyType = root.lookupType('io.prometheus.client.MetricFamily');
  }
  const reader = protobuf.Reader.create(bytes);
  const families = [];
  while (reader.pos < reader.len) {
    const message = metricFamilyType.decodeDelimited(reader);
    families.push(metricFamilyType.toObject(message, { longs: Number, enums: String, defaults: true, arrays: true }));
  }
  return families;
}

const DECODE_OTLP = `
import sys, json, base64
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from google.protobuf.json_format import MessageToDict, Parse
out = []
for line in sys.stdin.read().split():
    kind, data = line.split(':', 1)
    body = base64.b64decode(data)
    request = metrics_service_pb2.ExportMetricsServiceRequest()
    if kind == 'json':
        Parse(body.decode('utf-8'), request)
    else:
        request.ParseFromString(body)
    out.append(MessageToDict(request, use_integers_for_enums=True))
print(json.dumps(out))
`;

/**
 * Decodes OTLP `ExportMetricsServiceRequest` bodies with the official definitions (Python's
 * `opentelemetry-proto`): protobuf, or OTLP/JSON with `{ json: true }`. Returns proto3's JSON
 * mapping of each (64-bit integers as strings, enums as numbers).
 */
export function decodeOtlp(bodies, { json = false } = {}) {
  const input = bodies.map((body) => `${json ? 'json' : 'proto'}:${Buffer.from(body).toString('base64')}`).join('\n');
  const run = spawnSync('python3', ['-c', DECODE_OTLP], { input, encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 30 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`opentelemetry-proto rejected the body:\n${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** The names the prom-client entries add to prom-client's (0.16's) own: the exporters. */
export const EXPORTER_NAMES = ['exportCloudWatch', 'exportDatadog', 'exportGoogleCloud', 'exportOtlp', 'exportRemoteWrite'];
