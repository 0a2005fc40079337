// How exemplars reach the engine from this environment. A series (a histogram bucket)
// shows only its last exemplar, and copying an exemplar's labels into a ring entry
// cost more than the rest of an update (about 60 ns of 150 on Node 26). So the first
// exemplar of a target in a 10 ms period is set at once (setExemplar: the ring of
// exemplars, or a native call); the later ones of that period only replace the one
// kept for it here, a lookup and a store, and the last is set when the period ends.
// Reads and resets made from this thread set the kept ones first (pending.ts);
// any other read sees a series' exemplar at most one period behind its last update.

import { setExemplar } from './native';

/** How long a target's later exemplars are kept before the last one is set, in ms. */
const PERIOD_MS = 10;

/** An exemplar as `setExemplar()` takes it. */
interface Kept {
  metric: number;
  slot: number;
  /** Names and values in turn. */
  labels: readonly string[];
  value: number;
  atTotal: boolean;
}

/**
 * The targets given an exemplar this period (a counter series' slot, or a histogram
 * series' slot plus its bucket's index), each with the exemplar to set when it ends:
 * null when the last one given is set already.
 */
const period = new Map<number, Kept | null>();
let timer: ReturnType<typeof setTimeout> | undefined;

/**
 * Sets the exemplar of `target` now, or at the end of this period if it has one from
 * this period already (see above). `labels`, names and values in turn and checked, are
 * kept as they are: the caller does not change them after. The rest as `setExemplar()`.
 */
export function setExemplarOf(target: number, metric: number, slot: number, labels: readonly string[], value: number, atTotal: boolean): void {
  const kept = period.get(target);
  if (kept === undefined) {
    setExemplar(metric, slot, labels, value, atTotal);
    // Not unref'd: a thread whose event loop ends (a worker's script done) sets the kept
    // ones before it exits, 10 ms later at most.
    if (period.size === 0) timer = setTimeout(flushExemplars, PERIOD_MS);
    period.set(target, null);
  } else if (kept === null) {
    period.set(target, { metric, slot, labels, value, atTotal });
  } else {
    kept.metric = metric;
    kept.slot = slot;
    kept.labels = labels;
    kept.value = value;
    kept.atTotal = atTotal;
  }
}

/** Sets the kept exemplars and ends the period: before a read or a reset, and on its timer. */
export function flushExemplars(): void {
  if (period.size === 0) return;
  clearTimeout(timer);
  for (const kept of period.values()) {
    if (kept === null) continue;
    try {
      setExemplar(kept.metric, kept.slot, kept.labels, kept.value, kept.atTotal);
    } catch {
      // Its metric is gone (another thread cleared its registry meanwhile), and so is its series.
    }
  }
  period.clear();
}
