// How exemplars reach the engine from this environment. A series (a histogram bucket)
// shows only its last exemplar, and copying an exemplar's labels into a ring entry
// cost more than the rest of an update (about 60 ns of 150 on Node 26). So the first
// exemplar of a target in a turn of the event loop is set at once (setExemplar: the
// ring of exemplars, or a native call); the later ones of that turn only replace the
// one kept for it here, a lookup and a store, and the last is set when the turn ends
// (an immediate), or before a read or a reset made from this thread (pending.ts). A
// read from elsewhere (the Rust server, another thread) sees a series' first exemplar
// of the turn at once and its last once the turn has ended. An exemplar valued at its
// counter's total is set by a native call at once, which reads the total then.

import { followClock } from './clock';
import { setExemplar } from './native';

/** An exemplar as `setExemplar()` takes it. */
interface Kept {
  metric: number;
  slot: number;
  /** Names and values in turn. */
  labels: readonly string[];
  value: number;
}

/**
 * The targets given an exemplar this turn (a counter series' slot, or a histogram
 * series' slot plus its bucket's index), each with the exemplar to set when it ends:
 * null when the last one given is set already.
 */
const turn = new Map<number, Kept | null>();
let turnEnd: ReturnType<typeof setImmediate> | undefined;

/**
 * Sets the exemplar of `target` now, or at the end of this turn if it has one from
 * this turn already (see above); one valued at the series' total (`atTotal`,
 * @prometheus-io/client 0.16's counters) always now. `labels`, names and values in
 * turn and checked, are kept as they are: the caller does not change them after. The
 * rest as `setExemplar()`.
 */
export function setExemplarOf(target: number, metric: number, slot: number, labels: readonly string[], value: number, atTotal: boolean): void {
  // Stamped with a replaced clock's time (a test's fake timers), as prom-client stamps it.
  followClock();
  // Valued at the series' total now: set at once, not at the end of the turn.
  if (atTotal) {
    setExemplar(metric, slot, labels, value, true);
    return;
  }
  const kept = turn.get(target);
  if (kept === undefined) {
    setExemplar(metric, slot, labels, value);
    // An immediate runs before a thread whose script is done exits.
    if (turn.size === 0) turnEnd = setImmediate(flushExemplars);
    turn.set(target, null);
  } else if (kept === null) {
    turn.set(target, { metric, slot, labels, value });
  } else {
    kept.metric = metric;
    kept.slot = slot;
    kept.labels = labels;
    kept.value = value;
  }
}

/** Sets the kept exemplars: when the turn ends, or before a read or a reset. */
export function flushExemplars(): void {
  if (turn.size === 0) return;
  clearImmediate(turnEnd);
  for (const kept of turn.values()) {
    if (kept === null) continue;
    try {
      setExemplar(kept.metric, kept.slot, kept.labels, kept.value);
    } catch {
      // Its metric is gone (another thread cleared its registry meanwhile), and so is its series.
    }
  }
  turn.clear();
}
