// The MeterProvider: the OpenTelemetry metrics API over slotmetrics' registry. Each
// instrument becomes a metric of the registry whose series name their own labels (the
// attributes, plus the scope's otel_scope_* labels), exposed under the specification's
// Prometheus names (names.ts) beside every other metric.

import type {
  Attributes,
  BatchObservableCallback,
  Context,
  MeterOptions,
  MeterProvider as ApiMeterProvider,
  MetricOptions,
  Observable,
} from '@opentelemetry/api';
import { binding, callNative, setExemplar, type SlotHandle } from '../base/native';
import { checkOptions, checkStringRecord, describeValue, isTimerMs, MAX_TIMER_MS } from '../base/validate';
import type { Counter as CounterHandle } from '../metrics/counter';
import type { FloatGauge } from '../metrics/gauge';
import type { Histogram as HistogramHandle } from '../metrics/histogram';
import type { SeriesSource } from '../metrics/labels';
import { NATIVE_DEFAULTS, type NativeOptions } from '../metrics/nativeHistogram';
import { counterSchema, gaugeSchemaFloat, histogramSchema, type MetricSchema, type MetricType } from '../metrics/schema';
import { type Registry, registryOption } from '../exposition/registry';
import { resourceFromEnvironment } from '../export/environment';
import { SeriesTable } from './attributes';
import {
  type ObservedStream,
  type ObservedWriter,
  SlotCounter,
  SlotGauge,
  SlotHistogram,
  SlotObservable,
  SlotUpDownCounter,
  type Stream,
} from './instruments';
import { type InstrumentKind, type InstrumentMaker, type Scope, SlotMeter } from './meter';
import { keepsUtf8, labelName, metricName, type NamedKind, TRANSLATION_STRATEGIES, type TranslationStrategy } from './names';
import { Observations } from './observations';
import { CheckedView, type StreamConfig, type View } from './views';
import { warnOnce } from './warnings';

/** `new MeterProvider()`'s options. */
export interface MeterProviderOptions {
  /** The registry instruments are defined in (default: slotmetrics' default `registry`). */
  registry?: Registry;
  /** How instrument and attribute names become Prometheus names (default `'UnderscoreEscapingWithSuffixes'`; names.ts). */
  translationStrategy?: TranslationStrategy;
  /**
   * The most attribute sets an instrument keeps as series (default 2000, the
   * specification's); past it, new sets count in one series labeled
   * `otel_metric_overflow="true"`, for the life of the process.
   */
  cardinalityLimit?: number;
  /** Leaves out the `otel_scope_name`, `otel_scope_version` and `otel_scope_schema_url` labels. */
  withoutScopeInfo?: boolean;
  /** Leaves out the `target_info` metric, which carries the resource's attributes. */
  withoutTargetInfo?: boolean;
  /**
   * Resource attributes on `target_info`, after the SDK's own and those of
   * `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
   */
  resource?: Record<string, string>;
  /** The longest a collection waits for observable callbacks (default 1000 ms). */
  collectTimeoutMs?: number;
  /** Views: the streams of the instruments they select (views.ts). */
  views?: readonly View[];
  /**
   * `'traceBased'`: a measurement made in a sampled span leaves an exemplar with its
   * `trace_id` and `span_id` on counters and explicit-bucket histograms (exposed in
   * OpenMetrics and protobuf). The span is the `context` argument's, else the active
   * one. Default `'alwaysOff'`, which costs nothing.
   */
  exemplarFilter?: 'alwaysOff' | 'traceBased';
}

/** The specification's default buckets, in milliseconds, for histograms without advice. */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

const DEFAULT_CARDINALITY_LIMIT = 2000;
const DEFAULT_COLLECT_TIMEOUT_MS = 1000;
/** The attribute keys whose label names are remembered, per label namer. */
const MAX_REMEMBERED_KEYS = 10_000;
/** The OpenTelemetry instrument name syntax. */
const INSTRUMENT_NAME = /^[a-zA-Z][a-zA-Z0-9_./-]{0,254}$/;

// What each kind of instrument is in slot memory, and how it is named.
const SLOT_TYPE: Record<InstrumentKind, MetricType> = {
  counter: 'counter',
  observableCounter: 'counter',
  upDownCounter: 'gaugeFloat',
  observableUpDownCounter: 'gaugeFloat',
  gauge: 'gaugeFloat',
  observableGauge: 'gaugeFloat',
  histogram: 'histogram',
};
const NAMED_KIND: Record<InstrumentKind, NamedKind> = {
  counter: 'counter',
  observableCounter: 'counter',
  upDownCounter: 'upDownCounter',
  observableUpDownCounter: 'upDownCounter',
  gauge: 'gauge',
  observableGauge: 'gauge',
  histogram: 'histogram',
};

/** What a histogram's buckets are: explicit bounds, or native ones. */
type Buckets = { readonly bounds: readonly number[] } | { readonly native: Required<NativeOptions> };

/**
 * A metric streams record into, shared by every stream exposed under its name. When
 * its registry is cleared, it is defined again at the next label set worked out (from
 * zero, as a metric made again after `clear()` is): instruments libraries made once
 * keep recording through a test suite's `register.clear()`.
 */
class DefinedMetric {
  id: number;
  private source: SeriesSource<unknown>;
  discard: () => unknown;
  /** The attribute keys noted with the engine for this definition (`reportingKeys`). */
  readonly reportedKeys = new Set<string>();
  /** The tables of the streams recording into it, emptied when the registry is cleared. */
  readonly tables: SeriesTable<unknown>[] = [];
  private cleared = false;

  constructor(
    readonly type: MetricType,
    /** A histogram's buckets, as first defined. */
    readonly buckets: Buckets | undefined,
    private readonly schema: MetricSchema<MetricType>,
    private readonly registry: Registry,
    private readonly definedAgain: () => void,
  ) {
    const { id, built, discard } = schema.define(registry, false);
    this.id = id;
    this.source = built as unknown as SeriesSource<unknown>;
    this.discard = discard;
  }

  /** Where its label sets are registered: defined again first if its registry was cleared. */
  current(): SeriesSource<unknown> {
    if (this.cleared) {
      const { id, built, discard } = this.schema.define(this.registry, false);
      this.id = id;
      this.source = built as unknown as SeriesSource<unknown>;
      this.discard = discard;
      this.cleared = false;
      this.reportedKeys.clear();
      this.definedAgain();
    }
    return this.source;
  }

  /** Its registry was cleared: its series are gone, and so are the handles the tables keep. */
  clear(): void {
    this.cleared = true;
    for (const table of this.tables) table.clear();
  }
}

/** What an instrument that records nothing is: a view dropped it, or it could not be defined. */
const NOOP_SYNC = Object.freeze({ add() {}, record() {} });
const NOOP_OBSERVABLE = Object.freeze({ addCallback() {}, removeCallback() {} });

/** The largest native histogram schema Prometheus reads: OpenTelemetry's scales above it are lowered to it. */
const MAX_NATIVE_SCALE = 8;
/** The specification's defaults for an exponential histogram. */
const DEFAULT_EXPONENTIAL = { maxSize: 160, maxScale: 20 };

/**
 * An OpenTelemetry `MeterProvider` whose instruments record into slot memory. Hand it
 * to `metrics.setGlobalMeterProvider()` (or import `slotmetrics/otel/register`), or to
 * `registerInstrumentations({ meterProvider })`.
 *
 * @example
 * ```js
 * const provider = new MeterProvider({ views: [{ instrumentName: 'debug.*', aggregation: { type: 'drop' } }] });
 * metrics.setGlobalMeterProvider(provider); // what slotmetrics/otel/register does
 * ```
 */
export class MeterProvider implements ApiMeterProvider, InstrumentMaker {
  private readonly registry: Registry;
  private readonly strategy: TranslationStrategy;
  private readonly cardinalityLimit: number;
  private readonly scopeInfo: boolean;
  private readonly observations: Observations;
  private readonly meters = new Map<string, SlotMeter>();
  /** Instruments by scope and identity: an identical instrument is the same one. */
  private readonly instruments = new Map<string, { name: string; instrument: unknown }>();
  /** Each meter's instrument names (any case), with the kind and unit of the last made. */
  private readonly identities = new Map<string, string>();
  private readonly defined = new Map<string, DefinedMetric>();
  /** `target_info`'s definition, made again after the registry is cleared; undefined without one. */
  private targetInfo: (() => void) | undefined;
  private readonly labelNames = new Map<string, Map<string, string>>();
  private readonly views: readonly CheckedView[];
  private readonly exemplars: ExemplarRecorder | undefined;
  private shutDown = false;

  constructor(options: MeterProviderOptions = {}) {
    const call = 'new MeterProvider()';
    checkOptions(call, options, [
      'registry',
      'translationStrategy',
      'cardinalityLimit',
      'withoutScopeInfo',
      'withoutTargetInfo',
      'resource',
      'collectTimeoutMs',
      'views',
      'exemplarFilter',
    ]);
    this.registry = registryOption(call, options.registry);
    const strategy: unknown = options.translationStrategy ?? 'UnderscoreEscapingWithSuffixes';
    if (!isStrategy(strategy)) {
      throw new TypeError(`${call}: translationStrategy must be one of ${TRANSLATION_STRATEGIES.join(', ')}, got ${describeValue(strategy)}`);
    }
    this.strategy = strategy;
    this.cardinalityLimit = positiveInteger(call, 'cardinalityLimit', options.cardinalityLimit, DEFAULT_CARDINALITY_LIMIT);
    this.scopeInfo = options.withoutScopeInfo !== true;
    const timeout = options.collectTimeoutMs ?? DEFAULT_COLLECT_TIMEOUT_MS;
    if (!isTimerMs(timeout)) {
      throw new RangeError(`${call}: collectTimeoutMs must be an integer from 1 to ${MAX_TIMER_MS}, got ${describeValue(timeout)}`);
    }
    this.observations = new Observations(this.registry.id, timeout);
    if (options.views !== undefined && !Array.isArray(options.views))
      throw new TypeError(`${call}: views must be an array, got ${describeValue(options.views)}`);
    this.views = (options.views ?? []).map((view, i) => new CheckedView(view, `${call}: views[${i}]`));
    const filter = options.exemplarFilter ?? 'alwaysOff';
    if (filter !== 'alwaysOff' && filter !== 'traceBased') {
      throw new TypeError(`${call}: exemplarFilter must be 'alwaysOff' or 'traceBased', got ${describeValue(filter)}`);
    }
    this.exemplars = filter === 'traceBased' ? traceBasedExemplars() : undefined;
    if (options.resource !== undefined) checkStringRecord(call, 'resource', options.resource);
    if (options.withoutTargetInfo !== true) {
      const resource = options.resource ?? {};
      this.targetInfo = () => this.defineTargetInfo(resource);
      this.targetInfo();
    }
    this.registry.onClear(() => {
      for (const defined of this.defined.values()) defined.clear();
    });
  }

  getMeter(name: string, version = '', options: MeterOptions = {}): SlotMeter {
    const scope: Scope = { name: String(name ?? ''), version: String(version ?? ''), schemaUrl: String(options?.schemaUrl ?? '') };
    const key = JSON.stringify([scope.name, scope.version, scope.schemaUrl]);
    let meter = this.meters.get(key);
    if (meter === undefined) {
      meter = new SlotMeter(this, scope);
      this.meters.set(key, meter);
    }
    return meter;
  }

  /** Resolves at once: every measurement is in slot memory the moment it is made. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Stops running observable callbacks; instruments made from now on record nothing. */
  shutdown(): Promise<void> {
    this.shutDown = true;
    this.observations.stop();
    return Promise.resolve();
  }

  /** @internal */
  addBatchObservableCallback(callback: BatchObservableCallback, observables: readonly Observable[]): void {
    this.observations.addBatch(callback, observables);
  }

  /** @internal */
  removeBatchObservableCallback(callback: BatchObservableCallback, observables: readonly Observable[]): void {
    this.observations.removeBatch(callback, observables);
  }

  /** @internal An instrument of `scope`: the existing one of the same identity, else a new one. */
  instrument(scope: Scope, kind: InstrumentKind, name: unknown, options: MetricOptions | undefined): unknown {
    const noop = kind.startsWith('observable') ? NOOP_OBSERVABLE : NOOP_SYNC;
    if (this.shutDown) return noop;
    if (typeof name !== 'string' || !INSTRUMENT_NAME.test(name)) {
      warnOnce(`name:${String(name)}`, `instrument name ${describeValue(name)} is not valid OpenTelemetry syntax ([a-zA-Z][a-zA-Z0-9_./-]{0,254})`);
      if (typeof name !== 'string' || name === '') return noop;
    }
    const unit = typeof options?.unit === 'string' ? options.unit : '';
    const identity = JSON.stringify([scope.name, scope.version, scope.schemaUrl, kind, name.toLowerCase(), unit]);
    const existing = this.instruments.get(identity);
    if (existing !== undefined) {
      if (existing.name !== name) {
        warnOnce(`case:${identity}`, `instrument "${name}" is "${existing.name}" already, in another case; the first name is kept`);
      }
      return existing.instrument;
    }
    const sameName = JSON.stringify([scope.name, scope.version, scope.schemaUrl, name.toLowerCase()]);
    const other = this.identities.get(sameName);
    if (other !== undefined) {
      warnOnce(
        `identity:${identity}`,
        `instrument "${name}" (${kind}, unit "${unit}") has the name of one of ${other} in the same meter; the specification keeps them apart, as two streams`,
      );
    }
    this.identities.set(sameName, `${kind}, unit "${unit}"`);
    const instrument = this.makeInstrument(scope, kind, name, unit, options) ?? noop;
    this.instruments.set(identity, { name, instrument });
    return instrument;
  }

  /**
   * The instrument: one stream per view that selects it (the instrument's own when none
   * does), each recording into the metric it is exposed as. A view's `'drop'` makes no
   * stream; with none left the instrument records nothing.
   */
  private makeInstrument(scope: Scope, kind: InstrumentKind, name: string, unit: string, options: MetricOptions | undefined): unknown {
    const description = typeof options?.description === 'string' ? options.description : '';
    const selecting = this.views.filter((view) => view.selects(kind, name, unit, scope));
    const configs = selecting.length === 0 ? [ownStream(name, description)] : selecting.map((view) => view.configure(name, description));
    const parts = configs
      .filter((config) => config.aggregation.type !== 'drop')
      .map((config) => this.streamInstrument(scope, kind, unit, options, config))
      .filter((part) => part !== undefined);
    if (kind.startsWith('observable')) return parts.length === 0 ? undefined : this.observable(kind, parts as ObservedStream[]);
    return parts.length <= 1 ? parts[0] : fanOut(parts as SyncInstrument[]);
  }

  /** One stream of an instrument, as `config` makes it. */
  private streamInstrument(scope: Scope, kind: InstrumentKind, unit: string, options: MetricOptions | undefined, config: StreamConfig): unknown {
    const exposed = metricName(config.name, unit, NAMED_KIND[kind], this.strategy);
    const buckets = kind === 'histogram' ? histogramBuckets(config, options) : undefined;
    if (kind !== 'histogram' && config.aggregation.type !== 'default') {
      warnOnce(`aggregation:${exposed}`, `a view gives instrument "${config.name}" of kind ${kind} a histogram aggregation; it keeps its own`);
    }
    const limit = config.cardinalityLimit ?? this.cardinalityLimit;
    const defined = this.define(kind, exposed, { name: config.name, unit }, config.description, buckets, limit);
    if (defined === undefined) return undefined;
    const refused = (error: unknown) => {
      warnOnce(
        `refused:${exposed}`,
        `instrument "${config.name}": ${error instanceof Error ? error.message : String(error)}; the measurement was dropped`,
      );
      return defined.discard();
    };
    const observable = kind.startsWith('observable');
    const namer = reportingKeys(defined, this.labelNamer(kind === 'histogram' ? 'le' : undefined, config.keeps));
    const table = new SeriesTable<unknown>(() => defined.current(), this.scopePairs(scope), namer, refused, observable);
    defined.tables.push(table);
    // Exemplars go on counters and explicit buckets: a native histogram's have no bucket to sit on.
    const exemplars = kind === 'counter' || (kind === 'histogram' && buckets !== undefined && 'bounds' in buckets) ? this.exemplars : undefined;
    const stream: Stream<unknown> = {
      instrument: config.name,
      table,
      integer: options?.valueType === 0,
      exemplar:
        exemplars === undefined ? undefined : (handle, value, context) => exemplars(defined.id, handle as SlotHandle<unknown>, value, context),
    };
    switch (kind) {
      case 'counter':
        return new SlotCounter(stream as Stream<CounterHandle>);
      case 'upDownCounter':
        return new SlotUpDownCounter(stream as Stream<FloatGauge>);
      case 'gauge':
        return new SlotGauge(stream as Stream<FloatGauge>);
      case 'histogram':
        return new SlotHistogram(stream as Stream<HistogramHandle>);
      case 'observableCounter':
        return { stream, metric: defined, write: cumulativeWriter() as ObservedWriter<unknown> } satisfies ObservedStream;
      default:
        return { stream, metric: defined, write: setWriter as ObservedWriter<unknown> } satisfies ObservedStream;
    }
  }

  /** An observable instrument over its streams, whose callbacks the provider's collections run. */
  private observable(kind: InstrumentKind, streams: ObservedStream[]): SlotObservable {
    const instrument =
      kind === 'observableCounter'
        ? new SlotObservable(
            streams,
            (value) => value >= 0 && value !== Infinity,
            'an observable counter takes a finite number >= 0',
            this.observations,
          )
        : new SlotObservable(
            streams,
            (value) => !Number.isNaN(value),
            'an observable gauge or up-down counter takes a number other than NaN',
            this.observations,
          );
    this.observations.track(instrument);
    return instrument;
  }

  /**
   * The metric exposed as `exposed`: defined by the first stream of that name, and
   * shared by later ones of the same kind (from other scopes, say), whose description,
   * buckets and limit give way to the first's. One of another kind cannot share it: it
   * is refused with a warning, as is a name the registry has for a metric of its own.
   */
  private define(
    kind: InstrumentKind,
    exposed: string,
    instrument: { name: string; unit: string },
    description: string,
    buckets: Buckets | undefined,
    limit: number,
  ): DefinedMetric | undefined {
    const type = SLOT_TYPE[kind];
    const existing = this.defined.get(exposed);
    if (existing !== undefined) {
      if (existing.type !== type) {
        warnOnce(
          `kind:${exposed}`,
          `instrument of kind ${kind} is exposed as "${exposed}", which another kind of instrument uses already; it records nothing`,
        );
        return undefined;
      }
      if (JSON.stringify(existing.buckets) !== JSON.stringify(buckets)) {
        warnOnce(`buckets:${exposed}`, `histogram "${exposed}" was defined with other buckets; it keeps its first ones`);
      }
      return existing;
    }
    let schema: MetricSchema<MetricType>;
    if (type === 'counter') schema = counterSchema(exposed);
    else if (type === 'gaugeFloat') schema = gaugeSchemaFloat(exposed);
    else if (buckets !== undefined && 'native' in buckets) schema = histogramSchema(exposed).native(buckets.native);
    else schema = histogramSchema(exposed).buckets(buckets?.bounds ?? DEFAULT_HISTOGRAM_BUCKETS);
    schema = schema.help(description).openKeys().instrument(instrument.name, instrument.unit).cardinalityLimit(limit);
    if (keepsUtf8(this.strategy)) schema = schema.utf8Names();
    try {
      const defined = new DefinedMetric(type, buckets, schema, this.registry, () => this.targetInfo?.());
      this.defined.set(exposed, defined);
      return defined;
    } catch (error) {
      warnOnce(
        `define:${exposed}`,
        `instrument exposed as "${exposed}" cannot be defined: ${error instanceof Error ? error.message : String(error)}; it records nothing`,
      );
      return undefined;
    }
  }

  /** The labels every series of `scope`'s instruments carries. */
  private scopePairs(scope: Scope): string[] {
    if (!this.scopeInfo) return [];
    const pairs = ['otel_scope_name', scope.name];
    if (scope.version !== '') pairs.push('otel_scope_version', scope.version);
    if (scope.schemaUrl !== '') pairs.push('otel_scope_schema_url', scope.schemaUrl);
    return pairs;
  }

  /**
   * Names attribute keys under this provider's strategy, remembering the names of the
   * first keys seen; a key a view leaves out has no name (`''`).
   */
  private labelNamer(reserved: string | undefined, keeps: ((key: string) => boolean) | undefined): (key: string) => string {
    const cacheKey = reserved ?? '';
    const known = this.labelNames.get(cacheKey) ?? new Map<string, string>();
    this.labelNames.set(cacheKey, known);
    const name = (key: string) => {
      let label = known.get(key);
      if (label === undefined) {
        label = labelName(key, this.strategy, reserved);
        if (known.size < MAX_REMEMBERED_KEYS) known.set(key, label);
      }
      return label;
    };
    return keeps === undefined ? name : (key) => (keeps(key) ? name(key) : '');
  }

  /** `target_info`: one series at 1 whose labels are the resource's attributes (the specification's). */
  private defineTargetInfo(fromCode: Record<string, string>): void {
    const labels: Record<string, string> = {};
    for (const [key, value] of resourceFromEnvironment(binding.agentVersion(), fromCode)) {
      const name = labelName(key, this.strategy);
      if (name !== '') labels[name] = name in labels ? `${labels[name]};${value}` : value;
    }
    let schema = gaugeSchemaFloat('target_info').help('Target metadata').staticLabels(labels);
    if (keepsUtf8(this.strategy)) schema = schema.utf8Names();
    try {
      schema.build({ registry: this.registry }).set(1);
    } catch (error) {
      warnOnce('target_info', `target_info cannot be defined: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** An observable gauge's or up-down counter's writer: the value observed is the series' value. */
function setWriter(handle: FloatGauge, value: number): void {
  handle.set(value);
}

/** An observable counter's writer: its callbacks give totals, a counter series takes increments. */
function cumulativeWriter(): ObservedWriter<CounterHandle> {
  const last = new WeakMap<CounterHandle, number>();
  return (handle, total) => {
    const increase = total - (last.get(handle) ?? 0);
    if (increase < 0) {
      warnOnce(
        `decrease:${handle.name}`,
        `observable counter "${handle.name}" went down (from ${last.get(handle)} to ${total}); the observation was dropped`,
      );
      return;
    }
    last.set(handle, total);
    handle.add(increase);
  };
}

/**
 * `name` (an attribute key's label name), which also tells the engine the key of each
 * label whose name differs from it, the first time: OTLP exports then give attributes
 * their own keys (`http.route`, not `http_route`). It runs only when a label set is
 * worked out, not per measurement.
 */
function reportingKeys(metric: DefinedMetric, name: (key: string) => string): (key: string) => string {
  return (key) => {
    const label = name(key);
    const reported = metric.reportedKeys;
    if (label !== '' && label !== key && !reported.has(key) && reported.size < MAX_REMEMBERED_KEYS) {
      reported.add(key);
      callNative(() => binding.nameAttributeKey(metric.id, label, key));
    }
    return label;
  };
}

/** The stream of an instrument no view selects: its own name, description and aggregation. */
function ownStream(name: string, description: string): StreamConfig {
  return { name, description, aggregation: { type: 'default' }, cardinalityLimit: undefined, keeps: undefined };
}

/**
 * A histogram stream's buckets: the view's aggregation's; else its advice's, when they
 * are valid; else the specification's default ones. Exponential ones are native
 * buckets at the scale Prometheus reads (at most 8).
 */
function histogramBuckets({ name, aggregation }: StreamConfig, options: MetricOptions | undefined): Buckets {
  if (aggregation.type === 'explicitBucketHistogram') return { bounds: aggregation.boundaries };
  if (aggregation.type === 'exponentialHistogram') {
    const scale = Math.min(aggregation.maxScale ?? DEFAULT_EXPONENTIAL.maxScale, MAX_NATIVE_SCALE);
    const maxBuckets = aggregation.maxSize ?? DEFAULT_EXPONENTIAL.maxSize;
    return { native: { ...NATIVE_DEFAULTS, bucketFactor: 2 ** (2 ** -scale), maxBuckets } };
  }
  const advised = options?.advice?.explicitBucketBoundaries;
  if (advised === undefined) return { bounds: DEFAULT_HISTOGRAM_BUCKETS };
  const valid = Array.isArray(advised) && advised.every((b, i) => Number.isFinite(b) && (i === 0 || b > advised[i - 1]));
  if (valid) return { bounds: advised };
  warnOnce(`advice:${name}`, `histogram "${name}": advice.explicitBucketBoundaries must be increasing finite numbers; the default buckets are used`);
  return { bounds: DEFAULT_HISTOGRAM_BUCKETS };
}

/** A synchronous instrument as far as a fan-out needs it. */
interface SyncInstrument {
  add?(value: number, attributes?: Attributes, context?: Context): void;
  record?(value: number, attributes?: Attributes, context?: Context): void;
}

/** An instrument several views select: each measurement goes to every stream. */
function fanOut(parts: readonly SyncInstrument[]): SyncInstrument {
  return {
    add(value, attributes, context) {
      for (const part of parts) part.add?.(value, attributes, context);
    },
    record(value, attributes, context) {
      for (const part of parts) part.record?.(value, attributes, context);
    },
  };
}

/** Leaves an exemplar of a measurement on metric `metricId`'s series `handle`. */
type ExemplarRecorder = (metricId: number, handle: SlotHandle<unknown>, value: number, context: Context | undefined) => void;

/**
 * The trace-based exemplar filter: a measurement in a sampled span leaves an exemplar
 * with its trace and span ids. `@opentelemetry/api` is loaded only when it is on.
 */
function traceBasedExemplars(): ExemplarRecorder {
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  return (metricId, handle, value, context) => {
    const span = api.trace.getSpanContext(context ?? api.context.active());
    if (span === undefined || (span.traceFlags & api.TraceFlags.SAMPLED) === 0 || !api.isSpanContextValid(span)) return;
    setExemplar(metricId, handle.slot, ['trace_id', span.traceId, 'span_id', span.spanId], value);
  };
}

function isStrategy(value: unknown): value is TranslationStrategy {
  return (TRANSLATION_STRATEGIES as readonly unknown[]).includes(value);
}

function positiveInteger(call: string, option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${call}: ${option} must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}
