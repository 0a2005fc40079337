import { binding, callNative } from '../base/native';
import { runCollectors } from '../base/collectors';
import { flushPendingUpdates } from '../base/pending';
import { checkOptions, checkStringRecord, describeValue } from '../base/validate';

/** Text 0.0.4, OpenMetrics 1.0, or Prometheus protobuf (the one with native histograms). */
export type Format = 'prometheus' | 'openmetrics' | 'protobuf';
/** The text formats: text 0.0.4 or OpenMetrics 1.0. */
export type TextFormat = Exclude<Format, 'protobuf'>;

// The Content-Type of each format as `serve()` answers it, names escaped with the
// default scheme (Prometheus's content negotiation spec).
/** The `Content-Type` of text 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** The `Content-Type` of OpenMetrics 1.0, names escaped with underscores. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores';
/** The `Content-Type` of Prometheus protobuf, length-delimited `MetricFamily` messages. */
export const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores';

const CONTENT_TYPES: Record<Format, string> = {
  prometheus: PROMETHEUS_CONTENT_TYPE,
  openmetrics: OPENMETRICS_CONTENT_TYPE,
  protobuf: PROTOBUF_CONTENT_TYPE,
};

/** The `Accept` header that asks for exactly one format. */
const ACCEPT: Record<Format, string> = {
  prometheus: 'text/plain;version=0.0.4',
  openmetrics: 'application/openmetrics-text;version=1.0.0',
  protobuf: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
};

/** `registry.metrics()`'s options. */
export interface MetricsOptions<F extends Format = Format> {
  /** `'prometheus'` (text 0.0.4, the default), `'openmetrics'` (OpenMetrics 1.0) or `'protobuf'`. */
  format?: F;
}

/** A scrape's answer: the body and the `Content-Type` to send it with. */
export interface Exposition {
  /** The header to send the body with. */
  contentType: string;
  /** Text for the text formats; bytes (length-delimited `MetricFamily` messages) for protobuf. */
  body: string | Uint8Array;
}

/** One sample of `getMetricsAsJSON()`. */
export interface MetricSampleJSON {
  /** The sample's value. */
  value: number;
  /** Its labels, default labels included. */
  labels: Record<string, string>;
  /** A histogram sample's own name: `<name>_bucket`, `_sum` or `_count`. */
  metricName?: string;
  /** The last exemplar of a counter series or histogram bucket, if one was set. */
  exemplar?: ExemplarJSON;
}

/** An exemplar: the labels (a trace id, say) of one recent observation. */
export interface ExemplarJSON {
  /** Its labels. */
  labelSet: Record<string, string>;
  /** The observed value (a counter's: its increment). */
  value: number;
  /** Seconds since the Unix epoch, to the millisecond. */
  timestamp: number;
}

/** One metric of `getMetricsAsJSON()`, in prom-client's shape. */
export interface MetricJSON {
  /** The metric's name. */
  name: string;
  /** Its HELP text. */
  help: string;
  /** Its type. */
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  /** Its samples. */
  values: MetricSampleJSON[];
  /** Always `'sum'`, as prom-client writes it. */
  aggregator: 'sum';
}

/** `new Registry()`'s options. */
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
 *
 * @example
 * ```js
 * const billing = new Registry({ prefix: 'billing_', defaultLabels: { service: 'billing' } });
 * counterSchema('invoices_total').build({ registry: billing }).increment();
 * await serve({ port: 9465, registry: billing });
 * ```
 */
export class Registry {
  /** @internal The addon's id of this registry. */
  readonly id: number;
  /** What goes before each metric's name. */
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
   * The exposition, the same `serve()` answers with: text, or bytes for `'protobuf'`.
   * It is rendered on a libuv worker thread, so the event loop only receives the
   * finished result. This thread's collectors (prom-client `collect` callbacks,
   * OpenTelemetry observable callbacks) run first.
   */
  metrics(options?: MetricsOptions<TextFormat>): Promise<string>;
  metrics(options: MetricsOptions<'protobuf'>): Promise<Uint8Array>;
  metrics(options?: MetricsOptions): Promise<string | Uint8Array>;
  async metrics(options: MetricsOptions = {}): Promise<string | Uint8Array> {
    checkOptions('registry.metrics()', options, ['format']);
    const format = options.format === undefined ? 'prometheus' : options.format;
    if (typeof format !== 'string' || !Object.hasOwn(ACCEPT, format)) {
      throw new TypeError(`registry.metrics(): format must be 'prometheus', 'openmetrics' or 'protobuf', got ${describeValue(format)}`);
    }
    return (await this.scrape(ACCEPT[format as Format])).body;
  }

  /**
   * The exposition in the format a scraper's `Accept` header asks for, chosen as
   * `serve()` chooses it (Prometheus's content negotiation: the supported format with
   * the highest weight, text 0.0.4 when none is supported or the header is missing),
   * with its `Content-Type`. For a `/metrics` route of your own.
   */
  async scrape(accept = ''): Promise<Exposition> {
    if (typeof accept !== 'string') throw new TypeError(`registry.scrape(): accept must be a string, got ${describeValue(accept)}`);
    await runCollectors(this.id);
    flushPendingUpdates();
    const rendered = await binding.renderMetrics(accept, this.id);
    return { contentType: rendered.contentType, body: rendered.text ?? (rendered.bytes as Uint8Array) };
  }

  /**
   * Every metric with its samples as objects, in prom-client's `getMetricsAsJSON()`
   * shape (seed 003's JSON export); collected off the event loop like `metrics()`.
   */
  async getMetricsAsJSON(): Promise<MetricJSON[]> {
    await runCollectors(this.id);
    flushPendingUpdates();
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
    flushPendingUpdates();
    callNative(() => binding.clearRegistry(this.id));
    for (const listener of this.clearListeners) listener();
  }

  /** `reset()` on every metric of this registry (prom-client's `resetMetrics()`). */
  resetMetrics(): void {
    flushPendingUpdates();
    callNative(() => binding.resetRegistry(this.id));
  }

  /** @internal Runs `listener` after each `clear()` in this thread (caches of built metrics). */
  onClear(listener: () => void): void {
    this.clearListeners.push(listener);
  }

  /** The Content-Type header to send with `metrics({ format })`. */
  contentType(format: Format = 'prometheus'): string {
    if (!Object.hasOwn(CONTENT_TYPES, format)) {
      throw new TypeError(`registry.contentType(): format must be 'prometheus', 'openmetrics' or 'protobuf', got ${describeValue(format)}`);
    }
    return CONTENT_TYPES[format];
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
