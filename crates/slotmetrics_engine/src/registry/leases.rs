//! Label sets registered after JS first counts them: the first use of a label set
//! without a native call.
//!
//! A JS environment takes a lease on a metric: places under its series limit and the
//! slots of that many series. It counts a new label set in the next leased series' slots
//! at once and appends the label values to its ring of registrations
//! (`rings::REGISTRATIONS`); the engine registers them when it drains the rings, which
//! it does before anything reads the metric. A label set another thread registered
//! first keeps its series: the leased slots become an alias of it, added in at every
//! read, and the place goes back. Only metrics whose slots just add up take leases
//! (`Family::defers_registration`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use dashmap::Entry;

use super::definition::write_labels;
use super::{unix_now, Family, FamilyId, Registry, RegistryError};
use crate::rings::{self, RegistrationEntry};

type FoldHashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// Slots one lease spans at most: the allocator starts a lease that does not fit in
/// what is left of a chunk in the next one, and leaves the rest unused.
const LEASE_SLOTS: usize = crate::slots::CHUNK_SLOTS / 8;

/// What a request for a lease gets.
#[derive(Debug, PartialEq, Eq)]
pub enum LeaseAnswer {
  /// The first slot of the first series, and how many series (their slots follow one another).
  Granted { first: u32, series: u32 },
  /// The metric is full for now: register each label set by a call.
  Full,
  /// The metric never takes leases (see `Family::defers_registration`), or the registry
  /// is in a group.
  Never,
}

/// A lease a JS environment holds: places reserved under a metric's limit, and its use.
pub(super) struct Lease {
  family: FamilyId,
  granted: u32,
  used: u32,
}

impl Registry {
  /// A lease of up to `wanted` series of metric `id` for a JS environment.
  pub fn lease_series(&self, id: FamilyId, wanted: u32) -> Result<LeaseAnswer, RegistryError> {
    let family = self.family(id)?;
    if !self.takes_leases(&family) {
      return Ok(LeaseAnswer::Never);
    }
    let per_series = family.slots_per_series();
    let most = (wanted as usize).min((LEASE_SLOTS / per_series).max(1));
    let mut granted = 0;
    let reserved = family
      .registered
      .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
        granted = most.min(family.def.max_series.saturating_sub(n));
        (granted > 0).then_some(n + granted)
      });
    if reserved.is_err() {
      return Ok(LeaseAnswer::Full);
    }
    let first = match self.striped.allocate(granted * per_series) {
      Ok(first) => first,
      Err(e) => {
        family.registered.fetch_sub(granted, Ordering::AcqRel);
        return Err(e.into());
      }
    };
    let granted = granted as u32;
    self.leases.lock().insert(
      first,
      Lease {
        family: id,
        granted,
        used: 0,
      },
    );
    Ok(LeaseAnswer::Granted {
      first,
      series: granted,
    })
  }

  /// The slots one series of metric `id` spans, which a lease's series follow one
  /// another by, if JS may count its new label sets in leased slots; else None.
  pub fn leased_slots_per_series(&self, id: FamilyId) -> Result<Option<usize>, RegistryError> {
    let family = self.family(id)?;
    Ok(self.takes_leases(&family).then(|| family.slots_per_series()))
  }

  /// Whether a metric's new label sets may be counted in leased slots: not in a group,
  /// whose metrics register through its journal (see `Family::defers_registration`).
  fn takes_leases(&self, family: &Family) -> bool {
    #[cfg(unix)]
    if self.replica.is_some() {
      return false;
    }
    family.defers_registration()
  }

  /// Gives back what a torn-down environment's leases (their first slots) did not use:
  /// their places under the limits. Their ring was drained first.
  pub fn end_leases(&self, firsts: &[u32]) {
    let mut leases = self.leases.lock();
    for first in firsts {
      let Some(lease) = leases.remove(first) else {
        continue;
      };
      if let Ok(family) = self.family(lease.family) {
        family.registered.fetch_sub(
          lease.granted.saturating_sub(lease.used) as usize,
          Ordering::AcqRel,
        );
      }
    }
  }

  /// Registers the label sets of a ring's registration entries, oldest first.
  pub(super) fn apply_registrations(&self, entries: &[&[u8]]) {
    let mut families: FoldHashMap<u32, Option<Arc<Family>>> = FoldHashMap::default();
    // Series used per lease, counted under the lock once per pass.
    let mut used: FoldHashMap<u32, u32> = FoldHashMap::default();
    let created = unix_now();
    // Reused from entry to entry: a drain allocates a label set's text once, as its key.
    let mut values = Vec::new();
    let mut text = String::new();
    for entry in entries {
      let Some(registration) = rings::registration(entry, &mut values) else {
        continue;
      };
      // A metric id the registry does not know (JS never writes one) has nothing to register.
      let family = families
        .entry(registration.metric)
        .or_insert_with(|| self.family(registration.metric).ok());
      if let Some(family) = family {
        text.clear();
        self.register_leased(family, &registration, &values, &mut text, created);
      }
      *used.entry(registration.lease).or_default() += 1;
    }
    self.leases_used(used);
  }

  /// Lists a label set (`values`, its text made in `text`) at its leased slots, or makes
  /// them an alias of the series it has.
  fn register_leased(
    &self,
    family: &Family,
    registration: &RegistrationEntry,
    values: &[&str],
    text: &mut String,
    created: f64,
  ) {
    // JS wrote values its checks passed, as many as the metric has keys; were they not,
    // the label set is dropped and its place given back.
    if write_labels(&family.def, values, text).is_err() {
      family.registered.fetch_sub(1, Ordering::AcqRel);
      return;
    }
    match family.index.entry(Arc::from(text.as_str())) {
      Entry::Vacant(e) => self.list_series(family, e, registration.slot, created),
      Entry::Occupied(e) => {
        let series = *e.get();
        drop(e);
        family.unhide(series);
        family.add_alias(registration.slot, series);
        family.registered.fetch_sub(1, Ordering::AcqRel);
      }
    }
  }

  /// Counts series of leases (by their first slots) used; a lease used up is forgotten.
  fn leases_used(&self, used: FoldHashMap<u32, u32>) {
    let mut leases = self.leases.lock();
    for (first, count) in used {
      if let Some(lease) = leases.get_mut(&first) {
        lease.used += count;
        if lease.used >= lease.granted {
          leases.remove(&first);
        }
      }
    }
  }

  /// The totals of the series at `slot` now, its aliases' added in.
  pub(super) fn series_totals(
    &self,
    family: &Family,
    slot: u32,
  ) -> Result<Vec<f64>, crate::slots::SlotError> {
    let count = family.slots_per_series();
    let mut totals = self.striped.totals_of(slot, count)?;
    for alias in family.aliases_of(slot) {
      for (total, more) in totals.iter_mut().zip(self.striped.totals_of(alias, count)?) {
        *total += more;
      }
    }
    Ok(totals)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::kind::Kind;
  use crate::registry::Definition;
  use crate::rings::registration_entry as entry;
  use crate::slots::StripeId;

  fn counter(r: &Registry, name: &str, max_series: usize) -> FamilyId {
    r.define(Definition {
      dynamic_keys: vec!["route".into()],
      max_series,
      ..Definition::new(name, Kind::Counter)
    })
    .unwrap()
  }

  /// Adds to a slot of a stripe, as JS does.
  fn add(r: &Registry, stripe: StripeId, slot: u32, value: f64) {
    let (chunk, cell) = crate::slots::locate(slot);
    let cell = &r.striped.chunk(stripe, chunk).unwrap().cells()[cell];
    cell.store(
      (f64::from_bits(cell.load(Ordering::Relaxed)) + value).to_bits(),
      Ordering::Relaxed,
    );
  }

  fn granted(answer: Result<LeaseAnswer, RegistryError>) -> (u32, u32) {
    match answer.unwrap() {
      LeaseAnswer::Granted { first, series } => (first, series),
      other => panic!("no lease: {other:?}"),
    }
  }

  fn registered(r: &Registry, id: FamilyId) -> usize {
    r.family(id).unwrap().registered.load(Ordering::Acquire)
  }

  #[test]
  fn leased_label_sets_get_their_slots_or_add_into_the_series_they_have() {
    let r = Registry::new();
    let id = counter(&r, "leased_total", 100);
    let (a, series) = granted(r.lease_series(id, 4));
    let (b, _) = granted(r.lease_series(id, 4));
    assert_eq!((series, registered(&r, id)), (4, 8), "places reserved");
    let stripe = r.striped.attach().unwrap();
    // Two environments counted "/x" each in its own lease before either registered it.
    add(&r, stripe, a, 2.0);
    add(&r, stripe, a + 1, 1.0);
    add(&r, stripe, b, 3.0);
    let entries = [
      entry(id, a, a, &["/x"]),
      entry(id, a + 1, a, &["/y"]),
      entry(id, b, b, &["/x"]),
    ];
    r.apply_registrations(&entries.iter().map(Vec::as_slice).collect::<Vec<_>>());

    let family = r.family(id).unwrap();
    let series = family.series();
    let listed: Vec<_> = series.iter().map(|s| (s.labels.to_string(), s.slot)).collect();
    assert_eq!(
      listed,
      [
        (r#"route="/x""#.to_string(), a),
        (r#"route="/y""#.to_string(), a + 1)
      ]
    );
    let now = unix_now();
    assert!(
      series.iter().all(|s| s.created <= now && s.created > now - 60.0),
      "created when registered"
    );
    assert_eq!(family.series_of(b), a);
    assert_eq!(r.series_totals(&family, a).unwrap(), [5.0]);
    assert_eq!(r.series(id, &["/x"]).unwrap().slot(), a, "a call finds it too");
    assert_eq!(registered(&r, id), 7, "the alias gave its place back");
    r.end_leases(&[a, b]);
    assert_eq!(registered(&r, id), 2, "the unused places went back");

    // A restart and an exemplar through the alias count the series as a whole.
    r.remove_series(id, &["/x"]).unwrap();
    add(&r, stripe, b, 1.0);
    assert_eq!(r.counter_value(&family, a).unwrap(), 1.0);
    r.set_exemplar(id, b, vec![("trace_id".into(), "t1".into())], 1.0)
      .unwrap();
    assert!(family.exemplars().contains_key(&a));
  }

  #[test]
  fn leases_stop_at_the_limit_and_give_back_what_they_did_not_use() {
    let r = Registry::new();
    let id = counter(&r, "limited_total", 3);
    let (first, series) = granted(r.lease_series(id, 10));
    assert_eq!(series, 3);
    assert_eq!(r.lease_series(id, 10).unwrap(), LeaseAnswer::Full);
    assert!(matches!(
      r.series(id, &["late"]).unwrap(),
      crate::registry::Registered::Overflow { .. }
    ));
    r.apply_registrations(&[&entry(id, first, first, &["used"])[..]]);
    // An entry with the wrong number of values (JS never writes one) registers nothing.
    r.apply_registrations(&[&entry(id, first + 1, first, &["a", "b"])[..]]);
    assert_eq!(
      r.family(id).unwrap().series().len(),
      2,
      "\"used\" and the overflow series"
    );
    r.end_leases(&[first]);
    assert_eq!(registered(&r, id), 1);
    assert_eq!(granted(r.lease_series(id, 10)).1, 2);
  }

  #[test]
  fn only_metrics_whose_slots_add_up_take_leases() {
    let r = Registry::new();
    for kind in [Kind::IntGauge, Kind::FloatGauge, Kind::Summary] {
      let id = r
        .define(Definition {
          dynamic_keys: vec!["k".into()],
          ..Definition::new(format!("not_leased_{}", kind.describe().replace(' ', "_")), kind)
        })
        .unwrap();
      assert_eq!(r.lease_series(id, 4).unwrap(), LeaseAnswer::Never, "{kind:?}");
      assert_eq!(r.leased_slots_per_series(id).unwrap(), None, "{kind:?}");
    }
    let counter = counter(&r, "leased_total", 10);
    assert_eq!(r.leased_slots_per_series(counter).unwrap(), Some(1));
    let histogram = r
      .define(Definition {
        dynamic_keys: vec!["k".into()],
        buckets: vec![1.0, 2.0],
        ..Definition::new("leased_seconds", Kind::Histogram)
      })
      .unwrap();
    let (first, _) = granted(r.lease_series(histogram, 2));
    let (second, _) = granted(r.lease_series(histogram, 2));
    assert_eq!(
      second - first,
      2 * 4,
      "two series of two buckets, +Inf and sum each"
    );
    // What JS steps through a lease by.
    assert_eq!(r.leased_slots_per_series(histogram).unwrap(), Some(4));
  }
}
