// The OpenTelemetry environment variables an OTLP exporter reads, parsed as the
// specification defines them (configuration/sdk-environment-variables.md,
// protocol/exporter.md, resource/sdk.md). A value that cannot be parsed is reported as
// a process warning and its default used, as the specification asks.

import { basename } from 'node:path';
import { binding } from '../base/native';

/** How OTLP requests are encoded: protobuf (the default) or JSON. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';
/**
 * What a counter's or histogram's points carry: totals since the series started
 * (`'cumulative'`), what changed since the last acknowledged export (`'delta'`), or
 * delta but for figures read at collection time (`'lowmemory'`).
 */
export type Temporality = 'cumulative' | 'delta' | 'lowmemory';

function variable(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value === '' ? undefined : value;
}

function warn(message: string): void {
  process.emitWarning(`slotmetrics exportOtlp(): ${message}`);
}

/** The metrics-specific variable `OTEL_EXPORTER_OTLP_METRICS_<key>`, else the generic one. */
function otlpVariable(key: string): string | undefined {
  return variable(`OTEL_EXPORTER_OTLP_METRICS_${key}`) ?? variable(`OTEL_EXPORTER_OTLP_${key}`);
}

/** `/v1/metrics` added to a base URL: the generic variable's rule, and the option's when it has no path. */
export function withMetricsPath(base: string): string {
  return `${base.endsWith('/') ? base : `${base}/`}v1/metrics`;
}

/** The URL requests go to when no option names one. */
export function endpointFromEnvironment(): string {
  const own = variable('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
  if (own !== undefined) return own;
  return withMetricsPath(variable('OTEL_EXPORTER_OTLP_ENDPOINT') ?? 'http://localhost:4318');
}

/**
 * `k=v,k2=v2` as W3C baggage writes it (values percent-encoded), into `into`; `null`
 * when the text is malformed.
 */
export function parseKeyValues(text: string, into: Map<string, string> = new Map()): Map<string, string> | null {
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const equals = item.indexOf('=');
    if (equals <= 0) return null;
    const key = item.slice(0, equals).trim();
    let value: string;
    try {
      value = decodeURIComponent(item.slice(equals + 1).trim());
    } catch {
      return null;
    }
    if (key === '') return null;
    into.set(key, value);
  }
  return into;
}

/** Headers of the generic variable, overridden by the metrics one's. Never quoted in a warning: they hold credentials. */
export function headersFromEnvironment(): Map<string, string> {
  const headers = new Map<string, string>();
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_METRICS_HEADERS']) {
    const text = variable(name);
    if (text !== undefined && parseKeyValues(text, headers) === null)
      warn(`${name} is not a list of key=value pairs; some of its headers are left out`);
  }
  return headers;
}

export function protocolFromEnvironment(): OtlpProtocol {
  const value = otlpVariable('PROTOCOL');
  if (value === undefined || value === 'http/protobuf' || value === 'http/json') return value ?? 'http/protobuf';
  warn(
    value === 'grpc'
      ? "OTLP over gRPC is not supported; sending http/protobuf (point the endpoint at the receiver's HTTP port, 4318 by default)"
      : `unknown protocol ${JSON.stringify(value)} in OTEL_EXPORTER_OTLP_*PROTOCOL; sending http/protobuf`,
  );
  return 'http/protobuf';
}

/** gzip unless the environment says `none`. */
export function gzipFromEnvironment(): boolean {
  const value = otlpVariable('COMPRESSION');
  if (value === undefined || value === 'gzip') return true;
  if (value === 'none') return false;
  warn(`unknown compression ${JSON.stringify(value)} in OTEL_EXPORTER_OTLP_*COMPRESSION; using gzip`);
  return true;
}

/** A variable of whole milliseconds, `fallback` when unset or not one. */
export function millisecondsFromEnvironment(name: string, fallback: number): number {
  const text = variable(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (Number.isInteger(value) && value >= 0) return value;
  warn(`${name} must be a whole number of milliseconds, got ${JSON.stringify(text)}; using ${fallback}`);
  return fallback;
}

export function timeoutFromEnvironment(): number {
  const own = variable('OTEL_EXPORTER_OTLP_METRICS_TIMEOUT') !== undefined;
  return millisecondsFromEnvironment(own ? 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT', 10_000);
}

export function temporalityFromEnvironment(): Temporality {
  const name = 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE';
  const value = variable(name)?.toLowerCase();
  if (value === undefined) return 'cumulative';
  if (value === 'cumulative' || value === 'delta' || value === 'lowmemory') return value;
  warn(`unknown ${name} ${JSON.stringify(value)}; using cumulative`);
  return 'cumulative';
}

/** `service.name` as the environment gives it: `OTEL_SERVICE_NAME`, else `OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service:<executable>`. */
export function serviceNameFromEnvironment(): string {
  return resourceFromEnvironment('', {}).get('service.name') as string;
}

/**
 * The resource's attributes: the SDK's own, then `OTEL_RESOURCE_ATTRIBUTES`, then
 * `OTEL_SERVICE_NAME`, then what the code sets (each wins over those before it).
 */
export function resourceFromEnvironment(version: string, fromCode: Record<string, string>): Map<string, string> {
  const resource = new Map<string, string>([
    ['service.name', `unknown_service:${basename(process.argv0 || 'node')}`],
    // Random, made once by the addon, so that every thread of the process gives the same.
    ['service.instance.id', binding.processInstanceId()],
    ['telemetry.sdk.name', 'slotmetrics'],
    ['telemetry.sdk.language', 'nodejs'],
    ['telemetry.sdk.version', version],
  ]);
  const text = variable('OTEL_RESOURCE_ATTRIBUTES');
  if (text !== undefined) {
    const parsed = parseKeyValues(text);
    if (parsed === null) warn('OTEL_RESOURCE_ATTRIBUTES is not a list of key=value pairs with percent-encoded values; it is ignored');
    else for (const [key, value] of parsed) resource.set(key, value);
  }
  const serviceName = variable('OTEL_SERVICE_NAME');
  if (serviceName !== undefined) resource.set('service.name', serviceName);
  for (const [key, value] of Object.entries(fromCode)) resource.set(key, value);
  return resource;
}
