//! A snapshot as OTLP metrics, mapped as the OpenTelemetry specification's Prometheus
//! compatibility page maps Prometheus metrics: a counter is a monotonic cumulative
//! `Sum`, a gauge a `Gauge`, a classic histogram a `Histogram`, a native one an
//! `ExponentialHistogram` (scale = schema, offset = index of the first bucket − 1) and a
//! summary a `Summary`. Names are kept as exposed (`_total` too), HELP becomes the
//! description, a series' created time its points' start time, and an exemplar's
//! `trace_id` and `span_id` labels its ids.
//!
//! Points come out cumulative; delta temporality is the exporter's business, since it
//! needs what earlier exports sent.

use prost::Message;

use crate::collect::{FamilySnapshot, NativeBuckets, Snapshot, Value};
use crate::exemplar::Exemplar;
use crate::kind::{Kind, Style};
use crate::native::Sparse;
use crate::registry::{Family, Series};
use crate::text::parse_labels;

pub mod delta;
pub mod direct;
mod json;
pub mod model;

use model::{
  Buckets, Data, ExportMetricsServiceRequest, InstrumentationScope, KeyValue, Metric, NumberDataPoint,
  Resource, ResourceMetrics, ScopeMetrics, CUMULATIVE,
};

/// Series (or points) handled between two yields of the core: as the text encoder does
/// (`PIECE_BYTES`), so that a JS thread waking on a busy machine does not wait out an
/// export's time slice.
const YIELD_EVERY: usize = 2048;

/// Nanoseconds since the Unix epoch, from the seconds the registry keeps.
pub fn nanos(seconds: f64) -> u64 {
  (seconds * 1e9).round().max(0.0) as u64
}

/// The UCUM unit of a name's Prometheus unit suffix (before a counter's `_total`), for
/// the units Prometheus's naming guide uses; empty when it has none of them.
pub fn unit_of(base: &str) -> &'static str {
  const UNITS: [(&str, &str); 12] = [
    ("_seconds", "s"),
    ("_milliseconds", "ms"),
    ("_microseconds", "us"),
    ("_nanoseconds", "ns"),
    ("_bytes", "By"),
    ("_bits", "bit"),
    ("_ratio", "1"),
    ("_percent", "%"),
    ("_meters", "m"),
    ("_celsius", "Cel"),
    ("_volts", "V"),
    ("_joules", "J"),
  ];
  UNITS
    .iter()
    .find(|(suffix, _)| base.ends_with(suffix))
    .map_or("", |(_, unit)| unit)
}

/// Every series of the snapshot as OTLP metrics, cumulative, stamped `now` (seconds
/// since the Unix epoch). Metrics without series are left out.
pub fn metrics(snapshot: &Snapshot, now: f64) -> Vec<Metric> {
  let time = nanos(now);
  let mut out = Vec::with_capacity(snapshot.families.len());
  let mut read = 0usize;
  for entry in &snapshot.families {
    let family = &*entry.family;
    let mut data = empty_data(family);
    for series in entry.series() {
      read += 1;
      if read.is_multiple_of(YIELD_EVERY) {
        std::thread::yield_now();
      }
      if let Some(point) = point(snapshot, entry, series, attributes(family, &series.labels), time) {
        data.push(point);
      }
    }
    if !data.is_empty() {
      out.push(header(family, Some(data)));
    }
  }
  out
}

/// A metric's name, description and unit, with `data`: an OpenTelemetry instrument's
/// own, else those of its Prometheus name.
fn header(family: &Family, data: Option<Data>) -> Metric {
  let (name, unit) = match &family.def.instrument {
    Some(instrument) => (instrument.name.clone(), instrument.unit.clone()),
    None => (family.sample_name(), unit_of(&family.base).to_string()),
  };
  Metric {
    name,
    description: family.def.help.clone(),
    unit,
    data,
  }
}

/// One series' point, of its family's kind of data.
enum Point {
  Number(NumberDataPoint),
  Histogram(model::HistogramDataPoint),
  Exponential(model::ExponentialHistogramDataPoint),
  Summary(model::SummaryDataPoint),
}

impl Data {
  /// Adds a point of this data's kind (a value always matches its family's kind).
  fn push(&mut self, point: Point) {
    match (self, point) {
      (Data::Sum(sum), Point::Number(p)) => sum.data_points.push(p),
      (Data::Gauge(gauge), Point::Number(p)) => gauge.data_points.push(p),
      (Data::Histogram(histogram), Point::Histogram(p)) => histogram.data_points.push(p),
      (Data::ExponentialHistogram(histogram), Point::Exponential(p)) => histogram.data_points.push(p),
      (Data::Summary(summary), Point::Summary(p)) => summary.data_points.push(p),
      (_, _) => {}
    }
  }
}

/// A series' point at `time` (ns since the Unix epoch) with these attributes; none
/// for a process figure this system does not report.
fn point(
  snapshot: &Snapshot,
  entry: &FamilySnapshot,
  series: &Series,
  attributes: Vec<KeyValue>,
  time: u64,
) -> Option<Point> {
  let family = &*entry.family;
  let start = nanos(entry.created(series));
  let exemplar = |slot: u32| entry.exemplar(slot).map(exemplar).into_iter().collect::<Vec<_>>();
  Some(match snapshot.value(entry, series) {
    Value::Absent => return None,
    Value::Counter(v) => Point::Number(NumberDataPoint {
      start_time_unix_nano: start,
      time_unix_nano: time,
      as_double: Some(v),
      exemplars: exemplar(series.slot),
      as_int: None,
      attributes,
    }),
    Value::FloatGauge(v) => Point::Number(NumberDataPoint {
      time_unix_nano: time,
      as_double: Some(v),
      attributes,
      ..Default::default()
    }),
    Value::IntGauge(v) => Point::Number(NumberDataPoint {
      time_unix_nano: time,
      as_int: Some(v),
      attributes,
      ..Default::default()
    }),
    Value::Histogram {
      native: Some(native),
      sum,
      ..
    } => Point::Exponential(exponential_point(native, sum, attributes, start, time)),
    Value::Histogram { buckets, sum, .. } => {
      let bucket_counts: Vec<u64> = buckets.iter().map(|count| count.round() as u64).collect();
      Point::Histogram(model::HistogramDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: bucket_counts.iter().sum(),
        sum: Some(sum),
        bucket_counts,
        explicit_bounds: family.def.buckets.clone(),
        exemplars: (0..=family.def.buckets.len() as u32)
          .flat_map(|bucket| exemplar(series.slot + bucket))
          .collect(),
        attributes,
      })
    }
    Value::Summary {
      quantiles,
      count,
      sum,
    } => Point::Summary(model::SummaryDataPoint {
      start_time_unix_nano: start,
      time_unix_nano: time,
      count: count.round() as u64,
      sum,
      quantile_values: quantiles
        .map(|values| {
          family
            .def
            .summary
            .quantiles
            .iter()
            .zip(values)
            .map(|(&quantile, &value)| model::ValueAtQuantile { quantile, value })
            .collect()
        })
        .unwrap_or_default(),
      attributes,
    }),
  })
}

/// A family's kind of OTLP data, with no points yet.
fn empty_data(family: &Family) -> Data {
  match family.def.kind {
    Kind::Counter => Data::Sum(model::Sum {
      data_points: vec![],
      aggregation_temporality: CUMULATIVE,
      is_monotonic: true,
    }),
    Kind::IntGauge | Kind::FloatGauge => Data::Gauge(model::Gauge { data_points: vec![] }),
    Kind::Histogram if family.def.native.is_some() => {
      Data::ExponentialHistogram(model::ExponentialHistogram {
        data_points: vec![],
        aggregation_temporality: CUMULATIVE,
      })
    }
    Kind::Histogram => Data::Histogram(model::Histogram {
      data_points: vec![],
      aggregation_temporality: CUMULATIVE,
    }),
    Kind::Summary => Data::Summary(model::Summary { data_points: vec![] }),
  }
}

/// A series' labels as attributes. Labels with empty values are left out in
/// prom-client's style, as its text leaves them out.
fn attributes(family: &Family, labels: &str) -> Vec<KeyValue> {
  let prom_client = family.def.style == Style::PromClient;
  parse_labels(labels)
    .into_iter()
    .filter(|(_, value)| !(prom_client && value.is_empty()))
    .map(|(key, value)| KeyValue::new(family.attribute_key(&key), value))
    .collect()
}

fn exponential_point(
  native: NativeBuckets,
  sum: f64,
  attributes: Vec<KeyValue>,
  start: u64,
  time: u64,
) -> model::ExponentialHistogramDataPoint {
  let positive = dense(&native.positive);
  let negative = dense(&native.negative);
  model::ExponentialHistogramDataPoint {
    attributes,
    start_time_unix_nano: start,
    time_unix_nano: time,
    count: native.count,
    sum: Some(sum),
    scale: native.schema,
    zero_count: native.zero_count,
    positive,
    negative,
    exemplars: vec![],
    zero_threshold: native.zero_threshold,
  }
}

/// Prometheus's sparse buckets as OTLP's dense ones. Prometheus numbers a bucket by its
/// upper bound, OTLP by its lower: bucket `i` of one is bucket `i − 1` of the other.
pub fn dense(sparse: &Sparse) -> Option<Buckets> {
  let mut counts = Vec::new();
  let mut first = None;
  let mut index = 0i32;
  let mut count = 0i64;
  let mut deltas = sparse.deltas.iter();
  for (n, &(offset, length)) in sparse.spans.iter().enumerate() {
    index = if n == 0 { offset } else { index + offset };
    for _ in 0..length {
      count += deltas.next().copied().unwrap_or(0);
      let first = *first.get_or_insert(index);
      counts.resize((index - first) as usize, 0);
      counts.push(count.max(0) as u64);
      index += 1;
    }
  }
  first.map(|first| Buckets {
    offset: first - 1,
    bucket_counts: counts,
  })
}

/// A byte string from its hex digits, if it is `len` bytes of them.
fn hex_id(text: &str, len: usize) -> Option<Vec<u8>> {
  if text.len() != len * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
    return None;
  }
  (0..len)
    .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
    .collect()
}

/// An exemplar, its `trace_id` (16 bytes in hex) and `span_id` (8) as ids (or
/// `traceId` and `spanId`, as prom-client names them), its other labels (and ids that
/// are not hex of that length) as filtered attributes.
fn exemplar(exemplar: &Exemplar) -> model::Exemplar {
  let mut out = model::Exemplar {
    time_unix_nano: nanos(exemplar.timestamp),
    as_double: Some(exemplar.value),
    ..Default::default()
  };
  for (key, value) in &exemplar.labels {
    match (key.as_str(), hex_id(value, 16), hex_id(value, 8)) {
      ("trace_id" | "traceId", Some(id), _) => out.trace_id = id,
      ("span_id" | "spanId", _, Some(id)) => out.span_id = id,
      _ => out.filtered_attributes.push(KeyValue::new(key, value)),
    }
  }
  out
}

/// What a request says of its sender: the resource's attributes and the scope.
pub struct Origin {
  pub resource: Vec<KeyValue>,
  pub scope: InstrumentationScope,
}

impl Origin {
  /// A request carrying these metrics.
  pub fn request(&self, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
      resource_metrics: vec![ResourceMetrics {
        resource: Some(Resource {
          attributes: self.resource.clone(),
        }),
        scope_metrics: vec![ScopeMetrics {
          scope: Some(self.scope.clone()),
          metrics,
        }],
      }],
    }
  }
}

/// How a request's body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
  Protobuf,
  Json,
}

impl Encoding {
  pub fn content_type(self) -> &'static str {
    match self {
      Encoding::Protobuf => "application/x-protobuf",
      Encoding::Json => "application/json",
    }
  }

  /// A request carrying these metrics from `origin`, as the body of a request.
  pub fn encode(self, origin: &Origin, metrics: Vec<Metric>) -> Vec<u8> {
    match self {
      Encoding::Protobuf => protobuf_request(origin, &metrics),
      Encoding::Json => {
        serde_json::to_vec(&origin.request(metrics)).expect("OTLP messages serialize to JSON")
      }
    }
  }
}

/// The same bytes as `origin.request(metrics).encode_to_vec()`, with every point's size
/// computed once: prost computes a nested message's size at each level it is nested
/// in (five for a point of a request), which was a sixth of an export's CPU time.
fn protobuf_request(origin: &Origin, metrics: &[Metric]) -> Vec<u8> {
  use prost::encoding::{encode_key, encode_varint, message, WireType};
  /// `tag`, the length of `body`, then `body`.
  fn wrap(tag: u32, body: &[u8], out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(body.len() as u64, out);
    out.extend_from_slice(body);
  }
  fn points<P: Message>(list: &[P], out: &mut Vec<u8>) {
    for (i, point) in list.iter().enumerate() {
      message::encode(1, point, out);
      if i % YIELD_EVERY == YIELD_EVERY - 1 {
        std::thread::yield_now();
      }
    }
  }
  let temporality = |value: i32, out: &mut Vec<u8>| {
    if value != 0 {
      prost::encoding::int32::encode(2, &value, out);
    }
  };
  let mut scope = Vec::new();
  message::encode(1, &origin.scope, &mut scope);
  let (mut body, mut data) = (Vec::new(), Vec::new());
  for metric in metrics {
    body.clear();
    if !metric.name.is_empty() {
      prost::encoding::string::encode(1, &metric.name, &mut body);
    }
    if !metric.description.is_empty() {
      prost::encoding::string::encode(2, &metric.description, &mut body);
    }
    if !metric.unit.is_empty() {
      prost::encoding::string::encode(3, &metric.unit, &mut body);
    }
    data.clear();
    let tag = match &metric.data {
      None => 0,
      Some(Data::Gauge(g)) => {
        points(&g.data_points, &mut data);
        5
      }
      Some(Data::Sum(s)) => {
        points(&s.data_points, &mut data);
        temporality(s.aggregation_temporality, &mut data);
        if s.is_monotonic {
          prost::encoding::bool::encode(3, &s.is_monotonic, &mut data);
        }
        7
      }
      Some(Data::Histogram(h)) => {
        points(&h.data_points, &mut data);
        temporality(h.aggregation_temporality, &mut data);
        9
      }
      Some(Data::ExponentialHistogram(h)) => {
        points(&h.data_points, &mut data);
        temporality(h.aggregation_temporality, &mut data);
        10
      }
      Some(Data::Summary(s)) => {
        points(&s.data_points, &mut data);
        11
      }
    };
    if tag != 0 {
      wrap(tag, &data, &mut body);
    }
    wrap(2, &body, &mut scope);
  }
  let mut resource_metrics = Vec::new();
  message::encode(
    1,
    &Resource {
      attributes: origin.resource.clone(),
    },
    &mut resource_metrics,
  );
  wrap(2, &scope, &mut resource_metrics);
  let mut request = Vec::with_capacity(resource_metrics.len() + 8);
  wrap(1, &resource_metrics, &mut request);
  request
}

/// Splits metrics into groups that each fit in a request of at most `max_points` data
/// points and about `max_bytes` of protobuf (a metric's points are spread over several
/// groups where needed; a single point larger than `max_bytes` goes alone). Sizes are
/// counted point by point only for a metric that does not fit whole.
pub fn split(metrics: Vec<Metric>, max_points: usize, max_bytes: usize) -> Vec<Vec<Metric>> {
  let mut splitter = Splitter {
    groups: vec![],
    group: vec![],
    points: 0,
    bytes: 0,
    max_points,
    max_bytes,
  };
  for mut metric in metrics {
    let Some(data) = metric.data.take() else { continue };
    // The metric without its points, and the bytes that take in a request.
    let header_bytes = metric.encoded_len() + 8;
    let (points, bytes) = (data.len(), data.encoded_len());
    if splitter.fits(points, header_bytes + bytes) {
      splitter.add(metric, data, points, header_bytes + bytes);
      continue;
    }
    match data {
      Data::Gauge(g) => splitter.spread(&metric, header_bytes, g.data_points, |data_points| {
        Data::Gauge(model::Gauge { data_points })
      }),
      Data::Sum(s) => splitter.spread(&metric, header_bytes, s.data_points, |data_points| {
        Data::Sum(model::Sum {
          data_points,
          aggregation_temporality: s.aggregation_temporality,
          is_monotonic: s.is_monotonic,
        })
      }),
      Data::Histogram(h) => splitter.spread(&metric, header_bytes, h.data_points, |data_points| {
        Data::Histogram(model::Histogram {
          data_points,
          aggregation_temporality: h.aggregation_temporality,
        })
      }),
      Data::ExponentialHistogram(h) => splitter.spread(&metric, header_bytes, h.data_points, |data_points| {
        Data::ExponentialHistogram(model::ExponentialHistogram {
          data_points,
          aggregation_temporality: h.aggregation_temporality,
        })
      }),
      Data::Summary(s) => splitter.spread(&metric, header_bytes, s.data_points, |data_points| {
        Data::Summary(model::Summary { data_points })
      }),
    }
  }
  splitter.close();
  splitter.groups
}

/// The groups `split` has made, and the one it is filling.
struct Splitter {
  groups: Vec<Vec<Metric>>,
  group: Vec<Metric>,
  points: usize,
  bytes: usize,
  max_points: usize,
  max_bytes: usize,
}

impl Splitter {
  fn fits(&self, points: usize, bytes: usize) -> bool {
    self.points + points <= self.max_points && self.bytes + bytes <= self.max_bytes
  }

  fn add(&mut self, header: Metric, data: Data, points: usize, bytes: usize) {
    self.group.push(Metric {
      data: Some(data),
      ..header
    });
    self.points += points;
    self.bytes += bytes;
  }

  fn close(&mut self) {
    if !self.group.is_empty() {
      self.groups.push(std::mem::take(&mut self.group));
    }
    (self.points, self.bytes) = (0, 0);
  }

  /// Adds a metric's points over as many groups as they need.
  fn spread<P: Message>(
    &mut self,
    header: &Metric,
    header_bytes: usize,
    points: Vec<P>,
    wrap: impl Fn(Vec<P>) -> Data,
  ) {
    let mut run: Vec<P> = vec![];
    let mut run_bytes = header_bytes;
    for point in points {
      let bytes = point.encoded_len() + 4;
      if !self.fits(run.len() + 1, run_bytes + bytes) {
        if !run.is_empty() {
          let count = run.len();
          self.add(header.clone(), wrap(std::mem::take(&mut run)), count, run_bytes);
        }
        self.close();
        run_bytes = header_bytes;
      }
      run.push(point);
      run_bytes += bytes;
    }
    if !run.is_empty() {
      let count = run.len();
      self.add(header.clone(), wrap(run), count, run_bytes);
    }
  }
}

#[cfg(test)]
mod tests;
