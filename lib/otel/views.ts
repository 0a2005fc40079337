// Views: which instruments a view selects, and what it changes of the streams they
// make (the specification's metrics SDK, "View"; sdk-metrics' ViewOptions, with the
// aggregation and attribute lists written as plain data).

import { checkOptions, describeValue } from '../base/validate';
import type { InstrumentKind, Scope } from './meter';

/**
 * How a stream aggregates: `'default'` (the instrument kind's), `'drop'` (records
 * nothing), `'explicitBucketHistogram'` with its `boundaries`, or
 * `'exponentialHistogram'`: a native histogram of at most `maxSize` buckets per sign
 * (default 160) at `maxScale` (default 20, at most 8 as Prometheus reads them).
 */
export type Aggregation =
  | {
      /** The instrument kind's own: a sum, a gauge, or a histogram of the advised or default buckets. */
      readonly type: 'default';
    }
  | {
      /** Nothing is recorded. */
      readonly type: 'drop';
    }
  | {
      /** A classic histogram. */
      readonly type: 'explicitBucketHistogram';
      /** Its bucket upper bounds, increasing. */
      readonly boundaries: readonly number[];
    }
  | {
      /** A native histogram, exposed over protobuf. */
      readonly type: 'exponentialHistogram';
      /** Buckets a series may use per sign before its resolution halves (default 160). */
      readonly maxSize?: number;
      /** The finest scale it starts at (default 20, capped at Prometheus's 8). */
      readonly maxScale?: number;
    };

/**
 * A view: which instruments it selects, and what it makes of their streams.
 *
 * @example
 * ```js
 * new MeterProvider({ views: [{ instrumentName: 'debug.*', aggregation: { type: 'drop' } }] });
 * ```
 */
export interface View {
  /** Selects instruments by name: `*` matches any run of characters, `?` one; case does not matter. */
  instrumentName?: string;
  /** Selects instruments of a kind: `'counter'`, `'histogram'`, … (or the SDK's `'UP_DOWN_COUNTER'` spelling). */
  instrumentType?: string;
  /** Selects instruments of exactly this unit. */
  instrumentUnit?: string;
  /** Selects instruments of meters of this name, version or schema URL. */
  meterName?: string;
  /** Selects instruments of meters of this version. */
  meterVersion?: string;
  /** Selects instruments of meters of this schema URL. */
  meterSchemaUrl?: string;
  /** The stream's name instead of the instrument's: the view must select one instrument by its exact name. */
  name?: string;
  /** The stream's description (its HELP) instead of the instrument's. */
  description?: string;
  /** Only these attribute keys make labels; the others are left out. */
  attributeKeys?: readonly string[];
  /** These attribute keys are left out. */
  excludeAttributeKeys?: readonly string[];
  /** How the stream aggregates. */
  aggregation?: Aggregation;
  /** The stream's cardinality limit instead of the provider's. */
  aggregationCardinalityLimit?: number;
}

/** What a view makes of one instrument's stream (the instrument's own where the view is silent). */
export interface StreamConfig {
  readonly name: string;
  readonly description: string;
  readonly aggregation: Aggregation;
  readonly cardinalityLimit: number | undefined;
  /** Whether an attribute key makes a label. */
  readonly keeps: ((key: string) => boolean) | undefined;
}

/** A view's options that take a string. */
const STRING_OPTIONS = [
  'instrumentName',
  'instrumentType',
  'instrumentUnit',
  'meterName',
  'meterVersion',
  'meterSchemaUrl',
  'name',
  'description',
] as const;
const VIEW_OPTIONS = [...STRING_OPTIONS, 'attributeKeys', 'excludeAttributeKeys', 'aggregation', 'aggregationCardinalityLimit'];
const AGGREGATION_TYPES = ['default', 'drop', 'explicitBucketHistogram', 'exponentialHistogram'];

/** `'UP_DOWN_COUNTER'`, `'upDownCounter'` and `'updowncounter'` alike. */
function kindKey(kind: string): string {
  return kind.replace(/_/g, '').toLowerCase();
}

/** A view checked, with its name pattern compiled: `selects` and `configure` it. */
export class CheckedView {
  private readonly namePattern: RegExp | undefined;

  constructor(
    private readonly view: View,
    at: string,
  ) {
    const options: unknown = view;
    checkOptions(at, options, VIEW_OPTIONS);
    for (const key of STRING_OPTIONS) {
      if (view[key] !== undefined && typeof view[key] !== 'string')
        throw new TypeError(`${at}: ${key} must be a string, got ${describeValue(view[key])}`);
    }
    for (const key of ['attributeKeys', 'excludeAttributeKeys'] as const) {
      const keys = view[key];
      if (keys !== undefined && !(Array.isArray(keys) && keys.every((k) => typeof k === 'string'))) {
        throw new TypeError(`${at}: ${key} must be an array of strings, got ${describeValue(keys)}`);
      }
    }
    if (view.name !== undefined && (view.instrumentName === undefined || /[*?]/.test(view.instrumentName))) {
      throw new TypeError(`${at}: a view that renames its stream must select one instrument by its exact instrumentName`);
    }
    const limit = view.aggregationCardinalityLimit;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
      throw new RangeError(`${at}: aggregationCardinalityLimit must be a positive integer, got ${describeValue(limit)}`);
    }
    checkAggregation(view.aggregation, at);
    this.namePattern = view.instrumentName === undefined ? undefined : wildcard(view.instrumentName);
  }

  selects(kind: InstrumentKind, name: string, unit: string, scope: Scope): boolean {
    const { view } = this;
    return (
      (this.namePattern === undefined || this.namePattern.test(name)) &&
      (view.instrumentType === undefined || kindKey(view.instrumentType) === kindKey(kind)) &&
      (view.instrumentUnit === undefined || view.instrumentUnit === unit) &&
      (view.meterName === undefined || view.meterName === scope.name) &&
      (view.meterVersion === undefined || view.meterVersion === scope.version) &&
      (view.meterSchemaUrl === undefined || view.meterSchemaUrl === scope.schemaUrl)
    );
  }

  /** The stream this view makes of an instrument named `name`, described `description`. */
  configure(name: string, description: string): StreamConfig {
    const { view } = this;
    const allowed = view.attributeKeys === undefined ? undefined : new Set(view.attributeKeys);
    const excluded = view.excludeAttributeKeys === undefined ? undefined : new Set(view.excludeAttributeKeys);
    const keeps =
      allowed === undefined && excluded === undefined
        ? undefined
        : (key: string) => (allowed === undefined || allowed.has(key)) && (excluded === undefined || !excluded.has(key));
    return {
      name: view.name ?? name,
      description: view.description ?? description,
      aggregation: view.aggregation ?? { type: 'default' },
      cardinalityLimit: view.aggregationCardinalityLimit,
      keeps,
    };
  }
}

function checkAggregation(aggregation: Aggregation | undefined, at: string): void {
  if (aggregation === undefined) return;
  if (typeof aggregation !== 'object' || aggregation === null || !AGGREGATION_TYPES.includes(aggregation.type)) {
    throw new TypeError(
      `${at}: aggregation must be { type: ${AGGREGATION_TYPES.map((t) => `'${t}'`).join(' | ')} }, got ${describeValue(aggregation)}`,
    );
  }
  if (aggregation.type === 'explicitBucketHistogram') {
    const { boundaries } = aggregation;
    if (!Array.isArray(boundaries) || !boundaries.every((b, i) => Number.isFinite(b) && (i === 0 || b > boundaries[i - 1]))) {
      throw new TypeError(`${at}: an explicitBucketHistogram's boundaries must be increasing finite numbers`);
    }
  }
  if (aggregation.type === 'exponentialHistogram') {
    const { maxSize, maxScale } = aggregation;
    if (maxSize !== undefined && !(Number.isInteger(maxSize) && maxSize >= 2)) {
      throw new RangeError(`${at}: an exponentialHistogram's maxSize must be an integer of at least 2, got ${describeValue(maxSize)}`);
    }
    if (maxScale !== undefined && !(Number.isInteger(maxScale) && maxScale >= -10 && maxScale <= 20)) {
      throw new RangeError(`${at}: an exponentialHistogram's maxScale must be an integer from -10 to 20, got ${describeValue(maxScale)}`);
    }
  }
}

/** `pattern` with `*` and `?` as wildcards, matching a whole name whatever its case. */
function wildcard(pattern: string): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i');
}
