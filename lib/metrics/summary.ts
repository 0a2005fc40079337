import { observationError, secondsTimer } from './observation';
import { recordObservation, SlotHandle } from '../base/native';

/** prom-client's default quantiles. */
export const DEFAULT_PERCENTILES: readonly number[] = Object.freeze([0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999]);

/**
 * One summary series. Its count and sum are two slots of this thread's stripe, written
 * here like a histogram's; its quantiles come from a t-digest window in Rust
 * (crates/slotmetrics_engine/src/summary.rs) that every thread's observations reach
 * through its ring (`recordObservation`), drained before each read. Prefer histograms
 * where quantiles can be computed at query time: they also aggregate across instances.
 */
export class Summary extends SlotHandle<Float64Array> {
  /** Records one observation (any finite number). */
  observe(value: number): void {
    if (typeof value !== 'number' || value - value !== 0) {
      throw observationError('summary', this.name, value);
    }
    this.view[this.index]++;
    this.view[this.index + 1] -= -value; // not `+=`: see SlotHandle
    // Slot -1: a handle an update dropped for its labels got, which no window has.
    if (this.slot >= 0) recordObservation(this.slot, value);
  }

  /** Starts timing; the returned function observes the elapsed seconds and returns them. */
  startTimer(): () => number {
    return secondsTimer((seconds) => this.observe(seconds));
  }
}
