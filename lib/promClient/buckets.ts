// prom-client's bucket generators.

/**
 * `count` bucket bounds from `start`, `width` apart.
 *
 * @example
 * ```js
 * linearBuckets(0.1, 0.1, 3); // [0.1, 0.2, 0.30000000000000004]
 * ```
 */
export function linearBuckets(start: number, width: number, count: number): number[] {
  if (count < 1) throw new Error('Linear buckets needs a positive count');
  return Array.from({ length: count }, (_, i) => start + i * width);
}

/**
 * `count` bucket bounds from `start`, each `factor` times the one before.
 *
 * @example
 * ```js
 * exponentialBuckets(0.001, 10, 4); // [0.001, 0.01, 0.1, 1]
 * ```
 */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (start <= 0) throw new Error('Exponential buckets needs a positive start');
  if (count < 1) throw new Error('Exponential buckets needs a positive count');
  if (factor <= 1) throw new Error('Exponential buckets needs a factor greater than 1');
  const buckets = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    buckets[i] = start;
    start *= factor;
  }
  return buckets;
}
