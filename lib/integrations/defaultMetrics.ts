// collectDefaultMetrics(): prom-client 15's default metrics, same names, types, labels
// and help, so dashboards and alerts written for prom-client work unchanged.
// Process figures are read by Rust from /proc at every scrape; the V8 and event-loop
// figures are sampled here on a timer that does not keep the process alive. In a
// multi-process group each figure is combined over the live processes as prom-client's
// AggregatorRegistry combines the workers of a cluster (its aggregators, as modes).

import { monitorEventLoopDelay, PerformanceObserver, constants as perf } from 'node:perf_hooks';
import v8 from 'node:v8';
import { whileRunning } from '../base/lifecycle';
import { binding, callNative } from '../base/native';
import { type GaugeMultiprocessMode, gaugeSchemaFloat, histogramSchema } from '../metrics/schema';
import type { FloatGauge } from '../metrics/gauge';
import { checkOptions, checkStringRecord, describeValue, isTimerMs, MAX_TIMER_MS } from '../base/validate';
import { type Registry, registryOption } from '../exposition/registry';

/** `collectDefaultMetrics()`'s options: prom-client's. */
export interface DefaultMetricsOptions {
  /** Put before every name (prom-client's `prefix`). */
  prefix?: string;
  /** Labels added to every default metric. */
  labels?: Readonly<Record<string, string>>;
  /** Resolution of the event-loop delay monitor, in ms (default 10). */
  eventLoopMonitoringPrecision?: number;
  /** Buckets of `nodejs_gc_duration_seconds` (default [0.001, 0.01, 0.1, 1, 2, 5]). */
  gcDurationBuckets?: readonly number[];
  /** How often the V8 and event-loop figures are sampled, in ms (default 1000). */
  sampleIntervalMs?: number;
  /** The registry of the default metrics (default: the default `registry`). */
  registry?: Registry;
}

const GC_KINDS: Record<number, string> = {
  [perf.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perf.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** The sampling running in this thread, by registry: how to stop it. */
const running = new Map<Registry, () => void>();

/**
 * Starts prom-client's default metrics for this process (call it from the main
 * thread: the event-loop figures are those of the calling thread). Returns a function
 * that stops the sampling; calling it again for the same registry while running
 * returns the same function. A clear() of the registry stops it, so the metrics can be
 * defined there again (as prom-client's can after `register.clear()`).
 *
 * @example
 * ```js
 * const stop = collectDefaultMetrics({ labels: { service: 'api' } });
 * ```
 */
export function collectDefaultMetrics(options: DefaultMetricsOptions = {}): () => void {
  checkOptions('collectDefaultMetrics()', options, [
    'prefix',
    'labels',
    'eventLoopMonitoringPrecision',
    'gcDurationBuckets',
    'sampleIntervalMs',
    'registry',
  ]);
  const {
    prefix = '',
    labels = {},
    eventLoopMonitoringPrecision = 10,
    gcDurationBuckets = [0.001, 0.01, 0.1, 1, 2, 5],
    sampleIntervalMs = 1000,
  } = options as DefaultMetricsOptions; // each is checked below
  if (typeof prefix !== 'string') throw new TypeError(`collectDefaultMetrics(): prefix must be a string, got ${describeValue(prefix)}`);
  checkStringRecord('collectDefaultMetrics()', 'labels', labels);
  for (const [name, value] of [
    ['eventLoopMonitoringPrecision', eventLoopMonitoringPrecision],
    ['sampleIntervalMs', sampleIntervalMs],
  ] as const) {
    if (!isTimerMs(value)) {
      throw new RangeError(`collectDefaultMetrics(): ${name} must be an integer from 1 to ${MAX_TIMER_MS} milliseconds, got ${describeValue(value)}`);
    }
  }
  const registry = registryOption('collectDefaultMetrics()', options.registry);
  // Checked first all the same: bad options are an error even when already running.
  const already = running.get(registry);
  if (already !== undefined) return already;
  const labelPairs = Object.entries(labels).map(([name, value]) => ({ name, value }));
  callNative(() => binding.defineProcessMetrics(registry.id, registry.prefix + prefix, labelPairs));

  // Summed over the processes of a group unless another mode is given (prom-client's
  // aggregators: 'sum' by default, the event-loop figures 'average', 'min' and 'max').
  const gauge = (name: string, help: string, mode: GaugeMultiprocessMode = 'livesum') =>
    gaugeSchemaFloat(prefix + name)
      .help(help)
      .staticLabels(labels)
      .multiprocess(mode)
      .build({ registry });
  const byType = (name: string, help: string, key: string) =>
    gaugeSchemaFloat(prefix + name)
      .help(help)
      .staticLabels(labels)
      .requireDynamicKey(key)
      .multiprocess('livesum')
      .build({ registry });

  const lag = gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', 'average');
  const delayStats: [FloatGauge, (h: ReturnType<typeof monitorEventLoopDelay>) => number][] = [
    [gauge('nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.', 'min'), (h) => h.min],
    [gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.', 'max'), (h) => h.max],
    [gauge('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.', 'average'), (h) => h.mean],
    [gauge('nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.', 'average'), (h) => h.stddev],
    [gauge('nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.', 'average'), (h) => h.percentile(50)],
    [gauge('nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.', 'average'), (h) => h.percentile(90)],
    [gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.', 'average'), (h) => h.percentile(99)],
  ];
  const grouped = [
    {
      byType: byType('nodejs_active_handles', 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.', 'type'),
      total: gauge('nodejs_active_handles_total', 'Total number of active handles.'),
      types: () => (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().map((h) => h.constructor.name),
    },
    {
      byType: byType(
        'nodejs_active_requests',
        'Number of active libuv requests grouped by request type. Every request type is C++ class name.',
        'type',
      ),
      total: gauge('nodejs_active_requests_total', 'Total number of active requests.'),
      types: () => (process as unknown as { _getActiveRequests(): object[] })._getActiveRequests().map((r) => r.constructor.name),
    },
    {
      byType: byType(
        'nodejs_active_resources',
        'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
        'type',
      ),
      total: gauge('nodejs_active_resources_total', 'Total number of active resources.'),
      types: () => process.getActiveResourcesInfo(),
    },
  ];
  const heapTotal = gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.');
  const heapUsed = gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.');
  const external = gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.');
  const spaces = (['total', 'used', 'available'] as const).map((kind) =>
    byType(`nodejs_heap_space_size_${kind}_bytes`, `Process heap space size ${kind} from Node.js in bytes.`, 'space'),
  );
  const [major, minor, patch] = process.versions.node.split('.');
  // prom-client's 'first': one value for the group.
  gaugeSchemaFloat(`${prefix}nodejs_version_info`)
    .help('Node.js version info.')
    .staticLabels(labels)
    .requireDynamicKey('version')
    .requireDynamicKey('major')
    .requireDynamicKey('minor')
    .requireDynamicKey('patch')
    .build({ registry })
    .with({ version: process.version, major, minor, patch })
    .set(1);
  const gcDuration = histogramSchema(`${prefix}nodejs_gc_duration_seconds`)
    .help('Garbage collection duration by kind, one of major, minor, incremental or weakcb.')
    .buckets(gcDurationBuckets)
    .staticLabels(labels)
    .requireDynamicKey('kind')
    .build({ registry });

  const delay = monitorEventLoopDelay({ resolution: eventLoopMonitoringPrecision });
  delay.enable();
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[(entry as unknown as { detail?: { kind: number } }).detail?.kind ?? -1];
      if (kind !== undefined) gcDuration.with({ kind }).observe(entry.duration / 1000);
    }
  });
  gc.observe({ entryTypes: ['gc'] });

  // Counts by type; a type seen before and gone now is set to 0.
  const seenTypes = grouped.map(() => new Set<string>());
  const sample = () => {
    const start = process.hrtime.bigint();
    setImmediate(() => lag.set(Number(process.hrtime.bigint() - start) / 1e9));
    if (delay.count > 0) {
      for (const [stat, read] of delayStats) stat.set(read(delay) / 1e9);
      delay.reset();
    }
    grouped.forEach((group, i) => {
      const counts = new Map<string, number>();
      for (const type of group.types()) counts.set(type, (counts.get(type) ?? 0) + 1);
      for (const type of seenTypes[i]) if (!counts.has(type)) group.byType.with({ type }).set(0);
      for (const [type, count] of counts) {
        group.byType.with({ type }).set(count);
        seenTypes[i].add(type);
      }
      group.total.set([...counts.values()].reduce((a, b) => a + b, 0));
    });
    const memory = process.memoryUsage();
    heapTotal.set(memory.heapTotal);
    heapUsed.set(memory.heapUsed);
    external.set(memory.external);
    for (const space of v8.getHeapSpaceStatistics()) {
      const name = space.space_name.replace(/_space$/, '');
      spaces[0].with({ space: name }).set(space.space_size);
      spaces[1].with({ space: name }).set(space.space_used_size);
      spaces[2].with({ space: name }).set(space.space_available_size);
    }
  };
  sample();
  const timer = setInterval(sample, sampleIntervalMs);
  timer.unref();
  const stop = () => {
    if (running.get(registry) !== stop) return;
    clearInterval(timer);
    delay.disable();
    gc.disconnect();
    running.delete(registry);
    forget();
  };
  const forget = whileRunning(stop);
  running.set(registry, stop);
  registry.onClear(stop);
  return stop;
}
