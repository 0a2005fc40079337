// The native addon, and this JS environment's views of slot memory.
//
// Every environment (main thread, each worker) loads the addon itself and gets its own
// ArrayBuffers over the same Rust memory: Node copies external buffers sent through
// postMessage, so views are never passed between threads.

import { binding } from './binding';
import { publishObservations, recordExemplar } from './rings';

export { recordObservation } from './rings';

export { binding };

export const CHUNK_SLOTS: number = binding.CHUNK_SLOTS;

/** Runs a native call, turning its argument errors into TypeErrors and its capacity
 * errors (a full metric, exhausted slot memory) into RangeErrors. */
export function callNative<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    const code = error instanceof Error ? (error as { code?: string }).code : undefined;
    if (code === 'InvalidArg') throw new TypeError((error as Error).message);
    if (code === 'QueueFull') throw new RangeError((error as Error).message);
    throw error;
  }
}

// This environment's scratch buffer for label values (src/scratch.rs), once used.
let scratch: Uint8Array | undefined;
const utf8 = new TextEncoder();

/**
 * Writes `value` as `<u32 length><UTF-8>` at `at`; returns where the next value goes,
 * or -1 if it does not fit. ASCII, the usual case, is copied by hand: for short
 * strings that is several times faster than TextEncoder.encodeInto.
 */
function writeScratchValue(bytes: Uint8Array, at: number, value: string): number {
  const start = at + 4;
  let end = start;
  if (start + value.length > bytes.length) return -1;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0x80) {
      const { read, written } = utf8.encodeInto(value, bytes.subarray(start));
      if (read !== value.length) return -1;
      end = start + written;
      break;
    }
    bytes[end++] = code;
  }
  const length = end - start;
  bytes[at] = length;
  bytes[at + 1] = length >>> 8;
  bytes[at + 2] = length >>> 16;
  bytes[at + 3] = length >>> 24;
  return end;
}

/**
 * Writes `values` to this environment's scratch buffer as `<u32 count>` then each
 * `<u32 length><UTF-8>`; returns false if they do not fit.
 */
function writeScratch(values: readonly string[]): boolean {
  scratch ??= new Uint8Array(binding.labelScratch());
  let at = 4;
  for (let i = 0; i < values.length && at >= 0; i++) at = writeScratchValue(scratch, at, values[i]);
  if (at < 0) return false;
  scratch[0] = values.length;
  scratch[1] = values.length >>> 8;
  scratch[2] = values.length >>> 16;
  scratch[3] = values.length >>> 24;
  return true;
}

/**
 * Registers a label set (values in key order) and returns its first slot, or the
 * overflow answer of a full metric. The values go through this environment's scratch
 * buffer, which saves about 400 ns a call over passing the strings (src/scratch.rs);
 * a label set too large for it is passed as strings.
 */
export function registerSeries(metric: number, values: string[]): number {
  return writeScratch(values) ? binding.registerScratchSeries(metric) : binding.registerSeries(metric, values);
}

/**
 * A negative answer of `registerSeries`, for a full metric: the slot of its overflow
 * series, and whether this was the metric's first overflow in this process.
 */
export function overflowOf(registered: number): { slot: number; first: boolean } {
  const code = -registered - 1;
  return { slot: Math.floor(code / 2), first: code % 2 === 1 };
}

/**
 * Sets the exemplar of the series at `slot` (of the bucket `value` falls in, for a
 * histogram), stamped now: `labels` are names and values in turn, checked already.
 * They go through this environment's ring of exemplars (rings.ts), or if they do not
 * fit in an entry through the scratch buffer and a native call (OpenMetrics' 128
 * characters always fit there). `atTotal`: a counter's exemplar takes the series'
 * value (@prometheus-io/client 0.16) instead of `value`, read by the native call.
 */
export function setExemplar(metric: number, slot: number, labels: readonly string[], value: number, atTotal = false): void {
  // At the total: a native call, which reads the series' value at once, as 0.16 values
  // an exemplar at its own increment (a ring entry would be valued when drained).
  if (!atTotal && recordExemplar(metric, slot, labels, value)) return;
  if (!writeScratch(labels)) throw new RangeError(`exemplar labels of ${labels.length / 2} names and values do not fit in 4 KiB`);
  callNative(() => binding.setExemplar(metric, slot, value, atTotal));
}

/** A cell of slot memory: its slot, the typed array over its chunk and its index in it. */
export interface Cell<View> {
  readonly slot: number;
  readonly view: View;
  readonly index: number;
}

/**
 * The metric ids of the handles `build()` returned for metrics without dynamic keys,
 * which can `reset()` themselves. Kept aside so that no series handle carries an id.
 */
export const unlabeledMetricIds = new WeakMap<object, number>();

/**
 * What every series handle holds: its metric's name and where its value lives.
 *
 * Updates are written `view[i]++` and `view[i] -= -amount`, never `+=`. V8 14 (Node 26)
 * compiles an addition whose operands have been integers as an "additive safe integer"
 * one (its flag `--additive-safe-int-feedback`): float64 to int64, add, and back. On a
 * float64 slot that makes a read-modify-write 2.5 times as slow (5.0 ns against 2.0).
 * Increments and subtractions are not compiled that way, and give the same result.
 */
export abstract class SlotHandle<View> {
  /** @internal The series' first slot, which native calls about it take. */
  readonly slot: number;
  protected readonly view: View;
  protected readonly index: number;

  /** @internal */
  constructor(
    /** The name of the series' metric. */
    readonly name: string,
    cell: Cell<View>,
  ) {
    this.slot = cell.slot;
    this.view = cell.view;
    this.index = cell.index;
  }

  /**
   * Sets a metric without dynamic keys back to zero (prom-client's `reset()`). The
   * series of a labeled metric are reset through its family: `zero(labels)`, `remove(labels)`, `reset()`.
   */
  reset(): void {
    const id = unlabeledMetricIds.get(this);
    if (id === undefined) {
      throw new TypeError(`reset() on a series of labeled metric "${this.name}": use zero(labels) or reset() on the metric`);
    }
    // A summary's observations of this turn must reach its window before the reset, not after.
    publishObservations();
    callNative(() => binding.resetMetric(id));
  }
}

// This environment's stripe (counters and histograms), chunk by chunk.
const stripeChunks: Float64Array[] = [];

/** Where a counter or histogram slot lives in this environment's stripe. */
export function stripeCell(slot: number): Cell<Float64Array> {
  const chunk = Math.floor(slot / CHUNK_SLOTS);
  let view = stripeChunks[chunk];
  if (view === undefined) {
    view = new Float64Array(binding.stripeChunk(chunk));
    stripeChunks[chunk] = view;
  }
  return { slot, view, index: slot % CHUNK_SLOTS };
}

/** Views of one chunk of gauge slots: as integers for integer gauges, as floats
 * (with their raw bits for compare-and-swap) for float gauges. */
interface SharedViews {
  readonly int: BigInt64Array;
  readonly float: Float64Array;
  readonly bits: BigUint64Array;
}

/** Where a gauge's value lives: one cell for the group, or one of this process's own
 * (a gauge with a value per process, in a multi-process group). */
export type GaugeCells = 'shared' | 'own';

const gaugeChunks: Record<GaugeCells, SharedViews[]> = { shared: [], own: [] };

function gaugeViews(cells: GaugeCells, slot: number): SharedViews {
  const chunk = Math.floor(slot / CHUNK_SLOTS);
  let views = gaugeChunks[cells][chunk];
  if (views === undefined) {
    const buffer = cells === 'shared' ? binding.sharedChunk(chunk) : binding.ownChunk(chunk);
    views = { int: new BigInt64Array(buffer), float: new Float64Array(buffer), bits: new BigUint64Array(buffer) };
    gaugeChunks[cells][chunk] = views;
  }
  return views;
}

export function intGaugeCell(cells: GaugeCells, slot: number): Cell<BigInt64Array> {
  return { slot, view: gaugeViews(cells, slot).int, index: slot % CHUNK_SLOTS };
}

export function floatGaugeCell(cells: GaugeCells, slot: number): Cell<Float64Array> & { readonly bits: BigUint64Array } {
  const views = gaugeViews(cells, slot);
  return { slot, view: views.float, bits: views.bits, index: slot % CHUNK_SLOTS };
}
