// Every method of the schema API, its errors, and that an error changes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  counterSchema,
  gaugeSchema,
  gaugeSchemaFloat,
  histogramSchema,
  registry,
  DEFAULT_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
} from 'slotmetrics';
import { parseSamples, sample } from './helpers.mjs';

test('an unlabeled counter is used directly; the exposition appends _total once', async () => {
  const jobs = counterSchema('jobs').help('Jobs run').build();
  const done = counterSchema('done_total').help('Done').build();
  jobs.increment();
  jobs.add(2.5);
  done.increment();
  const text = await registry.metrics();
  assert.match(text, /^# HELP jobs_total Jobs run\n# TYPE jobs_total counter\njobs_total 3\.5$/m);
  assert.match(text, /^# TYPE done_total counter\ndone_total 1$/m);
  const om = await registry.metrics({ format: 'openmetrics' });
  assert.match(om, /^# TYPE jobs counter\njobs_total 3\.5$/m);
  assert.ok(om.endsWith('# EOF\n'));
});

test('counter increments must be finite numbers >= 0, and a refused one changes nothing', async () => {
  const c = counterSchema('strict_total').help('h').build();
  c.add(1);
  for (const [bad, type, pattern] of [
    [-1, RangeError, /counter "strict_total" can only go up .* got -1; nothing was added/],
    [NaN, RangeError, /got NaN/],
    [Infinity, RangeError, /got Infinity/],
    ['1', TypeError, /add\(\) takes a number, got the string "1"/],
    [1n, TypeError, /got bigint 1/],
    [undefined, TypeError, /got undefined/],
  ]) {
    assert.throws(
      () => c.add(bad),
      (e) => e instanceof type && pattern.test(e.message),
    );
  }
  c.add(0);
  assert.equal(await sample('strict_total'), 1);
});

test('with() caches one handle per label set and places static labels first', async () => {
  const requests = counterSchema('http_requests_total')
    .help('HTTP requests served')
    .staticLabel('service', 'my-api')
    .requireDynamicKey('status_code')
    .requireDynamicKey('method')
    .build();
  const get200 = requests.with({ status_code: '200', method: 'GET' });
  assert.equal(requests.with({ method: 'GET', status_code: '200' }), get200, 'key order does not matter');
  assert.notEqual(requests.with({ status_code: '500', method: 'GET' }), get200);
  get200.increment();
  requests.with({ status_code: '200', method: 'GET' }).increment();
  requests.with({ status_code: 200, method: 'GET' }).add(3); // numbers are converted
  requests.with({ status_code: '500', method: 'GET' }).increment();
  const samples = parseSamples(await registry.metrics());
  assert.equal(samples.get('http_requests_total{service="my-api",status_code="200",method="GET"}'), 5);
  assert.equal(samples.get('http_requests_total{service="my-api",status_code="500",method="GET"}'), 1);
});

test('with() keeps each label set apart as a level of the cache gains keys, and remove() forgets only its own', async () => {
  // The cache holds a level with one key as a small node and turns it into a Map at the
  // second key: every form a value may be given in must keep finding its own series.
  const calls = counterSchema('levels_total').requireDynamicKey('route').requireDynamicKey('code').requireDynamicKey('method').build();
  const first = calls.with({ route: '/a', code: 200, method: 'GET' });
  const sameAsFirst = calls.with({ route: '/a', code: '200', method: 'GET' });
  const second = calls.with({ route: '/a', code: 200, method: 'POST' });
  const third = calls.with({ route: '/a', code: 404, method: 'GET' });
  const fourth = calls.with({ route: '/b', code: 200, method: 'GET' });
  const handles = [first, second, third, fourth];
  assert.equal(new Set(handles).size, 4);
  assert.equal(calls.with({ route: '/a', code: 200, method: 'GET' }), first);
  assert.equal(calls.with({ route: '/a', code: 200, method: 'POST' }), second);
  assert.equal(calls.with({ route: '/a', code: 404, method: 'GET' }), third);
  for (const [i, handle] of handles.entries()) handle.add(i + 1);
  sameAsFirst.add(10);
  assert.equal(
    parseSamples(await registry.metrics()).get('levels_total{route="/a",code="200",method="GET"}'),
    11,
    'a number and its string are one series',
  );
  calls.remove({ route: '/a', code: 200, method: 'GET' });
  assert.notEqual(calls.with({ route: '/a', code: '200', method: 'GET' }), first, 'registered again after remove()');
  assert.equal(calls.with({ route: '/a', code: 200, method: 'POST' }), second, 'its neighbours stay cached');
  assert.equal(calls.with({ route: '/a', code: 404, method: 'GET' }), third);
  calls.remove({ route: '/b', code: 200, method: 'GET' });
  assert.notEqual(calls.with({ route: '/b', code: 200, method: 'GET' }), fourth);
  const samples = parseSamples(await registry.metrics());
  assert.equal(samples.get('levels_total{route="/a",code="200",method="GET"}'), 0);
  assert.equal(samples.get('levels_total{route="/a",code="200",method="POST"}'), 2);
  assert.equal(samples.get('levels_total{route="/a",code="404",method="GET"}'), 3);
  assert.equal(samples.get('levels_total{route="/b",code="200",method="GET"}'), 0);
});

test('with() names a missing, extra or badly typed label in a TypeError, and records nothing', async () => {
  const c = counterSchema('typed_total').help('h').requireDynamicKey('route').requireDynamicKey('code').build();
  c.with({ route: '/a', code: '1' }).increment();
  const cases = [
    [{ route: '/a' }, /missing dynamic label "code" for metric "typed_total"/],
    [{ route: '/a', code: '1', extra: 'x' }, /unexpected label "extra" for metric "typed_total": its dynamic keys are \[route, code\]/],
    [{ route: '/a', code: { v: 1 } }, /label "code" of metric "typed_total" must be a string .* got an object/],
    [{ route: '/a', code: undefined }, /must be a string .* got undefined undefined/],
    [{ route: Symbol('s'), code: '1' }, /label "route" .* got symbol/],
    [null, /takes its dynamic labels as an object \{route, code\}, got null/],
    ['route=/a', /got the string "route=\/a"/],
    [[1, 2], /got an array/],
    // A new label set must have its keys as own properties (a polluted prototype adds none).
    [Object.assign(Object.create({ code: '2' }), { route: '/b' }), /missing dynamic label "code"/],
  ];
  for (const [labels, pattern] of cases) {
    assert.throws(
      () => c.with(labels),
      (e) => e instanceof TypeError && pattern.test(e.message),
      String(pattern),
    );
  }
  const samples = parseSamples(await registry.metrics());
  const series = [...samples.keys()].filter((k) => k.startsWith('typed_total'));
  assert.deepEqual(series, ['typed_total{route="/a",code="1"}']);
  assert.equal(samples.get(series[0]), 1);
});

test('schemas are immutable and building one twice gives the same metric', () => {
  const base = counterSchema('shared_total').help('h');
  const labeled = base.requireDynamicKey('k');
  const a = labeled.build();
  assert.equal(labeled.build(), a);
  assert.equal(base.requireDynamicKey('k').build(), a);
  assert.throws(() => base.build(), /metric "shared_total" is already defined as a counter with labels \[k\]; this definition has dynamic keys \[\]/);
});

test('the same name with another type, keys, labels, buckets or help is a clear error', () => {
  counterSchema('orders_total').help('Orders').requireDynamicKey('shop').build();
  const cases = [
    [
      () => gaugeSchema('orders').help('Orders').requireDynamicKey('shop').build(),
      /metric "orders" is already defined as a counter with labels \[shop\]; this definition is an integer gauge/,
    ],
    [
      () => gaugeSchema('orders_total').build(),
      /metric "orders_total" would expose samples named "orders_total", which a counter "orders_total" already exposes/,
    ],
    [() => counterSchema('orders').help('Orders').requireDynamicKey('region').build(), /has dynamic keys \[region\]/],
    [() => counterSchema('orders_total').help('Orders').staticLabel('a', 'b').requireDynamicKey('shop').build(), /has static labels \[a="b"\]/],
    [() => counterSchema('orders_total').help('Other').requireDynamicKey('shop').build(), /has help "Other" instead of "Orders"/],
    // OpenMetrics forbids a family whose samples clash with another's.
    [() => gaugeSchemaFloat('orders_created').build(), /would expose samples named "orders_created", which a counter "orders_total" already exposes/],
  ];
  histogramSchema('size').buckets([1, 2]).build();
  cases.push([() => histogramSchema('size').buckets([1, 3]).build(), /has buckets \[1, 3\]/]);
  for (const [build, pattern] of cases) {
    assert.throws(build, (e) => e instanceof Error && pattern.test(e.message), String(pattern));
  }
});

test('bad metric and label names are TypeErrors naming the name', () => {
  const cases = [
    [() => counterSchema('1st_total').build(), /invalid metric name "1st_total": it must match/],
    [() => gaugeSchema('a-b').build(), /invalid metric name "a-b"/],
    [() => gaugeSchema('').build(), /invalid metric name ""/],
    [() => counterSchema('_total').build(), /nothing before "_total"/],
    [() => counterSchema('x_total').requireDynamicKey('bad key').build(), /invalid label name "bad key" on metric "x_total"/],
    [() => counterSchema('x_total').staticLabel('__name__', 'v').build(), /label name "__name__" on metric "x_total" is reserved/],
    [() => histogramSchema('h').requireDynamicKey('le').build(), /"le" is reserved on histogram "h"/],
    [() => gaugeSchema('g').requireDynamicKey('k').requireDynamicKey('k').build(), /label name "k" appears twice/],
    [() => counterSchema(42), /metric name must be a string, got number 42/],
    [() => counterSchema('x').help(null), /help of metric "x" must be a string, got null/],
    [() => counterSchema('x').staticLabel('a', 1), /static label of metric "x" "a": value must be a string/],
    [() => counterSchema('x').requireDynamicKey(undefined), /dynamic key of metric "x" must be a string/],
  ];
  for (const [call, pattern] of cases) {
    assert.throws(call, (e) => e instanceof TypeError && pattern.test(e.message), String(pattern));
  }
});

test('integer gauges take numbers and bigints and stay exact to 2^63', async () => {
  const g = gaugeSchema('memory_usage_bytes').help('Memory').build();
  g.set(BigInt(2 ** 53) + 1n);
  assert.equal((await registry.metrics()).match(/^memory_usage_bytes (.*)$/m)[1], '9007199254740993');
  g.set(2n ** 63n - 1n);
  assert.equal((await registry.metrics()).match(/^memory_usage_bytes (.*)$/m)[1], '9223372036854775807');
  g.set(-(2n ** 63n));
  assert.equal((await registry.metrics()).match(/^memory_usage_bytes (.*)$/m)[1], '-9223372036854775808');
  g.set(10);
  g.inc();
  g.inc(5n);
  g.dec(2);
  g.dec();
  assert.equal(await sample('memory_usage_bytes'), 13);
  for (const [call, type, pattern] of [
    [() => g.set(1.5), RangeError, /gauge "memory_usage_bytes" holds integers, got 1.5 in set\(\); use gaugeSchemaFloat/],
    [() => g.set(2 ** 63), RangeError, /outside the int64 range/],
    [() => g.inc(2n ** 63n), RangeError, /9223372036854775808 is outside the int64 range/],
    [() => g.set(NaN), RangeError, /holds integers, got NaN/],
    [() => g.set('5'), TypeError, /set\(\) takes a number or bigint, got the string "5"/],
    [() => g.dec(null), TypeError, /dec\(\) takes a number or bigint, got null/],
  ]) {
    assert.throws(call, (e) => e instanceof type && pattern.test(e.message), String(pattern));
  }
  assert.equal(await sample('memory_usage_bytes'), 13);
  const before = Math.floor(Date.now() / 1000);
  g.setToCurrentTime();
  const now = await sample('memory_usage_bytes');
  assert.ok(now >= before && now <= before + 2, `${now} is the current time in seconds`);
});

test('float gauges set any number and inc/dec by finite amounts', async () => {
  const cpu = gaugeSchemaFloat('cpu_usage_percent').help('CPU').requireDynamicKey('cpu_id').build();
  const c0 = cpu.with({ cpu_id: '0' });
  c0.set(45.7);
  c0.inc(0.25);
  c0.dec();
  c0.inc();
  assert.equal(await sample('cpu_usage_percent{cpu_id="0"}'), 45.95);
  for (const [call, type, pattern] of [
    [() => c0.inc(NaN), RangeError, /inc\(\) takes a finite amount, got NaN/],
    [() => c0.dec(-Infinity), RangeError, /got -Infinity/],
    [() => c0.set('1'), TypeError, /set\(\) takes a number, got the string "1"/],
    [() => c0.inc(1n), TypeError, /inc\(\) takes a number, got bigint 1/],
  ]) {
    assert.throws(call, (e) => e instanceof type && pattern.test(e.message), String(pattern));
  }
  assert.equal(await sample('cpu_usage_percent{cpu_id="0"}'), 45.95);
  cpu.with({ cpu_id: '1' }).set(Infinity);
  cpu.with({ cpu_id: '2' }).set(-Infinity);
  cpu.with({ cpu_id: '3' }).set(NaN);
  const samples = parseSamples(await registry.metrics());
  assert.equal(samples.get('cpu_usage_percent{cpu_id="1"}'), Infinity);
  assert.equal(samples.get('cpu_usage_percent{cpu_id="2"}'), -Infinity);
  assert.ok(Number.isNaN(samples.get('cpu_usage_percent{cpu_id="3"}')));
  const t = gaugeSchemaFloat('last_run_seconds').help('t').build();
  t.setToCurrentTime();
  assert.ok(Math.abs((await sample('last_run_seconds')) - Date.now() / 1000) < 5);
});

test('histograms: prom-client default buckets, inclusive upper bounds, cumulative exposition', async () => {
  assert.deepEqual(DEFAULT_BUCKETS, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  const d = histogramSchema('default_seconds').help('d').build();
  d.observe(0.005);
  d.observe(0.3);
  d.observe(100);
  d.observe(-1);
  const s = parseSamples(await registry.metrics());
  assert.equal(s.get('default_seconds_bucket{le="0.005"}'), 2, '-1 and 0.005 (bounds are inclusive)');
  assert.equal(s.get('default_seconds_bucket{le="0.25"}'), 2);
  assert.equal(s.get('default_seconds_bucket{le="0.5"}'), 3);
  assert.equal(s.get('default_seconds_bucket{le="10"}'), 3);
  assert.equal(s.get('default_seconds_bucket{le="+Inf"}'), 4);
  assert.equal(s.get('default_seconds_count'), 4);
  assert.equal(s.get('default_seconds_sum'), 99.305);

  const latency = histogramSchema('request_duration_seconds').help('Latency').buckets([0.01, 0.1, 1, Infinity]).requireDynamicKey('route').build();
  const users = latency.with({ route: '/users' });
  users.observe(0.042);
  const end = users.startTimer();
  const seconds = end();
  assert.ok(seconds >= 0 && seconds < 1);
  for (const [bad, type, pattern] of [
    [NaN, RangeError, /histogram "request_duration_seconds" observe\(\) takes a finite number, got NaN; nothing was recorded/],
    [Infinity, RangeError, /got Infinity/],
    ['0.1', TypeError, /takes a number, got the string "0.1"/],
  ]) {
    assert.throws(
      () => users.observe(bad),
      (e) => e instanceof type && pattern.test(e.message),
    );
  }
  const h = parseSamples(await registry.metrics());
  assert.equal(h.get('request_duration_seconds_bucket{route="/users",le="0.01"}'), seconds <= 0.01 ? 1 : 0);
  assert.equal(h.get('request_duration_seconds_bucket{route="/users",le="0.1"}'), seconds <= 0.1 ? 2 : 1);
  assert.equal(h.get('request_duration_seconds_bucket{route="/users",le="+Inf"}'), 2);
  assert.equal(h.get('request_duration_seconds_count{route="/users"}'), 2);
  assert.ok(Math.abs(h.get('request_duration_seconds_sum{route="/users"}') - (0.042 + seconds)) < 1e-12);

  for (const [call, pattern] of [
    [() => histogramSchema('h2').buckets([1, 0.5]).build(), /must increase strictly: 1 is followed by 0.5/],
    [() => histogramSchema('h3').buckets([NaN]).build(), /bucket bound NaN on histogram "h3" is not finite/],
    [() => histogramSchema('h4').buckets('1,2'), /must be an array of numbers/],
  ]) {
    assert.throws(call, (e) => e instanceof TypeError && pattern.test(e.message), String(pattern));
  }
});

test('registry.metrics() renders each format and rejects an unknown one', async () => {
  counterSchema('fmt_total').help('say "hi"\\ \nbye').build().increment();
  const text = await registry.metrics({ format: 'prometheus' });
  assert.equal(text, await registry.metrics());
  assert.ok(text.includes('# HELP fmt_total say "hi"\\\\ \\nbye\n'), 'text 0.0.4 escapes \\ and newline in HELP, not quotes');
  const om = await registry.metrics({ format: 'openmetrics' });
  assert.ok(om.includes('# HELP fmt say \\"hi\\"\\\\ \\nbye\n'), 'OpenMetrics also escapes quotes');
  const protobuf = await registry.metrics({ format: 'protobuf' });
  assert.ok(protobuf instanceof Uint8Array && protobuf.length > 0, 'protobuf comes as bytes');
  assert.ok(Buffer.from(protobuf).includes('fmt_total'), 'a counter family is named with _total, as in text 0.0.4');
  await assert.rejects(registry.metrics({ format: 'json' }), /format must be 'prometheus', 'openmetrics' or 'protobuf', got the string "json"/);
  assert.equal(registry.contentType(), PROMETHEUS_CONTENT_TYPE);
  assert.equal(registry.contentType('openmetrics'), OPENMETRICS_CONTENT_TYPE);
  assert.equal(registry.contentType('protobuf'), PROTOBUF_CONTENT_TYPE);
  assert.throws(() => registry.contentType('json'), /format must be/);
});

test('a labeled metric with no series yet exposes only its HELP and TYPE', async () => {
  gaugeSchema('unused_gauge').help('Not yet set').requireDynamicKey('k').build();
  const text = await registry.metrics();
  assert.match(text, /# HELP unused_gauge Not yet set\n# TYPE unused_gauge gauge\n(#|$)/);
});

test('getMetricsAsJSON() gives every sample with its labels and value, as prom-client shapes it', async () => {
  const c = counterSchema('json_requests_total').help('Requests').staticLabel('svc', 'a"b').requireDynamicKey('path').build();
  c.with({ path: '/x\n' }).add(2);
  gaugeSchema('json_depth').help('Depth').build().set(-3n);
  const h = histogramSchema('json_seconds').help('Time').buckets([1]).build();
  h.observe(0.5);
  h.observe(2);
  const all = await registry.getMetricsAsJSON();
  const metric = (name) => all.find((m) => m.name === name);
  assert.deepEqual(metric('json_requests_total'), {
    name: 'json_requests_total',
    help: 'Requests',
    type: 'counter',
    aggregator: 'sum',
    values: [{ value: 2, labels: { svc: 'a"b', path: '/x\n' } }],
  });
  assert.deepEqual(metric('json_depth').values, [{ value: -3, labels: {} }]);
  assert.deepEqual(metric('json_seconds').values, [
    { value: 1, labels: { le: '1' }, metricName: 'json_seconds_bucket' },
    { value: 2, labels: { le: '+Inf' }, metricName: 'json_seconds_bucket' },
    { value: 2.5, labels: {}, metricName: 'json_seconds_sum' },
    { value: 2, labels: {}, metricName: 'json_seconds_count' },
  ]);
  assert.equal(metric('json_seconds').type, 'histogram');
});
