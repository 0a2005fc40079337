// A native histogram series: exponential buckets whose index comes from the value's
// float bits, counted with plain stores in windows of consecutive buckets that the
// engine hands out (docs/prometheus-3.md, "Native histograms"; crates/.../native.rs does the same
// arithmetic with the same boundary tables).

import { binding, type Cell, callNative, stripeCell } from '../base/native';
import { bucketIndex, Histogram } from './histogram';
import { observationError } from './observation';

/** A native histogram's options, as client_golang names them. */
export interface NativeOptions {
  /** Neighbouring bucket boundaries differ by at most this factor (default 1.1: schema 3). */
  bucketFactor?: number;
  /** Observations with an absolute value up to this count in the zero bucket (default 2^-128). */
  zeroThreshold?: number;
  /** Buckets in a series' window per sign; one beyond lowers the resolution (default 160). */
  maxBuckets?: number;
}

export const NATIVE_DEFAULTS: Required<NativeOptions> = Object.freeze({ bucketFactor: 1.1, zeroThreshold: 2 ** -128, maxBuckets: 160 });

// One scratch double and its two 32-bit words: a value's exponent and mantissa.
const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HIGH = LITTLE_ENDIAN ? 1 : 0;
const LOW = 1 - HIGH;
const TWO_TO_64 = 2 ** 64;
/** The top mantissa bits that pick a cell of a schema's lookup table. */
const CELL_BITS = 10;

/**
 * How a schema above 0 finds a mantissa's bucket within its power of two: the engine's
 * boundaries (2^(i/n)/2 for i < n, in [0.5, 1)) as the high 20 and low 32 bits of
 * their mantissas, one more past the end that nothing exceeds, and for each cell of
 * the mantissa's top `CELL_BITS` bits the first boundary at or above the cell's start.
 * A cell is narrower than the gap between two boundaries, so the key is that one or
 * the next: one comparison, with integers (the boundaries' exponents are all equal),
 * instead of a binary search whose branches a processor cannot predict.
 */
interface Bounds {
  readonly count: number;
  readonly high: Uint32Array;
  readonly low: Uint32Array;
  readonly firstInCell: Uint16Array;
}

const boundsBySchema: Bounds[] = [];

export function boundsOf(schema: number): Bounds {
  let bounds = boundsBySchema[schema];
  if (bounds === undefined) {
    const values = schema > 0 ? binding.nativeBounds(schema) : [];
    const count = values.length;
    const high = new Uint32Array(count + 1).fill(0xfffff, count);
    const low = new Uint32Array(count + 1).fill(0xffffffff, count);
    values.forEach((bound, i) => {
      scratch[0] = bound;
      high[i] = words[HIGH] & 0xfffff;
      low[i] = words[LOW];
    });
    const firstInCell = new Uint16Array(1 << CELL_BITS);
    let key = 0;
    for (let cell = 0; cell < firstInCell.length; cell++) {
      const start = 0.5 + cell * 2 ** -(CELL_BITS + 1);
      while (key < count && values[key] < start) key++;
      firstInCell[cell] = key;
    }
    bounds = { count, high, low, firstInCell };
    boundsBySchema[schema] = bounds;
  }
  return bounds;
}

/** The bucket of a positive finite value at `schema` (`bounds`: `boundsOf(schema)`), as the engine's `native::bucket_index` finds it. */
export function nativeBucketIndex(value: number, schema: number, bounds: Bounds): number {
  scratch[0] = value;
  let high = words[HIGH];
  let low = words[LOW];
  let exp = high >>> 20;
  if (exp === 0) {
    // Subnormal (only with a zero threshold below 2^-1022): scaled into the normal range.
    scratch[0] = value * TWO_TO_64;
    high = words[HIGH];
    low = words[LOW];
    exp = (high >>> 20) - 64;
  }
  exp -= 1022;
  const mantissa = high & 0xfffff;
  if (schema > 0) {
    let key = bounds.firstInCell[mantissa >>> (20 - CELL_BITS)];
    const boundHigh = bounds.high[key];
    if (mantissa > boundHigh || (mantissa === boundHigh && low > bounds.low[key])) key++;
    return key + (exp - 1) * bounds.count;
  }
  // A power of two is the top of its bucket.
  const key = mantissa === 0 && low === 0 ? exp - 1 : exp;
  return (key + ((1 << -schema) - 1)) >> -schema;
}

const NO_VIEW = new Float64Array(0);

/** Where this thread counts one sign's buckets: none until the first observation. */
class Window {
  view: Float64Array = NO_VIEW;
  /** The index in `view` of bucket `first`. */
  index = 0;
  first = 0;
  width = 0;
  schema = 0;
  bounds: Bounds = boundsOf(0);

  set(window: { schema: number; first: number; slot: number; width: number }): void {
    const cell = stripeCell(window.slot);
    this.view = cell.view;
    this.index = cell.index;
    this.first = window.first;
    this.width = window.width;
    this.schema = window.schema;
    this.bounds = boundsOf(window.schema);
  }
}

/**
 * One native histogram series. Its slots in this thread's stripe: the classic buckets
 * (none but `+Inf`, unused, unless `.buckets()` gave some), the sum, the zero bucket; its
 * exponential buckets are in windows, one per sign, that the engine hands out when an
 * observation falls outside this thread's (a native call, a few times in a series'
 * life).
 */
export class NativeHistogram extends Histogram {
  private readonly zeroIndex: number;
  private readonly zeroThreshold: number;
  private readonly positive = new Window();
  private readonly negative = new Window();

  /** @internal */
  constructor(
    name: string,
    private readonly metric: number,
    bounds: readonly number[],
    zeroThreshold: number,
    cell: Cell<Float64Array>,
  ) {
    super(name, bounds, cell);
    this.zeroIndex = this.sumIndex + 1;
    this.zeroThreshold = zeroThreshold;
  }

  /** Records one observation (any finite number). */
  override observe(value: number): void {
    if (typeof value !== 'number' || value - value !== 0) {
      throw observationError('histogram', this.name, value);
    }
    const bounds = this.bounds;
    const view = this.view;
    // Without classic buckets the engine counts the native ones at a read: one store
    // fewer here.
    if (bounds.length !== 0) view[this.index + bucketIndex(bounds, value)]++;
    view[this.sumIndex] -= -value; // not `+=`: see SlotHandle
    if (value > this.zeroThreshold) this.count(this.positive, value, value);
    else if (value < -this.zeroThreshold) this.count(this.negative, -value, value);
    else view[this.zeroIndex]++;
  }

  /** Counts `magnitude` (`value`'s absolute value) in `window`, after widening it if needed. */
  private count(window: Window, magnitude: number, value: number): void {
    const offset = nativeBucketIndex(magnitude, window.schema, window.bounds) - window.first;
    if (offset >= 0 && offset < window.width) window.view[window.index + offset]++;
    else this.widen(window, magnitude, value);
  }

  /** The rare path, kept apart so the common one stays small enough to inline. */
  private widen(window: Window, magnitude: number, value: number): void {
    if (this.slot < 0) return; // a handle an update dropped for its labels got: no windows
    window.set(callNative(() => binding.nativeWindow(this.metric, this.slot, value)));
    const offset = nativeBucketIndex(magnitude, window.schema, window.bounds) - window.first;
    // The engine placed the window by this same arithmetic; never write outside it.
    if (offset < 0 || offset >= window.width) throw new Error(`native histogram "${this.name}": no window holds ${value}`);
    window.view[window.index + offset]++;
  }
}
