// `log.*`: structured JSON lines (seed 000), written by one process-wide Rust writer.
//
// Each thread writes each line into its own ring of Rust-owned memory (see
// crates/slotmetrics_engine/src/logging.rs): no call into native code per line. A line of plain fields goes in
// as raw values (numbers as 8 bytes) and the writer thread formats the JSON, because
// turning numbers into text is what costs most in JS; other lines are serialised here.
// Rust drains the rings every few milliseconds, and on flush(), when a ring is full,
// when a worker's environment is torn down and (through this module's exit hook) when
// the process exits.

import type { Counter } from '../metrics/counter';
import { checkOptions, describeValue } from '../base/validate';
import { binding, callNative } from '../base/native';
import { counterSchema, type MetricFamily } from '../metrics/schema';

/** A line's level, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** A line's fields, written after `level`, `time` and `msg`. */
export type LogFields = Readonly<Record<string, unknown>>;

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function isLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.hasOwn(SEVERITY, value);
}

function levelFromEnvironment(): LogLevel {
  const value = (process.env.SLOTMETRICS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info').toLowerCase();
  return isLevel(value) ? value : 'info';
}

const layout = binding.logRingLayout();
const {
  headerBytes: HEADER_BYTES,
  dataBytes: DATA_BYTES,
  skip: SKIP,
  kindText: KIND_TEXT,
  kindFields: KIND_FIELDS,
  valueNull: VALUE_NULL,
  valueFalse: VALUE_FALSE,
  valueTrue: VALUE_TRUE,
  valueNumber: VALUE_NUMBER,
  valueString: VALUE_STRING,
} = layout;
// Int32 indexes of the positions in the ring's header.
const WRITE_INDEX = layout.writePositionAt / 4;
const READ_INDEX = layout.readPositionAt / 4;
/** Level numbers of a FIELDS record, in the order crates/slotmetrics_engine/src/logging.rs names them. */
const LEVEL_INDEX: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const NO_KEYS: readonly string[] = [];

/** This thread's ring of `<u32 length><kind><body>` records (layout: crates/slotmetrics_engine/src/logging.rs). */
class LogRing {
  private readonly header: Int32Array;
  private readonly data: Buffer;
  private readonly view: DataView;
  private write: number;

  constructor() {
    const buffer = callNative(() => binding.logRing());
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.data = Buffer.from(buffer, HEADER_BYTES, DATA_BYTES);
    this.view = new DataView(buffer, HEADER_BYTES, DATA_BYTES);
    this.write = Atomics.load(this.header, WRITE_INDEX) >>> 0;
    // process.exit() does not wait for the writer thread: write out every thread's
    // lines first. (A worker's own lines are also written when it is torn down.)
    process.on('exit', () => binding.flushLogsSync());
  }

  /** Appends a line serialised here (JSON and newline). */
  appendText(line: string): void {
    const bound = 1 + line.length * 3; // UTF-8 takes at most 3 bytes per UTF-16 unit
    if (bound > DATA_BYTES / 2) {
      binding.writeLogLineSync(line);
      return;
    }
    const at = this.reserve(bound);
    this.data[at + 4] = KIND_TEXT;
    // Buffer#write: 20% cheaper than TextEncoder#encodeInto on a fresh subarray (Node 20).
    this.commit(at, 1 + this.data.write(line, at + 5, bound - 1, 'utf8'));
  }

  /**
   * Appends a line of plain fields (strings, numbers, booleans, null) as raw values;
   * the writer thread formats them. `bound` is the record's worst-case size.
   */
  appendFields(level: LogLevel, message: string, fields: LogFields | undefined, keys: readonly string[], bound: number): void {
    const at = this.reserve(bound);
    const { data, view } = this;
    data[at + 4] = KIND_FIELDS;
    data[at + 5] = LEVEL_INDEX[level];
    view.setFloat64(at + 6, Date.now(), true);
    let p = this.string(at + 14, message);
    const countAt = p;
    p += 4;
    let count = 0;
    for (const key of keys) {
      const value = (fields as LogFields)[key];
      switch (typeof value) {
        case 'number':
          p = this.string(p, key);
          data[p] = VALUE_NUMBER;
          view.setFloat64(p + 1, value, true);
          p += 9;
          break;
        case 'string':
          p = this.string(p, key);
          data[p] = VALUE_STRING;
          p = this.string(p + 1, value);
          break;
        case 'boolean':
          p = this.string(p, key);
          data[p++] = value ? VALUE_TRUE : VALUE_FALSE;
          break;
        case 'object': // null: the only object a FIELDS line holds
          p = this.string(p, key);
          data[p++] = VALUE_NULL;
          break;
        default: // undefined, functions, symbols: left out, as JSON.stringify does
          continue;
      }
      count++;
    }
    view.setUint32(countAt, count, true);
    this.commit(at, p - at - 4);
  }

  /** Writes `<u32 length><UTF-8>` at `p`; returns the offset after it. */
  private string(p: number, text: string): number {
    const written = this.data.write(text, p + 4, text.length * 3, 'utf8');
    this.view.setUint32(p, written, true);
    return p + 4 + written;
  }

  /** The offset where a record of at most `bytes` (after its length) can be written. */
  private reserve(bytes: number): number {
    const worstCase = bytes + 4;
    const at = this.write & (DATA_BYTES - 1);
    const room = DATA_BYTES - at;
    if (room >= worstCase) {
      this.makeRoom(worstCase);
      return at;
    }
    // Records never wrap: mark the end as skipped and start over at the beginning.
    this.makeRoom(room + worstCase);
    if (room >= 4) this.view.setUint32(at, SKIP, true);
    this.write = (this.write + room) >>> 0;
    return 0;
  }

  /** Publishes the record at `at`: Rust reads the position with acquire ordering. */
  private commit(at: number, length: number): void {
    this.view.setUint32(at, length, true);
    this.write = (this.write + 4 + length) >>> 0;
    Atomics.store(this.header, WRITE_INDEX, this.write | 0);
  }

  /** Drains the ring on this thread when fewer than `bytes` are free. */
  private makeRoom(bytes: number): void {
    const used = (this.write - (Atomics.load(this.header, READ_INDEX) >>> 0)) >>> 0;
    if (DATA_BYTES - used < bytes) binding.drainLogRing();
  }
}

function errorObject(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { message: error.message, stack: error.stack, name: error.name };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  return out;
}

/** `log.configure()`'s options. */
export interface LogOptions {
  /** Where lines go, for every thread: a file path (appended) or a file descriptor. Default: stdout. */
  destination?: string | number;
  /** Keys whose values are replaced by "[Redacted]" at any depth (in this thread's lines). */
  redact?: readonly string[];
}

/** The `log` helpers of one JS thread. */
class Logger {
  private threshold = SEVERITY[levelFromEnvironment()];
  private ring: LogRing | undefined;
  private redacted: ReadonlySet<string> = new Set();
  private lines: MetricFamily<'level', Counter> | undefined;
  private readonly linesByLevel = new Map<LogLevel, Counter>();
  // JSON.stringify calls this for every key and value of the fields.
  private readonly replacer = (key: string, value: unknown): unknown => {
    if (key !== '' && this.redacted.has(key)) return '[Redacted]';
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return errorObject(value);
    return value;
  };

  /** Writes a `debug` line, if the threshold allows. */
  debug(message: string, fields?: LogFields): void {
    if (this.threshold <= 10) this.line('debug', message, fields);
  }

  /** Writes an `info` line, if the threshold allows. */
  info(message: string, fields?: LogFields): void {
    if (this.threshold <= 20) this.line('info', message, fields);
  }

  /** Writes a `warn` line, if the threshold allows. */
  warn(message: string, fields?: LogFields): void {
    if (this.threshold <= 30) this.line('warn', message, fields);
  }

  /** Writes an `error` line. */
  error(message: string, fields?: LogFields): void {
    if (this.threshold <= 40) this.line('error', message, fields);
  }

  /** This thread's threshold (from SLOTMETRICS_LOG_LEVEL or LOG_LEVEL at start; default info). */
  get level(): LogLevel {
    return (Object.keys(SEVERITY) as LogLevel[]).find((level) => SEVERITY[level] === this.threshold)!;
  }

  /** Sets this thread's threshold. */
  setLevel(level: LogLevel): void {
    if (!isLevel(level)) {
      throw new TypeError(`log.setLevel() takes 'debug', 'info', 'warn' or 'error', got ${describeValue(level)}`);
    }
    this.threshold = SEVERITY[level];
  }

  /** Sets the destination (every thread's) and the redacted keys (this thread's). */
  configure(options: LogOptions): void {
    checkOptions('log.configure()', options, ['destination', 'redact']);
    const { destination, redact } = options;
    if (redact !== undefined) {
      if (!Array.isArray(redact) || redact.some((key) => typeof key !== 'string')) {
        throw new TypeError(`log.configure(): redact must be an array of key names, got ${describeValue(redact)}`);
      }
      this.redacted = new Set(redact);
    }
    if (destination !== undefined) {
      if (typeof destination === 'string' && destination !== '') {
        callNative(() => binding.setLogDestination(destination, undefined));
      } else if (typeof destination === 'number' && Number.isInteger(destination) && destination >= 0) {
        callNative(() => binding.setLogDestination(undefined, destination));
      } else {
        throw new TypeError(`log.configure(): destination must be a file path or a file descriptor, got ${describeValue(destination)}`);
      }
    }
  }

  /**
   * Resolves once every line logged so far, by any thread, has been written; rejects
   * if the destination cannot be written (log calls themselves never throw for that).
   */
  flush(): Promise<void> {
    return binding.flushLogs();
  }

  private line(level: LogLevel, message: string, fields: LogFields | undefined): void {
    if (typeof message !== 'string') {
      throw new TypeError(`log.${level}() takes a message string, got ${describeValue(message)}`);
    }
    this.ring ??= new LogRing();
    const ring = this.ring;
    if (fields === undefined) {
      const bound = 18 + message.length * 3;
      // A message too large for the ring is serialised here and written at once.
      if (bound <= DATA_BYTES / 2) ring.appendFields(level, message, undefined, NO_KEYS, bound);
      else ring.appendText(this.textLine(level, message, {}));
    } else {
      if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
        throw new TypeError(`log.${level}() takes its fields as an object, got ${describeValue(fields)}`);
      }
      const keys = Object.keys(fields);
      const bound = this.flatBound(fields, keys, 18 + message.length * 3);
      if (bound >= 0 && bound <= DATA_BYTES / 2) ring.appendFields(level, message, fields, keys, bound);
      else ring.appendText(this.textLine(level, message, fields));
    }
    this.countLine(level);
  }

  /**
   * The worst-case size of a FIELDS record for these fields, or -1 when one is not
   * plain (an object, array, Error or bigint) or its key is redacted: that line is
   * serialised here instead.
   */
  private flatBound(fields: LogFields, keys: readonly string[], bound: number): number {
    const redacted = this.redacted;
    for (const key of keys) {
      const value = fields[key];
      switch (typeof value) {
        case 'number':
          bound += 9;
          break;
        case 'string':
          bound += 5 + value.length * 3;
          break;
        case 'boolean':
          bound += 1;
          break;
        case 'object':
          if (value !== null) return -1;
          bound += 1;
          break;
        case 'bigint':
          return -1;
        default:
          continue;
      }
      if (redacted.size !== 0 && redacted.has(key)) return -1;
      bound += 4 + key.length * 3;
    }
    return bound;
  }

  /** The whole line as JSON text, for fields Rust does not format. */
  private textLine(level: LogLevel, message: string, fields: LogFields): string {
    return `{"level":"${level}","time":${Date.now()},"msg":${JSON.stringify(message)}${this.fieldsText(fields)}}\n`;
  }

  /** `,"key":value…` for the fields, or '' for none. */
  private fieldsText(fields: LogFields): string {
    let json: string;
    try {
      json = JSON.stringify(fields, this.replacer);
    } catch {
      // Circular, or a toJSON that throws: walk it by hand.
      json = JSON.stringify(this.withoutCycles(fields, []), this.replacer);
    }
    return json.length > 2 ? `,${json.slice(1, -1)}` : '';
  }

  /** A copy of `value` in which references back to an ancestor read "[Circular]". */
  private withoutCycles(value: unknown, ancestors: object[]): unknown {
    if (value === null || typeof value !== 'object') return value;
    if (ancestors.includes(value)) return '[Circular]';
    if (value instanceof Error) return this.withoutCycles(errorObject(value), ancestors);
    ancestors.push(value);
    let copy: unknown;
    if (Array.isArray(value)) {
      copy = value.map((item) => this.withoutCycles(item, ancestors));
    } else {
      const object: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        try {
          object[key] = this.withoutCycles(key !== '' && this.redacted.has(key) ? '[Redacted]' : item, ancestors);
        } catch {
          object[key] = '[Unserializable]';
        }
      }
      copy = object;
    }
    ancestors.pop();
    return copy;
  }

  private countLine(level: LogLevel): void {
    let counter = this.linesByLevel.get(level);
    if (counter === undefined) {
      this.lines ??= counterSchema('log_messages_total').help('Log lines written, by level').requireDynamicKey('level').build();
      counter = this.lines.with({ level });
      this.linesByLevel.set(level, counter);
    }
    counter.increment();
  }
}

/**
 * Structured logging: `log.info('Order processed', { order_id: 12345, total: 99.99 })`
 * writes `{"level":"info","time":…,"msg":"Order processed","order_id":12345,"total":99.99}`.
 */
export const log = new Logger();
export type { Logger };
