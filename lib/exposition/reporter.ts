// startReporter(): the exposition handed to a function on an interval (seed 003).

import { whileRunning } from '../base/lifecycle';
import { type Registry, registryOption, type TextFormat } from './registry';
import { checkOptions, describeValue, isTimerMs, MAX_TIMER_MS } from '../base/validate';

/** `startReporter()`'s options. */
export interface ReporterOptions {
  /** How often to export, in ms. */
  intervalMs: number;
  /** Receives the exposition text; may return a promise. */
  onExport: (text: string) => unknown;
  /** Default `'prometheus'` (text 0.0.4). */
  format?: TextFormat;
  /** The registry to export (default: the default `registry`). */
  registry?: Registry;
}

/**
 * Calls `onExport` with the exposition every `intervalMs`, until the returned function
 * (or shutdown()) stops it: an exposition still being rendered then is not handed over. The timer does not keep the process alive; an export still
 * running when the next is due is not overlapped. A failing `onExport` is reported as
 * a process warning and the reporter carries on.
 *
 * @example
 * ```js
 * const stop = startReporter({ intervalMs: 10_000, onExport: (text) => sendSomewhere(text) });
 * ```
 */
export function startReporter(options: ReporterOptions): () => void {
  checkOptions('startReporter()', options, ['intervalMs', 'onExport', 'format', 'registry']);
  const { intervalMs, onExport, format = 'prometheus' } = options as unknown as ReporterOptions;
  if (!isTimerMs(intervalMs)) {
    throw new RangeError(`startReporter(): intervalMs must be an integer from 1 to ${MAX_TIMER_MS}, got ${describeValue(intervalMs)}`);
  }
  if (format !== 'prometheus' && format !== 'openmetrics') {
    throw new TypeError(`startReporter(): format must be 'prometheus' or 'openmetrics', got ${describeValue(format)}`);
  }
  if (typeof onExport !== 'function') {
    throw new TypeError(`startReporter(): onExport must be a function, got ${describeValue(onExport)}`);
  }
  const registry = registryOption('startReporter()', options.registry);
  let exporting = false;
  let stopped = false;
  const timer = setInterval(async () => {
    if (exporting) return;
    exporting = true;
    try {
      const text = await registry.metrics({ format });
      // Rendering runs off the event loop: stop() may have been called meanwhile.
      if (!stopped) await onExport(text);
    } catch (error) {
      process.emitWarning(`slotmetrics reporter: onExport failed: ${(error as Error)?.message ?? String(error)}`);
    } finally {
      exporting = false;
    }
  }, intervalMs);
  timer.unref();
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    forget();
  };
  const forget = whileRunning(stop);
  return stop;
}
