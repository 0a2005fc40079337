import { describeValue } from '../base/validate';
import { SlotHandle } from '../base/native';

function badIncrement(metric: string, value: unknown): Error {
  if (typeof value !== 'number') {
    return new TypeError(`counter "${metric}" add() takes a number, got ${describeValue(value)}`);
  }
  return new RangeError(`counter "${metric}" can only go up by a finite amount >= 0, got ${value}; nothing was added`);
}

/**
 * One counter series. Its value lives in this thread's stripe of slot memory, so an
 * update is a plain typed-array write that no other thread ever makes.
 */
export class Counter extends SlotHandle<Float64Array> {
  /** Adds 1. */
  increment(): void {
    this.view[this.index]++;
  }

  /** Adds `amount` (finite, >= 0; fractions allowed). */
  add(amount: number): void {
    if (typeof amount !== 'number' || !(amount >= 0) || amount === Infinity) {
      throw badIncrement(this.name, amount);
    }
    this.view[this.index] -= -amount; // not `+=`: see SlotHandle
  }
}
