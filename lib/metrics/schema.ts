// Schema builders: describe a metric, then build() it into handles.

import { Counter } from './counter';
import { FloatGauge, Gauge } from './gauge';
import { DEFAULT_BUCKETS, Histogram } from './histogram';
import { NATIVE_DEFAULTS, NativeHistogram, type NativeOptions } from './nativeHistogram';
import { DEFAULT_PERCENTILES, Summary } from './summary';
import { type Labels, SeriesCache, type SeriesSource } from './labels';
import { checkOptions, checkStringRecord, describeValue } from '../base/validate';
import { SeriesLease } from '../base/leases';
import { followClock } from '../base/clock';
import { flushPendingUpdates } from '../base/pending';
import {
  binding,
  type Cell,
  callNative,
  floatGaugeCell,
  type GaugeCells,
  intGaugeCell,
  overflowOf,
  registerSeries,
  stripeCell,
  unlabeledMetricIds,
} from '../base/native';
import { type Registry, registryOption } from '../exposition/registry';
import { MetricKind, MultiprocessMode } from '../../index.js';

/** The kinds of metric a schema builds: `gauge` holds an int64, `gaugeFloat` a float64. */
export type MetricType = 'counter' | 'gauge' | 'gaugeFloat' | 'histogram' | 'summary';

/**
 * What a gauge's value is across the processes of a multi-process group
 * (`SLOTMETRICS_MULTIPROCESS_DIR`): `'shared'`, one value for the group (the last set
 * wins); `'livesum'`, each process its own, summed over the live processes; `'max'` /
 * `'min'` / `'average'`, the largest / smallest / mean of the live processes' values;
 * `'omit'`, not exposed in a group at all.
 */
export type GaugeMultiprocessMode = 'shared' | 'livesum' | 'max' | 'min' | 'average' | 'omit';

const NATIVE_MULTIPROCESS: Record<GaugeMultiprocessMode, MultiprocessMode> = {
  shared: MultiprocessMode.Shared,
  livesum: MultiprocessMode.LiveSum,
  max: MultiprocessMode.Max,
  min: MultiprocessMode.Min,
  average: MultiprocessMode.Average,
  omit: MultiprocessMode.Omit,
};

/** The handle type of each metric type: what `with()` returns. */
export interface HandleOf {
  /** A counter series. */
  counter: Counter;
  /** An integer gauge series. */
  gauge: Gauge;
  /** A float gauge series. */
  gaugeFloat: FloatGauge;
  /** A histogram series. */
  histogram: Histogram;
  /** A summary series. */
  summary: Summary;
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
  private readonly cache: SeriesCache<H>;

  /**
   * @internal
   * `source`: the handles of label sets given as values in key order, registered if
   * new, without this family's cache (slotmetrics/prom-client keeps its own).
   */
  constructor(
    /** The metric's name. */
    readonly name: string,
    /** The keys `with()` takes. */
    readonly dynamicKeys: readonly K[],
    private readonly id: number,
    /** @internal */
    readonly source: SeriesSource<H>,
    discard: () => H,
  ) {
    this.cache = new SeriesCache(name, dynamicKeys, source, (error) => {
      dropOrThrow(name, error);
      return discard();
    });
    this.with = this.cache.get;
  }

  /**
   * Removes this label set's series (prom-client's `remove`): it is no longer exposed
   * until it is used again, and then counts from zero. Handles to it stay valid in
   * every thread; an update through one brings the series back. Unknown label sets
   * are ignored.
   */
  remove(labels: Labels<K>): void {
    const values = this.cache.values(labels);
    flushPendingUpdates();
    callNative(() => binding.removeSeries(this.id, values));
    this.cache.forget(values);
  }

  /** Sets this label set's series to zero, registering it if new (prom-client's `zero`). */
  zero(labels: Labels<K>): void {
    const values = this.cache.values(labels);
    flushPendingUpdates();
    callNative(() => binding.zeroSeries(this.id, values));
  }

  /** Removes every series of this metric, or zeroes every series of a summary (prom-client's `reset`). */
  reset(): void {
    flushPendingUpdates();
    callNative(() => binding.resetMetric(this.id));
    this.cache.clear();
  }
}

/** `build()`'s options. */
export interface BuildOptions {
  /** The registry the metric belongs to (default: the default `registry`); its prefix is prepended to the name. */
  registry?: Registry;
}

/** A counter with dynamic keys `K`. */
export type CounterFamily<K extends string> = MetricFamily<K, Counter>;
/** An integer gauge with dynamic keys `K`. */
export type GaugeFamily<K extends string> = MetricFamily<K, Gauge>;
/** A float gauge with dynamic keys `K`. */
export type FloatGaugeFamily<K extends string> = MetricFamily<K, FloatGauge>;
/** A histogram with dynamic keys `K`. */
export type HistogramFamily<K extends string> = MetricFamily<K, Histogram>;
/** A summary with dynamic keys `K`. */
export type SummaryFamily<K extends string> = MetricFamily<K, Summary>;

/** What `build()` gives: the handle itself when there are no dynamic keys, else a family. */
export type Built<T extends MetricType, K extends string> = [K] extends [never] ? HandleOf[T] : MetricFamily<K, HandleOf[T]>;

interface Spec {
  readonly name: string;
  readonly help: string;
  readonly staticLabels: readonly { name: string; value: string }[];
  readonly dynamicKeys: readonly string[];
  /** A histogram's classic buckets; undefined: the default ones, or none if native. */
  readonly buckets?: readonly number[];
  /** A histogram's native buckets, if it has them. */
  readonly native?: Required<NativeOptions>;
  readonly percentiles: readonly number[];
  readonly window?: SummaryWindow;
  /** Undefined: the process default (setCardinalityLimit). */
  readonly maxSeries?: number;
  readonly strict?: boolean;
  /** A gauge's; undefined: 'shared'. */
  readonly multiprocess?: GaugeMultiprocessMode;
  /** Metric and label names may hold any characters. */
  readonly utf8Names?: boolean;
  /** Each series names its own labels (`openKeys()`). */
  readonly openKeys?: boolean;
  /** The OpenTelemetry instrument it records (`instrument()`). */
  readonly instrument?: { readonly name: string; readonly unit: string };
}

const NATIVE_KIND: Record<MetricType, MetricKind> = {
  counter: MetricKind.Counter,
  gauge: MetricKind.Gauge,
  gaugeFloat: MetricKind.GaugeFloat,
  histogram: MetricKind.Histogram,
  summary: MetricKind.Summary,
};

/** A summary's sliding window (see `slidingWindow()`). */
interface SummaryWindow {
  readonly maxAgeSeconds: number;
  readonly ageBuckets: number;
  readonly pruneEmpty: boolean;
}

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
    /** The kind of metric it builds. */
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
    checkStringRecord(`staticLabels() of metric "${this.spec.name}"`, 'labels', labels);
    return Object.entries(labels).reduce<MetricSchema<T, K>>((schema, [name, value]) => schema.staticLabel(name, value), this);
  }

  /** A label that every `with()` call must give a value for. */
  requireDynamicKey<N extends string>(name: N): MetricSchema<T, K | N> {
    const key = requireString(`dynamic key of metric "${this.spec.name}"`, name);
    return this.extend({ dynamicKeys: [...this.spec.dynamicKeys, key] }) as MetricSchema<T, K | N>;
  }

  /**
   * The most label sets this metric may have (default 10,000, or setCardinalityLimit's).
   * Past it, new label sets count in one series whose dynamic labels are all
   * `__overflow__`, a warning is emitted once and `slotmetrics_series_overflow_total`
   * counts them; with `strict: true`, with() throws a RangeError instead.
   */
  cardinalityLimit(maxSeries: number, options: { strict?: boolean } = {}): MetricSchema<T, K> {
    if (!isSeriesLimit(maxSeries)) {
      throw new RangeError(`cardinality limit of metric "${this.spec.name}" must be an integer from 1 to 2^32-1, got ${describeValue(maxSeries)}`);
    }
    checkOptions(`cardinalityLimit() of metric "${this.spec.name}"`, options, ['strict']);
    const strict = options.strict === undefined ? false : options.strict;
    if (typeof strict !== 'boolean') {
      throw new TypeError(`cardinalityLimit() of metric "${this.spec.name}": strict must be true or false, got ${describeValue(strict)}`);
    }
    return this.extend({ maxSeries, strict });
  }

  /**
   * What the gauge's value is across the processes of a multi-process group
   * (`SLOTMETRICS_MULTIPROCESS_DIR`; docs/many-processes.md): `'shared'` (the default),
   * one value for the group, the last set wins wherever it was set; `'livesum'`, each
   * process keeps its own and the group's is their sum over live processes; `'max'`,
   * `'min'` or `'average'`, the largest, smallest or mean of the live processes' values
   * (an integer gauge's mean rounded toward zero); `'omit'`, not exposed in a group (a
   * figure that means nothing for the group, as prom-client's `omit` aggregator). A process that has
   * the series (it called `with()` for it, or built the metric without dynamic keys)
   * counts with 0 until it sets it; a process that exits takes its value with it. A
   * process alone is a group of one: every mode gives the value it set.
   */
  multiprocess<G extends 'gauge' | 'gaugeFloat'>(this: MetricSchema<G, K>, mode: GaugeMultiprocessMode): MetricSchema<G, K> {
    if (typeof mode !== 'string' || !Object.hasOwn(NATIVE_MULTIPROCESS, mode)) {
      throw new TypeError(
        `multiprocess() of gauge "${this.spec.name}" takes ${Object.keys(NATIVE_MULTIPROCESS)
          .map((m) => `'${m}'`)
          .join(', ')}, got ${describeValue(mode)}`,
      );
    }
    return this.extend({ multiprocess: mode });
  }

  /**
   * Lets the metric's name and label names hold any characters (`http.server.duration`,
   * `service.name`), not only `[a-zA-Z_:][a-zA-Z0-9_:]*`: they reach a scraper that
   * negotiated `escaping=allow-utf-8` (Prometheus 3 does) as they are, quoted in text,
   * and any other escaped by the scheme it asked for (`_` for each other character by
   * default).
   */
  utf8Names(): MetricSchema<T, K> {
    return this.extend({ utf8Names: true });
  }

  /**
   * @internal Each series names its own labels, as OpenTelemetry attributes do: the
   * metric has no dynamic keys, and what `define()` builds is its `SeriesSource`, whose
   * `handleOf()` takes a label set as name, value pairs (valid names, each once, in any
   * order).
   */
  openKeys(): MetricSchema<T, K> {
    return this.extend({ openKeys: true });
  }

  /**
   * @internal The OpenTelemetry instrument the metric records: OTLP exports give it this
   * name and unit rather than its Prometheus name's.
   */
  instrument(name: string, unit: string): MetricSchema<T, K> {
    return this.extend({ instrument: { name, unit } });
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
   * Native (exponential) buckets: `bucketFactor` (default 1.1) bounds the ratio of
   * neighbouring boundaries, `zeroThreshold` (default 2^-128) the zero bucket, and
   * `maxBuckets` (default 160) the window of buckets a series counts in per sign; an
   * observation beyond it halves the resolution until the buckets in use fit, as
   * client_golang does. Exposed over protobuf; the text formats give count and sum, or
   * the classic buckets when `.buckets()` gives some too.
   */
  native(this: MetricSchema<'histogram', K>, options: NativeOptions = {}): MetricSchema<'histogram', K> {
    checkOptions(`native() of histogram "${this.spec.name}"`, options, ['bucketFactor', 'zeroThreshold', 'maxBuckets']);
    const native = { ...NATIVE_DEFAULTS, ...options };
    for (const [key, value] of Object.entries(native)) {
      if (typeof value !== 'number') {
        throw new TypeError(`native() of histogram "${this.spec.name}": ${key} must be a number, got ${describeValue(value)}`);
      }
    }
    if (!Number.isInteger(native.maxBuckets)) {
      throw new RangeError(`native() of histogram "${this.spec.name}": maxBuckets must be an integer, got ${native.maxBuckets}`);
    }
    return this.extend({ native });
  }

  /** Summary quantiles, each from 0 to 1, exposed in this order (default: prom-client's). */
  percentiles(this: MetricSchema<'summary', K>, quantiles: readonly number[]): MetricSchema<'summary', K> {
    if (!Array.isArray(quantiles) || quantiles.some((q) => typeof q !== 'number')) {
      throw new TypeError(`percentiles of summary "${this.spec.name}" must be an array of numbers`);
    }
    return this.extend({ percentiles: [...quantiles] });
  }

  /**
   * Summary quantiles over the last `maxAgeSeconds` only, which are forgotten
   * `maxAgeSeconds / ageBuckets` at a time (default: over every observation).
   * `pruneEmpty`: a series with no observation in its window is removed until it
   * observes again (prom-client's `pruneAgedBuckets`).
   */
  slidingWindow(
    this: MetricSchema<'summary', K>,
    maxAgeSeconds: number,
    ageBuckets: number,
    options: { pruneEmpty?: boolean } = {},
  ): MetricSchema<'summary', K> {
    const what = `slidingWindow() of summary "${this.spec.name}"`;
    if (typeof maxAgeSeconds !== 'number' || !(maxAgeSeconds > 0) || maxAgeSeconds > MAX_WINDOW_SECONDS) {
      throw new RangeError(`${what}: maxAgeSeconds must be a number of seconds above 0 and at most 2^32, got ${describeValue(maxAgeSeconds)}`);
    }
    if (!Number.isInteger(ageBuckets) || ageBuckets < 1 || ageBuckets > MAX_AGE_BUCKETS) {
      throw new RangeError(`${what}: ageBuckets must be an integer from 1 to ${MAX_AGE_BUCKETS}, got ${describeValue(ageBuckets)}`);
    }
    checkOptions(what, options, ['pruneEmpty']);
    const pruneEmpty = options.pruneEmpty ?? false;
    if (typeof pruneEmpty !== 'boolean') throw new TypeError(`${what}: pruneEmpty must be true or false, got ${describeValue(pruneEmpty)}`);
    return this.extend({ window: { maxAgeSeconds, ageBuckets, pruneEmpty } });
  }

  /**
   * Registers the metric (in every thread, the same definition is the same metric)
   * and returns its handle, or its family if it has dynamic keys.
   */
  build(options: BuildOptions = {}): Built<T, K> {
    checkOptions(`build() of metric "${this.spec.name}"`, options, ['registry']);
    return this.define(registryOption(`build() of metric "${this.spec.name}"`, options.registry), false).built;
  }

  /**
   * @internal `build()` into `target`, also giving the addon's id of the metric;
   * `promClient`: exposed in prom-client's text style (slotmetrics/prom-client).
   */
  define(target: Registry, promClient: boolean): { id: number; built: Built<T, K>; discard: () => HandleOf[T] } {
    const type = this.type;
    const spec = { ...this.spec, name: target.prefix + this.spec.name };
    // A summary's window turns from its definition, on a test's fake clock too.
    if (type === 'summary') followClock();
    const id = callNative(() =>
      binding.defineMetric({
        name: spec.name,
        help: spec.help,
        kind: NATIVE_KIND[type],
        staticLabels: [...spec.staticLabels],
        dynamicKeys: [...spec.dynamicKeys],
        buckets: type === 'histogram' ? [...classicBuckets(spec)] : undefined,
        native: spec.native,
        utf8Names: spec.utf8Names,
        openKeys: spec.openKeys,
        instrument: spec.instrument,
        quantiles: type === 'summary' ? [...spec.percentiles] : undefined,
        maxAgeSeconds: spec.window?.maxAgeSeconds,
        ageBuckets: spec.window?.ageBuckets,
        pruneEmpty: spec.window?.pruneEmpty,
        maxSeries: spec.maxSeries,
        strict: spec.strict,
        registry: target.id,
        promClient,
        multiprocess: spec.multiprocess === undefined ? undefined : NATIVE_MULTIPROCESS[spec.multiprocess],
      }),
    );
    let discarding: HandleOf[MetricType] | undefined;
    const discard = () => {
      discarding ??= discardHandle(type, id, spec);
      return discarding as HandleOf[T];
    };
    let metric = builtMetrics.get(id);
    if (metric === undefined) {
      const source = new SeriesMaker(type, id, spec);
      if (spec.openKeys) {
        metric = source;
      } else if (spec.dynamicKeys.length === 0) {
        const handle = source.handleOf([]);
        unlabeledMetricIds.set(handle, id);
        metric = handle;
      } else {
        metric = new MetricFamily(spec.name, spec.dynamicKeys, id, source, discard);
      }
      builtMetrics.set(id, metric);
    }
    return { id, built: metric as Built<T, K>, discard };
  }
}

/** The longest summary window, and the most periods it is cut into. */
const MAX_WINDOW_SECONDS = 2 ** 32;
const MAX_AGE_BUCKETS = 1000;

/** The largest series limit: the addon counts series in 32 bits. */
const MAX_SERIES_LIMIT = 2 ** 32 - 1;

function isSeriesLimit(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_SERIES_LIMIT;
}

// Metrics this thread has warned of an update dropped for its labels.
const warnedInvalid = new Set<string>();

/**
 * An update of `metric` refused for its labels (`error`): rethrown, or under the
 * 'drop' policy counted in `slotmetrics_invalid_labels_total{metric}`, with a warning
 * the first time in this thread.
 */
export function dropOrThrow(metric: string, error: unknown): void {
  if (!binding.errorPolicy().dropInvalidLabels) throw error;
  // Built on each drop, as the cold path it is, so it is defined again after a registry.clear().
  counterSchema('slotmetrics_invalid_labels_total')
    .help("Updates dropped because their labels were wrong (setErrorPolicy({ invalidLabels: 'drop' }))")
    .requireDynamicKey('metric')
    // Its label values are metric names, which only definitions create.
    .cardinalityLimit(MAX_SERIES_LIMIT)
    .build()
    .with({ metric })
    .increment();
  if (!warnedInvalid.has(metric)) {
    warnedInvalid.add(metric);
    const reason = error instanceof Error ? error.message : String(error);
    process.emitWarning(`metric "${metric}": ${reason}; the update was dropped and is counted in slotmetrics_invalid_labels_total`, {
      code: 'SLOTMETRICS_INVALID_LABELS',
    });
  }
}

/**
 * A handle of `type` over cells of its own that no scrape reads (slot -1): what an
 * update dropped for its labels writes to, so the caller's code runs on unchanged.
 */
function discardHandle(type: MetricType, id: number, spec: Spec): HandleOf[MetricType] {
  // Room for any series of the metric: a histogram's buckets, +Inf, sum and native zero bucket.
  const slots = classicBuckets(spec).length + 3;
  const throwaway: CellSource = {
    stripe: (slot) => ({ slot, view: new Float64Array(slots), index: 0 }),
    intGauge: (_cells, slot) => ({ slot, view: new BigInt64Array(1), index: 0 }),
    floatGauge: (_cells, slot) => {
      const view = new Float64Array(1);
      return { slot, view, bits: new BigUint64Array(view.buffer), index: 0 };
    },
  };
  return handleMaker(type, id, spec, throwaway)(-1);
}

/** Warns of a metric's first label set sent to its overflow series (the addon counts each one in `slotmetrics_series_overflow_total`). */
function warnOverflow(spec: Spec): void {
  const series = spec.openKeys ? 'otel_metric_overflow="true"' : '__overflow__';
  process.emitWarning(`metric "${spec.name}" has reached its series limit; new label sets now count in its ${series} series`, {
    code: 'SLOTMETRICS_CARDINALITY',
  });
}

/**
 * Registers the label sets of one metric and makes their handles. A new label set is
 * counted in a leased slot and handed to the engine through the ring of registrations
 * when the metric takes leases, else registered by a native call.
 */
class SeriesMaker implements SeriesSource<HandleOf[MetricType]> {
  private readonly makeHandle: (slot: number) => HandleOf[MetricType];
  private readonly lease: SeriesLease | undefined;
  /** The overflow series' handle, made once: past the limit every new label set gets it. */
  private overflow: { slot: number; handle: HandleOf[MetricType] } | undefined;

  constructor(
    type: MetricType,
    private readonly id: number,
    private readonly spec: Spec,
  ) {
    this.makeHandle = handleMaker(type, id, spec);
    // Counters and classic histograms, outside a multi-process group.
    const perSeries = callNative(() => binding.leasedSlotsPerSeries(id));
    this.lease = perSeries > 0 ? new SeriesLease(id, perSeries) : undefined;
  }

  handleOf(labelValues: string[]): HandleOf[MetricType] {
    // Counted now, registered by the engine's next drain; else registered by a call.
    const leased = this.lease === undefined ? -1 : this.lease.take(labelValues);
    if (leased >= 0) return this.makeHandle(leased);
    const registered = callNative(() => registerSeries(this.id, labelValues));
    if (registered >= 0) return this.makeHandle(registered);
    const { slot, first } = overflowOf(registered);
    if (first) warnOverflow(this.spec);
    if (this.overflow?.slot !== slot) this.overflow = { slot, handle: this.makeHandle(slot) };
    return this.overflow.handle;
  }

  isOverflow(handle: HandleOf[MetricType]): boolean {
    return handle === this.overflow?.handle;
  }
}

/** A histogram's classic buckets: as given, else prom-client's, or none beside native ones. */
function classicBuckets(spec: Spec): readonly number[] {
  return spec.buckets ?? (spec.native === undefined ? DEFAULT_BUCKETS : []);
}

/** Where a handle's cells come from: slot memory, or for a dropped update throwaway arrays. */
interface CellSource {
  stripe(slot: number): Cell<Float64Array>;
  intGauge(cells: GaugeCells, slot: number): Cell<BigInt64Array>;
  floatGauge(cells: GaugeCells, slot: number): Cell<Float64Array> & { readonly bits: BigUint64Array };
}

const SLOT_MEMORY: CellSource = { stripe: stripeCell, intGauge: intGaugeCell, floatGauge: floatGaugeCell };

/** Makes the handle of a series of metric `id` from its first slot, its cells from `source`. */
function handleMaker(type: MetricType, id: number, spec: Spec, source: CellSource = SLOT_MEMORY): (slot: number) => HandleOf[MetricType] {
  switch (type) {
    case 'counter':
      return (slot) => new Counter(spec.name, source.stripe(slot));
    case 'gauge': {
      const cells = gaugeCells(spec);
      return (slot) => new Gauge(spec.name, source.intGauge(cells, slot));
    }
    case 'gaugeFloat': {
      const cells = gaugeCells(spec);
      return (slot) => new FloatGauge(spec.name, source.floatGauge(cells, slot));
    }
    case 'histogram': {
      // A plain array: V8 (Node 20) reads frozen arrays' elements about 5x slower.
      const bounds = [...classicBuckets(spec)];
      const native = spec.native;
      if (native !== undefined) {
        return (slot) => new NativeHistogram(spec.name, id, bounds, native.zeroThreshold, source.stripe(slot));
      }
      return (slot) => new Histogram(spec.name, bounds, source.stripe(slot));
    }
    case 'summary':
      return (slot) => new Summary(spec.name, source.stripe(slot));
  }
}

/** Where a gauge's values live: this process's own cells when it keeps one per process. */
function gaugeCells(spec: Spec): GaugeCells {
  const mode = spec.multiprocess ?? 'shared';
  return mode === 'shared' || mode === 'omit' ? 'shared' : 'own';
}

/** Sets the series limit of metrics defined from now on without one of their own (default 10,000). */
export function setCardinalityLimit(maxSeries: number): void {
  if (!isSeriesLimit(maxSeries)) {
    throw new RangeError(`setCardinalityLimit() takes an integer from 1 to 2^32-1, got ${describeValue(maxSeries)}`);
  }
  callNative(() => binding.setCardinalityLimit(maxSeries));
}

function schema<T extends MetricType>(type: T, name: string, defaults: Partial<Spec> = {}): MetricSchema<T> {
  return new MetricSchema(type, {
    name: requireString('metric name', name),
    help: '',
    staticLabels: [],
    dynamicKeys: [],
    percentiles: [],
    ...defaults,
  });
}

/**
 * A counter: a value that only goes up. Exposed as `<name>_total` (added if missing).
 *
 * @example
 * ```js
 * const requests = counterSchema('http_requests_total')
 *   .help('Requests served')
 *   .requireDynamicKey('route')
 *   .build();
 * requests.with({ route: '/users' }).increment();
 * ```
 */
export function counterSchema(name: string): MetricSchema<'counter'> {
  return schema('counter', name);
}

/**
 * An integer gauge, exact to 2^63: takes numbers (integers) and bigints.
 *
 * @example
 * ```js
 * const queued = gaugeSchema('queue_jobs').help('Jobs waiting').build();
 * queued.set(42);
 * queued.dec();
 * ```
 */
export function gaugeSchema(name: string): MetricSchema<'gauge'> {
  return schema('gauge', name);
}

/**
 * A float gauge.
 *
 * @example
 * ```js
 * const temperature = gaugeSchemaFloat('cpu_temperature_celsius').requireDynamicKey('cpu').build();
 * temperature.with({ cpu: '0' }).set(65.5);
 * ```
 */
export function gaugeSchemaFloat(name: string): MetricSchema<'gaugeFloat'> {
  return schema('gaugeFloat', name);
}

/**
 * A histogram, with prom-client's default buckets unless `.buckets()` is given.
 *
 * @example
 * ```js
 * const latency = histogramSchema('db_query_seconds').buckets([0.001, 0.01, 0.1, 1]).build();
 * const stop = latency.startTimer();
 * stop(); // observes the elapsed seconds
 * ```
 */
export function histogramSchema(name: string): MetricSchema<'histogram'> {
  return schema('histogram', name);
}

/**
 * A summary: count, sum and quantiles (prom-client's by default) of observations,
 * over every observation or a sliding window. Its quantiles cannot be aggregated
 * across instances and its observe() is slower than a histogram's: prefer
 * histograms unless you need exactly these quantiles.
 *
 * @example
 * ```js
 * const sizes = summarySchema('payload_bytes').percentiles([0.5, 0.99]).slidingWindow(600, 5).build();
 * sizes.observe(1024);
 * ```
 */
export function summarySchema(name: string): MetricSchema<'summary'> {
  return schema('summary', name, { percentiles: DEFAULT_PERCENTILES });
}
