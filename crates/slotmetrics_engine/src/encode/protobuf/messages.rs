//! The messages of Prometheus's `metrics.proto` (package `io.prometheus.client`), each
//! over the snapshot's own data: field numbers and types as in that file, so the bytes
//! are what any reader of it expects (the tests decode them with types generated from
//! it). Fields are put in the order prost would write them.

use std::borrow::Cow;

use super::wire::{Message, Wire};
use crate::collect::{NativeBuckets, Value};
use crate::exemplar::Exemplar;
use crate::names::Escaping;
use crate::native::Sparse;
use crate::registry::Definition;
use crate::summary::empty_quantile;
use crate::text::label_pairs;

/// `MetricType` values.
pub const COUNTER: i32 = 0;
pub const GAUGE: i32 = 1;
pub const SUMMARY: i32 = 2;
pub const HISTOGRAM: i32 = 4;

/// A family's name, help and type, without its metrics.
pub struct FamilyHeader<'a> {
  pub name: &'a str,
  pub help: &'a str,
  pub r#type: i32,
}

impl Message for FamilyHeader<'_> {
  fn put<W: Wire>(&self, wire: &mut W) {
    wire.string(1, self.name);
    wire.string(2, self.help);
    wire.int64(3, i64::from(self.r#type));
  }
}

/// How a family's series name their labels.
#[derive(Clone, Copy)]
pub struct LabelStyle<'a> {
  /// The registry's default labels that apply to the family.
  pub defaults: &'a [(String, String)],
  /// Whether they come before a series' own (after them in prom-client's style).
  pub defaults_first: bool,
  /// The escaping of label names, when it changes any of the family's.
  pub renames: Option<Escaping>,
}

/// A series' own labels.
pub enum SeriesLabels<'a> {
  /// As `k="v",…` text.
  Text(&'a str),
  /// As `LabelPair` fields, already encoded (by `put_label_pairs`, names as they are).
  Encoded(&'a [u8]),
}

/// One series: its labels, and its value as a `Metric`'s field.
pub struct Metric<'a> {
  pub labels: SeriesLabels<'a>,
  pub style: LabelStyle<'a>,
  pub value: MetricValue<'a>,
}

impl Message for Metric<'_> {
  fn put<W: Wire>(&self, wire: &mut W) {
    let style = self.style;
    let put_defaults = |wire: &mut W| {
      for (name, value) in style.defaults {
        put_label_pair(wire, name, value, style.renames);
      }
    };
    if style.defaults_first {
      put_defaults(wire);
    }
    match self.labels {
      SeriesLabels::Text(text) => put_label_pairs(wire, text, style.renames),
      SeriesLabels::Encoded(pairs) => wire.bytes(pairs),
    }
    if !style.defaults_first {
      put_defaults(wire);
    }
    match &self.value {
      MetricValue::Gauge(value) => wire.message(2, &Gauge(*value)),
      MetricValue::Counter(counter) => wire.message(3, counter),
      MetricValue::Summary(summary) => wire.message(4, summary),
      MetricValue::Histogram(histogram) => wire.message(7, histogram),
    }
  }
}

/// The pairs of `k="v",…` label text as `Metric`'s `LabelPair` fields, names escaped
/// by `renames` if given.
pub fn put_label_pairs<W: Wire>(wire: &mut W, text: &str, renames: Option<Escaping>) {
  for (name, value) in label_pairs(text) {
    put_label_pair(wire, &name, &value, renames);
  }
}

fn put_label_pair<W: Wire>(wire: &mut W, name: &str, value: &str, renames: Option<Escaping>) {
  let name = match renames {
    Some(escaping) => escaping.label_name(name),
    None => Cow::Borrowed(name),
  };
  wire.string_pair(1, &name, value);
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy)]
pub struct Timestamp {
  seconds: i64,
  nanos: i64,
}

impl Timestamp {
  /// From seconds since the Unix epoch, as the registry keeps times.
  pub fn from_seconds(seconds: f64) -> Timestamp {
    // Floor and round by conversions: `floor()` and `round()` are calls into libm on
    // x86-64's baseline, and this runs for every series.
    let truncated = seconds as i64;
    let whole = truncated - i64::from((truncated as f64) > seconds);
    let nanos = ((seconds - whole as f64) * 1e9 + 0.5) as i64;
    Timestamp {
      seconds: whole,
      nanos: nanos.min(999_999_999),
    }
  }
}

impl Message for Timestamp {
  fn put<W: Wire>(&self, wire: &mut W) {
    wire.int64(1, self.seconds);
    wire.int64(2, self.nanos);
  }
}

/// A series' value as the field of its kind.
pub enum MetricValue<'a> {
  Gauge(f64),
  Counter(Counter<'a>),
  Summary(Summary<'a>),
  Histogram(Histogram<'a>),
}

impl<'a> MetricValue<'a> {
  /// `value` of a series defined by `def`, counting since `created` (when known);
  /// `exemplar_of` gives the exemplar of a slot of it (its buckets' for a histogram).
  /// None for no sample.
  pub fn new(
    def: &'a Definition,
    value: Value<'a>,
    created: Option<Timestamp>,
    exemplars: Exemplars<'a>,
  ) -> Option<MetricValue<'a>> {
    Some(match value {
      Value::Absent => return None,
      Value::Counter(value) => MetricValue::Counter(Counter {
        value,
        exemplar: exemplars.of(0),
        created,
      }),
      Value::IntGauge(value) => MetricValue::Gauge(value as f64),
      Value::FloatGauge(value) => MetricValue::Gauge(value),
      Value::Histogram { buckets, sum, native } => MetricValue::Histogram(Histogram {
        bounds: &def.buckets,
        counts: buckets,
        sum,
        native: native.map(Box::new),
        created,
        exemplars,
      }),
      Value::Summary {
        quantiles,
        count,
        sum,
      } => MetricValue::Summary(Summary {
        quantiles: &def.summary.quantiles,
        values: quantiles,
        empty: empty_quantile(def.style),
        count,
        sum,
        created,
      }),
    })
  }
}

/// The exemplars of one series' slots.
#[derive(Clone, Copy)]
pub struct Exemplars<'a> {
  pub first_slot: u32,
  pub of_slot: &'a dyn Fn(u32) -> Option<&'a Exemplar>,
  pub escaping: Escaping,
}

impl<'a> Exemplars<'a> {
  /// The exemplar of the series' `offset`th slot.
  fn of(self, offset: usize) -> Option<ExemplarMessage<'a>> {
    (self.of_slot)(self.first_slot + offset as u32).map(|exemplar| ExemplarMessage {
      exemplar,
      escaping: self.escaping,
    })
  }
}

pub struct ExemplarMessage<'a> {
  exemplar: &'a Exemplar,
  escaping: Escaping,
}

impl Message for ExemplarMessage<'_> {
  fn put<W: Wire>(&self, wire: &mut W) {
    for (name, value) in &self.exemplar.labels {
      wire.string_pair(1, &self.escaping.label_name(name), value);
    }
    wire.double(2, self.exemplar.value);
    wire.message(3, &Timestamp::from_seconds(self.exemplar.timestamp));
  }
}

struct Gauge(f64);

impl Message for Gauge {
  fn put<W: Wire>(&self, wire: &mut W) {
    wire.double(1, self.0);
  }
}

pub struct Counter<'a> {
  value: f64,
  exemplar: Option<ExemplarMessage<'a>>,
  created: Option<Timestamp>,
}

impl Message for Counter<'_> {
  fn put<W: Wire>(&self, wire: &mut W) {
    wire.double(1, self.value);
    if let Some(exemplar) = &self.exemplar {
      wire.message(2, exemplar);
    }
    if let Some(created) = &self.created {
      wire.message(3, created);
    }
  }
}

pub struct Summary<'a> {
  quantiles: &'a [f64],
  /// The quantiles' values; `empty` for each while the window is empty.
  values: Option<&'a [f64]>,
  empty: f64,
  count: f64,
  sum: f64,
  created: Option<Timestamp>,
}

impl Message for Summary<'_> {
  fn put<W: Wire>(&self, wire: &mut W) {
    wire.uint64(1, self.count as u64);
    wire.double(2, self.sum);
    for (i, &quantile) in self.quantiles.iter().enumerate() {
      let value = self.values.map_or(self.empty, |values| values[i]);
      wire.message(3, &Quantile { quantile, value });
    }
    if let Some(created) = &self.created {
      wire.message(4, created);
    }
  }
}

struct Quantile {
  quantile: f64,
  value: f64,
}

impl Message for Quantile {
  fn put<W: Wire>(&self, wire: &mut W) {
    wire.double(1, self.quantile);
    wire.double(2, self.value);
  }
}

pub struct Histogram<'a> {
  /// The classic buckets' upper bounds, `+Inf` left out.
  bounds: &'a [f64],
  /// Per-bucket (not cumulative) counts, `+Inf` last.
  counts: Cow<'a, [f64]>,
  sum: f64,
  /// Boxed: a `Metric` is moved about for every series, and most have none.
  native: Option<Box<NativeBuckets>>,
  created: Option<Timestamp>,
  exemplars: Exemplars<'a>,
}

impl Message for Histogram<'_> {
  fn put<W: Wire>(&self, wire: &mut W) {
    wire.uint64(1, self.counts.iter().sum::<f64>() as u64);
    wire.double(2, self.sum);
    // A native histogram without classic buckets of its own sends only the native
    // ones: the `+Inf` bucket would read as a classic histogram beside it. Its
    // exemplars go with the native buckets (field 16).
    let classic = self.native.is_none() || !self.bounds.is_empty();
    if classic {
      let mut cumulative = 0.0;
      for (i, count) in self.counts.iter().enumerate() {
        cumulative += count;
        let bucket = Bucket {
          cumulative_count: cumulative as u64,
          upper_bound: self.bounds.get(i).copied().unwrap_or(f64::INFINITY),
          exemplar: self.exemplars.of(i),
        };
        wire.message(3, &bucket);
      }
    }
    if let Some(created) = &self.created {
      wire.message(15, created);
    }
    let Some(native) = &self.native else { return };
    wire.sint64(5, i64::from(native.schema));
    wire.double(6, native.zero_threshold);
    wire.uint64(7, native.zero_count);
    put_sparse(wire, 9, 10, &native.negative);
    if native.positive.spans.is_empty() && native.negative.spans.is_empty() {
      // metrics.proto: an empty span marks a native histogram with no buckets yet.
      wire.message(12, &Span(0, 0));
    }
    put_sparse(wire, 12, 13, &native.positive);
    if !classic {
      for i in 0..self.counts.len() {
        if let Some(exemplar) = self.exemplars.of(i) {
          wire.message(16, &exemplar);
        }
      }
    }
  }
}

/// One sign's native buckets: spans, then deltas.
fn put_sparse<W: Wire>(wire: &mut W, spans_tag: u32, deltas_tag: u32, sparse: &Sparse) {
  for &(offset, length) in &sparse.spans {
    wire.message(spans_tag, &Span(offset, length));
  }
  wire.packed_sint64(deltas_tag, &sparse.deltas);
}

struct Bucket<'a> {
  cumulative_count: u64,
  upper_bound: f64,
  exemplar: Option<ExemplarMessage<'a>>,
}

impl Message for Bucket<'_> {
  fn put<W: Wire>(&self, wire: &mut W) {
    wire.uint64(1, self.cumulative_count);
    wire.double(2, self.upper_bound);
    if let Some(exemplar) = &self.exemplar {
      wire.message(3, exemplar);
    }
  }
}

/// `BucketSpan`: an offset from the previous span's end (the first's from index 0),
/// and how many buckets follow it.
struct Span(i32, u32);

impl Message for Span {
  fn put<W: Wire>(&self, wire: &mut W) {
    wire.sint64(1, i64::from(self.0));
    wire.uint64(2, u64::from(self.1));
  }
}
