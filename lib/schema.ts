// Schema builders: describe a metric, then build() it into handles.

import { Counter } from './counter';
import { FloatGauge, Gauge } from './gauge';
import { DEFAULT_BUCKETS, Histogram } from './histogram';
import { type Labels, SeriesCache } from './labels';
import { describeValue } from './validate';
import { binding, callNative, sharedFloatCell, sharedIntCell, stripeCell } from './native';
import { MetricKind } from '../index.js';

export type MetricType = 'counter' | 'gauge' | 'gaugeFloat' | 'histogram';

/** The handle type of each metric type: what `with()` returns. */
export interface HandleOf {
  counter: Counter;
  gauge: Gauge;
  gaugeFloat: FloatGauge;
  histogram: Histogram;
}

/** A metric with dynamic keys K: `with(labels)` gives the handle of that label set. */
export class MetricFamily<K extends string, H> {
  /**
   * The handle for this label set, registered on first use and cached: keep it and
   * call it directly on hot paths. Every dynamic key is required and no other key is
   * allowed; values are strings (numbers and booleans are converted).
   */
  // The compiled lookup itself, not a method calling it: one call less per with().
  readonly with: (labels: Labels<K>) => H;

  /** @internal */
  constructor(
    readonly name: string,
    readonly dynamicKeys: readonly K[],
    createHandle: (labelValues: string[]) => H,
  ) {
    this.with = new SeriesCache(name, dynamicKeys, createHandle).get;
  }
}

export type CounterFamily<K extends string> = MetricFamily<K, Counter>;
export type GaugeFamily<K extends string> = MetricFamily<K, Gauge>;
export type FloatGaugeFamily<K extends string> = MetricFamily<K, FloatGauge>;
export type HistogramFamily<K extends string> = MetricFamily<K, Histogram>;

/** What `build()` gives: the handle itself when there are no dynamic keys, else a family. */
export type Built<T extends MetricType, K extends string> = [K] extends [never]
  ? HandleOf[T]
  : MetricFamily<K, HandleOf[T]>;

interface Spec {
  readonly name: string;
  readonly help: string;
  readonly staticLabels: readonly { name: string; value: string }[];
  readonly dynamicKeys: readonly string[];
  readonly buckets: readonly number[];
}

const NATIVE_KIND: Record<MetricType, MetricKind> = {
  counter: MetricKind.Counter,
  gauge: MetricKind.Gauge,
  gaugeFloat: MetricKind.GaugeFloat,
  histogram: MetricKind.Histogram,
};

// What this environment has built, by metric id: building the same schema twice
// gives the same object, so its label-set cache is shared.
const builtMetrics = new Map<number, unknown>();

function requireString(what: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${describeValue(value)}`);
  return value;
}

/**
 * An immutable description of a metric: every method returns a new schema, so a
 * partial schema can be shared and extended. `K` is the union of its dynamic keys.
 */
export class MetricSchema<T extends MetricType, K extends string = never> {
  /** @internal */
  constructor(
    readonly type: T,
    private readonly spec: Spec,
  ) {}

  private extend(change: Partial<Spec>): MetricSchema<T, K> {
    return new MetricSchema(this.type, { ...this.spec, ...change });
  }

  /** The HELP text of the exposition. */
  help(text: string): MetricSchema<T, K> {
    return this.extend({ help: requireString(`help of metric "${this.spec.name}"`, text) });
  }

  /** A label with the same value on every series of this metric. */
  staticLabel(name: string, value: string): MetricSchema<T, K> {
    const what = `static label of metric "${this.spec.name}"`;
    const label = { name: requireString(`${what}: name`, name), value: requireString(`${what} "${name}": value`, value) };
    return this.extend({ staticLabels: [...this.spec.staticLabels, label] });
  }

  /** `staticLabel(name, value)` for each entry of `labels`. */
  staticLabels(labels: Readonly<Record<string, string>>): MetricSchema<T, K> {
    return Object.entries(labels).reduce<MetricSchema<T, K>>((schema, [name, value]) => schema.staticLabel(name, value), this);
  }

  /** A label that every `with()` call must give a value for. */
  requireDynamicKey<N extends string>(name: N): MetricSchema<T, K | N> {
    const key = requireString(`dynamic key of metric "${this.spec.name}"`, name);
    return this.extend({ dynamicKeys: [...this.spec.dynamicKeys, key] }) as MetricSchema<T, K | N>;
  }

  /** Histogram bucket upper bounds, increasing; `+Inf` is always added. */
  buckets(this: MetricSchema<'histogram', K>, bounds: readonly number[]): MetricSchema<'histogram', K> {
    if (!Array.isArray(bounds) || bounds.some((b) => typeof b !== 'number')) {
      throw new TypeError(`buckets of histogram "${this.spec.name}" must be an array of numbers`);
    }
    const finite = bounds.at(-1) === Infinity ? bounds.slice(0, -1) : [...bounds];
    return this.extend({ buckets: finite });
  }

  /**
   * Registers the metric (in every thread, the same definition is the same metric)
   * and returns its handle, or its family if it has dynamic keys.
   */
  build(): Built<T, K> {
    const { type, spec } = this;
    const id = callNative(() =>
      binding.defineMetric({
        name: spec.name,
        help: spec.help,
        kind: NATIVE_KIND[type],
        staticLabels: [...spec.staticLabels],
        dynamicKeys: [...spec.dynamicKeys],
        buckets: type === 'histogram' ? [...spec.buckets] : undefined,
      }),
    );
    let metric = builtMetrics.get(id);
    if (metric === undefined) {
      const createHandle = handleFactory(type, id, spec);
      metric = spec.dynamicKeys.length === 0 ? createHandle([]) : new MetricFamily(spec.name, spec.dynamicKeys, createHandle);
      builtMetrics.set(id, metric);
    }
    return metric as Built<T, K>;
  }
}

function handleFactory(type: MetricType, id: number, spec: Spec): (labelValues: string[]) => HandleOf[MetricType] {
  const register = (labelValues: string[]) => callNative(() => binding.registerSeries(id, labelValues));
  switch (type) {
    case 'counter':
      return (values) => new Counter(spec.name, stripeCell(register(values)));
    case 'gauge':
      return (values) => new Gauge(spec.name, sharedIntCell(register(values)));
    case 'gaugeFloat':
      return (values) => new FloatGauge(spec.name, sharedFloatCell(register(values)));
    case 'histogram': {
      // A plain array: V8 (Node 20) reads frozen arrays' elements about 5x slower.
      const bounds = [...spec.buckets];
      return (values) => new Histogram(spec.name, bounds, stripeCell(register(values)));
    }
  }
}

function schema<T extends MetricType>(type: T, name: string, buckets: readonly number[] = []): MetricSchema<T> {
  return new MetricSchema(type, {
    name: requireString('metric name', name),
    help: '',
    staticLabels: [],
    dynamicKeys: [],
    buckets,
  });
}

/** A counter: a value that only goes up. Exposed as `<name>_total` (added if missing). */
export function counterSchema(name: string): MetricSchema<'counter'> {
  return schema('counter', name);
}

/** An integer gauge, exact to 2^63: takes numbers (integers) and bigints. */
export function gaugeSchema(name: string): MetricSchema<'gauge'> {
  return schema('gauge', name);
}

/** A float gauge. */
export function gaugeSchemaFloat(name: string): MetricSchema<'gaugeFloat'> {
  return schema('gaugeFloat', name);
}

/** A histogram, with prom-client's default buckets unless `.buckets()` is given. */
export function histogramSchema(name: string): MetricSchema<'histogram'> {
  return schema('histogram', name, DEFAULT_BUCKETS);
}
