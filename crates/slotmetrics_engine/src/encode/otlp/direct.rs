//! OTLP/protobuf written straight from a snapshot into request bodies, cumulative or
//! delta: the exporter's default, and most of its work at scale.
//!
//! Building messages and letting prost write them costs an allocation per attribute of
//! every point and a parse of every series' label text at each export. A series'
//! labels never change, so their encoding is kept between exports (`SeriesCache`)
//! and copied after the rest of the point, which prost writes without attributes: a
//! protobuf message's fields may come in any order. Beside it the cache keeps each
//! series' acknowledged delta baseline, found where the series is, so delta costs no
//! lookup by name either. Requests are cut to the point and byte limits as the points
//! are written, each metric's header repeated in every request its points span.

use std::collections::HashMap;
use std::sync::Arc;

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, message, WireType};
use prost::Message;

use super::delta::{self, Baseline};
use super::model::{Resource, CUMULATIVE, DELTA};
use super::{attributes, header, nanos, point, Origin, Point, YIELD_EVERY};
use crate::collect::Snapshot;
use crate::kind::Kind;
use crate::registry::{Family, Series};

/// A request body, uncompressed, the points it carries, and the delta baselines to
/// keep once the receiver has acknowledged it (`SeriesCache::acknowledge`).
pub struct Encoded {
  pub body: Vec<u8>,
  pub points: usize,
  pub baselines: Vec<Acknowledged>,
}

/// A delta point's baseline, for the series it was written for: where that series'
/// entry is, and its identity (the cache holds its labels until the next export).
pub struct Acknowledged {
  family: usize,
  position: usize,
  series: usize,
  baseline: Baseline,
}

/// What recent exports keep of each series, by family and position: a family's series
/// come in registration order, so an export finds each series where the last one left
/// it, reading the cache front to back (a hash table of 100k entries costs a cache
/// miss per series instead). Once a series is not where it was (one before it was
/// removed), the family's later entries are found by the series' identity.
#[derive(Default)]
pub struct SeriesCache {
  families: HashMap<usize, FamilyCache, foldhash::fast::RandomState>,
  export: u64,
}

struct FamilyCache {
  /// Held, so that its address (the key) is not reused while it is cached.
  _family: Arc<Family>,
  series: Vec<Cached>,
  /// Entries moved out of place this export, by their labels' address.
  displaced: HashMap<usize, Cached, foldhash::fast::RandomState>,
  last_export: u64,
}

struct Cached {
  /// The series' label text: held, its address the series' identity.
  labels: Arc<str>,
  /// Each attribute as a field of the point's message: tag, length, `KeyValue`.
  encoded: Box<[u8]>,
  /// What the receiver last acknowledged of it, when its points go as deltas (boxed:
  /// cumulative exports pay a pointer for it, not a baseline).
  acknowledged: Option<Box<Baseline>>,
}

/// A series' identity while the cache holds its labels.
fn identity(labels: &Arc<str>) -> usize {
  Arc::as_ptr(labels).cast::<u8>() as usize
}

/// A family's key in the cache while the cache holds it.
fn family_key(family: &Arc<Family>) -> usize {
  Arc::as_ptr(family) as usize
}

impl SeriesCache {
  fn family(&mut self, family: &Arc<Family>) -> &mut FamilyCache {
    let export = self.export;
    let cached = self
      .families
      .entry(family_key(family))
      .or_insert_with(|| FamilyCache {
        _family: family.clone(),
        series: vec![],
        displaced: HashMap::default(),
        last_export: export,
      });
    cached.last_export = export;
    cached
  }

  /// Forgets the families this export did not see, and starts the next export.
  fn sweep(&mut self) {
    let export = self.export;
    self.families.retain(|_, cached| cached.last_export == export);
    self.export += 1;
  }

  /// Keeps the baselines of a request the receiver acknowledged (or refused for good:
  /// its points must not be sent again), before the next export.
  pub fn acknowledge(&mut self, baselines: Vec<Acknowledged>) {
    // A request's points come family by family: one lookup each.
    let mut family: Option<(usize, Option<&mut FamilyCache>)> = None;
    for acknowledged in baselines {
      if family.as_ref().is_none_or(|(key, _)| *key != acknowledged.family) {
        family = Some((acknowledged.family, self.families.get_mut(&acknowledged.family)));
      }
      let cached = family
        .as_mut()
        .and_then(|(_, cached)| cached.as_mut())
        .and_then(|cached| cached.series.get_mut(acknowledged.position))
        .filter(|cached| identity(&cached.labels) == acknowledged.series);
      match cached.map(|cached| &mut cached.acknowledged) {
        Some(Some(kept)) => **kept = acknowledged.baseline,
        Some(kept) => *kept = Some(Box::new(acknowledged.baseline)),
        None => {}
      }
    }
  }
}

impl FamilyCache {
  /// The entry of the family's `position`th series, every series before it having been
  /// asked for this export.
  fn entry(&mut self, family: &Family, position: usize, series: &Series) -> &mut Cached {
    let in_place = self
      .series
      .get(position)
      .is_some_and(|cached| Arc::ptr_eq(&cached.labels, &series.labels));
    if !in_place {
      for cached in self.series.drain(position..) {
        self.displaced.insert(identity(&cached.labels), cached);
      }
      let cached = self
        .displaced
        .remove(&identity(&series.labels))
        .unwrap_or_else(|| Cached::new(family, series));
      self.series.push(cached);
    }
    &mut self.series[position]
  }

  /// Ends the export's pass over the family's `seen` series.
  fn end(&mut self, seen: usize) {
    self.series.truncate(seen);
    self.displaced.clear();
  }
}

impl Cached {
  fn new(family: &Family, series: &Series) -> Cached {
    let mut encoded = Vec::new();
    for attribute in attributes(family, &series.labels) {
      message::encode(attributes_tag(family), &attribute, &mut encoded);
    }
    Cached {
      labels: series.labels.clone(),
      encoded: encoded.into(),
      acknowledged: None,
    }
  }
}

/// The field number of a family's points' attributes in their message.
fn attributes_tag(family: &Family) -> u32 {
  match family.def.kind {
    Kind::Counter | Kind::IntGauge | Kind::FloatGauge | Kind::Summary => 7,
    Kind::Histogram if family.def.native.is_some() => 1,
    Kind::Histogram => 9,
  }
}

impl Point {
  fn encoded_len(&self) -> usize {
    match self {
      Point::Number(p) => p.encoded_len(),
      Point::Histogram(p) => p.encoded_len(),
      Point::Exponential(p) => p.encoded_len(),
      Point::Summary(p) => p.encoded_len(),
    }
  }

  fn encode_raw(&self, out: &mut Vec<u8>) {
    match self {
      Point::Number(p) => p.encode_raw(out),
      Point::Histogram(p) => p.encode_raw(out),
      Point::Exponential(p) => p.encode_raw(out),
      Point::Summary(p) => p.encode_raw(out),
    }
  }

  /// Rewrites a cumulative point as its delta since `previous`; returns the baseline
  /// to keep once it is acknowledged, or `None` when there is nothing new to send.
  fn make_delta(&mut self, previous: Option<&Baseline>) -> Option<Baseline> {
    match self {
      Point::Number(p) => delta::sum(previous, p),
      Point::Histogram(p) => delta::histogram(previous, p),
      Point::Exponential(p) => delta::exponential(previous, p),
      Point::Summary(_) => None,
    }
  }
}

/// Whether a family has cumulative points that can go as deltas: counters and
/// histograms.
fn accumulates(family: &Family) -> bool {
  matches!(family.def.kind, Kind::Counter | Kind::Histogram)
}

/// A family's field in `Metric` for its data, and what that data message says after
/// its points (temporality, monotonicity).
fn data_field(family: &Family, as_delta: bool) -> (u32, Vec<u8>) {
  let mut trailer = Vec::new();
  let temporality = if as_delta { DELTA } else { CUMULATIVE };
  let temporality = |trailer: &mut Vec<u8>| prost::encoding::int32::encode(2, &temporality, trailer);
  let tag = match family.def.kind {
    Kind::Counter => {
      temporality(&mut trailer);
      prost::encoding::bool::encode(3, &true, &mut trailer);
      7
    }
    Kind::IntGauge | Kind::FloatGauge => 5,
    Kind::Histogram if family.def.native.is_some() => {
      temporality(&mut trailer);
      10
    }
    Kind::Histogram => {
      temporality(&mut trailer);
      9
    }
    Kind::Summary => 11,
  };
  (tag, trailer)
}

/// Every series of the snapshot stamped `now` (seconds since the Unix epoch), as
/// requests from `origin` of at most `max_points` points and about `max_bytes` bytes (a
/// point larger than that goes alone). The counters and histograms of the families
/// `delta_for` names go as deltas since their series' acknowledged baselines, leaving
/// out points with nothing new; every other point is cumulative.
pub fn requests(
  snapshot: &Snapshot,
  origin: &Origin,
  now: f64,
  cache: &mut SeriesCache,
  limits: (usize, usize),
  delta_for: &dyn Fn(&Family) -> bool,
) -> Vec<Encoded> {
  let time = nanos(now);
  let (max_points, max_bytes) = limits;
  let mut writer = Writer::new(origin, max_points, max_bytes);
  let mut seen = 0usize;
  for entry in &snapshot.families {
    let family = &*entry.family;
    let as_delta = accumulates(family) && delta_for(family);
    let (tag, trailer) = data_field(family, as_delta);
    writer.begin(header(family, None).encode_to_vec(), tag, trailer);
    let cached_family = cache.family(&entry.family);
    let mut position = 0;
    for series in entry.series() {
      seen += 1;
      if seen.is_multiple_of(YIELD_EVERY) {
        std::thread::yield_now();
      }
      let cached = cached_family.entry(family, position, series);
      position += 1;
      let Some(mut point) = point(snapshot, entry, series, vec![], time) else {
        continue;
      };
      let baseline = if as_delta {
        let Some(baseline) = point.make_delta(cached.acknowledged.as_deref()) else {
          continue;
        };
        Some(Acknowledged {
          family: family_key(&entry.family),
          position: position - 1,
          series: identity(&cached.labels),
          baseline,
        })
      } else {
        None
      };
      let attributes = &cached.encoded;
      writer.point(baseline, |out| {
        encode_key(1, WireType::LengthDelimited, out);
        encode_varint((point.encoded_len() + attributes.len()) as u64, out);
        point.encode_raw(out);
        out.extend_from_slice(attributes);
      });
    }
    cached_family.end(position);
    writer.end_metric();
  }
  cache.sweep();
  writer.finish()
}

/// Requests as they are filled: the metric being written, the request's metrics so far,
/// and the requests done.
struct Writer {
  /// `ResourceMetrics.resource` and `ScopeMetrics.scope`, as fields.
  resource: Vec<u8>,
  scope: Vec<u8>,
  max_points: usize,
  max_bytes: usize,
  done: Vec<Encoded>,
  /// The request's `Metric` fields so far, their points, and those points' baselines.
  metrics: Vec<u8>,
  points: usize,
  baselines: Vec<Acknowledged>,
  /// The metric being written: its header fields, its data's field number, its points
  /// and what its data message says after them.
  header: Vec<u8>,
  data_tag: u32,
  data: Vec<u8>,
  data_points: usize,
  trailer: Vec<u8>,
}

/// Bytes a field's key and length take at most around a body.
const FRAME: usize = 16;

impl Writer {
  fn new(origin: &Origin, max_points: usize, max_bytes: usize) -> Writer {
    let mut resource = Vec::new();
    message::encode(
      1,
      &Resource {
        attributes: origin.resource.clone(),
      },
      &mut resource,
    );
    let mut scope = Vec::new();
    message::encode(1, &origin.scope, &mut scope);
    Writer {
      resource,
      scope,
      max_points: max_points.max(1),
      max_bytes,
      done: vec![],
      metrics: vec![],
      points: 0,
      baselines: vec![],
      header: vec![],
      data_tag: 0,
      data: vec![],
      data_points: 0,
      trailer: vec![],
    }
  }

  fn begin(&mut self, header: Vec<u8>, data_tag: u32, trailer: Vec<u8>) {
    (self.header, self.data_tag, self.trailer) = (header, data_tag, trailer);
  }

  /// Writes a point of the current metric with `encode`, and its delta baseline if it
  /// has one; if it takes the request past a limit, it starts the next request instead.
  fn point(&mut self, baseline: Option<Acknowledged>, encode: impl FnOnce(&mut Vec<u8>)) {
    let before = self.data.len();
    encode(&mut self.data);
    let bytes = self.resource.len()
      + self.scope.len()
      + self.metrics.len()
      + self.header.len()
      + self.data.len()
      + self.trailer.len()
      + 4 * FRAME;
    let points = self.points + self.data_points;
    if points > 0 && (points + 1 > self.max_points || bytes > self.max_bytes) {
      let point = self.data.split_off(before);
      self.end_metric();
      self.end_request();
      self.data = point;
    }
    self.data_points += 1;
    // The request is the one the point went to: a metric's points so far are always in
    // the request being filled.
    self.baselines.extend(baseline);
  }

  /// Closes the current metric into the request, if it has points there.
  fn end_metric(&mut self) {
    if self.data_points == 0 {
      return;
    }
    let data_len = self.data.len() + self.trailer.len();
    let body_len =
      self.header.len() + key_len(self.data_tag) + encoded_len_varint(data_len as u64) + data_len;
    self.metrics.reserve(body_len + FRAME);
    encode_key(2, WireType::LengthDelimited, &mut self.metrics);
    encode_varint(body_len as u64, &mut self.metrics);
    self.metrics.extend_from_slice(&self.header);
    encode_key(self.data_tag, WireType::LengthDelimited, &mut self.metrics);
    encode_varint(data_len as u64, &mut self.metrics);
    self.metrics.extend_from_slice(&self.data);
    self.metrics.extend_from_slice(&self.trailer);
    self.points += self.data_points;
    self.data.clear();
    self.data_points = 0;
  }

  /// Closes the request, if it has points.
  fn end_request(&mut self) {
    if self.points == 0 {
      return;
    }
    let scope_metrics = self.scope.len() + self.metrics.len();
    let resource_metrics =
      self.resource.len() + key_len(2) + encoded_len_varint(scope_metrics as u64) + scope_metrics;
    let mut body = Vec::with_capacity(resource_metrics + FRAME);
    encode_key(1, WireType::LengthDelimited, &mut body);
    encode_varint(resource_metrics as u64, &mut body);
    body.extend_from_slice(&self.resource);
    encode_key(2, WireType::LengthDelimited, &mut body);
    encode_varint(scope_metrics as u64, &mut body);
    body.extend_from_slice(&self.scope);
    body.extend_from_slice(&self.metrics);
    self.done.push(Encoded {
      body,
      points: self.points,
      baselines: std::mem::take(&mut self.baselines),
    });
    self.metrics.clear();
    self.points = 0;
  }

  fn finish(mut self) -> Vec<Encoded> {
    self.end_metric();
    self.end_request();
    self.done
  }
}

#[cfg(test)]
pub(crate) mod testing {
  //! What tests of the direct writer share, its own and the exporters'.

  use prost::Message;

  use super::{Encoded, Origin};
  use crate::encode::otlp::model::{ExportMetricsServiceRequest, InstrumentationScope, KeyValue};
  use crate::encode::testing::def;
  use crate::kind::Kind;
  use crate::registry::{FamilyId, Registry};

  /// The metrics the tests count in: a counter, a gauge and a classic histogram, each
  /// with a label (ids in that order).
  pub fn define(r: &Registry) -> (FamilyId, FamilyId, FamilyId) {
    let jobs = r
      .define(def("jobs_total", "Jobs", Kind::Counter, &["queue"], &[]))
      .unwrap();
    let depth = r
      .define(def("depth", "", Kind::IntGauge, &["queue"], &[]))
      .unwrap();
    let latency = r
      .define(def(
        "lat_seconds",
        "Latency",
        Kind::Histogram,
        &["route"],
        &[0.1, 1.0],
      ))
      .unwrap();
    (jobs, depth, latency)
  }

  pub fn origin() -> Origin {
    Origin {
      resource: vec![KeyValue::new("service.name", "test")],
      scope: InstrumentationScope {
        name: "slotmetrics".into(),
        version: "1".into(),
      },
    }
  }

  /// Every request the direct writer made, decoded.
  pub fn decoded(requests: &[Encoded]) -> Vec<ExportMetricsServiceRequest> {
    requests
      .iter()
      .map(|r| ExportMetricsServiceRequest::decode(r.body.as_slice()).unwrap())
      .collect()
  }
}

#[cfg(test)]
mod tests {
  use super::testing::{decoded, define, origin};
  use super::*;
  use crate::encode::otlp::model::ExportMetricsServiceRequest;
  use crate::encode::otlp::{metrics, split};
  use crate::encode::testing::{add, def};
  use crate::registry::Registry;

  /// A registry of every kind, some series with labels that prom-client style leaves out.
  fn registry() -> Registry {
    let r = Registry::new();
    let stripe = r.striped.attach().unwrap();
    let (jobs, depth, lat) = define(&r);
    for i in 0..40 {
      let queue = format!("q{i}");
      add(&r, stripe, r.series(jobs, &[&queue]).unwrap().slot(), i as f64);
      add(&r, stripe, r.series(depth, &[&queue]).unwrap().slot(), 1.0);
      add(&r, stripe, r.series(lat, &[&queue]).unwrap().slot(), 2.0);
    }
    r
  }

  #[test]
  fn the_requests_are_the_model_s_messages_cut_at_the_same_points() {
    let r = registry();
    let namespace = r.namespace(crate::registry::DEFAULT_NAMESPACE).unwrap();
    let snapshot = Snapshot::take(&r, &namespace).unwrap();
    let origin = origin();
    let mut cache = SeriesCache::default();
    // Twice: the second export reads the attributes from the cache.
    for max_points in [usize::MAX, 7, 7] {
      let direct = requests(
        &snapshot,
        &origin,
        12.5,
        &mut cache,
        (max_points, usize::MAX),
        &|_| false,
      );
      let model: Vec<ExportMetricsServiceRequest> = split(metrics(&snapshot, 12.5), max_points, usize::MAX)
        .into_iter()
        .map(|group| origin.request(group))
        .collect();
      assert_eq!(decoded(&direct), model, "cut every {max_points} points");
      assert_eq!(direct.iter().map(|r| r.points).sum::<usize>(), 120);
    }
  }

  #[test]
  fn a_removed_series_moves_the_others_and_they_keep_their_attributes() {
    let r = registry();
    let jobs = r
      .define(def("jobs_total", "Jobs", Kind::Counter, &["queue"], &[]))
      .unwrap();
    let origin = origin();
    let mut cache = SeriesCache::default();
    let export = |cache: &mut SeriesCache| {
      let namespace = r.namespace(crate::registry::DEFAULT_NAMESPACE).unwrap();
      let snapshot = Snapshot::take(&r, &namespace).unwrap();
      let direct = requests(&snapshot, &origin, 3.0, cache, (usize::MAX, usize::MAX), &|_| {
        false
      });
      assert_eq!(decoded(&direct), vec![origin.request(metrics(&snapshot, 3.0))]);
      direct[0].points
    };
    assert_eq!(export(&mut cache), 120);
    r.remove_series(jobs, &["q3"]).unwrap();
    assert_eq!(export(&mut cache), 119);
  }

  #[test]
  fn requests_stay_within_the_byte_limit() {
    let r = registry();
    let namespace = r.namespace(crate::registry::DEFAULT_NAMESPACE).unwrap();
    let snapshot = Snapshot::take(&r, &namespace).unwrap();
    let mut cache = SeriesCache::default();
    let direct = requests(&snapshot, &origin(), 1.0, &mut cache, (usize::MAX, 900), &|_| {
      false
    });
    assert!(direct.len() > 3);
    assert!(
      direct.iter().all(|r| r.body.len() <= 900),
      "{:?}",
      direct.iter().map(|r| r.body.len()).collect::<Vec<_>>()
    );
    assert_eq!(direct.iter().map(|r| r.points).sum::<usize>(), 120);
  }

  #[test]
  fn the_cache_forgets_series_no_longer_seen() {
    let mut cache = SeriesCache::default();
    let r = registry();
    let namespace = r.namespace(crate::registry::DEFAULT_NAMESPACE).unwrap();
    let snapshot = Snapshot::take(&r, &namespace).unwrap();
    requests(
      &snapshot,
      &origin(),
      1.0,
      &mut cache,
      (usize::MAX, usize::MAX),
      &|_| false,
    );
    assert_eq!(cache.families.len(), 3);
    assert_eq!(
      cache.families.values().map(|f| f.series.len()).sum::<usize>(),
      120
    );
    let empty = Registry::new();
    let namespace = empty.namespace(crate::registry::DEFAULT_NAMESPACE).unwrap();
    let nothing = Snapshot::take(&empty, &namespace).unwrap();
    requests(
      &nothing,
      &origin(),
      2.0,
      &mut cache,
      (usize::MAX, usize::MAX),
      &|_| false,
    );
    assert!(cache.families.is_empty());
  }
}
