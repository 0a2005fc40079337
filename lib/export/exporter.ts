// What every exporter shares: the handle JS holds (flush, stop, the flush at exit), how
// failures reach the user, and the checks of the options they have in common.

import { whileRunning } from '../base/lifecycle';
import { binding, callNative } from '../base/native';
import { flushPendingUpdates } from '../base/pending';
import { describeValue, isTimerMs, MAX_TIMER_MS } from '../base/validate';

/** What an export delivered. */
export interface ExportResult {
  /** Data points (samples, for remote write) the receiver accepted. */
  points: number;
  /** Requests it took. */
  requests: number;
}

/** A running exporter: what `exportOtlp()` and the other exporters return. */
export interface MetricsExporter {
  /**
   * Exports what is recorded now; resolves once the receiver has acknowledged it, or
   * rejects saying why not.
   */
  flush(): Promise<ExportResult>;
  /** Exports a last time, then stops. Calling it again is harmless. */
  stop(): Promise<void>;
}

/** How long a flush at exit may take. */
const EXIT_FLUSH_MS = 2000;
/** "No limit" for a u32 option of the engine. */
export const UNLIMITED = 2 ** 32 - 1;

/** The function the engine calls with a failure's message (once per kind of failure until a success). */
export function failureListener(call: string, onError: ((error: Error) => void) | undefined): (message: string) => void {
  return (message) => {
    const error = new Error(`slotmetrics ${call}: ${message}`);
    if (!onError) return process.emitWarning(error.message);
    try {
      onError(error);
    } catch (thrown) {
      // It runs from the engine's thread's callback: a throw would end the process.
      process.emitWarning(`${error.message} (and onError threw: ${(thrown as Error)?.message ?? String(thrown)})`);
    }
  };
}

/** Starts an exporter in the engine; its argument errors name `call`. */
export function startInEngine(call: string, start: () => number): number {
  try {
    return callNative(start);
  } catch (error) {
    if (error instanceof Error) error.message = `${call}: ${error.message}`;
    throw error;
  }
}

/** The handle of the engine's exporter `id`, registered with shutdown(). */
export function exporterHandle(id: number, flushOnExit: boolean): MetricsExporter {
  let stopped: Promise<void> | undefined;
  const flush = (): Promise<ExportResult> => {
    // This thread's summary observations and exemplars still held for the turn.
    flushPendingUpdates();
    return binding.flushExporter(id);
  };
  const exitHooks = flushOnExit ? flushAtExit(flush) : undefined;
  const stop = (): Promise<void> => {
    if (stopped) return stopped;
    flushPendingUpdates();
    exitHooks?.remove();
    forget();
    stopped = binding.stopExporter(id);
    return stopped;
  };
  const forget = whileRunning(stop);
  return { flush, stop };
}

/** Flushes on `beforeExit` (once) and on SIGTERM and SIGINT, then lets the signal act as it would have. */
function flushAtExit(flush: () => Promise<unknown>): { remove(): void } {
  const withDeadline = (): Promise<unknown> =>
    Promise.race([flush().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, EXIT_FLUSH_MS).unref())]);
  const beforeExit = (): void => {
    process.off('beforeExit', beforeExit);
    void withDeadline();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    remove();
    void withDeadline().then(() => {
      // Nobody else handles it: end the process as the signal would have.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };
  const remove = (): void => {
    process.off('beforeExit', beforeExit);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  process.on('beforeExit', beforeExit);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return { remove };
}

/** Where requests are signed with AWS SigV4. */
export interface SigV4Options {
  /** Default `AWS_REGION`, else `AWS_DEFAULT_REGION`. */
  region?: string;
  /** The AWS service: `monitoring` for CloudWatch, `aps` for Amazon Managed Prometheus. */
  service?: string;
}

/** The region AWS tools use when none is given. */
export function regionFromEnvironment(): string | undefined {
  return [process.env.AWS_REGION, process.env.AWS_DEFAULT_REGION].map((v) => v?.trim()).find((v) => v);
}

/** Checks of options, each naming the call in its error. */
export class OptionChecks {
  constructor(private readonly call: string) {}

  /** Whole milliseconds a timer can wait (0 too when `zeroAllowed`), or undefined. */
  ms(name: string, value: unknown, zeroAllowed = false): number | undefined {
    if (value === undefined) return undefined;
    if (isTimerMs(value) || (zeroAllowed && value === 0)) return value as number;
    throw new RangeError(`${this.call}: ${name} must be an integer from ${zeroAllowed ? 0 : 1} to ${MAX_TIMER_MS}, got ${describeValue(value)}`);
  }

  count(name: string, value: unknown, least: number): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value >= least && value <= UNLIMITED) return value;
    throw new RangeError(`${this.call}: ${name} must be an integer from ${least} to ${UNLIMITED}, got ${describeValue(value)}`);
  }

  choice<T extends string>(name: string, value: unknown, choices: readonly T[]): T | undefined {
    if (value === undefined || choices.includes(value as T)) return value as T | undefined;
    throw new TypeError(`${this.call}: ${name} must be ${choices.map((c) => `'${c}'`).join(' or ')}, got ${describeValue(value)}`);
  }

  boolean(name: string, value: unknown): boolean | undefined {
    if (value === undefined || typeof value === 'boolean') return value;
    throw new TypeError(`${this.call}: ${name} must be a boolean, got ${describeValue(value)}`);
  }

  onError(value: unknown): ((error: Error) => void) | undefined {
    if (value === undefined || typeof value === 'function') return value as ((error: Error) => void) | undefined;
    throw new TypeError(`${this.call}: onError must be a function, got ${describeValue(value)}`);
  }

  /** SigV4 options as the engine takes them; `undefined` when requests are not signed. */
  sigv4(value: unknown, defaultService?: string): { sigv4Region: string; sigv4Service: string } | undefined {
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object')
      throw new TypeError(`${this.call}: sigv4 must be { region?, service? }, got ${describeValue(value)}`);
    const { region = regionFromEnvironment(), service = defaultService } = value as SigV4Options;
    if (typeof region !== 'string' || region === '') throw new TypeError(`${this.call}: sigv4 needs a region: pass sigv4.region or set AWS_REGION`);
    if (typeof service !== 'string' || service === '')
      throw new TypeError(`${this.call}: sigv4 needs the AWS service it signs for, such as 'monitoring' or 'aps'`);
    return { sigv4Region: region, sigv4Service: service };
  }

  /** An http(s) URL; its text is not repeated in the error (it may carry credentials). */
  url(name: string, value: unknown): URL {
    let url: URL | undefined;
    try {
      url = typeof value === 'string' ? new URL(value) : undefined;
    } catch {}
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      const got = typeof value === 'string' ? (url ? `a URL with ${url.protocol}` : 'a string that is not a URL') : describeValue(value);
      throw new TypeError(`${this.call}: ${name} must be an http:// or https:// URL, got ${got}`);
    }
    return url;
  }
}
