//! A snapshot as a Prometheus remote-write 1.0 `WriteRequest` (`prompb`): every sample
//! the text exposition has, as a series of its own with its full label set (`__name__`
//! included, names sorted, empty values left out) and one sample stamped with the
//! export's time; a native histogram as one histogram sample instead of its classic
//! samples, unless the receiver does not take them, when it sends its `_count` and
//! `_sum` only.

use std::collections::HashSet;

use crate::collect::{Snapshot, Value};
use crate::data::metrics_data;

#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
  #[prost(message, repeated, tag = "1")]
  pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
  #[prost(message, repeated, tag = "1")]
  pub labels: Vec<Label>,
  #[prost(message, repeated, tag = "2")]
  pub samples: Vec<Sample>,
  #[prost(message, repeated, tag = "4")]
  pub histograms: Vec<Histogram>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
  #[prost(string, tag = "1")]
  pub name: String,
  #[prost(string, tag = "2")]
  pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
  #[prost(double, tag = "1")]
  pub value: f64,
  /// Milliseconds since the Unix epoch.
  #[prost(int64, tag = "2")]
  pub timestamp: i64,
}

/// An integer native histogram. `count_int` and `zero_count_int` are members of oneofs
/// whose float members are never sent: optional fields of the same numbers.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
  #[prost(uint64, optional, tag = "1")]
  pub count_int: Option<u64>,
  #[prost(double, tag = "3")]
  pub sum: f64,
  #[prost(sint32, tag = "4")]
  pub schema: i32,
  #[prost(double, tag = "5")]
  pub zero_threshold: f64,
  #[prost(uint64, optional, tag = "6")]
  pub zero_count_int: Option<u64>,
  #[prost(message, repeated, tag = "8")]
  pub negative_spans: Vec<BucketSpan>,
  #[prost(sint64, repeated, tag = "9")]
  pub negative_deltas: Vec<i64>,
  #[prost(message, repeated, tag = "11")]
  pub positive_spans: Vec<BucketSpan>,
  #[prost(sint64, repeated, tag = "12")]
  pub positive_deltas: Vec<i64>,
  #[prost(int64, tag = "15")]
  pub timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
  #[prost(sint32, tag = "1")]
  pub offset: i32,
  #[prost(uint32, tag = "2")]
  pub length: u32,
}

/// Every series of the snapshot, with `extra` labels (the target's `job` and
/// `instance`) added where a series does not have them, at `timestamp` (ms).
/// `native` says whether native histograms go as histograms.
pub fn timeseries(
  snapshot: &Snapshot,
  extra: &[(String, String)],
  timestamp: i64,
  native: bool,
) -> Vec<TimeSeries> {
  let mut out = Vec::new();
  let natives: HashSet<String> = snapshot
    .families
    .iter()
    .filter(|entry| entry.family.def.native.is_some())
    .map(|entry| entry.family.sample_name())
    .collect();
  for metric in metrics_data(snapshot) {
    let is_native = natives.contains(&metric.name);
    for sample in metric.samples {
      let name = sample.metric_name.as_deref().unwrap_or(&metric.name);
      // A native histogram's classic samples: none (native) or `_count` and `_sum` only.
      if is_native && (native || name.ends_with("_bucket")) {
        continue;
      }
      out.push(TimeSeries {
        labels: labels(name, &sample.labels, extra),
        samples: vec![Sample {
          value: sample.value,
          timestamp,
        }],
        histograms: vec![],
      });
    }
  }
  if native {
    for entry in snapshot.families.iter().filter(|e| e.family.def.native.is_some()) {
      let defaults = snapshot.default_labels_for(&entry.family);
      for series in entry.series() {
        let Value::Histogram {
          native: Some(buckets),
          sum,
          ..
        } = snapshot.value(entry, series)
        else {
          continue;
        };
        let own = crate::text::parse_labels(&series.labels);
        let pairs: Vec<(String, String)> = defaults.iter().cloned().chain(own).collect();
        let span = |spans: &[(i32, u32)]| {
          spans
            .iter()
            .map(|&(offset, length)| BucketSpan { offset, length })
            .collect()
        };
        let total = |deltas: &[i64]| {
          let mut count = 0i64;
          deltas
            .iter()
            .map(|d| {
              count += d;
              count.max(0) as u64
            })
            .sum::<u64>()
        };
        out.push(TimeSeries {
          labels: labels(&entry.family.base, &pairs, extra),
          samples: vec![],
          histograms: vec![Histogram {
            count_int: Some(
              buckets.zero_count + total(&buckets.positive.deltas) + total(&buckets.negative.deltas),
            ),
            sum,
            schema: buckets.schema,
            zero_threshold: buckets.zero_threshold,
            zero_count_int: Some(buckets.zero_count),
            negative_spans: span(&buckets.negative.spans),
            negative_deltas: buckets.negative.deltas.clone(),
            positive_spans: span(&buckets.positive.spans),
            positive_deltas: buckets.positive.deltas.clone(),
            timestamp,
          }],
        });
      }
    }
  }
  out
}

/// The same series with each native histogram replaced by its `_count` and `_sum`, as
/// `timeseries` gives them when native histograms are not sent.
pub fn without_native(series: Vec<TimeSeries>) -> Vec<TimeSeries> {
  let mut out = Vec::with_capacity(series.len());
  for one in series {
    if one.histograms.is_empty() {
      out.push(one);
      continue;
    }
    for histogram in &one.histograms {
      let count = histogram.count_int.unwrap_or_default() as f64;
      for (suffix, value) in [("_count", count), ("_sum", histogram.sum)] {
        let labels = one
          .labels
          .iter()
          .map(|label| Label {
            name: label.name.clone(),
            value: if label.name == "__name__" {
              format!("{}{suffix}", label.value)
            } else {
              label.value.clone()
            },
          })
          .collect();
        out.push(TimeSeries {
          labels,
          samples: vec![Sample {
            value,
            timestamp: histogram.timestamp,
          }],
          histograms: vec![],
        });
      }
    }
  }
  out
}

/// `__name__` and a series' labels, then `extra` where it has none of that name;
/// sorted by name, empty values left out (they mean "no such label").
fn labels(name: &str, own: &[(String, String)], extra: &[(String, String)]) -> Vec<Label> {
  let mut labels: Vec<Label> = std::iter::once(("__name__", name))
    .chain(own.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    .filter(|(_, value)| !value.is_empty())
    .map(|(name, value)| Label {
      name: name.into(),
      value: value.into(),
    })
    .collect();
  for (name, value) in extra {
    if !value.is_empty() && !labels.iter().any(|l| &l.name == name) {
      labels.push(Label {
        name: name.clone(),
        value: value.clone(),
      });
    }
  }
  labels.sort_by(|a, b| a.name.cmp(&b.name));
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
    let names: Vec<(String, String)> = labels("hits_total", &own, &extra)
      .into_iter()
      .map(|l| (l.name, l.value))
      .collect();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
      names,
      vec![pair("__name__", "hits_total"), pair("job", "api"), pair("z", "1")]
    );
  }
}
