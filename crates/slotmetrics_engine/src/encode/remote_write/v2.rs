//! Remote write 2.0's `io.prometheus.write.v2.Request`: every string once, in the
//! request's symbol table (entry 0 the empty string, as the specification requires),
//! referred to by index; each series with its metric's type and help, its start time
//! and its exemplar.

use std::collections::HashMap;

use prost::Message;

use super::histogram::{histogram, Histogram};
use super::{millis, Point, Series};

#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
  #[prost(string, repeated, tag = "4")]
  pub symbols: Vec<String>,
  #[prost(message, repeated, tag = "5")]
  pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
  #[prost(uint32, repeated, tag = "1")]
  pub labels_refs: Vec<u32>,
  #[prost(message, repeated, tag = "2")]
  pub samples: Vec<Sample>,
  #[prost(message, repeated, tag = "3")]
  pub histograms: Vec<Histogram>,
  #[prost(message, repeated, tag = "4")]
  pub exemplars: Vec<Exemplar>,
  #[prost(message, optional, tag = "5")]
  pub metadata: Option<Metadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
  #[prost(double, tag = "1")]
  pub value: f64,
  #[prost(int64, tag = "2")]
  pub timestamp: i64,
  #[prost(int64, tag = "3")]
  pub start_timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
  #[prost(uint32, repeated, tag = "1")]
  pub labels_refs: Vec<u32>,
  #[prost(double, tag = "2")]
  pub value: f64,
  #[prost(int64, tag = "3")]
  pub timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Metadata {
  #[prost(int32, tag = "1")]
  pub r#type: i32,
  #[prost(uint32, tag = "3")]
  pub help_ref: u32,
  #[prost(uint32, tag = "4")]
  pub unit_ref: u32,
}

/// A request's symbol table as it is filled.
struct Symbols<'a> {
  table: Vec<&'a str>,
  index: HashMap<&'a str, u32>,
}

impl<'a> Symbols<'a> {
  fn new() -> Symbols<'a> {
    Symbols {
      table: vec![""],
      index: HashMap::from([("", 0)]),
    }
  }

  fn refer(&mut self, text: &'a str) -> u32 {
    *self.index.entry(text).or_insert_with(|| {
      self.table.push(text);
      (self.table.len() - 1) as u32
    })
  }

  fn pairs(&mut self, pairs: impl IntoIterator<Item = &'a (String, String)>) -> Vec<u32> {
    pairs
      .into_iter()
      .flat_map(|(name, value)| [self.refer(name), self.refer(value)])
      .collect()
  }
}

/// The series as a 2.0 `Request`, uncompressed.
pub fn encode(series: &[Series]) -> Vec<u8> {
  let mut symbols = Symbols::new();
  let timeseries = series
    .iter()
    .map(|one| {
      let labels_refs = symbols.pairs(&one.labels);
      let exemplars = one
        .exemplar
        .iter()
        .map(|exemplar| {
          // 2.0 wants exemplar labels sorted, as series labels are.
          let mut labels: Vec<&(String, String)> = exemplar.labels.iter().collect();
          labels.sort();
          Exemplar {
            labels_refs: symbols.pairs(labels),
            value: exemplar.value,
            timestamp: millis(exemplar.timestamp),
          }
        })
        .collect();
      let metadata = Some(Metadata {
        r#type: one.metadata.kind as i32,
        help_ref: symbols.refer(&one.metadata.help),
        // The registry keeps no unit (a name's suffix is a convention, not a declaration).
        unit_ref: 0,
      });
      let (samples, histograms) = match &one.point {
        Point::Float(value) => (
          vec![Sample {
            value: *value,
            timestamp: one.timestamp,
            start_timestamp: one.start,
          }],
          vec![],
        ),
        Point::Native { buckets, sum } => (vec![], vec![histogram(buckets, *sum, one.timestamp, one.start)]),
      };
      TimeSeries {
        labels_refs,
        samples,
        histograms,
        exemplars,
        metadata,
      }
    })
    .collect();
  Request {
    symbols: symbols.table.into_iter().map(str::to_string).collect(),
    timeseries,
  }
  .encode_to_vec()
}
