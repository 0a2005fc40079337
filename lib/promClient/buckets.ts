// prom-client's bucket generators.

export function linearBuckets(start: number, width: number, count: number): number[] {
  if (count < 1) throw new Error('Linear buckets needs a positive count');
  return Array.from({ length: count }, (_, i) => start + i * width);
}

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
