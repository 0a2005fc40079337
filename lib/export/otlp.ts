// exportOtlp(): the registry pushed to an OTLP/HTTP receiver (an OpenTelemetry
// Collector, Grafana Alloy, Datadog, CloudWatch, Google Cloud, …) by the engine, on its
// own threads: reading, encoding, compressing, sending and retrying never run on the
// event loop.

import { whileRunning } from '../base/lifecycle';
import { binding, callNative } from '../base/native';
import { flushPendingUpdates } from '../base/pending';
import { checkOptions, checkStringRecord, describeValue, isTimerMs, MAX_TIMER_MS } from '../base/validate';
import { type Registry, registryOption } from '../exposition/registry';
import {
  endpointFromEnvironment,
  gzipFromEnvironment,
  headersFromEnvironment,
  millisecondsFromEnvironment,
  type OtlpProtocol,
  protocolFromEnvironment,
  resourceFromEnvironment,
  type Temporality,
  temporalityFromEnvironment,
  timeoutFromEnvironment,
  withMetricsPath,
} from './environment';

export type { OtlpProtocol, Temporality } from './environment';

export interface OtlpExportOptions {
  /**
   * The receiver's URL. A URL with a path is used as given; one without gets
   * `/v1/metrics`. Default: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` as given, else
   * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics`, else `http://localhost:4318/v1/metrics`.
   */
  endpoint?: string;
  /** Sent with every request, over those of `OTEL_EXPORTER_OTLP[_METRICS]_HEADERS`. Their values never appear in errors or logs. */
  headers?: Record<string, string>;
  /** Default `OTEL_EXPORTER_OTLP[_METRICS]_PROTOCOL`, else `'http/protobuf'`. */
  protocol?: OtlpProtocol;
  /** Default `OTEL_EXPORTER_OTLP[_METRICS]_COMPRESSION`, else `'gzip'`. */
  compression?: 'gzip' | 'none';
  /**
   * `'cumulative'` (totals since each series started), `'delta'` (counters and
   * histograms as what changed since the last acknowledged export) or `'lowmemory'`
   * (delta, except figures read at collection time such as process metrics). Gauges
   * and summaries are always sent as they are. Default
   * `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, else `'cumulative'`.
   */
  temporality?: Temporality;
  /** Between exports. Default `OTEL_METRIC_EXPORT_INTERVAL`, else 60000. */
  intervalMs?: number;
  /** How long one request waits for its answer. Default `OTEL_EXPORTER_OTLP[_METRICS]_TIMEOUT`, else 10000. */
  timeoutMs?: number;
  /** How long one export may take, retries included (at most the interval). Default `OTEL_METRIC_EXPORT_TIMEOUT`, else 30000. */
  exportTimeoutMs?: number;
  /**
   * Resource attributes, over `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME`. The
   * registry's default labels are added to them.
   */
  resource?: Record<string, string>;
  /** The registry to export (default: the default `registry`). */
  registry?: Registry;
  /** Data points in one request at most (default: no limit but the size). */
  maxPointsPerRequest?: number;
  /** Bytes of one request before compression, at most (default 4 MiB). */
  maxRequestBytes?: number;
  /**
   * Flush once more before the process exits: on `beforeExit`, and on SIGTERM and
   * SIGINT (then the signal's default action follows unless another listener handles
   * it), for at most 2 s. Default false.
   */
  flushOnExit?: boolean;
  /**
   * Told of a failure the first time it happens after a success (so a receiver that is
   * down is reported once, not at every export). Default: a process warning.
   */
  onError?: (error: Error) => void;
}

/** What an export delivered. */
export interface ExportResult {
  /** Data points the receiver accepted. */
  points: number;
  requests: number;
}

export interface MetricsExporter {
  /**
   * Exports what is recorded now; resolves once the receiver has acknowledged it, or
   * rejects saying why not (the points of a failed export are carried by the next).
   */
  flush(): Promise<ExportResult>;
  /** Exports a last time, then stops. Calling it again is harmless. */
  stop(): Promise<void>;
}

const OPTIONS = [
  'endpoint',
  'headers',
  'protocol',
  'compression',
  'temporality',
  'intervalMs',
  'timeoutMs',
  'exportTimeoutMs',
  'resource',
  'registry',
  'maxPointsPerRequest',
  'maxRequestBytes',
  'flushOnExit',
  'onError',
] as const;

const CALL = 'exportOtlp()';
/** How long a flush at exit may take. */
const EXIT_FLUSH_MS = 2000;
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
/** "No limit" for a u32 option of the engine. */
const UNLIMITED = 2 ** 32 - 1;

function checkMs(name: string, value: unknown, zeroAllowed: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (isTimerMs(value) || (zeroAllowed && value === 0)) return value as number;
  throw new RangeError(`${CALL}: ${name} must be an integer from ${zeroAllowed ? 0 : 1} to ${MAX_TIMER_MS}, got ${describeValue(value)}`);
}

function checkCount(name: string, value: unknown, least: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= least && value <= UNLIMITED) return value;
  throw new RangeError(`${CALL}: ${name} must be an integer from ${least} to ${UNLIMITED}, got ${describeValue(value)}`);
}

function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T | undefined {
  if (value === undefined || choices.includes(value as T)) return value as T | undefined;
  throw new TypeError(`${CALL}: ${name} must be ${choices.map((c) => `'${c}'`).join(' or ')}, got ${describeValue(value)}`);
}

/** The endpoint option as requests use it: a URL without a path gets `/v1/metrics`. */
function endpointOption(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new TypeError(
      `${CALL}: endpoint must be an http:// or https:// URL, got ${typeof value === 'string' ? 'a string that is not a URL' : describeValue(value)}`,
    );
  }
  if (typeof value !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(`${CALL}: endpoint must be an http:// or https:// URL, got one with ${url.protocol}`);
  }
  return url.pathname === '/' && !value.endsWith('/') ? withMetricsPath(value) : value;
}

/**
 * Starts pushing the registry's metrics to an OTLP/HTTP receiver every `intervalMs`.
 * With no options, everything comes from the standard `OTEL_*` environment variables,
 * so a deployment configured for OpenTelemetry needs nothing more.
 */
export function exportOtlp(options: OtlpExportOptions = {}): MetricsExporter {
  checkOptions(CALL, options, OPTIONS);
  const headers = headersFromEnvironment();
  if (options.headers !== undefined) {
    checkStringRecord(CALL, 'headers', options.headers);
    for (const [name, value] of Object.entries(options.headers)) headers.set(name, value);
  }
  if (options.resource !== undefined) checkStringRecord(CALL, 'resource', options.resource);
  const onError = options.onError;
  if (onError !== undefined && typeof onError !== 'function')
    throw new TypeError(`${CALL}: onError must be a function, got ${describeValue(onError)}`);
  if (options.flushOnExit !== undefined && typeof options.flushOnExit !== 'boolean') {
    throw new TypeError(`${CALL}: flushOnExit must be a boolean, got ${describeValue(options.flushOnExit)}`);
  }
  const registry = registryOption(CALL, options.registry);
  const intervalMs = checkMs('intervalMs', options.intervalMs, false) ?? millisecondsFromEnvironment('OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  const exportTimeoutMs =
    checkMs('exportTimeoutMs', options.exportTimeoutMs, false) ?? millisecondsFromEnvironment('OTEL_METRIC_EXPORT_TIMEOUT', 30_000);
  // 0 means no limit, as in the specification.
  const timeoutMs = checkMs('timeoutMs', options.timeoutMs, true) ?? timeoutFromEnvironment();
  const compression = checkChoice('compression', options.compression, ['gzip', 'none']);
  const resource = resourceFromEnvironment(binding.agentVersion(), options.resource ?? {});

  const id = callNative(() =>
    binding.startOtlpExporter(
      {
        url: endpointOption(options.endpoint) ?? endpointFromEnvironment(),
        headers: [...headers].map(([name, value]) => ({ name, value })),
        protocol: checkChoice('protocol', options.protocol, ['http/protobuf', 'http/json']) ?? protocolFromEnvironment(),
        gzip: compression === undefined ? gzipFromEnvironment() : compression === 'gzip',
        temporality: checkChoice('temporality', options.temporality, ['cumulative', 'delta', 'lowmemory']) ?? temporalityFromEnvironment(),
        resource: [...resource].map(([name, value]) => ({ name, value })),
        intervalMs: Math.max(intervalMs, 1),
        timeoutMs: timeoutMs === 0 ? MAX_TIMER_MS : timeoutMs,
        exportTimeoutMs: Math.max(Math.min(exportTimeoutMs, intervalMs), 1),
        collectTimeoutMs: 1000,
        registry: registry.id,
        maxPoints: checkCount('maxPointsPerRequest', options.maxPointsPerRequest, 1) ?? UNLIMITED,
        maxBytes: checkCount('maxRequestBytes', options.maxRequestBytes, 1024) ?? DEFAULT_MAX_BYTES,
      },
      (message: string) => {
        const error = new Error(`slotmetrics ${CALL}: ${message}`);
        if (onError) onError(error);
        else process.emitWarning(error.message);
      },
    ),
  );

  let stopped: Promise<void> | undefined;
  const exitHooks = options.flushOnExit ? flushAtExit(() => exporter.flush()) : undefined;
  const stop = (): Promise<void> => {
    if (stopped) return stopped;
    flushPendingUpdates();
    exitHooks?.remove();
    forget();
    stopped = binding.stopExporter(id);
    return stopped;
  };
  const forget = whileRunning(stop);
  const exporter: MetricsExporter = {
    flush: () => {
      // This thread's summary observations and exemplars still held for the turn.
      flushPendingUpdates();
      return binding.flushExporter(id);
    },
    stop,
  };
  return exporter;
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
