//! Series: registering label sets (up to a metric's limit, then its overflow series),
//! removing, zeroing and resetting them, and native histograms' bucket windows.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::definition::{encode_labels, open_overflow_label};
use super::family::{Restart, Series};
#[cfg(unix)]
use super::replica::Record;
use super::{
  unix_now, Definition, Family, FamilyId, NamespaceId, Registered, Registry, RegistryError,
  DEFAULT_NAMESPACE, OVERFLOW_COUNTER, OVERFLOW_COUNTER_BASE, OVERFLOW_COUNTER_HELP, OVERFLOW_VALUE,
};
use crate::kind::{Kind, Style};
use crate::native;
use crate::slots::{SlotError, StripeId};
use crate::summary::Window;
use crate::text::format_number;

impl Registry {
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
  pub(super) fn allocate(&self, family: &Family) -> Result<u32, RegistryError> {
    let count = family.slots_per_series();
    Ok(if family.def.kind.is_striped() {
      self.striped.allocate(count)?
    } else {
      self.shared.allocate(count)?
    })
  }

  /// Lists a new label set at its slots. Listed while its index entry is still locked:
  /// whoever finds the series in the index can count on a collection seeing it.
  pub(super) fn list_series(
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

  pub(super) fn restart(&self, family: &Family, slot: u32, hidden: bool) -> Result<(), SlotError> {
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
}

/// The label text of a full metric's overflow series, or the error of a strict metric.
pub(super) fn overflow_labels(def: &Definition) -> Result<String, RegistryError> {
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
