/**
 * `import 'slotmetrics/otel/register'` (or `require`, or `node --import`): a
 * MeterProvider over the default registry becomes OpenTelemetry's global one, so every
 * instrumentation that asks `metrics.getMeter()` afterwards records into slot memory.
 * The API has no proxy for metrics: a meter obtained before this runs stays a no-op,
 * so load it first.
 *
 * @module slotmetrics/otel/register
 */

import { metrics } from '@opentelemetry/api';
import { MeterProvider } from './meterProvider';

/** The provider this entry registered. */
export const meterProvider = new MeterProvider();

if (!metrics.setGlobalMeterProvider(meterProvider)) {
  process.emitWarning('slotmetrics/otel/register: another global MeterProvider was registered first; it stays the global one', {
    code: 'SLOTMETRICS_OTEL',
  });
}
