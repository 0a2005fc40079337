//! A defined metric with its series, and what `remove`, `reset` and `zero` leave of them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};

use super::{Definition, DerivedLabels};
use crate::exemplar::Exemplar;
use crate::kind::{Kind, Style};
use crate::native::SeriesWindows;
use crate::process::ProcessField;
use crate::slots::{self, Chunk};

/// A series taken back to zero by `remove`, `reset` or `zero`. A counter's or a
/// histogram's slots are written without locks by every thread, so they are not
/// cleared: the series remembers its totals at that moment and exposes what was added
/// since. A gauge's shared slot is simply set to 0.
pub(super) struct Restart {
  /// Slot totals at the restart (empty for a gauge).
  pub(super) baseline: Box<[f64]>,
  /// A native histogram's windows' slot totals at the restart, by first slot.
  pub(super) window_baselines: Vec<(u32, Box<[f64]>)>,
  /// Removed: not exposed until it is used again, that is registered again (another
  /// `with()` after the caller's cache forgot it) or seen changed by a scrape.
  pub(super) hidden: bool,
  /// When (seconds since the Unix epoch): the series' created timestamp from then on.
  pub(super) at: f64,
}

/// One series: its label set, already escaped, and where its value lives.
#[derive(Clone, Debug)]
pub struct Series {
  /// `k="v",k2="v2"` (static then dynamic labels), without braces; empty if none.
  /// Shared with the family's index, where it is the key.
  pub labels: Arc<str>,
  pub slot: u32,
  /// When it was first registered (seconds since the Unix epoch, by any process of a
  /// group): its created timestamp until it is restarted.
  pub created: f64,
}

/// A defined metric with its series.
pub struct Family {
  pub def: Definition,
  /// Set for a process figure: its one series' value is read from /proc at scrape time.
  pub process: Option<ProcessField>,
  /// The family name of the exposition: for a counter, its name without `_total`.
  pub base: String,
  /// Its number among the metrics of this registry's multi-process group, for a metric
  /// the group shares; its series are then registered through the group's journal.
  pub(super) group_number: Option<u32>,
  /// Histogram `le` values as written, the last one `+Inf`.
  pub bucket_labels: Vec<String>,
  /// Summary `quantile` values as written.
  pub quantile_labels: Vec<String>,
  /// Escaped label set → first slot. The escaped text identifies a label set as well
  /// as the values do (escaping is one-to-one and keys are fixed), and it is kept for
  /// the exposition anyway, so the values themselves are not stored. Hashed with
  /// foldhash, seeded per process: label values often come from requests, so the
  /// hasher must not be predictable, and it is several times cheaper than SipHash on
  /// short keys (every first use of a label set in a thread looks one up).
  pub(super) index: DashMap<Arc<str>, u32, foldhash::fast::RandomState>,
  /// Label sets registered (the overflow series not counted), against `def.max_series`.
  pub(super) registered: AtomicUsize,
  pub(super) overflowed: AtomicBool,
  /// Series in registration order, the order of the exposition. Copy on write: a
  /// scrape takes the current list in O(1) and encodes it with no lock held; the next
  /// registration after a scrape copies the list (no label text) before appending.
  pub(super) series: RwLock<Arc<Vec<Series>>>,
  /// Restarted series by first slot; `restarted` says whether there are any, so
  /// families never restarted cost a collection nothing.
  pub(super) restarts: Mutex<HashMap<u32, Restart>>,
  pub(super) restarted: AtomicBool,
  /// The last exemplar of each counter series or histogram bucket that has one, by slot.
  pub(super) exemplars: Mutex<HashMap<u32, Exemplar>>,
  /// A native histogram's windows of buckets, by series (first slot).
  pub(super) windows: Mutex<HashMap<u32, SeriesWindows>>,
  /// Once full: the `slotmetrics_series_overflow_total` family and the series of it
  /// that counts this metric's overflowing label sets (`Registry::count_overflow`).
  /// (The registry's count of default-namespace clears then, the series' first slot.)
  pub(super) overflow_count: Mutex<Option<(u64, u32)>>,
  /// Leased slots whose label set turned out to have a series already (another thread
  /// registered it first): a read adds their totals into the series'. `aliased` says
  /// whether there are any.
  pub(super) aliases: Mutex<Aliases>,
  pub(super) aliased: AtomicBool,
  /// The first slot of its overflow series once it has one (`NO_SERIES` before): a
  /// flood of label sets past the limit then skips building and looking up its labels.
  pub(super) overflow_series: AtomicU32,
  /// An OpenTelemetry instrument's attribute keys by the label names they are exposed
  /// under, where they differ (`Registry::name_attribute_key`).
  pub(super) attribute_keys: RwLock<HashMap<String, String>>,
  /// What the protobuf encoder derived from the series' label sets, built by the first
  /// protobuf scrape and extended by later ones.
  pub derived_labels: RwLock<DerivedLabels>,
}

/// A family's aliases, both ways: each alias's series, and each series' aliases (a reset
/// takes every series' baseline, and must not scan every alias for each).
#[derive(Default)]
pub(super) struct Aliases {
  /// First slot of an alias → first slot of its series.
  series: HashMap<u32, u32>,
  /// First slot of a series → its aliases.
  of_series: HashMap<u32, Vec<u32>>,
}

/// `Family::overflow_series` before there is one.
pub(super) const NO_SERIES: u32 = u32::MAX;

impl Family {
  /// The OpenTelemetry attribute key label `label` stands for: its own key where one
  /// was noted, else the label name.
  pub fn attribute_key<'a>(&self, label: &'a str) -> std::borrow::Cow<'a, str> {
    match self.attribute_keys.read().get(label) {
      Some(key) => std::borrow::Cow::Owned(key.clone()),
      None => std::borrow::Cow::Borrowed(label),
    }
  }

  /// Slots one series takes: a counter or gauge one; a histogram one per bucket
  /// (including `+Inf`, which a native histogram without classic buckets leaves
  /// unused) and one for the sum, and a native one its zero bucket (its other buckets
  /// are in windows of their own); a summary its count and its sum; a gauge
  /// with a value per process its value and whether the process has the series (see
  /// `Registry::series`).
  pub fn slots_per_series(&self) -> usize {
    match self.def.kind {
      Kind::Histogram => self.def.buckets.len() + 2 + usize::from(self.def.native.is_some()),
      Kind::Summary => 2,
      _ if self.def.gauge_mode.is_per_process() => 2,
      _ => 1,
    }
  }

  /// The name its 0.0.4 text gives its samples: a counter's with `_total`, but a
  /// counter made through the prom-client entry keeps the name it was given.
  pub fn sample_name(&self) -> String {
    match self.def.kind {
      Kind::Counter if self.def.style == Style::PromClient => self.def.name.clone(),
      Kind::Counter => format!("{}_total", self.base),
      _ => self.base.clone(),
    }
  }

  pub fn series(&self) -> Arc<Vec<Series>> {
    self.series.read().clone()
  }

  /// The first slot of its overflow series, if it has one yet.
  pub(super) fn overflow_slot(&self) -> Option<u32> {
    let slot = self.overflow_series.load(Ordering::Acquire);
    (slot != NO_SERIES).then_some(slot)
  }

  /// Whether JS may count this metric's new label sets in leased slots and leave their
  /// registration to a drain (`Registry::lease_series`): counters and classic
  /// histograms, whose slots only add up, so that a second slot for one label set can
  /// be added into the first. Gauges are set, summaries' windows and native histograms'
  /// buckets live by series, and a group's metrics register through its journal.
  pub(super) fn defers_registration(&self) -> bool {
    let summed = match self.def.kind {
      Kind::Counter => true,
      Kind::Histogram => self.def.native.is_none(),
      _ => false,
    };
    summed && self.group_number.is_none() && self.process.is_none()
  }

  /// The first slot of the series counted at `slot`: itself, or for an alias its series'.
  pub(super) fn series_of(&self, slot: u32) -> u32 {
    if !self.aliased.load(Ordering::Acquire) {
      return slot;
    }
    self.aliases.lock().series.get(&slot).copied().unwrap_or(slot)
  }

  /// Counts the leased slots from `alias` in the series at `series` from now on.
  pub(super) fn add_alias(&self, alias: u32, series: u32) {
    let mut aliases = self.aliases.lock();
    aliases.series.insert(alias, series);
    aliases.of_series.entry(series).or_default().push(alias);
    self.aliased.store(true, Ordering::Release);
  }

  /// The aliases of the series at `series`.
  pub(super) fn aliases_of(&self, series: u32) -> Vec<u32> {
    if !self.aliased.load(Ordering::Acquire) {
      return Vec::new();
    }
    self
      .aliases
      .lock()
      .of_series
      .get(&series)
      .cloned()
      .unwrap_or_default()
  }

  /// Adds each alias's slot totals into its series' in `striped` (the summed totals).
  pub fn fold_aliases(&self, striped: &mut [f64]) {
    if !self.aliased.load(Ordering::Acquire) {
      return;
    }
    let count = self.slots_per_series();
    for (&alias, &series) in self.aliases.lock().series.iter() {
      for offset in 0..count {
        let (from, to) = (alias as usize + offset, series as usize + offset);
        if let (Some(&value), true) = (striped.get(from), to < striped.len()) {
          striped[to] += value;
        }
      }
    }
  }

  /// Applies restarts to a collection: subtracts baselines from `striped` (the summed
  /// slot totals) and returns the first slots of the series to leave out, those
  /// removed and not used since (a removed series seen changed stays visible), and the
  /// restart time of each restarted series, by first slot.
  pub fn apply_restarts(
    &self,
    striped: &mut [f64],
    shared: &[&'static Chunk],
  ) -> (HashSet<u32>, HashMap<u32, f64>) {
    let mut hidden = HashSet::new();
    if !self.restarted.load(Ordering::Acquire) {
      return (hidden, HashMap::new());
    }
    let mut restarts = self.restarts.lock();
    let restarted_at = restarts
      .iter()
      .map(|(&slot, restart)| (slot, restart.at))
      .collect();
    for (&slot, restart) in restarts.iter_mut() {
      let unchanged = if self.def.kind.is_striped() {
        let cells = &mut striped[slot as usize..slot as usize + restart.baseline.len()];
        let unchanged = *cells == *restart.baseline;
        for (cell, base) in cells.iter_mut().zip(&restart.baseline) {
          *cell -= base;
        }
        for (first, baseline) in &restart.window_baselines {
          let cells = &mut striped[*first as usize..*first as usize + baseline.len()];
          for (cell, base) in cells.iter_mut().zip(baseline) {
            *cell -= base;
          }
        }
        unchanged
      } else {
        slots::load(shared, slot) == 0
      };
      if restart.hidden && unchanged {
        hidden.insert(slot);
      } else {
        restart.hidden = false;
      }
    }
    (hidden, restarted_at)
  }

  /// A copy of the exemplars, by slot (empty for most families, which have none).
  pub fn exemplars(&self) -> HashMap<u32, Exemplar> {
    self.exemplars.lock().clone()
  }

  /// A copy of a native histogram's windows, by series (empty for other families).
  pub fn windows(&self) -> HashMap<u32, SeriesWindows> {
    if self.def.native.is_none() {
      return HashMap::new();
    }
    self.windows.lock().clone()
  }

  pub fn has_exemplars(&self) -> bool {
    !self.exemplars.lock().is_empty()
  }

  /// What registering a label set in the overflow series at `slot` returns: `first` the
  /// first time this process does.
  pub(super) fn overflowed_at(&self, slot: u32) -> super::Registered {
    super::Registered::Overflow {
      slot,
      first: !self.overflowed.swap(true, Ordering::AcqRel),
    }
  }

  /// Marks a restarted series as used again, so it is exposed even at zero.
  pub(super) fn unhide(&self, slot: u32) {
    if self.restarted.load(Ordering::Acquire) {
      if let Some(restart) = self.restarts.lock().get_mut(&slot) {
        restart.hidden = false;
      }
    }
  }
}

/// The names a family's samples use, which no other family may also use (OpenMetrics
/// forbids clashes such as a gauge `x_total` beside a counter `x`).
pub(super) fn sample_names(kind: Kind, base: &str) -> Vec<String> {
  let suffixes: &[&str] = match kind {
    Kind::Counter => &["", "_total", "_created"],
    Kind::IntGauge | Kind::FloatGauge => &[""],
    Kind::Histogram => &["", "_bucket", "_count", "_sum", "_created"],
    Kind::Summary => &["", "_count", "_sum", "_created"],
  };
  suffixes.iter().map(|s| format!("{base}{s}")).collect()
}
