// slotmetrics/prom-client as a prom-client user's jest suite exercises prom-client 15:
// a clear registry after each test, fake timers, reset(), NaN, summaries.
const client = require('../../dist/promClient/index.js');

const { register } = client;

afterEach(() => {
  register.clear();
  jest.useRealTimers();
});

const seriesValue = async (metric, labels = {}) =>
  (await metric.get()).values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value;

describe('registry lifecycle', () => {
  it('counts from zero in a metric made again after clear()', async () => {
    const requests = new client.Counter({ name: 'app_requests_total', help: 'Requests', labelNames: ['code'] });
    requests.inc({ code: '200' }, 5);
    expect(await seriesValue(requests, { code: '200' })).toBe(5);
  });

  it('…so the next test sees only its own counts', async () => {
    const requests = new client.Counter({ name: 'app_requests_total', help: 'Requests', labelNames: ['code'] });
    expect((await requests.get()).values).toEqual([]);
    requests.inc({ code: '200' });
    expect(await seriesValue(requests, { code: '200' })).toBe(1);
    register.removeSingleMetric('app_requests_total');
    const again = new client.Counter({ name: 'app_requests_total', help: 'Requests', labelNames: ['code'] });
    expect((await again.get()).values).toEqual([]);
  });

  it('keeps a metric of no registry, or of another registry, apart from one of the same name', async () => {
    const global = new client.Counter({ name: 'app_jobs_total', help: 'Jobs' });
    const unregistered = new client.Counter({ name: 'app_jobs_total', help: 'Jobs', registers: [] });
    const other = new client.Registry();
    const elsewhere = new client.Counter({ name: 'app_jobs_total', help: 'Jobs', registers: [other] });
    global.inc(1);
    unregistered.inc(2);
    elsewhere.inc(3);
    expect([await seriesValue(global), await seriesValue(unregistered), await seriesValue(elsewhere)]).toEqual([1, 2, 3]);
    const another = new client.Counter({ name: 'app_jobs_total', help: 'Jobs', registers: [] });
    expect(await seriesValue(another)).toBe(0);
  });
});

describe('reset()', () => {
  it('empties a labeled metric, and a histogram without labels until it observes again', async () => {
    const queue = new client.Gauge({ name: 'app_queue', help: 'Queue', labelNames: ['name'] });
    queue.set({ name: 'mail' }, 4);
    queue.reset();
    expect((await queue.get()).values).toEqual([]);
    const latency = new client.Histogram({ name: 'app_latency_seconds', help: 'Latency', buckets: [1] });
    latency.observe(0.5);
    latency.reset();
    expect((await latency.get()).values).toEqual([]);
    expect(await register.metrics()).not.toMatch(/^app_latency_seconds/m);
    latency.observe(2);
    expect((await latency.get()).values.find((v) => v.metricName === 'app_latency_seconds_count').value).toBe(1);
  });
});

describe('text', () => {
  it('writes NaN as prom-client does', async () => {
    new client.Gauge({ name: 'app_ratio', help: 'Ratio' }).set(Number.NaN);
    expect((await register.metrics()).split('\n')).toContain('app_ratio Nan');
  });
});

describe('summaries', () => {
  it("give prom-client's percentiles for a few observations", async () => {
    const sizes = new client.Summary({ name: 'app_sizes', help: 'Sizes', percentiles: [0.01, 0.5, 0.9] });
    for (const size of [100, 100, 100, 50, 50]) sizes.observe(size);
    const values = (await sizes.get()).values;
    expect(values.slice(0, 3)).toEqual([
      { labels: { quantile: 0.01 }, value: 50 },
      { labels: { quantile: 0.5 }, value: 80 },
      { labels: { quantile: 0.9 }, value: 100 },
    ]);
  });

  it('slide their window on the fake clock', async () => {
    jest.useFakeTimers();
    jest.setSystemTime(0);
    const sizes = new client.Summary({ name: 'app_window', help: 'Window', percentiles: [0.5], maxAgeSeconds: 10, ageBuckets: 2 });
    sizes.observe(100);
    jest.advanceTimersByTime(9000);
    sizes.observe(1);
    expect((await sizes.get()).values[0].value).toBe(50.5);
    jest.advanceTimersByTime(2000);
    expect((await sizes.get()).values[0].value).toBe(1);
    jest.advanceTimersByTime(10000);
    const [median, sum, count] = (await sizes.get()).values;
    expect([median.value, sum.value, count.value]).toEqual([0, 101, 2]);
  });

  it('prune a window that emptied when asked to', async () => {
    jest.useFakeTimers();
    const sizes = new client.Summary({ name: 'app_pruned', help: 'Pruned', maxAgeSeconds: 5, ageBuckets: 5, pruneAgedBuckets: true });
    sizes.observe(3);
    jest.advanceTimersByTime(4000);
    expect((await sizes.get()).values).toHaveLength(9);
    jest.advanceTimersByTime(2000);
    expect((await sizes.get()).values).toEqual([]);
  });
});

describe('exemplars', () => {
  it("are stamped with Date.now(), a test's mock included", async () => {
    const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
    const now = jest.spyOn(Date, 'now').mockReturnValue(1678654679000);
    const requests = new client.Counter({ name: 'app_traced', help: 'Traced', registers: [registry], enableExemplars: true });
    requests.inc({ value: 1, exemplarLabels: { traceId: 'abc' } });
    const text = await registry.metrics();
    now.mockRestore();
    expect(text).toMatch(/^app_traced_total 1 # \{traceId="abc"\} 1 1678654679$/m);
  });
});

describe('inputs prom-client accepts', () => {
  it('takes default-metric labels with number values, and gives them back as numbers', async () => {
    const stop = client.collectDefaultMetrics({ labels: { NODE_APP_INSTANCE: 0 } });
    expect(await register.metrics()).toMatch(/^process_cpu_user_seconds_total\{NODE_APP_INSTANCE="0"\} /m);
    const version = (await register.getMetricsAsJSON()).find((metric) => metric.name === 'nodejs_version_info');
    stop();
    expect(version.values[0].labels).toMatchObject({ NODE_APP_INSTANCE: 0 });
  });

  it('gives label values given as numbers back as those numbers', async () => {
    const responses = new client.Counter({ name: 'app_responses_total', help: 'Responses', labelNames: ['code', 'method'] });
    responses.inc({ code: 200, method: 'GET' });
    responses.labels('404', 'GET').inc();
    expect((await responses.get()).values).toEqual([
      { value: 1, labels: { code: 200, method: 'GET' } },
      { value: 1, labels: { code: '404', method: 'GET' } },
    ]);
  });

  it('gives default labels back as given, null included, and writes null as its text', async () => {
    const registry = new client.Registry();
    registry.setDefaultLabels({ region: null, shard: 3 });
    new client.Gauge({ name: 'app_up', help: 'Up', registers: [registry] }).set(1);
    expect((await registry.getMetricsAsJSON())[0].values).toEqual([{ value: 1, labels: { region: null, shard: 3 } }]);
    expect(await registry.metrics()).toMatch(/^app_up\{region="null",shard="3"\} 1$/m);
  });
});
