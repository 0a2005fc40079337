// prom-client's Pushgateway class: push (PUT), pushAdd (POST) and delete (DELETE) of a
// registry's metrics under a job and groupings, with its options and results.

import http from 'node:http';
import https from 'node:https';
import { gzipSync } from 'node:zlib';
import { globalRegistry, Registry } from './registry';

export interface PushgatewayParameters {
  jobName?: string;
  groupings?: Record<string, string>;
}

/** `http.request` options for every request, and whether a job name is required (default true). */
export type PushgatewayOptions = http.RequestOptions & { requireJobName?: boolean };

export class Pushgateway {
  private readonly requireJobName: boolean;
  private readonly requestOptions: http.RequestOptions;

  private readonly registry: Registry;

  /** `new Pushgateway(url, registry)` too, as @prometheus-io/client 0.16 takes it. */
  constructor(gatewayUrl: string, registry: Registry);
  constructor(gatewayUrl: string, options?: PushgatewayOptions | null, registry?: Registry);
  constructor(
    private readonly gatewayUrl: string,
    options: PushgatewayOptions | Registry | null = {},
    registry: Registry = globalRegistry,
  ) {
    if (options instanceof Registry) {
      registry = options;
      options = {};
    }
    this.registry = registry;
    const { requireJobName = true, ...requestOptions } = options ?? {};
    this.requireJobName = requireJobName;
    this.requestOptions = requestOptions;
  }

  /** Replaces the pushed metrics of the group that this registry also has. */
  pushAdd(params: PushgatewayParameters = {}): Promise<{ resp: http.IncomingMessage; body: string }> {
    return this.send('POST', params);
  }

  /** Replaces every metric of the group. */
  push(params: PushgatewayParameters = {}): Promise<{ resp: http.IncomingMessage; body: string }> {
    return this.send('PUT', params);
  }

  delete(params: PushgatewayParameters = {}): Promise<{ resp: http.IncomingMessage; body: string }> {
    return this.send('DELETE', params);
  }

  // Throws synchronously for a missing job name, as prom-client does.
  private send(method: 'POST' | 'PUT' | 'DELETE', { jobName, groupings }: PushgatewayParameters) {
    if (this.requireJobName && !jobName) throw new Error('Missing jobName parameter');
    const target = new URL(this.gatewayUrl);
    const base = target.pathname === '/' ? '' : target.pathname;
    const groups = Object.entries(groupings ?? {}).map(([key, value]) => `/${encodeURIComponent(key)}/${encodeURIComponent(value)}`);
    target.pathname = `${base}/metrics${jobName ? `/job/${encodeURIComponent(jobName)}${groups.join('')}` : ''}`;
    const headers = { ...(this.requestOptions.headers as Record<string, string> | undefined) };
    if (method === 'DELETE') delete headers['Content-Encoding'];
    const request = (target.protocol === 'https:' ? https : http).request;
    return new Promise<{ resp: http.IncomingMessage; body: string }>((resolve, reject) => {
      const req = request(target, { ...this.requestOptions, headers, method }, (resp) => {
        let body = '';
        resp.setEncoding('utf8');
        resp.on('data', (chunk: string) => (body += chunk));
        resp.on('end', () => {
          if ((resp.statusCode ?? 500) >= 400) reject(new Error(`push failed with status ${resp.statusCode}, ${body}`));
          else resolve({ resp, body });
        });
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('Pushgateway request timed out')));
      if (method === 'DELETE') {
        req.end();
        return;
      }
      this.registry.metrics().then(
        (text) => req.end(headers['Content-Encoding'] === 'gzip' ? gzipSync(text) : text),
        (error) => {
          req.destroy();
          reject(error);
        },
      );
    });
  }
}
