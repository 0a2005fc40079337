//! Prometheus remote write: the registry as a snappy-compressed request, 1.0's
//! `WriteRequest` or, when asked for, 2.0's `io.prometheus.write.v2.Request`, with the
//! specification's headers, split into requests of at most `max_series` series.
//! Retried on 5xx and 429, as the specification allows; other answers are refused for
//! good.
//!
//! A 2.0 receiver says how much it wrote in `X-Prometheus-Remote-Write-*-Written`
//! headers. A 2xx without them comes from a receiver that decoded the request as 1.0,
//! found nothing in it and stored nothing (Prometheus 2.x does exactly that): the
//! request is not counted as delivered, and the user is told to send 1.0.
//!
//! A receiver that does not take native histograms (Prometheus without its feature
//! flag answers `500 native histograms are disabled`, which a naive sender would retry
//! for ever) is told once; from then on each native histogram is sent as its `_count`
//! and `_sum`, and the refused request goes again at once without them, so its floats
//! are not lost.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};

use super::{Answer, Auth, Context, Delivery, Destination, Failure, Protocol, Report, Tally, Target};
use crate::collect::Snapshot;
use crate::encode::remote_write::{series, v1, v2, without_native, Series};

/// Which message the requests carry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Version {
  V1,
  V2,
}

pub struct Options {
  pub url: String,
  /// Sent with every request (credentials among them: their values are never logged,
  /// reported or quoted in an error). The specification's own headers cannot be set.
  pub headers: Vec<(String, String)>,
  /// Labels every series gets unless it has its own of that name (`job`, `instance`).
  pub labels: Vec<(String, String)>,
  /// Send native histograms as native histograms (until a receiver refuses them).
  pub native_histograms: bool,
  /// Series in one request at most.
  pub max_series: usize,
  pub version: Version,
  pub agent_name: String,
  pub agent_version: String,
  /// How requests are authorized beyond `headers`, if they are.
  pub auth: Option<Auth>,
}

pub struct RemoteWrite {
  target: Target,
  options: Options,
}

/// What Prometheus answers when native histograms are off.
const NATIVE_DISABLED: &str = "native histograms are disabled";

fn refuses_native(answer: &Answer) -> bool {
  String::from_utf8_lossy(&answer.body).contains(NATIVE_DISABLED)
}

const PROTOCOL: Protocol = Protocol {
  retryable: |answer| {
    (answer.status.is_server_error() && !refuses_native(answer)) || answer.status.as_u16() == 429
  },
  describe,
};

fn describe(answer: &Answer) -> String {
  let status = answer.status;
  let said = String::from_utf8_lossy(&answer.body);
  let said: String = said.trim().chars().take(300).collect();
  let hint = match status.as_u16() {
    400 => " (the receiver cannot store these samples: out of order, too old or malformed; they are dropped)",
    401 | 403 => " (check the credentials)",
    404 => " (check the URL; Prometheus takes remote write at /api/v1/write when started with --web.enable-remote-write-receiver)",
    413 => " (the request is larger than the receiver takes: lower maxSeriesPerRequest)",
    415 => " (the receiver does not take remote write 2.0: set version '1.0')",
    _ => "",
  };
  let said = if said.is_empty() {
    String::new()
  } else {
    format!(": {said}")
  };
  format!("remote-write receiver answered {status}{said}{hint}")
}

impl RemoteWrite {
  /// A remote-write exporter of these options, or why one cannot be made of them.
  pub fn new(options: Options) -> Result<RemoteWrite, String> {
    let target = Target::new(
      "url",
      &options.url,
      &options.headers,
      (
        &[
          "content-encoding",
          "content-type",
          "user-agent",
          "x-prometheus-remote-write-version",
        ],
        "the remote-write specification",
      ),
      vec![
        (CONTENT_ENCODING, HeaderValue::from_static("snappy")),
        (
          CONTENT_TYPE,
          HeaderValue::from_static(options.version.content_type()),
        ),
        (
          HeaderName::from_static("x-prometheus-remote-write-version"),
          HeaderValue::from_static(options.version.header()),
        ),
      ],
      &format!("{}/{}", options.agent_name, options.agent_version),
    )?;
    Ok(RemoteWrite { target, options })
  }

  fn body(&self, series: &[Series]) -> Bytes {
    let encoded = match self.options.version {
      Version::V1 => v1::encode(series),
      Version::V2 => v2::encode(series),
    };
    snap::raw::Encoder::new()
      .compress_vec(&encoded)
      .expect("snappy compresses any input held in memory")
      .into()
  }

  /// Reads the registry as series, off the runtime's async threads.
  async fn read(&self, context: &Context) -> Result<Vec<Series>, Failure> {
    let registry = context.registry;
    let namespace_id = context.schedule.namespace_id;
    let labels = self.options.labels.clone();
    let native = self.options.native_histograms;
    tokio::task::spawn_blocking(move || {
      let namespace = registry.namespace(namespace_id).map_err(|e| e.to_string())?;
      let snapshot = Snapshot::take(registry, &namespace).map_err(|e| e.to_string())?;
      let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
      Ok(series(&snapshot, &labels, now.as_millis() as i64, native))
    })
    .await
    .unwrap_or_else(|_| Err("reading the metrics failed".into()))
    .map_err(|why: String| Failure {
      message: format!("cannot read the metrics: {why}"),
      permanent: false,
    })
  }
}

impl Version {
  fn content_type(self) -> &'static str {
    match self {
      Version::V1 => "application/x-protobuf",
      Version::V2 => "application/x-protobuf;proto=io.prometheus.write.v2.Request",
    }
  }

  fn header(self) -> &'static str {
    match self {
      Version::V1 => "0.1.0",
      Version::V2 => "2.0.0",
    }
  }
}

/// Whether a 2xx answer to a 2.0 request says what it wrote: without any of the
/// `Written` headers the receiver did not understand 2.0.
fn says_written(answer: &Answer) -> bool {
  ["samples", "histograms", "exemplars"].iter().any(|kind| {
    answer
      .headers
      .contains_key(format!("x-prometheus-remote-write-{kind}-written").as_str())
  })
}

const NOT_V2: &str = "the remote-write receiver answered 2xx without any X-Prometheus-Remote-Write-*-Written header: it does not speak remote write 2.0 and stored nothing (set version '1.0')";

impl Destination for RemoteWrite {
  fn label(&self) -> String {
    self.target.label()
  }

  async fn export(&mut self, context: &Context) -> Result<Report, Failure> {
    let deadline = context.deadline(Instant::now());
    let all = self.read(context).await?;
    let mut tally = Tally::default();
    let mut batches: Vec<Vec<Series>> = Vec::new();
    let mut rest = all;
    while !rest.is_empty() {
      let tail = rest.split_off(rest.len().min(self.options.max_series));
      batches.push(std::mem::replace(&mut rest, tail));
    }
    for mut batch in batches {
      if tally.receiver_failing() {
        tally.skip(context, batch.len());
        continue;
      }
      loop {
        let count = batch.len();
        match context
          .deliver(
            &self.target.url,
            &self.target.headers,
            self.body(&batch),
            &PROTOCOL,
            self.options.auth.as_ref(),
            deadline,
          )
          .await
        {
          Delivery::Accepted(answer) if self.options.version == Version::V2 && !says_written(&answer) => {
            tally.dropped(context, count, NOT_V2.to_string())
          }
          Delivery::Accepted(_) => tally.accepted(context, count),
          Delivery::Refused { answer, .. } if refuses_native(&answer) && self.options.native_histograms => {
            self.options.native_histograms = false;
            context.notice(format!(
              "the receiver refused native histograms ({}); sending each native histogram's _count and _sum from now on",
              describe(&answer)
            ));
            // The same request again at once, its native histograms as floats.
            batch = without_native(batch);
            continue;
          }
          Delivery::Refused { message, .. } => tally.dropped(context, count, message),
          Delivery::Failed(message) => tally.failed(context, count, message),
        }
        break;
      }
    }
    tally.finish()
  }
}
