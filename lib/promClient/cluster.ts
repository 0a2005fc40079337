// prom-client's AggregatorRegistry: metrics of a Node `cluster`. Each worker process has
// its own engine unless the cluster is a multi-process group (SLOTMETRICS_MULTIPROCESS_DIR),
// so the primary asks every worker for its metrics over the cluster's IPC channel and
// combines them with each metric's aggregator. The messages are prom-client's own, so a
// primary and workers may use either library. In a group, the primary reads the group's
// metrics from shared memory instead: no message, no timeout, no setup in the workers.

import type * as Cluster from 'node:cluster';
import { binding } from '../base/native';
import { aggregators, type MetricData } from './aggregators';
import { globalRegistry, Registry, type RegistryContentType } from './registry';

const GET_METRICS_REQ = 'prom-client:getMetricsReq';
const GET_METRICS_RES = 'prom-client:getMetricsRes';
/** How long clusterMetrics() waits for every worker's answer. */
const WORKERS_TIMEOUT_MS = 5000;

interface MetricsRequest {
  responses: MetricData[][];
  pending: number;
  done: (error: Error | null, text?: Promise<string> | string) => void;
  timeout: NodeJS.Timeout;
}

interface MetricsMessage {
  type?: string;
  requestId: number;
  metrics?: MetricData[][];
  error?: string;
}

// Loaded on first use: some application servers crash when `cluster` is imported.
let clusterModule: typeof Cluster.default | undefined;
function cluster(): typeof Cluster.default {
  clusterModule ??= require('node:cluster') as typeof Cluster.default;
  return clusterModule;
}

/** What a worker answers with: these registries' metrics (default: the global one). */
let registries: Registry[] = [globalRegistry];
let nextRequestId = 0;
const requests = new Map<number, MetricsRequest>();
let listening = false;

export class AggregatorRegistry extends Registry {
  constructor(contentType: RegistryContentType = Registry.PROMETHEUS_CONTENT_TYPE) {
    super(contentType);
    listen();
  }

  /** In the primary: every connected worker's metrics, aggregated, as text. */
  clusterMetrics(): Promise<string> {
    if (binding.inMultiprocessGroup()) return groupMetrics();
    const requestId = nextRequestId++;
    return new Promise((resolve, reject) => {
      let settled = false;
      const request: MetricsRequest = {
        responses: [],
        pending: 0,
        done: (error, text) => {
          if (settled) return;
          settled = true;
          requests.delete(requestId);
          clearTimeout(request.timeout);
          if (error) reject(error);
          else resolve(text ?? '');
        },
        timeout: setTimeout(() => request.done(new Error('Operation timed out.')), WORKERS_TIMEOUT_MS),
      };
      requests.set(requestId, request);
      for (const worker of Object.values(cluster().workers ?? {})) {
        // A worker that exited abruptly may still be listed without a channel.
        if (worker?.isConnected()) {
          worker.send({ type: GET_METRICS_REQ, requestId });
          request.pending++;
        }
      }
      if (request.pending === 0) process.nextTick(() => request.done(null, ''));
    });
  }

  /**
   * A registry holding the metrics of several getMetricsAsJSON() results, each
   * metric combined with its `aggregator` (which, as in prom-client, it must have).
   */
  static aggregate(metricsArr: MetricData[][], registryType: RegistryContentType = Registry.PROMETHEUS_CONTENT_TYPE): Registry {
    const aggregated = new Registry();
    aggregated.setContentType(registryType);
    const byName = new Map<string, MetricData[]>();
    for (const metrics of metricsArr) {
      for (const metric of metrics) {
        const group = byName.get(metric.name);
        if (group === undefined) byName.set(metric.name, [metric]);
        else group.push(metric);
      }
    }
    for (const metrics of byName.values()) {
      const name = metrics[0].aggregator;
      const aggregate = name !== undefined && Object.hasOwn(aggregators, name) ? aggregators[name] : undefined;
      if (typeof aggregate !== 'function') throw new Error(`'${name}' is not a defined aggregator.`);
      const metric = aggregate(metrics);
      // The 'omit' aggregator gives nothing.
      if (metric !== undefined) aggregated.registerMetric({ ...metric, get: () => metric });
    }
    return aggregated;
  }

  /** In a worker: the registries whose metrics it answers with (default: the global one). */
  static setRegistries(regs: Registry | Registry[]): void {
    const list = Array.isArray(regs) ? regs : [regs];
    for (const registry of list) {
      if (!(registry instanceof Registry)) throw new TypeError(`Expected Registry, got ${typeof registry}`);
    }
    registries = list;
  }
}

/**
 * The group's metrics: the global registry of every process. The engine has combined
 * each gauge by its aggregator already (see gauge.ts) and leaves 'omit' gauges out in a
 * group, so its text is what aggregating the workers' answers gives; an OpenMetrics
 * global registry goes through that aggregation, whose text is always prom-client's 0.0.4.
 */
async function groupMetrics(): Promise<string> {
  if (globalRegistry.contentType === Registry.PROMETHEUS_CONTENT_TYPE) return globalRegistry.metrics();
  return AggregatorRegistry.aggregate([await globalRegistry.getMetricsAsJSON()]).metrics();
}

/** Sets up the cluster's message handlers once: the primary's and a worker's. */
function listen(): void {
  if (listening) return;
  listening = true;
  if (cluster().isPrimary) {
    cluster().on('message', (_worker, message: MetricsMessage) => {
      if (message?.type !== GET_METRICS_RES) return;
      const request = requests.get(message.requestId);
      if (request === undefined) return; // already timed out
      if (message.error !== undefined) return request.done(new Error(message.error));
      request.responses.push(...(message.metrics ?? []));
      if (--request.pending === 0) {
        try {
          request.done(null, AggregatorRegistry.aggregate(request.responses).metrics());
        } catch (error) {
          request.done(error as Error);
        }
      }
    });
  }
  if (cluster().isWorker) {
    process.on('message', (message: MetricsMessage) => {
      if (message?.type !== GET_METRICS_REQ) return;
      Promise.all(registries.map((registry) => registry.getMetricsAsJSON()))
        .then((metrics) => process.send!({ type: GET_METRICS_RES, requestId: message.requestId, metrics }))
        .catch((error: Error) => process.send!({ type: GET_METRICS_RES, requestId: message.requestId, error: error.message }));
    });
  }
}
