// A Pushgateway client with prom-client's semantics: push (PUT: replace the group),
// pushAdd (POST: replace only the metrics pushed) and delete (DELETE: the group).

import { type Registry, registryOption } from './registry';
import { checkOptions, checkStringRecord, describeValue, isTimerMs, MAX_TIMER_MS } from '../base/validate';

/** `pushgateway()`'s options. */
export interface PushgatewayOptions {
  /** The Pushgateway's base URL, e.g. `http://127.0.0.1:9091`. */
  url: string;
  /** The `job` grouping key. */
  job: string;
  /** More grouping keys, e.g. `{ instance: 'worker-1' }`. */
  groupings?: Readonly<Record<string, string>>;
  /** Per request, in ms (default 10000). */
  timeoutMs?: number;
  /** Extra request headers (authorisation, say). */
  headers?: Readonly<Record<string, string>>;
  /** The registry to push (default: the default `registry`). */
  registry?: Registry;
}

/** `key/value`, in base64url form when the value is empty or holds a slash. */
function pathSegment(key: string, value: string): string {
  if (value === '' || value.includes('/')) {
    return `${encodeURIComponent(key)}@base64/${Buffer.from(value).toString('base64url') || '='}`;
  }
  return `${encodeURIComponent(key)}/${encodeURIComponent(value)}`;
}

/**
 * Pushes a registry's metrics to a Pushgateway, with prom-client's semantics; what
 * `pushgateway()` returns.
 *
 * @example
 * ```js
 * const gateway = pushgateway({ url: 'http://127.0.0.1:9091', job: 'nightly-backup' });
 * await gateway.push();
 * ```
 */
export class Pushgateway {
  private readonly target: string;
  private readonly timeoutMs: number;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly registry: Registry;

  /** @internal */
  constructor(options: PushgatewayOptions) {
    checkOptions('pushgateway()', options, ['url', 'job', 'groupings', 'timeoutMs', 'headers', 'registry']);
    const { url, job, groupings = {}, timeoutMs = 10_000, headers = {} } = options as unknown as PushgatewayOptions;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
      throw new TypeError(`pushgateway(): url must be an http(s) URL, got ${describeValue(url)}`);
    }
    if (typeof job !== 'string' || job === '') throw new TypeError(`pushgateway(): job must be a non-empty string, got ${describeValue(job)}`);
    checkStringRecord('pushgateway()', 'groupings', groupings);
    checkStringRecord('pushgateway()', 'headers', headers);
    if (!isTimerMs(timeoutMs)) {
      throw new RangeError(`pushgateway(): timeoutMs must be an integer from 1 to ${MAX_TIMER_MS}, got ${describeValue(timeoutMs)}`);
    }
    const path = [pathSegment('job', job), ...Object.entries(groupings).map(([k, v]) => pathSegment(k, v))].join('/');
    this.target = `${url.replace(/\/+$/, '')}/metrics/${path}`;
    this.timeoutMs = timeoutMs;
    this.headers = headers;
    this.registry = registryOption('pushgateway()', options.registry);
  }

  /** Replaces every metric of the group with this process's. */
  push(): Promise<void> {
    return this.send('PUT', true);
  }

  /** Replaces the group's metrics that this process has, keeping the others. */
  pushAdd(): Promise<void> {
    return this.send('POST', true);
  }

  /** Deletes the group. */
  delete(): Promise<void> {
    return this.send('DELETE', false);
  }

  private async send(method: string, withBody: boolean): Promise<void> {
    const response = await fetch(this.target, {
      method,
      headers: { ...this.headers, ...(withBody ? { 'Content-Type': this.registry.contentType('prometheus') } : {}) },
      body: withBody ? await this.registry.metrics() : undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`Pushgateway ${method} ${this.target} answered ${response.status}: ${text.trim()}`);
    }
  }
}

/** A Pushgateway client for this process's metrics: `pushgateway({ url, job }).push()`. */
export function pushgateway(options: PushgatewayOptions): Pushgateway {
  return new Pushgateway(options);
}
