//! OTLP/HTTP: the registry as an `ExportMetricsServiceRequest`, in protobuf or JSON,
//! gzipped or not, split to the receiver's limits, with cumulative or delta
//! temporality. Retried only on 429, 502, 503 and 504, as the OTLP specification says;
//! a 2xx with a partial success is not retried either.
//!
//! Protobuf, the default, is written straight from the snapshot with each series'
//! attributes encoded once and its delta baseline kept beside them (`otlp::direct`).
//! JSON builds the messages, and so do a group's delta exports, whose baselines go to a
//! file by stream for the exporter that takes over (`super::delta`).

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::StatusCode;
use parking_lot::Mutex;
use prost::Message;

use super::delta::{Commit, DeltaState};
use super::{Answer, Auth, Context, Delivery, Destination, Failure, Protocol, Report, Tally, Target};
use crate::collect::Snapshot;
use crate::encode::otlp::direct::{self, Acknowledged, Encoded, SeriesCache};
use crate::encode::otlp::model::{ExportMetricsServiceResponse, InstrumentationScope, KeyValue, Metric};
use crate::encode::otlp::{self, Encoding, Origin};
use crate::registry::Family;

/// Which points go as deltas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Temporality {
  Cumulative,
  /// Counters and histograms.
  Delta,
  /// Counters and histograms updated as they happen; figures read at collection time
  /// (process metrics, OTel's asynchronous counters) stay cumulative.
  LowMemory,
}

impl Temporality {
  /// Whether a family's counters and histograms go as deltas.
  fn sends_as_delta(self, family: &Family) -> bool {
    match self {
      Temporality::Cumulative => false,
      Temporality::Delta => true,
      Temporality::LowMemory => family.process.is_none(),
    }
  }
}

pub struct Options {
  /// The full URL, `…/v1/metrics` included.
  pub url: String,
  /// Sent with every request (credentials among them: their values are never logged,
  /// reported or quoted in an error).
  pub headers: Vec<(String, String)>,
  pub encoding: Encoding,
  pub gzip: bool,
  pub temporality: Temporality,
  /// Resource attributes; the registry's default labels are added to them at each
  /// export (those named here win).
  pub resource: Vec<(String, String)>,
  /// Limits of one request: data points, and bytes before compression.
  pub max_points: usize,
  pub max_bytes: usize,
  /// The product and version for `User-Agent` and the instrumentation scope.
  pub agent_name: String,
  pub agent_version: String,
  /// How requests are authorized beyond `headers`, if they are.
  pub auth: Option<Auth>,
}

pub struct Otlp {
  target: Target,
  options: Options,
  /// The message path's acknowledged delta baselines.
  delta: DeltaState,
  /// In a group: where the acknowledged baselines are kept for the next exporter.
  delta_file: Option<std::path::PathBuf>,
  /// Protobuf's encoded attributes and acknowledged delta baselines, kept between
  /// exports; used on the blocking pool, one export at a time.
  series: Arc<Mutex<SeriesCache>>,
}

/// One request's worth of an export: messages still to be turned into deltas and
/// encoded, or a body already encoded.
enum Batch {
  Messages(Vec<Metric>),
  Encoded(Encoded),
}

/// The delta baselines a request's acknowledgement keeps, by the path that wrote it.
enum Acknowledgement {
  Messages(Commit),
  Direct(Vec<Acknowledged>),
}

impl Otlp {
  /// An exporter of these options, or why one cannot be made of them.
  pub fn new(options: Options) -> Result<Otlp, String> {
    let mut fixed = vec![(
      CONTENT_TYPE,
      HeaderValue::from_static(options.encoding.content_type()),
    )];
    if options.gzip {
      fixed.push((CONTENT_ENCODING, HeaderValue::from_static("gzip")));
    }
    let target = Target::new(
      "endpoint",
      &options.url,
      &options.headers,
      (&["content-type", "content-encoding"], "OTLP/HTTP"),
      fixed,
      &format!("{}/{}", options.agent_name, options.agent_version),
    )?;
    Ok(Otlp {
      target,
      options,
      delta: DeltaState::default(),
      delta_file: None,
      series: Arc::default(),
    })
  }
}

const PROTOCOL: Protocol = Protocol {
  retryable: |answer| {
    matches!(
      answer.status,
      StatusCode::TOO_MANY_REQUESTS
        | StatusCode::BAD_GATEWAY
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT
    )
  },
  describe,
};

/// `google.rpc.Status`, the body of an OTLP failure.
#[derive(Clone, PartialEq, prost::Message)]
struct Status {
  #[prost(string, tag = "2")]
  message: String,
}

/// What a receiver said in a failure's body: a `google.rpc.Status` in protobuf or JSON,
/// or text; at most 300 characters of it.
fn receiver_message(answer: &Answer) -> String {
  let body = &answer.body;
  let from_status = Status::decode(body.as_ref()).ok().map(|s| s.message);
  let from_json = serde_json::from_slice::<serde_json::Value>(body)
    .ok()
    .and_then(|v| v.get("message")?.as_str().map(str::to_string));
  let text = from_json
    .or(from_status.filter(|m| !m.is_empty()))
    .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
  let text = text.trim();
  let mut short: String = text.chars().take(300).collect();
  if short.len() < text.len() {
    short.push('…');
  }
  short
}

fn describe(answer: &Answer) -> String {
  let status = answer.status;
  let hint = match status.as_u16() {
    400 => " (the receiver cannot use these points; they are dropped)",
    401 | 403 => " (check the credentials in the exporter's headers)",
    404 => " (check the endpoint: an OTLP receiver takes metrics at /v1/metrics)",
    413 => " (the request is larger than the receiver takes: lower maxPointsPerRequest)",
    415 => " (the receiver does not take this encoding: try the other protocol)",
    429 => " (the receiver is rate limiting)",
    _ => "",
  };
  let said = receiver_message(answer);
  let said = if said.is_empty() {
    String::new()
  } else {
    format!(": {said}")
  };
  format!("OTLP receiver answered {status}{said}{hint}")
}

impl Destination for Otlp {
  fn label(&self) -> String {
    self.target.label()
  }

  fn take_over(&mut self, state: &std::path::Path) {
    if self.options.temporality != Temporality::Cumulative {
      self.delta = DeltaState::load(state);
      self.delta_file = Some(state.to_path_buf());
    }
  }

  async fn export(&mut self, context: &Context) -> Result<Report, Failure> {
    let started = Instant::now();
    let deadline = context.deadline(started);
    let registry = context.registry;
    let namespace_id = context.schedule.namespace_id;
    let temporality = self.options.temporality;
    let direct = self.options.encoding == Encoding::Protobuf && self.delta_file.is_none();
    let (resource, scope) = (self.options.resource.clone(), self.scope());
    let (max_points, max_bytes) = (self.options.max_points, self.options.max_bytes);
    let series = self.series.clone();
    // Reading, encoding (or building the messages) and splitting take milliseconds for
    // large registries: not on an async worker's time.
    let read = tokio::task::spawn_blocking(move || {
      let namespace = registry.namespace(namespace_id).map_err(|e| e.to_string())?;
      let snapshot = Snapshot::take(registry, &namespace).map_err(|e| e.to_string())?;
      let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
      let origin = origin(&resource, scope, &namespace.default_labels());
      // The message path's delta is worked out after the read, by metric name.
      let mut kept_cumulative = HashSet::new();
      let batches: Vec<Batch> = if direct {
        direct::requests(
          &snapshot,
          &origin,
          now,
          &mut series.lock(),
          (max_points, max_bytes),
          &|family| temporality.sends_as_delta(family),
        )
        .into_iter()
        .map(Batch::Encoded)
        .collect()
      } else {
        kept_cumulative = snapshot
          .families
          .iter()
          .filter(|entry| !temporality.sends_as_delta(&entry.family))
          .map(|entry| entry.family.sample_name())
          .collect();
        otlp::split(otlp::metrics(&snapshot, now), max_points, max_bytes)
          .into_iter()
          .map(Batch::Messages)
          .collect()
      };
      Ok::<_, String>((batches, kept_cumulative, origin))
    })
    .await;
    let (batches, kept_cumulative, origin) = match read {
      Ok(Ok(read)) => read,
      Ok(Err(why)) => {
        return Err(Failure {
          message: format!("cannot read the metrics: {why}"),
          permanent: false,
        })
      }
      Err(_) => {
        return Err(Failure {
          message: "reading the metrics failed".into(),
          permanent: false,
        })
      }
    };
    let mut tally = Tally::default();
    for mut batch in batches {
      let (commit, points) = match &mut batch {
        Batch::Encoded(encoded) => (
          Acknowledgement::Direct(std::mem::take(&mut encoded.baselines)),
          encoded.points,
        ),
        Batch::Messages(group) => {
          let commit = tokio::task::block_in_place(|| match temporality {
            Temporality::Cumulative => vec![],
            Temporality::Delta | Temporality::LowMemory => {
              self.delta.to_delta(group, &|name| kept_cumulative.contains(name))
            }
          });
          (Acknowledgement::Messages(commit), count_points(group))
        }
      };
      if points == 0 {
        continue;
      }
      if tally.receiver_failing() {
        tally.skip(context, points);
        continue;
      }
      let body = tokio::task::block_in_place(|| {
        let encoded = match batch {
          Batch::Encoded(encoded) => encoded.body,
          Batch::Messages(group) => self.options.encoding.encode(&origin, group),
        };
        self.compress(encoded)
      });
      match context
        .deliver(
          &self.target.url,
          &self.target.headers,
          body,
          &PROTOCOL,
          self.options.auth.as_ref(),
          deadline,
        )
        .await
      {
        Delivery::Accepted(answer) => {
          self.commit(commit);
          match partial_success(&answer, self.options.encoding) {
            Some((rejected, message)) if rejected > 0 => {
              let rejected = (rejected as usize).min(points);
              tally.accepted(context, points - rejected);
              let message = format!("OTLP receiver rejected {rejected} of {points} points: {message}");
              tally.dropped(context, rejected, message);
            }
            _ => tally.accepted(context, points),
          }
        }
        Delivery::Refused { message, .. } => {
          // Refused for good: sending the same deltas again would be refused again.
          self.commit(commit);
          tally.dropped(context, points, message);
        }
        Delivery::Failed(message) => tally.failed(context, points, message),
      }
    }
    tally.finish()
  }
}

impl Otlp {
  /// Keeps acknowledged baselines, and in a group writes them where the next exporter
  /// finds them (before the next request, so a takeover repeats no count).
  fn commit(&mut self, acknowledgement: Acknowledgement) {
    let commit = match acknowledgement {
      Acknowledgement::Messages(commit) => commit,
      Acknowledgement::Direct(baselines) => {
        if !baselines.is_empty() {
          self.series.lock().acknowledge(baselines);
        }
        return;
      }
    };
    #[cfg(unix)]
    let changed = !commit.is_empty();
    self.delta.commit(commit);
    #[cfg(unix)]
    if let (true, Some(path)) = (changed, &self.delta_file) {
      let bytes = self.delta.to_bytes();
      let _ = tokio::task::block_in_place(|| super::write_whole(path, &bytes));
    }
  }

  fn scope(&self) -> InstrumentationScope {
    InstrumentationScope {
      name: self.options.agent_name.clone(),
      version: self.options.agent_version.clone(),
    }
  }

  fn compress(&self, encoded: Vec<u8>) -> Bytes {
    if !self.options.gzip {
      return encoded.into();
    }
    let mut gzip =
      flate2::write::GzEncoder::new(Vec::with_capacity(encoded.len() / 4), flate2::Compression::fast());
    gzip
      .write_all(&encoded)
      .and_then(|()| gzip.finish())
      .expect("compressing into memory cannot fail")
      .into()
  }
}

/// The sender of a request: the `resource` option's attributes, then the registry's
/// default labels not named there.
fn origin(
  resource: &[(String, String)],
  scope: InstrumentationScope,
  default_labels: &[(String, String)],
) -> Origin {
  let defaults = default_labels
    .iter()
    .filter(|(key, _)| !resource.iter().any(|(k, _)| k == key));
  Origin {
    resource: resource
      .iter()
      .chain(defaults)
      .map(|(k, v)| KeyValue::new(k, v))
      .collect(),
    scope,
  }
}

fn count_points(metrics: &[Metric]) -> usize {
  metrics
    .iter()
    .map(|m| m.data.as_ref().map_or(0, |d| d.len()))
    .sum()
}

/// The rejected points and message of a 2xx's partial success, if it has one.
fn partial_success(answer: &Answer, encoding: Encoding) -> Option<(i64, String)> {
  if answer.body.is_empty() {
    return None;
  }
  match encoding {
    Encoding::Protobuf => {
      let partial = ExportMetricsServiceResponse::decode(answer.body.as_ref())
        .ok()?
        .partial_success?;
      Some((partial.rejected_data_points, partial.error_message))
    }
    Encoding::Json => {
      let value: serde_json::Value = serde_json::from_slice(&answer.body).ok()?;
      let partial = value.get("partialSuccess")?;
      let rejected = partial
        .get("rejectedDataPoints")
        .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))?;
      let message = partial
        .get("errorMessage")
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .to_string();
      Some((rejected, message))
    }
  }
}
