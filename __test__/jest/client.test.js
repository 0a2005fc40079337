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
