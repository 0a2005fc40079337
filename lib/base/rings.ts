// This environment's rings of updates for the engine (crates/slotmetrics_engine/src/rings.rs):
// summary observations, exemplars and label sets to register, written here with plain
// stores (observations staged, then copied 16 at a time or when the turn of the event
// loop ends, see recordObservation) and published with one atomic store, with no
// native call (but one when the engine's draining thread sleeps, to wake it). The
// engine takes published entries in within about 10 ms, and before any read.

import { RingKind } from '../../index.js';
import { binding } from './binding';
import { clockReplaced, followClock } from './clock';

/**
 * One ring of fixed-size entries, over the addon's memory. `write` is its write
 * position, which only this environment stores; `read` the read position as last
 * loaded. Positions are int32 here (u32 in Rust, the same bits) and wrap: their
 * difference is taken with `| 0`.
 */
class EntryRing {
  private readonly positions: Int32Array;
  private readonly writeAt: number;
  private readonly readAt: number;
  private readonly wakeAt: number;
  private write: number;
  /** The write position as last stored: entries up to it are published. */
  private published: number;
  private read: number;
  private readonly mask: number;
  /** Entries between two requests for a drain (a power of two). */
  private readonly requestEvery: number;
  readonly entryBytes: number;
  private readonly entriesAt: number;
  /** Views of the whole ring; entry `i` starts at byte `entriesAt + i * entryBytes`. */
  readonly f64: Float64Array;
  readonly u32: Uint32Array;
  readonly u8: Uint8Array;

  constructor(private readonly kind: RingKind) {
    const layout = binding.ringLayout(kind);
    const buffer = binding.entryRing(kind);
    this.positions = new Int32Array(buffer, 0, layout.entriesAt / 4);
    this.writeAt = layout.writePositionAt / 4;
    this.readAt = layout.readPositionAt / 4;
    this.wakeAt = layout.wakeAt / 4;
    // A recycled ring goes on from where the environment before left it (drained).
    this.write = Atomics.load(this.positions, this.writeAt);
    this.published = this.write;
    this.read = Atomics.load(this.positions, this.readAt);
    this.mask = layout.entries - 1;
    // A quarter of the ring, but 512 entries at least: a request that wakes the
    // draining thread costs this thread about 10 µs, 20 ns an entry when spread over 512.
    this.requestEvery = Math.max(layout.entries >> 2, 512);
    this.entryBytes = layout.entryBytes;
    this.entriesAt = layout.entriesAt;
    this.f64 = new Float64Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.u8 = new Uint8Array(buffer);
  }

  /** The byte offset of the next entry; if the ring is full, a pass of it is drained here first. */
  next(): number {
    this.makeRoom(1);
    return this.entriesAt + (this.write & this.mask) * this.entryBytes;
  }

  /**
   * Makes room for `count` more entries (at most a drain pass, 256): if the ring looks
   * full, its read position is loaded again, and if it is full, a pass of it is drained
   * here.
   */
  private makeRoom(count: number): void {
    if (((this.write + count - 1 - this.read) | 0) <= this.mask) return;
    this.read = Atomics.load(this.positions, this.readAt);
    if (((this.write + count - 1 - this.read) | 0) <= this.mask) return;
    binding.drainEntryRing(this.kind);
    this.read = Atomics.load(this.positions, this.readAt);
  }

  /** Publishes the entry `next()` gave, with any written before it. */
  publish(): void {
    this.write = (this.write + 1) | 0;
    this.publishWritten();
  }

  /**
   * Writes the first `count` entries of `staged` (this ring's entries, laid out as its
   * own) after those written, without publishing them; if the ring has no room for
   * them, a pass of it is drained here first.
   */
  copyIn(staged: Float64Array, count: number): void {
    this.makeRoom(count);
    const perEntry = this.entryBytes >> 3;
    const first = this.write & this.mask;
    const at = (this.entriesAt >> 3) + first * perEntry;
    const fitting = Math.min(count, this.mask + 1 - first);
    this.f64.set(fitting === staged.length / perEntry ? staged : staged.subarray(0, fitting * perEntry), at);
    // The rest, past the end of the ring, from its start.
    if (fitting < count) this.f64.set(staged.subarray(fitting * perEntry, count * perEntry), this.entriesAt >> 3);
    this.write = (this.write + count) | 0;
  }

  /**
   * Publishes the entries written so far to whichever thread drains. The engine's
   * thread is asked to drain when it sleeps (its wake word is set: see rings.rs) and
   * each time another `requestEvery` entries have filled, so a busy thread seldom finds
   * its ring full and has to drain it itself. The wake word is read with a plain load
   * (an `Atomics.load` cost 7 ns here): where one could be ordered before the store
   * above, a word set just then is missed, and the entry waits for the engine's next
   * look, a second at most.
   */
  publishWritten(): void {
    const from = this.published;
    if (from === this.write) return;
    this.published = this.write;
    Atomics.store(this.positions, this.writeAt, this.write);
    if (this.positions[this.wakeAt] !== 0) {
      Atomics.store(this.positions, this.wakeAt, 0);
      binding.requestRingDrain();
    } else if (((from ^ this.write) & -this.requestEvery) !== 0) {
      // The write position passed a multiple of `requestEvery` (several entries may be published at once).
      binding.requestRingDrain();
    }
  }
}

/** Observation entries are published in batches of this many, or when the turn of the event loop ends. */
const PUBLISH_BATCH = 16;
let turnEnd: ReturnType<typeof setImmediate> | undefined;

let observations: EntryRing | undefined;
let exemplars: EntryRing | undefined;
let registrations: EntryRing | undefined;

/**
 * Writes `texts` from byte `at` of an entry ending at `end`, each as a byte length and
 * its bytes; returns false if they do not fit or one is not ASCII.
 */
function writeTexts(bytes: Uint8Array, at: number, end: number, texts: readonly string[]): boolean {
  let to = at;
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i];
    if (text.length > 255 || to + 1 + text.length > end) return false;
    bytes[to++] = text.length;
    for (let c = 0; c < text.length; c++) {
      const code = text.charCodeAt(c);
      if (code >= 0x80) return false;
      bytes[to++] = code;
    }
  }
  return true;
}

/**
 * This environment's summary observations not yet in its ring, laid out as the ring's
 * entries (rings.rs' OBSERVATIONS: the value f64 at byte 0, the series' first slot u32
 * at byte 8, 16 bytes each). Writing each into the ring's memory, which the draining
 * thread reads from another core, cost more than one copy of a batch: `summary.observe()`
 * took 38.8 ns instead of 32.1 in bench:peers' case on Node 26 (medians of 6
 * alternating runs), 33.1 instead of 31.2 in a loop of it (34.3 and 32.0 on Node 20).
 */
const staged = new Float64Array(2 * PUBLISH_BATCH);
const stagedSlots = new Uint32Array(staged.buffer);
let stagedCount = 0;

/**
 * Records an observation of the summary series at `slot` (JS has counted it in the
 * series' slots first) for the engine's quantile window: two stores here, then every
 * `PUBLISH_BATCH` observations one copy into this environment's ring and its
 * publication. The rest are handed over by `publishObservations()`: when this turn of
 * the event loop ends (an immediate, which also runs before a thread whose script is
 * done exits), or before a read or a reset made from this thread.
 */
export function recordObservation(slot: number, value: number): void {
  if (clockReplaced()) {
    recordOnReplacedClock(slot, value);
    return;
  }
  const at = stagedCount;
  staged[at * 2] = value;
  stagedSlots[at * 4 + 2] = slot;
  stagedCount = at + 1;
  // A full batch leaves the turn's immediate be: clearing and setting one again every
  // batch cost as much as the copy saves.
  if (stagedCount === PUBLISH_BATCH) handOverStaged();
  else if (turnEnd === undefined) turnEnd = setImmediate(publishObservations);
}

/**
 * An observation under a replaced `Date.now` (a test's fake timers): the engine is
 * told the time first (clock.ts), so it is published at once, to be applied at it.
 */
function recordOnReplacedClock(slot: number, value: number): void {
  publishObservations();
  followClock();
  staged[0] = value;
  stagedSlots[2] = slot;
  stagedCount = 1;
  handOverStaged();
}

/** Copies the staged observations into this environment's ring, and publishes them. */
function handOverStaged(): void {
  observations ??= new EntryRing(RingKind.Observations);
  observations.copyIn(staged, stagedCount);
  stagedCount = 0;
  observations.publishWritten();
}

/** Hands this environment's summary observations not yet published to the engine. */
export function publishObservations(): void {
  clearImmediate(turnEnd);
  turnEnd = undefined;
  if (stagedCount > 0) handOverStaged();
}

// An exemplar entry's layout (rings.rs' EXEMPLARS).
const EXEMPLAR_LABELS_AT = 18;

/**
 * Appends an exemplar to this environment's ring: `labels` are names and values in
 * turn, checked already; the engine stamps it when it takes it in. Returns false, with
 * nothing published, if they do not fit in an entry (longer than 255 bytes each, or
 * about 230 together) or are not ASCII: the caller sets it by a native call instead.
 */
export function recordExemplar(metric: number, slot: number, labels: readonly string[], value: number): boolean {
  exemplars ??= new EntryRing(RingKind.Exemplars);
  const ring = exemplars;
  const at = ring.next();
  const bytes = ring.u8;
  if (!writeTexts(bytes, at + EXEMPLAR_LABELS_AT, at + ring.entryBytes, labels)) return false;
  ring.f64[at >> 3] = value;
  ring.u32[(at >> 2) + 2] = metric;
  ring.u32[(at >> 2) + 3] = slot;
  bytes[at + 17] = labels.length;
  ring.publish();
  return true;
}

// A registration entry's layout (rings.rs' REGISTRATIONS).
const REGISTRATION_VALUES_AT = 16;

/**
 * Appends a new label set of `metric`, counted at `slot` of the lease from `lease`, for
 * the engine to register (registry/leases.rs), which stamps its creation. Returns
 * false, with nothing published, if its values do not fit in an entry (longer than 255
 * bytes each, or about 230 together) or are not ASCII: the caller registers it by a
 * native call instead.
 */
export function recordRegistration(metric: number, slot: number, lease: number, values: readonly string[]): boolean {
  registrations ??= new EntryRing(RingKind.Registrations);
  const ring = registrations;
  const at = ring.next();
  if (!writeTexts(ring.u8, at + REGISTRATION_VALUES_AT, at + ring.entryBytes, values)) return false;
  const word = at >> 2;
  ring.u32[word] = metric;
  ring.u32[word + 1] = slot;
  ring.u32[word + 2] = lease;
  ring.u8[at + 12] = values.length;
  ring.publish();
  return true;
}
