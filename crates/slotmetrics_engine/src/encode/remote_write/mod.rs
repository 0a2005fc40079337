//! A snapshot as Prometheus remote write: every sample the text exposition has, as a
//! series of its own with its full label set (`__name__` included, names sorted, empty
//! values left out) and one sample stamped with the export's time; a native histogram
//! as one histogram sample instead of its classic samples, unless the receiver does not
//! take them, when it sends its `_count` and `_sum` only.
//!
//! The series are built once and written as either message: 1.0's `WriteRequest`
//! (`v1`) or 2.0's `io.prometheus.write.v2.Request` (`v2`), which adds what 1.0 has no
//! field for: the metric's type and help, the series' start time and its exemplar.

use std::sync::Arc;

use crate::collect::{NativeBuckets, Snapshot, Value};
use crate::data::metrics_data;
use crate::exemplar::Exemplar;
use crate::kind::Kind;

mod histogram;
pub mod v1;
pub mod v2;

/// One series' point, as both messages carry it.
pub struct Series {
  /// `__name__` and the labels, sorted by name, none empty.
  pub labels: Vec<(String, String)>,
  pub point: Point,
  /// Milliseconds since the Unix epoch.
  pub timestamp: i64,
  /// Since when the series counts (milliseconds since the Unix epoch); 0 for gauges,
  /// which do not count from anywhere.
  pub start: i64,
  pub metadata: Arc<Metadata>,
  /// A counter's or a histogram bucket's latest exemplar.
  pub exemplar: Option<Exemplar>,
}

pub enum Point {
  Float(f64),
  Native { buckets: NativeBuckets, sum: f64 },
}

/// What 2.0 says of a metric beside its samples.
pub struct Metadata {
  pub kind: MetricType,
  pub help: String,
}

/// 2.0's `Metadata.MetricType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum MetricType {
  Counter = 1,
  Gauge = 2,
  Histogram = 3,
  Summary = 5,
}

impl MetricType {
  fn of(kind: Kind) -> MetricType {
    match kind {
      Kind::Counter => MetricType::Counter,
      Kind::IntGauge | Kind::FloatGauge => MetricType::Gauge,
      Kind::Histogram => MetricType::Histogram,
      Kind::Summary => MetricType::Summary,
    }
  }
}

/// Milliseconds since the Unix epoch, from the seconds the registry keeps: the
/// millisecond the time falls in, as the request's own timestamp is taken, so that a
/// series registered in the millisecond of the export never starts after its sample.
fn millis(seconds: f64) -> i64 {
  (seconds * 1000.0).floor() as i64
}

/// Every series of the snapshot, with `extra` labels (the target's `job` and
/// `instance`) added where a series does not have them, at `timestamp` (ms).
/// `native` says whether native histograms go as histograms.
pub fn series(snapshot: &Snapshot, extra: &[(String, String)], timestamp: i64, native: bool) -> Vec<Series> {
  let mut out = Vec::new();
  for (metric, entry) in metrics_data(snapshot).into_iter().zip(&snapshot.families) {
    let is_native = entry.family.def.native.is_some();
    let kind = MetricType::of(entry.family.def.kind);
    let metadata = Arc::new(Metadata {
      kind,
      help: metric.help,
    });
    for sample in metric.samples {
      let name = sample.metric_name.as_deref().unwrap_or(&metric.name);
      // A native histogram's classic samples: none (native) or `_count` and `_sum` only.
      if is_native && (native || name.ends_with("_bucket")) {
        continue;
      }
      out.push(Series {
        labels: labels(name, &sample.labels, extra),
        point: Point::Float(sample.value),
        timestamp,
        start: if kind == MetricType::Gauge {
          0
        } else {
          millis(sample.created)
        },
        metadata: metadata.clone(),
        exemplar: sample.exemplar,
      });
    }
  }
  if native {
    for entry in snapshot.families.iter().filter(|e| e.family.def.native.is_some()) {
      let defaults = snapshot.default_labels_for(&entry.family);
      let metadata = Arc::new(Metadata {
        kind: MetricType::Histogram,
        help: entry.family.def.help.clone(),
      });
      for one in entry.series() {
        let Value::Histogram {
          native: Some(buckets),
          sum,
          ..
        } = snapshot.value(entry, one)
        else {
          continue;
        };
        let own = crate::text::parse_labels(&one.labels);
        let pairs: Vec<(String, String)> = defaults.iter().cloned().chain(own).collect();
        out.push(Series {
          labels: labels(&entry.family.base, &pairs, extra),
          point: Point::Native { buckets, sum },
          timestamp,
          start: millis(entry.created(one)),
          metadata: metadata.clone(),
          exemplar: None,
        });
      }
    }
  }
  out
}

/// The same series with each native histogram replaced by its `_count` and `_sum`, as
/// `series` gives them when native histograms are not sent.
pub fn without_native(all: Vec<Series>) -> Vec<Series> {
  let mut out = Vec::with_capacity(all.len());
  for one in all {
    let Point::Native { buckets, sum } = &one.point else {
      out.push(one);
      continue;
    };
    let count = buckets.count as f64;
    for (suffix, value) in [("_count", count), ("_sum", *sum)] {
      let labels = one
        .labels
        .iter()
        .map(|(name, label)| {
          let value = if name == "__name__" {
            format!("{label}{suffix}")
          } else {
            label.clone()
          };
          (name.clone(), value)
        })
        .collect();
      out.push(Series {
        labels,
        point: Point::Float(value),
        timestamp: one.timestamp,
        start: one.start,
        metadata: one.metadata.clone(),
        exemplar: None,
      });
    }
  }
  out
}

/// `__name__` and a series' labels, then `extra` where it has none of that name;
/// sorted by name, empty values left out (they mean "no such label").
fn labels(name: &str, own: &[(String, String)], extra: &[(String, String)]) -> Vec<(String, String)> {
  let mut labels: Vec<(String, String)> = std::iter::once(("__name__", name))
    .chain(own.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    .filter(|(_, value)| !value.is_empty())
    .map(|(name, value)| (name.into(), value.into()))
    .collect();
  for (name, value) in extra {
    if !value.is_empty() && !labels.iter().any(|(own, _)| own == name) {
      labels.push((name.clone(), value.clone()));
    }
  }
  labels.sort_by(|a, b| a.0.cmp(&b.0));
  labels
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn labels_are_sorted_named_and_never_empty() {
    let own = [
      ("z".to_string(), "1".to_string()),
      ("code".to_string(), String::new()),
    ];
    let extra = [
      ("job".to_string(), "api".to_string()),
      ("z".to_string(), "other".to_string()),
    ];
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
      labels("hits_total", &own, &extra),
      vec![pair("__name__", "hits_total"), pair("job", "api"), pair("z", "1")]
    );
  }
}
