//! Remote write 1.0's `prometheus.WriteRequest`: labels written out in every series,
//! no metadata, no start time; exemplars are left out.

use prost::Message;

use super::histogram::{histogram, Histogram};
use super::{Point, Series};

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

/// The series as a 1.0 `WriteRequest`, uncompressed.
pub fn encode(series: &[Series]) -> Vec<u8> {
  let timeseries = series
    .iter()
    .map(|one| {
      let labels = one
        .labels
        .iter()
        .map(|(name, value)| Label {
          name: name.clone(),
          value: value.clone(),
        })
        .collect();
      match &one.point {
        Point::Float(value) => TimeSeries {
          labels,
          samples: vec![Sample {
            value: *value,
            timestamp: one.timestamp,
          }],
          histograms: vec![],
        },
        Point::Native { buckets, sum } => TimeSeries {
          labels,
          samples: vec![],
          histograms: vec![histogram(buckets, *sum, one.timestamp, 0)],
        },
      }
    })
    .collect();
  WriteRequest { timeseries }.encode_to_vec()
}
