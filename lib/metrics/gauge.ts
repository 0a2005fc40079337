import { describeValue } from '../base/validate';
import { type Cell, SlotHandle } from '../base/native';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Converts a gauge argument to an exact int64, or throws naming the problem. */
function toInt64(metric: string, method: string, value: unknown): bigint {
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new RangeError(`gauge "${metric}" ${method}(): ${value} is outside the int64 range`);
    }
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) {
      throw new RangeError(`gauge "${metric}" holds integers, got ${value} in ${method}(); use gaugeSchemaFloat for fractions`);
    }
    // 2^63 itself is not an int64; every smaller integral double is.
    if (value < -(2 ** 63) || value >= 2 ** 63) {
      throw new RangeError(`gauge "${metric}" ${method}(): ${value} is outside the int64 range`);
    }
    return BigInt(value);
  }
  throw new TypeError(`gauge "${metric}" ${method}() takes a number or bigint, got ${describeValue(value)}`);
}

/**
 * One integer gauge series (`gaugeSchema`): an int64 shared by every thread, exact to
 * 2^63. Takes numbers (integers) or bigints.
 */
export class Gauge extends SlotHandle<BigInt64Array> {
  /** Sets the value: an integral number or a bigint in the int64 range. */
  set(value: number | bigint): void {
    // An aligned 8-byte store never tears, and a set needs no read-modify-write.
    this.view[this.index] = toInt64(this.name, 'set', value);
  }

  /** Adds `amount` (default 1), atomically across threads. */
  inc(amount: number | bigint = 1): void {
    Atomics.add(this.view, this.index, toInt64(this.name, 'inc', amount));
  }

  /** Subtracts `amount` (default 1), atomically across threads. */
  dec(amount: number | bigint = 1): void {
    Atomics.sub(this.view, this.index, toInt64(this.name, 'dec', amount));
  }

  /** Sets the gauge to the current Unix time in whole seconds. */
  setToCurrentTime(): void {
    this.view[this.index] = BigInt(Math.floor(Date.now() / 1000));
  }
}

// Scratch space to move a float between its number and bit forms.
const scratchFloat = new Float64Array(1);
const scratchBits = new BigUint64Array(scratchFloat.buffer);

function finiteAmount(metric: string, method: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`gauge "${metric}" ${method}() takes a number, got ${describeValue(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`gauge "${metric}" ${method}() takes a finite amount, got ${value}`);
  }
  return value;
}

/**
 * One float gauge series (`gaugeSchemaFloat`): a float64 shared by every thread.
 * `set` takes any number, NaN and ±Infinity included; `inc`/`dec` take finite amounts
 * and are atomic across threads.
 */
export class FloatGauge extends SlotHandle<Float64Array> {
  /** The same cell as raw bits, for compare-and-swap. */
  private readonly bits: BigUint64Array;

  /** @internal */
  constructor(name: string, cell: Cell<Float64Array> & { readonly bits: BigUint64Array }) {
    super(name, cell);
    this.bits = cell.bits;
  }

  /** Sets the value: any number, NaN and ±Infinity included. */
  set(value: number): void {
    if (typeof value !== 'number') {
      throw new TypeError(`gauge "${this.name}" set() takes a number, got ${describeValue(value)}`);
    }
    this.view[this.index] = value;
  }

  /** Adds a finite `amount` (default 1), atomically across threads. */
  inc(amount = 1): void {
    this.add(finiteAmount(this.name, 'inc', amount));
  }

  /** Subtracts a finite `amount` (default 1), atomically across threads. */
  dec(amount = 1): void {
    this.add(-finiteAmount(this.name, 'dec', amount));
  }

  /** Sets the gauge to the current Unix time in seconds. */
  setToCurrentTime(): void {
    this.view[this.index] = Date.now() / 1000;
  }

  // JS has no atomic float add: compare-and-swap the bits until no other thread
  // changed them in between.
  private add(amount: number): void {
    const { bits, index } = this;
    for (;;) {
      const old = Atomics.load(bits, index);
      scratchBits[0] = old;
      scratchFloat[0] -= -amount; // not `+=`: see SlotHandle
      if (Atomics.compareExchange(bits, index, old, scratchBits[0]) === old) return;
    }
  }
}
