//! Summaries: quantiles of the observations of a recent time window, estimated with
//! t-digests (the `tdigest` crate), as prom-client's Summary gives them.
//!
//! A summary's count and sum live in striped slots like a histogram's; its digest
//! cannot (it is not a sum over threads), so every observation also reaches its
//! series' [`Window`] through its thread's ring (`rings`), drained on the registry's
//! own thread.
//!
//! prom-client keeps `ageBuckets` digests, pushes each observation into all of them,
//! replaces the oldest every `maxAgeSeconds / ageBuckets` and reads the oldest. The
//! same window here takes each observation once: a digest per period, the last
//! `ageBuckets - 1` periods kept sealed, merged with the current one when read. A
//! window holds observations until it has `PENDING_MAX` or is read, then merges them
//! into its digest at once. Periods turn on the engine's [`clock`](crate::clock), at
//! the instants prom-client's turn.
//!
//! prom-client's quantiles are the `tdigest` package's: observations of one value are
//! one centroid, and a quantile interpolates between centroids' middle ranks
//! ([`js_tdigest_quantile`]). Up to 200 observations that package keeps every distinct
//! value as its own centroid, as the digests here do, so prom-client's summaries give
//! its figures exactly there.
//!
//! In a multi-process group each process publishes its windows' digests now and then
//! (`encode_digests`), and a read merges the live processes' digests with its own.

use std::collections::VecDeque;
use std::time::Duration;

use tdigest::{Centroid, TDigest};

use crate::clock;
use crate::kind::Style;

/// Observations a window holds before it merges them into its digest at once, sorted:
/// the digest's own `push` sorts 2,000 at a time with `f64::total_cmp`; 2,048 sorted as
/// integers (`sort_key`) cost the draining thread 14.7 ns an observation instead of 20
/// on the peers benchmark's values, 18.4 instead of 31 on values that do not repeat.
/// The buffer grows as observations come (16 KiB at most, which `push` reserved at the
/// first).
const PENDING_MAX: usize = 2048;

/// Centroids a digest keeps. This crate's scale gives the median's centroids 2% of
/// the observations each at 100 (prom-client's `tdigest` caps them near 1%, and keeps
/// ~750 centroids over 1M values): sorted runs of four threads, drained one after
/// another, put its median 56 ranks in 4,000 off, prom-client's 21. At 400, 6 (the
/// push costs the same; 6.4 KB of centroids per digest).
const DIGEST_SIZE: usize = 400;

/// How a summary's quantiles are computed: which, and over what time.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SummaryOptions {
  /// The quantiles exposed, in this order, each in [0, 1].
  pub quantiles: Vec<f64>,
  /// `None`: quantiles of every observation since the series started.
  pub window: Option<SlidingWindow>,
  /// A series whose window holds no observation is removed at the next read
  /// (prom-client's `pruneAgedBuckets`).
  pub prune_empty: bool,
}

/// Quantiles over the last `max_age`, forgotten `max_age / age_buckets` at a time.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SlidingWindow {
  pub max_age: Duration,
  pub age_buckets: u32,
}

/// What a quantile of an empty window is written as: NaN, as Prometheus' own clients
/// write it, but 0 in prom-client's style, as prom-client writes it.
pub fn empty_quantile(style: Style) -> f64 {
  match style {
    Style::Standard => f64::NAN,
    Style::PromClient => 0.0,
  }
}

/// The digests of one summary series.
pub struct Window {
  current: TDigest,
  /// Observations of the current period not in `current` yet, as `sort_key`s.
  pending: Vec<u64>,
  /// The last `age_buckets - 1` whole periods, oldest first.
  sealed: VecDeque<TDigest>,
  window: Option<SlidingWindow>,
  /// When the current period started, in ms on the engine's clock; NaN until the
  /// window's first observation.
  period_start: f64,
}

impl Window {
  /// A window whose first period starts at its first observation.
  pub fn new(window: Option<SlidingWindow>) -> Window {
    Window {
      current: TDigest::new_with_size(DIGEST_SIZE),
      pending: Vec::new(),
      sealed: VecDeque::new(),
      window,
      period_start: f64::NAN,
    }
  }

  /// A window whose first period starts now.
  pub fn started(window: Option<SlidingWindow>) -> Window {
    Window {
      period_start: clock::now_ms(),
      ..Window::new(window)
    }
  }

  /// Adds one observation now (tests; drains use `observe_at`).
  #[cfg(test)]
  pub(crate) fn observe(&mut self, value: f64) {
    self.observe_at(clock::now_ms(), value);
  }

  /// Adds an observation at `now` (ms): a drain reads the clock once for all its entries.
  pub fn observe_at(&mut self, now: f64, value: f64) {
    if self.period_start.is_nan() {
      self.period_start = now;
    }
    self.rotate(now);
    self.pending.push(sort_key(value));
    if self.pending.len() >= PENDING_MAX {
      self.merge_pending();
    }
  }

  /// One digest of the observations in the window (empty if there are none).
  pub fn digest(&mut self) -> TDigest {
    self.rotate(clock::now_ms());
    self.merge_pending();
    if self.sealed.is_empty() {
      self.current.clone()
    } else {
      TDigest::merge_digests(self.sealed.iter().chain([&self.current]).cloned().collect())
    }
  }

  /// Forgets every observation; the periods go on turning when they did (prom-client's
  /// `reset()`).
  pub fn reset(&mut self) {
    *self = Window {
      period_start: self.period_start,
      ..Window::new(self.window)
    };
  }

  /// Starts the periods due by `now` (ms): the current one is sealed, and sealed ones
  /// older than the window are dropped. As prom-client, a period ends once more than
  /// its length has passed since it started (at exactly its length, not yet), and the
  /// next starts where it ended.
  fn rotate(&mut self, now: f64) {
    let Some(window) = self.window else { return };
    let period = window.max_age.as_secs_f64() * 1000.0 / f64::from(window.age_buckets);
    let elapsed = now - self.period_start;
    // Also no period yet (NaN: not started), or one of no length.
    let turned = elapsed > period && period > 0.0;
    if !turned {
      return;
    }
    let due = ((elapsed / period).ceil() - 1.0).max(1.0);
    let keep = window.age_buckets as usize - 1;
    // What is pending belongs to the period that ends first.
    self.merge_pending();
    // After a long pause only the periods still in the window matter.
    for _ in 0..(due as u64).min(keep as u64 + 1) {
      let sealed = std::mem::replace(&mut self.current, TDigest::new_with_size(DIGEST_SIZE));
      self.sealed.push_back(sealed);
      if self.sealed.len() > keep {
        self.sealed.pop_front();
      }
    }
    self.period_start += due * period;
  }

  /// Merges the pending observations into the current digest, sorted.
  fn merge_pending(&mut self) {
    if self.pending.is_empty() {
      return;
    }
    self.pending.sort_unstable();
    let sorted = self.pending.drain(..).map(value_of_key).collect();
    self.current = self.current.merge_sorted(sorted);
  }
}

/// `value`'s bits as an integer that sorts as the value does (negative values' bits
/// reversed, below the positive ones'): the order of `f64::total_cmp`, which a sort of
/// integers follows 1.5 times as fast.
fn sort_key(value: f64) -> u64 {
  let bits = value.to_bits();
  if bits >> 63 == 1 {
    !bits
  } else {
    bits | 1 << 63
  }
}

/// The value whose `sort_key` is `key`.
fn value_of_key(key: u64) -> f64 {
  f64::from_bits(if key >> 63 == 1 { key & !(1 << 63) } else { !key })
}

/// The quantiles of the observations of several digests (flushed: a window's, or
/// decoded), or `None` if they have none. prom-client's summaries take them as its
/// `tdigest` package does.
pub fn quantiles_of(digests: Vec<TDigest>, quantiles: &[f64], style: Style) -> Option<Vec<f64>> {
  let digests: Vec<TDigest> = digests.into_iter().filter(|d| !d.is_empty()).collect();
  let digest = match digests.len() {
    0 => return None,
    1 => digests.into_iter().next()?,
    _ => TDigest::merge_digests(digests),
  };
  if style == Style::PromClient {
    let centroids = distinct_centroids(&digest);
    return Some(
      quantiles
        .iter()
        .map(|&q| js_tdigest_quantile(&centroids, digest.count(), q))
        .collect(),
    );
  }
  // Every digest here is flushed and not empty, so each quantile has an estimate.
  Some(
    digest
      .quantiles(quantiles)
      .into_iter()
      .map(|q| q.unwrap_or(f64::NAN))
      .collect(),
  )
}

/// A digest's centroids as (mean, weight), those of one mean made one, as the
/// `tdigest` package keeps observations of one value.
fn distinct_centroids(digest: &TDigest) -> Vec<(f64, f64)> {
  let mut centroids: Vec<(f64, f64)> = Vec::with_capacity(digest.centroids().len());
  for centroid in digest.centroids() {
    match centroids.last_mut() {
      Some((mean, weight)) if *mean == centroid.mean() => *weight += centroid.weight(),
      _ => centroids.push((centroid.mean(), centroid.weight())),
    }
  }
  centroids
}

/// The `tdigest` package's `percentile(q)` over centroids sorted by mean, of `count`
/// observations in all: the rank `count * q` falls between two centroids' middle ranks
/// (the observations before a centroid plus half its own), and the quantile is
/// interpolated between their means; below the first or past the last, that one's mean.
fn js_tdigest_quantile(centroids: &[(f64, f64)], count: f64, q: f64) -> f64 {
  let rank = count * q;
  let mut before = 0.0;
  let mut lower: Option<(f64, f64)> = None;
  for &(mean, weight) in centroids {
    let middle = before + weight / 2.0;
    before += weight;
    if middle == rank {
      return mean;
    }
    if middle > rank {
      return match lower {
        None => mean,
        Some((lower_mean, lower_middle)) => {
          lower_mean + (rank - lower_middle) * (mean - lower_mean) / (middle - lower_middle)
        }
      };
    }
    lower = Some((mean, middle));
  }
  lower.map_or(f64::NAN, |(mean, _)| mean)
}

/// Digests by first slot, as one process of a group publishes them for the others:
/// for each, the slot and centroid count (u32), then count, sum, min and max, then
/// each centroid's mean and weight (f64), all little-endian. Not empty digests only.
pub fn encode_digests(digests: &[(u32, TDigest)]) -> Vec<u8> {
  let mut bytes = Vec::new();
  for (slot, digest) in digests {
    let centroids = digest.centroids();
    bytes.extend_from_slice(&slot.to_le_bytes());
    bytes.extend_from_slice(&(centroids.len() as u32).to_le_bytes());
    let (min, max) = (digest.min().unwrap_or(0.0), digest.max().unwrap_or(0.0));
    for value in [digest.count(), digest.sum(), min, max] {
      bytes.extend_from_slice(&value.to_le_bytes());
    }
    for centroid in centroids {
      bytes.extend_from_slice(&centroid.mean().to_le_bytes());
      bytes.extend_from_slice(&centroid.weight().to_le_bytes());
    }
  }
  bytes
}

/// The digests `encode_digests` wrote, or `None` for bytes it did not write.
pub fn decode_digests(mut bytes: &[u8]) -> Option<Vec<(u32, TDigest)>> {
  fn u32_at(bytes: &mut &[u8]) -> Option<u32> {
    let (word, rest) = bytes.split_first_chunk::<4>()?;
    *bytes = rest;
    Some(u32::from_le_bytes(*word))
  }
  fn f64_at(bytes: &mut &[u8]) -> Option<f64> {
    let (word, rest) = bytes.split_first_chunk::<8>()?;
    *bytes = rest;
    Some(f64::from_le_bytes(*word))
  }
  let mut digests = Vec::new();
  while !bytes.is_empty() {
    let slot = u32_at(&mut bytes)?;
    let count = u32_at(&mut bytes)? as usize;
    let [total, sum, min, max] = [(); 4].map(|_| f64_at(&mut bytes));
    let centroids = (0..count)
      .map(|_| Some(Centroid::new(f64_at(&mut bytes)?, f64_at(&mut bytes)?)))
      .collect::<Option<Vec<_>>>()?;
    if centroids.is_empty() || !(min?.is_finite() && max?.is_finite()) {
      return None;
    }
    let digest = TDigest::new(centroids, sum?, total?, max, min, DIGEST_SIZE);
    digests.push((slot, digest));
  }
  Some(digests)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn quantiles(window: &mut Window, quantiles: &[f64]) -> Option<Vec<f64>> {
    quantiles_of(vec![window.digest()], quantiles, Style::Standard)
  }

  #[test]
  fn published_digests_read_back_and_merge() {
    let (mut low, mut high) = (Window::new(None), Window::new(None));
    for v in 1..=100 {
      low.observe(v as f64);
      high.observe(100.0 + v as f64);
    }
    let bytes = encode_digests(&[(7, low.digest()), (9, high.digest())]);
    let decoded = decode_digests(&bytes).unwrap();
    assert_eq!(decoded.iter().map(|(slot, _)| *slot).collect::<Vec<_>>(), [7, 9]);
    assert_eq!(decoded[1].1.count(), 100.0);
    let digests = decoded.into_iter().map(|(_, d)| d).collect();
    let [median, top] = quantiles_of(digests, &[0.5, 1.0], Style::Standard).unwrap()[..] else {
      panic!("two quantiles")
    };
    assert!((median - 100.5).abs() < 2.0, "the median of 1..=200: {median}");
    assert_eq!(top, 200.0);
    assert_eq!(decode_digests(&bytes[..bytes.len() - 3]), None, "cut short");
    assert_eq!(
      quantiles_of(vec![Window::new(None).digest()], &[0.5], Style::PromClient),
      None
    );
  }

  #[test]
  fn sort_keys_order_values_as_total_cmp_and_give_them_back() {
    let mut values = vec![
      -f64::MAX,
      -1.5,
      -f64::MIN_POSITIVE,
      -0.0,
      0.0,
      f64::from_bits(1),
      1e-300,
      0.1,
      1.0,
      2.5e10,
      f64::MAX,
    ];
    let expected = values.clone();
    values.reverse();
    let mut keys: Vec<u64> = values.iter().map(|v| sort_key(*v)).collect();
    keys.sort_unstable();
    let back: Vec<u64> = keys.into_iter().map(|k| value_of_key(k).to_bits()).collect();
    assert_eq!(back, expected.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
  }

  #[test]
  fn more_observations_than_a_window_holds_pending_reach_its_digest() {
    let mut w = Window::new(None);
    let n = 3 * PENDING_MAX + 5;
    for i in 0..n {
      w.observe((n - i) as f64);
    }
    assert!(w.pending.len() < PENDING_MAX, "merged as they came");
    let digest = w.digest();
    assert!(w.pending.is_empty());
    assert_eq!(
      (digest.count(), digest.min(), digest.max()),
      (n as f64, Some(1.0), Some(n as f64))
    );
    assert_eq!(digest.sum(), (n * (n + 1) / 2) as f64);
  }

  #[test]
  fn quantiles_interpolate_between_observations() {
    let mut w = Window::new(None);
    assert_eq!(quantiles(&mut w, &[0.5]), None);
    for v in 1..=10 {
      w.observe(v as f64);
    }
    assert_eq!(
      quantiles(&mut w, &[0.01, 0.5, 0.9, 0.999]),
      Some(vec![1.0, 5.5, 9.5, 10.0])
    );
    w.reset();
    assert_eq!(quantiles(&mut w, &[0.5]), None);
  }

  #[test]
  fn large_inputs_keep_quantiles_within_a_percent() {
    let mut w = Window::new(None);
    // A shuffled 0..100_000 (7919 is prime to it).
    for i in 0..100_000u64 {
      w.observe(((i * 7919) % 100_000) as f64);
    }
    let q = quantiles(&mut w, &[0.5, 0.9, 0.99]).unwrap();
    for (estimate, exact) in q.iter().zip([50_000.0, 90_000.0, 99_000.0]) {
      assert!((estimate - exact).abs() < 1_000.0, "{estimate} vs {exact}");
    }
  }

  #[test]
  fn sorted_runs_from_several_threads_keep_the_median_within_half_a_percent() {
    // Each thread's ring is drained whole, so a digest sees one sorted run per thread,
    // in any order, and sometimes runs cut where a drain found them.
    let orders = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]];
    for order in orders {
      for run in [1000, 500, 333, 100, 7] {
        let mut w = Window::new(None);
        let mut next = [0u32; 4];
        while next.iter().any(|&n| n < 1000) {
          for thread in order {
            for _ in 0..run {
              if next[thread] < 1000 {
                w.observe((thread as u32 * 1000 + next[thread]) as f64);
                next[thread] += 1;
              }
            }
          }
        }
        let median = quantiles(&mut w, &[0.5]).unwrap()[0];
        assert!(
          (median - 1999.5).abs() < 20.0,
          "order {order:?}, runs of {run}: median {median}"
        );
      }
    }
  }

  #[test]
  fn a_sliding_window_forgets_old_periods() {
    let window = SlidingWindow {
      max_age: Duration::from_secs(30),
      age_buckets: 3,
    };
    let mut w = Window::started(Some(window));
    let start = w.period_start;
    w.pending.push(sort_key(100.0));
    // Two periods later the first is still within the window…
    w.rotate(start + 21_000.0);
    w.pending.push(sort_key(1.0));
    assert_eq!(quantiles(&mut w, &[0.0, 1.0]), Some(vec![1.0, 100.0]));
    // …three periods later it is not.
    w.rotate(start + 31_000.0);
    assert_eq!(quantiles(&mut w, &[0.0, 1.0]), Some(vec![1.0, 1.0]));
    // After a long pause nothing is left. As prom-client's, a period ends once more
    // than its length has passed: at 3,600 s the one that started at 3,590 s goes on.
    w.rotate(start + 3_600_000.0);
    assert_eq!(quantiles(&mut w, &[0.5]), None);
    assert_eq!(w.period_start, start + 3_590_000.0);
    w.rotate(start + 3_600_000.5);
    assert_eq!(w.period_start, start + 3_600_000.0);
  }

  #[test]
  fn prom_client_quantiles_are_the_tdigest_packages() {
    // Figures of prom-client 15.1.3's Summary over the same observations.
    let mut w = Window::new(None);
    for v in [100.0, 100.0, 100.0, 50.0, 50.0] {
      w.observe(v);
    }
    let digest = w.digest();
    let at = |q: f64| quantiles_of(vec![digest.clone()], &[q], Style::PromClient).unwrap()[0];
    assert_eq!(
      [at(0.01), at(0.05), at(0.5), at(0.9), at(0.99)],
      [50.0, 50.0, 80.0, 100.0, 100.0]
    );
    let mut w = Window::new(None);
    for v in 1..=10 {
      w.observe(f64::from(v));
    }
    let got = quantiles_of(vec![w.digest()], &[0.01, 0.5, 0.9, 0.999], Style::PromClient);
    assert_eq!(got, Some(vec![1.0, 5.5, 9.5, 10.0]));
  }
}
