// Observable callbacks: run once per collection, that is before every read of the
// provider's registry (a scrape the engine serves, an export it sends, a
// `registry.metrics()` made from JS), through the collector of base/collectors.ts.
// Callbacks may be async; a collection waits for them at most the provider's collect
// timeout, and a scrape or an export no longer than the engine's. Series a callback
// stopped observing are then dropped.

import type { BatchObservableCallback, Observable, ObservableCallback } from '@opentelemetry/api';
import { addCollector } from '../base/collectors';
import { callNative, binding } from '../base/native';
import { flushPendingUpdates } from '../base/pending';
import { batchObservableResult, type ObservableCallbacks, observableResult, SlotObservable } from './instruments';
import { warnOnce } from './warnings';

interface Batch {
  readonly callback: BatchObservableCallback;
  readonly instruments: ReadonlySet<Observable>;
}

/** The observable callbacks of one provider, which write into registry `registryId`. */
export class Observations implements ObservableCallbacks {
  /** Each observable instrument of the provider, and its callbacks. */
  private readonly instruments = new Map<SlotObservable, ObservableCallback[]>();
  private readonly batches: Batch[] = [];
  private removeCollector: (() => void) | undefined;

  constructor(
    private readonly registryId: number,
    private readonly timeoutMs: number,
  ) {}

  /** @internal Makes `instrument` one whose callbacks this runs. */
  track(instrument: SlotObservable): void {
    if (!this.instruments.has(instrument)) this.instruments.set(instrument, []);
  }

  add(instrument: SlotObservable, callback: ObservableCallback): void {
    const callbacks = this.instruments.get(instrument);
    if (callbacks === undefined || typeof callback !== 'function' || callbacks.includes(callback)) return;
    callbacks.push(callback);
    this.start();
  }

  remove(instrument: SlotObservable, callback: ObservableCallback): void {
    const callbacks = this.instruments.get(instrument);
    const at = callbacks?.indexOf(callback) ?? -1;
    if (at !== -1) callbacks?.splice(at, 1);
  }

  addBatch(callback: BatchObservableCallback, observables: readonly Observable[]): void {
    if (typeof callback !== 'function' || this.batches.some((batch) => batch.callback === callback)) return;
    const instruments = new Set(observables.filter((o) => o instanceof SlotObservable && this.instruments.has(o)));
    this.batches.push({ callback, instruments });
    this.start();
  }

  removeBatch(callback: BatchObservableCallback, _observables: readonly Observable[]): void {
    const at = this.batches.findIndex((batch) => batch.callback === callback);
    if (at !== -1) this.batches.splice(at, 1);
  }

  /** Stops running callbacks: the provider was shut down. */
  stop(): void {
    this.removeCollector?.();
    this.removeCollector = undefined;
    this.instruments.clear();
    this.batches.length = 0;
  }

  private start(): void {
    this.removeCollector ??= addCollector((registryId) => (registryId === this.registryId ? this.collect() : undefined));
  }

  /**
   * Runs every callback once and waits for them, at most the timeout; then drops the
   * series no callback observed this time: only when every callback finished (one
   * still running may yet observe them), and not an instrument's whose callback
   * failed (it may have failed before observing them).
   */
  async collect(): Promise<void> {
    for (const instrument of this.instruments.keys()) instrument.begin();
    const runs: Promise<void>[] = [];
    const failed = new Set<Observable>();
    for (const [instrument, callbacks] of this.instruments) {
      for (const callback of callbacks) runs.push(run(() => callback(observableResult(instrument)), [instrument], failed));
    }
    for (const { callback, instruments } of this.batches) {
      runs.push(run(() => callback(batchObservableResult(instruments)), instruments, failed));
    }
    if (!(await finishedWithin(Promise.all(runs), this.timeoutMs))) {
      warnOnce('collect:timeout', `observable callbacks did not finish within ${this.timeoutMs} ms; the collection used what they had observed`);
      return;
    }
    flushPendingUpdates();
    for (const instrument of this.instruments.keys()) {
      if (failed.has(instrument)) continue;
      for (const { stream, metric, handle } of instrument.unobserved()) {
        const pairs = stream.table.pairsOf(handle);
        if (pairs === undefined) continue;
        callNative(() => binding.removeSeries(metric.id, [...pairs]));
        stream.table.forget(handle);
      }
    }
  }
}

/**
 * Runs a callback of `instruments`, warning (once) of one that throws or rejects
 * instead of passing it on, and adding its instruments to `failed`.
 */
async function run(callback: () => unknown, instruments: Iterable<Observable>, failed: Set<Observable>): Promise<void> {
  try {
    await callback();
  } catch (error) {
    for (const instrument of instruments) failed.add(instrument);
    const reason = error instanceof Error ? error.message : String(error);
    warnOnce(`callback:${reason}`, `an observable callback failed: ${reason}`);
  }
}

/**
 * Whether `work` settled within `ms`. The timer keeps the event loop alive: a read
 * waiting on a callback that never settles still resolves, after `ms`.
 */
function finishedWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([work.then(() => true), timeout]).finally(() => clearTimeout(timer));
}
