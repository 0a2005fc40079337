// A serverless function (AWS Lambda's handler shape; Google Cloud Functions and Azure
// Functions alike) that pushes its metrics over OTLP. A frozen instance runs no timers,
// so each invocation flushes before it returns; delta temporality sends what changed,
// and the instance's random service.instance.id keeps instances apart.
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 OTEL_SERVICE_NAME=checkout
import { counterSchema, exportOtlp, histogramSchema } from 'slotmetrics';

const invocations = counterSchema('checkout_invocations_total').help('Invocations').requireDynamicKey('outcome').build();
const duration = histogramSchema('checkout_duration_seconds').help('Time per invocation').build();
const exporter = exportOtlp({ temporality: 'delta', intervalMs: 60_000 });

export async function handler(event) {
  const stop = duration.startTimer();
  try {
    const total = (event.items ?? []).reduce((sum, item) => sum + item.price * item.quantity, 0);
    invocations.with({ outcome: 'ok' }).increment();
    return { statusCode: 200, body: JSON.stringify({ total }) };
  } catch (error) {
    invocations.with({ outcome: 'error' }).increment();
    throw error;
  } finally {
    stop();
    await exporter.flush();
  }
}
