// What an update with wrong labels, and a prom-client metric constructed twice, do:
// throw, the default as in prom-client, or, for services that must never fail on a
// label, drop-and-count and get-or-create. The setting lives in the addon, so every
// worker thread of the process follows the one call.

import { binding, callNative } from '../base/native';
import { describeValue } from '../base/validate';

/** What updates with wrong labels and repeated prom-client constructors do, process-wide. */
export interface ErrorPolicy {
  /**
   * `'throw'` (default): an update with an unknown or missing label (or, through
   * `with()`, a label value of the wrong type) throws. `'drop'`: it records nothing,
   * counts one in `slotmetrics_invalid_labels_total{metric}` and emits a warning
   * (`SLOTMETRICS_INVALID_LABELS`) once per metric and thread. `remove()` and `zero()`
   * keep throwing: they are not on a request's path.
   */
  invalidLabels?: 'throw' | 'drop';
  /**
   * slotmetrics/prom-client: `'throw'` (default): constructing a metric whose name is
   * registered already throws, as prom-client does. `'reuse'`: it gives the registered
   * metric if the definition is the same (a different one still throws, naming what
   * differs).
   */
  duplicateMetrics?: 'throw' | 'reuse';
}

function choice<T extends string>(what: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined || allowed.includes(value as T)) return value as T | undefined;
  throw new TypeError(`setErrorPolicy(): ${what} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describeValue(value)}`);
}

/**
 * Sets the process's error policy; a field left out keeps its current setting.
 *
 * @example
 * ```js
 * setErrorPolicy({ invalidLabels: 'drop' }); // a wrong label never fails a request
 * ```
 */
export function setErrorPolicy(policy: ErrorPolicy): void {
  if (policy === null || typeof policy !== 'object') {
    throw new TypeError(`setErrorPolicy() takes { invalidLabels, duplicateMetrics }, got ${describeValue(policy)}`);
  }
  const unknown = Object.keys(policy).filter((key) => key !== 'invalidLabels' && key !== 'duplicateMetrics');
  if (unknown.length > 0) throw new TypeError(`setErrorPolicy(): unknown option "${unknown[0]}" (known: invalidLabels, duplicateMetrics)`);
  const invalidLabels = choice('invalidLabels', policy.invalidLabels, ['throw', 'drop'] as const);
  const duplicateMetrics = choice('duplicateMetrics', policy.duplicateMetrics, ['throw', 'reuse'] as const);
  const current = binding.errorPolicy();
  callNative(() =>
    binding.setErrorPolicy({
      dropInvalidLabels: invalidLabels === undefined ? current.dropInvalidLabels : invalidLabels === 'drop',
      reuseDuplicateMetrics: duplicateMetrics === undefined ? current.reuseDuplicateMetrics : duplicateMetrics === 'reuse',
    }),
  );
}

/** The process's error policy, every field given. */
export function errorPolicy(): Required<ErrorPolicy> {
  const { dropInvalidLabels, reuseDuplicateMetrics } = binding.errorPolicy();
  return { invalidLabels: dropInvalidLabels ? 'drop' : 'throw', duplicateMetrics: reuseDuplicateMetrics ? 'reuse' : 'throw' };
}
