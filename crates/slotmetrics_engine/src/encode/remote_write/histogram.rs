//! The native histogram message, the same in 1.0 and 2.0 but for 2.0's start
//! timestamp, which 1.0 never sets (a zero is not written).

use crate::collect::NativeBuckets;

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
  /// 2.0 only.
  #[prost(int64, tag = "17")]
  pub start_timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
  #[prost(sint32, tag = "1")]
  pub offset: i32,
  #[prost(uint32, tag = "2")]
  pub length: u32,
}

/// The observations a native histogram counts: its zero bucket and every bucket.
pub fn count(buckets: &NativeBuckets) -> u64 {
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
  buckets.zero_count + total(&buckets.positive.deltas) + total(&buckets.negative.deltas)
}

/// The message of a native histogram's buckets and sum, at `timestamp`, counting since
/// `start` (both ms; a start of 0 is not written).
pub fn histogram(buckets: &NativeBuckets, sum: f64, timestamp: i64, start: i64) -> Histogram {
  let spans = |spans: &[(i32, u32)]| {
    spans
      .iter()
      .map(|&(offset, length)| BucketSpan { offset, length })
      .collect()
  };
  Histogram {
    count_int: Some(count(buckets)),
    sum,
    schema: buckets.schema,
    zero_threshold: buckets.zero_threshold,
    zero_count_int: Some(buckets.zero_count),
    negative_spans: spans(&buckets.negative.spans),
    negative_deltas: buckets.negative.deltas.clone(),
    positive_spans: spans(&buckets.positive.spans),
    positive_deltas: buckets.positive.deltas.clone(),
    timestamp,
    start_timestamp: start,
  }
}
