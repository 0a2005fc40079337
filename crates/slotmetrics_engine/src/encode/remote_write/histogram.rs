//! The native histogram message, the same in 1.0 and 2.0 but for 2.0's start
//! timestamp, which 1.0 never sets (a zero is not written).

use crate::collect::NativeBuckets;
use crate::native::Sparse;

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

/// The message of a native histogram's buckets and sum, at `timestamp`, counting since
/// `start` (both ms; a start of 0 is not written).
pub fn histogram(buckets: &NativeBuckets, sum: f64, timestamp: i64, start: i64) -> Histogram {
  let (negative_spans, negative_deltas) = spans_and_deltas(buckets.negative.clone());
  let (positive_spans, positive_deltas) = spans_and_deltas(buckets.positive.clone());
  Histogram {
    count_int: Some(buckets.count),
    sum,
    schema: buckets.schema,
    zero_threshold: buckets.zero_threshold,
    zero_count_int: Some(buckets.zero_count),
    negative_spans,
    negative_deltas,
    positive_spans,
    positive_deltas,
    timestamp,
    start_timestamp: start,
  }
}

/// `prometheus.BucketSpan`: an offset from the previous span's end (the first's from
/// index 0), and how many buckets follow it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
  #[prost(sint32, tag = "1")]
  pub offset: i32,
  #[prost(uint32, tag = "2")]
  pub length: u32,
}

/// A sign's sparse buckets as spans and deltas.
fn spans_and_deltas(sparse: Sparse) -> (Vec<BucketSpan>, Vec<i64>) {
  let spans = sparse
    .spans
    .into_iter()
    .map(|(offset, length)| BucketSpan { offset, length })
    .collect();
  (spans, sparse.deltas)
}
