// What prom-client's Histogram and Summary share: observe() with or without labels,
// timers, and kept children, with prom-client's checks and messages.

import { invalidNumber, labelsFromArguments, Metric } from './metric';
import type { LabelValues } from './samples';
import { validateLabel } from './validation';

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
    const labels = labelsFromArguments(this.labelNames, args);
    validateLabel(this.labelNames, labels);
    let handle: H | undefined;
    return {
      observe: (value) => {
        this.check(labels, value);
        handle ??= this.handleFor(labels);
        handle.observe(value);
      },
      startTimer: () => this.startTimer(labels),
    };
  }

  /** Observes a value in the series of `labels`, which it returns. */
  protected record(labels: LabelValues<T> | undefined, value: unknown): H {
    this.check(labels, value);
    const handle = this.handleFor(labels);
    handle.observe(value as number);
    return handle;
  }

  /** prom-client's checks, with its messages: the labels, then the value. */
  protected check(labels: LabelValues<T> | undefined, value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      if (labels !== undefined) validateLabel(this.labelNames, labels);
      throw invalidNumber('Value', value);
    }
  }
}
