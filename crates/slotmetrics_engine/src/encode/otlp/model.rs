//! The messages of OTLP's `metrics/v1/metrics.proto`, `common/v1/common.proto`,
//! `resource/v1/resource.proto` and `collector/metrics/v1/metrics_service.proto`
//! (package `opentelemetry.proto`), as prost messages with the files' field numbers and
//! types, so the bytes are what any OTLP receiver decodes (a test decodes them with the
//! official definitions). Only what an exporter sends is declared: attribute values are
//! strings, the one kind Prometheus labels have.
//!
//! The same structs serialize to OTLP/JSON, which is proto3's JSON mapping with OTLP's
//! exceptions: lowerCamelCase keys, 64-bit integers as decimal strings, enums as
//! integers, trace and span ids in hex (see `json`).

use serde::Serialize;

use super::json;

/// `AggregationTemporality`.
pub const DELTA: i32 = 1;
pub const CUMULATIVE: i32 = 2;

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportMetricsServiceRequest {
  #[prost(message, repeated, tag = "1")]
  pub resource_metrics: Vec<ResourceMetrics>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportMetricsServiceResponse {
  #[prost(message, optional, tag = "1")]
  pub partial_success: Option<ExportMetricsPartialSuccess>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportMetricsPartialSuccess {
  #[prost(int64, tag = "1")]
  pub rejected_data_points: i64,
  #[prost(string, tag = "2")]
  pub error_message: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceMetrics {
  #[prost(message, optional, tag = "1")]
  pub resource: Option<Resource>,
  #[prost(message, repeated, tag = "2")]
  pub scope_metrics: Vec<ScopeMetrics>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
  #[prost(message, repeated, tag = "1")]
  pub attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeMetrics {
  #[prost(message, optional, tag = "1")]
  pub scope: Option<InstrumentationScope>,
  #[prost(message, repeated, tag = "2")]
  pub metrics: Vec<Metric>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstrumentationScope {
  #[prost(string, tag = "1")]
  pub name: String,
  #[prost(string, tag = "2")]
  pub version: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyValue {
  #[prost(string, tag = "1")]
  pub key: String,
  #[prost(message, optional, tag = "2")]
  pub value: Option<AnyValue>,
}

impl KeyValue {
  pub fn new(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
    KeyValue {
      key: key.into(),
      value: Some(AnyValue {
        string_value: Some(value.into()),
      }),
    }
  }
}

/// The `string_value` member of `AnyValue`'s oneof: a one-member oneof and an optional
/// field of the same number are the same bytes.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnyValue {
  #[prost(string, optional, tag = "1")]
  pub string_value: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
  #[prost(string, tag = "1")]
  pub name: String,
  #[prost(string, tag = "2")]
  #[serde(skip_serializing_if = "String::is_empty")]
  pub description: String,
  #[prost(string, tag = "3")]
  #[serde(skip_serializing_if = "String::is_empty")]
  pub unit: String,
  #[prost(oneof = "Data", tags = "5, 7, 9, 10, 11")]
  #[serde(flatten)]
  pub data: Option<Data>,
}

#[derive(Clone, PartialEq, prost::Oneof, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Data {
  #[prost(message, tag = "5")]
  Gauge(Gauge),
  #[prost(message, tag = "7")]
  Sum(Sum),
  #[prost(message, tag = "9")]
  Histogram(Histogram),
  #[prost(message, tag = "10")]
  ExponentialHistogram(ExponentialHistogram),
  #[prost(message, tag = "11")]
  Summary(Summary),
}

impl Data {
  /// How many data points it holds.
  pub fn len(&self) -> usize {
    match self {
      Data::Gauge(g) => g.data_points.len(),
      Data::Sum(s) => s.data_points.len(),
      Data::Histogram(h) => h.data_points.len(),
      Data::ExponentialHistogram(h) => h.data_points.len(),
      Data::Summary(s) => s.data_points.len(),
    }
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gauge {
  #[prost(message, repeated, tag = "1")]
  pub data_points: Vec<NumberDataPoint>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sum {
  #[prost(message, repeated, tag = "1")]
  pub data_points: Vec<NumberDataPoint>,
  #[prost(int32, tag = "2")]
  pub aggregation_temporality: i32,
  #[prost(bool, tag = "3")]
  pub is_monotonic: bool,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Histogram {
  #[prost(message, repeated, tag = "1")]
  pub data_points: Vec<HistogramDataPoint>,
  #[prost(int32, tag = "2")]
  pub aggregation_temporality: i32,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExponentialHistogram {
  #[prost(message, repeated, tag = "1")]
  pub data_points: Vec<ExponentialHistogramDataPoint>,
  #[prost(int32, tag = "2")]
  pub aggregation_temporality: i32,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
  #[prost(message, repeated, tag = "1")]
  pub data_points: Vec<SummaryDataPoint>,
}

/// A number; `as_double` and `as_int` are the two members of the value's oneof, one of
/// them set.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberDataPoint {
  #[prost(fixed64, tag = "2")]
  #[serde(serialize_with = "json::integer")]
  pub start_time_unix_nano: u64,
  #[prost(fixed64, tag = "3")]
  #[serde(serialize_with = "json::integer")]
  pub time_unix_nano: u64,
  #[prost(double, optional, tag = "4")]
  #[serde(skip_serializing_if = "Option::is_none", serialize_with = "json::some_double")]
  pub as_double: Option<f64>,
  #[prost(message, repeated, tag = "5")]
  #[serde(skip_serializing_if = "Vec::is_empty")]
  pub exemplars: Vec<Exemplar>,
  #[prost(sfixed64, optional, tag = "6")]
  #[serde(
    skip_serializing_if = "Option::is_none",
    serialize_with = "json::some_integer"
  )]
  pub as_int: Option<i64>,
  #[prost(message, repeated, tag = "7")]
  pub attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistogramDataPoint {
  #[prost(fixed64, tag = "2")]
  #[serde(serialize_with = "json::integer")]
  pub start_time_unix_nano: u64,
  #[prost(fixed64, tag = "3")]
  #[serde(serialize_with = "json::integer")]
  pub time_unix_nano: u64,
  #[prost(fixed64, tag = "4")]
  #[serde(serialize_with = "json::integer")]
  pub count: u64,
  #[prost(double, optional, tag = "5")]
  #[serde(skip_serializing_if = "Option::is_none", serialize_with = "json::some_double")]
  pub sum: Option<f64>,
  #[prost(fixed64, repeated, tag = "6")]
  #[serde(serialize_with = "json::integers")]
  pub bucket_counts: Vec<u64>,
  #[prost(double, repeated, tag = "7")]
  #[serde(serialize_with = "json::doubles")]
  pub explicit_bounds: Vec<f64>,
  #[prost(message, repeated, tag = "8")]
  #[serde(skip_serializing_if = "Vec::is_empty")]
  pub exemplars: Vec<Exemplar>,
  #[prost(message, repeated, tag = "9")]
  pub attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExponentialHistogramDataPoint {
  #[prost(message, repeated, tag = "1")]
  pub attributes: Vec<KeyValue>,
  #[prost(fixed64, tag = "2")]
  #[serde(serialize_with = "json::integer")]
  pub start_time_unix_nano: u64,
  #[prost(fixed64, tag = "3")]
  #[serde(serialize_with = "json::integer")]
  pub time_unix_nano: u64,
  #[prost(fixed64, tag = "4")]
  #[serde(serialize_with = "json::integer")]
  pub count: u64,
  #[prost(double, optional, tag = "5")]
  #[serde(skip_serializing_if = "Option::is_none", serialize_with = "json::some_double")]
  pub sum: Option<f64>,
  #[prost(sint32, tag = "6")]
  pub scale: i32,
  #[prost(fixed64, tag = "7")]
  #[serde(serialize_with = "json::integer")]
  pub zero_count: u64,
  #[prost(message, optional, tag = "8")]
  pub positive: Option<Buckets>,
  #[prost(message, optional, tag = "9")]
  pub negative: Option<Buckets>,
  #[prost(message, repeated, tag = "11")]
  #[serde(skip_serializing_if = "Vec::is_empty")]
  pub exemplars: Vec<Exemplar>,
  #[prost(double, tag = "14")]
  #[serde(serialize_with = "json::double")]
  pub zero_threshold: f64,
}

/// Dense counts of consecutive exponential buckets, the first of index `offset`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Buckets {
  #[prost(sint32, tag = "1")]
  pub offset: i32,
  #[prost(uint64, repeated, tag = "2")]
  #[serde(serialize_with = "json::integers")]
  pub bucket_counts: Vec<u64>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryDataPoint {
  #[prost(fixed64, tag = "2")]
  #[serde(serialize_with = "json::integer")]
  pub start_time_unix_nano: u64,
  #[prost(fixed64, tag = "3")]
  #[serde(serialize_with = "json::integer")]
  pub time_unix_nano: u64,
  #[prost(fixed64, tag = "4")]
  #[serde(serialize_with = "json::integer")]
  pub count: u64,
  #[prost(double, tag = "5")]
  #[serde(serialize_with = "json::double")]
  pub sum: f64,
  #[prost(message, repeated, tag = "6")]
  pub quantile_values: Vec<ValueAtQuantile>,
  #[prost(message, repeated, tag = "7")]
  pub attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueAtQuantile {
  #[prost(double, tag = "1")]
  #[serde(serialize_with = "json::double")]
  pub quantile: f64,
  #[prost(double, tag = "2")]
  #[serde(serialize_with = "json::double")]
  pub value: f64,
}

#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exemplar {
  #[prost(fixed64, tag = "2")]
  #[serde(serialize_with = "json::integer")]
  pub time_unix_nano: u64,
  /// A oneof's member: sent even when 0.
  #[prost(double, optional, tag = "3")]
  #[serde(skip_serializing_if = "Option::is_none", serialize_with = "json::some_double")]
  pub as_double: Option<f64>,
  #[prost(bytes = "vec", tag = "4")]
  #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "json::hex")]
  pub span_id: Vec<u8>,
  #[prost(bytes = "vec", tag = "5")]
  #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "json::hex")]
  pub trace_id: Vec<u8>,
  #[prost(message, repeated, tag = "7")]
  #[serde(skip_serializing_if = "Vec::is_empty")]
  pub filtered_attributes: Vec<KeyValue>,
}
