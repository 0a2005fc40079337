// Label sets: validation, and the per-environment cache from label values to handles.

/** The dynamic labels a metric built with `requireDynamicKey(k)` for each k of K takes. */
export type Labels<K extends string> = { readonly [P in K]: string };

/** Label values that are coerced to strings; anything else is a TypeError. */
function labelValueString(metric: string, key: string, value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    default:
      throw new TypeError(
        `label "${key}" of metric "${metric}" must be a string (or a number or boolean), got ${describe(value)}`,
      );
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}

/**
 * Finds the handle for a label set without allocating: one Map per dynamic key,
 * walked value by value in the order the keys were declared. A miss validates the
 * label object, registers the series with the addon and caches the new handle under
 * the values exactly as given, so the next call with the same values is a hit.
 */
export class SeriesCache<H> {
  private readonly root = new Map<unknown, unknown>();
  private readonly keySet: ReadonlySet<string>;

  constructor(
    private readonly metric: string,
    private readonly keys: readonly string[],
    private readonly create: (values: string[]) => H,
  ) {
    this.keySet = new Set(keys);
  }

  get(labels: Record<string, unknown>): H {
    const keys = this.keys;
    let node: unknown = this.root;
    for (let i = 0; i < keys.length; i++) {
      node = (node as Map<unknown, unknown>).get(labels[keys[i]]);
      if (node === undefined) return this.miss(labels);
    }
    return node as H;
  }

  private miss(labels: Record<string, unknown>): H {
    const metric = this.metric;
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
      throw new TypeError(
        `metric "${metric}" takes its dynamic labels as an object {${this.keys.join(', ')}}, got ${describe(labels)}`,
      );
    }
    for (const key of Object.keys(labels)) {
      if (!this.keySet.has(key)) {
        throw new TypeError(
          `unexpected label "${key}" for metric "${metric}": its dynamic keys are [${this.keys.join(', ')}]`,
        );
      }
    }
    const raw = this.keys.map((key) => {
      if (!Object.hasOwn(labels, key)) {
        throw new TypeError(`missing dynamic label "${key}" for metric "${metric}"`);
      }
      return labels[key];
    });
    const handle = this.create(raw.map((value, i) => labelValueString(metric, this.keys[i], value)));
    let node = this.root;
    for (let i = 0; i < raw.length - 1; i++) {
      let next = node.get(raw[i]) as Map<unknown, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(raw[i], next);
      }
      node = next;
    }
    node.set(raw[raw.length - 1], handle);
    return handle;
  }
}
