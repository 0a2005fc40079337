// HTTP server metrics with prom-client's usual names: http_requests_total and
// http_request_duration_seconds by {method, route, status_code}. `route` is the
// matched route pattern (`/users/:id`), never the raw URL, and "" when nothing
// matched, so that URLs cannot multiply the series.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { counterSchema, histogramSchema, type MetricFamily } from '../metrics/schema';
import type { Counter } from '../metrics/counter';
import { DEFAULT_BUCKETS, type Histogram } from '../metrics/histogram';
import { checkOptions, checkStringRecord, describeValue } from '../base/validate';
import { type Registry, registryOption } from '../exposition/registry';

/** `httpMetrics()`'s options. */
export interface HttpMetricsOptions {
  /** Put before both names. */
  prefix?: string;
  /** Duration buckets, in seconds (default: prom-client's). */
  buckets?: readonly number[];
  /** Labels added to both metrics. */
  labels?: Readonly<Record<string, string>>;
  /** The registry of both metrics (default: the default `registry`). */
  registry?: Registry;
}

type Keys = 'method' | 'route' | 'status_code';

/** The parts of an Express request the middleware reads. */
interface ExpressRequest extends IncomingMessage {
  baseUrl?: string;
  route?: { path?: unknown };
}

/** The parts of a Fastify instance and request the hooks use. */
interface FastifyLike {
  addHook(name: 'onRequest' | 'onResponse', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => void): unknown;
}
interface FastifyRequestLike {
  method: string;
  routeOptions?: { url?: string };
  routerPath?: string;
}
interface FastifyReplyLike {
  statusCode: number;
}

/**
 * HTTP request metrics: `http_requests_total` and `http_request_duration_seconds` by
 * method, route pattern and status code; what `httpMetrics()` returns.
 *
 * @example
 * ```js
 * const app = express();
 * app.use(httpMetrics().express());
 * ```
 */
export class HttpMetrics {
  private readonly requests: MetricFamily<Keys, Counter>;
  private readonly durations: MetricFamily<Keys, Histogram>;

  /** @internal */
  constructor(options: HttpMetricsOptions) {
    checkOptions('httpMetrics()', options, ['prefix', 'buckets', 'labels', 'registry']);
    const { prefix = '', buckets = DEFAULT_BUCKETS, labels = {} } = options as HttpMetricsOptions;
    if (typeof prefix !== 'string') throw new TypeError(`httpMetrics(): prefix must be a string, got ${describeValue(prefix)}`);
    checkStringRecord('httpMetrics()', 'labels', labels);
    const registry = registryOption('httpMetrics()', options.registry);
    this.requests = counterSchema(`${prefix}http_requests_total`)
      .help('Total HTTP requests served')
      .staticLabels(labels)
      .requireDynamicKey('method')
      .requireDynamicKey('route')
      .requireDynamicKey('status_code')
      .build({ registry });
    this.durations = histogramSchema(`${prefix}http_request_duration_seconds`)
      .help('HTTP request duration in seconds')
      .buckets(buckets)
      .staticLabels(labels)
      .requireDynamicKey('method')
      .requireDynamicKey('route')
      .requireDynamicKey('status_code')
      .build({ registry });
  }

  /** Records one request; what the framework hooks below call. */
  record(method: string, route: string, statusCode: number, seconds: number): void {
    const labels = { method, route, status_code: String(statusCode) };
    this.requests.with(labels).increment();
    this.durations.with(labels).observe(seconds);
  }

  /** Express middleware: `app.use(metrics.express())`, before the routes. */
  express(): (req: ExpressRequest, res: ServerResponse, next: () => void) => void {
    return (req, res, next) => {
      const start = process.hrtime.bigint();
      res.once('finish', () => {
        const path = req.route?.path;
        const route = typeof path === 'string' ? (req.baseUrl ?? '') + path : '';
        this.record(req.method ?? '', route, res.statusCode, seconds(start));
      });
      next();
    };
  }

  /** Fastify: `metrics.fastify(app)` adds the hooks to the app itself (not encapsulated). */
  fastify(app: FastifyLike): void {
    const started = new WeakMap<FastifyRequestLike, bigint>();
    app.addHook('onRequest', (request, _reply, done) => {
      started.set(request, process.hrtime.bigint());
      done();
    });
    app.addHook('onResponse', (request, reply, done) => {
      const start = started.get(request);
      if (start !== undefined) {
        // routeOptions.url is the route pattern (undefined when no route matched);
        // routerPath is the same on Fastify 4 before 4.10.
        const route = request.routeOptions?.url ?? request.routerPath ?? '';
        this.record(request.method, route, reply.statusCode, seconds(start));
      }
      done();
    });
  }

  /**
   * A plain node:http server has no routes: `route(req)` names one (default: "" for
   * every request). Returns a function that stops observing.
   */
  observe(server: Server, route: (req: IncomingMessage) => string = () => ''): () => void {
    if (typeof route !== 'function') throw new TypeError(`httpMetrics().observe(): route must be a function, got ${describeValue(route)}`);
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const start = process.hrtime.bigint();
      res.once('finish', () => this.record(req.method ?? '', String(route(req) ?? ''), res.statusCode, seconds(start)));
    };
    server.on('request', onRequest);
    return () => server.off('request', onRequest);
  }
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * HTTP metrics for node:http, Express and Fastify:
 * `const http = httpMetrics(); app.use(http.express());`.
 *
 * @example
 * ```js
 * app.use(httpMetrics().express()); // Express
 * httpMetrics().fastify(fastifyApp); // Fastify
 * ```
 */
export function httpMetrics(options: HttpMetricsOptions = {}): HttpMetrics {
  return new HttpMetrics(options);
}
