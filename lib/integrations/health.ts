// Readiness checks for the Rust server's /health/ready.

import type { FloatGauge } from '../metrics/gauge';
import { binding } from '../base/native';
import { gaugeSchemaFloat, type MetricFamily } from '../metrics/schema';
import { describeValue } from '../base/validate';

let readiness: MetricFamily<'check', FloatGauge> | undefined;

/**
 * Named readiness checks: `/health/ready` answers 200 only while every one is true.
 * Each is also the gauge `health_ready{check}` (1 or 0), so alerts can see it.
 */
export const health = {
  /** Sets the readiness check `name`: `/health/ready` answers 200 only while every check is true. */
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
