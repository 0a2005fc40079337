// exportDatadog(): exportOtlp() set up for Datadog's OTLP metrics intake: its site's
// endpoint, the API key header, delta temporality (the intake refuses cumulative) and
// its 500 KB limit on a request before compression.

import { describeValue } from '../base/validate';
import { type MetricsExporter, OptionChecks } from './exporter';
import { type OtlpExportOptions, startOtlpExporter } from './otlp';

/** `exportDatadog()`'s options: `exportOtlp()`'s, always delta. */
export interface DatadogOptions extends Omit<OtlpExportOptions, 'temporality'> {
  /** Datadog site, e.g. `datadoghq.com`, `datadoghq.eu`, `us5.datadoghq.com`. Default `DD_SITE`, else `datadoghq.com`. */
  site?: string;
  /** Default `DD_API_KEY`. Never appears in errors or logs. */
  apiKey?: string;
  /** Always delta: Datadog's intake refuses cumulative metrics. */
  temporality?: 'delta';
}

const CALL = 'exportDatadog()';
/** The intake refuses larger requests (413), counted before compression. */
const MAX_BYTES = 500_000;

/**
 * Starts pushing the registry's metrics to Datadog over OTLP/HTTP, with no Agent. Give
 * `endpoint` to send through a proxy (the API key still goes in `dd-api-key`).
 *
 * @example
 * ```js
 * exportDatadog({ site: 'datadoghq.eu' }); // the API key from DD_API_KEY
 * ```
 */
export function exportDatadog(options: DatadogOptions = {}): MetricsExporter {
  const { site: givenSite, apiKey: givenKey, ...otlp } = options;
  const check = new OptionChecks(CALL);
  if (otlp.temporality !== undefined && otlp.temporality !== 'delta') {
    throw new TypeError(`${CALL}: Datadog takes delta temporality only, got ${describeValue(otlp.temporality)}`);
  }
  const site = givenSite ?? process.env.DD_SITE?.trim() ?? 'datadoghq.com';
  if (typeof site !== 'string' || !/^[a-z0-9.-]+$/i.test(site))
    throw new TypeError(`${CALL}: site must be a Datadog site such as "datadoghq.eu", got ${describeValue(site)}`);
  const apiKey = givenKey ?? process.env.DD_API_KEY?.trim();
  if (typeof apiKey !== 'string' || apiKey === '') {
    throw new TypeError(`${CALL}: no API key: set DD_API_KEY or pass apiKey`);
  }
  const maxRequestBytes = check.count('maxRequestBytes', otlp.maxRequestBytes, 1024) ?? MAX_BYTES;
  if (maxRequestBytes > MAX_BYTES) throw new RangeError(`${CALL}: maxRequestBytes must be at most ${MAX_BYTES}, the intake's limit`);
  return startOtlpExporter(CALL, {
    ...otlp,
    endpoint: otlp.endpoint ?? `https://otlp.${site}/v1/metrics`,
    headers: { ...otlp.headers, 'dd-api-key': apiKey },
    temporality: 'delta',
    maxRequestBytes,
  });
}
