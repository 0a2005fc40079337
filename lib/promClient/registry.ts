// prom-client's Registry on the engine: each is a slotmetrics registry, and the global
// one is slotmetrics' default `registry`, so `serve()` exposes prom-client metrics too.

import { binding, callNative } from '../native';
import {
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  Registry as EngineRegistry,
  registry as defaultEngineRegistry,
  type MetricJSON,
} from '../registry';
import type { Metric } from './metric';
import { promClientSample, type PromClientSample } from './samples';
import { ExpositionFormat } from '../../index.js';

export type RegistryContentType = typeof PROMETHEUS_CONTENT_TYPE | typeof OPENMETRICS_CONTENT_TYPE;

// Any metric of this entry, whatever its type and labels.
type AnyMetric = Metric<string, unknown>;

export class Registry {
  static readonly PROMETHEUS_CONTENT_TYPE = PROMETHEUS_CONTENT_TYPE;
  static readonly OPENMETRICS_CONTENT_TYPE = OPENMETRICS_CONTENT_TYPE;

  /** @internal The slotmetrics registry holding this one's metrics. */
  readonly engine: EngineRegistry;
  private readonly byName = new Map<string, AnyMetric>();
  private type: RegistryContentType;

  constructor(contentType: RegistryContentType = PROMETHEUS_CONTENT_TYPE, engine?: EngineRegistry) {
    if (contentType !== PROMETHEUS_CONTENT_TYPE && contentType !== OPENMETRICS_CONTENT_TYPE) {
      throw new TypeError(`Content type ${contentType} is unsupported`);
    }
    this.type = contentType;
    this.engine = engine ?? new EngineRegistry();
  }

  get contentType(): RegistryContentType {
    return this.type;
  }

  setContentType(contentType: RegistryContentType): void {
    if (contentType !== PROMETHEUS_CONTENT_TYPE && contentType !== OPENMETRICS_CONTENT_TYPE) {
      throw new Error(`Content type ${contentType} is unsupported`);
    }
    this.type = contentType;
  }

  private get format(): 'prometheus' | 'openmetrics' {
    return this.type === OPENMETRICS_CONTENT_TYPE ? 'openmetrics' : 'prometheus';
  }

  /** Runs the `collect` callbacks of these metrics (all of this registry's if none given). */
  private async collect(metrics: Iterable<AnyMetric> = this.byName.values()): Promise<void> {
    await Promise.all([...metrics].map((metric) => metric.collect?.()));
  }

  /** The exposition of every metric: `collect` callbacks first, then text rendered off the event loop. */
  async metrics(): Promise<string> {
    await this.collect();
    const text = await this.engine.metrics({ format: this.format });
    // With no metric at all, prom-client still writes its separators.
    if (text === '') return '\n';
    return text === '# EOF\n' ? '\n# EOF\n' : text;
  }

  async getMetricsAsJSON(): Promise<(Omit<MetricJSON, 'values'> & { values: PromClientSample[] })[]> {
    await this.collect();
    const metrics = await this.engine.getMetricsAsJSON();
    return metrics.map((metric) => ({ ...metric, values: metric.values.map(promClientSample) }));
  }

  getMetricsAsArray(): AnyMetric[] {
    return [...this.byName.values()];
  }

  getSingleMetric(name: string): AnyMetric | undefined {
    return this.byName.get(name);
  }

  /** One metric's text as prom-client gives it: without the final newline or `# EOF`. */
  async getSingleMetricAsString(name: string): Promise<string> {
    const metric = this.byName.get(name);
    // prom-client's own failure for an unknown name.
    if (metric === undefined) throw new TypeError(`Cannot read properties of undefined (reading 'getForPromString')`);
    await this.collect([metric]);
    const format = this.format === 'openmetrics' ? ExpositionFormat.OpenMetrics : ExpositionFormat.Prometheus;
    const text = await binding.renderMetrics(format, this.engine.id, metric.engine.id);
    return text.replace(/\n(# EOF\n)?$/, '');
  }

  registerMetric(metric: AnyMetric): void {
    const existing = this.byName.get(metric.name);
    if (existing === metric) return;
    if (existing !== undefined) throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    try {
      callNative(() => binding.listMetric(this.engine.id, metric.engine.id));
    } catch {
      // Another metric of this registry exposes a sample of the same name.
      throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    }
    this.byName.set(metric.name, metric);
  }

  /** @internal Records a metric that was defined in this registry. */
  adopt(metric: AnyMetric): void {
    this.byName.set(metric.name, metric);
  }

  removeSingleMetric(name: string): void {
    callNative(() => binding.unlistMetric(this.engine.id, name));
    this.byName.delete(name);
  }

  /** Removes every metric and the default labels. */
  clear(): void {
    this.engine.clear();
    this.engine.setDefaultLabels({});
    this.byName.clear();
  }

  resetMetrics(): void {
    for (const metric of this.byName.values()) metric.reset();
  }

  /** Labels added to every series; values are converted with String(), as prom-client writes them. */
  setDefaultLabels(labels: Record<string, string | number>): void {
    this.engine.setDefaultLabels(Object.fromEntries(Object.entries(labels).map(([name, value]) => [name, String(value)])));
  }

  /** A registry holding the metrics of all of these (of one content type). */
  static merge(registers: Registry[]): Registry {
    const type = registers[0].contentType;
    if (registers.some((registry) => registry.contentType !== type)) {
      throw new Error('Registers can only be merged if they have the same content type');
    }
    const merged = new Registry(type);
    for (const registry of registers) {
      for (const metric of registry.getMetricsAsArray()) merged.registerMetric(metric);
    }
    return merged;
  }
}

/** prom-client's `register`: slotmetrics' default registry. */
export const globalRegistry = new Registry(PROMETHEUS_CONTENT_TYPE, defaultEngineRegistry);
