// exportRemoteWrite(): the registry pushed to a Prometheus remote-write receiver
// (Prometheus, Mimir, Thanos, Cortex, VictoriaMetrics, Grafana Cloud, Amazon Managed
// Prometheus) by the engine, on its own threads.

import { hostname } from 'node:os';
import { binding } from '../base/native';
import { checkOptions, checkStringRecord, describeValue, isPlainObject, MAX_TIMER_MS } from '../base/validate';
import { type Registry, registryOption } from '../exposition/registry';
import { serviceNameFromEnvironment } from './environment';
import { exporterHandle, failureListener, startInEngine, type MetricsExporter, OptionChecks, type SigV4Options } from './exporter';

/** `exportRemoteWrite()`'s options. */
export interface RemoteWriteOptions {
  /** The receiver's write URL, e.g. `http://prometheus:9090/api/v1/write`. */
  url: string;
  /** Between exports. Default 15000. */
  intervalMs?: number;
  /** How long one request waits for its answer. Default 10000 (0: no limit). */
  timeoutMs?: number;
  /** How long one export may take, retries included; the next export waits for it to end. Default 30000. */
  exportTimeoutMs?: number;
  /** Sent with every request. Their values never appear in errors or logs. */
  headers?: Record<string, string>;
  /** HTTP basic authentication. */
  basicAuth?: {
    /** The user name. */
    username: string;
    /** The password; never in errors or logs. */
    password: string;
  };
  /** Sent as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /**
   * Labels every series gets unless it has its own of that name. Default: `job` from
   * `OTEL_SERVICE_NAME` (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, else
   * `unknown_service:node`) and `instance` from the host name.
   */
  labels?: Record<string, string>;
  /**
   * Send native histograms as native histograms (default true). A receiver that refuses
   * them gets each one's `_count` and `_sum` instead, and `onError` is told once.
   */
  nativeHistograms?: boolean;
  /**
   * Sign every request with AWS SigV4, as Amazon Managed Prometheus requires (service
   * default `aps`; credentials as for exportCloudWatch()).
   */
  sigv4?: SigV4Options;
  /** Series in one request at most (default 2000). */
  maxSeriesPerRequest?: number;
  /**
   * The protocol version (default `'1.0'`, which every receiver takes). `'2.0'` sends
   * `io.prometheus.write.v2.Request`, which adds each metric's type and help, each
   * series' start time and exemplars, for receivers that take it (Prometheus 2.54 and
   * later, Mimir 2.17 and later, the OpenTelemetry Collector). A receiver that answers
   * without 2.0's `Written` headers stored nothing: that is reported, not counted as sent.
   */
  version?: '1.0' | '2.0';
  /** The registry to export (default: the default `registry`). */
  registry?: Registry;
  /** Flush once more before the process exits (see exportOtlp()). Default false. */
  flushOnExit?: boolean;
  /** Told of a failure the first time it happens after a success. Default: a process warning. */
  onError?: (error: Error) => void;
}

const OPTIONS = [
  'url',
  'intervalMs',
  'timeoutMs',
  'exportTimeoutMs',
  'headers',
  'basicAuth',
  'bearerToken',
  'labels',
  'nativeHistograms',
  'maxSeriesPerRequest',
  'registry',
  'flushOnExit',
  'onError',
  'sigv4',
  'version',
] as const;

const CALL = 'exportRemoteWrite()';
const check = new OptionChecks(CALL);

/** The `Authorization` header of the credentials options, if any. */
function authorization(options: RemoteWriteOptions): string | undefined {
  const { basicAuth, bearerToken } = options;
  if (basicAuth !== undefined && bearerToken !== undefined) throw new TypeError(`${CALL}: give basicAuth or bearerToken, not both`);
  if (bearerToken !== undefined) {
    if (typeof bearerToken !== 'string' || bearerToken === '') throw new TypeError(`${CALL}: bearerToken must be a non-empty string`);
    return `Bearer ${bearerToken}`;
  }
  if (basicAuth === undefined) return undefined;
  if (!isPlainObject(basicAuth) || typeof basicAuth.username !== 'string' || typeof basicAuth.password !== 'string') {
    throw new TypeError(`${CALL}: basicAuth must be { username: string, password: string }, got ${describeValue(basicAuth)}`);
  }
  return `Basic ${Buffer.from(`${basicAuth.username}:${basicAuth.password}`).toString('base64')}`;
}

/** The engine's number of the `version` option. */
function protocolVersion(version: RemoteWriteOptions['version']): number {
  if (version === undefined || version === '1.0') return 1;
  if (version === '2.0') return 2;
  throw new TypeError(`${CALL}: version must be '1.0' or '2.0', got ${describeValue(version)}`);
}

/**
 * Starts pushing the registry's metrics to a Prometheus remote-write receiver every
 * `intervalMs`: snappy-compressed protobuf (1.0 unless `version` says 2.0), retried on
 * 5xx and 429.
 *
 * @example
 * ```js
 * exportRemoteWrite({
 *   url: 'https://prometheus.example/api/v1/write',
 *   basicAuth: { username: 'tenant', password: process.env.REMOTE_WRITE_PASSWORD },
 * });
 * ```
 */
export function exportRemoteWrite(options: RemoteWriteOptions): MetricsExporter {
  checkOptions(CALL, options, OPTIONS);
  check.url('url', options.url);
  const headers: Record<string, string> = {};
  if (options.headers !== undefined) {
    checkStringRecord(CALL, 'headers', options.headers);
    Object.assign(headers, options.headers);
  }
  const auth = authorization(options);
  if (auth !== undefined) headers.authorization = auth;
  if (options.labels !== undefined) checkStringRecord(CALL, 'labels', options.labels);
  const labels = {
    job: serviceNameFromEnvironment(),
    instance: hostname(),
    ...options.labels,
  };
  const onError = check.onError(options.onError);
  const flushOnExit = check.boolean('flushOnExit', options.flushOnExit) ?? false;
  const registry = registryOption(CALL, options.registry);
  const intervalMs = check.ms('intervalMs', options.intervalMs) ?? 15_000;
  const exportTimeoutMs = check.ms('exportTimeoutMs', options.exportTimeoutMs) ?? 30_000;
  const timeoutMs = check.ms('timeoutMs', options.timeoutMs, true) ?? 10_000;
  const settings = {
    url: options.url,
    headers: Object.entries(headers).map(([name, value]) => ({ name, value })),
    labels: Object.entries(labels).map(([name, value]) => ({ name, value })),
    nativeHistograms: check.boolean('nativeHistograms', options.nativeHistograms) ?? true,
    maxSeries: check.count('maxSeriesPerRequest', options.maxSeriesPerRequest, 1) ?? 2000,
    version: protocolVersion(options.version),
    intervalMs,
    // 0 means no limit.
    timeoutMs: timeoutMs === 0 ? MAX_TIMER_MS : timeoutMs,
    exportTimeoutMs,
    collectTimeoutMs: 1000,
    registry: registry.id,
    ...check.sigv4(options.sigv4, 'aps'),
  };
  const id = startInEngine(CALL, () => binding.startRemoteWriteExporter(settings, failureListener(CALL, onError)));
  return exporterHandle(id, flushOnExit);
}
