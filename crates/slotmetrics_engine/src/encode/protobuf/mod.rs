//! Protobuf exposition: one length-delimited `io.prometheus.client.MetricFamily` per
//! family, as Prometheus reads with `Accept:
//! application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`.
//!
//! Written straight to the wire, with no message built: each series' `Metric` into a
//! scratch buffer (its length then known), then with its length into the family's
//! buffer, which is handed on once complete, since the family's length comes first.
//! Memory during a scrape is about the largest family's encoding.
//!
//! A label set is read back from its text once: its `LabelPair` fields are kept with
//! the family (`DerivedLabels`) and copied by every later scrape, since reading the
//! text costs more than all the rest of a counter's `Metric`.

mod messages;
mod wire;

use std::io::{self, Write};

use parking_lot::{RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};

use super::{hand_on, renames_labels, PIECE_BYTES};
use crate::collect::{FamilySnapshot, Snapshot};
use crate::exemplar::Exemplar;
use crate::kind::{Kind, Style};
use crate::names::Escaping;
use crate::registry::{DerivedLabels, Series};
use messages::{
  put_label_pairs, Exemplars, FamilyHeader, LabelStyle, Metric, MetricValue, SeriesLabels, Timestamp,
};
use wire::{Message, Wire};

/// `MetricFamily`'s field of its metrics.
const METRIC_TAG: u32 = 4;

/// Encodes a snapshot as protobuf into `sink`, in pieces of about `PIECE_BYTES`.
pub(super) fn encode(snapshot: &Snapshot, escaping: Escaping, sink: &mut impl Write) -> io::Result<()> {
  let mut out = Vec::with_capacity(PIECE_BYTES + 4096);
  let (mut body, mut scratch) = (Vec::new(), Vec::new());
  for entry in &snapshot.families {
    let family = &entry.family;
    let name = exposed_name(entry);
    let name = escaping.metric_name(&name);
    body.clear();
    FamilyHeader {
      name: &name,
      help: &family.def.help,
      r#type: metric_type(family.def.kind),
    }
    .put(&mut body);
    let header_len = body.len();
    let defaults = snapshot.default_labels_for(family);
    let style = LabelStyle {
      defaults: &defaults,
      // Default labels first, but after a series' own in prom-client's style (except
      // on its histograms), as in the text.
      defaults_first: family.def.style != Style::PromClient || family.def.kind == Kind::Histogram,
      renames: renames_labels(family, &defaults, escaping).then_some(escaping),
    };
    let derived = style.renames.is_none().then(|| derived_labels(entry));
    let exemplar_of = |slot| entry.exemplar(slot);
    for (index, series) in entry.indexed_series() {
      let labels = match &derived {
        Some(derived) if index < derived.len() => SeriesLabels::Encoded(derived.get(index)),
        _ => SeriesLabels::Text(&series.labels),
      };
      if let Some(metric) = metric(snapshot, entry, series, labels, style, &exemplar_of, escaping) {
        scratch.clear();
        metric.put(&mut scratch);
        body.delimited(METRIC_TAG, scratch.len());
        body.extend_from_slice(&scratch);
      }
    }
    // Let go before the body is handed on, which waits for a slow client: a scrape
    // that has new series to derive must not wait for it too.
    drop(derived);
    // A family with no sample (no series yet) is left out, as Prometheus's own
    // clients do.
    if body.len() == header_len {
      continue;
    }
    out.varint(body.len() as u64);
    if out.len() + body.len() < PIECE_BYTES {
      out.extend_from_slice(&body);
      continue;
    }
    // A large family goes from its own buffer, in pieces, rather than copied.
    hand_on(&mut out, sink)?;
    for piece in body.chunks(PIECE_BYTES) {
      sink.write_all(piece)?;
      std::thread::yield_now();
    }
  }
  sink.write_all(&out)
}

/// The family's label pairs as the protobuf encoder derived them, first extended to
/// every series of the snapshot. Only label sets whose names are not renamed for a
/// scrape are kept, so one scrape's renames never reach another's.
fn derived_labels(entry: &FamilySnapshot) -> RwLockReadGuard<'_, DerivedLabels> {
  let listed = entry.listed_series();
  let derived = entry.family.derived_labels.upgradable_read();
  if derived.len() >= listed.len() {
    return RwLockUpgradableReadGuard::downgrade(derived);
  }
  let mut derived = RwLockUpgradableReadGuard::upgrade(derived);
  for series in &listed[derived.len()..] {
    if !derived.push(|wire| put_label_pairs(wire, &series.labels, None)) {
      break;
    }
  }
  RwLockWriteGuard::downgrade(derived)
}

/// A family's name before escaping. A counter is named as in 0.0.4 text: with
/// `_total`, or as given in prom-client's style.
fn exposed_name(entry: &FamilySnapshot) -> String {
  let family = &entry.family;
  match family.def.kind {
    Kind::Counter if family.def.style == Style::PromClient => family.def.name.clone(),
    Kind::Counter => format!("{}_total", family.base),
    _ => family.base.clone(),
  }
}

fn metric_type(kind: Kind) -> i32 {
  match kind {
    Kind::Counter => messages::COUNTER,
    Kind::IntGauge | Kind::FloatGauge => messages::GAUGE,
    Kind::Histogram => messages::HISTOGRAM,
    Kind::Summary => messages::SUMMARY,
  }
}

/// A series' `Metric`, or None if it has no sample.
fn metric<'a>(
  snapshot: &'a Snapshot,
  entry: &'a FamilySnapshot,
  series: &'a Series,
  labels: SeriesLabels<'a>,
  style: LabelStyle<'a>,
  exemplar_of: &'a dyn Fn(u32) -> Option<&'a Exemplar>,
  escaping: Escaping,
) -> Option<Metric<'a>> {
  let family = &entry.family;
  // Process figures count since their process started, which is not recorded here.
  let created = family
    .process
    .is_none()
    .then(|| Timestamp::from_seconds(entry.created(series)));
  let exemplars = Exemplars {
    first_slot: series.slot,
    of_slot: exemplar_of,
    escaping,
  };
  let value = MetricValue::new(&family.def, snapshot.value(entry, series), created, exemplars)?;
  Some(Metric { labels, style, value })
}

#[cfg(test)]
mod tests;
