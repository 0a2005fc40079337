//! Delta temporality for exports that build messages (OTLP/JSON, and every delta export
//! of a group, whose baselines the next exporter takes over by stream): each export
//! sends what was counted since the last export the receiver acknowledged, worked out
//! point by point (`encode::otlp::delta`) against the acknowledged baselines kept here.
//!
//! Nothing is queued: a request that fails leaves the acknowledged state as it was, so
//! the next export's deltas cover the failed window too (nothing lost, nothing counted
//! twice), and memory stays one baseline per series however long a receiver is down.

use std::collections::HashMap;

use crate::encode::otlp::delta::{self, Baseline};
use crate::encode::otlp::model::{Data, KeyValue, Metric, DELTA};

/// A series' stream: its metric's name and its attributes.
type StreamKey = String;

fn stream_key(name: &str, attributes: &[KeyValue]) -> StreamKey {
  let mut key = String::from(name);
  for attribute in attributes {
    key.push('\u{0}');
    key.push_str(&attribute.key);
    key.push('\u{1}');
    if let Some(value) = attribute.value.as_ref().and_then(|v| v.string_value.as_deref()) {
      key.push_str(value);
    }
  }
  key
}

/// Baselines to keep once the request carrying their points is acknowledged.
pub type Commit = Vec<(StreamKey, Baseline)>;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct DeltaState {
  acknowledged: HashMap<StreamKey, Baseline>,
}

impl DeltaState {
  /// Turns the cumulative sums and histograms of `metrics` into deltas, in place,
  /// leaving out the metrics named in `keep_cumulative` and points with nothing new;
  /// returns the baselines to commit when the receiver acknowledges them.
  pub fn to_delta(&self, metrics: &mut Vec<Metric>, keep_cumulative: &dyn Fn(&str) -> bool) -> Commit {
    let mut commit = Commit::new();
    for metric in metrics.iter_mut() {
      if keep_cumulative(&metric.name) {
        continue;
      }
      let name = metric.name.as_str();
      let acknowledged = &self.acknowledged;
      let commit = &mut commit;
      match metric.data.as_mut() {
        Some(Data::Sum(sum)) if sum.is_monotonic => {
          sum.aggregation_temporality = DELTA;
          sum.data_points.retain_mut(|point| {
            let key = stream_key(name, &point.attributes);
            let baseline = delta::sum(acknowledged.get(&key), point);
            keep(commit, key, baseline)
          });
        }
        Some(Data::Histogram(histogram)) => {
          histogram.aggregation_temporality = DELTA;
          histogram.data_points.retain_mut(|point| {
            let key = stream_key(name, &point.attributes);
            let baseline = delta::histogram(acknowledged.get(&key), point);
            keep(commit, key, baseline)
          });
        }
        Some(Data::ExponentialHistogram(histogram)) => {
          histogram.aggregation_temporality = DELTA;
          histogram.data_points.retain_mut(|point| {
            let key = stream_key(name, &point.attributes);
            let baseline = delta::exponential(acknowledged.get(&key), point);
            keep(commit, key, baseline)
          });
        }
        _ => {}
      }
    }
    metrics.retain(|metric| metric.data.as_ref().is_some_and(|data| !data.is_empty()));
    commit
  }

  /// The state kept at `path` by the group's previous exporter; empty if there is none
  /// or it cannot be read (every series then starts a new stream from its start).
  pub fn load(path: &std::path::Path) -> DeltaState {
    std::fs::read(path)
      .ok()
      .and_then(|bytes| serde_json::from_slice(&bytes).ok())
      .unwrap_or_default()
  }

  /// The state as `load` reads it.
  pub fn to_bytes(&self) -> Vec<u8> {
    serde_json::to_vec(self).expect("baselines serialize to JSON")
  }

  /// Keeps the baselines of an acknowledged request (or of one refused for good, whose
  /// points must not be sent again).
  pub fn commit(&mut self, commit: Commit) {
    self.acknowledged.extend(commit);
  }
}

/// Records a rewritten point's baseline for the commit; returns whether the point is
/// sent (it has something new).
fn keep(commit: &mut Commit, key: StreamKey, baseline: Option<Baseline>) -> bool {
  let kept = baseline.is_some();
  commit.extend(baseline.map(|baseline| (key, baseline)));
  kept
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::collect::Snapshot;
  use crate::encode::otlp::direct::testing::{decoded, define, origin};
  use crate::encode::otlp::direct::{requests, SeriesCache};
  use crate::encode::otlp::model::{
    Buckets, ExponentialHistogramDataPoint, ExportMetricsServiceRequest, HistogramDataPoint, NumberDataPoint,
    CUMULATIVE,
  };
  use crate::encode::otlp::{metrics, split};
  use crate::encode::testing::{add, set_shared};
  use crate::registry::Registry;

  fn counter(total: f64, start: u64, time: u64) -> Vec<Metric> {
    vec![Metric {
      name: "hits_total".into(),
      data: Some(Data::Sum(crate::encode::otlp::model::Sum {
        data_points: vec![NumberDataPoint {
          start_time_unix_nano: start,
          time_unix_nano: time,
          as_double: Some(total),
          attributes: vec![KeyValue::new("k", "v")],
          ..Default::default()
        }],
        aggregation_temporality: CUMULATIVE,
        is_monotonic: true,
      })),
      ..Default::default()
    }]
  }

  /// (start, time, value) of the one point left, if any.
  fn sum_point(metrics: &[Metric]) -> Option<(u64, u64, f64)> {
    let Some(Data::Sum(sum)) = metrics.first()?.data.as_ref() else {
      panic!("a sum")
    };
    assert_eq!(sum.aggregation_temporality, DELTA);
    let p = &sum.data_points[0];
    Some((p.start_time_unix_nano, p.time_unix_nano, p.as_double.unwrap()))
  }

  /// Converts, acknowledges, and returns what was sent.
  fn send(state: &mut DeltaState, mut metrics: Vec<Metric>, acknowledged: bool) -> Vec<Metric> {
    let commit = state.to_delta(&mut metrics, &|_| false);
    if acknowledged {
      state.commit(commit);
    }
    metrics
  }

  #[test]
  fn windows_chain_and_a_failed_window_merges_into_the_next() {
    let mut state = DeltaState::default();
    assert_eq!(
      sum_point(&send(&mut state, counter(5.0, 10, 100), true)),
      Some((10, 100, 5.0))
    );
    assert_eq!(
      sum_point(&send(&mut state, counter(8.0, 10, 200), true)),
      Some((100, 200, 3.0))
    );
    // Not acknowledged: the next window starts where the acknowledged one ended.
    assert_eq!(
      sum_point(&send(&mut state, counter(9.0, 10, 300), false)),
      Some((200, 300, 1.0))
    );
    assert_eq!(
      sum_point(&send(&mut state, counter(12.0, 10, 400), true)),
      Some((200, 400, 4.0))
    );
    // Nothing new: not sent, and the window goes on.
    assert_eq!(sum_point(&send(&mut state, counter(12.0, 10, 500), true)), None);
    assert_eq!(
      sum_point(&send(&mut state, counter(13.0, 10, 600), true)),
      Some((400, 600, 1.0))
    );
  }

  #[test]
  fn a_restarted_series_starts_a_new_stream_and_nothing_goes_negative() {
    const MS: u64 = 1_000_000;
    let mut state = DeltaState::default();
    send(&mut state, counter(5.0, 10 * MS, 100 * MS), true);
    // Reset at 150 ms and counted 2 since: a new stream from its new start.
    assert_eq!(
      sum_point(&send(&mut state, counter(2.0, 150 * MS, 200 * MS), true)),
      Some((150 * MS, 200 * MS, 2.0))
    );
    // Down with the same start (a process left the group): 0, from an unknown time.
    assert_eq!(
      sum_point(&send(&mut state, counter(1.0, 150 * MS, 300 * MS), true)),
      Some((300 * MS, 300 * MS, 0.0))
    );
    assert_eq!(
      sum_point(&send(&mut state, counter(4.0, 150 * MS, 400 * MS), true)),
      Some((300 * MS, 400 * MS, 3.0))
    );
    // A start a few hundred nanoseconds off (another process's float seconds) is the same series'.
    assert_eq!(
      sum_point(&send(&mut state, counter(6.0, 150 * MS + 256, 500 * MS), true)),
      Some((400 * MS, 500 * MS, 2.0))
    );
  }

  fn histogram(buckets: Vec<u64>, sum: f64, time: u64) -> Vec<Metric> {
    vec![Metric {
      name: "latency".into(),
      data: Some(Data::Histogram(crate::encode::otlp::model::Histogram {
        data_points: vec![HistogramDataPoint {
          start_time_unix_nano: 1,
          time_unix_nano: time,
          count: buckets.iter().sum(),
          sum: Some(sum),
          bucket_counts: buckets,
          explicit_bounds: vec![1.0],
          ..Default::default()
        }],
        aggregation_temporality: CUMULATIVE,
      })),
      ..Default::default()
    }]
  }

  #[test]
  fn histograms_send_each_buckets_difference() {
    let mut state = DeltaState::default();
    send(&mut state, histogram(vec![1, 2], 10.0, 100), true);
    let sent = send(&mut state, histogram(vec![4, 2], 11.5, 200), true);
    let Some(Data::Histogram(h)) = &sent[0].data else {
      panic!()
    };
    let p = &h.data_points[0];
    assert_eq!(
      (p.start_time_unix_nano, p.count, p.sum, &p.bucket_counts),
      (100, 3, Some(1.5), &vec![3, 0])
    );
    let sent = send(&mut state, histogram(vec![1, 0], 1.0, 300), true);
    let Some(Data::Histogram(h)) = &sent[0].data else {
      panic!()
    };
    assert_eq!(
      (h.data_points[0].count, h.data_points[0].start_time_unix_nano),
      (0, 300),
      "counts went down"
    );
  }

  fn exponential(scale: i32, offset: i32, counts: Vec<u64>, time: u64) -> Vec<Metric> {
    vec![Metric {
      name: "native".into(),
      data: Some(Data::ExponentialHistogram(
        crate::encode::otlp::model::ExponentialHistogram {
          data_points: vec![ExponentialHistogramDataPoint {
            start_time_unix_nano: 1,
            time_unix_nano: time,
            count: counts.iter().sum(),
            sum: Some(counts.iter().sum::<u64>() as f64),
            scale,
            positive: Some(Buckets {
              offset,
              bucket_counts: counts,
            }),
            ..Default::default()
          }],
          aggregation_temporality: CUMULATIVE,
        },
      )),
      ..Default::default()
    }]
  }

  #[test]
  fn exponential_histograms_subtract_at_the_lower_scale() {
    let mut state = DeltaState::default();
    // Scale 1: buckets 4 and 5 (1 each); then the series drops to scale 0 with both in
    // bucket 2 plus one more observation in bucket 3.
    send(&mut state, exponential(1, 4, vec![1, 1], 100), true);
    let sent = send(&mut state, exponential(0, 2, vec![2, 1], 200), true);
    let Some(Data::ExponentialHistogram(h)) = &sent[0].data else {
      panic!()
    };
    let p = &h.data_points[0];
    assert_eq!((p.scale, p.count, p.start_time_unix_nano), (0, 1, 100));
    assert_eq!(
      p.positive,
      Some(Buckets {
        offset: 3,
        bucket_counts: vec![1]
      })
    );
  }

  #[test]
  fn the_direct_writer_sends_the_message_path_s_deltas() {
    let r = Registry::new();
    let stripe = r.striped.attach().unwrap();
    let (jobs, depth, latency) = define(&r);
    let origin = origin();
    let (mut state, mut cache) = (DeltaState::default(), SeriesCache::default());
    for export in 0..7u32 {
      for i in 0..30u32 {
        let queue = format!("q{i}");
        // A third of the series count nothing new in each export.
        if (i + export) % 3 != 0 {
          add(
            &r,
            stripe,
            r.series(jobs, &[&queue]).unwrap().slot(),
            f64::from(i + export),
          );
          add(&r, stripe, r.series(latency, &[&queue]).unwrap().slot(), 1.0);
        }
        set_shared(&r, r.series(depth, &[&queue]).unwrap().slot(), u64::from(export));
      }
      match export {
        // The series after it move up a place.
        2 => r.remove_series(jobs, &["q3"]).unwrap(),
        // New series, and the removed one counting again: new streams.
        4 => {
          for queue in ["q3", "q30", "q31"] {
            add(&r, stripe, r.series(jobs, &[queue]).unwrap().slot(), 7.0);
          }
        }
        _ => {}
      }
      let namespace = r.namespace(crate::registry::DEFAULT_NAMESPACE).unwrap();
      let snapshot = Snapshot::take(&r, &namespace).unwrap();
      let now = 10.0 + f64::from(export);
      let mut messages = metrics(&snapshot, now);
      let commit = state.to_delta(&mut messages, &|_| false);
      let sent: Vec<ExportMetricsServiceRequest> = split(messages, 7, usize::MAX)
        .into_iter()
        .map(|group| origin.request(group))
        .collect();
      let direct = requests(&snapshot, &origin, now, &mut cache, (7, usize::MAX), &|_| true);
      assert_eq!(decoded(&direct), sent, "export {export}");
      assert!(direct.iter().all(|r| r.baselines.len() <= r.points));
      // Export 3's requests fail: the next carries their counts.
      if export != 3 {
        state.commit(commit);
        for request in direct {
          cache.acknowledge(request.baselines);
        }
      }
    }
  }
}
