// exportOtlp(): the registry pushed to an OTLP/HTTP receiver (an OpenTelemetry
// Collector, Grafana Alloy, Datadog, CloudWatch, Google Cloud, …) by the engine, on its
// own threads: reading, encoding, compressing, sending and retrying never run on the
// event loop.

import { binding } from '../base/native';
import { checkOptions, checkStringRecord, MAX_TIMER_MS } from '../base/validate';
import { type Registry, registryOption } from '../exposition/registry';
import { exporterHandle, failureListener, startInEngine, type MetricsExporter, OptionChecks, type SigV4Options, UNLIMITED } from './exporter';
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
export type { ExportResult, MetricsExporter } from './exporter';

/** `exportOtlp()`'s options; each defaults to its `OTEL_*` variable, then to the specification's default. */
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
  /** How long one export may take, retries included; the next export waits for it to end. Default `OTEL_METRIC_EXPORT_TIMEOUT`, else 30000. */
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
  /** Sign every request with AWS SigV4 (credentials from the environment, profile, web identity, container or instance; see docs/sending-metrics.md, "Credentials"). */
  sigv4?: SigV4Options;
  /**
   * Told of a failure the first time it happens after a success (so a receiver that is
   * down is reported once, not at every export). Default: a process warning.
   */
  onError?: (error: Error) => void;
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
  'sigv4',
] as const;

const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

/** The endpoint option as requests use it: a URL without a path gets `/v1/metrics`. */
function endpointOption(check: OptionChecks, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const url = check.url('endpoint', value);
  const text = value as string;
  return url.pathname === '/' && !text.endsWith('/') ? withMetricsPath(text) : text;
}

/**
 * Starts pushing the registry's metrics to an OTLP/HTTP receiver every `intervalMs`.
 * With no options, everything comes from the standard `OTEL_*` environment variables,
 * so a deployment configured for OpenTelemetry needs nothing more.
 *
 * @example
 * ```js
 * const exporter = exportOtlp({ endpoint: 'http://collector:4318', intervalMs: 15_000 });
 * await exporter.flush(); // once the collector acknowledged what is recorded now
 * ```
 */
export function exportOtlp(options: OtlpExportOptions = {}): MetricsExporter {
  return startOtlpExporter('exportOtlp()', options);
}

/** What a preset adds to the options users can give. */
export interface OtlpPresetSettings {
  /** Authorize with a Google access token from this key file ('': Application Default Credentials). */
  googleCredentials?: string;
}

/** exportOtlp() under the name of the call the options were given to (a preset's). */
export function startOtlpExporter(call: string, options: OtlpExportOptions, preset: OtlpPresetSettings = {}): MetricsExporter {
  const check = new OptionChecks(call);
  checkOptions(call, options, OPTIONS);
  const headers = headersFromEnvironment();
  if (options.headers !== undefined) {
    checkStringRecord(call, 'headers', options.headers);
    for (const [name, value] of Object.entries(options.headers)) headers.set(name, value);
  }
  if (options.resource !== undefined) checkStringRecord(call, 'resource', options.resource);
  const onError = check.onError(options.onError);
  const flushOnExit = check.boolean('flushOnExit', options.flushOnExit) ?? false;
  const registry = registryOption(call, options.registry);
  const intervalMs = check.ms('intervalMs', options.intervalMs) ?? millisecondsFromEnvironment('OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  // 0 means no limit, as the specification says of the request timeout.
  const exportTimeoutMs = check.ms('exportTimeoutMs', options.exportTimeoutMs) ?? millisecondsFromEnvironment('OTEL_METRIC_EXPORT_TIMEOUT', 30_000);
  const timeoutMs = check.ms('timeoutMs', options.timeoutMs, true) ?? timeoutFromEnvironment();
  const compression = check.choice('compression', options.compression, ['gzip', 'none']);
  const settings = {
    url: endpointOption(check, options.endpoint) ?? endpointFromEnvironment(),
    headers: [...headers].map(([name, value]) => ({ name, value })),
    protocol: check.choice('protocol', options.protocol, ['http/protobuf', 'http/json']) ?? protocolFromEnvironment(),
    gzip: compression === undefined ? gzipFromEnvironment() : compression === 'gzip',
    temporality: check.choice('temporality', options.temporality, ['cumulative', 'delta', 'lowmemory']) ?? temporalityFromEnvironment(),
    resource: [...resourceFromEnvironment(binding.agentVersion(), options.resource ?? {})].map(([name, value]) => ({ name, value })),
    intervalMs: Math.max(intervalMs, 1),
    timeoutMs: timeoutMs === 0 ? MAX_TIMER_MS : timeoutMs,
    exportTimeoutMs: exportTimeoutMs === 0 ? MAX_TIMER_MS : exportTimeoutMs,
    collectTimeoutMs: 1000,
    registry: registry.id,
    maxPoints: check.count('maxPointsPerRequest', options.maxPointsPerRequest, 1) ?? UNLIMITED,
    maxBytes: check.count('maxRequestBytes', options.maxRequestBytes, 1024) ?? DEFAULT_MAX_BYTES,
    ...check.sigv4(options.sigv4),
    googleCredentials: preset.googleCredentials,
  };
  const id = startInEngine(call, () => binding.startOtlpExporter(settings, failureListener(call, onError)));
  return exporterHandle(id, flushOnExit);
}
