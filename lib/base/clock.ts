// The clock summaries' sliding windows turn on and exemplars are stamped with, as
// prom-client reads it: JavaScript's `Date.now()`. The engine reads the system clock
// (crates/slotmetrics_engine/src/clock.rs), which is the same time, until a test
// replaces `Date.now` (Jest's or Sinon's fake timers, `Date.now = jest.fn(…)`). From
// then on this thread tells the engine the time it reads there at each summary
// observation, exemplar and read, so that windows and exemplars move as the test moves
// that clock; once the real one is back, the engine follows the system clock again.

import { binding } from './binding';

/** Fake timers' `Date` says it is one; a clock faked before this module loaded is never the real one. */
const realNow = (Date as { isFake?: unknown }).isFake === true ? undefined : Date.now;
let following = false;

/** Whether `Date.now` is another clock than the system's: one check, cheap on a hot path. */
export function clockReplaced(): boolean {
  return Date.now !== realNow;
}

/**
 * Tells the engine the time of a replaced clock (what the engine holds is applied at
 * the time told before), or that the system clock is back. Nothing when neither is new.
 */
export function followClock(): void {
  const replaced = Date.now !== realNow;
  if (!replaced && !following) return;
  following = replaced;
  binding.followJsClock(replaced ? Date.now() : undefined);
}
