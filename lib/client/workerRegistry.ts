// @prometheus-io/client 0.16's WorkerRegistry: the metrics of a process's worker
// threads. There, each thread keeps its own metrics and the registry gathers them over
// a BroadcastChannel, which every worker has to join. Here every thread already writes
// the same series in shared memory, so the registries hold every slotmetrics thread's
// values: nothing to join, nothing to send. Threads running the genuine package are
// gathered over its channels too (workerChannels.ts).

import { isMainThread } from 'node:worker_threads';
import type { MetricData } from '../promClient/aggregators';
import {
  type AnyRegistry,
  globalRegistry,
  type PrometheusContentType,
  Registry,
  type RegistryContentType,
  registryList,
} from '../promClient/registry';
import { genuineWorkerCount, genuineWorkersMetrics, listenForWorkers } from './workerChannels';

/** The registries workerMetrics() reads (default: the global one). */
let registries: AnyRegistry[] = [globalRegistry];

export class WorkerRegistry<T extends RegistryContentType = PrometheusContentType> extends Registry<T> {
  /** `primary`: whether this thread gathers the genuine package's workers (default: the main thread does). */
  constructor(contentType: T = Registry.PROMETHEUS_CONTENT_TYPE as T, primary = isMainThread) {
    super(contentType);
    if (primary) listenForWorkers();
  }

  /**
   * Every thread's metrics of the registries set, and those of the genuine package's
   * workers (each metric combined by its aggregator, as 0.16 does), as text.
   */
  async workerMetrics(): Promise<string> {
    const own: MetricData[][] = await Promise.all(registries.map((registry) => registry.getMetricsAsJSON()));
    return Registry.aggregate([...own, ...(await genuineWorkersMetrics())], this.contentType).metrics();
  }

  /** The genuine package's workers gathered (slotmetrics' threads need not be: they share the series). */
  static workerCount(): number {
    return genuineWorkerCount();
  }

  /**
   * 0.16 hands a thread's counts to the main thread before it exits. Here a thread's
   * counts stay in shared memory when it exits (the engine folds them into the
   * retired totals), so there is nothing to wait for.
   */
  async shutdown(): Promise<void> {}

  /** The registries whose metrics workerMetrics() gives (default: the global one). */
  static setRegistries(regs: AnyRegistry | AnyRegistry[]): void {
    registries = registryList(regs);
  }
}
