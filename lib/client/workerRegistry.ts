// @prometheus-io/client 0.16's WorkerRegistry: the metrics of a process's worker
// threads. There, each thread keeps its own metrics and the registry gathers them over
// a BroadcastChannel, which every worker has to join. Here every thread already writes
// the same series in shared memory, so the registries hold every thread's values:
// nothing to join, nothing to send, no timeout.

import type { MetricData } from '../promClient/aggregators';
import {
  type AnyRegistry,
  globalRegistry,
  type PrometheusContentType,
  Registry,
  type RegistryContentType,
  registryList,
} from '../promClient/registry';

/** The registries workerMetrics() reads (default: the global one). */
let registries: AnyRegistry[] = [globalRegistry];

export class WorkerRegistry<T extends RegistryContentType = PrometheusContentType> extends Registry<T> {
  /** Every thread's metrics of the registries set (each metric combined by its aggregator, as 0.16 does), as text. */
  async workerMetrics(): Promise<string> {
    const metrics: MetricData[][] = await Promise.all(registries.map((registry) => registry.getMetricsAsJSON()));
    return Registry.aggregate(metrics, this.contentType).metrics();
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
