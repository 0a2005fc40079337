//! The messages of Prometheus's `metrics.proto` (package `io.prometheus.client`), as
//! prost messages: the same field numbers and types, so the bytes are what any reader
//! of that file expects (a test decodes them with types generated from the file).
//! `google.protobuf.Timestamp` is declared here too (two fields) rather than pulled in
//! from a crate of well-known types.

#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
  #[prost(string, tag = "1")]
  pub name: String,
  #[prost(string, tag = "2")]
  pub value: String,
}

/// `MetricType` values.
pub const COUNTER: i32 = 0;
pub const GAUGE: i32 = 1;
pub const SUMMARY: i32 = 2;
pub const HISTOGRAM: i32 = 4;

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Timestamp {
  #[prost(int64, tag = "1")]
  pub seconds: i64,
  #[prost(int32, tag = "2")]
  pub nanos: i32,
}

impl Timestamp {
  /// From seconds since the Unix epoch, as the registry keeps times.
  pub fn from_seconds(seconds: f64) -> Timestamp {
    let whole = seconds.floor();
    Timestamp {
      seconds: whole as i64,
      nanos: (((seconds - whole) * 1e9).round() as i32).min(999_999_999),
    }
  }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Gauge {
  #[prost(double, tag = "1")]
  pub value: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Counter {
  #[prost(double, tag = "1")]
  pub value: f64,
  #[prost(message, optional, tag = "2")]
  pub exemplar: Option<Exemplar>,
  #[prost(message, optional, tag = "3")]
  pub created_timestamp: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Quantile {
  #[prost(double, tag = "1")]
  pub quantile: f64,
  #[prost(double, tag = "2")]
  pub value: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
  #[prost(uint64, tag = "1")]
  pub sample_count: u64,
  #[prost(double, tag = "2")]
  pub sample_sum: f64,
  #[prost(message, repeated, tag = "3")]
  pub quantile: Vec<Quantile>,
  #[prost(message, optional, tag = "4")]
  pub created_timestamp: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
  #[prost(uint64, tag = "1")]
  pub sample_count: u64,
  #[prost(double, tag = "2")]
  pub sample_sum: f64,
  /// Classic buckets, in increasing order of upper bound.
  #[prost(message, repeated, tag = "3")]
  pub bucket: Vec<Bucket>,
  #[prost(message, optional, tag = "15")]
  pub created_timestamp: Option<Timestamp>,
  // Native buckets: see `native` for what they mean.
  #[prost(sint32, tag = "5")]
  pub schema: i32,
  #[prost(double, tag = "6")]
  pub zero_threshold: f64,
  #[prost(uint64, tag = "7")]
  pub zero_count: u64,
  #[prost(message, repeated, tag = "9")]
  pub negative_span: Vec<BucketSpan>,
  #[prost(sint64, repeated, tag = "10")]
  pub negative_delta: Vec<i64>,
  #[prost(message, repeated, tag = "12")]
  pub positive_span: Vec<BucketSpan>,
  #[prost(sint64, repeated, tag = "13")]
  pub positive_delta: Vec<i64>,
  /// A native histogram's exemplars (each with a timestamp).
  #[prost(message, repeated, tag = "16")]
  pub exemplars: Vec<Exemplar>,
}

/// The same message in remote write's schema (`prometheus.BucketSpan`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
  #[prost(sint32, tag = "1")]
  pub offset: i32,
  #[prost(uint32, tag = "2")]
  pub length: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Bucket {
  #[prost(uint64, tag = "1")]
  pub cumulative_count: u64,
  #[prost(double, tag = "2")]
  pub upper_bound: f64,
  #[prost(message, optional, tag = "3")]
  pub exemplar: Option<Exemplar>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
  #[prost(message, repeated, tag = "1")]
  pub label: Vec<LabelPair>,
  #[prost(double, tag = "2")]
  pub value: f64,
  #[prost(message, optional, tag = "3")]
  pub timestamp: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
  #[prost(message, repeated, tag = "1")]
  pub label: Vec<LabelPair>,
  #[prost(message, optional, tag = "2")]
  pub gauge: Option<Gauge>,
  #[prost(message, optional, tag = "3")]
  pub counter: Option<Counter>,
  #[prost(message, optional, tag = "4")]
  pub summary: Option<Summary>,
  #[prost(message, optional, tag = "7")]
  pub histogram: Option<Histogram>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricFamily {
  #[prost(string, tag = "1")]
  pub name: String,
  #[prost(string, tag = "2")]
  pub help: String,
  #[prost(int32, tag = "3")]
  pub r#type: i32,
  #[prost(message, repeated, tag = "4")]
  pub metric: Vec<Metric>,
}
