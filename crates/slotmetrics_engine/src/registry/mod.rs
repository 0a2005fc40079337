//! The process-wide registry: metric definitions, and for each metric its series
//! (label values → slot index), grouped in namespaces (what JS calls a registry).
//!
//! Definitions are rare and serialised by one lock; series registration is the
//! concurrent path (any thread's first `with()` of a label set) and goes through a
//! per-metric `DashMap`, so threads registering different label sets rarely contend.
//!
//! Slots are never reused: any thread may hold a handle to any series for as long as
//! it likes. Removing or zeroing a series therefore restarts it in place (see
//! `family::Restart`), and clearing a namespace only unlists its metrics. By concern:
//! `namespaces` defines and lists metrics, `series` registers label sets, `drains` takes
//! in what JS environments hand over through their rings, `leases` counts new series
//! in leased slots before they are registered.
//!
//! In a multi-process group ([`Registry::in_group`]), the default namespace's metrics
//! and series are the group's: defined and registered through the group's journal, with
//! their slots in the group's files; summaries' digests and exemplars are published by
//! each process for the others (all in `replica`). Other namespaces, and what
//! `remove`, `reset` and `zero` do, stay this process's own.

mod definition;
mod derived_labels;
mod drains;
mod family;
mod leases;
mod namespaces;
#[cfg(unix)]
mod replica;
mod series;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use tdigest::TDigest;

use crate::exemplar::Exemplar;
#[cfg(unix)]
use crate::group::GroupError;
use crate::rings::{self, DrainRequests, Rings};
use crate::slots::{SharedSlots, SlotError, StripeId, StripedSlots};
use crate::summary::{quantiles_of, Window};

pub use definition::{Definition, Instrument};
pub use derived_labels::DerivedLabels;
pub use family::{Family, Series};
pub use leases::LeaseAnswer;
#[cfg(all(test, unix))]
pub(crate) use replica::two_members;
#[cfg(unix)]
use replica::Replica;

/// Series a metric may have unless its schema says otherwise (`setCardinalityLimit`).
pub static DEFAULT_MAX_SERIES: AtomicUsize = AtomicUsize::new(10_000);

/// The label values of a series of a metric without dynamic labels.
pub const NO_LABELS: &[&str] = &[];

/// The dynamic label value of a metric's overflow series.
pub const OVERFLOW_VALUE: &str = "__overflow__";

/// The counter of label sets sent to overflow series, by metric (`count_overflow`).
pub const OVERFLOW_COUNTER: &str = "slotmetrics_series_overflow_total";
const OVERFLOW_COUNTER_BASE: &str = "slotmetrics_series_overflow";
const OVERFLOW_COUNTER_HELP: &str =
  "Label sets counted in a metric's __overflow__ series because it had reached its series limit";

/// Where a label set was registered.
#[derive(Debug, PartialEq, Eq)]
pub enum Registered {
  Series(u32),
  /// The metric was full: the slot of its overflow series; `first` on the first time.
  Overflow {
    slot: u32,
    first: bool,
  },
}

impl Registered {
  /// The first slot of the series the values are counted in.
  pub fn slot(&self) -> u32 {
    match *self {
      Registered::Series(slot) | Registered::Overflow { slot, .. } => slot,
    }
  }
}

/// Why a definition or a series was refused. `Invalid` is a bad argument (a JS
/// `TypeError`); `Conflict` and `Capacity` are states of the registry, and `Storage` a
/// failure of a multi-process group's files (each a JS `Error`).
#[derive(Debug, PartialEq)]
pub enum RegistryError {
  Invalid(String),
  Conflict(String),
  Capacity(String),
  Storage(String),
}

impl fmt::Display for RegistryError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      RegistryError::Invalid(m)
      | RegistryError::Conflict(m)
      | RegistryError::Capacity(m)
      | RegistryError::Storage(m) => f.write_str(m),
    }
  }
}

impl From<SlotError> for RegistryError {
  fn from(e: SlotError) -> Self {
    match e {
      #[cfg(unix)]
      SlotError::Group(e) => e.into(),
      e => RegistryError::Capacity(e.to_string()),
    }
  }
}

#[cfg(unix)]
impl From<GroupError> for RegistryError {
  fn from(e: GroupError) -> Self {
    RegistryError::Storage(e.to_string())
  }
}

pub type FamilyId = u32;

/// What the other live processes of a multi-process group published last (see
/// `replica`): empty outside a group.
#[derive(Default)]
pub struct Published {
  /// Summaries' digests by first slot, one per process that has observations.
  pub digests: HashMap<u32, Vec<TDigest>>,
  /// The newest exemplar of each slot.
  pub exemplars: HashMap<u32, Exemplar>,
}

/// A namespace's index in the registry; JS's default `registry` is namespace 0.
pub type NamespaceId = u32;
pub const DEFAULT_NAMESPACE: NamespaceId = 0;

/// A set of metrics exposed together (a JS `Registry`): metric names are unique within
/// it, and its default labels go on each of its series. Its families share the
/// process's slot memory and family ids with every other namespace.
#[derive(Default)]
pub struct Namespace {
  /// Labels added to every series at scrape time (prom-client's default labels).
  default_labels: RwLock<Arc<Vec<(String, String)>>>,
  /// Its families in definition order; changed only under the registry's definition lock.
  families: RwLock<Vec<Arc<Family>>>,
  by_name: DashMap<String, FamilyId>,
  /// Every sample name in use, with the family that owns it.
  sample_names: DashMap<String, FamilyId>,
}

impl Namespace {
  pub fn families(&self) -> Vec<Arc<Family>> {
    self.families.read().clone()
  }

  pub fn default_labels(&self) -> Arc<Vec<(String, String)>> {
    self.default_labels.read().clone()
  }
}

pub struct Registry {
  /// Every family ever defined, by id. Its write lock serialises definitions.
  families: RwLock<Vec<Arc<Family>>>,
  namespaces: RwLock<Vec<Arc<Namespace>>>,
  pub striped: StripedSlots,
  pub shared: SharedSlots,
  /// The quantile window of every summary series, by first slot (hashed with foldhash:
  /// slots do not come from requests, and a drain looks a window up at every change of
  /// series among its entries).
  windows: DashMap<u32, Window, foldhash::fast::FixedState>,
  /// The JS environments' rings of summary observations (drained into `windows`) and
  /// of exemplars, and the draining thread's requests (see `rings`).
  observation_rings: Rings,
  exemplar_rings: Rings,
  /// Label sets JS counted in leased slots, and the leases it holds (see `leases`).
  registration_rings: Rings,
  leases: Mutex<HashMap<u32, leases::Lease>>,
  /// How many times the default namespace was cleared: a metric's cached series of
  /// `slotmetrics_series_overflow_total` is good while this has not changed.
  default_clears: AtomicU64,
  drain_requests: DrainRequests,
  /// The stripe of the engine's own counters (`add_engine_count`), attached on first use.
  engine_stripe: std::sync::OnceLock<StripeId>,
  /// The group whose metrics the default namespace holds, if any.
  #[cfg(unix)]
  replica: Option<Replica>,
}

impl Default for Registry {
  fn default() -> Self {
    Self::new()
  }
}

impl Registry {
  /// A registry of this process only.
  pub fn new() -> Self {
    Registry::over(StripedSlots::new(), SharedSlots::new())
  }

  /// A registry over this slot memory, in no group (yet).
  fn over(striped: StripedSlots, shared: SharedSlots) -> Self {
    Registry {
      families: RwLock::new(Vec::new()),
      namespaces: RwLock::new(vec![Arc::default()]),
      striped,
      shared,
      windows: DashMap::default(),
      observation_rings: Rings::new(rings::OBSERVATIONS),
      exemplar_rings: Rings::new(rings::EXEMPLARS),
      registration_rings: Rings::new(rings::REGISTRATIONS),
      leases: Mutex::default(),
      default_clears: AtomicU64::new(0),
      drain_requests: DrainRequests::default(),
      engine_stripe: std::sync::OnceLock::new(),
      #[cfg(unix)]
      replica: None,
    }
  }

  /// The process ids of the group's live members (this one included), when this
  /// registry is in a group.
  pub fn group_pids(&self) -> Option<Vec<u32>> {
    #[cfg(unix)]
    if let Some(replica) = &self.replica {
      let members = replica.files.table.processes().into_iter();
      return Some(
        members
          .filter(|(_, id)| id.is_alive())
          .map(|(_, id)| id.pid)
          .collect(),
      );
    }
    None
  }

  /// The directory of this registry's multi-process group, if it is a group's.
  pub fn group_path(&self) -> Option<std::path::PathBuf> {
    #[cfg(unix)]
    return self
      .replica
      .as_ref()
      .map(|replica| replica.files.dir.path().to_path_buf());
    #[cfg(not(unix))]
    None
  }

  /// Whether this registry is the metric set of a multi-process group.
  pub fn in_a_group(&self) -> bool {
    #[cfg(unix)]
    return self.replica.is_some();
    #[cfg(not(unix))]
    false
  }

  /// Applies what other processes of the group defined and registered since the last
  /// call (nothing to do outside a group). A read of the metrics calls it first.
  pub fn catch_up(&self) -> Result<(), SlotError> {
    #[cfg(unix)]
    if let Some(replica) = &self.replica {
      drop(self.catch_up_with(replica)?);
    }
    Ok(())
  }

  /// A new empty namespace.
  pub fn create_namespace(&self) -> NamespaceId {
    let mut namespaces = self.namespaces.write();
    namespaces.push(Arc::default());
    (namespaces.len() - 1) as NamespaceId
  }

  pub fn namespace(&self, id: NamespaceId) -> Result<Arc<Namespace>, RegistryError> {
    self
      .namespaces
      .read()
      .get(id as usize)
      .cloned()
      .ok_or_else(|| RegistryError::Invalid(format!("no registry with id {id}")))
  }

  pub fn family(&self, id: FamilyId) -> Result<Arc<Family>, RegistryError> {
    self
      .families
      .read()
      .get(id as usize)
      .cloned()
      .ok_or_else(|| RegistryError::Invalid(format!("no metric with id {id}")))
  }

  /// Publishes this process's summaries' windows and exemplars for the other processes
  /// of its group, whose reads merge them with their own (nothing to do alone).
  pub fn publish(&self) -> Result<(), SlotError> {
    #[cfg(unix)]
    if let Some(replica) = &self.replica {
      self.drain_rings();
      let digests: Vec<(u32, TDigest)> = self
        .windows
        .iter_mut()
        .map(|mut window| (*window.key(), window.digest()))
        .filter(|(_, digest)| !digest.is_empty())
        .collect();
      let families = self.families.read().clone();
      let exemplars: Vec<(u32, Exemplar)> = families.iter().flat_map(|family| family.exemplars()).collect();
      replica.publish(&digests, &exemplars)?;
    }
    Ok(())
  }

  /// Publishes every `PUBLISH_PERIOD` from a thread of its own, for the life of the
  /// process, while it has summaries or exemplars (or had them at the last publication).
  pub fn keep_publishing(&'static self) -> std::io::Result<()> {
    #[cfg(unix)]
    std::thread::Builder::new()
      .name("slotmetrics-publish".into())
      .spawn(move || {
        let mut published_something = false;
        loop {
          std::thread::sleep(replica::PUBLISH_PERIOD);
          let families = self.families.read().clone();
          let something = !self.windows.is_empty() || families.iter().any(|f| f.has_exemplars());
          if something || published_something {
            // A failure (the group's files) leaves the last publication in place.
            let _ = self.publish();
          }
          published_something = something;
        }
      })?;
    Ok(())
  }

  /// What the other processes of the group published last (nothing alone).
  pub fn published(&self) -> Result<Published, SlotError> {
    #[cfg(unix)]
    if let Some(replica) = &self.replica {
      return Ok(replica.published()?);
    }
    Ok(Published::default())
  }

  /// The quantiles of a summary's series, by first slot, over this process's window and
  /// the digests other processes `published`: `None` for a series with no observation
  /// in any. A family that prunes such series has them removed.
  pub fn summary_quantiles(
    &self,
    family: &Family,
    published: &HashMap<u32, Vec<TDigest>>,
  ) -> Result<HashMap<u32, Option<Vec<f64>>>, SlotError> {
    let options = &family.def.summary;
    let mut quantiles = HashMap::new();
    for series in family.series().iter() {
      let Some(own) = self.windows.get_mut(&series.slot).map(|mut w| w.digest()) else {
        continue;
      };
      let mut digests = vec![own];
      digests.extend(published.get(&series.slot).into_iter().flatten().cloned());
      let values = quantiles_of(digests, &options.quantiles, family.def.style);
      if values.is_none() && options.prune_empty {
        self.restart(family, series.slot, true)?;
      }
      quantiles.insert(series.slot, values);
    }
    Ok(quantiles)
  }
}

/// Seconds since the Unix epoch, as created timestamps are kept.
fn unix_now() -> f64 {
  std::time::SystemTime::now()
    .duration_since(std::time::UNIX_EPOCH)
    .map_or(0.0, |since| since.as_secs_f64())
}

#[cfg(test)]
mod tests;
