import { checkOptions, describeValue, isPlainObject, isTimerMs, MAX_TIMER_MS } from '../base/validate';
import { whileRunning } from '../base/lifecycle';
import { binding, callNative } from '../base/native';
import { type Registry, registryOption } from './registry';

/**
 * `serve()`'s options.
 *
 * @example
 * ```js
 * await serve({ port: 9464, auth: { bearer: process.env.METRICS_TOKEN } });
 * ```
 */
export interface ServeOptions {
  /** TCP port; 0 picks a free one. Default 9464, the Prometheus exporter port. */
  port?: number;
  /** Address to listen on. Default `'0.0.0.0'` so a scraper outside a container reaches it. */
  host?: string;
  /** Path of the exposition; every other path answers 404. Default `'/metrics'`. */
  path?: string;
  /**
   * Liveness and readiness endpoints (default: on, at `/health/live` and
   * `/health/ready`). Liveness answers 503 once the event loop of the thread that
   * called serve() has not run for `staleAfterMs` (default 5000); `false` turns both off.
   */
  health?: boolean | HealthOptions;
  /**
   * Credentials the metrics path requires: `{ bearer: token }` or `{ username,
   * password }` (HTTP basic). Health endpoints stay open for probes. Compared in
   * constant time; a refusal is a bare 401.
   */
  auth?:
    | {
        /** The token the `Authorization: Bearer` header must carry. */
        bearer: string;
      }
    | {
        /** The user name of HTTP basic authentication. */
        username: string;
        /** Its password. */
        password: string;
      };
  /**
   * Connections served at once (default 256); more wait in the listen backlog. A
   * client that sends no complete request head within 10 s is dropped, heads over
   * 64 KiB get 431, and one that stops reading a response for 30 s is cut off.
   */
  maxConnections?: number;
  /** The registry to serve (default: the default `registry`). */
  registry?: Registry;
  /**
   * How long a scrape waits for the `collect` callbacks of slotmetrics/prom-client
   * metrics, which run on their threads' event loops (default 1000 ms). A blocked event
   * loop delays a scrape by this much; the scrape then serves the values as they are.
   */
  collectTimeoutMs?: number;
}

/** Where the health endpoints answer, and when liveness fails. */
export interface HealthOptions {
  /** Default `'/health/live'`. */
  livePath?: string;
  /** Default `'/health/ready'`. */
  readyPath?: string;
  /** How long the event loop may not run before `/health/live` answers 503, in ms (default 5000). */
  staleAfterMs?: number;
}

/** A running server: what `serve()` resolves to. */
export interface MetricsServer {
  /** A URL to scrape, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** The port it listens on (the one picked, for `port: 0`). */
  readonly port: number;
  /** The address it listens on. */
  readonly host: string;
  /** Stops listening; open scrapes get a few seconds to finish. */
  close(): Promise<void>;
  /** Lets the process exit while the server is open (like `net.Server#unref`). */
  unref(): this;
  /** Undoes `unref()`: an open server keeps the process alive. */
  ref(): this;
}

/** The health endpoints asked for, with defaults filled in; undefined when off. */
function healthOptions(health: ServeOptions['health']): Required<HealthOptions> | undefined {
  if (health === false) return undefined;
  const options = health === true || health === undefined ? {} : health;
  checkOptions('serve(): health', options, ['livePath', 'readyPath', 'staleAfterMs']);
  const { livePath = '/health/live', readyPath = '/health/ready', staleAfterMs = 5000 } = options as HealthOptions;
  for (const [name, path] of [
    ['livePath', livePath],
    ['readyPath', readyPath],
  ]) {
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new TypeError(`serve(): health.${name} must be a string starting with "/", got ${describeValue(path)}`);
    }
  }
  if (typeof staleAfterMs !== 'number' || !Number.isInteger(staleAfterMs) || staleAfterMs < 10 || staleAfterMs > 2 ** 31) {
    throw new RangeError(`serve(): health.staleAfterMs must be an integer number of milliseconds >= 10, got ${describeValue(staleAfterMs)}`);
  }
  return { livePath, readyPath, staleAfterMs };
}

/** The `Authorization` value to require and the 401's challenge; undefined when open. */
function authHeaders(auth: unknown): { authorization: string; challenge: string } | undefined {
  if (auth === undefined) return undefined;
  if (isPlainObject(auth) && Object.keys(auth).join() === 'bearer') {
    const { bearer } = auth;
    if (typeof bearer !== 'string' || !/^[\x21-\x7e]+$/.test(bearer)) {
      throw new TypeError('serve(): auth.bearer must be a non-empty token of printable ASCII characters');
    }
    return { authorization: `Bearer ${bearer}`, challenge: 'Bearer realm="metrics"' };
  }
  if (isPlainObject(auth) && Object.keys(auth).sort().join() === 'password,username') {
    const { username, password } = auth;
    if (typeof username !== 'string' || username === '' || username.includes(':') || typeof password !== 'string') {
      throw new TypeError('serve(): auth.username must be a non-empty string without ":", and auth.password a string');
    }
    const token = Buffer.from(`${username}:${password}`).toString('base64');
    return { authorization: `Basic ${token}`, challenge: 'Basic realm="metrics", charset="UTF-8"' };
  }
  throw new TypeError('serve(): auth must be { bearer } or { username, password }');
}

function serveOptions(options: ServeOptions): Omit<Required<ServeOptions>, 'health' | 'auth'> & {
  health?: Required<HealthOptions>;
  auth?: { authorization: string; challenge: string };
} {
  checkOptions('serve()', options, ['port', 'host', 'path', 'health', 'auth', 'maxConnections', 'registry', 'collectTimeoutMs']);
  const { port = 9464, host = '0.0.0.0', path = '/metrics' } = options;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`serve(): port must be an integer from 0 to 65535, got ${describeValue(port)}`);
  }
  if (typeof host !== 'string' || host === '') {
    throw new TypeError(`serve(): host must be a non-empty string, got ${describeValue(host)}`);
  }
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError(`serve(): path must be a string starting with "/", got ${describeValue(path)}`);
  }
  const { maxConnections = 256, collectTimeoutMs = 1000 } = options as ServeOptions;
  if (typeof maxConnections !== 'number' || !Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 65535) {
    throw new RangeError(`serve(): maxConnections must be an integer from 1 to 65535, got ${describeValue(maxConnections)}`);
  }
  if (!isTimerMs(collectTimeoutMs)) {
    throw new RangeError(`serve(): collectTimeoutMs must be an integer from 1 to ${MAX_TIMER_MS}, got ${describeValue(collectTimeoutMs)}`);
  }
  return {
    port,
    host,
    path,
    maxConnections,
    collectTimeoutMs,
    registry: registryOption('serve()', options.registry),
    health: healthOptions(options.health as ServeOptions['health']),
    auth: authHeaders(options.auth),
  };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Serves the exposition over HTTP from Rust (tokio + hyper) on threads of its own: a
 * scrape never runs on, or waits for, the event loop. Answers GET and HEAD, negotiates
 * the format from `Accept` as Prometheus's spec says (protobuf, OpenMetrics, text 1.0.0
 * or 0.0.4) and gzip from `Accept-Encoding`; also answers liveness and readiness
 * unless `health: false`.
 *
 * Rejects with a clear error if the port is in use.
 *
 * @example
 * ```js
 * const server = await serve({ port: 9464 });
 * console.log(server.url); // http://127.0.0.1:9464/metrics
 * await server.close();
 * ```
 */
export async function serve(options: ServeOptions = {}): Promise<MetricsServer> {
  const { port, host, path, health, auth, maxConnections, collectTimeoutMs, registry } = serveOptions(options);
  const info = await callNative(() =>
    binding.startServer({
      host,
      port,
      path,
      livePath: health?.livePath,
      readyPath: health?.readyPath,
      staleAfterMs: health?.staleAfterMs,
      authorization: auth?.authorization,
      challenge: auth?.challenge,
      maxConnections,
      collectTimeoutMs,
      registry: registry.id,
    }),
  );
  // A few beats per threshold, at most one a second.
  const stopHeartbeat = health ? startHeartbeat(Math.min(1000, Math.floor(health.staleAfterMs / 4))) : () => {};
  // Rust's threads do not keep Node's event loop alive; this timer does, as an open
  // node:http server would, until close() or unref().
  const keepAlive = setInterval(() => {}, 2 ** 30);
  let closing: Promise<void> | undefined;
  let forget = () => {};
  const server: MetricsServer = {
    url: `http://${urlHost(host)}:${info.port}${path}`,
    port: info.port,
    host,
    close() {
      closing ??= binding.stopServer(info.id).finally(() => {
        clearInterval(keepAlive);
        stopHeartbeat();
        forget();
      });
      return closing;
    },
    unref() {
      keepAlive.unref();
      return server;
    },
    ref() {
      keepAlive.ref();
      return server;
    },
  };
  forget = whileRunning(() => server.close());
  return server;
}

/**
 * Beats from this thread every `everyMs` until stopped. The timer does not keep the
 * process alive; when this thread's event loop is blocked, the beats stop and
 * liveness answers 503.
 */
function startHeartbeat(everyMs: number): () => void {
  binding.healthBeat();
  const timer = setInterval(() => binding.healthBeat(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
