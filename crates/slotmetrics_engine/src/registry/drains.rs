//! What JS environments hand the engine through their rings (registrations, summary
//! observations, exemplars), drained here, and exemplars set by a call.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Family, FamilyId, Registry, RegistryError};
use crate::exemplar::{self, bucket_index, Exemplar};
use crate::kind::Kind;
use crate::rings::{self, EntryRing, RingKind, Rings};
use crate::summary::Window;

impl Registry {
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
  pub(super) fn drain_registrations(&self) -> usize {
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
  pub(super) fn counter_value(&self, family: &Family, slot: u32) -> Result<f64, RegistryError> {
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
