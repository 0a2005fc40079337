//! The process-wide registry: metric definitions, and for each metric its series
//! (label values → slot index), grouped in namespaces (what JS calls a registry).
//!
//! Definitions are rare and serialised by one lock; series registration is the
//! concurrent path (any thread's first `with()` of a label set) and goes through a
//! per-metric `DashMap`, so threads registering different label sets rarely contend.
//!
//! Slots are never reused: any thread may hold a handle to any series for as long as
//! it likes. Removing or zeroing a series therefore restarts it in place (see
//! [`Restart`]), and clearing a namespace only unlists its metrics.
//!
//! In a multi-process group ([`Registry::in_group`]), the default namespace's metrics
//! and series are the group's: defined and registered through the group's journal, with
//! their slots in the group's files; summaries' digests and exemplars are published by
//! each process for the others (all in `replica`). Other namespaces, and what
//! `remove`, `reset` and `zero` do, stay this process's own.

mod definition;
mod family;
mod leases;
#[cfg(unix)]
mod replica;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use tdigest::TDigest;

use crate::exemplar::{self, bucket_index, Exemplar};
#[cfg(unix)]
use crate::group::GroupError;
use crate::kind::{Kind, Style};
use crate::native;
use crate::process::{ProcessField, PROCESS_METRICS};
use crate::rings::{self, DrainRequests, EntryRing, RingKind, Rings};
use crate::slots::{SharedSlots, SlotError, StripeId, StripedSlots};
use crate::summary::{quantiles_of, Window};
use crate::text::{format_js_number, format_number};

use definition::{
  check_label_name, describe, describe_difference, encode_labels, open_overflow_label, validate,
};
pub use definition::{Definition, Instrument};
use family::{sample_names, Restart};
pub use family::{Family, Series};
pub use leases::LeaseAnswer;
#[cfg(all(test, unix))]
pub(crate) use replica::two_members;
#[cfg(unix)]
use replica::{Record, Replica};

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

  /// Defines a metric in the default namespace (see `define_in`).
  pub fn define(&self, def: Definition) -> Result<FamilyId, RegistryError> {
    self.define_in(DEFAULT_NAMESPACE, def)
  }

  /// Defines a metric, or returns the existing one if an identical definition exists
  /// in the namespace.
  pub fn define_in(&self, namespace: NamespaceId, def: Definition) -> Result<FamilyId, RegistryError> {
    let shared = namespace == DEFAULT_NAMESPACE;
    self.define_from(&*self.namespace(namespace)?, def, None, shared)
  }

  /// Defines prom-client's process figures (read from /proc at scrape time) under
  /// `prefix`, each with `static_labels`. In a group's default namespace they are the
  /// group's, as its other metrics (their values the sums over its processes).
  pub fn define_process_metrics(
    &self,
    namespace: NamespaceId,
    prefix: &str,
    static_labels: &[(String, String)],
  ) -> Result<(), RegistryError> {
    let shared = namespace == DEFAULT_NAMESPACE;
    let namespace = self.namespace(namespace)?;
    for (field, name, kind, help) in PROCESS_METRICS {
      let def = Definition {
        help: help.to_string(),
        static_labels: static_labels.to_vec(),
        max_series: 1,
        ..Definition::new(format!("{prefix}{name}"), kind)
      };
      let id = self.define_from(&namespace, def, Some(field), shared)?;
      self.series(id, NO_LABELS)?;
    }
    Ok(())
  }

  /// Defines a metric in `namespace`; `shared`: in the group's journal too, when this
  /// registry is in a group.
  #[cfg_attr(not(unix), allow(unused_variables))]
  fn define_from(
    &self,
    namespace: &Namespace,
    def: Definition,
    process: Option<ProcessField>,
    shared: bool,
  ) -> Result<FamilyId, RegistryError> {
    let base = validate(&def)?;
    #[cfg(unix)]
    if let Some(replica) = self.replica.as_ref().filter(|_| shared) {
      let _changing = replica.files.lock.exclusive()?;
      let mut progress = self.catch_up_with(replica)?;
      let mut families = self.families.write();
      if let Some(id) = find_defined(namespace, &families, &def, &base, process)? {
        return Ok(id);
      }
      let number = progress.families.len() as u32;
      let record = Record::Define {
        definition: Box::new(def.clone()),
        process,
      };
      replica.append(&mut progress, &record)?;
      let id = create_family(namespace, &mut families, def, base, process, Some(number));
      progress.families.push(Some(id));
      return Ok(id);
    }
    let mut families = self.families.write();
    match find_defined(namespace, &families, &def, &base, process)? {
      Some(id) => Ok(id),
      None => Ok(create_family(namespace, &mut families, def, base, process, None)),
    }
  }

  /// Lists a defined metric in another namespace too, one metric exposed by both
  /// (prom-client's `registers: [a, b]`, `registerMetric()`, `Registry.merge()`).
  /// Listing it where it is already listed does nothing.
  pub fn list_in(&self, namespace: NamespaceId, id: FamilyId) -> Result<(), RegistryError> {
    let namespace = self.namespace(namespace)?;
    let families = self.families.write();
    let family = families
      .get(id as usize)
      .ok_or_else(|| RegistryError::Invalid(format!("no metric with id {id}")))?;
    match namespace.by_name.get(&family.base).map(|listed| *listed) {
      Some(listed) if listed == id => return Ok(()),
      Some(_) => {
        return Err(RegistryError::Conflict(format!(
          "a metric named \"{}\" is already registered",
          family.def.name
        )));
      }
      None => {}
    }
    check_sample_names(&namespace, &families, &family.def, &family.base)?;
    list(&namespace, id, family);
    Ok(())
  }

  /// The ids of the metrics listed in a namespace, in listing order.
  pub fn listed(&self, namespace: NamespaceId) -> Result<Vec<FamilyId>, RegistryError> {
    let namespace = self.namespace(namespace)?;
    let families = namespace.families.read();
    Ok(
      families
        .iter()
        .filter_map(|family| namespace.by_name.get(&family.base).map(|id| *id))
        .collect(),
    )
  }

  /// Takes a metric out of a namespace (prom-client's `removeSingleMetric()`), freeing
  /// its name there; its series keep counting. Returns whether it was listed.
  pub fn unlist(&self, namespace: NamespaceId, name: &str) -> Result<bool, RegistryError> {
    let namespace = self.namespace(namespace)?;
    let _definitions = self.families.write();
    let listed = namespace
      .families
      .read()
      .iter()
      .find(|f| f.def.name == name)
      .cloned();
    let Some(family) = listed else { return Ok(false) };
    namespace.by_name.remove(&family.base);
    for sample in sample_names(family.def.kind, &family.base) {
      namespace.sample_names.remove(&sample);
    }
    namespace.families.write().retain(|f| !Arc::ptr_eq(f, &family));
    Ok(true)
  }

  /// Unlists every metric of a namespace, freeing their names. Their series keep their
  /// slots (handles may still write to them) but are no longer exposed.
  pub fn clear(&self, namespace: NamespaceId) -> Result<(), RegistryError> {
    if namespace == DEFAULT_NAMESPACE {
      self.default_clears.fetch_add(1, Ordering::AcqRel);
    }
    let namespace = self.namespace(namespace)?;
    let _definitions = self.families.write();
    namespace.families.write().clear();
    namespace.by_name.clear();
    namespace.sample_names.clear();
    Ok(())
  }

  /// Replaces the labels added to every series of a namespace; a metric's own label of
  /// the same name wins over a default one.
  pub fn set_default_labels(
    &self,
    namespace: NamespaceId,
    labels: Vec<(String, String)>,
  ) -> Result<(), RegistryError> {
    for (i, (key, _)) in labels.iter().enumerate() {
      check_label_name(key, "in the default labels", false)?;
      if key == "le" || key == "quantile" {
        return Err(RegistryError::Invalid(format!(
          "default label name \"{key}\" is reserved for buckets and quantiles"
        )));
      }
      if labels[..i].iter().any(|(k, _)| k == key) {
        return Err(RegistryError::Invalid(format!(
          "default label name \"{key}\" appears twice"
        )));
      }
    }
    *self.namespace(namespace)?.default_labels.write() = Arc::new(labels);
    Ok(())
  }

  pub fn family(&self, id: FamilyId) -> Result<Arc<Family>, RegistryError> {
    self
      .families
      .read()
      .get(id as usize)
      .cloned()
      .ok_or_else(|| RegistryError::Invalid(format!("no metric with id {id}")))
  }

  /// Where the series with these dynamic label values lives, registering it on first
  /// use; a full metric sends new label sets to its overflow series.
  pub fn series(&self, id: FamilyId, values: &[impl AsRef<str>]) -> Result<Registered, RegistryError> {
    let family = self.family(id)?;
    let registered = self.find_or_register(&family, values)?;
    if family.def.gauge_mode.is_per_process() {
      // This process has the series from now on: its value, 0 until set, counts in the
      // group's (as a process that created a gauge's child does in prometheus_client's
      // multi-process mode).
      self.shared.store_own(registered.slot() + 1, 1)?;
    }
    Ok(registered)
  }

  fn find_or_register(
    &self,
    family: &Family,
    values: &[impl AsRef<str>],
  ) -> Result<Registered, RegistryError> {
    let labels = encode_labels(&family.def, values)?;
    if let Some(slot) = family.index.get(labels.as_str()).map(|slot| *slot) {
      family.unhide(slot);
      return Ok(Registered::Series(slot));
    }
    #[cfg(unix)]
    if let (Some(replica), Some(number)) = (&self.replica, family.group_number) {
      return self.series_in_group(replica, family, number, labels);
    }
    if family.registered.load(Ordering::Acquire) >= family.def.max_series {
      // Full, and the label set is not listed: the overflow series, without making its
      // key (a flood of new label sets past the limit must stay cheap). Had a thread
      // just listed this very set, taking the last place, it is counted in the
      // overflow series this once; the caller does not cache that answer.
      return self.overflow(family);
    }
    let registered = match family.index.entry(Arc::from(labels)) {
      dashmap::Entry::Occupied(e) => Some(*e.get()),
      dashmap::Entry::Vacant(e) => {
        // Reserve a place under the limit first, so racing threads cannot pass it.
        let max = family.def.max_series;
        if family
          .registered
          .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
          })
          .is_err()
        {
          None
        } else {
          let slot = self.allocate(family)?;
          self.list_series(family, e, slot, unix_now());
          Some(slot)
        }
      }
    };
    match registered {
      Some(slot) => Ok(Registered::Series(slot)),
      // After the entry's lock is released: the overflow series may live in the same shard.
      None => self.overflow(family),
    }
  }

  /// Hands out the slots of a new series of `family`.
  fn allocate(&self, family: &Family) -> Result<u32, RegistryError> {
    let count = family.slots_per_series();
    Ok(if family.def.kind.is_striped() {
      self.striped.allocate(count)?
    } else {
      self.shared.allocate(count)?
    })
  }

  /// Lists a new label set at its slots. Listed while its index entry is still locked:
  /// whoever finds the series in the index can count on a collection seeing it.
  fn list_series(
    &self,
    family: &Family,
    entry: dashmap::mapref::entry::VacantEntry<'_, Arc<str>, u32>,
    slot: u32,
    created: f64,
  ) {
    if family.def.kind == Kind::Summary {
      // As prom-client's: a metric's one series (defined with it) turns from its
      // definition, a label set's from its first observation.
      let labelled = !family.def.dynamic_keys.is_empty() || family.def.open_keys;
      let window = family.def.summary.window;
      self.windows.insert(
        slot,
        if labelled {
          Window::new(window)
        } else {
          Window::started(window)
        },
      );
    }
    Arc::make_mut(&mut family.series.write()).push(Series {
      labels: entry.key().clone(),
      slot,
      created,
    });
    entry.insert(slot);
  }

  /// The overflow series of a full metric (all dynamic labels `__overflow__`), or the
  /// error of a strict one.
  fn overflow(&self, family: &Family) -> Result<Registered, RegistryError> {
    if let Some(slot) = family.overflow_slot() {
      return Ok(family.overflowed_at(slot));
    }
    let labels: Arc<str> = Arc::from(overflow_labels(&family.def)?);
    let slot = match family.index.entry(labels) {
      dashmap::Entry::Occupied(e) => *e.get(),
      dashmap::Entry::Vacant(e) => {
        let slot = self.allocate(family)?;
        self.list_series(family, e, slot, unix_now());
        slot
      }
    };
    family.overflow_series.store(slot, Ordering::Release);
    Ok(family.overflowed_at(slot))
  }

  /// Counts a label set of metric `id` sent to its overflow series, in
  /// `slotmetrics_series_overflow_total{metric}` (defined in the default namespace on
  /// first need, and again after that namespace is cleared). Adds to stripe `stripe`,
  /// which must be the caller's own: no other thread writes it, and its JS is not
  /// running during the call. Done here rather than from JS so that an overflowing
  /// label set costs one native call, whatever clear() any thread made.
  pub fn count_overflow(&self, id: FamilyId, stripe: StripeId) -> Result<(), RegistryError> {
    let family = self.family(id)?;
    // The series this metric counts in, while the default namespace was not cleared since.
    let clears = self.default_clears.load(Ordering::Acquire);
    let known = *family.overflow_count.lock();
    let slot = match known {
      Some((counted_at, slot)) if counted_at == clears => slot,
      _ => {
        let listed = self
          .namespace(DEFAULT_NAMESPACE)?
          .by_name
          .get(OVERFLOW_COUNTER_BASE)
          .map(|id| *id);
        let counter = match listed {
          Some(counter) => counter,
          None => self.define(Definition {
            help: OVERFLOW_COUNTER_HELP.into(),
            dynamic_keys: vec!["metric".into()],
            // Its label values are metric names, which only definitions create: never
            // cap it, or it would overflow into itself.
            max_series: u32::MAX as usize,
            ..Definition::new(OVERFLOW_COUNTER, Kind::Counter)
          })?,
        };
        let slot = self.series(counter, &[family.def.name.as_str()])?.slot();
        *family.overflow_count.lock() = Some((clears, slot));
        slot
      }
    };
    let (chunk, cell) = crate::slots::locate(slot);
    let cell = &self.striped.chunk(stripe, chunk)?.cells()[cell];
    cell.store(
      (f64::from_bits(cell.load(Ordering::Relaxed)) + 1.0).to_bits(),
      Ordering::Relaxed,
    );
    Ok(())
  }

  /// Adds `amount` to the series `values` of the engine's own counter `name` (with
  /// dynamic keys `keys`), in the default namespace. The counter is defined again at
  /// each use (an identical definition finds it), so a cleared registry gets it back.
  /// Its slots are in a stripe of the engine's own, which no JS thread writes; the
  /// engine's threads add to it atomically, from any thread of its runtime.
  pub fn add_engine_count(
    &self,
    name: &str,
    help: &str,
    keys: &[&str],
    values: &[&str],
    amount: f64,
  ) -> Result<(), RegistryError> {
    let id = self.define_in(
      DEFAULT_NAMESPACE,
      Definition {
        help: help.into(),
        dynamic_keys: keys.iter().map(|k| k.to_string()).collect(),
        ..Definition::new(name, Kind::Counter)
      },
    )?;
    let slot = self.series(id, values)?.slot();
    let stripe = match self.engine_stripe.get() {
      Some(stripe) => *stripe,
      None => {
        let attached = self.striped.attach()?;
        *self.engine_stripe.get_or_init(|| attached)
      }
    };
    let (chunk, cell) = crate::slots::locate(slot);
    let cell = &self.striped.chunk(stripe, chunk)?.cells()[cell];
    let _ = cell.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
      Some((f64::from_bits(bits) + amount).to_bits())
    });
    Ok(())
  }

  /// Notes that label `label` of metric `id` is the OpenTelemetry attribute `key`
  /// (`http_route` is `http.route`): an OTLP export gives the attribute its own key.
  /// The first key noted for a label stays.
  pub fn name_attribute_key(&self, id: FamilyId, label: &str, key: &str) -> Result<(), RegistryError> {
    let family = self.family(id)?;
    if family.attribute_keys.read().contains_key(label) {
      return Ok(());
    }
    family
      .attribute_keys
      .write()
      .entry(label.to_string())
      .or_insert_with(|| key.to_string());
    Ok(())
  }

  /// prom-client's `remove(labels)`: the series is no longer exposed until it is used
  /// again, and then counts from zero. Unknown label sets are ignored.
  pub fn remove_series(&self, id: FamilyId, values: &[impl AsRef<str>]) -> Result<(), RegistryError> {
    self.drain_registrations();
    let family = self.family(id)?;
    let labels = encode_labels(&family.def, values)?;
    let slot = family.index.get(labels.as_str()).map(|slot| *slot);
    if let Some(slot) = slot {
      self.restart(&family, slot, true)?;
    }
    Ok(())
  }

  /// prom-client's `zero(labels)`: the series, registered if new, is exposed at zero.
  pub fn zero_series(&self, id: FamilyId, values: &[impl AsRef<str>]) -> Result<Registered, RegistryError> {
    self.drain_registrations();
    let registered = self.series(id, values)?;
    // A label set sent to the overflow series does not wipe what that series counted.
    if let Registered::Series(slot) = registered {
      self.restart(&*self.family(id)?, slot, false)?;
    }
    Ok(registered)
  }

  /// prom-client's `reset()`: every series removed, or for a metric without dynamic
  /// labels (but a prom-client histogram) and for a summary, zeroed.
  pub fn reset(&self, id: FamilyId) -> Result<(), RegistryError> {
    self.drain_registrations();
    self.reset_family(&*self.family(id)?)
  }

  /// `reset()` of every metric of a namespace but process figures (prom-client's
  /// `resetMetrics()`).
  pub fn reset_all(&self, namespace: NamespaceId) -> Result<(), RegistryError> {
    self.drain_registrations();
    for family in self
      .namespace(namespace)?
      .families()
      .iter()
      .filter(|f| f.process.is_none())
    {
      self.reset_family(family)?;
    }
    Ok(())
  }

  fn reset_family(&self, family: &Family) -> Result<(), RegistryError> {
    // prom-client's reset() of a summary zeroes its series; of other metrics with
    // labels, it removes them, and of a histogram its one series too (it shows again
    // at its next observation).
    let remove = (!family.def.dynamic_keys.is_empty() && family.def.kind != Kind::Summary)
      || (family.def.kind == Kind::Histogram && family.def.style == Style::PromClient);
    for series in family.series().iter() {
      let hidden = remove || self.still_removed(family, series.slot)?;
      self.restart(family, series.slot, hidden)?;
    }
    Ok(())
  }

  /// Whether a series was removed and not used since: zeroing it keeps it removed.
  fn still_removed(&self, family: &Family, slot: u32) -> Result<bool, SlotError> {
    let restarts = family.restarts.lock();
    let Some(restart) = restarts.get(&slot).filter(|r| r.hidden) else {
      return Ok(false);
    };
    Ok(!family.def.kind.is_striped() || *self.series_totals(family, slot)? == *restart.baseline)
  }

  fn restart(&self, family: &Family, slot: u32, hidden: bool) -> Result<(), SlotError> {
    let mut restarts = family.restarts.lock();
    let baseline = if family.def.kind.is_striped() {
      self.series_totals(family, slot)?.into_boxed_slice()
    } else if family.def.gauge_mode.is_per_process() {
      // Only this process's value: another's is its own to reset.
      self.shared.store_own(slot, 0)?;
      Box::default()
    } else {
      self.shared.store(slot, 0)?;
      Box::default()
    };
    if self.windows.contains_key(&slot) {
      // Observations made before the restart, still in rings, go in the old window.
      self.drain_rings();
      if let Some(mut window) = self.windows.get_mut(&slot) {
        window.reset();
      }
    }
    let mut window_baselines = Vec::new();
    if let Some(windows) = family.windows.lock().get(&slot) {
      for window in windows.positive.iter().chain(&windows.negative) {
        let totals = self.striped.totals_of(window.slot, window.width as usize)?;
        window_baselines.push((window.slot, totals.into_boxed_slice()));
      }
    }
    let slots = slot..slot + family.slots_per_series() as u32;
    family
      .exemplars
      .lock()
      .retain(|exemplar_slot, _| !slots.contains(exemplar_slot));
    restarts.insert(
      slot,
      Restart {
        baseline,
        window_baselines,
        hidden,
        at: unix_now(),
      },
    );
    family.restarted.store(true, Ordering::Release);
    Ok(())
  }

  /// The window of buckets a JS thread counts an observation of `value` in, for the
  /// native histogram series at `slot`: the series' newest window of that sign if it
  /// covers the value's bucket (another thread or process may have made it), else a new
  /// one (see `native::next_window`), placed around the buckets the series uses. In a
  /// multi-process group the new window goes through the group's journal.
  pub fn native_window(&self, id: FamilyId, slot: u32, value: f64) -> Result<native::Window, RegistryError> {
    let family = self.family(id)?;
    let def = &family.def;
    let Some(options) = def.native else {
      return Err(RegistryError::Invalid(format!(
        "metric \"{}\" has no native buckets",
        def.name
      )));
    };
    if !value.is_finite() || value.abs() <= options.zero_threshold {
      return Err(RegistryError::Invalid(format!(
        "native histogram \"{}\": {} belongs in no window (the zero bucket holds up to {})",
        def.name,
        format_number(value),
        format_number(options.zero_threshold)
      )));
    }
    #[cfg(unix)]
    if let (Some(replica), Some(number)) = (&self.replica, family.group_number) {
      let _changing = replica.files.lock.exclusive()?;
      let mut progress = self.catch_up_with(replica)?;
      return self.place_window(&family, options, slot, value, |window| {
        let record = Record::Window {
          family: number,
          series: slot,
          negative: value < 0.0,
          window,
        };
        Ok(replica.append(&mut progress, &record)?)
      });
    }
    self.place_window(&family, options, slot, value, |_| Ok(()))
  }

  /// What `native_window` does once it may change the series' windows: `record` is
  /// called with a new window before it is used.
  fn place_window(
    &self,
    family: &Family,
    options: native::NativeOptions,
    slot: u32,
    value: f64,
    record: impl FnOnce(native::Window) -> Result<(), RegistryError>,
  ) -> Result<native::Window, RegistryError> {
    let mut all = family.windows.lock();
    let windows = all.entry(slot).or_default().of_sign(value < 0.0);
    let schema = windows.last().map_or(options.schema, |w| w.schema);
    let index = native::bucket_index(value.abs(), schema, native::bounds_of(schema));
    if let Some(newest) = windows.last().filter(|w| w.covers(index)) {
      return Ok(*newest);
    }
    // The buckets in use, at this schema.
    let mut used: Option<(i32, i32)> = None;
    for window in windows.iter() {
      let totals = self.striped.totals_of(window.slot, window.width as usize)?;
      for (offset, _) in totals.iter().enumerate().filter(|(_, count)| **count != 0.0) {
        let at = native::lower_index(window.first + offset as i32, window.schema - schema);
        used = Some(used.map_or((at, at), |(low, high)| (low.min(at), high.max(at))));
      }
    }
    let (schema, first) = native::next_window(schema, index, used, options.max_buckets);
    let window = native::Window {
      schema,
      first,
      slot: self.striped.allocate(options.max_buckets as usize)?,
      width: options.max_buckets,
    };
    record(window)?;
    windows.push(window);
    Ok(window)
  }

  /// A ring of `kind` for a new JS environment (see `rings`); the first also starts the
  /// thread that drains every ring promptly (see `drain_promptly`).
  pub fn attach_ring(&'static self, kind: RingKind) -> std::io::Result<Arc<EntryRing>> {
    static DRAINING: std::sync::Once = std::sync::Once::new();
    let mut started = Ok(());
    DRAINING.call_once(|| {
      started = std::thread::Builder::new()
        .name("slotmetrics-rings".into())
        .spawn(move || self.drain_promptly())
        .map(drop);
    });
    started?;
    Ok(self.rings(kind).attach())
  }

  /// The draining thread: every `PROMPTLY` while entries come; asleep when none do,
  /// until JS publishes one (see `rings`), a ring fills up, or a second passes (so
  /// sliding windows still turn however rarely metrics are read).
  fn drain_promptly(&self) -> ! {
    const PROMPTLY: std::time::Duration = std::time::Duration::from_millis(10);
    let all = [
      RingKind::Registrations,
      RingKind::Observations,
      RingKind::Exemplars,
    ];
    // See `rings`: woken, this thread must not preempt JS. Should the call fail, it
    // keeps the default policy.
    #[cfg(target_os = "linux")]
    {
      let param = libc::sched_param { sched_priority: 0 };
      // SAFETY: a valid sched_param; pid 0 is the calling thread.
      unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    }
    loop {
      if self.drain_rings() > 0 {
        self.drain_requests.wait(PROMPTLY);
        continue;
      }
      all.iter().for_each(|kind| self.rings(*kind).want_wake(true));
      // An entry published before its ring's word was set did not wake anyone.
      if !all.iter().any(|kind| self.rings(*kind).have_entries()) {
        self.drain_requests.wait(std::time::Duration::from_secs(1));
      }
      all.iter().for_each(|kind| self.rings(*kind).want_wake(false));
    }
  }

  /// Drains a torn-down environment's ring and keeps it for the next environment.
  pub fn detach_ring(&self, kind: RingKind, ring: &Arc<EntryRing>) {
    match kind {
      RingKind::Registrations => self
        .registration_rings
        .detach(ring, |entries| self.apply_registrations(entries)),
      RingKind::Observations => self
        .observation_rings
        .detach(ring, |entries| self.apply_observations(entries)),
      RingKind::Exemplars => self
        .exemplar_rings
        .detach(ring, |entries| self.apply_exemplars(entries, exemplar::now())),
    }
  }

  /// Asks the draining thread to drain every ring now: a JS thread's is filling up.
  pub fn request_ring_drain(&self) {
    self.drain_requests.request();
  }

  /// Makes room in one environment's ring, which its JS found full: drains a pass of it
  /// (`rings::PASS` entries), the oldest. The draining thread takes the rest.
  pub fn drain_ring(&self, kind: RingKind, ring: &EntryRing) {
    match kind {
      RingKind::Observations => {
        ring.drain_pass(|entries| self.apply_observations(entries));
      }
      RingKind::Exemplars => {
        // An exemplar may be on a series still in a registration ring.
        self.drain_registrations();
        ring.drain_pass(|entries| self.apply_exemplars(entries, exemplar::now()));
      }
      RingKind::Registrations => {
        ring.drain_pass(|entries| self.apply_registrations(entries));
      }
    }
  }

  /// Drains every environment's rings into the quantile windows and the exemplars:
  /// before they are read. Returns how many entries there were.
  pub fn drain_rings(&self) -> usize {
    let mut drained = self.drain_registrations();
    // Window lookups per pass (`apply_observations`): no window stays locked while the
    // drain lock is awaited again (its JS thread may be draining into that window).
    self
      .observation_rings
      .for_each_live(|ring| drained += ring.drain_batch(|entries| self.apply_observations(entries)));
    let now = exemplar::now();
    self
      .exemplar_rings
      .for_each_live(|ring| drained += ring.drain_batch(|entries| self.apply_exemplars(entries, now)));
    drained
  }

  /// Registers every label set JS counted in leased slots: before anything reads or
  /// changes a series by its label set or slot. Returns how many there were.
  fn drain_registrations(&self) -> usize {
    let mut drained = 0;
    self
      .registration_rings
      .for_each_live(|ring| drained += ring.drain_batch(|entries| self.apply_registrations(entries)));
    drained
  }

  fn rings(&self, kind: RingKind) -> &Rings {
    match kind {
      RingKind::Observations => &self.observation_rings,
      RingKind::Exemplars => &self.exemplar_rings,
      RingKind::Registrations => &self.registration_rings,
    }
  }

  /// A ring's exemplar entries, oldest first. Only the newest for each counter series or
  /// histogram bucket is kept, so only it is applied: the others cost a lookup. JS
  /// checked labels and values; a metric gone since (its registry cleared) has nothing
  /// to set them on. They are stamped `timestamp`: when the engine took them in.
  fn apply_exemplars(&self, entries: &[&[u8]], timestamp: f64) {
    let mut families: HashMap<u32, Option<Arc<Family>>> = HashMap::new();
    let mut applied = std::collections::HashSet::new();
    for entry in entries.iter().rev() {
      let (metric, slot, value) = rings::exemplar_target(entry);
      let Some(family) = families.entry(metric).or_insert_with(|| self.family(metric).ok()) else {
        continue;
      };
      let Ok(target) = exemplar_place(family, slot, value) else {
        continue;
      };
      if !applied.insert((metric, target)) {
        continue;
      }
      let Some(exemplar) = rings::exemplar(entry) else {
        continue;
      };
      let _ = keep_exemplar(family, target, exemplar.labels, exemplar.value, timestamp);
    }
  }

  /// Adds a drain pass's observations to the windows of their series: one lookup for a
  /// run of entries of the same series, the clock read once. JS checked the values; a
  /// series whose window is gone (its registry was cleared meanwhile) has nothing to
  /// add its entries to. No window stays locked past the pass (a JS thread may be
  /// waiting for the ring's drain lock to drain into that window).
  fn apply_observations(&self, entries: &[&[u8]]) {
    let now = crate::clock::now_ms();
    let mut current: Option<(u32, Option<dashmap::mapref::one::RefMut<'_, u32, Window>>)> = None;
    for entry in entries {
      let (slot, value) = rings::observation(entry);
      if current.as_ref().is_none_or(|(at, _)| *at != slot) {
        // The previous series' window is unlocked before the next one is locked.
        drop(current.take());
        current = Some((slot, self.windows.get_mut(&slot)));
      }
      if let Some((_, Some(window))) = current.as_mut() {
        window.observe_at(now, value);
      }
    }
  }

  /// Adds an observation to the quantile window of the summary series at `slot`, as a
  /// drained ring entry does (tests; JS's observations arrive through rings).
  #[cfg(test)]
  pub(crate) fn observe_summary(&self, slot: u32, value: f64) -> Result<(), RegistryError> {
    match self.windows.get_mut(&slot) {
      Some(mut window) if value.is_finite() => {
        window.observe(value);
        Ok(())
      }
      Some(_) => Err(RegistryError::Invalid(format!(
        "a summary observation must be a finite number, got {value}"
      ))),
      None => Err(RegistryError::Invalid(format!(
        "no summary series at slot {slot}"
      ))),
    }
  }

  /// Sets the exemplar of the counter series at `slot`, or of the bucket `value` falls
  /// in of the histogram series there. JS has counted the value already.
  pub fn set_exemplar(
    &self,
    id: FamilyId,
    slot: u32,
    labels: Vec<(String, String)>,
    value: f64,
  ) -> Result<(), RegistryError> {
    // The series may still be in the caller's registration ring.
    self.drain_registrations();
    self.set_exemplar_at(id, slot, labels, value, crate::exemplar::now())
  }

  /// `set_exemplar` stamped `timestamp` (seconds since the Unix epoch): an exemplar set
  /// from a ring, stamped when JS wrote it. An exemplar already there that is newer
  /// (another thread's, drained first) stays.
  pub fn set_exemplar_at(
    &self,
    id: FamilyId,
    slot: u32,
    labels: Vec<(String, String)>,
    value: f64,
    timestamp: f64,
  ) -> Result<(), RegistryError> {
    let family = self.family(id)?;
    let target = exemplar_place(&family, slot, value)?;
    keep_exemplar(&family, target, labels, value, timestamp)
  }

  /// `set_exemplar` on a counter series with its value now as the exemplar's value
  /// (@prometheus-io/client 0.16; prom-client 15 gives the increment): its slot summed
  /// over every stripe, less what a restart left behind.
  pub fn set_exemplar_at_total(
    &self,
    id: FamilyId,
    slot: u32,
    labels: Vec<(String, String)>,
  ) -> Result<(), RegistryError> {
    let family = self.family(id)?;
    if family.def.kind != Kind::Counter {
      return Err(RegistryError::Invalid(format!(
        "metric \"{}\" is {}; an exemplar at the series' total goes on a counter",
        family.def.name,
        family.def.kind.describe()
      )));
    }
    self.drain_registrations();
    let value = self.counter_value(&family, family.series_of(slot))?;
    self.set_exemplar_at(id, slot, labels, value, crate::exemplar::now())
  }

  /// A counter series' value now: its slot summed over every stripe, less what a
  /// restart left behind.
  fn counter_value(&self, family: &Family, slot: u32) -> Result<f64, RegistryError> {
    let total = self.series_totals(family, slot)?[0];
    let baseline = if family.restarted.load(Ordering::Acquire) {
      let restarts = family.restarts.lock();
      restarts
        .get(&slot)
        .and_then(|restart| restart.baseline.first().copied())
    } else {
      None
    };
    Ok(total - baseline.unwrap_or(0.0))
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

/// The slot an exemplar on the series counted at `slot` of `family` is kept under: the
/// series' first slot, or for a histogram the bucket `value` falls in.
fn exemplar_place(family: &Family, slot: u32, value: f64) -> Result<u32, RegistryError> {
  let series = family.series_of(slot);
  match family.def.kind {
    Kind::Counter => Ok(series),
    Kind::Histogram => Ok(series + bucket_index(&family.def.buckets, value) as u32),
    kind => Err(RegistryError::Invalid(format!(
      "metric \"{}\" is {}; exemplars go on counters and histograms",
      family.def.name,
      kind.describe()
    ))),
  }
}

/// Keeps an exemplar at `target` of `family`, unless the one there is newer (another
/// thread's, drained first).
fn keep_exemplar(
  family: &Family,
  target: u32,
  labels: Vec<(String, String)>,
  value: f64,
  timestamp: f64,
) -> Result<(), RegistryError> {
  let exemplar = Exemplar::new(labels, value, timestamp)
    .map_err(|why| RegistryError::Invalid(format!("metric \"{}\": {why}", family.def.name)))?;
  let mut exemplars = family.exemplars.lock();
  if exemplars
    .get(&target)
    .is_none_or(|last| last.timestamp <= timestamp)
  {
    exemplars.insert(target, exemplar);
  }
  Ok(())
}

/// The label text of a full metric's overflow series, or the error of a strict metric.
fn overflow_labels(def: &Definition) -> Result<String, RegistryError> {
  if def.strict {
    return Err(RegistryError::Capacity(format!(
      "metric \"{}\" has reached its limit of {} series; this label set was refused",
      def.name, def.max_series
    )));
  }
  if def.open_keys {
    return encode_labels(def, &open_overflow_label(def));
  }
  encode_labels(def, &vec![OVERFLOW_VALUE; def.dynamic_keys.len()])
}

/// The metric a definition names in a namespace if it is the same one (`Some`), `None`
/// if the definition is new there, or why it conflicts with what is there.
fn find_defined(
  namespace: &Namespace,
  families: &[Arc<Family>],
  def: &Definition,
  base: &str,
  process: Option<ProcessField>,
) -> Result<Option<FamilyId>, RegistryError> {
  if let Some(id) = namespace.by_name.get(base).map(|id| *id) {
    let family = &families[id as usize];
    let existing = &family.def;
    let difference = match (family.process.is_some(), process.is_some()) {
      (true, false) => Some("is yours, and the name belongs to a default process metric".to_string()),
      (false, true) => Some("is a default process metric, and a metric of yours has the name".to_string()),
      _ => describe_difference(existing, def),
    };
    return match difference {
      None => Ok(Some(id)),
      Some(why) => Err(RegistryError::Conflict(format!(
        "metric \"{}\" is already defined as {}; this definition {}",
        def.name,
        describe(existing),
        why
      ))),
    };
  }
  check_sample_names(namespace, families, def, base)?;
  Ok(None)
}

/// Adds a checked new definition to the registry and lists it in `namespace`;
/// `group_number`: its number among the group's metrics, if it is one.
fn create_family(
  namespace: &Namespace,
  families: &mut Vec<Arc<Family>>,
  def: Definition,
  base: String,
  process: Option<ProcessField>,
  group_number: Option<u32>,
) -> FamilyId {
  let id = families.len() as FamilyId;
  let bucket_label = if def.style == Style::PromClient {
    format_js_number
  } else {
    format_number
  };
  let bucket_labels = def
    .buckets
    .iter()
    .map(|b| bucket_label(*b))
    .chain(["+Inf".to_string()])
    .collect();
  let quantile_labels = def.summary.quantiles.iter().map(|q| bucket_label(*q)).collect();
  let family = Arc::new(Family {
    def,
    process,
    base,
    group_number,
    bucket_labels,
    quantile_labels,
    index: DashMap::default(),
    registered: AtomicUsize::new(0),
    overflowed: AtomicBool::new(false),
    series: RwLock::default(),
    restarts: Mutex::default(),
    restarted: AtomicBool::new(false),
    exemplars: Mutex::default(),
    overflow_count: Mutex::default(),
    windows: Mutex::default(),
    aliases: Mutex::default(),
    aliased: AtomicBool::new(false),
    overflow_series: AtomicU32::new(family::NO_SERIES),
    attribute_keys: RwLock::default(),
  });
  list(namespace, id, &family);
  families.push(family);
  id
}

/// Refuses a definition whose samples would share a name with a listed metric's
/// (OpenMetrics forbids clashes such as a gauge `x_total` beside a counter `x`).
fn check_sample_names(
  namespace: &Namespace,
  families: &[Arc<Family>],
  def: &Definition,
  base: &str,
) -> Result<(), RegistryError> {
  for name in sample_names(def.kind, base) {
    if let Some(owner) = namespace.sample_names.get(&name) {
      let owner = &families[*owner as usize].def;
      return Err(RegistryError::Conflict(format!(
        "metric \"{}\" would expose samples named \"{name}\", which {} \"{}\" already exposes",
        def.name,
        owner.kind.describe(),
        owner.name
      )));
    }
  }
  Ok(())
}

/// Lists a family in a namespace; its names have been checked.
fn list(namespace: &Namespace, id: FamilyId, family: &Arc<Family>) {
  for name in sample_names(family.def.kind, &family.base) {
    namespace.sample_names.insert(name, id);
  }
  namespace.by_name.insert(family.base.clone(), id);
  namespace.families.write().push(family.clone());
}

/// Seconds since the Unix epoch, as created timestamps are kept.
fn unix_now() -> f64 {
  std::time::SystemTime::now()
    .duration_since(std::time::UNIX_EPOCH)
    .map_or(0.0, |since| since.as_secs_f64())
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::summary::SummaryOptions;

  fn def(name: &str, kind: Kind, keys: &[&str]) -> Definition {
    Definition {
      dynamic_keys: keys.iter().map(|k| k.to_string()).collect(),
      ..Definition::new(name, kind)
    }
  }

  #[test]
  fn same_definition_is_same_metric() {
    let r = Registry::new();
    let a = r
      .define(def("requests_total", Kind::Counter, &["method"]))
      .unwrap();
    let b = r
      .define(def("requests_total", Kind::Counter, &["method"]))
      .unwrap();
    assert_eq!(a, b);
    let s1 = r.series(a, &["GET"]).unwrap().slot();
    let s2 = r.series(b, &["GET"]).unwrap().slot();
    let s3 = r.series(b, &["POST"]).unwrap().slot();
    assert_eq!(s1, s2);
    assert_ne!(s1, s3);
    assert_eq!(r.family(a).unwrap().series().len(), 2);
  }

  #[test]
  fn conflicting_definitions_are_refused() {
    let r = Registry::new();
    r.define(def("jobs", Kind::Counter, &["queue"])).unwrap();
    let e = r.define(def("jobs", Kind::FloatGauge, &["queue"])).unwrap_err();
    assert_eq!(
      e,
      RegistryError::Conflict(
        "metric \"jobs\" is already defined as a counter with labels [queue]; this definition is a float gauge".into()
      )
    );
    let e = r
      .define(def("jobs_total", Kind::Counter, &["queue", "tenant"]))
      .unwrap_err();
    assert!(e.to_string().contains("has dynamic keys [queue, tenant]"), "{e}");
    // A gauge named like the counter's samples clashes in the exposition.
    let e = r.define(def("jobs_total", Kind::FloatGauge, &[])).unwrap_err();
    assert!(e.to_string().contains("samples named \"jobs_total\""), "{e}");
    let e = r.define(def("latency_count", Kind::IntGauge, &[])).map(|_| ());
    assert!(e.is_ok());
    let e = r
      .define(Definition {
        buckets: vec![1.0],
        ..def("latency", Kind::Histogram, &[])
      })
      .unwrap_err();
    assert!(e.to_string().contains("\"latency_count\""), "{e}");
  }

  #[test]
  fn bad_definitions_name_the_problem() {
    let r = Registry::new();
    let msg = |d: Definition| match r.define(d) {
      Err(RegistryError::Invalid(m)) => m,
      other => panic!("expected Invalid, got {other:?}"),
    };
    assert!(msg(def("9lives", Kind::Counter, &[])).contains("invalid metric name \"9lives\""));
    assert!(msg(def("_total", Kind::Counter, &[])).contains("nothing before"));
    assert!(msg(def("a", Kind::Counter, &["bad-key"])).contains("invalid label name \"bad-key\""));
    assert!(msg(def("a", Kind::Counter, &["__x"])).contains("reserved"));
    assert!(msg(def("a", Kind::Histogram, &["le"])).contains("\"le\" is reserved"));
    assert!(msg(def("a", Kind::Counter, &["k", "k"])).contains("appears twice"));
    let h = |b: Vec<f64>| Definition {
      buckets: b,
      ..def("h", Kind::Histogram, &[])
    };
    assert!(msg(h(vec![1.0, 1.0])).contains("increase strictly"));
    assert!(msg(h(vec![f64::NAN])).contains("not finite"));
    assert!(msg(h(vec![1.0, f64::INFINITY])).contains("not finite"));
    let s = |quantiles: Vec<f64>| Definition {
      summary: SummaryOptions {
        quantiles,
        ..Default::default()
      },
      ..def("s", Kind::Summary, &[])
    };
    assert!(msg(s(vec![0.5, 1.5])).contains("quantile 1.5 of summary \"s\" is not between 0 and 1"));
    assert!(msg(s(vec![f64::NAN])).contains("quantile NaN"));
    assert!(msg(s(vec![0.5, 0.9, 0.5])).contains("quantile 0.5 of summary \"s\" appears twice"));
    assert!(msg(def("s", Kind::Summary, &["quantile"])).contains("\"quantile\" is reserved"));
    let quantiles_on_a_counter = Definition {
      summary: s(vec![0.5]).summary,
      ..def("c", Kind::Counter, &[])
    };
    assert!(msg(quantiles_on_a_counter).contains("takes no quantiles"));
  }

  #[test]
  fn series_get_escaped_labels_and_slots() {
    let r = Registry::new();
    let id = r
      .define(Definition {
        static_labels: vec![("service".into(), "a\"b".into())],
        buckets: vec![0.5, 1.0],
        ..def("lat", Kind::Histogram, &["route"])
      })
      .unwrap();
    let first = r.series(id, &["/x\n\\"]).unwrap().slot();
    let second = r.series(id, &["/y"]).unwrap().slot();
    assert_eq!(second - first, 4, "2 buckets + +Inf + sum");
    let f = r.family(id).unwrap();
    assert_eq!(&*f.series()[0].labels, r#"service="a\"b",route="/x\n\\""#);
    assert_eq!(f.bucket_labels, ["0.5", "1", "+Inf"]);
    let e = r.series(id, NO_LABELS).unwrap_err();
    assert!(
      e.to_string()
        .contains("takes 1 dynamic label values (route), got 0"),
      "{e}"
    );
  }

  #[test]
  fn a_full_metric_counts_new_label_sets_in_its_overflow_series() {
    let r = Registry::new();
    let id = r
      .define(Definition {
        max_series: 2,
        ..def("capped_total", Kind::Counter, &["user", "kind"])
      })
      .unwrap();
    let a = r.series(id, &["a", "x"]).unwrap();
    let b = r.series(id, &["b", "x"]).unwrap();
    assert!(matches!((&a, &b), (Registered::Series(_), Registered::Series(_))));
    let c = r.series(id, &["c", "x"]).unwrap();
    let d = r.series(id, &["d", "x"]).unwrap();
    let overflow = c.slot();
    assert_eq!(
      c,
      Registered::Overflow {
        slot: overflow,
        first: true
      }
    );
    assert_eq!(
      d,
      Registered::Overflow {
        slot: overflow,
        first: false
      }
    );
    assert_eq!(
      r.series(id, &["a", "x"]).unwrap(),
      a,
      "known label sets still count"
    );
    let labels: Vec<String> = r
      .family(id)
      .unwrap()
      .series()
      .iter()
      .map(|s| s.labels.to_string())
      .collect();
    assert_eq!(
      labels,
      [
        r#"user="a",kind="x""#,
        r#"user="b",kind="x""#,
        r#"user="__overflow__",kind="__overflow__""#
      ]
    );

    let strict = r
      .define(Definition {
        max_series: 1,
        strict: true,
        ..def("strict_total", Kind::Counter, &["k"])
      })
      .unwrap();
    r.series(strict, &["1"]).unwrap();
    assert_eq!(
      r.series(strict, &["2"]),
      Err(RegistryError::Capacity(
        "metric \"strict_total\" has reached its limit of 1 series; this label set was refused".into()
      ))
    );
    let e = r
      .define(Definition {
        max_series: 5,
        ..def("capped_total", Kind::Counter, &["user", "kind"])
      })
      .unwrap_err();
    assert!(
      e.to_string().contains("has a limit of 5 series instead of 2"),
      "{e}"
    );
  }

  #[test]
  fn overflowing_label_sets_are_counted_again_after_the_namespace_is_cleared() {
    let r = Registry::new();
    let stripe = r.striped.attach().unwrap();
    let overflowed = |r: &Registry| {
      let counter = *r
        .namespace(DEFAULT_NAMESPACE)
        .unwrap()
        .by_name
        .get(OVERFLOW_COUNTER_BASE)
        .unwrap();
      let family = r.family(counter).unwrap();
      let series = family.series();
      series
        .iter()
        .map(|s| (s.labels.to_string(), r.striped.totals_of(s.slot, 1).unwrap()[0]))
        .collect::<Vec<_>>()
    };
    let full = |r: &Registry, name: &str| {
      let id = r
        .define(Definition {
          max_series: 1,
          ..def(name, Kind::Counter, &["k"])
        })
        .unwrap();
      r.series(id, &["kept"]).unwrap();
      id
    };
    let id = full(&r, "before_total");
    for value in ["a", "b"] {
      assert!(matches!(
        r.series(id, &[value]).unwrap(),
        Registered::Overflow { .. }
      ));
      r.count_overflow(id, stripe).unwrap();
    }
    assert_eq!(overflowed(&r), [(r#"metric="before_total""#.to_string(), 2.0)]);
    r.clear(DEFAULT_NAMESPACE).unwrap();
    let again = full(&r, "after_total");
    r.series(again, &["c"]).unwrap();
    r.count_overflow(again, stripe).unwrap();
    r.count_overflow(id, stripe).unwrap();
    assert_eq!(
      overflowed(&r),
      [
        (r#"metric="after_total""#.to_string(), 1.0),
        (r#"metric="before_total""#.to_string(), 1.0)
      ],
      "the counter listed anew counts every metric from then on"
    );
  }

  #[test]
  fn racing_threads_never_pass_the_limit() {
    let r = Arc::new(Registry::new());
    let id = r
      .define(Definition {
        max_series: 100,
        ..def("raced_total", Kind::Counter, &["k"])
      })
      .unwrap();
    let threads: Vec<_> = (0..8)
      .map(|t| {
        let r = r.clone();
        std::thread::spawn(move || {
          (0..200)
            .filter(|i| {
              matches!(
                r.series(id, &[format!("{t}-{i}")]).unwrap(),
                Registered::Series(_)
              )
            })
            .count()
        })
      })
      .collect();
    let registered: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(registered, 100);
    assert_eq!(
      r.family(id).unwrap().series().len(),
      101,
      "100 series and the overflow series"
    );
  }

  #[test]
  fn concurrent_registration_agrees() {
    let r = Arc::new(Registry::new());
    let id = r.define(def("c_total", Kind::Counter, &["k"])).unwrap();
    let slots: Vec<Vec<u32>> = (0..4)
      .map(|_| {
        let r = r.clone();
        std::thread::spawn(move || {
          (0..500)
            .map(|i| r.series(id, &[format!("{}", i % 100)]).unwrap().slot())
            .collect()
        })
      })
      .collect::<Vec<_>>()
      .into_iter()
      .map(|t| t.join().unwrap())
      .collect();
    assert!(slots.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(r.family(id).unwrap().series().len(), 100);
  }

  fn open_def(name: &str, kind: Kind, utf8_names: bool, max_series: usize) -> Definition {
    Definition {
      open_keys: true,
      utf8_names,
      max_series,
      ..Definition::new(name, kind)
    }
  }

  fn labels_of(r: &Registry, id: FamilyId) -> Vec<String> {
    let family = r.family(id).unwrap();
    family.series().iter().map(|s| s.labels.to_string()).collect()
  }

  #[test]
  fn open_keys_name_labels_per_series_in_any_order() {
    let r = Registry::new();
    let id = r
      .define(open_def("otel_requests_total", Kind::Counter, false, 10))
      .unwrap();
    let a = r.series(id, &["method", "GET", "code", "200"]).unwrap().slot();
    let b = r.series(id, &["code", "200", "method", "GET"]).unwrap().slot();
    let c = r.series(id, &["method", "GET"]).unwrap().slot();
    let none: [&str; 0] = [];
    let d = r.series(id, &none).unwrap().slot();
    assert_eq!(a, b, "one label set whatever the order");
    assert_ne!(a, c);
    assert_eq!(
      labels_of(&r, id),
      [r#"code="200",method="GET""#, r#"method="GET""#, ""]
    );
    assert_ne!(c, d);
  }

  #[test]
  fn open_keys_refuse_bad_pairs_and_reserved_names() {
    let r = Registry::new();
    let id = r
      .define(open_def("otel_latency", Kind::Histogram, false, 10))
      .unwrap();
    let error = |values: &[&str]| r.series(id, values).unwrap_err().to_string();
    assert!(error(&["route"]).contains("in pairs, got 1 strings"));
    assert!(error(&["a", "1", "a", "2"]).contains("label name \"a\" appears twice"));
    assert!(error(&["le", "1"]).contains("\"le\" is reserved on histogram"));
    assert!(error(&["__name__", "x"]).contains("reserved"));
    assert!(error(&["http.route", "/"]).contains("invalid label name \"http.route\""));
    assert!(labels_of(&r, id).is_empty(), "nothing registered");
    let fixed = Definition {
      dynamic_keys: vec!["k".into()],
      ..open_def("otel_both", Kind::Counter, false, 10)
    };
    assert!(r
      .define(fixed)
      .unwrap_err()
      .to_string()
      .contains("takes no dynamic keys"));
  }

  #[test]
  fn open_keys_overflow_to_the_otel_overflow_series() {
    let r = Registry::new();
    let legacy = r
      .define(open_def("otel_a_total", Kind::Counter, false, 1))
      .unwrap();
    let utf8 = r.define(open_def("otel.b", Kind::Counter, true, 1)).unwrap();
    for id in [legacy, utf8] {
      r.series(id, &["k", "1"]).unwrap();
      assert!(matches!(
        r.series(id, &["k", "2"]).unwrap(),
        Registered::Overflow { .. }
      ));
    }
    assert_eq!(labels_of(&r, legacy)[1], r#"otel_metric_overflow="true""#);
    assert_eq!(labels_of(&r, utf8)[1], r#""otel.metric.overflow"="true""#);
  }
}
