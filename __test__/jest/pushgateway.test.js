// Pushes as users' tests intercept them: jest.mock('http'), then nock.
const mockRequest = jest.fn(() => ({ on: jest.fn(), write: jest.fn(), end: jest.fn() }));
jest.mock('http', () => ({ ...jest.requireActual('http'), request: (...args) => mockRequest(...args) }));

const client = require('../../dist/promClient/index.js');
const successor = require('../../dist/client/index.js');

afterEach(() => {
  client.register.clear();
  mockRequest.mockClear();
});

it("opens prom-client 15's request, which the mock of http sees", () => {
  new client.Counter({ name: 'batch_rows_total', help: 'Rows' }).inc(3);
  void new client.Pushgateway('http://gateway:9091/base').pushAdd({ jobName: 'nightly', groupings: { shard: 'a/b' } });
  expect(mockRequest).toHaveBeenCalledTimes(1);
  const [options] = mockRequest.mock.calls[0];
  expect(options).toMatchObject({ method: 'POST', hostname: 'gateway', port: '9091', path: '/base/metrics/job/nightly/shard/a%2Fb' });
});

it("opens @prometheus-io/client 0.16's request on slotmetrics/client", () => {
  void new successor.Pushgateway('http://gateway:9091').push({ jobName: 'nightly' });
  const [url, options] = mockRequest.mock.calls[0];
  expect([url.pathname, options.method]).toEqual(['/metrics/job/nightly', 'PUT']);
});
