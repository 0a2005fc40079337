import { binding, callNative } from './native';
import { checkStringRecord } from './validate';
import { ExpositionFormat } from '../index.js';

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
}

/** One metric of `getMetricsAsJSON()`, in prom-client's shape. */
export interface MetricJSON {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: MetricSampleJSON[];
  aggregator: 'sum';
}

/** The process-wide registry: every metric of every thread. */
export class Registry {
  /**
   * The exposition text, the same `serve()` answers with. It is rendered on a libuv
   * worker thread, so the event loop only receives the finished string.
   */
  metrics(options: MetricsOptions = {}): Promise<string> {
    const format = options.format ?? 'prometheus';
    if (!Object.hasOwn(NATIVE_FORMAT, format)) {
      return Promise.reject(
        new TypeError(`format must be 'prometheus' or 'openmetrics', got ${JSON.stringify(format)}`),
      );
    }
    return binding.renderMetrics(NATIVE_FORMAT[format]);
  }

  /**
   * Every metric with its samples as objects, in prom-client's `getMetricsAsJSON()`
   * shape (seed 003's JSON export); collected off the event loop like `metrics()`.
   */
  getMetricsAsJSON(): Promise<MetricJSON[]> {
    return binding.metricsData() as Promise<MetricJSON[]>;
  }

  /**
   * Labels added to every series of every metric at scrape time, replacing the
   * previous defaults (`{}` clears them). A metric's own label of the same name wins.
   */
  setDefaultLabels(labels: Readonly<Record<string, string>>): void {
    checkStringRecord('registry.setDefaultLabels()', 'labels', labels);
    callNative(() => binding.setDefaultLabels(Object.entries(labels).map(([name, value]) => ({ name, value }))));
  }

  /** The Content-Type header to send with `metrics({ format })`. */
  contentType(format: Format = 'prometheus'): string {
    return format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
  }
}

export const registry = new Registry();
