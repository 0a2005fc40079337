// Samples from the engine in prom-client's shape.

import type { MetricJSON } from '../registry';

/** A sample's value, labels and (for a histogram's) name; `le` is a number but for `+Inf`. */
export interface PromClientSample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export function promClientSample(sample: MetricJSON['values'][number]): PromClientSample {
  const { le, ...labels } = sample.labels;
  const converted: PromClientSample = {
    value: sample.value,
    labels: le === undefined ? labels : { ...labels, le: le === '+Inf' ? le : Number(le) },
  };
  if (sample.metricName !== undefined) converted.metricName = sample.metricName;
  return converted;
}
