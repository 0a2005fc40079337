// slotmetrics/client as an @prometheus-io/client 0.16 user's jest suite exercises it.
const client = require('../../dist/client/index.js');

afterEach(() => client.register.clear());

it('words bad names as 0.16 does', () => {
  expect(() => new client.Gauge({ name: 'no valid name', help: 'h' })).toThrow('Invalid metric name: no valid name');
  expect(() => new client.Gauge({ name: 'ok', help: 'h', labelNames: ['a-b', 'ok', '1x'] })).toThrow('At least one label name is invalid: a-b,1x');
});

it('takes default-metric labels with number values', async () => {
  const stop = client.collectDefaultMetrics({ labels: { NODE_APP_INSTANCE: 1 } });
  expect(await client.register.metrics()).toMatch(/^nodejs_version_info\{NODE_APP_INSTANCE="1",/m);
  stop();
});

it("values a counter's exemplar at the series' total after its increment; later increments without exemplar labels leave it", async () => {
  const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
  const requests = new client.Counter({ name: 'app_traced', help: 'Traced', labelNames: ['code'], registers: [registry], enableExemplars: true });
  requests.inc({ value: 2, labels: { code: '200' }, exemplarLabels: { traceId: 'abc' } });
  requests.inc({ value: 4, labels: { code: '200' } });
  const [series] = (await requests.get()).values;
  expect([series.value, series.exemplar.value, series.exemplar.labelSet]).toEqual([6, 2, { traceId: 'abc' }]);
});
