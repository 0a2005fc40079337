// prom-client's name and label checks, with its messages.

import { inspect } from 'node:util';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Whether `name` is a legacy metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export function validateMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** Whether every one of `names` is a label name: `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function validateLabelName(names: readonly string[] = []): boolean {
  return invalidLabelNames(names).length === 0;
}

/** The names among `names` that are not label names. */
export function invalidLabelNames(names: readonly string[]): string[] {
  return names.filter((name) => !LABEL_NAME.test(name));
}

/** How a metric's constructor words a bad metric name, and bad label names. */
export interface NameErrors {
  metricName(name: string): string;
  labelNames(invalid: readonly string[]): string;
}

/** prom-client 15's words. */
export const PROM_CLIENT_NAME_ERRORS: NameErrors = {
  metricName: () => 'Invalid metric name',
  labelNames: () => 'Invalid label name',
};

/** @prometheus-io/client 0.16's words. */
export const CLIENT_NAME_ERRORS: NameErrors = {
  metricName: (name) => `Invalid metric name: ${name}`,
  labelNames: (invalid) => `At least one label name is invalid: ${invalid.join(',')}`,
};

/**
 * Default-metric labels with prom-client's number values written as their text. What
 * is not an object of strings then is passed on as it is, for the check that names it.
 */
export function labelTexts(labels: unknown): Readonly<Record<string, string>> | undefined {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) return labels as undefined;
  return Object.fromEntries(Object.entries(labels).map(([name, value]) => [name, typeof value === 'number' ? String(value) : value]));
}

/** Throws prom-client's Error for a label that is not one of the metric's. */
export function validateLabel(labelNames: readonly string[], labels: object): void {
  for (const label in labels) {
    if (!labelNames.includes(label)) {
      throw new Error(`Added label "${label}" is not included in initial labelset: ${inspect(labelNames)}`);
    }
  }
}
