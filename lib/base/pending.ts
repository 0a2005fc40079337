// What this thread has recorded and not yet handed to the engine: the exemplars it
// keeps (exemplars.ts) and the summary observations it has not published yet
// (rings.ts), and the time of a replaced clock (clock.ts). Reads and resets made from
// this thread hand them over first, so that they see every update this thread made
// before them, at the time this thread reads.

import { followClock } from './clock';
import { flushExemplars } from './exemplars';
import { publishObservations } from './rings';

export function flushPendingUpdates(): void {
  flushExemplars();
  publishObservations();
  followClock();
}
