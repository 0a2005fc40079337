//! Native histograms' arithmetic: exponential buckets of schema `s`, whose boundaries
//! are the powers of 2^(2^-s) (`s` from -4 to 8; a bucket factor of 1.1 is schema 3),
//! bucket `i` holding the values in (base^(i-1), base^i].
//!
//! A value's bucket comes from its float bits: the exponent, and for `s > 0` a search
//! of the mantissa among the 2^s boundaries within one power of two (as client_golang
//! does). JS computes the same index with the same boundary table, which it gets from
//! here, so the two agree to the bit. Lowering the schema by `d` merges each 2^d
//! buckets into one. Buckets are exposed sparse: spans of consecutive indexes and the
//! differences between neighbouring counts.

/// A native histogram's definition, in client_golang's terms.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NativeOptions {
  /// The highest resolution, from the bucket factor.
  pub schema: i32,
  /// Observations with an absolute value up to this count in the zero bucket.
  pub zero_threshold: f64,
  /// The width of a series' window of consecutive buckets, per sign: an observation
  /// beyond it lowers the resolution until the buckets in use fit.
  pub max_buckets: u32,
}

/// The widest window allowed: a window is one run of slots, which never straddles a
/// chunk of slot memory.
pub const MAX_BUCKETS: u32 = 4096;

/// A run of `width` consecutive buckets of one sign of a series, from bucket `first` at
/// `schema`, counted in the striped slots from `slot`. Windows never change once made;
/// a series that needs more gets another, and a read merges them all.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Window {
  pub schema: i32,
  pub first: i32,
  pub slot: u32,
  pub width: u32,
}

impl Window {
  pub fn covers(&self, index: i32) -> bool {
    index >= self.first && ((index - self.first) as u32) < self.width
  }
}

/// The windows of one series, positive and negative observations apart.
#[derive(Clone, Debug, Default)]
pub struct SeriesWindows {
  pub positive: Vec<Window>,
  pub negative: Vec<Window>,
}

impl SeriesWindows {
  /// The windows of negative observations, or of positive ones.
  pub fn of_sign(&mut self, negative: bool) -> &mut Vec<Window> {
    if negative {
      &mut self.negative
    } else {
      &mut self.positive
    }
  }
}

/// The mantissa boundaries of every schema above 0, computed once.
pub fn bounds_of(schema: i32) -> &'static [f64] {
  static BOUNDS: std::sync::LazyLock<Vec<Vec<f64>>> =
    std::sync::LazyLock::new(|| (0..=MAX_SCHEMA).map(mantissa_bounds).collect());
  &BOUNDS[schema.max(0) as usize]
}

/// The schemas Prometheus reads.
pub const MIN_SCHEMA: i32 = -4;
pub const MAX_SCHEMA: i32 = 8;

/// The schema of the largest bucket factor not above `factor` (client_golang's
/// choice): `None` unless `factor > 1`.
pub fn schema_for_factor(factor: f64) -> Option<i32> {
  if factor.is_nan() || factor <= 1.0 {
    return None;
  }
  let floor = factor.log2().log2().floor();
  Some((-floor).clamp(MIN_SCHEMA as f64, MAX_SCHEMA as f64) as i32)
}

/// The bucket factor of a schema: 2^(2^-schema).
pub fn factor_of(schema: i32) -> f64 {
  2f64.powf(2f64.powi(-schema))
}

/// For `schema > 0`: the 2^schema boundaries within [0.5, 1), 2^(i/2^schema)/2. The
/// exponent of each is exact in binary, so the boundaries of schema `s - 1` are every
/// other one of schema `s`, and lowering a schema never moves a value across one.
pub fn mantissa_bounds(schema: i32) -> Vec<f64> {
  let n = 1usize << schema.max(0);
  (0..n).map(|i| 2f64.powf(i as f64 / n as f64) / 2.0).collect()
}

/// `value` (positive, normal or subnormal) as `frac × 2^exp` with `frac` in [0.5, 1).
fn frexp(value: f64) -> (f64, i32) {
  let bits = value.to_bits();
  let biased = ((bits >> 52) & 0x7ff) as i32;
  if biased == 0 {
    // Subnormal: scale into the normal range first.
    let (frac, exp) = frexp(value * 2f64.powi(64));
    return (frac, exp - 64);
  }
  let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
  (frac, biased - 1022)
}

/// The bucket of a positive finite `value` at `schema`.
pub fn bucket_index(value: f64, schema: i32, bounds: &[f64]) -> i32 {
  let (frac, exp) = frexp(value);
  if schema > 0 {
    // The first boundary at or above `frac`.
    let key = bounds.partition_point(|&bound| bound < frac) as i32;
    key + (exp - 1) * bounds.len() as i32
  } else {
    // A power of two is the top of its bucket.
    let key = if frac == 0.5 { exp - 1 } else { exp };
    let offset = (1 << -schema) - 1;
    (key + offset) >> -schema
  }
}

/// The bucket at `schema - delta` that bucket `index` of `schema` falls in.
pub fn lower_index(index: i32, delta: i32) -> i32 {
  ((index - 1) >> delta) + 1
}

/// One sign of a native histogram as exposed: spans of consecutive buckets (offset from
/// the end of the previous span, or the first index; length) and each bucket's count
/// less the previous one's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sparse {
  pub spans: Vec<(i32, u32)>,
  pub deltas: Vec<i64>,
}

/// Sparse buckets from `(index, count)` pairs in increasing index order. Empty buckets
/// are left out, but a gap of one or two empty buckets is kept in the span, as
/// client_golang does: two zero deltas cost less than a new span.
pub fn sparse(buckets: impl IntoIterator<Item = (i32, u64)>) -> Sparse {
  let mut sparse = Sparse::default();
  let mut previous_count = 0i64;
  let mut next_index: Option<i32> = None;
  for (index, count) in buckets {
    if count == 0 {
      continue;
    }
    match next_index {
      Some(next) if index - next <= 2 => {
        for _ in next..index {
          sparse.deltas.push(-previous_count);
          previous_count = 0;
        }
        sparse.spans.last_mut().expect("a span is open").1 += (index - next) as u32 + 1;
      }
      _ => {
        let offset = next_index.map_or(index, |next| index - next);
        sparse.spans.push((offset, 1));
      }
    }
    sparse.deltas.push(count as i64 - previous_count);
    previous_count = count as i64;
    next_index = Some(index + 1);
  }
  sparse
}

/// Where a series' next window of `width` consecutive buckets goes, and at what schema,
/// when an observation of bucket `index` (at `schema`) falls outside its windows:
/// the window covers the buckets in use, `used` (lowest, highest, at `schema`), and the
/// new one, centred; if they do not fit in `width`, at the highest lower schema where
/// they do (or the lowest schema, covering the new bucket). Returns (schema, first index).
pub fn next_window(schema: i32, index: i32, used: Option<(i32, i32)>, width: u32) -> (i32, i32) {
  let (low, high) = used.map_or((index, index), |(low, high)| (low.min(index), high.max(index)));
  let mut delta = 0;
  while schema - delta > MIN_SCHEMA
    && (lower_index(high, delta) - lower_index(low, delta) + 1) as i64 > width as i64
  {
    delta += 1;
  }
  let (low, high) = (lower_index(low, delta), lower_index(high, delta));
  let span = high - low + 1;
  if span as i64 > width as i64 {
    // Wider than the window even at the lowest schema: cover the new bucket.
    let index = lower_index(index, delta);
    return (schema - delta, index - (width as i32 - 1) / 2);
  }
  let slack = width as i32 - span;
  (schema - delta, low - slack / 2)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn schemas_from_bucket_factors_as_client_golang_picks_them() {
    assert_eq!(schema_for_factor(1.1), Some(3));
    assert_eq!(schema_for_factor(2.0), Some(0));
    assert_eq!(schema_for_factor(1.0001), Some(8));
    assert_eq!(schema_for_factor(4.0), Some(-1));
    assert_eq!(schema_for_factor(1e300), Some(-4));
    assert_eq!(schema_for_factor(1.0), None);
    assert_eq!(schema_for_factor(f64::NAN), None);
    assert!(factor_of(3) <= 1.1 && factor_of(2) > 1.1);
  }

  /// Bucket `i` holds (base^(i-1), base^i]: checked against powers computed directly, at
  /// the boundaries themselves and just either side, for every schema.
  #[test]
  fn indexes_follow_the_boundaries() {
    for schema in MIN_SCHEMA..=MAX_SCHEMA {
      let bounds = mantissa_bounds(schema);
      let base = factor_of(schema);
      for i in -40i32..40 {
        let top = if schema > 0 {
          // The exact boundary the table holds, scaled by a power of two.
          let n = bounds.len() as i32;
          bounds[i.rem_euclid(n) as usize] * 2f64.powi(i.div_euclid(n) + 1)
        } else {
          base.powi(i)
        };
        if top == 0.0 || !top.is_finite() {
          continue;
        }
        assert_eq!(
          bucket_index(top, schema, &bounds),
          i,
          "schema {schema}: {top} tops bucket {i}"
        );
        let above = f64::from_bits(top.to_bits() + 1);
        assert_eq!(
          bucket_index(above, schema, &bounds),
          i + 1,
          "schema {schema}: just above {top}"
        );
        let below = f64::from_bits(top.to_bits() - 1);
        assert_eq!(
          bucket_index(below, schema, &bounds),
          i,
          "schema {schema}: just below {top}"
        );
      }
    }
    assert_eq!(bucket_index(1.0, 3, &mantissa_bounds(3)), 0);
    // A subnormal: 2^-1024 tops bucket -1024.
    assert_eq!(bucket_index(f64::MIN_POSITIVE / 4.0, 0, &[]), -1024);
  }

  proptest::proptest! {
    /// Lowering the schema by `d` puts a value in the bucket its old bucket merges into.
    #[test]
    fn lowering_the_schema_merges_buckets(mantissa in 1.0f64..2.0, exp in -300i32..300, schema in MIN_SCHEMA..=MAX_SCHEMA, delta in 0i32..8) {
      let value = mantissa * 2f64.powi(exp);
      let lower = (schema - delta).max(MIN_SCHEMA);
      let index = bucket_index(value, schema, &mantissa_bounds(schema));
      proptest::prop_assert_eq!(lower_index(index, schema - lower), bucket_index(value, lower, &mantissa_bounds(lower)));
    }
  }

  #[test]
  fn sparse_buckets_keep_short_gaps_in_a_span() {
    assert_eq!(sparse([]), Sparse::default());
    assert_eq!(
      sparse([(-2, 3), (-1, 0), (0, 5), (1, 0), (2, 0), (3, 0), (4, 1), (7, 2)]),
      Sparse {
        spans: vec![(-2, 3), (3, 4)],
        deltas: vec![3, -3, 5, -4, -1, 0, 2],
      }
    );
    // A gap of two is kept, as zeros.
    assert_eq!(
      sparse([(1, 1), (4, 1)]),
      Sparse {
        spans: vec![(1, 4)],
        deltas: vec![1, -1, 0, 1],
      }
    );
  }

  #[test]
  fn windows_centre_what_is_used_and_lower_the_schema_when_it_does_not_fit() {
    // The first window: centred on the first bucket.
    assert_eq!(next_window(3, 100, None, 160), (3, 100 - 79));
    // What is used and the new bucket fit at this schema.
    assert_eq!(next_window(3, 200, Some((100, 120)), 160), (3, 100 - 29));
    // They span 241 buckets: one schema lower, 121.
    let (schema, first) = next_window(3, 340, Some((100, 120)), 160);
    assert_eq!(schema, 2);
    assert!(first <= lower_index(100, 1) && lower_index(340, 1) < first + 160);
    // Beyond even the lowest schema: the new bucket is covered.
    let (schema, first) = next_window(-4, 1000, Some((-1000, -900)), 10);
    assert_eq!(schema, -4);
    assert!(first <= 1000 && 1000 < first + 10);
  }
}
