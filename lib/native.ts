// The native addon, and this JS environment's views of slot memory.
//
// Every environment (main thread, each worker) loads the addon itself and gets its own
// ArrayBuffers over the same Rust memory: Node copies external buffers sent through
// postMessage, so views are never passed between threads.

import * as binding from '../index.js';

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

/** A cell of slot memory: the typed array over its chunk and its index in it. */
export interface Cell<View> {
  readonly view: View;
  readonly index: number;
}

/**
 * The metric ids of the handles `build()` returned for metrics without dynamic keys,
 * which can `reset()` themselves. Kept aside so that no series handle carries an id.
 */
export const unlabeledMetricIds = new WeakMap<object, number>();

/** What every series handle holds: its metric's name and where its value lives. */
export abstract class SlotHandle<View> {
  protected readonly view: View;
  protected readonly index: number;

  /** @internal */
  constructor(
    readonly name: string,
    cell: Cell<View>,
  ) {
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
  return { view, index: slot % CHUNK_SLOTS };
}

/** Views of one chunk of gauge slots: as integers for integer gauges, as floats
 * (with their raw bits for compare-and-swap) for float gauges. */
interface SharedViews {
  readonly int: BigInt64Array;
  readonly float: Float64Array;
  readonly bits: BigUint64Array;
}

const sharedChunks: SharedViews[] = [];

function sharedViews(slot: number): SharedViews {
  const chunk = Math.floor(slot / CHUNK_SLOTS);
  let views = sharedChunks[chunk];
  if (views === undefined) {
    const buffer = binding.sharedChunk(chunk);
    views = { int: new BigInt64Array(buffer), float: new Float64Array(buffer), bits: new BigUint64Array(buffer) };
    sharedChunks[chunk] = views;
  }
  return views;
}

export function sharedIntCell(slot: number): Cell<BigInt64Array> {
  return { view: sharedViews(slot).int, index: slot % CHUNK_SLOTS };
}

export function sharedFloatCell(slot: number): Cell<Float64Array> & { readonly bits: BigUint64Array } {
  const views = sharedViews(slot);
  return { view: views.float, bits: views.bits, index: slot % CHUNK_SLOTS };
}
