import { binding, callNative } from '../base/native';
import { checkOptions, checkStringRecord, describeValue } from '../base/validate';
import { ExpositionFormat } from '../../index.js';

export type Format = 'prometheus' | 'openmetrics';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

const NATIVE_FORMAT: Record<Format, ExpositionFormat> = {
  prometheus: ExpositionFormat.Prometheus,
  openmetrics: ExpositionFormat.OpenMetrics,
};

export interface MetricsOptions {
  /** `'prometheus'` (text 0.0.4, the default) or `'openmetrics'` (OpenMetrics 1.0). */
  format?: Format;
}

/** One sample of `getMetricsAsJSON()`. */
export interface MetricSampleJSON {
  value: number;
  labels: Record<string, string>;
  /** A histogram sample's own name: `<name>_bucket`, `_sum` or `_count`. */
  metricName?: string;
  /** The last exemplar of a counter series or histogram bucket, if one was set. */
  exemplar?: ExemplarJSON;
}

/** An exemplar: the labels (a trace id, say) of one recent observation. */
export interface ExemplarJSON {
  labelSet: Record<string, string>;
  value: number;
  /** Seconds since the Unix epoch, to the millisecond. */
  timestamp: number;
}

/** One metric of `getMetricsAsJSON()`, in prom-client's shape. */
export interface MetricJSON {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  values: MetricSampleJSON[];
  aggregator: 'sum';
}

export interface RegistryOptions {
  /** Prepended to the name of every metric built into this registry. */
  prefix?: string;
  /** Labels on every series of this registry (see `setDefaultLabels()`). */
  defaultLabels?: Readonly<Record<string, string>>;
}

const METRIC_NAME_PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/** Marks the construction of the default registry, which the addon already has. */
const DEFAULT_REGISTRY = Symbol('default registry');

/**
 * A set of metrics exposed together. The default `registry` holds every metric not
 * built into another one, from every thread; `new Registry()` makes an isolated set
 * (a registry per service, say) with its own names, prefix and default labels, which
 * `serve({ registry })`, `metrics()` and the exporters expose on their own.
 */
export class Registry {
  /** @internal The addon's id of this registry. */
  readonly id: number;
  readonly prefix: string;
  private readonly clearListeners: (() => void)[] = [];

  constructor(options: RegistryOptions = {}, internal?: typeof DEFAULT_REGISTRY) {
    checkOptions('new Registry()', options, ['prefix', 'defaultLabels']);
    const { prefix = '', defaultLabels } = options as RegistryOptions;
    if (typeof prefix !== 'string' || !METRIC_NAME_PREFIX.test(prefix)) {
      throw new TypeError(`new Registry(): prefix must be the start of a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${describeValue(prefix)}`);
    }
    this.prefix = prefix;
    this.id = internal === DEFAULT_REGISTRY ? 0 : binding.createRegistry();
    if (defaultLabels !== undefined) this.setDefaultLabels(defaultLabels);
  }

  /**
   * The exposition text, the same `serve()` answers with. It is rendered on a libuv
   * worker thread, so the event loop only receives the finished string.
   */
  metrics(options: MetricsOptions = {}): Promise<string> {
    try {
      checkOptions('registry.metrics()', options, ['format']);
    } catch (error) {
      return Promise.reject(error);
    }
    const format = options.format === undefined ? 'prometheus' : options.format;
    if (typeof format !== 'string' || !Object.hasOwn(NATIVE_FORMAT, format)) {
      return Promise.reject(new TypeError(`registry.metrics(): format must be 'prometheus' or 'openmetrics', got ${describeValue(format)}`));
    }
    return binding.renderMetrics(NATIVE_FORMAT[format as Format], this.id);
  }

  /**
   * Every metric with its samples as objects, in prom-client's `getMetricsAsJSON()`
   * shape (seed 003's JSON export); collected off the event loop like `metrics()`.
   */
  getMetricsAsJSON(): Promise<MetricJSON[]> {
    return binding.metricsData(this.id) as Promise<MetricJSON[]>;
  }

  /**
   * Labels added to every series of every metric at scrape time, replacing the
   * previous defaults (`{}` clears them). A metric's own label of the same name wins.
   */
  setDefaultLabels(labels: Readonly<Record<string, string>>): void {
    checkStringRecord('registry.setDefaultLabels()', 'labels', labels);
    callNative(() =>
      binding.setDefaultLabels(
        this.id,
        Object.entries(labels).map(([name, value]) => ({ name, value })),
      ),
    );
  }

  /**
   * Removes every metric from this registry (prom-client's `clear()`), so their names
   * can be defined again. Handles already made keep working but are no longer exposed;
   * their memory is not reclaimed, since any thread may still hold them.
   */
  clear(): void {
    callNative(() => binding.clearRegistry(this.id));
    for (const listener of this.clearListeners) listener();
  }

  /** `reset()` on every metric of this registry (prom-client's `resetMetrics()`). */
  resetMetrics(): void {
    callNative(() => binding.resetRegistry(this.id));
  }

  /** @internal Runs `listener` after each `clear()` in this thread (caches of built metrics). */
  onClear(listener: () => void): void {
    this.clearListeners.push(listener);
  }

  /** The Content-Type header to send with `metrics({ format })`. */
  contentType(format: Format = 'prometheus'): string {
    return format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
  }
}

/** The default registry: every metric of every thread not built into another registry. */
export const registry = new Registry({}, DEFAULT_REGISTRY);

/** The registry an option names, or the default one; anything else is a TypeError. */
export function registryOption(call: string, value: unknown): Registry {
  if (value === undefined) return registry;
  if (!(value instanceof Registry)) throw new TypeError(`${call}: registry must be a Registry, got ${describeValue(value)}`);
  return value;
}
