// What prom-client's Counter, Gauge, Histogram and Summary share, on the slotmetrics engine:
// configuration checks with prom-client's messages, registration in registries, label
// sets that may leave labels out, and get() in prom-client's shape.

import { format } from 'node:util';
import { dropOrThrow, type MetricSchema, type MetricType } from '../metrics/schema';
import { binding, callNative } from '../base/native';
import { addCollector } from '../base/collectors';
import { flushPendingUpdates } from '../base/pending';
import type { MetricJSON } from '../exposition/registry';
import { type AnyRegistry, globalRegistry, type RegisteredMetric, Registry } from './registry';
import { type CacheLevel, cacheUnder, type SeriesSource } from '../metrics/labels';
import { GivenValues, type LabelValues, type MetricObjectWithValues, type MetricTypeName, type MetricValue, promClientSample } from './samples';
import type { Aggregator } from './aggregators';
import { checkExemplarLabels } from './exemplars';
import { type HashMap, hashMapOf } from './hashMap';
import { invalidLabelNames, type NameErrors, PROM_CLIENT_NAME_ERRORS, validateLabel, validateMetricName } from './validation';

/**
 * What a metric is made with, as in prom-client. `T`: its label names; `M`: the metric,
 * which a `collect` callback gets as `this`.
 */
export interface MetricConfiguration<T extends string, M = unknown> {
  /** The metric's name: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  name: string;
  /** Its HELP text (required). */
  help: string;
  /** The names of its labels (default: none). */
  labelNames?: readonly T[];
  /** Registries of either content type (default: the global registry; `[]`: none). */
  registers?: AnyRegistry[];
  /** How `AggregatorRegistry` and a multi-process group combine its processes' values (default `'sum'`). */
  aggregator?: Aggregator;
  /** Runs before the metric is read: set its values here. */
  collect?: (this: M) => void | Promise<void>;
  /** Counters and histograms then take `{ labels, value, exemplarLabels }`; only on OpenMetrics registries. */
  enableExemplars?: boolean;
}

/** The engine handle of one series: what a metric's methods write through. */
type Lookup<H> = (labels: object) => H;

/** prom-client's `getLabels`: label values given as arguments, or an object. */
export function labelsFromArguments<T extends string>(labelNames: readonly T[], args: unknown[]): LabelValues<T> {
  if (typeof args[0] === 'object' && args[0] !== null) return args[0] as LabelValues<T>;
  if (labelNames.length !== args.length) {
    throw new Error(
      `Invalid number of arguments (${args.length}): "${args.join(', ')}" for label names (${labelNames.length}): "${labelNames.join(', ')}".`,
    );
  }
  return Object.fromEntries(labelNames.map((name, i) => [name, args[i]])) as LabelValues<T>;
}

export function invalidNumber(what: 'Value' | 'Delta', value: unknown): TypeError {
  return new TypeError(`${what} is not a valid number: ${format(value)}`);
}

/**
 * Compiles the lookup from a label object to the handle of its series: one Map per
 * label name, keyed by the values as given (a missing label is `undefined`). It
 * reads each label once and checks, by counting, that the object has no other
 * enumerable keys; anything unusual goes to `miss`, which validates and registers.
 */
function compileLookup<H>(labelNames: readonly string[], root: Map<unknown, unknown>, miss: Lookup<H>): Lookup<H> {
  const reads = labelNames.map((name, i) => `const v${i} = labels[${JSON.stringify(name)}];`).join('\n');
  const present = labelNames.map((name) => `+(${JSON.stringify(name)} in labels)`).join(' + ');
  const steps = labelNames.map((_, i) => `const n${i + 1} = n${i}.get(v${i}); if (n${i + 1} === undefined) return miss(labels);`).join('\n');
  const source = `return function lookup(labels) {
    let count = 0;
    for (const _ in labels) count++;
    if (count !== ${present}) return miss(labels);
    ${reads}
    const n0 = root;
    ${steps}
    return n${labelNames.length};
  };`;
  try {
    return new Function('root', 'miss', source)(root, miss) as Lookup<H>;
  } catch {
    // Code generation from strings is disabled: the same walk as a loop.
    return (labels) => {
      let count = 0;
      for (const _ in labels) count++;
      if (count !== labelNames.filter((name) => name in labels).length) return miss(labels);
      let node: unknown = root;
      for (const name of labelNames) {
        node = (node as CacheLevel).get((labels as Record<string, unknown>)[name]);
        if (node === undefined) return miss(labels);
      }
      return node as H;
    };
  }
}

/** The engine side of a prom-client metric: its family (or handle) and its id. */
export interface EngineMetric<H> {
  id: number;
  /** The handle of the one series of a metric without labels. */
  handle?: H;
  /** The handles of the label sets of a metric with labels, as values in label-name order ('' for one left out). */
  source?: SeriesSource<H>;
  remove?: (labels: Record<string, string>) => void;
  zero?: (labels: Record<string, string>) => void;
}

// Metrics built with `registers: []`: defined in a registry that is never exposed (nor
// keeps them: they are garbage once their holder drops them), made on first use.
let unexposed: Registry | undefined;
function unexposedRegistry(): Registry {
  unexposed ??= new Registry();
  return unexposed;
}

// This thread's metrics with `collect` callbacks, run before every read of a registry
// they are in (base/collectors.ts), whether JS or the engine reads it.
const collecting = new Set<Metric<string, unknown>>();

function runCollectCallbacks(registryId: number): Promise<void> {
  const due = [...collecting].filter((metric) =>
    metric.registers.some((registry) => registry.engine.id === registryId && registry.getSingleMetric(metric.name) === metric),
  );
  return Promise.all(due.map((metric) => metric.collect!())).then(() => undefined);
}

/** What prom-client's `Counter`, `Gauge`, `Histogram` and `Summary` share. */
export abstract class Metric<T extends string, H> implements RegisteredMetric {
  /** @internal How the constructor words a bad name: prom-client 15's, or 0.16's on slotmetrics/client. */
  static readonly nameErrors: NameErrors = PROM_CLIENT_NAME_ERRORS;
  /** The metric's name, as given. */
  readonly name: string;
  /** Its HELP text. */
  readonly help: string;
  /** Its label names, in the order `labels(...)` takes their values. */
  readonly labelNames: readonly T[];
  /** The registries it is in. */
  readonly registers: AnyRegistry[];
  /** How its processes' values are combined. */
  readonly aggregator: Aggregator;
  /** Called as a method: the metric is its `this`. */
  readonly collect?: () => void | Promise<void>;
  /** Whether updates take exemplars. */
  readonly enableExemplars: boolean;
  abstract readonly type: MetricTypeName;
  /** @internal */
  // `!`: set by the constructor unless it returns the registered metric instead (get-or-create).
  readonly engine!: EngineMetric<H>;
  /** A handle whose writes no scrape reads: what an update dropped for its labels writes to. */
  protected readonly discard!: () => H;
  private readonly root = new Map<unknown, unknown>();
  /**
   * `register()`'s label values as read and as strings, reused: nothing keeps them past
   * the call, and two arrays per new label set were a third of what it allocated.
   */
  private readonly scratchRead: unknown[];
  private readonly scratchValues: string[];
  private registering = false;
  /** @internal Label values given as other than strings, which get() gives back as given. */
  readonly givenValues = new GivenValues();
  /** The handle of a label set; validates it on first use. */
  protected readonly series!: Lookup<H>;

  /** @internal */
  constructor(config: MetricConfiguration<T, never>, kind: MetricType, schema: (name: string) => MetricSchema<MetricType, string>) {
    if (config === null || typeof config !== 'object') throw new TypeError('constructor expected a config object');
    const { name, help, labelNames = [], aggregator = 'sum', collect, enableExemplars } = config;
    // `registers: undefined` (or null) means the global registry, as in prom-client.
    const registers = config.registers ?? [globalRegistry];
    if (!help) throw new Error('Missing mandatory help parameter');
    if (!name) throw new Error('Missing mandatory name parameter');
    const errors = (new.target as unknown as { nameErrors: NameErrors }).nameErrors;
    if (!validateMetricName(name)) throw new Error(errors.metricName(name));
    const invalid = invalidLabelNames(labelNames);
    if (invalid.length > 0) throw new Error(errors.labelNames(invalid));
    if (collect && typeof collect !== 'function') throw new Error('Optional "collect" parameter must be a function');
    if (kind === 'histogram' && labelNames.includes('le' as T)) throw new Error('le is a reserved label keyword');
    if (kind === 'summary' && labelNames.includes('quantile' as T)) throw new Error('quantile is a reserved label keyword');
    this.name = name;
    this.help = help;
    this.labelNames = [...labelNames];
    this.scratchRead = new Array<unknown>(labelNames.length);
    this.scratchValues = new Array<string>(labelNames.length);
    this.registers = [...registers];
    this.aggregator = aggregator;
    this.collect = collect as (() => void | Promise<void>) | undefined;
    this.enableExemplars = Boolean(enableExemplars);

    let built = schema(name).help(help);
    for (const label of this.labelNames) built = built.requireDynamicKey(label);
    for (const registry of this.registers) {
      if (this.enableExemplars && registry.contentType === Registry.PROMETHEUS_CONTENT_TYPE) {
        throw new TypeError('Exemplars are supported only on OpenMetrics registries');
      }
      const existing = registry.getSingleMetric(name);
      if (existing !== undefined) {
        if (binding.errorPolicy().reuseDuplicateMetrics) {
          // biome-ignore lint/correctness/noConstructorReturn: get-or-create (setErrorPolicy({ duplicateMetrics: 'reuse' })) means `new Counter(…)` gives the registered metric, which only a constructor's return can do.
          return this.reuse(existing, registry, built) as this;
        }
        throw new Error(`A metric with the name ${name} has already been registered.`);
      }
    }
    const [home, ...others] = this.registers.length > 0 ? this.registers : [unexposedRegistry()];
    // A metric of no registry is independent of any other of its name: the one defined
    // before under that name stays with whoever holds it, and this one starts from zero.
    if (this.registers.length === 0) home.removeSingleMetric(name);
    const { id, built: metric, discard } = built.define(home.engine, true);
    this.discard = discard as () => H;
    const family = metric as unknown as {
      source?: EngineMetric<H>['source'];
      remove?: EngineMetric<H>['remove'];
      zero?: EngineMetric<H>['zero'];
    };
    this.engine =
      this.labelNames.length === 0
        ? { id, handle: metric as H }
        : { id, source: family.source, remove: family.remove!.bind(family), zero: family.zero!.bind(family) };
    if (this.registers.length > 0) home.adopt(this);
    for (const registry of others) registry.registerMetric(this);
    if (this.collect !== undefined) {
      if (collecting.size === 0) addCollector(runCollectCallbacks);
      collecting.add(this as Metric<string, unknown>);
    }
    const miss = (labels: object) => this.register(labels);
    const handle = this.engine.handle;
    this.series =
      handle === undefined
        ? compileLookup<H>(this.labelNames, this.root, miss)
        : (labels) => {
            for (const _ in labels) return miss(labels); // a label on a metric without labels: the error
            return handle;
          };
  }

  /**
   * The registered metric `existing` of `registry` if this one has its definition: the
   * same type and labels, the same definition in the engine (help, buckets,
   * percentiles, window, aggregation), the same exemplar setting. Else prom-client's
   * error, naming what differs.
   */
  private reuse(existing: object, registry: AnyRegistry, schema: MetricSchema<MetricType, string>): Metric<T, H> {
    const clash = (what: string) => new Error(`A metric with the name ${this.name} has already been registered, ${what}.`);
    if (!(existing instanceof Metric) || Object.getPrototypeOf(existing) !== Object.getPrototypeOf(this)) {
      throw clash(`as a ${existing instanceof Metric ? existing.type : 'custom collector'}`);
    }
    if (existing.labelNames.join() !== this.labelNames.join()) throw clash(`with the labels [${existing.labelNames.join(', ')}]`);
    if (existing.enableExemplars !== this.enableExemplars) throw clash(`with exemplars ${existing.enableExemplars ? 'enabled' : 'disabled'}`);
    if (existing.aggregator !== this.aggregator) throw clash(`with the aggregator "${existing.aggregator}"`);
    let id: number;
    try {
      // An identical definition is the same metric to the engine, which names any difference.
      id = schema.define(registry.engine, true).id;
    } catch (error) {
      throw clash(`with another definition (${(error as Error).message})`);
    }
    if (id !== existing.engine.id) throw clash('with another definition');
    return existing as Metric<T, H>;
  }

  /**
   * prom-client's check of the labels of an update: true if they are the metric's;
   * else its Error, or under setErrorPolicy({ invalidLabels: 'drop' }) false, the update
   * counted as dropped.
   */
  protected acceptLabels(labels: object): boolean {
    try {
      validateLabel(this.labelNames, labels);
      return true;
    } catch (error) {
      dropOrThrow(this.name, error);
      return false;
    }
  }

  /**
   * The exemplar labels of an update with `labels`, checked (`checkExemplarLabels`);
   * undefined if none are given, false if the update is dropped for its labels. Right
   * labels are left to the update's lookup (a hit is a label set checked before); a
   * refused exemplar checks them first, as prom-client names wrong labels before it.
   */
  protected exemplarOf(labels: object | undefined, exemplarLabels: unknown): string[] | undefined | false {
    if (exemplarLabels === undefined) return undefined;
    try {
      return checkExemplarLabels(exemplarLabels);
    } catch (error) {
      if (labels !== undefined && !this.acceptLabels(labels)) return false;
      throw error;
    }
  }

  /**
   * The label set of `labels(...)`'s arguments (values in label-name order, or an
   * object), checked as prom-client does; undefined if dropped (see `acceptLabels`).
   * `check`: whether unknown label names are refused now (else at the update).
   */
  protected childLabels(args: unknown[], check: boolean): LabelValues<T> | undefined {
    let labels: LabelValues<T>;
    try {
      labels = labelsFromArguments(this.labelNames, args);
    } catch (error) {
      dropOrThrow(this.name, error);
      return undefined;
    }
    return !check || this.acceptLabels(labels) ? labels : undefined;
  }

  /** The series of a label object prom-client accepts: partial, values converted with String(). */
  private register(labels: object): H {
    if (!this.acceptLabels(labels)) return this.discard();
    if (this.engine.handle !== undefined) return this.engine.handle;
    const { labelNames } = this;
    // A label value's toString() may update this metric again: that call gets arrays of its own.
    const nested = this.registering;
    const read = nested ? new Array<unknown>(labelNames.length) : this.scratchRead;
    const values = nested ? new Array<string>(labelNames.length) : this.scratchValues;
    this.registering = true;
    try {
      for (let i = 0; i < labelNames.length; i++) {
        read[i] = (labels as Record<string, unknown>)[labelNames[i]];
        values[i] = read[i] === undefined ? '' : String(read[i]);
        this.givenValues.note(labelNames[i], read[i], values[i]);
      }
      const source = this.engine.source!;
      const handle = source.handleOf(values);
      // A full metric's overflow series is not cached: a flood of new label sets must not grow memory.
      if (!source.isOverflow(handle)) cacheUnder(this.root, read, handle);
      return handle;
    } finally {
      this.registering = nested;
    }
  }

  /** The handle of the series for prom-client's optional labels argument. */
  protected handleFor(labels: LabelValues<T> | undefined): H {
    return labels === undefined ? this.series(EMPTY) : this.series(labels);
  }

  /**
   * prom-client's internal series map, which wrappers' and applications' tests read:
   * a snapshot made when read (see hashMap.ts), so it costs updates nothing.
   */
  get hashMap(): HashMap {
    return hashMapOf(this.engine.id, this.labelNames);
  }

  /** prom-client's `get()`: runs `collect`, then the values in prom-client's shape. */
  async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    await this.collect?.();
    flushPendingUpdates();
    const [data] = (await binding.metricData(this.engine.id)) as MetricJSON[];
    const values = data.values.map((sample) => promClientSample(sample, this, this.registers[0]?.givenValues)) as MetricValue<T>[];
    const { name, help, type, aggregator } = this;
    // prom-client's key order, which tests comparing JSON text see: counters and gauges
    // give `help` first, histograms and summaries `name`.
    return type === 'counter' || type === 'gauge' ? { help, name, type, values, aggregator } : { name, help, type, values, aggregator };
  }

  /** Removes every series (a metric without labels goes back to 0). */
  reset(): void {
    flushPendingUpdates();
    callNative(() => binding.resetMetric(this.engine.id));
    this.root.clear();
  }

  /** Removes the series of a label set, given as values in label-name order or as an object. */
  remove(...args: unknown[]): void {
    const labels = labelsFromArguments(this.labelNames, args);
    validateLabel(this.labelNames, labels);
    if (this.engine.remove === undefined) return;
    this.engine.remove(this.fullLabels(this.labelNames.map((name) => labels[name])));
    this.root.clear();
  }

  /**
   * @internal Every label name with its value (read in label-name order) as a string,
   * '' for one left out: the engine's prom-client style writes an empty label as absent.
   */
  protected fullLabels(read: readonly unknown[]): Record<string, string> {
    return Object.fromEntries(this.labelNames.map((name, i) => [name, read[i] === undefined ? '' : String(read[i])]));
  }
}

const EMPTY = Object.freeze({});
