// shutdown(): everything slotmetrics started in this thread, stopped in one call.

import { binding } from './native';

type Stop = () => unknown;

const running = new Set<Stop>();

/** Registers what stops a running part (server, reporter, sampler); returns its removal. */
export function whileRunning(stop: Stop): () => void {
  running.add(stop);
  return () => running.delete(stop);
}

/**
 * Closes every server this thread started, stops reporters and default-metric
 * sampling, and resolves once every line logged so far has been written. Calling it
 * again is harmless; nothing started here keeps the process alive afterwards.
 */
export async function shutdown(): Promise<void> {
  const stops = [...running];
  running.clear();
  const results = await Promise.allSettled(stops.map(async (stop) => stop()));
  await binding.flushLogs();
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
