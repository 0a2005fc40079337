// OpenTelemetry attributes as label sets: each attribute value as the label value the
// specification gives it outside OTLP (common/README.md, "AnyValue representation for
// non-OTLP protocols"), and the table from an attributes object to its series' handle.

import { isPlainObject } from '../base/validate';
import { type CacheLevel, cacheUnder, type Lookup, type SeriesSource } from '../metrics/labels';

/** Deeper arrays and maps than this are written as `null` (a cycle cannot recurse forever). */
const MAX_DEPTH = 32;

/** `bytes` in base64, as the specification writes a byte array. */
function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
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

/** Where the handle of a label set sits in a level of the walk for other key orders. */
const HANDLE = Symbol('handle');

// A level of that walk: attribute key → (value → next level), and HANDLE → the handle
// of the attributes that end here.
type Level = Map<unknown, unknown>;

/** The most attributes an instrument's compiled lookup reads by name. */
const MAX_COMPILED_KEYS = 16;

/** A set of attribute keys the lookup reads by name, and the root of its walk by value. */
interface CompiledSet {
  readonly keys: readonly string[];
  readonly root: Map<unknown, unknown>;
}

/**
 * The handles of one instrument's series, found from an attributes object by content.
 * Instrumentations build a new object per measurement, so identity would never match.
 *
 * One compiled function counts the object's keys and, for the first set of keys the
 * instrument was given with that count, reads each key by its literal name and takes
 * one Map per value (as `with()` does): an instrument mostly sees one or two sets
 * (`error.type` only on errors), and their order does not matter. Any other set walks
 * one Map per key and per value, in the object's own order. A miss of both works out
 * the label set (`labelPairs`), finds its series by content or registers it, and adds
 * the walk, so `{a, b}` and `{b, a}`, or `200` and `"200"`, end at one handle. Objects
 * and `undefined` as values are never walked (each such measurement works out its
 * label set), nor is anything past the series limit: memory grows with series, not
 * with measurements.
 */
export class SeriesTable<H> {
  /** The key sets the lookup reads by name, one per key count at most. */
  private readonly compiledSets: CompiledSet[] = [];
  /** Made again each time a key set is compiled. */
  private lookup: Lookup = (attributes) => (countKeys(attributes) === 0 ? this.none() : this.otherSet(attributes));
  private readonly otherSets: Level = new Map();
  /** Label sets by their attribute pairs' JSON: where each order and spelling of one set meets. */
  private readonly byContent = new Map<string, H>();
  /** The label pairs of each series, when they are kept (`removable`). */
  private readonly pairsByHandle: Map<H, readonly string[]> | undefined;
  private withoutAttributes: H | undefined;

  constructor(
    /** Where a new label set is registered (asked at each miss: it changes when the registry is cleared). */
    private readonly source: () => SeriesSource<H>,
    private readonly fixed: readonly string[],
    private readonly name: LabelNamer,
    /** Called with the error of a label set the engine refused; returns the handle to use instead. */
    private readonly refused: (error: unknown) => H,
    /** Its series may be removed (`pairsOf`, `forget`): an observable instrument's. */
    removable = false,
  ) {
    this.pairsByHandle = removable ? new Map() : undefined;
  }

  /** The handle of the series of `attributes` (none, or not an object: the series without attributes). */
  handle(attributes: object | undefined): H {
    if (typeof attributes !== 'object' || attributes === null) return this.none();
    try {
      return this.lookup(attributes as Record<string, unknown>) as H;
    } catch (error) {
      // A getter that throws, a revoked proxy: the measurement is refused, not thrown.
      return this.refused(error);
    }
  }

  /** The handle of the series without attributes. */
  private none(): H {
    this.withoutAttributes ??= this.miss({});
    return this.withoutAttributes;
  }

  /** Forgets every series: their metric is gone (its registry was cleared), and the next measurements register anew. */
  clear(): void {
    for (const set of this.compiledSets) set.root.clear();
    this.otherSets.clear();
    this.byContent.clear();
    this.pairsByHandle?.clear();
    this.withoutAttributes = undefined;
  }

  /** The label pairs of a series this table made, if it keeps them (undefined for the overflow series). */
  pairsOf(handle: H): readonly string[] | undefined {
    return this.pairsByHandle?.get(handle);
  }

  /**
   * Forgets the series of `handle`: the next measurement of it registers it again. The
   * walks are emptied and fill again as measurements miss: series are removed rarely
   * (an observable stopped observing one), measured often.
   */
  forget(handle: H): void {
    const pairs = this.pairsByHandle?.get(handle);
    if (pairs === undefined) return;
    this.pairsByHandle?.delete(handle);
    this.byContent.delete(this.contentKey(pairs));
    if (this.withoutAttributes === handle) this.withoutAttributes = undefined;
    for (const set of this.compiledSets) set.root.clear();
    this.otherSets.clear();
  }

  /** The key of a label set in `byContent`: its attribute pairs' JSON (the fixed ones are every set's). */
  private contentKey(pairs: readonly string[]): string {
    return JSON.stringify(pairs.slice(this.fixed.length));
  }

  private otherSet(attributes: object): H {
    let level = this.otherSets;
    for (const key in attributes) {
      const byValue = level.get(key) as Level | undefined;
      if (byValue === undefined) return this.miss(attributes);
      const next = byValue.get((attributes as Record<string, unknown>)[key]) as Level | undefined;
      if (next === undefined) return this.miss(attributes);
      level = next;
    }
    const handle = level.get(HANDLE) as H | undefined;
    return handle === undefined ? this.miss(attributes) : handle;
  }

  private miss(attributes: object): H {
    const pairs = labelPairs(attributes, this.fixed, this.name);
    const content = this.contentKey(pairs);
    let handle = this.byContent.get(content);
    if (handle === undefined) {
      let source: SeriesSource<H>;
      try {
        source = this.source();
        handle = source.handleOf(pairs);
      } catch (error) {
        return this.refused(error);
      }
      if (source.isOverflow(handle)) return handle;
      this.byContent.set(content, handle);
      this.pairsByHandle?.set(handle, pairs);
    }
    this.remember(attributes as Record<string, unknown>, handle);
    return handle;
  }

  /** Adds the walk of `attributes` to `handle`, unless a value is an object or `undefined`. */
  private remember(attributes: Record<string, unknown>, handle: H): void {
    const keys: string[] = [];
    for (const key in attributes) {
      const value = attributes[key];
      if (value === undefined || (typeof value === 'object' && value !== null)) return;
      keys.push(key);
    }
    if (keys.length === 0) return;
    let set = this.compiledSets.find((compiled) => compiled.keys.length === keys.length);
    if (set === undefined && keys.length <= MAX_COMPILED_KEYS) {
      set = { keys, root: new Map() };
      this.compiledSets.push(set);
      this.lookup = compileLookup(
        this.compiledSets,
        (other) => this.otherSet(other),
        () => this.none(),
      );
    }
    if (set !== undefined && sameKeySet(keys, set.keys)) {
      const { keys: compiledKeys, root } = set;
      cacheUnder(
        root,
        compiledKeys.map((key) => attributes[key]),
        handle,
      );
      return;
    }
    let level = this.otherSets;
    for (const key of keys) level = childOf(childOf(level, key), attributes[key]);
    level.set(HANDLE, handle);
  }
}

function countKeys(attributes: object): number {
  let count = 0;
  for (const _ in attributes) count++;
  return count;
}

/** Whether `keys` are `compiled` in any order (both without repeats). */
function sameKeySet(keys: readonly string[], compiled: readonly string[]): boolean {
  return keys.length === compiled.length && keys.every((key) => compiled.includes(key));
}

/**
 * Compiles the lookup of an attributes object: its keys counted, then, for the set
 * compiled with that count, each key read by its literal name and one Map per value.
 * A value it has not seen, or a count without a set, goes to `other`; no key, to
 * `none`. An object with as many keys as a set but not its keys reads `undefined` for
 * a key it lacks, which no walk holds.
 */
function compileLookup(sets: readonly CompiledSet[], other: Lookup, none: () => unknown): Lookup {
  const cases = sets.map(({ keys }, i) => {
    const steps = keys.map((key, step) => {
      const from = step === 0 ? `root${i}` : 'node';
      return `node = ${from}.get(attributes[${JSON.stringify(key)}]); if (node === undefined) return other(attributes);`;
    });
    return `case ${keys.length}: ${steps.join(' ')} return node;`;
  });
  const roots = sets.map((_, i) => `root${i}`);
  const source = `return function lookup(attributes) {
    let count = 0;
    for (const _ in attributes) count++;
    let node;
    switch (count) {
      case 0: return none();
      ${cases.join('\n      ')}
    }
    return other(attributes);
  };`;
  try {
    return new Function(...roots, 'other', 'none', source)(...sets.map((set) => set.root), other, none) as Lookup;
  } catch {
    // Code generation from strings is disabled (--disallow-code-generation-from-strings).
    return (attributes) => {
      const count = countKeys(attributes);
      if (count === 0) return none();
      const set = sets.find((compiled) => compiled.keys.length === count);
      if (set === undefined) return other(attributes);
      let node: unknown = set.root;
      for (const key of set.keys) {
        node = (node as CacheLevel).get(attributes[key]);
        if (node === undefined) return other(attributes);
      }
      return node;
    };
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
