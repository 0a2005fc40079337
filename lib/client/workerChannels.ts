// @prometheus-io/client 0.16's worker-thread protocol, spoken by the main thread so
// that a worker whose dependencies bundle the genuine package is gathered too. Such a
// worker announces itself on a BroadcastChannel, answers requests for its metrics there
// and says goodbye with its last counts before it exits. slotmetrics' own threads
// never take part: they write the shared series the main thread's registries read.
// Workers of the package's earlier names speak the same protocol under their prefix.

import { BroadcastChannel, threadId } from 'node:worker_threads';
import type { MetricData } from '../promClient/aggregators';

/** The protocol's prefixes: 0.16's, and the names the package had before. */
const PREFIXES = ['@prometheus-io/client', '@prometheus/client_js', 'prom-client'];
/** How long a request waits for the workers' answers (0.16's own limit). */
const ANSWER_TIMEOUT_MS = 5_000;

interface Message {
  type?: unknown;
  name?: unknown;
  threadId?: unknown;
  primary?: unknown;
  requestId?: unknown;
  metrics?: unknown;
  error?: unknown;
}

interface Request {
  /** The workers not answered yet, by channel name. */
  readonly waiting: Set<string>;
  readonly answers: MetricData[][];
  readonly done: () => void;
}

/** The genuine workers that announced themselves, by their channel's name. */
const workers = new Map<string, { readonly prefix: string; readonly channel: BroadcastChannel }>();
/** Requests for the workers' metrics still waiting, by id. */
const requests = new Map<number, Request>();
/** The last counts of workers that said goodbye, one list per registry of each. */
let departed: MetricData[][] = [];
let nextRequestId = 0;
let announcements: Map<string, BroadcastChannel> | undefined;

function open(name: string, onMessage: (message: Message) => void): BroadcastChannel {
  const channel = new BroadcastChannel(name);
  // Listening must not keep the process alive (Deno's channels cannot be unreferenced).
  (channel as { unref?: () => void }).unref?.();
  channel.onmessage = (event) => {
    const message = (event as { data?: unknown }).data;
    if (message !== null && typeof message === 'object') onMessage(message as Message);
  };
  return channel;
}

/**
 * Listens for genuine workers, and asks those already running to announce themselves.
 * A runtime without BroadcastChannel between threads has no such workers to gather.
 */
export function listenForWorkers(): void {
  if (announcements !== undefined || typeof BroadcastChannel !== 'function') return;
  announcements = new Map();
  for (const prefix of PREFIXES) {
    const channel = open(`${prefix}:announce`, (message) => onAnnouncement(prefix, message));
    announcements.set(prefix, channel);
    channel.postMessage({ type: `${prefix}:announcement`, name: `${prefix}:worker:${threadId}`, threadId, primary: true });
  }
}

function onAnnouncement(prefix: string, message: Message): void {
  const { name } = message;
  if (message.type !== `${prefix}:announcement` || message.primary || typeof name !== 'string' || workers.has(name)) return;
  const channel = open(name, (answer) => onWorkerMessage(prefix, name, answer));
  workers.set(name, { prefix, channel });
}

function onWorkerMessage(prefix: string, name: string, message: Message): void {
  const metrics = Array.isArray(message.metrics) ? (message.metrics as MetricData[][]) : [];
  if (message.type === `${prefix}:getMetricsRes`) {
    const request = requests.get(message.requestId as number);
    if (request === undefined || !request.waiting.delete(name)) return;
    if (message.error === undefined) request.answers.push(...metrics);
    if (request.waiting.size === 0) request.done();
  } else if (message.type === `${prefix}:goodbye`) {
    const worker = workers.get(name);
    if (worker === undefined) return;
    worker.channel.postMessage({ type: `${prefix}:ack`, requestId: message.requestId, threadId });
    departed = [...departed, ...metrics];
    workers.delete(name);
    worker.channel.close();
    // A request still waiting for this worker has its last counts now.
    for (const request of requests.values()) {
      if (request.waiting.delete(name) && request.waiting.size === 0) request.done();
    }
  }
}

/**
 * The metrics of the genuine workers (one list per registry of each), and the last
 * counts of those that said goodbye. A worker that does not answer within 0.16's
 * limit is left out of this answer.
 */
export async function genuineWorkersMetrics(): Promise<MetricData[][]> {
  if (workers.size === 0) return departed;
  const requestId = nextRequestId++;
  const answers: MetricData[][] = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ANSWER_TIMEOUT_MS);
    function done(): void {
      clearTimeout(timer);
      requests.delete(requestId);
      resolve();
    }
    requests.set(requestId, { waiting: new Set(workers.keys()), answers, done });
    for (const prefix of new Set([...workers.values()].map((worker) => worker.prefix))) {
      announcements?.get(prefix)?.postMessage({ type: `${prefix}:getMetricsReq`, threadId, requestId });
    }
  });
  return [...departed, ...answers];
}

/** The number of genuine workers gathered (0.16's `WorkerRegistry.workerCount()`). */
export function genuineWorkerCount(): number {
  return workers.size;
}
