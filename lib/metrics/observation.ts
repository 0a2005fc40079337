// What histogram and summary handles share: the error of a refused observation and
// timers that observe elapsed seconds.

import { describeValue } from '../base/validate';

/** The error of an observation that is not a finite number; nothing is recorded. */
export function observationError(kind: 'histogram' | 'summary', metric: string, value: unknown): Error {
  if (typeof value !== 'number') {
    return new TypeError(`${kind} "${metric}" observe() takes a number, got ${describeValue(value)}`);
  }
  return new RangeError(`${kind} "${metric}" observe() takes a finite number, got ${value}; nothing was recorded`);
}

/** Starts timing; the returned function observes the elapsed seconds and returns them. */
export function secondsTimer(observe: (seconds: number) => void): () => number {
  const start = performance.now();
  return () => {
    const seconds = (performance.now() - start) / 1000;
    observe(seconds);
    return seconds;
  };
}
