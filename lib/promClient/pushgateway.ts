// prom-client's Pushgateway class: push (PUT), pushAdd (POST) and delete (DELETE) of a
// registry's metrics under a job and groupings, with its options and results.

// biome-ignore lint/style/useNodejsImportProtocol: required by its bare name, as prom-client requires it, so that users' tests intercept pushes with jest.mock('http')
import http from 'http';
// biome-ignore lint/style/useNodejsImportProtocol: as 'http' above, for jest.mock('https')
import https from 'https';
import { gzipSync } from 'node:zlib';
import { type AnyRegistry, globalRegistry, Registry, type RegistryContentType } from './registry';

/** The group a push goes to. */
export interface PushgatewayParameters {
  /** The `job` label of the group (required unless `requireJobName: false`). */
  jobName?: string;
  /** Further labels of the group, in its URL. */
  groupings?: Record<string, string>;
}

/** What a push resolves to. @inline */
type PushResult = {
  /** The gateway's response. */
  resp: http.IncomingMessage;
  /** Its body. */
  body: string;
};

/** How a push is sent: `http`, or `https` for an https gateway. */
export type Transport = Pick<typeof http, 'request'>;

/** `http.request` options for every request, and whether a job name is required. */
export type PushgatewayOptions = http.RequestOptions & {
  /** Whether a push without `jobName` is refused (default true). */
  requireJobName?: boolean;
};

/** Pushes the metrics of a registry of content type `T` to a Pushgateway. */
export class Pushgateway<T extends RegistryContentType = RegistryContentType> {
  private readonly requireJobName: boolean;
  private readonly requestOptions: http.RequestOptions;

  private readonly registry: AnyRegistry;

  /** `new Pushgateway(url, registry)` too, as @prometheus-io/client 0.16 takes it. */
  constructor(gatewayUrl: string, registry: Registry<T>);
  constructor(gatewayUrl: string, options?: PushgatewayOptions | null, registry?: Registry<T>);
  constructor(
    private readonly gatewayUrl: string,
    options: PushgatewayOptions | AnyRegistry | null = {},
    registry: AnyRegistry = globalRegistry,
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
  pushAdd(params: PushgatewayParameters = {}): Promise<PushResult> {
    return this.send('POST', params);
  }

  /** Replaces every metric of the group. */
  push(params: PushgatewayParameters = {}): Promise<PushResult> {
    return this.send('PUT', params);
  }

  /** Deletes the group's metrics. */
  delete(params: PushgatewayParameters = {}): Promise<PushResult> {
    return this.send('DELETE', params);
  }

  /**
   * Opens the request, as prom-client 15 does: one options object, the URL's parts
   * (`path` included) then the options then the method. Users' tests read it from
   * their mocks of `http.request`.
   */
  protected open(transport: Transport, target: URL, options: http.RequestOptions, onResponse: (resp: http.IncomingMessage) => void) {
    return transport.request({ ...urlParts(target), ...options }, onResponse);
  }

  // Throws synchronously for a missing job name, as prom-client does; the request is
  // made before this returns.
  private send(method: 'POST' | 'PUT' | 'DELETE', { jobName, groupings }: PushgatewayParameters) {
    if (this.requireJobName && !jobName) throw new Error('Missing jobName parameter');
    const gateway = new URL(this.gatewayUrl);
    const base = gateway.pathname === '/' ? '' : gateway.pathname;
    const groups = Object.entries(groupings ?? {}).map(([key, value]) => `/${encodeURIComponent(key)}/${encodeURIComponent(value)}`);
    const target = new URL(`${base}/metrics${jobName ? `/job/${encodeURIComponent(jobName)}${groups.join('')}` : ''}`, gateway);
    const options: http.RequestOptions = { ...this.requestOptions, method };
    if (method === 'DELETE' && options.headers !== undefined) {
      options.headers = { ...(options.headers as Record<string, string>) };
      delete options.headers['Content-Encoding'];
    }
    const gzip = (options.headers as Record<string, string> | undefined)?.['Content-Encoding'] === 'gzip';
    return new Promise<PushResult>((resolve, reject) => {
      const req = this.open(target.protocol === 'https:' ? https : http, target, options, (resp) => {
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
      this.registry
        .metrics()
        .then((text) => {
          req.write(gzip ? gzipSync(text) : text);
          req.end();
        })
        .catch(reject);
    });
  }
}

/** A URL as `http.request()` options, with the fields `url.parse()` gives prom-client's. */
function urlParts(url: URL): http.RequestOptions & { href: string; pathname: string; search: string } {
  const auth = url.username === '' && url.password === '' ? undefined : decodeURIComponent(`${url.username}:${url.password}`);
  return {
    protocol: url.protocol,
    auth,
    host: url.host,
    port: url.port === '' ? undefined : url.port,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    pathname: url.pathname,
    search: url.search,
    path: `${url.pathname}${url.search}`,
    href: url.href,
  };
}

export namespace Pushgateway {
  /** What a push names: its job, and its grouping labels. */
  export type Parameters = PushgatewayParameters;
}
