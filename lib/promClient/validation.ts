// prom-client's name and label checks, with its messages.

import { inspect } from 'node:util';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function validateMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

export function validateLabelName(names: readonly string[] = []): boolean {
  return names.every((name) => LABEL_NAME.test(name));
}

/** Throws prom-client's Error for a label that is not one of the metric's. */
export function validateLabel(labelNames: readonly string[], labels: object): void {
  for (const label in labels) {
    if (!labelNames.includes(label)) {
      throw new Error(`Added label "${label}" is not included in initial labelset: ${inspect(labelNames)}`);
    }
  }
}
