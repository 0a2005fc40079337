// Argument checks shared by the public API, and how values are named in their errors.

/** A short description of a value for error messages: `the string "x"`, `number 1`, `null`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      // A huge string would make a huge message: its start and length are enough.
      return value.length > 80
        ? `a string of ${value.length} characters starting ${JSON.stringify(value.slice(0, 40))}`
        : `the string ${JSON.stringify(value)}`;
    case 'object':
      return Array.isArray(value) ? 'an array' : 'an object';
    case 'function':
      return 'a function';
    default:
      return `${typeof value} ${String(value)}`;
  }
}

/** An object literal (or Object.create(null)), not an array, Map or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Throws a TypeError unless `options` is a plain object with only `known` keys. */
export function checkOptions(call: string, options: unknown, known: readonly string[]): asserts options is Record<string, unknown> {
  if (!isPlainObject(options)) throw new TypeError(`${call} takes an options object, got ${describeValue(options)}`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`${call}: unknown option "${key}"`);
  }
}

/** The longest delay Node's timers honour (a longer one fires after 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A whole number of milliseconds a timer can wait: 1 to MAX_TIMER_MS. */
export function isTimerMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_TIMER_MS;
}

/** Throws a TypeError unless `value` is a plain object whose values are all strings. */
export function checkStringRecord(call: string, name: string, value: unknown): asserts value is Record<string, string> {
  if (!isPlainObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new TypeError(`${call}: ${name} must be an object of strings, got ${describeValue(value)}`);
  }
}
