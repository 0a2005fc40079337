// Label sets: validation, and the per-environment cache from label values to handles.

import { describeValue } from '../base/validate';

/** The dynamic labels a metric built with `requireDynamicKey(k)` for each k of K takes. */
export type Labels<K extends string> = { readonly [P in K]: string };

/** A label value as a string: numbers and booleans are converted; anything else is a TypeError. */
function labelValueString(metric: string, key: string, value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    default:
      throw new TypeError(`label "${key}" of metric "${metric}" must be a string (numbers and booleans are converted), got ${describeValue(value)}`);
  }
}

/** The keys a label value may be cached under: itself, and the number or boolean it converts from. */
function cacheKeys(value: string): unknown[] {
  const keys: unknown[] = [value];
  const number = Number(value);
  if (String(number) === value) keys.push(number);
  if (value === 'true' || value === 'false') keys.push(value === 'true');
  return keys;
}

export type Lookup = (labels: Record<string, unknown>) => unknown;

/** Where the handles of one metric's label sets come from (schema.ts' `SeriesMaker`). */
export interface SeriesSource<H> {
  /** The handle of a label set given as values in key order, registered if new. */
  handleOf(values: string[]): H;
  /**
   * Whether `handle` is a full metric's overflow series: a label set given it is not
   * cached, so that a flood of distinct label sets cannot grow memory.
   */
  isOverflow(handle: H): boolean;
}

/**
 * A level of the label-set cache below the first that holds one key so far: most do
 * (a route is seen with one method, a user id with one status), and this costs about
 * an eighth of a Map's memory and its making. It answers `get` as a Map does, so
 * lookups walk either; a second key turns it into a Map. A NaN key never matches here:
 * the miss registers the label set again (the engine adds the second slots into the
 * series) and the level becomes a Map, which finds NaN.
 */
class OneKey {
  constructor(
    readonly key: unknown,
    readonly value: unknown,
  ) {}

  get(key: unknown): unknown {
    return key === this.key ? this.value : undefined;
  }
}

/** One level of the label-set cache: the handles, or the next levels, by label value. */
export type CacheLevel = Map<unknown, unknown> | OneKey;

/** `level` with `key` set to `value`: itself if it can hold both, else a Map that does. */
function withKey(level: CacheLevel, key: unknown, value: unknown): CacheLevel {
  if (level instanceof Map) return level.set(key, value);
  if (level.key === key) return new OneKey(key, value);
  return new Map([
    [level.key, level.value],
    [key, value],
  ]);
}

/** The level `level` (undefined: none yet) becomes with `handle` put at `path` from `depth`. */
function cacheAt(level: CacheLevel | undefined, path: readonly unknown[], depth: number, handle: unknown): CacheLevel {
  const key = path[depth];
  const current = level?.get(key);
  const below = depth === path.length - 1 ? handle : cacheAt(current as CacheLevel | undefined, path, depth + 1, handle);
  if (level === undefined) return new OneKey(key, below);
  return current === below ? level : withKey(level, key, below);
}

/** Puts `handle` at the end of `path` (one label value per level) in the cache under `root`. */
export function cacheUnder(root: Map<unknown, unknown>, path: readonly unknown[], handle: unknown): void {
  cacheAt(root, path, 0, handle);
}

/**
 * The level `level` becomes without the handle at `path` (each entry: the keys it may
 * be cached under at that depth); undefined when nothing is left in it.
 */
function forgetAt(level: CacheLevel, path: readonly (readonly unknown[])[], depth: number): CacheLevel | undefined {
  let left: CacheLevel | undefined = level;
  for (const key of path[depth]) {
    const below = left?.get(key);
    if (left === undefined || below === undefined) continue;
    const kept = depth === path.length - 1 ? undefined : forgetAt(below as CacheLevel, path, depth + 1);
    if (kept !== undefined) left = withKey(left, key, kept);
    else if (left instanceof Map) left.delete(key);
    else left = undefined;
  }
  return left instanceof Map && left.size === 0 ? undefined : left;
}

/**
 * Compiles the hit path of a label-set lookup for one metric: a function that checks
 * the object has as many keys as the metric (an extra key goes to `miss`, which names
 * it), reads each dynamic key by its literal name and walks one Map per key.
 * Measured on Node 20 (2 keys, before the key count, which adds 5–9 ns): 16–22 ns per
 * `with()` however many metrics an application has, against 34 ns for closures over
 * the key names (they share V8's feedback between metrics, so their property reads
 * turn megamorphic) and 38–48 ns for a loop over the keys. The keys have been
 * validated as label names (`[a-zA-Z_][a-zA-Z0-9_]*`) by the addon, and are quoted with
 * JSON.stringify all the same.
 */
function compileLookup(keys: readonly string[], root: Map<unknown, unknown>, miss: Lookup): Lookup {
  const steps = keys.map((key) => `node = node.get(labels[${JSON.stringify(key)}]); if (node === undefined) return miss(labels);`).join('\n');
  const source = `return function lookup(labels) {
    if (typeof labels !== 'object' || labels === null) return miss(labels);
    let count = 0;
    for (const _ in labels) count++;
    if (count !== ${keys.length}) return miss(labels);
    let node = root;
    ${steps}
    return node;
  };`;
  try {
    return new Function('root', 'miss', source)(root, miss) as Lookup;
  } catch {
    // Code generation from strings is disabled (--disallow-code-generation-from-strings).
    return (labels) => {
      if (typeof labels !== 'object' || labels === null) return miss(labels);
      let count = 0;
      for (const _ in labels) count++;
      if (count !== keys.length) return miss(labels);
      let node: unknown = root;
      for (const key of keys) {
        node = (node as CacheLevel).get(labels[key]);
        if (node === undefined) return miss(labels);
      }
      return node;
    };
  }
}

/**
 * Finds the handle for a label set without allocating: one Map per dynamic key, in
 * the order the keys were declared. A miss validates the label object, registers the
 * series with the addon and caches the new handle under the values exactly as given,
 * so the next call with the same values is a hit.
 */
export class SeriesCache<H> {
  private readonly root = new Map<unknown, unknown>();
  private readonly keySet: ReadonlySet<string>;
  readonly get: (labels: Record<string, unknown>) => H;

  /** `source` registers a label set and makes its handle. */
  constructor(
    private readonly metric: string,
    private readonly keys: readonly string[],
    private readonly source: SeriesSource<H>,
    /** A label set `values()` refused: throws its error, or gives a handle to drop the update with. */
    private readonly invalid: (error: unknown) => H,
  ) {
    if (keys.length === 0) throw new Error(`metric "${metric}" has no dynamic keys to look up`);
    this.keySet = new Set(keys);
    this.get = compileLookup(keys, this.root, (labels) => this.miss(labels)) as (labels: Record<string, unknown>) => H;
  }

  private miss(labels: Record<string, unknown>): H {
    let values: string[];
    try {
      values = this.values(labels);
    } catch (error) {
      return this.invalid(error);
    }
    const handle = this.source.handleOf(values);
    if (!this.source.isOverflow(handle))
      cacheUnder(
        this.root,
        this.keys.map((key) => labels[key]),
        handle,
      );
    return handle;
  }

  /** The label values of a label set in key order, as strings; a bad label set is a TypeError naming the problem. */
  values(labels: Record<string, unknown>): string[] {
    const { metric, keys } = this;
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
      throw new TypeError(`metric "${metric}" takes its dynamic labels as an object {${keys.join(', ')}}, got ${describeValue(labels)}`);
    }
    // One pass: every key must be an own property; with as many own keys as the
    // metric has, none can be extra. Only a failure looks for the culprit.
    const values = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      if (!Object.hasOwn(labels, keys[i])) this.throwBadKeys(labels);
      values[i] = labelValueString(metric, keys[i], labels[keys[i]]);
    }
    if (Object.keys(labels).length !== keys.length) this.throwBadKeys(labels);
    return values;
  }

  /**
   * Drops a label set's handle from the cache (its values as `values()` gives them),
   * under every form it may have been cached by (`{ code: 200 }` and `{ code: '200' }`
   * are one series), so that the next `with()` registers it again.
   */
  forget(values: readonly string[]): void {
    const path = values.map(cacheKeys);
    // The root is a Map the lookup holds: emptied, it stays.
    for (const key of path[0]) {
      const below = this.root.get(key);
      if (below === undefined) continue;
      const kept = path.length === 1 ? undefined : forgetAt(below as CacheLevel, path, 1);
      if (kept === undefined) this.root.delete(key);
      else this.root.set(key, kept);
    }
  }

  /** Forgets every label set. */
  clear(): void {
    this.root.clear();
  }

  private throwBadKeys(labels: Record<string, unknown>): never {
    for (const key of Object.keys(labels)) {
      if (!this.keySet.has(key)) {
        throw new TypeError(`unexpected label "${key}" for metric "${this.metric}": its dynamic keys are [${this.keys.join(', ')}]`);
      }
    }
    const missing = this.keys.find((key) => !Object.hasOwn(labels, key));
    throw new TypeError(`missing dynamic label "${missing}" for metric "${this.metric}"`);
  }
}
