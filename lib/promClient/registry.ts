// prom-client's Registry on the engine: each is a slotmetrics registry, and the global
// one is slotmetrics' default `registry`, so `serve()` exposes prom-client metrics too.

import { flushPendingUpdates } from '../base/pending';
import { binding, callNative } from '../base/native';
import { Registry as EngineRegistry, type Exposition, registry as defaultEngineRegistry } from '../exposition/registry';
import { type Aggregator, aggregators, type MetricData } from './aggregators';
import { GivenValues, type MetricObjectWithValues, type MetricTypeName, type MetricValue, promClientSample } from './samples';
import { metricText } from './text';

// prom-client's two content types, as it spells them (no `escaping=`), and their types
// as its declarations build them.
/** The charset of both content types. */
export type Charset = 'utf-8';
/** The media type of the Prometheus text format. */
export type PrometheusMIME = 'text/plain';
/** The Prometheus text format's version. */
export type PrometheusMetricsVersion = '0.0.4';
/** The media type of OpenMetrics. */
export type OpenMetricsMIME = 'application/openmetrics-text';
/** The OpenMetrics version. */
export type OpenMetricsVersion = '1.0.0';
/** `text/plain; version=0.0.4; charset=utf-8`. */
export type PrometheusContentType = `${PrometheusMIME}; version=${PrometheusMetricsVersion}; charset=${Charset}`;
/** `application/openmetrics-text; version=1.0.0; charset=utf-8`. */
export type OpenMetricsContentType = `${OpenMetricsMIME}; version=${OpenMetricsVersion}; charset=${Charset}`;
/** Either content type a registry writes. */
export type RegistryContentType = PrometheusContentType | OpenMetricsContentType;

/** A registry of either content type: what this entry's internals take. */
export type AnyRegistry = Registry<RegistryContentType>;

export const PROMETHEUS_CONTENT_TYPE: PrometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE: OpenMetricsContentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * What prom-client registries accept besides their own metrics: any object with a
 * name and a get() giving its data (custom collectors, aggregated cluster metrics).
 * Its text is written in JS, after the engine's metrics.
 */
export interface CustomMetric {
  name: string;
  get(): MetricData | Promise<MetricData>;
  reset?(): void;
}

/**
 * A metric of this entry as its registries see it: Counter, Gauge, Histogram and
 * Summary are each one. (Declared here so that registries need not know the kinds.)
 */
export interface RegisteredMetric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricTypeName;
  readonly labelNames: readonly string[];
  readonly registers: AnyRegistry[];
  readonly aggregator: Aggregator;
  readonly enableExemplars: boolean;
  /** Called as a method: the metric is its `this`. */
  readonly collect?: () => void | Promise<void>;
  /** @internal The engine's id of the metric. */
  readonly engine: { readonly id: number };
  get(): Promise<MetricObjectWithValues<MetricValue<string>>>;
  reset(): void;
  remove(...args: unknown[]): void;
}

function onEngine(metric: RegisteredMetric | CustomMetric): metric is RegisteredMetric {
  return (metric as Partial<RegisteredMetric>).engine !== undefined;
}

/**
 * A set of metrics exposed together, in the content type `BoundRegistryContentType`
 * (prom-client's declarations' name; the 0.0.4 text unless given).
 */
export class Registry<BoundRegistryContentType extends RegistryContentType = PrometheusContentType> {
  /** The Prometheus text content type. */
  static readonly PROMETHEUS_CONTENT_TYPE = PROMETHEUS_CONTENT_TYPE;
  /** The OpenMetrics content type. */
  static readonly OPENMETRICS_CONTENT_TYPE = OPENMETRICS_CONTENT_TYPE;
  /** The global registry, as prom-client's `Registry.globalRegistry` (set below, once made). */
  static globalRegistry: AnyRegistry;

  /** @internal The slotmetrics registry holding this one's metrics. */
  readonly engine: EngineRegistry;
  /** @internal Default labels' values (the registry's, and default metrics') given as other than strings, which reads give back as given. */
  readonly givenValues = new GivenValues();
  private readonly byName = new Map<string, RegisteredMetric | CustomMetric>();
  /** Registered objects that are not metrics of this entry, in registration order. */
  private readonly objects = new Set<CustomMetric>();
  /** A copy of the engine registry's default labels, for the text of `objects`. */
  private defaultLabels: Record<string, string> = {};
  private type: BoundRegistryContentType;

  constructor(contentType: BoundRegistryContentType = PROMETHEUS_CONTENT_TYPE as BoundRegistryContentType, engine?: EngineRegistry) {
    if (contentType !== PROMETHEUS_CONTENT_TYPE && contentType !== OPENMETRICS_CONTENT_TYPE) {
      throw new TypeError(`Content type ${contentType} is unsupported`);
    }
    this.type = contentType;
    this.engine = engine ?? new EngineRegistry();
  }

  /** The content type `metrics()` writes. */
  get contentType(): BoundRegistryContentType {
    return this.type;
  }

  /** Changes the content type `metrics()` writes. */
  setContentType(contentType: BoundRegistryContentType): void {
    if (contentType !== PROMETHEUS_CONTENT_TYPE && contentType !== OPENMETRICS_CONTENT_TYPE) {
      throw new Error(`Content type ${contentType} is unsupported`);
    }
    this.type = contentType;
  }

  private get format(): 'prometheus' | 'openmetrics' {
    return this.type === OPENMETRICS_CONTENT_TYPE ? 'openmetrics' : 'prometheus';
  }

  /** Runs the `collect` callbacks of these metrics. */
  private async collect(metrics: Iterable<RegisteredMetric | CustomMetric>): Promise<void> {
    await Promise.all([...metrics].filter(onEngine).map((metric) => metric.collect?.()));
  }

  /**
   * The exposition of every metric: the engine's text, rendered off the event loop
   * after the `collect` callbacks (the engine registry's read runs them), then that of
   * registered objects.
   */
  async metrics(): Promise<string> {
    const openMetrics = this.format === 'openmetrics';
    let text = await this.engine.metrics({ format: this.format });
    if (openMetrics) text = text.slice(0, -'# EOF\n'.length);
    const parts = text === '' ? [] : [text.slice(0, -1)];
    for (const object of this.objects) parts.push(metricText(await object.get(), openMetrics, this.defaultLabels));
    // prom-client's separators, written even with no metric at all.
    return openMetrics ? `${parts.join('\n')}\n# EOF\n` : `${parts.join('\n\n')}\n`;
  }

  /**
   * slotmetrics' addition: the exposition in the format a scraper's `Accept` header
   * asks for, chosen as `serve()` chooses it (protobuf and every text format), with its
   * Content-Type; `collect` callbacks run first. Objects registered beside this entry's
   * metrics (custom collectors) are in `metrics()` only.
   */
  scrape(accept = ''): Promise<Exposition> {
    return this.engine.scrape(accept);
  }

  /** Every metric's data; with `aggregator` (@prometheus-io/client 0.16), only the metrics aggregated by it. */
  async getMetricsAsJSON(aggregator?: string): Promise<MetricData[]> {
    if (aggregator !== undefined) return (await this.getMetricsAsJSON()).filter((metric) => metric.aggregator === aggregator);
    const metrics: MetricData[] = (await this.engine.getMetricsAsJSON()).map((metric) => {
      // The engine does not know prom-client's aggregators and exemplar options; the metric does.
      const own = this.byName.get(metric.name) as RegisteredMetric | undefined;
      return {
        ...metric,
        values: metric.values.map((sample) => promClientSample(sample, own ?? metric, this.givenValues)),
        aggregator: own?.aggregator ?? metric.aggregator,
      };
    });
    for (const object of this.objects) {
      const data = await object.get();
      // prom-client writes the default labels a sample lacks into a copy of its labels.
      const values = data.values.map((value) => ({ ...value, labels: { ...value.labels, ...this.missingDefaults(value.labels) } }));
      metrics.push({ ...data, values });
    }
    return metrics;
  }

  private missingDefaults(labels: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(this.defaultLabels).filter(([name]) => !labels[name]));
  }

  /** Every registered metric; with `aggregator` (@prometheus-io/client 0.16), only those aggregated by it. */
  getMetricsAsArray(aggregator?: string): (RegisteredMetric | CustomMetric)[] {
    const all = [...this.byName.values()];
    return aggregator === undefined ? all : all.filter((metric) => (metric as Partial<RegisteredMetric>).aggregator === aggregator);
  }

  /** @prometheus-io/client 0.16: one metric's text, as getSingleMetricAsString() gives it. */
  getMetricsAsString(metric: { name: string }): Promise<string> {
    return this.getSingleMetricAsString(metric.name);
  }

  /** The metric registered under `name`, if any. */
  getSingleMetric(name: string): RegisteredMetric | CustomMetric | undefined {
    return this.byName.get(name);
  }

  /** One metric's text as prom-client gives it: without the final newline or `# EOF`. */
  async getSingleMetricAsString(name: string): Promise<string> {
    const metric = this.byName.get(name);
    // prom-client's own failure for an unknown name.
    if (metric === undefined) throw new TypeError(`Cannot read properties of undefined (reading 'getForPromString')`);
    if (!onEngine(metric)) return metricText(await metric.get(), this.format === 'openmetrics', this.defaultLabels);
    await this.collect([metric]);
    flushPendingUpdates();
    const rendered = await binding.renderMetrics(this.type, this.engine.id, metric.engine.id);
    return (rendered.text as string).replace(/\n(# EOF\n)?$/, '');
  }

  /**
   * Adds a metric of this entry, or any object with a `name` and a `get()` (a custom
   * collector); throws if another is registered under its name.
   */
  registerMetric(metric: RegisteredMetric | CustomMetric): void {
    const existing = this.byName.get(metric.name);
    if (existing === metric) return;
    if (existing !== undefined) throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    if (!onEngine(metric)) {
      this.objects.add(metric);
      this.byName.set(metric.name, metric);
      return;
    }
    try {
      callNative(() => binding.listMetric(this.engine.id, metric.engine.id));
    } catch {
      // Another metric of this registry exposes a sample of the same name.
      throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    }
    this.byName.set(metric.name, metric);
  }

  /** @internal Records a metric that was defined in this registry. */
  adopt(metric: RegisteredMetric): void {
    this.byName.set(metric.name, metric);
  }

  /** Unlists the metric registered under `name`. */
  removeSingleMetric(name: string): void {
    const metric = this.byName.get(name);
    if (metric !== undefined && !onEngine(metric)) this.objects.delete(metric);
    else callNative(() => binding.unlistMetric(this.engine.id, name));
    this.byName.delete(name);
  }

  /** Removes every metric and the default labels. */
  clear(): void {
    this.engine.clear();
    this.givenValues.forget();
    this.setDefaultLabels({});
    this.byName.clear();
    this.objects.clear();
  }

  /** Resets every registered metric. */
  resetMetrics(): void {
    for (const metric of this.byName.values()) metric.reset?.();
  }

  /** Labels added to every series; values are converted with String(), as prom-client writes them. */
  setDefaultLabels(labels: Record<string, string | number>): void {
    this.givenValues.noteAll(labels);
    const converted = Object.fromEntries(Object.entries(labels).map(([name, value]) => [name, String(value)]));
    this.engine.setDefaultLabels(converted);
    this.defaultLabels = converted;
  }

  /**
   * A registry holding the metrics of several getMetricsAsJSON() results, each metric
   * combined with its `aggregator` (which, as in prom-client, it must have): how a
   * cluster's metrics are put together. On Registry itself since @prometheus-io/client
   * 0.16 (prom-client 15 has it on AggregatorRegistry only).
   */
  static aggregate<T extends RegistryContentType = RegistryContentType>(
    metricsArr: readonly object[],
    registryType: T = PROMETHEUS_CONTENT_TYPE as T,
  ): Registry<T> {
    const aggregated = new Registry<T>(registryType);
    const byName = new Map<string, MetricData[]>();
    for (const metrics of metricsArr as MetricData[][]) {
      for (const metric of metrics) {
        const group = byName.get(metric.name);
        if (group === undefined) byName.set(metric.name, [metric]);
        else group.push(metric);
      }
    }
    for (const metrics of byName.values()) {
      const name = metrics[0].aggregator;
      const aggregate = name !== undefined && Object.hasOwn(aggregators, name) ? aggregators[name] : undefined;
      if (typeof aggregate !== 'function') throw new Error(`'${name}' is not a defined aggregator.`);
      const metric = aggregate(metrics);
      // The 'omit' aggregator gives nothing.
      if (metric !== undefined) aggregated.registerMetric({ ...metric, get: () => metric });
    }
    return aggregated;
  }

  /** A registry holding the metrics of all of these (of one content type). */
  static merge<T extends RegistryContentType = PrometheusContentType>(registers: Registry<T>[]): Registry<T> {
    const type = registers[0].contentType;
    if (registers.some((registry) => registry.contentType !== type)) {
      throw new Error('Registers can only be merged if they have the same content type');
    }
    const merged = new Registry<T>(type);
    for (const registry of registers) {
      for (const metric of registry.getMetricsAsArray()) merged.registerMetric(metric);
      // Metrics the engine defined there without an object of this entry (collectDefaultMetrics()'s) come along too.
      for (const id of binding.listedMetrics(registry.engine.id)) callNative(() => binding.listMetric(merged.engine.id, id));
    }
    return merged;
  }
}

/**
 * The registries `setRegistries()` takes (one or an array), as a list; prom-client's
 * TypeError for anything else.
 */
export function registryList(regs: AnyRegistry | AnyRegistry[]): AnyRegistry[] {
  const list = Array.isArray(regs) ? regs : [regs];
  for (const registry of list) {
    if (!(registry instanceof Registry)) throw new TypeError(`Expected Registry, got ${typeof registry}`);
  }
  return list;
}

/** prom-client's `register`: slotmetrics' default registry. */
export const globalRegistry = new Registry<RegistryContentType>(PROMETHEUS_CONTENT_TYPE, defaultEngineRegistry);
Registry.globalRegistry = globalRegistry;
