// A Meter: the instruments of one instrumentation scope (a library's name, version and
// schema URL). Its instruments are made by the provider, which keeps their identity.

import type {
  BatchObservableCallback,
  Counter,
  Gauge,
  Histogram,
  Meter,
  MetricOptions,
  Observable,
  ObservableCounter,
  ObservableGauge,
  ObservableUpDownCounter,
  UpDownCounter,
} from '@opentelemetry/api';

/** The instrument kinds of the API, as `create*` names them. */
export type InstrumentKind =
  | 'counter'
  | 'upDownCounter'
  | 'gauge'
  | 'histogram'
  | 'observableCounter'
  | 'observableUpDownCounter'
  | 'observableGauge';

/** An instrumentation scope: what `getMeter(name, version, { schemaUrl })` names. */
export interface Scope {
  readonly name: string;
  readonly version: string;
  readonly schemaUrl: string;
}

/** What a meter needs of its provider. */
export interface InstrumentMaker {
  instrument(scope: Scope, kind: InstrumentKind, name: unknown, options: MetricOptions | undefined): unknown;
  addBatchObservableCallback(callback: BatchObservableCallback, observables: readonly Observable[]): void;
  removeBatchObservableCallback(callback: BatchObservableCallback, observables: readonly Observable[]): void;
}

/**
 * A `Meter` of `@opentelemetry/api` whose instruments record into slot memory; what
 * `MeterProvider.getMeter()` gives.
 */
export class SlotMeter implements Meter {
  /** @internal */
  constructor(
    private readonly maker: InstrumentMaker,
    /** The instrumentation scope its instruments' series carry. */
    readonly scope: Scope,
  ) {}

  createCounter(name: string, options?: MetricOptions): Counter {
    return this.maker.instrument(this.scope, 'counter', name, options) as Counter;
  }

  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    return this.maker.instrument(this.scope, 'upDownCounter', name, options) as UpDownCounter;
  }

  createGauge(name: string, options?: MetricOptions): Gauge {
    return this.maker.instrument(this.scope, 'gauge', name, options) as Gauge;
  }

  createHistogram(name: string, options?: MetricOptions): Histogram {
    return this.maker.instrument(this.scope, 'histogram', name, options) as Histogram;
  }

  createObservableCounter(name: string, options?: MetricOptions): ObservableCounter {
    return this.maker.instrument(this.scope, 'observableCounter', name, options) as ObservableCounter;
  }

  createObservableUpDownCounter(name: string, options?: MetricOptions): ObservableUpDownCounter {
    return this.maker.instrument(this.scope, 'observableUpDownCounter', name, options) as ObservableUpDownCounter;
  }

  createObservableGauge(name: string, options?: MetricOptions): ObservableGauge {
    return this.maker.instrument(this.scope, 'observableGauge', name, options) as ObservableGauge;
  }

  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.maker.addBatchObservableCallback(callback, observables);
  }

  removeBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.maker.removeBatchObservableCallback(callback, observables);
  }
}
