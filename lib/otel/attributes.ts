// OpenTelemetry attributes as label sets: each attribute value as the label value the
// specification gives it outside OTLP (common/README.md, "AnyValue representation for
// non-OTLP protocols"), and the table from an attributes object to its series' handle.

import type { SeriesSource } from '../metrics/labels';

/** Deeper arrays and maps than this are written as `null` (a cycle cannot recurse forever). */
const MAX_DEPTH = 32;

/** `bytes` in base64, as the specification writes a byte array. */
function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** `value` as JSON inside an array or map: numbers JSON has no word for become strings. */
function json(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    case 'boolean':
      return String(value);
    case 'object': {
      if (value === null || depth > MAX_DEPTH) return 'null';
      if (value instanceof Uint8Array) return JSON.stringify(base64(value));
      if (Array.isArray(value)) return `[${value.map((item) => json(item, depth + 1)).join(',')}]`;
      if (!isPlainObject(value)) return 'null';
      const entries = Object.entries(value).filter(([, item]) => item !== undefined);
      // A map's keys sorted: one map, one text, whatever order it was built in.
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${json(item, depth + 1)}`).join(',')}}`;
    }
    default:
      return 'null';
  }
}

/**
 * The label value of an attribute value, or `undefined` for none: strings as they are,
 * numbers and booleans as their text (`200` and `"200"` are one value; NaN is `NaN`),
 * arrays and maps as JSON (map keys sorted), a `Uint8Array` in base64, `null` as the
 * empty string. `undefined`, and what the API does not allow (functions, symbols,
 * bigints, class instances), is no value: the attribute is left out.
 */
export function labelValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      if (value === null) return '';
      if (value instanceof Uint8Array) return base64(value);
      if (Array.isArray(value) || isPlainObject(value)) return json(value, 0);
      return undefined;
    default:
      return undefined;
  }
}

/** An attribute key's label name (names.ts' `labelName` with the instrument's strategy). */
export type LabelNamer = (key: string) => string;

/**
 * The label set of `attributes` as name, value pairs after the `fixed` pairs (the
 * instrument's scope): keys in sorted order, each named by `name`; keys that end up
 * with one name (`a.b` and `a_b` escaped) are one label whose values are joined with
 * `;` in that order, as the specification says. An attribute named as a fixed label,
 * without a name, or without a value is left out.
 */
export function labelPairs(attributes: object, fixed: readonly string[], name: LabelNamer): string[] {
  const keys: string[] = [];
  for (const key in attributes) keys.push(key);
  keys.sort();
  const pairs = [...fixed];
  for (const key of keys) {
    const value = labelValue((attributes as Record<string, unknown>)[key]);
    const label = name(key);
    if (value === undefined || label === '') continue;
    const at = nameIndex(pairs, label);
    if (at === -1) pairs.push(label, value);
    else if (at >= fixed.length) pairs[at + 1] = `${pairs[at + 1]};${value}`;
  }
  return pairs;
}

/** Where `pairs` has the label `label` (its name's index), or -1. */
function nameIndex(pairs: readonly string[], label: string): number {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === label) return i;
  return -1;
}

/** Where the handle of a label set sits in a level of the table, beside its attribute keys. */
const HANDLE = Symbol('handle');

// A level of the table: attribute key → (value → next level), and HANDLE → the handle
// of the attributes that end here.
type Level = Map<unknown, unknown>;

/**
 * The handles of one instrument's series, found from an attributes object by content:
 * its keys in the object's own order, then each value. Instrumentations build a new
 * object per measurement, so identity would never match; a walk of one Map per key and
 * per value does, with no string built. A miss works out the label set (`labelPairs`),
 * finds or registers its series, and adds the walk for this order of keys and these
 * values, so `{a, b}` and `{b, a}`, or `200` and `"200"`, end at one handle. Objects as
 * values (arrays, maps, bytes) are never keys of the walk, nor is anything past the
 * series limit: memory grows with series, not measurements.
 */
export class SeriesTable<H> {
  private readonly root: Level = new Map();
  /** Label sets by their pairs' JSON: where each order and spelling of one set meets. */
  private readonly byContent = new Map<string, H>();
  private readonly pairsByHandle = new Map<H, readonly string[]>();
  private withoutAttributes: H | undefined;

  constructor(
    private readonly source: SeriesSource<H>,
    private readonly fixed: readonly string[],
    private readonly name: LabelNamer,
    /** Called with the error of a label set the engine refused; returns the handle to use instead. */
    private readonly refused: (error: unknown) => H,
  ) {}

  /** The handle of the series of `attributes` (none: the series without attributes). */
  handle(attributes: object | undefined): H {
    if (attributes === undefined || attributes === null) {
      this.withoutAttributes ??= this.miss({});
      return this.withoutAttributes;
    }
    let level = this.root;
    try {
      for (const key in attributes) {
        const byValue = level.get(key) as Level | undefined;
        if (byValue === undefined) return this.miss(attributes);
        const next = byValue.get((attributes as Record<string, unknown>)[key]) as Level | undefined;
        if (next === undefined) return this.miss(attributes);
        level = next;
      }
    } catch (error) {
      // A getter that throws, a revoked proxy: the measurement is refused, not thrown.
      return this.refused(error);
    }
    const handle = level.get(HANDLE) as H | undefined;
    return handle === undefined ? this.miss(attributes) : handle;
  }

  /** The label pairs of a series this table made (undefined for the overflow series). */
  pairsOf(handle: H): readonly string[] | undefined {
    return this.pairsByHandle.get(handle);
  }

  /** Forgets the series of `handle`: the next measurement of it registers it again. */
  forget(handle: H): void {
    const pairs = this.pairsByHandle.get(handle);
    if (pairs === undefined) return;
    this.pairsByHandle.delete(handle);
    this.byContent.delete(JSON.stringify(pairs));
    if (this.withoutAttributes === handle) this.withoutAttributes = undefined;
    forgetHandle(this.root, handle);
  }

  private miss(attributes: object): H {
    let pairs: string[];
    try {
      pairs = labelPairs(attributes, this.fixed, this.name);
    } catch (error) {
      return this.refused(error);
    }
    const content = JSON.stringify(pairs);
    let handle = this.byContent.get(content);
    if (handle === undefined) {
      try {
        handle = this.source.handleOf(pairs);
      } catch (error) {
        return this.refused(error);
      }
      if (this.source.isOverflow(handle)) return handle;
      this.byContent.set(content, handle);
      this.pairsByHandle.set(handle, pairs);
    }
    this.remember(attributes, handle);
    return handle;
  }

  /** Adds the walk of `attributes` to `handle`, unless a value is an object. */
  private remember(attributes: object, handle: H): void {
    const values = attributes as Record<string, unknown>;
    for (const key in values) if (typeof values[key] === 'object' && values[key] !== null) return;
    let level = this.root;
    for (const key in values) {
      const value = values[key];
      const byValue = childOf(level, key);
      level = childOf(byValue, value);
    }
    level.set(HANDLE, handle);
  }
}

/** The level under `key` in `level`, added if missing. */
function childOf(level: Level, key: unknown): Level {
  let child = level.get(key) as Level | undefined;
  if (child === undefined) {
    child = new Map();
    level.set(key, child);
  }
  return child;
}

/** Removes every walk under `level` that ends at `handle`, and the levels left empty. */
function forgetHandle(level: Level, handle: unknown): void {
  if (level.get(HANDLE) === handle) level.delete(HANDLE);
  for (const [key, byValue] of level) {
    if (key === HANDLE) continue;
    const values = byValue as Level;
    for (const [value, next] of values) {
      forgetHandle(next as Level, handle);
      if ((next as Level).size === 0) values.delete(value);
    }
    if (values.size === 0) level.delete(key);
  }
}
