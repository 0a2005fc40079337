// @prometheus-io/client 0.16's event-loop utilization default metrics: a summary and a
// histogram of the share of time the event loop was busy, sampled on a timer.

import { performance } from 'node:perf_hooks';
import { whileRunning } from '../base/lifecycle';
import { Histogram, Summary } from '../promClient/index';
import type { AnyRegistry } from '../promClient/registry';

export interface EventLoopUtilizationOptions {
  prefix?: string;
  labels?: Readonly<Record<string, string>>;
  /** How often utilization is sampled, in ms (default 100). */
  eventLoopUtilizationTimeout?: number;
  /** Bucket bounds of `nodejs_eventloop_utilization_histogram`. */
  eventLoopUtilizationBuckets?: number[];
  /** Quantiles of `nodejs_eventloop_utilization_summary`. */
  eventLoopUtilizationPercentiles?: number[];
  /** Periods the summary's window turns by. */
  eventLoopUtilizationAgeBuckets?: number;
  /** The summary's window, in seconds. */
  eventLoopUtilizationMaxAgeSeconds?: number;
}

const HELP = 'Ratio of time the event loop is not idling in the event provider to the total time the event loop is running.';

/**
 * Defines `nodejs_eventloop_utilization_summary` and `_histogram` in `registry` and
 * samples this thread's event loop into them; returns the function that stops it. A
 * sample that took several periods (a blocked loop) is observed once per period, as
 * @prometheus-io/client does, so a long block weighs as long as it lasted.
 */
export function collectEventLoopUtilization(registry: AnyRegistry, options: EventLoopUtilizationOptions): () => void {
  const {
    prefix = '',
    labels = {},
    eventLoopUtilizationTimeout: periodMs = 100,
    eventLoopUtilizationBuckets: buckets = [0.01, 0.05, 0.1, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99, 1],
    eventLoopUtilizationPercentiles: percentiles = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999],
    eventLoopUtilizationAgeBuckets: ageBuckets = 5,
    eventLoopUtilizationMaxAgeSeconds: maxAgeSeconds = 60,
  } = options;
  const labelNames = Object.keys(labels);
  const registers = [registry];
  const summary = new Summary({
    name: `${prefix}nodejs_eventloop_utilization_summary`,
    help: HELP,
    labelNames,
    registers,
    percentiles,
    ageBuckets,
    maxAgeSeconds,
  });
  const histogram = new Histogram({ name: `${prefix}nodejs_eventloop_utilization_histogram`, help: HELP, labelNames, registers, buckets });
  let last = performance.eventLoopUtilization();
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const at = performance.now();
    const { utilization } = performance.eventLoopUtilization(now, last);
    for (let periods = Math.round((at - lastAt) / periodMs); periods > 0; periods--) {
      summary.observe(labels, utilization);
      histogram.observe(labels, utilization);
    }
    last = now;
    lastAt = at;
  }, periodMs);
  timer.unref();
  const forget = whileRunning(() => clearInterval(timer));
  return () => {
    clearInterval(timer);
    forget();
  };
}
