// Collectors: JS functions that refresh values right before they are read, such as
// prom-client's `collect` callbacks and OpenTelemetry's observable callbacks.
//
// A read made from JS (`registry.metrics()`, `getMetricsAsJSON()`) runs this thread's
// collectors for the registry read. A scrape or an export the engine serves does not
// pass through JS, so each thread that has collectors gives the engine one collect
// hook, which runs them; the engine waits for every thread's hook, at most its collect
// timeout (collect_hooks.rs).

import { binding, callNative } from './native';

/** Refreshes the values of registry `registryId` (the addon's id) that it knows of. */
export type Collector = (registryId: number) => void | Promise<void>;

const collectors = new Set<Collector>();

/** Runs `collector` before every read from now on; returns its removal. */
export function addCollector(collector: Collector): () => void {
  if (collectors.size === 0) callNative(() => binding.setCollectHook(runCollectors));
  collectors.add(collector);
  return () => {
    collectors.delete(collector);
    if (collectors.size === 0) callNative(() => binding.setCollectHook(null));
  };
}

/**
 * Runs every collector of this thread for registry `registryId` at once, and resolves
 * when all have finished; one that throws or rejects does not stop the others, and
 * the first failure is rethrown when all are done (prom-client's `metrics()` rejects
 * with a failing `collect`).
 */
export async function runCollectors(registryId: number): Promise<void> {
  if (collectors.size === 0) return;
  const results = await Promise.allSettled([...collectors].map(async (collect) => collect(registryId)));
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}
