// What prom-client's Histogram and Summary share: observe() with or without labels,
// timers, and kept children, with prom-client's checks and messages.

import { invalidNumber, Metric } from './metric';
import type { LabelValues } from './samples';

/** Seconds since `start`, a `process.hrtime.bigint()`. */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** A kept child from `labels()`: its observations need no lookup. */
export interface ObservedChild<T extends string> {
  observe(value: number): void;
  startTimer(): (labels?: LabelValues<T>) => number;
}

/** A metric whose engine handles observe values (histograms, summaries). */
export abstract class ObservedMetric<T extends string, H extends { observe(value: number): void }> extends Metric<T, H> {
  /** `observe(value)` or `observe(labels, value)`. */
  observe(labels: LabelValues<T> | number, value?: number): void {
    if (typeof labels === 'object' && labels !== null) this.record(labels, value);
    else this.record(undefined, labels);
  }

  /** Starts a timer; the returned function observes the elapsed seconds (with the labels of both calls). */
  startTimer(labels?: LabelValues<T>): (endLabels?: LabelValues<T>) => number {
    const start = process.hrtime.bigint();
    return (endLabels) => {
      const seconds = secondsSince(start);
      this.record({ ...labels, ...endLabels }, seconds);
      return seconds;
    };
  }

  /** The series of these label values, kept: its observations need no lookup. */
  labels(...args: unknown[]): ObservedChild<T> {
    const labels = this.childLabels(args, true);
    let handle = labels === undefined ? this.discard() : undefined;
    return {
      observe: (value) => {
        if (!this.check(labels, value)) return;
        handle ??= this.handleFor(labels);
        handle.observe(value);
      },
      startTimer: () => this.startTimer(labels),
    };
  }

  /** Observes a value in the series of `labels`, which it returns. */
  protected record(labels: LabelValues<T> | undefined, value: unknown): H {
    if (!this.check(labels, value)) return this.discard();
    const handle = this.handleFor(labels);
    handle.observe(value as number);
    return handle;
  }

  /** prom-client's checks, with its messages: the labels, then the value; false for an update dropped for its labels. */
  protected check(labels: LabelValues<T> | undefined, value: unknown): boolean {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      if (labels !== undefined && !this.acceptLabels(labels)) return false;
      throw invalidNumber('Value', value);
    }
    return true;
  }
}
