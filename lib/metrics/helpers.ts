// `metrics.*`: record a metric by name, without defining a schema first (seed 000).
// Each name is built into a schema on its first use in a thread; later calls find it
// in a per-thread Map and go through the same compiled with() as the schema API.

import type { Counter } from './counter';
import type { FloatGauge } from './gauge';
import type { Histogram } from './histogram';
import { checkOptions, describeValue, isPlainObject } from '../base/validate';
import { registry } from '../exposition/registry';
import { counterSchema, gaugeSchemaFloat, histogramSchema, type MetricFamily, type MetricSchema } from './schema';

/** The buckets of `metrics.histogram()`, in seconds (seed 000). */
export const HELPER_BUCKETS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** Labels of a helper call: a plain object; numbers and booleans become strings. */
export type HelperLabels = Readonly<Record<string, string | number | boolean>>;

type HelperType = 'counter' | 'gauge' | 'histogram';

interface HandleOfHelper {
  counter: Counter;
  gauge: FloatGauge;
  histogram: Histogram;
}

/** How a name was first used, and what serves it. */
interface Entry<T extends HelperType = HelperType> {
  readonly type: T;
  readonly method: string;
  /** The metric's handle when it has no labels; else its family. */
  readonly handle: HandleOfHelper[T] | undefined;
  readonly family: MetricFamily<string, HandleOfHelper[T]> | undefined;
}

const METHOD: Record<HelperType, string> = { counter: 'increment', gauge: 'gauge', histogram: 'histogram' };

/** `metrics.configure()`'s options. */
export interface HelperOptions {
  /** Put before every name: default `'js_user_'`; `''` for none. Applies in this thread. */
  prefix?: string;
}

/** The `metrics` helpers of one JS thread. */
class MetricsHelpers {
  private prefix = 'js_user_';
  private readonly entries = new Map<string, Entry>();

  constructor() {
    // The metrics used so far are gone with a clear(): the next use defines them again.
    registry.onClear(() => this.entries.clear());
  }

  /** Sets this thread's options; names already used keep their metrics. */
  configure(options: HelperOptions): void {
    checkOptions('metrics.configure()', options, ['prefix']);
    if (options.prefix !== undefined) {
      if (typeof options.prefix !== 'string') {
        throw new TypeError(`metrics.configure(): prefix must be a string, got ${describeValue(options.prefix)}`);
      }
      this.prefix = options.prefix;
      this.entries.clear();
    }
  }

  /** Adds 1 to the counter `<prefix><name>_total` (`_total` is not doubled). */
  increment(name: string, labels?: HelperLabels): void {
    this.handle('counter', name, labels).increment();
  }

  /** Adds `value` (finite, >= 0) to the counter `<prefix><name>_total`. */
  add(name: string, value: number, labels?: HelperLabels): void {
    this.handle('counter', name, labels).add(value);
  }

  /** Sets the gauge `<prefix><name>` to `value`. */
  gauge(name: string, value: number, labels?: HelperLabels): void {
    this.handle('gauge', name, labels).set(value);
  }

  /** Observes `value` in the histogram `<prefix><name>` (buckets: HELPER_BUCKETS). */
  histogram(name: string, value: number, labels?: HelperLabels): void {
    this.handle('histogram', name, labels).observe(value);
  }

  private handle<T extends HelperType>(type: T, name: string, labels: HelperLabels | undefined): HandleOfHelper[T] {
    const entry = this.entries.get(name) as Entry<T> | undefined;
    if (entry !== undefined && entry.type === type) {
      if (labels === undefined) {
        if (entry.handle !== undefined) return entry.handle;
      } else if (entry.family !== undefined) {
        return entry.family.with(labels as Record<string, string>);
      }
    }
    return this.firstUse(type, name, labels);
  }

  /** Everything but the hot path: checks, conflicts, and building the metric. */
  private firstUse<T extends HelperType>(type: T, name: string, labels: HelperLabels | undefined): HandleOfHelper[T] {
    const method = `metrics.${METHOD[type]}()`;
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`${method} takes a metric name (a non-empty string), got ${describeValue(name)}`);
    }
    if (labels !== undefined && !isPlainObject(labels)) {
      throw new TypeError(`${method} "${name}": labels must be a plain object, got ${describeValue(labels)}`);
    }
    const keys = labels === undefined ? [] : Object.keys(labels).sort();
    const used = this.entries.get(name);
    if (used !== undefined) {
      if (used.type !== type) {
        throw new TypeError(`metric "${name}" was first used with metrics.${used.method}() as a ${used.type}; ${method} cannot record it`);
      }
      // `{}` on a metric without labels is the same as no labels.
      if (used.handle !== undefined && keys.length === 0) return used.handle as HandleOfHelper[T];
      const usedKeys = used.family === undefined ? [] : [...used.family.dynamicKeys].sort();
      throw new TypeError(`${method} "${name}": labels {${keys.join(', ')}} differ from its first use's {${usedKeys.join(', ')}}`);
    }
    const entry = this.build(type, name, keys);
    this.entries.set(name, entry);
    return entry.handle ?? entry.family!.with((labels ?? {}) as Record<string, string>);
  }

  private build<T extends HelperType>(type: T, name: string, keys: readonly string[]): Entry<T> {
    const method = METHOD[type];
    const full = this.prefix + name;
    let schema: MetricSchema<'counter' | 'gaugeFloat' | 'histogram', string> =
      type === 'counter' ? counterSchema(full) : type === 'gauge' ? gaugeSchemaFloat(full) : histogramSchema(full).buckets(HELPER_BUCKETS);
    schema = schema.help(`Recorded with metrics.${method}()`);
    for (const key of keys) schema = schema.requireDynamicKey(key);
    let built: unknown;
    try {
      built = schema.build();
    } catch (error) {
      // Another thread used the name first with another type or other labels.
      throw error instanceof TypeError ? error : new TypeError((error as Error).message);
    }
    return keys.length === 0
      ? { type, method, handle: built as HandleOfHelper[T], family: undefined }
      : { type, method, handle: undefined, family: built as MetricFamily<string, HandleOfHelper[T]> };
  }
}

/**
 * Metrics by name, without a schema: `metrics.increment('api_requests', { method: 'POST' })`
 * counts `js_user_api_requests_total{method="POST"}`. A name's first use fixes its type and
 * label keys (in every thread); a later call with another type or other keys is a TypeError.
 *
 * @example
 * ```js
 * metrics.increment('api_requests', { method: 'POST' }); // js_user_api_requests_total
 * metrics.gauge('queue_size', 42);
 * ```
 */
export const metrics = new MetricsHelpers();
export type { MetricsHelpers };
