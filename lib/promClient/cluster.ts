// prom-client's AggregatorRegistry and @prometheus-io/client's ClusterRegistry: metrics
// of a Node `cluster`. Each worker process has its own engine unless the cluster is a
// multi-process group (SLOTMETRICS_MULTIPROCESS_DIR), so the primary asks every worker
// for its metrics over the cluster's IPC channel and combines them with each metric's
// aggregator. In a group, the primary reads the group's metrics from shared memory
// instead: no message, no timeout, no setup in the workers.
//
// Both generations of the messages are spoken, so a fleet may mix either library with
// this one on either side: prom-client 15's (`prom-client:getMetricsReq`/`Res`), and
// @prometheus-io/client 0.16's (`@prometheus-io/client:` requests, answers, and the
// announcement, goodbye and acknowledgement of its workers' life cycle). A primary asks
// a worker in the generation it announced itself in (0.16's workers announce, 15's do
// not); a worker answers in the generation it was asked in, and announces itself.

import type * as Cluster from 'node:cluster';
import { binding } from '../base/native';
import type { MetricData } from './aggregators';
import { type AnyRegistry, globalRegistry, type PrometheusContentType, Registry, type RegistryContentType, registryList } from './registry';

const PROM_CLIENT = { request: 'prom-client:getMetricsReq', response: 'prom-client:getMetricsRes' };
const CLIENT = {
  request: '@prometheus-io/client:getMetricsReq',
  response: '@prometheus-io/client:getMetricsRes',
  announcement: '@prometheus-io/client:announcement',
  goodbye: '@prometheus-io/client:goodbye',
  ack: '@prometheus-io/client:ack',
};
const RESPONSE_TO = new Map([
  [PROM_CLIENT.request, PROM_CLIENT.response],
  [CLIENT.request, CLIENT.response],
]);

/** How long clusterMetrics() waits for every worker's answer, and shutdown() for the primary's. */
const TIMEOUT_MS = 5000;

interface MetricsRequest {
  /** The workers asked and not answered yet, by id. */
  pending: Set<number>;
  responses: MetricData[][];
  done: (error: Error | null, responses?: MetricData[][]) => void;
}

interface ClusterMessage {
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

/** What this process answers with, and a primary adds of its own: these registries' metrics. */
let registries: AnyRegistry[] = [globalRegistry];
let nextRequestId = 0;
const requests = new Map<number, MetricsRequest>();
/** In the primary: clusterMetrics() requests not settled yet, which shutdown() waits for. */
const inFlight = new Set<Promise<MetricData[][]>>();
/** In the primary: the workers that announced themselves in 0.16's messages. */
const announced = new Set<number>();
/** In the primary: the last sums of workers that said goodbye (0.16's shutdown()). */
let departed: MetricData[] = [];
/** In a worker: the acknowledgement its goodbye awaits. */
let awaitingAck: ((acknowledged: boolean) => void) | undefined;
let listening = false;

export class AggregatorRegistry<T extends RegistryContentType = PrometheusContentType> extends Registry<T> {
  /** Whether the primary's own metrics count with the workers' (0.16's ClusterRegistry: yes; prom-client 15: no). */
  protected readonly includesPrimary: boolean = false;

  constructor(contentType: T = Registry.PROMETHEUS_CONTENT_TYPE as T) {
    super(contentType);
    listen();
  }

  /** In the primary: every connected worker's metrics, aggregated, as text. */
  async clusterMetrics(): Promise<string> {
    if (binding.inMultiprocessGroup()) return groupMetrics();
    const own = this.includesPrimary ? await Promise.all(registries.map((registry) => registry.getMetricsAsJSON())) : [];
    const answers = await askWorkers();
    const historic = departed.length > 0 ? [departed] : [];
    return Registry.aggregate([...historic, ...own, ...answers], this.contentType).metrics();
  }

  /**
   * 0.16's orderly shutdown, before `process.exit()`. In a worker: sends its counters'
   * sums to the primary, which keeps them in later aggregations, and waits for its
   * acknowledgement at most `timeout` ms (a prom-client 15 primary keeps nothing and
   * never acknowledges). In the primary: waits for requests in flight. In a
   * multi-process group there is nothing to hand over: the engine folds every exiting
   * thread's counts into the group's.
   */
  async shutdown(timeout = TIMEOUT_MS): Promise<void> {
    if (binding.inMultiprocessGroup()) return;
    if (cluster().isPrimary) {
      await Promise.allSettled(inFlight);
      return;
    }
    if (!process.connected || awaitingAck !== undefined) return;
    const metrics = await Promise.all(registries.map((registry) => registry.getMetricsAsJSON('sum')));
    await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), timeout);
      const finish = (acknowledged: boolean) => {
        clearTimeout(timer);
        awaitingAck = undefined;
        resolve(acknowledged);
      };
      awaitingAck = finish;
      process.send!({ type: CLIENT.goodbye, requestId: nextRequestId++, metrics });
    });
  }

  /** In a worker: the registries whose metrics it answers with (default: the global one). */
  static setRegistries(regs: AnyRegistry | AnyRegistry[]): void {
    registries = registryList(regs);
  }
}

/** Asks every connected worker for its metrics, each in the generation it speaks. */
function askWorkers(): Promise<MetricData[][]> {
  const asked = ask();
  inFlight.add(asked);
  const forget = () => inFlight.delete(asked);
  asked.then(forget, forget);
  return asked;
}

function ask(): Promise<MetricData[][]> {
  const requestId = nextRequestId++;
  return new Promise((resolve, reject) => {
    let settled = false;
    const request: MetricsRequest = {
      pending: new Set(),
      responses: [],
      done: (error, responses) => {
        if (settled) return;
        settled = true;
        requests.delete(requestId);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(responses ?? []);
      },
    };
    const timer = setTimeout(() => request.done(new Error('Operation timed out.')), TIMEOUT_MS);
    requests.set(requestId, request);
    for (const worker of Object.values(cluster().workers ?? {})) {
      // A worker that exited abruptly may still be listed without a channel.
      if (worker?.isConnected()) {
        worker.send({ type: announced.has(worker.id) ? CLIENT.request : PROM_CLIENT.request, requestId });
        request.pending.add(worker.id);
      }
    }
    if (request.pending.size === 0) process.nextTick(() => request.done(null, []));
  });
}

/**
 * The group's metrics: the global registry of every process. The engine has combined
 * each gauge by its aggregator already (see gauge.ts) and leaves 'omit' gauges out in a
 * group, so its text is what aggregating the workers' answers gives; an OpenMetrics
 * global registry goes through that aggregation, whose text is always prom-client's 0.0.4.
 */
async function groupMetrics(): Promise<string> {
  if (globalRegistry.contentType === Registry.PROMETHEUS_CONTENT_TYPE) return globalRegistry.metrics();
  return Registry.aggregate([await globalRegistry.getMetricsAsJSON()]).metrics();
}

/** A worker's answer to a request for its metrics, in the generation it was asked in. */
function answer(message: ClusterMessage): void {
  const type = RESPONSE_TO.get(message.type as string)!;
  Promise.all(registries.map((registry) => registry.getMetricsAsJSON()))
    .then((metrics) => process.connected && process.send!({ type, requestId: message.requestId, metrics }))
    .catch((error: Error) => process.connected && process.send!({ type, requestId: message.requestId, error: error.message }));
}

/** The primary's side: answers, and 0.16's announcements and goodbyes. */
function onWorkerMessage(worker: Cluster.Worker, message: ClusterMessage): void {
  switch (message?.type) {
    case CLIENT.announcement:
      announced.add(worker.id);
      return;
    case PROM_CLIENT.response:
    case CLIENT.response: {
      const request = requests.get(message.requestId);
      // Unknown: it timed out already. A worker answers once per request.
      if (request === undefined || !request.pending.delete(worker.id)) return;
      if (message.error !== undefined) request.done(new Error(message.error));
      else {
        request.responses.push(...(message.metrics ?? []));
        if (request.pending.size === 0) request.done(null, request.responses);
      }
      return;
    }
    case CLIENT.goodbye:
      worker.send({ type: CLIENT.ack, requestId: message.requestId });
      announced.delete(worker.id);
      // Its last sums count from now on in place of its answers.
      void Registry.aggregate([departed, ...(message.metrics ?? [])])
        .getMetricsAsJSON()
        .then((sums) => {
          departed = sums;
        });
      return;
  }
}

/** A worker's side: requests in either generation, and 0.16's announcements and acknowledgements. */
function onPrimaryMessage(message: ClusterMessage): void {
  switch (message?.type) {
    case PROM_CLIENT.request:
    case CLIENT.request:
      answer(message);
      return;
    case CLIENT.announcement:
      // A 0.16 primary starting up asks the workers already running to announce themselves.
      process.send!({ type: CLIENT.announcement });
      return;
    case CLIENT.ack:
      awaitingAck?.(true);
      return;
  }
}

/** Sets up the cluster's message handlers once: the primary's and a worker's. */
function listen(): void {
  if (listening) return;
  listening = true;
  if (cluster().isPrimary) {
    cluster().on('message', onWorkerMessage);
    cluster().on('disconnect', (worker) => announced.delete(worker.id));
    // Workers started before this registry announce themselves when asked.
    for (const worker of Object.values(cluster().workers ?? {})) {
      if (worker?.isConnected()) worker.send({ type: CLIENT.announcement });
    }
  }
  if (cluster().isWorker) {
    process.on('message', onPrimaryMessage);
    process.send?.({ type: CLIENT.announcement });
  }
}
