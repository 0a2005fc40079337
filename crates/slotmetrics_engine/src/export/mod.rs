//! Pushing metrics out of the process: an exporter is a task on the engine's runtime
//! that, every interval and whenever it is asked to flush, runs the collect hooks,
//! reads a snapshot, encodes it for its destination, compresses, sends and retries, so
//! the JS event loop never does any of it.
//!
//! An export never overlaps another of the same exporter: ticks, flushes and the last
//! export of `stop` are taken in turn by its one task. Failures are reported through
//! the exporter's `report` function, once per kind of failure until the next success.
//! What each exporter sent, failed to send and gave up on is counted in
//! `slotmetrics_export_points_total`, its last success in
//! `slotmetrics_export_last_success_timestamp_seconds`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::Uri;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::kind::Kind;
use crate::registry::{Definition, NamespaceId, Registry, DEFAULT_NAMESPACE};
use crate::runtime::runtime;

mod delta;
pub mod google;
mod http;
#[cfg(unix)]
mod leader;
pub mod otlp;
pub mod remote_write;
mod retry;
pub mod sigv4;

/// What every exporter is told, whatever its destination.
pub struct Schedule {
  /// Time between exports.
  pub interval: Duration,
  /// How long one attempt may wait for an answer.
  pub attempt_timeout: Duration,
  /// How long one export may take, retries included.
  pub export_timeout: Duration,
  /// How long an export waits for the JS collect hooks.
  pub collect_timeout: Duration,
  pub namespace_id: NamespaceId,
}

/// Where a destination sends, and the headers every request to it carries.
pub struct Target {
  pub url: Uri,
  pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Target {
  /// `url` (the option `url_option`) checked; the user's `headers`, none of them one
  /// the protocol sets (`reserved`, set by `reserved_by`); then the protocol's `fixed`
  /// headers and `User-Agent: agent`. Header values are never quoted in an error: they
  /// carry credentials.
  pub fn new(
    url_option: &str,
    url: &str,
    headers: &[(String, String)],
    (reserved, reserved_by): (&[&str], &str),
    fixed: Vec<(HeaderName, HeaderValue)>,
    agent: &str,
  ) -> Result<Target, String> {
    let url: Uri = url
      .parse()
      .map_err(|_| format!("{url_option} is not a valid URL"))?;
    if !matches!(url.scheme_str(), Some("http" | "https")) || url.host().is_none() {
      return Err(format!(
        "{url_option} must be an http:// or https:// URL with a host"
      ));
    }
    let mut all = Vec::with_capacity(headers.len() + fixed.len() + 1);
    for (name, value) in headers {
      if reserved.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
          "header \"{name}\" is set by {reserved_by} and cannot be changed"
        ));
      }
      let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("\"{name}\" is not a valid header name"))?;
      let header_value = HeaderValue::from_str(value)
        .map_err(|_| format!("the value of header \"{name}\" has characters a header cannot carry"))?;
      all.push((header_name, header_value));
    }
    all.extend(fixed);
    let agent = HeaderValue::from_str(agent).map_err(|_| "the agent name cannot be sent".to_string())?;
    all.push((hyper::header::USER_AGENT, agent));
    Ok(Target { url, headers: all })
  }

  /// The URL without credentials or query: it names the exporter in its self-metrics.
  pub fn label(&self) -> String {
    let url = &self.url;
    let (scheme, host, path) = (
      url.scheme_str().unwrap_or("http"),
      url.host().unwrap_or(""),
      url.path(),
    );
    match url.port_u16() {
      Some(port) => format!("{scheme}://{host}:{port}{path}"),
      None => format!("{scheme}://{host}{path}"),
    }
  }
}

/// An environment variable that is set to something other than blanks (credential
/// sources read them as the AWS and Google SDKs do).
fn variable(name: &str) -> Option<String> {
  std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// What one export delivered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
  /// Data points the receiver accepted.
  pub points: usize,
  pub requests: usize,
}

/// Why an export did not deliver everything.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
  /// Says what happened and, for a failure retrying cannot fix, what to change.
  pub message: String,
  /// Whether sending the same again can never succeed (the points were given up).
  pub permanent: bool,
}

/// Called with a failure's message the first time it happens after a success.
pub type Reporter = Arc<dyn Fn(String) + Send + Sync>;

/// A destination's part of an export: everything after the collect hooks.
pub trait Destination: Send + 'static {
  /// Names the exporter in its self-metrics: the receiver's URL without credentials.
  fn label(&self) -> String;
  /// Reads, encodes and sends what the registry holds now.
  fn export(&mut self, context: &Context) -> impl Future<Output = Result<Report, Failure>> + Send;
  /// Called when this exporter becomes its group's exporter of this destination (see
  /// `leader`): what the previous one's receiver acknowledged is kept at `state`.
  fn take_over(&mut self, state: &std::path::Path) {
    let _ = state;
  }
}

/// What a destination exports from, and how it may send.
pub struct Context {
  pub registry: &'static Registry,
  pub schedule: Schedule,
  label: String,
  report: Reporter,
  /// In a multi-process group: whether this process is the one that exports.
  #[cfg(unix)]
  leadership: Option<Mutex<leader::Leadership>>,
  /// No request goes before then (a receiver's `Retry-After`).
  not_before: Mutex<Option<Instant>>,
}

enum Command {
  Flush(oneshot::Sender<Result<Report, Failure>>),
  Stop(oneshot::Sender<()>),
}

static EXPORTERS: LazyLock<Mutex<HashMap<u32, mpsc::UnboundedSender<Command>>>> =
  LazyLock::new(Default::default);
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// Starts exporting to `destination`; returns the exporter's id.
/// This process's `service.instance.id` when none is configured: a random UUID (v4),
/// as the semantic conventions advise, made once so that every JS thread of the process
/// reports the same one.
pub fn process_instance_id() -> &'static str {
  static ID: OnceLock<String> = OnceLock::new();
  ID.get_or_init(|| {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    // SystemRandom fails only without an OS random source; the time is unique enough then.
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
      let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
      bytes = (nanos ^ u128::from(std::process::id())).to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
      "{}-{}-{}-{}-{}",
      &hex[..8],
      &hex[8..12],
      &hex[12..16],
      &hex[16..20],
      &hex[20..]
    )
  })
}

pub fn start(
  registry: &'static Registry,
  schedule: Schedule,
  destination: impl Destination,
  report: Reporter,
) -> Result<u32, String> {
  registry
    .namespace(schedule.namespace_id)
    .map_err(|e| e.to_string())?;
  let rt = runtime()?;
  let (commands, inbox) = mpsc::unbounded_channel();
  let label = destination.label();
  #[cfg(unix)]
  let leadership = match registry.group_path() {
    Some(dir) => Some(Mutex::new(
      leader::Leadership::open(&dir, &label)
        .map_err(|e| format!("cannot open the group's export lock: {e}"))?,
    )),
    None => None,
  };
  let context = Context {
    registry,
    label,
    schedule,
    report,
    #[cfg(unix)]
    leadership,
    not_before: Mutex::new(None),
  };
  rt.spawn(run(context, destination, inbox));
  let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
  EXPORTERS.lock().insert(id, commands);
  Ok(id)
}

/// Writes `bytes` to `path` whole or not at all, for state kept in a group's directory.
#[cfg(unix)]
pub fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
  leader::write_whole(path, bytes)
}

/// Exports now; `done` gets the outcome once the receiver has answered (or the export
/// gave up). An unknown or stopped exporter's flush fails at once.
pub fn flush(id: u32, done: impl FnOnce(Result<Report, Failure>) + Send + 'static) {
  let (reply, outcome) = oneshot::channel();
  let sent = EXPORTERS
    .lock()
    .get(&id)
    .is_some_and(|commands| commands.send(Command::Flush(reply)).is_ok());
  if !sent {
    return done(Err(Failure {
      message: "the exporter is stopped".into(),
      permanent: true,
    }));
  }
  let wait = async move {
    outcome.await.unwrap_or_else(|_| {
      Err(Failure {
        message: "the exporter stopped before the flush".into(),
        permanent: true,
      })
    })
  };
  // The runtime exists: the exporter that took the flush runs on it.
  match runtime() {
    Ok(rt) => drop(rt.spawn(async move { done(wait.await) })),
    Err(message) => done(Err(Failure {
      message,
      permanent: false,
    })),
  }
}

/// Stops an exporter after a last export; `done` is called once it has ended. Unknown
/// ids (a second stop) are done at once.
pub fn stop(id: u32, done: impl FnOnce() + Send + 'static) {
  let (reply, stopped) = oneshot::channel();
  let sent = EXPORTERS
    .lock()
    .remove(&id)
    .is_some_and(|commands| commands.send(Command::Stop(reply)).is_ok());
  let Ok(rt) = runtime() else { return done() };
  if !sent {
    return done();
  }
  rt.spawn(async move {
    let _ = stopped.await;
    done()
  });
}

async fn run(
  context: Context,
  mut destination: impl Destination,
  mut inbox: mpsc::UnboundedReceiver<Command>,
) {
  // Each distinct failure is reported once until the next success, so an outage that
  // flaps between two answers is not reported at every export. Bounded: a receiver
  // whose every answer differs (a request id in the body) is not remembered for ever.
  const REMEMBERED: usize = 16;
  let mut reported: Vec<String> = Vec::new();
  let report = context.report.clone();
  let mut outcome = |result: &Result<Report, Failure>| match result {
    Ok(_) => reported.clear(),
    Err(failure) if reported.len() < REMEMBERED && !reported.contains(&failure.message) => {
      report(failure.message.clone());
      reported.push(failure.message.clone());
    }
    Err(_) => {}
  };
  let interval = context.schedule.interval;
  let mut next = tokio::time::Instant::now() + interval;
  loop {
    tokio::select! {
      _ = tokio::time::sleep_until(next) => {
        let result = export(&context, &mut destination).await;
        outcome(&result);
        next = tokio::time::Instant::now() + interval;
      }
      command = inbox.recv() => match command {
        Some(Command::Flush(reply)) => {
          let result = export(&context, &mut destination).await;
          outcome(&result);
          let _ = reply.send(result);
        }
        Some(Command::Stop(reply)) => {
          let result = export(&context, &mut destination).await;
          outcome(&result);
          let _ = reply.send(());
          return;
        }
        None => return,
      }
    }
  }
}

async fn export(context: &Context, destination: &mut impl Destination) -> Result<Report, Failure> {
  #[cfg(unix)]
  if let Some(leadership) = &context.leadership {
    let (standing, state) = {
      let mut leadership = leadership.lock();
      (leadership.stand(), leadership.state_path.clone())
    };
    match standing {
      leader::Standing::Follower => return Ok(Report::default()),
      leader::Standing::TookOver => destination.take_over(&state),
      leader::Standing::Leader => {}
    }
  }
  crate::collect_hooks::run(
    context.registry,
    context.schedule.namespace_id,
    context.schedule.collect_timeout,
    "export",
  )
  .await;
  destination.export(context).await
}

/// What an export's requests came to, kept as they end: the report, the self-metrics,
/// and the failure the export ends with (a transient one stops the requests after it).
#[derive(Default)]
pub struct Tally {
  report: Report,
  failure: Option<Failure>,
}

impl Tally {
  /// Whether the receiver failed in a way a later export may not: the requests left go
  /// with the next export (see `skip`).
  pub fn receiver_failing(&self) -> bool {
    self.failure.as_ref().is_some_and(|f| !f.permanent)
  }

  /// A request not sent because the receiver is failing.
  pub fn skip(&self, context: &Context, points: usize) {
    context.count("failed", points);
  }

  /// A request the receiver acknowledged, `points` of it accepted.
  pub fn accepted(&mut self, context: &Context, points: usize) {
    context.count("sent", points);
    context.succeeded();
    self.report.points += points;
    self.report.requests += 1;
  }

  /// Points refused for good: never sent again.
  pub fn dropped(&mut self, context: &Context, points: usize, message: String) {
    context.count("dropped", points);
    self.failure = Some(Failure {
      message,
      permanent: true,
    });
  }

  /// Points not delivered in time: a later export carries their counts.
  pub fn failed(&mut self, context: &Context, points: usize, message: String) {
    context.count("failed", points);
    self.failure = Some(Failure {
      message,
      permanent: false,
    });
  }

  pub fn finish(self) -> Result<Report, Failure> {
    match self.failure {
      Some(failure) => Err(failure),
      None => Ok(self.report),
    }
  }
}

/// How a request ended.
pub enum Delivery {
  /// 2xx; the answer's body, for what the protocol reads in it.
  Accepted(Answer),
  /// Refused for good: sending it again cannot succeed. The message says why and what
  /// to fix; the answer is there for what the protocol reads in it.
  Refused { message: String, answer: Answer },
  /// Still failing when the export's time was up: a later export sends its data.
  Failed(String),
}

pub use http::Answer;

/// How requests are authorized beyond fixed headers.
pub enum Auth {
  /// AWS Signature Version 4.
  SigV4(sigv4::Signer),
  /// A Google Cloud access token.
  Google(Box<google::GoogleAuth>),
}

impl Auth {
  /// The headers that authorize a POST of `body` to `url` with `headers`.
  async fn headers(
    &self,
    url: &Uri,
    headers: &[(HeaderName, HeaderValue)],
    body: &[u8],
  ) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    match self {
      Auth::SigV4(signer) => signer.sign("POST", url, headers, body).await,
      Auth::Google(google) => google.headers().await,
    }
  }
}

/// How a destination reads an answer that is not a 2xx.
pub struct Protocol {
  /// Whether an answer may be retried.
  pub retryable: fn(&Answer) -> bool,
  /// A failure's message: the status, what the receiver said, and what to fix.
  pub describe: fn(&Answer) -> String,
}

impl Context {
  /// When the current export must be done by.
  pub fn deadline(&self, started: Instant) -> Instant {
    started + self.schedule.export_timeout
  }

  /// Sends one request, with `auth`'s headers if it has some, retrying as `protocol`
  /// allows until `deadline`.
  pub async fn deliver(
    &self,
    url: &Uri,
    headers: &[(HeaderName, HeaderValue)],
    body: Bytes,
    protocol: &Protocol,
    auth: Option<&Auth>,
    deadline: Instant,
  ) -> Delivery {
    let mut retries = 0;
    loop {
      let waiting = *self.not_before.lock();
      if let Some(at) = waiting {
        if at >= deadline {
          return Delivery::Failed(
            "the receiver asked to wait (Retry-After) past this export's deadline".into(),
          );
        }
        tokio::time::sleep_until(at.into()).await;
      }
      let left = deadline.saturating_duration_since(Instant::now());
      // At each attempt: a signature holds for minutes, and credentials renew.
      let authorized;
      let headers = match auth {
        None => headers,
        Some(auth) => match auth.headers(url, headers, &body).await {
          Ok(added) => {
            authorized = [headers, &added].concat();
            &authorized[..]
          }
          Err(why) => return Delivery::Failed(why),
        },
      };
      let attempt = http::post(
        url,
        headers,
        body.clone(),
        self.schedule.attempt_timeout.min(left),
      )
      .await;
      let (why, asked) = match attempt {
        Ok(answer) if answer.status.is_success() => {
          *self.not_before.lock() = None;
          return Delivery::Accepted(answer);
        }
        Ok(answer) if (protocol.retryable)(&answer) => {
          ((protocol.describe)(&answer), retry::retry_after(&answer.headers))
        }
        Ok(answer) => {
          return Delivery::Refused {
            message: (protocol.describe)(&answer),
            answer,
          }
        }
        Err(no_answer) => (format!("cannot reach {}: {no_answer}", self.label), None),
      };
      let wait = asked.unwrap_or_else(|| retry::backoff(retries));
      match retry::next_attempt(wait, deadline) {
        Some(at) => *self.not_before.lock() = Some(at),
        None => {
          // A wait the receiver asked for holds for the next export too.
          *self.not_before.lock() = asked.map(|wait| Instant::now() + wait);
          return Delivery::Failed(why);
        }
      }
      retries += 1;
    }
  }

  /// Tells the exporter's listener of something it should know once (a change the
  /// exporter made on its own), as a failure is told.
  pub fn notice(&self, message: String) {
    (self.report)(message);
  }

  /// Counts points by result in the self-metrics (`sent`, `failed` or `dropped`).
  pub fn count(&self, result: &str, points: usize) {
    if points == 0 {
      return;
    }
    let _ = self_metrics::add(self.registry, &self.label, result, points as f64);
  }

  /// Records a success now in the self-metrics.
  pub fn succeeded(&self) {
    let now = SystemTime::now()
      .duration_since(UNIX_EPOCH)
      .unwrap_or_default()
      .as_secs_f64();
    let _ = self_metrics::set_last_success(self.registry, &self.label, now);
  }
}

/// The exporters' own metrics, in the default registry.
mod self_metrics {
  use super::*;

  pub const POINTS: &str = "slotmetrics_export_points_total";
  pub const LAST_SUCCESS: &str = "slotmetrics_export_last_success_timestamp_seconds";

  /// Defined again at each use (an identical definition finds the existing metric), so
  /// a cleared registry gets them back.
  fn define(registry: &Registry, name: &str, kind: Kind, help: &str, keys: &[&str]) -> Result<u32, String> {
    registry
      .define_in(
        DEFAULT_NAMESPACE,
        Definition {
          help: help.into(),
          dynamic_keys: keys.iter().map(|k| k.to_string()).collect(),
          ..Definition::new(name, kind)
        },
      )
      .map_err(|e| e.to_string())
  }

  pub fn add(registry: &Registry, exporter: &str, result: &str, points: f64) -> Result<(), String> {
    registry
      .add_engine_count(
        POINTS,
        "Data points exporters pushed: sent (acknowledged), failed (not delivered; a later export carries their counts), dropped (refused for good)",
        &["exporter", "result"],
        &[exporter, result],
        points,
      )
      .map_err(|e| e.to_string())
  }

  pub fn set_last_success(registry: &Registry, exporter: &str, seconds: f64) -> Result<(), String> {
    let id = define(
      registry,
      LAST_SUCCESS,
      Kind::FloatGauge,
      "When an exporter's receiver last acknowledged an export, in seconds since the Unix epoch",
      &["exporter"],
    )?;
    let slot = registry
      .series(id, &[exporter])
      .map_err(|e| e.to_string())?
      .slot();
    registry
      .shared
      .store(slot, seconds.to_bits())
      .map_err(|e| e.to_string())
  }
}
