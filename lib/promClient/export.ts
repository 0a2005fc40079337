// exportOtlp() and exportRemoteWrite() for prom-client users: the same exporters, taking
// prom-client's Registry.
// Metrics written by JS objects registered with registerMetric() (not made through this
// entry) are not exported: only what the engine holds leaves the process.

import type { Registry as EngineRegistry } from '../exposition/registry';
import { exportOtlp as exportEngineOtlp, type MetricsExporter, type OtlpExportOptions as EngineOtlpOptions } from '../export/otlp';
import { exportRemoteWrite as exportEngineRemoteWrite, type RemoteWriteOptions as EngineRemoteWriteOptions } from '../export/remoteWrite';
import { Registry } from './registry';

export type { MetricsExporter, ExportResult, OtlpProtocol, Temporality } from '../export/otlp';

export interface OtlpExportOptions extends Omit<EngineOtlpOptions, 'registry'> {
  /** The registry to export (default: the global `register`, whose metrics are the default registry's). */
  registry?: Registry | EngineRegistry;
}

/** Pushes a registry's metrics to an OTLP/HTTP receiver from the engine's threads (see slotmetrics' exportOtlp()). */
export function exportOtlp(options: OtlpExportOptions = {}): MetricsExporter {
  const { registry, ...rest } = options;
  return exportEngineOtlp(registry instanceof Registry ? { ...rest, registry: registry.engine } : (options as EngineOtlpOptions));
}

export interface RemoteWriteOptions extends Omit<EngineRemoteWriteOptions, 'registry'> {
  /** The registry to export (default: the global `register`, whose metrics are the default registry's). */
  registry?: Registry | EngineRegistry;
}

/** Pushes a registry's metrics to a Prometheus remote-write receiver from the engine's threads (see slotmetrics' exportRemoteWrite()). */
export function exportRemoteWrite(options: RemoteWriteOptions): MetricsExporter {
  const { registry, ...rest } = options;
  return exportEngineRemoteWrite(registry instanceof Registry ? { ...rest, registry: registry.engine } : (options as EngineRemoteWriteOptions));
}
