//! The `/metrics` HTTP server: hyper on a private tokio runtime that belongs to the
//! process, not to the JS environment that started it, so a scrape never runs on (or
//! waits for) a JavaScript thread.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use http_body_util::channel::{Channel, Sender};
use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
  HeaderValue, ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE,
  VARY, WWW_AUTHENTICATE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

use crate::collect::Snapshot;
use crate::collect_hooks;
use crate::encode::encode;
use crate::format::{weighted_items, Format};
use crate::health;
use crate::logging::write_json_string;
use crate::registry::{Namespace, NamespaceId, Registry};
use crate::runtime::runtime;

pub struct Options {
  pub host: String,
  pub port: u16,
  pub path: String,
  pub health: Option<HealthPaths>,
  pub auth: Option<Auth>,
  /// Connections served at once; more wait in the listen backlog.
  pub max_connections: usize,
  /// The namespace served (the id the JS collect hooks get).
  pub namespace_id: NamespaceId,
  /// How long a scrape waits for the JS collect hooks.
  pub collect_timeout: Duration,
}

/// Credentials the metrics path requires (the health paths stay open for probes).
pub struct Auth {
  /// The exact `Authorization` header value to accept, e.g. `Bearer abc`.
  pub authorization: String,
  /// The `WWW-Authenticate` challenge of a 401, e.g. `Basic realm="metrics"`.
  pub challenge: String,
}

/// Where liveness and readiness are answered, and how old a heartbeat may be.
pub struct HealthPaths {
  pub live: String,
  pub ready: String,
  pub stale_after_ms: u64,
}

/// A client that has not sent its request headers by then is dropped.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Request heads larger than this are answered 431 (Node's own limit is 16 KiB); a
/// head that never ends is bounded by hyper's read buffer (about 400 KiB) and the
/// header read timeout.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// A client that does not take a piece of the body for this long is cut off, so a
/// slow reader cannot hold an encoding thread.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop` lets open connections finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

struct Running {
  shutdown: oneshot::Sender<()>,
  task: JoinHandle<()>,
}

static SERVERS: LazyLock<Mutex<HashMap<u32, Running>>> = LazyLock::new(Default::default);
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// Binds and starts serving; returns the server's id and the port it listens on.
pub fn start(registry: &'static Registry, options: Options) -> Result<(u32, u16), String> {
  let Options {
    host,
    port,
    path,
    health,
    auth,
    max_connections,
    namespace_id,
    collect_timeout,
  } = options;
  let namespace = registry.namespace(namespace_id).map_err(|e| e.to_string())?;
  let paths = std::iter::once(&path).chain(health.iter().flat_map(|h| [&h.live, &h.ready]));
  if let Some(bad) = paths.clone().find(|p| !p.starts_with('/')) {
    return Err(format!("path \"{bad}\" must start with \"/\""));
  }
  let mut seen = Vec::new();
  for p in paths {
    if seen.contains(&p) {
      return Err(format!("path \"{p}\" is used twice"));
    }
    seen.push(p);
  }
  let address = (host.as_str(), port)
    .to_socket_addrs()
    .map_err(|e| format!("cannot resolve host \"{host}\": {e}"))?
    .next()
    .ok_or_else(|| format!("host \"{host}\" has no address"))?;
  let rt = runtime()?;
  let listener = {
    // Registering the socket with tokio's reactor needs the runtime's context.
    let _context = rt.enter();
    listen(address, registry.in_a_group()).map_err(|e| match e.kind() {
      io::ErrorKind::AddrInUse => format!("port {port} on {host} is already in use (EADDRINUSE)"),
      _ => format!("cannot listen on {host}:{port}: {e}"),
    })?
  };
  let bound = listener
    .local_addr()
    .map_err(|e| format!("cannot serve on {host}:{port}: {e}"))?
    .port();
  let (shutdown, on_shutdown) = oneshot::channel();
  let endpoint = Arc::new(Endpoint {
    registry,
    namespace,
    namespace_id,
    collect_timeout,
    path,
    health,
    auth,
  });
  let task = rt.spawn(accept_loop(listener, endpoint, max_connections, on_shutdown));
  let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
  SERVERS.lock().insert(id, Running { shutdown, task });
  Ok((id, bound))
}

/// A listening socket at `address`. With `shared_port` (the processes of a
/// multi-process group), every process of the group may listen on the same port
/// (SO_REUSEPORT): the kernel spreads the connections over them, and each answers with
/// the group's totals.
fn listen(address: SocketAddr, shared_port: bool) -> io::Result<TcpListener> {
  let socket = if address.is_ipv4() {
    TcpSocket::new_v4()?
  } else {
    TcpSocket::new_v6()?
  };
  // As std's bind does on Unix: a restarted server need not wait out TIME_WAIT.
  #[cfg(unix)]
  socket.set_reuseaddr(true)?;
  #[cfg(unix)]
  socket.set_reuseport(shared_port)?;
  #[cfg(not(unix))]
  let _ = shared_port;
  socket.bind(address)?;
  socket.listen(1024)
}

/// Stops a server and waits until it has stopped. Unknown ids are ignored, so a
/// second `close()` is harmless.
pub fn stop(id: u32) {
  let Some(running) = SERVERS.lock().remove(&id) else {
    return;
  };
  let _ = running.shutdown.send(());
  if let Ok(rt) = runtime() {
    let _ = rt.block_on(running.task);
  }
}

struct Endpoint {
  registry: &'static Registry,
  /// The metrics it serves.
  namespace: Arc<Namespace>,
  namespace_id: NamespaceId,
  collect_timeout: Duration,
  path: String,
  health: Option<HealthPaths>,
  auth: Option<Auth>,
}

/// Compares in time that depends only on the lengths, so a wrong token's answer time
/// says nothing about how much of it was right.
fn same_bytes(given: &[u8], expected: &[u8]) -> bool {
  let mut difference = given.len() ^ expected.len();
  for (i, &byte) in expected.iter().enumerate() {
    difference |= usize::from(byte ^ given.get(i).copied().unwrap_or(!byte));
  }
  difference == 0
}

async fn accept_loop(
  listener: TcpListener,
  endpoint: Arc<Endpoint>,
  max_connections: usize,
  mut shutdown: oneshot::Receiver<()>,
) {
  let mut http = http1::Builder::new();
  http
    .timer(TokioTimer::new())
    .header_read_timeout(HEADER_READ_TIMEOUT)
    .max_header_size(MAX_HEAD_BYTES);
  let graceful = GracefulShutdown::new();
  let slots = Arc::new(Semaphore::new(max_connections));
  loop {
    // A connection is accepted only when it can be served: past the cap, clients wait
    // in the listen backlog instead of taking memory and threads.
    let slot = tokio::select! {
      slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
      _ = &mut shutdown => break,
    };
    tokio::select! {
      accepted = listener.accept() => match accepted {
        Ok((stream, _)) => {
          // A streamed body ends with a small piece: without this, Nagle's algorithm
          // holds it until the client's delayed ACK (~40 ms).
          let _ = stream.set_nodelay(true);
          let endpoint = endpoint.clone();
          let service = service_fn(move |request| respond(endpoint.clone(), request));
          let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
          tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
          });
        }
        // Out of file descriptors and the like: back off instead of spinning.
        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
      },
      _ = &mut shutdown => break,
    }
  }
  drop(listener);
  tokio::select! {
    _ = graceful.shutdown() => {}
    _ = tokio::time::sleep(SHUTDOWN_GRACE) => {}
  }
}

/// A fixed answer, or the exposition streamed as it is encoded.
type Body = Either<Full<Bytes>, Channel<Bytes, io::Error>>;

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
  let mut response = Response::new(Either::Left(Full::new(Bytes::from_static(text.as_bytes()))));
  *response.status_mut() = status;
  response.headers_mut().insert(
    CONTENT_TYPE,
    HeaderValue::from_static("text/plain; charset=utf-8"),
  );
  response
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Body> {
  let mut response = Response::new(Either::Left(Full::new(Bytes::from(body))));
  *response.status_mut() = status;
  let headers = response.headers_mut();
  headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
  headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
  response
}

/// 200 while the heartbeat is fresh; 503 once the serving JS thread stops beating.
fn liveness(stale_after_ms: u64) -> Response<Body> {
  let age = health::heartbeat_age_ms();
  let live = age.is_some_and(|age| age <= stale_after_ms);
  let age = age.map_or_else(|| "null".to_string(), |age| age.to_string());
  let (status, word) = if live {
    (StatusCode::OK, "live")
  } else {
    (StatusCode::SERVICE_UNAVAILABLE, "stalled")
  };
  json(
    status,
    format!("{{\"status\":\"{word}\",\"heartbeatAgeMs\":{age}}}\n").into_bytes(),
  )
}

/// 200 when every readiness check is true; else 503 naming the ones that are not.
fn readiness() -> Response<Body> {
  let failing = health::failing_checks();
  if failing.is_empty() {
    return json(StatusCode::OK, b"{\"status\":\"ready\"}\n".to_vec());
  }
  let mut body = b"{\"status\":\"not ready\",\"failing\":[".to_vec();
  for (i, name) in failing.iter().enumerate() {
    if i > 0 {
      body.push(b',');
    }
    write_json_string(name, &mut body);
  }
  body.extend_from_slice(b"]}\n");
  json(StatusCode::SERVICE_UNAVAILABLE, body)
}

async fn respond(endpoint: Arc<Endpoint>, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
  let path = request.uri().path();
  let health = endpoint
    .health
    .as_ref()
    .filter(|h| path == h.live || path == h.ready);
  if path != endpoint.path && health.is_none() {
    return Ok(plain(StatusCode::NOT_FOUND, "Not Found\n"));
  }
  if request.method() != Method::GET && request.method() != Method::HEAD {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
    response
      .headers_mut()
      .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    return Ok(response);
  }
  if let Some(health) = health {
    return Ok(if path == health.live {
      liveness(health.stale_after_ms)
    } else {
      readiness()
    });
  }
  if let Some(auth) = &endpoint.auth {
    let given = request
      .headers()
      .get(AUTHORIZATION)
      .map_or(&[][..], |v| v.as_bytes());
    if !same_bytes(given, auth.authorization.as_bytes()) {
      let mut response = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
      if let Ok(challenge) = HeaderValue::from_str(&auth.challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
      }
      return Ok(response);
    }
  }
  let headers = request.headers();
  let format = Format::negotiate(headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or(""));
  let gzip = accepts_gzip(
    headers
      .get(ACCEPT_ENCODING)
      .and_then(|v| v.to_str().ok())
      .unwrap_or(""),
  );
  let body = if request.method() == Method::HEAD {
    Either::Left(Full::new(Bytes::new()))
  } else {
    // Collectors (prom-client `collect`, observable callbacks) set their values first,
    // bounded by the timeout.
    collect_hooks::run(
      endpoint.registry,
      endpoint.namespace_id,
      endpoint.collect_timeout,
      "scrape",
    )
    .await;
    let (sender, body) = Channel::new(2);
    let writer = BodyWriter {
      sender: Some(sender),
      runtime: tokio::runtime::Handle::current(),
      complete: false,
    };
    // Encoding a large registry takes milliseconds: do it on a blocking thread, and
    // send the text as it is produced, so memory stays flat and the first bytes leave
    // at once.
    tokio::task::spawn_blocking(move || stream_exposition(&endpoint, format, gzip, writer));
    Either::Right(body)
  };
  let mut response = Response::new(body);
  let headers = response.headers_mut();
  let content_type = HeaderValue::from_str(&format.content_type()).expect("content types are ASCII");
  headers.insert(CONTENT_TYPE, content_type);
  headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
  if gzip {
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
  }
  Ok(response)
}

fn stream_exposition(endpoint: &Endpoint, format: Format, gzip: bool, mut writer: BodyWriter) {
  // A snapshot that cannot be read (the files of a multi-process group failed) aborts
  // the response, as a failed write does: the scraper records a failed scrape.
  let Ok(snapshot) = Snapshot::take(endpoint.registry, &endpoint.namespace) else {
    return;
  };
  let written = if gzip {
    let mut compressor = flate2::write::GzEncoder::new(&mut writer, flate2::Compression::fast());
    encode(&snapshot, format, &mut compressor).and_then(|()| compressor.finish().map(drop))
  } else {
    encode(&snapshot, format, &mut writer)
  };
  writer.complete = written.is_ok();
}

/// Sends what the encoder writes as body frames. Unless the whole text was written, it
/// aborts the response when dropped (also when encoding panics), so a client sees a
/// failed scrape rather than a body that merely ends early.
struct BodyWriter {
  sender: Option<Sender<Bytes, io::Error>>,
  runtime: tokio::runtime::Handle,
  complete: bool,
}

impl Write for BodyWriter {
  fn write(&mut self, piece: &[u8]) -> io::Result<usize> {
    let sender = self.sender.as_mut().expect("the sender lives until drop");
    // A bounded channel: when the client reads slowly, encoding waits for it, but not
    // for ever.
    match self.runtime.block_on(tokio::time::timeout(
      SEND_TIMEOUT,
      sender.send_data(Bytes::copy_from_slice(piece)),
    )) {
      Ok(Ok(())) => Ok(piece.len()),
      Ok(Err(_)) => Err(io::Error::new(io::ErrorKind::BrokenPipe, "the client went away")),
      Err(_) => Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "the client stopped reading",
      )),
    }
  }

  fn flush(&mut self) -> io::Result<()> {
    Ok(())
  }
}

impl Drop for BodyWriter {
  fn drop(&mut self) {
    if let (false, Some(sender)) = (self.complete, self.sender.take()) {
      sender.abort(io::Error::other("the exposition could not be completed"));
    }
  }
}

pub fn accepts_gzip(accept_encoding: &str) -> bool {
  weighted_items(accept_encoding).any(|coding| coding.value == "gzip" && coding.q > 0.0)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn credentials_compare_whole() {
    assert!(same_bytes(b"Bearer abc", b"Bearer abc"));
    assert!(!same_bytes(b"Bearer ab", b"Bearer abc"));
    assert!(!same_bytes(b"Bearer abcd", b"Bearer abc"));
    assert!(!same_bytes(b"Bearer abd", b"Bearer abc"));
    assert!(!same_bytes(b"", b"Bearer abc"));
  }

  #[test]
  fn gzip_only_when_accepted() {
    assert!(accepts_gzip("gzip"));
    assert!(accepts_gzip("deflate, gzip;q=0.5"));
    assert!(!accepts_gzip("gzip;q=0"));
    assert!(!accepts_gzip("identity"));
    assert!(!accepts_gzip(""));
  }
}
