import { observationError, secondsTimer } from './observation';
import { type Cell, SlotHandle } from '../base/native';

/** prom-client's default buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/**
 * The index of the classic bucket a finite `value` falls in among increasing `bounds`,
 * `+Inf` last: where an observation counts, and where the engine keeps its exemplar
 * (crates/slotmetrics_engine/src/exemplar.rs' `bucket_index`).
 */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let bucket = 0;
  while (bucket < bounds.length && value > bounds[bucket]) bucket++;
  return bucket;
}

/**
 * One histogram series. Its slots, in this thread's stripe, are one count per bucket
 * (not cumulative: an observation writes exactly one), the `+Inf` bucket, then the sum.
 * The exposition accumulates the buckets and derives `_count` from the same read.
 */
export class Histogram extends SlotHandle<Float64Array> {
  protected readonly bounds: readonly number[];
  protected readonly sumIndex: number;

  /** @internal */
  constructor(name: string, bounds: readonly number[], cell: Cell<Float64Array>) {
    super(name, cell);
    this.bounds = bounds;
    this.sumIndex = cell.index + bounds.length + 1;
  }

  /** Records one observation (any finite number). */
  observe(value: number): void {
    if (typeof value !== 'number' || value - value !== 0) {
      throw observationError('histogram', this.name, value);
    }
    this.view[this.index + bucketIndex(this.bounds, value)]++;
    this.view[this.sumIndex] -= -value; // not `+=`: see SlotHandle
  }

  /** Starts timing; the returned function observes the elapsed seconds and returns them. */
  startTimer(): () => number {
    return secondsTimer((seconds) => this.observe(seconds));
  }
}
