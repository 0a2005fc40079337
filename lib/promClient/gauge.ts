// prom-client's Gauge on the engine: a float gauge shared by every thread; in a
// multi-process group, combined over the processes as its `aggregator` says.

import { type GaugeMultiprocessMode, gaugeSchemaFloat } from '../metrics/schema';
import type { Aggregator } from './aggregators';
import type { FloatGauge } from '../metrics/gauge';
import { invalidNumber, Metric, type MetricConfiguration } from './metric';
import type { LabelValues } from './samples';

/** What a `Gauge` is made with: prom-client's options. */
export type GaugeConfiguration<T extends string> = MetricConfiguration<T, Gauge<T>>;

const isLabels = (value: unknown): value is object => typeof value === 'object' && value !== null;

/**
 * A gauge's multi-process mode from its aggregator: in a group, every process exposes
 * what prom-client's AggregatorRegistry gives when it combines the cluster's workers.
 */
const GROUP_MODE: Record<Aggregator, GaugeMultiprocessMode> = {
  sum: 'livesum',
  first: 'shared',
  min: 'min',
  max: 'max',
  average: 'average',
  omit: 'omit',
};

/**
 * prom-client's `Gauge`: a value that goes up and down, shared by every thread.
 *
 * @example
 * ```js
 * const depth = new Gauge({ name: 'queue_depth', help: 'Jobs waiting', labelNames: ['queue'] });
 * depth.set({ queue: 'email' }, 12);
 * depth.labels('email').dec();
 * ```
 */
export class Gauge<T extends string = string> extends Metric<T, FloatGauge> {
  /** Always `'gauge'`. */
  readonly type = 'gauge';

  constructor(configuration: GaugeConfiguration<T>) {
    const aggregator = configuration?.aggregator ?? 'sum';
    // An aggregator of the user's own (added to `aggregators`) has no mode: one value for the group.
    const mode = Object.hasOwn(GROUP_MODE, aggregator) ? GROUP_MODE[aggregator] : 'shared';
    super(configuration, 'gaugeFloat', (name) => gaugeSchemaFloat(name).multiprocess(mode));
  }

  /** `set(value)` or `set(labels, value)`: any number, NaN and ±Infinity included. */
  set(labels: LabelValues<T> | number, value?: number): void {
    const unlabeled = this.engine.handle;
    if (typeof labels === 'number' && unlabeled !== undefined) unlabeled.set(labels);
    else if (isLabels(labels)) this.write(labels, 'set', value);
    else this.write(undefined, 'set', labels);
  }

  /** `inc()`, `inc(amount)`, `inc(labels)` or `inc(labels, amount)`: by 1 unless given; finite amounts. */
  inc(labels?: LabelValues<T> | number, value?: number): void {
    if (isLabels(labels)) this.write(labels, 'inc', value ?? 1);
    else this.write(undefined, 'inc', labels ?? 1);
  }

  /** `dec()`, `dec(amount)`, `dec(labels)` or `dec(labels, amount)`: by 1 unless given; finite amounts. */
  dec(labels?: LabelValues<T> | number, value?: number): void {
    if (isLabels(labels)) this.write(labels, 'dec', value ?? 1);
    else this.write(undefined, 'dec', labels ?? 1);
  }

  /** Sets the gauge to the current Unix time in seconds. */
  setToCurrentTime(labels?: LabelValues<T>): void {
    this.write(labels, 'set', Date.now() / 1000);
  }

  /** Starts a timer; the returned function sets the gauge to the elapsed seconds (with the labels of both calls). */
  startTimer(labels?: LabelValues<T>): (endLabels?: LabelValues<T>) => number {
    const start = process.hrtime.bigint();
    return (endLabels) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      this.write({ ...labels, ...endLabels }, 'set', seconds);
      return seconds;
    };
  }

  /** The series of these label values, kept: its updates need no lookup. */
  labels(...args: unknown[]): Gauge.Internal<T> {
    const labels = this.childLabels(args, true);
    let handle = labels === undefined ? this.discard() : undefined;
    const write = (operation: Operation, value: unknown) => {
      check(operation, value);
      handle ??= this.handleFor(labels);
      handle[operation](value as number);
    };
    return {
      inc: (value = 1) => write('inc', value),
      dec: (value = 1) => write('dec', value),
      set: (value) => write('set', value),
      setToCurrentTime: () => write('set', Date.now() / 1000),
      startTimer: () => this.startTimer(labels),
    };
  }

  private write(labels: LabelValues<T> | undefined, operation: Operation, value: unknown): void {
    check(operation, value);
    this.handleFor(labels)[operation](value as number);
  }
}

type Operation = 'set' | 'inc' | 'dec';

/**
 * prom-client's check of a value, with its message (before the labels are looked at).
 * `inc` and `dec` also refuse NaN and ±Infinity, which prom-client would store.
 */
function check(operation: Operation, value: unknown): void {
  if (typeof value !== 'number' || (operation !== 'set' && !Number.isFinite(value))) {
    throw invalidNumber(operation === 'set' ? 'Value' : 'Delta', value);
  }
}

export namespace Gauge {
  /** The series `labels(...)` gives. */
  export interface Internal<T extends string> {
    /** Adds `value` (default 1). */
    inc(value?: number): void;
    /** Subtracts `value` (default 1). */
    dec(value?: number): void;
    /** Sets the value. */
    set(value: number): void;
    /** Sets the current Unix time in seconds. */
    setToCurrentTime(): void;
    /** Starts a timer; the returned function sets the elapsed seconds. */
    startTimer(): (labels?: LabelValues<T>) => number;
  }
}
