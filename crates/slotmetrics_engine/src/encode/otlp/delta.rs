//! Delta temporality, one point at a time: a cumulative point becomes what was counted
//! since its series' last acknowledged point (its `Baseline`), rewritten in place.
//! Where baselines are kept, and when they are acknowledged, is the caller's business.
//!
//! Windows chain: a point's start is the time of the last acknowledged point of its
//! series, or the series' start for its first. A series whose start moved (it was
//! reset or removed and counted again) starts a new stream from that start. One whose
//! counts went down without a new start (a process left its group) starts a new stream
//! at an unknown time: a point of 0 whose start is its time, as the data model says,
//! never a negative delta. Points that counted nothing since the last are not sent.

use std::collections::BTreeMap;

use super::model::{Buckets, ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint};

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
  /// Boxed: every series' baseline is as large as the largest kind's.
  Exponential(Box<ExponentialTotals>),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct ExponentialTotals {
  scale: i32,
  count: u64,
  sum: f64,
  zero_count: u64,
  positive: BTreeMap<i32, u64>,
  negative: BTreeMap<i32, u64>,
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

/// Turns a monotonic sum's cumulative `point` into its delta since `previous`; returns
/// the baseline to keep once the receiver acknowledges it, or `None` when there is
/// nothing new to send.
pub fn sum(previous: Option<&Baseline>, point: &mut NumberDataPoint) -> Option<Baseline> {
  let total = point.as_double.unwrap_or_default();
  let (start, time) = (point.start_time_unix_nano, point.time_unix_nano);
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
  let (window_start, restarted) = window_start(window, delta == 0.0, &baseline)?;
  point.start_time_unix_nano = window_start;
  point.as_double = Some(if restarted { 0.0 } else { delta });
  Some(baseline)
}

/// `sum`'s, for a classic histogram's point.
pub fn histogram(previous: Option<&Baseline>, point: &mut HistogramDataPoint) -> Option<Baseline> {
  let (start, time) = (point.start_time_unix_nano, point.time_unix_nano);
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
      sum: point.sum.unwrap_or_default(),
      buckets: point.bucket_counts.clone(),
    },
  };
  let subtracting = matches!(&window, Window::Since(_));
  let nothing_new = subtracting && previous.is_some_and(|b| b.totals == baseline.totals);
  let (window_start, restarted) = window_start(window, nothing_new, &baseline)?;
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
  Some(baseline)
}

/// `sum`'s, for an exponential histogram's point: buckets are subtracted at the lower
/// of the two scales.
pub fn exponential(
  previous: Option<&Baseline>,
  point: &mut ExponentialHistogramDataPoint,
) -> Option<Baseline> {
  let (start, time) = (point.start_time_unix_nano, point.time_unix_nano);
  let totals = Totals::Exponential(Box::new(ExponentialTotals {
    scale: point.scale,
    count: point.count,
    sum: point.sum.unwrap_or_default(),
    zero_count: point.zero_count,
    positive: indexed(point.positive.as_ref()),
    negative: indexed(point.negative.as_ref()),
  }));
  let difference = match previous {
    Some(baseline) if same_start(baseline.start, start) => Some(subtract(&totals, &baseline.totals)),
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
  let (window_start, restarted) = window_start(window, nothing_new, &baseline)?;
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
  Some(baseline)
}

/// Whether two start times are one series' start: a group's processes each hold it as
/// float seconds, which may differ in the last bit (a few hundred nanoseconds).
fn same_start(a: u64, b: u64) -> bool {
  a.abs_diff(b) < 1_000_000
}

/// Where the point's window starts, and whether its series restarted; `None` when
/// there is nothing new to send.
fn window_start(window: Window, nothing_new: bool, baseline: &Baseline) -> Option<(u64, bool)> {
  match window {
    Window::NewStream => Some((baseline.start, false)),
    Window::Since(_) if nothing_new => None,
    Window::Since(end) => Some((end, false)),
    Window::Restarted => Some((baseline.end, true)),
  }
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

/// `now − then` of two exponential histograms, at the lower of their scales; `None` if
/// any count went down.
fn subtract(now: &Totals, then: &Totals) -> Option<ExponentialTotals> {
  let (Totals::Exponential(now), Totals::Exponential(then)) = (now, then) else {
    return None;
  };
  let ExponentialTotals {
    scale,
    count,
    sum,
    zero_count,
    positive,
    negative,
  } = &**now;
  let ExponentialTotals {
    scale: then_scale,
    count: then_count,
    sum: then_sum,
    zero_count: then_zero,
    positive: then_positive,
    negative: then_negative,
  } = &**then;
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
  Some(ExponentialTotals {
    scale: lowest,
    count: count.checked_sub(*then_count)?,
    sum: sum - then_sum,
    zero_count: zero_count.checked_sub(*then_zero)?,
    positive: minus(positive, then_positive)?,
    negative: minus(negative, then_negative)?,
  })
}
