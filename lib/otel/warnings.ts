// The OpenTelemetry API never throws at its caller: what it refuses (a negative
// counter increment, NaN, a conflicting instrument) is dropped with a warning, given
// once per instrument and problem so that a hot path cannot flood the log.

const warned = new Set<string>();

/** Emits `message` as a `SLOTMETRICS_OTEL` warning the first time `key` is seen. */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(message, { code: 'SLOTMETRICS_OTEL' });
}
