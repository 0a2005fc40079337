// Samples from the engine in prom-client's shape.

import type { MetricJSON } from '../registry';

/**
 * A sample's value, labels and (for a histogram's or a summary's) name; `le` is a
 * number but for `+Inf`, `quantile` a number, and first as prom-client has it.
 */
export interface PromClientSample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export function promClientSample(sample: MetricJSON['values'][number]): PromClientSample {
  const { le, quantile, ...labels } = sample.labels;
  const converted: PromClientSample = {
    value: sample.value,
    labels:
      le !== undefined ? { ...labels, le: le === '+Inf' ? le : Number(le) } : quantile !== undefined ? { quantile: Number(quantile), ...labels } : labels,
  };
  if (sample.metricName !== undefined) converted.metricName = sample.metricName;
  return converted;
}
