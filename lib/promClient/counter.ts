// prom-client's Counter on the engine.

import { counterSchema } from '../schema';
import type { Counter as EngineCounter } from '../counter';
import { invalidNumber, labelsFromArguments, type LabelValues, Metric, type MetricConfiguration } from './metric';
import { validateLabel } from './validation';

export type CounterConfiguration<T extends string> = MetricConfiguration<T, Counter<T>>;

export class Counter<T extends string = string> extends Metric<T, EngineCounter> {
  readonly type = 'counter';

  constructor(configuration: CounterConfiguration<T>) {
    super(configuration, 'counter', counterSchema);
  }

  /** `inc()`, `inc(value)`, `inc(labels)` or `inc(labels, value)`; by 1 unless a value is given. */
  inc(labels?: LabelValues<T> | number, value?: number): void {
    const unlabeled = this.engine.handle;
    if (labels === undefined && unlabeled !== undefined) {
      unlabeled.increment(); // the most common call, without the checks that cannot fail
    } else if (typeof labels === 'object' && labels !== null) {
      this.add(labels, value);
    } else {
      this.add(undefined, labels);
    }
  }

  /** The series of these label values (in label-name order, or an object), to update without a lookup. */
  labels(...args: unknown[]): Counter.Internal {
    const labels = labelsFromArguments(this.labelNames, args);
    let handle: EngineCounter | undefined;
    return {
      inc: (value?: number) => {
        checkIncrement(this.labelNames, labels, value);
        (handle ??= this.handleFor(labels)).add(value ?? 1);
      },
    };
  }

  private add(labels: LabelValues<T> | undefined, value: number | undefined): void {
    checkIncrement(this.labelNames, labels, value);
    this.handleFor(labels).add(value ?? 1);
  }
}

/**
 * prom-client's checks of an increment, with its messages: a label error first, then
 * the value. NaN is refused too (prom-client would add it and lose the count).
 */
function checkIncrement(labelNames: readonly string[], labels: object | undefined, value: unknown): void {
  if (value === undefined || value === null || (typeof value === 'number' && value >= 0 && value !== Infinity)) return;
  if (labels !== undefined) validateLabel(labelNames, labels);
  if (typeof value === 'number' && value < 0) throw new Error('It is not possible to decrease a counter');
  throw invalidNumber('Value', value);
}

export namespace Counter {
  export interface Internal {
    inc(value?: number): void;
  }
}
