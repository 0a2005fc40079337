// Readiness checks for the Rust server's /health/ready, and the heartbeat behind
// /health/live.

import type { FloatGauge } from './gauge';
import { binding } from './native';
import { gaugeSchemaFloat, type MetricFamily } from './schema';
import { describeValue } from './validate';

let readiness: MetricFamily<'check', FloatGauge> | undefined;

/**
 * Named readiness checks: `/health/ready` answers 200 only while every one is true.
 * Each is also the gauge `health_ready{check}` (1 or 0), so alerts can see it.
 */
export const health = {
  setReady(name: string, ready: boolean): void {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`health.setReady() takes a check name (a non-empty string), got ${describeValue(name)}`);
    }
    if (typeof ready !== 'boolean') {
      throw new TypeError(`health.setReady("${name}") takes true or false, got ${describeValue(ready)}`);
    }
    binding.setReady(name, ready);
    readiness ??= gaugeSchemaFloat('health_ready')
      .help('Readiness checks set with health.setReady(): 1 ready, 0 not')
      .requireDynamicKey('check')
      .build();
    readiness.with({ check: name }).set(ready ? 1 : 0);
  },
};

/**
 * Beats from this thread every `everyMs` until stopped. The timer does not keep the
 * process alive; when this thread's event loop is blocked, the beats stop and
 * liveness answers 503.
 */
export function startHeartbeat(everyMs: number): () => void {
  binding.healthBeat();
  const timer = setInterval(() => binding.healthBeat(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
