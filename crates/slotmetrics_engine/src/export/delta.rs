//! Delta temporality: each export sends what was counted since the last export the
//! receiver acknowledged, computed from cumulative points and the acknowledged ones.
//!
//! Nothing is queued: a request that fails leaves the acknowledged state as it was, so
//! the next export's deltas cover the failed window too (nothing lost, nothing counted
//! twice), and memory stays one baseline per series however long a receiver is down.
//! Windows chain: a point's start is the time of the last acknowledged point of its
//! series, or the series' start for its first. A series whose start moved (it was
//! reset or removed and counted again) starts a new stream from that start. One whose
//! counts went down without a new start (a process left its group) starts a new stream
//! at an unknown time: a point of 0 whose start is its time, as the data model says,
//! never a negative delta. Points that counted nothing since the last are not sent.

use std::collections::{BTreeMap, HashMap};

use crate::encode::otlp::model::{Buckets, Data, KeyValue, Metric, DELTA};

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

/// What the receiver last acknowledged of a series.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
  /// Start of the cumulative stream the totals count from (the series' start).
  start: u64,
  /// Time of the acknowledged point: the next window's start.
  end: u64,
  totals: Totals,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Totals {
  Sum(f64),
  Histogram {
    count: u64,
    sum: f64,
    buckets: Vec<u64>,
  },
  Exponential {
    scale: i32,
    count: u64,
    sum: f64,
    zero_count: u64,
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
  },
}

/// Baselines to keep once the request carrying their points is acknowledged.
pub type Commit = Vec<(StreamKey, Baseline)>;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct DeltaState {
  acknowledged: HashMap<StreamKey, Baseline>,
}

/// How a cumulative point relates to its series' baseline.
enum Window {
  /// The whole cumulative value, from the series' start.
  NewStream,
  /// The difference, from the last acknowledged point.
  Since(u64),
  /// Counts went down with no new start: a 0 starting at the point's time.
  Restarted,
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
      match metric.data.as_mut() {
        Some(Data::Sum(sum)) if sum.is_monotonic => {
          sum.aggregation_temporality = DELTA;
          sum.data_points.retain_mut(|point| {
            let key = stream_key(name, &point.attributes);
            let total = point.as_double.unwrap_or_default();
            let (start, time) = (point.start_time_unix_nano, point.time_unix_nano);
            let previous = self.acknowledged.get(&key);
            let (window, delta) = match previous {
              Some(Baseline {
                start: s,
                end,
                totals: Totals::Sum(before),
              }) if same_start(*s, start) => {
                if total >= *before {
                  (Window::Since(*end), total - before)
                } else {
                  (Window::Restarted, 0.0)
                }
              }
              _ => (Window::NewStream, total),
            };
            let baseline = Baseline {
              start,
              end: time,
              totals: Totals::Sum(total),
            };
            keep(
              window,
              delta == 0.0,
              key,
              baseline,
              &mut commit,
              |window_start, restarted| {
                point.start_time_unix_nano = window_start;
                point.as_double = Some(if restarted { 0.0 } else { delta });
              },
            )
          });
        }
        Some(Data::Histogram(histogram)) => {
          histogram.aggregation_temporality = DELTA;
          histogram.data_points.retain_mut(|point| {
            let key = stream_key(name, &point.attributes);
            let (start, time) = (point.start_time_unix_nano, point.time_unix_nano);
            let sum = point.sum.unwrap_or_default();
            let previous = self.acknowledged.get(&key);
            let window = match previous {
              Some(Baseline {
                start: s,
                end,
                totals: Totals::Histogram { count, buckets, .. },
              }) if same_start(*s, start) && buckets.len() == point.bucket_counts.len() => {
                if point.count >= *count
                  && point
                    .bucket_counts
                    .iter()
                    .zip(buckets)
                    .all(|(now, then)| now >= then)
                {
                  Window::Since(*end)
                } else {
                  Window::Restarted
                }
              }
              _ => Window::NewStream,
            };
            let baseline = Baseline {
              start,
              end: time,
              totals: Totals::Histogram {
                count: point.count,
                sum,
                buckets: point.bucket_counts.clone(),
              },
            };
            let subtracting = matches!(&window, Window::Since(_));
            let nothing_new = subtracting && previous.is_some_and(|b| b.totals == baseline.totals);
            keep(
              window,
              nothing_new,
              key,
              baseline,
              &mut commit,
              |window_start, restarted| {
                point.start_time_unix_nano = window_start;
                match (restarted, previous) {
                  (true, _) => {
                    point.count = 0;
                    point.sum = Some(0.0);
                    point.bucket_counts.iter_mut().for_each(|c| *c = 0);
                    point.exemplars.clear();
                  }
                  (
                    false,
                    Some(Baseline {
                      totals: Totals::Histogram { count, sum, buckets },
                      ..
                    }),
                  ) if subtracting => {
                    point.count -= count;
                    point.sum = Some(point.sum.unwrap_or_default() - sum);
                    for (now, then) in point.bucket_counts.iter_mut().zip(buckets) {
                      *now -= then;
                    }
                  }
                  _ => {}
                }
              },
            )
          });
        }
        Some(Data::ExponentialHistogram(histogram)) => {
          histogram.aggregation_temporality = DELTA;
          histogram.data_points.retain_mut(|point| {
            let key = stream_key(name, &point.attributes);
            let (start, time) = (point.start_time_unix_nano, point.time_unix_nano);
            let totals = Totals::Exponential {
              scale: point.scale,
              count: point.count,
              sum: point.sum.unwrap_or_default(),
              zero_count: point.zero_count,
              positive: indexed(point.positive.as_ref()),
              negative: indexed(point.negative.as_ref()),
            };
            let previous = self.acknowledged.get(&key);
            let difference = match previous {
              Some(baseline) if same_start(baseline.start, start) => {
                Some(subtract(&totals, &baseline.totals))
              }
              _ => None,
            };
            let window = match (previous, &difference) {
              (Some(baseline), Some(Some(_))) => Window::Since(baseline.end),
              (Some(_), Some(None)) => Window::Restarted,
              _ => Window::NewStream,
            };
            let nothing_new = matches!(&difference, Some(Some(d)) if d.count == 0 && d.sum == 0.0);
            let baseline = Baseline {
              start,
              end: time,
              totals,
            };
            keep(
              window,
              nothing_new,
              key,
              baseline,
              &mut commit,
              |window_start, restarted| {
                point.start_time_unix_nano = window_start;
                if restarted {
                  point.count = 0;
                  point.sum = Some(0.0);
                  point.zero_count = 0;
                  point.positive = None;
                  point.negative = None;
                } else if let Some(Some(d)) = difference {
                  point.scale = d.scale;
                  point.count = d.count;
                  point.sum = Some(d.sum);
                  point.zero_count = d.zero_count;
                  point.positive = buckets(&d.positive);
                  point.negative = buckets(&d.negative);
                }
              },
            )
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

/// Whether two start times are one series' start: a group's processes each hold it as
/// float seconds, which may differ in the last bit (a few hundred nanoseconds).
fn same_start(a: u64, b: u64) -> bool {
  a.abs_diff(b) < 1_000_000
}

/// Rewrites a point for its window (by `rewrite(window start, restarted)`) and records
/// its baseline, or drops it when there is nothing new; returns whether it stays.
fn keep(
  window: Window,
  nothing_new: bool,
  key: StreamKey,
  baseline: Baseline,
  commit: &mut Commit,
  rewrite: impl FnOnce(u64, bool),
) -> bool {
  let (window_start, restarted) = match window {
    Window::NewStream => (baseline.start, false),
    Window::Since(_) if nothing_new => return false,
    Window::Since(end) => (end, false),
    Window::Restarted => (baseline.end, true),
  };
  rewrite(window_start, restarted);
  commit.push((key, baseline));
  true
}

/// Dense buckets as index → count (OTLP's lower-bound indexes).
fn indexed(buckets: Option<&Buckets>) -> BTreeMap<i32, u64> {
  buckets.map_or_else(BTreeMap::new, |b| {
    b.bucket_counts
      .iter()
      .enumerate()
      .filter(|(_, count)| **count > 0)
      .map(|(i, count)| (b.offset + i as i32, *count))
      .collect()
  })
}

/// Index → count as dense buckets.
fn buckets(counts: &BTreeMap<i32, u64>) -> Option<Buckets> {
  let (&first, _) = counts.first_key_value()?;
  let (&last, _) = counts.last_key_value()?;
  let mut bucket_counts = vec![0; (last - first + 1) as usize];
  for (index, count) in counts {
    bucket_counts[(index - first) as usize] = *count;
  }
  Some(Buckets {
    offset: first,
    bucket_counts,
  })
}

/// Buckets at a scale `by` lower: OTLP bucket `i` is within bucket `i >> by`.
fn downscaled(counts: &BTreeMap<i32, u64>, by: i32) -> BTreeMap<i32, u64> {
  let mut out = BTreeMap::new();
  for (index, count) in counts {
    *out.entry(index >> by).or_insert(0) += count;
  }
  out
}

struct Difference {
  scale: i32,
  count: u64,
  sum: f64,
  zero_count: u64,
  positive: BTreeMap<i32, u64>,
  negative: BTreeMap<i32, u64>,
}

/// `now − then` of two exponential histograms, at the lower of their scales; `None` if
/// any count went down.
fn subtract(now: &Totals, then: &Totals) -> Option<Difference> {
  let (
    Totals::Exponential {
      scale,
      count,
      sum,
      zero_count,
      positive,
      negative,
    },
    Totals::Exponential {
      scale: then_scale,
      count: then_count,
      sum: then_sum,
      zero_count: then_zero,
      positive: then_positive,
      negative: then_negative,
    },
  ) = (now, then)
  else {
    return None;
  };
  let lowest = (*scale).min(*then_scale);
  let minus = |now: &BTreeMap<i32, u64>, then: &BTreeMap<i32, u64>| {
    let (mut now, then) = (
      downscaled(now, scale - lowest),
      downscaled(then, then_scale - lowest),
    );
    for (index, count) in then {
      let cell = now.get_mut(&index)?;
      *cell = cell.checked_sub(count)?;
    }
    now.retain(|_, count| *count > 0);
    Some(now)
  };
  Some(Difference {
    scale: lowest,
    count: count.checked_sub(*then_count)?,
    sum: sum - then_sum,
    zero_count: zero_count.checked_sub(*then_zero)?,
    positive: minus(positive, then_positive)?,
    negative: minus(negative, then_negative)?,
  })
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::encode::otlp::model::{
    ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, CUMULATIVE,
  };

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
}
