// registry.setDefaultLabels(): labels on every series, in both formats and as data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counterSchema, gaugeSchema, histogramSchema, registry } from 'slotmetrics';
import { parseOpenMetricsStrict, parseSamples, promtoolCheck } from './helpers.mjs';

test("default labels go on every series; a metric's own label of that name wins", async () => {
  counterSchema('dl_requests_total').help('Requests').requireDynamicKey('code').build().with({ code: '200' }).increment();
  gaugeSchema('dl_depth').help('Depth').staticLabel('region', 'us').build().set(4);
  histogramSchema('dl_seconds').help('Time').buckets([1]).build().observe(0.5);
  registry.setDefaultLabels({ service: 'api "v2"', region: 'eu' });

  const text = await registry.metrics();
  const s = parseSamples(text);
  assert.equal(s.get('dl_requests_total{service="api \\"v2\\"",region="eu",code="200"}'), 1);
  assert.equal(s.get('dl_depth{service="api \\"v2\\"",region="us"}'), 4, "the metric's own region wins");
  assert.equal(s.get('dl_seconds_bucket{service="api \\"v2\\"",region="eu",le="+Inf"}'), 1);
  assert.equal(s.get('dl_seconds_count{service="api \\"v2\\"",region="eu"}'), 1);
  assert.equal(promtoolCheck(text).status, 0, promtoolCheck(text).output);

  const om = parseOpenMetricsStrict(await registry.metrics({ format: 'openmetrics' }));
  assert.deepEqual(om.find((x) => x.name === 'dl_depth').labels, { service: 'api "v2"', region: 'us' });

  const json = await registry.getMetricsAsJSON();
  assert.deepEqual(json.find((m) => m.name === 'dl_requests_total').values[0].labels, { service: 'api "v2"', region: 'eu', code: '200' });

  registry.setDefaultLabels({});
  assert.equal(parseSamples(await registry.metrics()).get('dl_depth{region="us"}'), 4, 'cleared');
});

test('bad default labels are TypeErrors and change nothing', async () => {
  registry.setDefaultLabels({ zone: 'a' });
  const cases = [
    [{ 'bad-name': 'x' }, /invalid label name "bad-name" in the default labels/],
    [{ __name__: 'x' }, /label name "__name__" in the default labels is reserved/],
    [{ le: '1' }, /default label name "le" is reserved for buckets and quantiles/],
    [{ zone: 1 }, /registry.setDefaultLabels\(\): labels must be an object of strings/],
  ];
  for (const [labels, pattern] of cases) {
    assert.throws(
      () => registry.setDefaultLabels(labels),
      (e) => e instanceof TypeError && pattern.test(e.message),
      String(pattern),
    );
  }
  gaugeSchema('dl_after').help('h').build().set(1);
  assert.equal(parseSamples(await registry.metrics()).get('dl_after{zone="a"}'), 1);
});
