// The OpenTelemetry instruments over slot memory. A measurement finds its series'
// handle by the content of its attributes (attributes.ts) and is one typed-array store,
// as any slotmetrics update is. Nothing here throws at the caller: what the
// specification says to drop is dropped with a warning (warnings.ts).

import type {
  Attributes,
  BatchObservableResult,
  Context,
  Counter,
  Gauge,
  Histogram,
  Observable,
  ObservableCallback,
  ObservableResult,
  UpDownCounter,
} from '@opentelemetry/api';
import type { Counter as CounterHandle } from '../metrics/counter';
import type { FloatGauge } from '../metrics/gauge';
import type { Histogram as HistogramHandle } from '../metrics/histogram';
import type { SeriesTable } from './attributes';
import { warnOnce } from './warnings';

/** Where one instrument's measurements go: its series, and how it takes values. */
export interface Stream<H> {
  /** The instrument's name, for warnings. */
  readonly instrument: string;
  readonly table: SeriesTable<H>;
  /** Declared with `valueType: ValueType.INT`: fractions are cut off, with a warning. */
  readonly integer: boolean;
  /** Leaves an exemplar of a measurement, when exemplars are on. */
  readonly exemplar?: (handle: H, value: number, context: Context | undefined) => void;
}

/** Drops a measurement the instrument cannot take, saying so once. */
function drop(stream: { readonly instrument: string }, method: string, value: unknown, rule: string): void {
  const what = typeof value === 'number' ? String(value) : typeof value;
  warnOnce(
    `${stream.instrument}:${method}:${rule}`,
    `instrument "${stream.instrument}" ${method}(): ${rule}, got ${what}; the measurement was dropped`,
  );
}

/** `value` as an integer instrument records it. */
function integral(stream: { readonly instrument: string }, value: number): number {
  const whole = Math.trunc(value);
  if (whole !== value) {
    warnOnce(`${stream.instrument}:fraction`, `instrument "${stream.instrument}" has valueType INT and was given ${value}; fractions are cut off`);
  }
  return whole;
}

export class SlotCounter implements Counter {
  private readonly table: SeriesTable<CounterHandle>;
  private readonly integer: boolean;
  private readonly exemplar: Stream<CounterHandle>['exemplar'];

  constructor(private readonly stream: Stream<CounterHandle>) {
    this.table = stream.table;
    this.integer = stream.integer;
    this.exemplar = stream.exemplar;
  }

  add(value: number, attributes?: Attributes, context?: Context): void {
    if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
      drop(this.stream, 'add', value, 'a counter only goes up, by a finite number >= 0');
      return;
    }
    const handle = this.table.handle(attributes);
    const amount = this.integer ? integral(this.stream, value) : value;
    handle.add(amount);
    if (this.exemplar !== undefined) this.exemplar(handle, amount, context);
  }
}

export class SlotUpDownCounter implements UpDownCounter {
  private readonly table: SeriesTable<FloatGauge>;
  private readonly integer: boolean;

  constructor(private readonly stream: Stream<FloatGauge>) {
    this.table = stream.table;
    this.integer = stream.integer;
  }

  add(value: number, attributes?: Attributes, _context?: Context): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      drop(this.stream, 'add', value, 'an up-down counter takes a finite number');
      return;
    }
    this.table.handle(attributes).inc(this.integer ? integral(this.stream, value) : value);
  }
}

export class SlotGauge implements Gauge {
  private readonly table: SeriesTable<FloatGauge>;
  private readonly integer: boolean;

  constructor(private readonly stream: Stream<FloatGauge>) {
    this.table = stream.table;
    this.integer = stream.integer;
  }

  record(value: number, attributes?: Attributes, _context?: Context): void {
    if (typeof value !== 'number' || Number.isNaN(value)) {
      drop(this.stream, 'record', value, 'a gauge takes a number other than NaN');
      return;
    }
    this.table.handle(attributes).set(this.integer ? integral(this.stream, value) : value);
  }
}

export class SlotHistogram implements Histogram {
  private readonly table: SeriesTable<HistogramHandle>;
  private readonly integer: boolean;
  private readonly exemplar: Stream<HistogramHandle>['exemplar'];

  constructor(private readonly stream: Stream<HistogramHandle>) {
    this.table = stream.table;
    this.integer = stream.integer;
    this.exemplar = stream.exemplar;
  }

  record(value: number, attributes?: Attributes, context?: Context): void {
    if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
      drop(this.stream, 'record', value, 'a histogram takes a finite number >= 0');
      return;
    }
    const handle = this.table.handle(attributes);
    const observed = this.integer ? integral(this.stream, value) : value;
    handle.observe(observed);
    if (this.exemplar !== undefined) this.exemplar(handle, observed, context);
  }
}

/** How an observable instrument writes what its callbacks observe into a series' handle. */
export type ObservedWriter<H> = (handle: H, value: number) => void;

/** One stream an observable instrument records into (one per view that selects it). */
export interface ObservedStream {
  readonly stream: Stream<unknown>;
  /** The metric its series belong to (its id read when needed: a cleared registry defines it again). */
  readonly metric: { readonly id: number };
  readonly write: ObservedWriter<unknown>;
}

/** A series an observable instrument's stream stopped observing. */
export interface Unobserved {
  readonly stream: Stream<unknown>;
  readonly metric: { readonly id: number };
  readonly handle: unknown;
}

/**
 * An observable instrument: its callbacks run before every read of its registry
 * (observations.ts), and each observed value is written to its series in every stream.
 * A series no callback observed in a collection is dropped from the exposition, as
 * the specification says, and comes back when it is observed again.
 */
export class SlotObservable implements Observable {
  /** Per stream, the series observed in the collection under way (or the last one). */
  private observed: Set<unknown>[];
  /** Per stream, the series observed in the collection before it. */
  private previous: Set<unknown>[];

  /** @internal */
  constructor(
    private readonly streams: readonly ObservedStream[],
    private readonly accepts: (value: number) => boolean,
    private readonly rule: string,
    private readonly callbacks: ObservableCallbacks,
  ) {
    this.observed = streams.map(() => new Set());
    this.previous = this.observed;
  }

  addCallback(callback: ObservableCallback): void {
    this.callbacks.add(this, callback);
  }

  removeCallback(callback: ObservableCallback): void {
    this.callbacks.remove(this, callback);
  }

  /** @internal A collection starts: what is observed from now on is its. */
  begin(): void {
    this.previous = this.observed;
    this.observed = this.streams.map(() => new Set());
  }

  /** @internal Records one observation of the collection under way, in every stream. */
  observe(value: unknown, attributes: Attributes | undefined): void {
    if (typeof value !== 'number' || !this.accepts(value)) {
      drop(this.streams[0].stream, 'observe', value, this.rule);
      return;
    }
    this.streams.forEach(({ stream, write }, at) => {
      const handle = stream.table.handle(attributes);
      write(handle, stream.integer ? integral(stream, value) : value);
      this.observed[at].add(handle);
    });
  }

  /** @internal The series observed in the last collection but not in this one. */
  unobserved(): Unobserved[] {
    return this.streams.flatMap(({ stream, metric }, at) =>
      [...this.previous[at]].filter((handle) => !this.observed[at].has(handle)).map((handle) => ({ stream, metric, handle })),
    );
  }
}

/** What an observable instrument's callbacks are registered with (observations.ts). */
export interface ObservableCallbacks {
  add(instrument: SlotObservable, callback: ObservableCallback): void;
  remove(instrument: SlotObservable, callback: ObservableCallback): void;
}

/** The `ObservableResult` one callback of `instrument` is given in one collection. */
export function observableResult(instrument: SlotObservable): ObservableResult {
  return { observe: (value, attributes) => instrument.observe(value, attributes) };
}

/**
 * The `BatchObservableResult` of one batch callback in one collection: it observes
 * the instruments it was registered with, and drops (with a warning) the others.
 */
export function batchObservableResult(instruments: ReadonlySet<Observable>): BatchObservableResult {
  return {
    observe: (observable, value, attributes) => {
      if (observable instanceof SlotObservable && instruments.has(observable)) {
        observable.observe(value, attributes);
      } else {
        warnOnce('batch:unlisted', 'a batch observable callback observed an instrument it was not registered with; the observation was dropped');
      }
    },
  };
}
