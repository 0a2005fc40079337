// The exporters for prom-client users: the same exporters, taking prom-client's
// Registry. Metrics written by JS objects registered with registerMetric() (not made
// through this entry) are not exported: only what the engine holds leaves the process.

import { type CloudWatchOptions as EngineCloudWatchOptions, exportCloudWatch as exportEngineCloudWatch } from '../export/cloudwatch';
import { type DatadogOptions as EngineDatadogOptions, exportDatadog as exportEngineDatadog } from '../export/datadog';
import { exportGoogleCloud as exportEngineGoogleCloud, type GoogleCloudOptions as EngineGoogleCloudOptions } from '../export/googleCloud';
import type { MetricsExporter } from '../export/exporter';
import { exportOtlp as exportEngineOtlp, type OtlpExportOptions as EngineOtlpOptions } from '../export/otlp';
import { exportRemoteWrite as exportEngineRemoteWrite, type RemoteWriteOptions as EngineRemoteWriteOptions } from '../export/remoteWrite';
import type { Registry as EngineRegistry } from '../exposition/registry';
import { Registry } from './registry';

export type { ExportResult, MetricsExporter } from '../export/exporter';

/** An exporter's options, its registry a prom-client Registry or an engine one. */
type WithRegistry<T extends { registry?: EngineRegistry }> = Omit<T, 'registry'> & {
  /** The registry to export (default: the global `register`, whose metrics are the default registry's). */
  registry?: Registry | EngineRegistry;
};

/** `exportOtlp()`'s options; `registry` may be a prom-client `Registry`. */
export type OtlpExportOptions = WithRegistry<EngineOtlpOptions>;
/** `exportRemoteWrite()`'s options; `registry` may be a prom-client `Registry`. */
export type RemoteWriteOptions = WithRegistry<EngineRemoteWriteOptions>;
/** `exportDatadog()`'s options; `registry` may be a prom-client `Registry`. */
export type DatadogOptions = WithRegistry<EngineDatadogOptions>;
/** `exportCloudWatch()`'s options; `registry` may be a prom-client `Registry`. */
export type CloudWatchOptions = WithRegistry<EngineCloudWatchOptions>;
/** `exportGoogleCloud()`'s options; `registry` may be a prom-client `Registry`. */
export type GoogleCloudOptions = WithRegistry<EngineGoogleCloudOptions>;

/** The options with a prom-client registry replaced by its engine registry. */
function engineOptions<T extends { registry?: EngineRegistry }>(options: WithRegistry<T>): T {
  const { registry } = options;
  return (registry instanceof Registry ? { ...options, registry: registry.engine } : options) as T;
}

/** Pushes a registry's metrics to an OTLP/HTTP receiver from the engine's threads (see slotmetrics' exportOtlp()). */
export function exportOtlp(options: OtlpExportOptions = {}): MetricsExporter {
  return exportEngineOtlp(engineOptions<EngineOtlpOptions>(options));
}

/** Pushes a registry's metrics to a Prometheus remote-write receiver (see slotmetrics' exportRemoteWrite()). */
export function exportRemoteWrite(options: RemoteWriteOptions): MetricsExporter {
  return exportEngineRemoteWrite(engineOptions<EngineRemoteWriteOptions>(options));
}

/** Pushes a registry's metrics to Datadog's OTLP intake (see slotmetrics' exportDatadog()). */
export function exportDatadog(options: DatadogOptions = {}): MetricsExporter {
  return exportEngineDatadog(engineOptions<EngineDatadogOptions>(options));
}

/** Pushes a registry's metrics to Amazon CloudWatch's OTLP endpoint (see slotmetrics' exportCloudWatch()). */
export function exportCloudWatch(options: CloudWatchOptions = {}): MetricsExporter {
  return exportEngineCloudWatch(engineOptions<EngineCloudWatchOptions>(options));
}

/** Pushes a registry's metrics to Google Cloud's Telemetry API (see slotmetrics' exportGoogleCloud()). */
export function exportGoogleCloud(options: GoogleCloudOptions = {}): MetricsExporter {
  return exportEngineGoogleCloud(engineOptions<EngineGoogleCloudOptions>(options));
}
