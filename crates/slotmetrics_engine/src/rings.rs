//! Rings of fixed-size entries through which JS hands the engine updates it applies
//! later, one ring per JS environment and kind: summary observations (for the
//! quantile windows), exemplars, and label sets JS counts in leased slots before the
//! engine registers them. JS writes an entry and publishes it with one
//! atomic store, with no native call; the registry drains every ring before anything
//! reads what they feed (a scrape, `metrics()`, a group's publication, a reset), from
//! a thread of its own, and a JS thread that finds its ring full drains a pass of it
//! (`PASS` entries) itself first. A native call per update cost 250 ns (an
//! observation) to 600 ns (an exemplar).
//!
//! The draining thread (`Registry::drain_promptly`) takes entries in within about 10 ms
//! of their publication, so that the time it takes them in can stand for the time of
//! the update (an exemplar's timestamp, a series' creation, a summary observation's
//! period): while entries come, it drains every 10 ms; when a drain finds none, it sets
//! each ring's wake word and sleeps, and the next entry JS publishes in a ring clears
//! that ring's word and wakes it (one native call per quiet spell). A JS thread also
//! asks for a drain each time another quarter of its ring (512 entries at least) has
//! filled. The draining thread runs under `SCHED_BATCH` on Linux: woken, it waits for
//! a free core rather than preempting the JS thread that woke it (on 2 cores busy with
//! JS and V8's collector, a wake cost that JS thread a median 15–25 µs and 250 µs at
//! the 90th percentile; 1–11 µs and 10–20 µs under `SCHED_BATCH`).
//!
//! Layout, as JS sees it (`binding.ringLayout(kind)`): the write position (a u32 only
//! JS stores) at `WRITE_AT`; the read position (only a drain stores it) at `READ_AT`
//! and the wake word at `WAKE_AT`, on a cache line of their own; then the entries from
//! `ENTRIES_AT`. Positions count entries and wrap; an entry's index is its position
//! modulo the number of entries. JS stores the write position (`Atomics.store`, a full
//! barrier on x86) then reads the wake word; the drainer stores the word then loads
//! the positions, both sequentially consistent, so an entry published as the drainer
//! goes to sleep is either seen by its last look or wakes it. JS reads the word with a
//! plain load (an `Atomics.load` cost 7 ns): where a CPU may order it before the store
//! (not x86), a wake can be missed, and the entry waits for the drainer's next look,
//! a second at most.

use std::alloc::{alloc_zeroed, Layout};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

pub const WRITE_AT: usize = 0;
pub const READ_AT: usize = 64;
pub const WAKE_AT: usize = 68;
pub const ENTRIES_AT: usize = 128;

/// Entries a drain takes in one pass at most (see `EntryRing::drain_pass`): registering
/// them took the engine 65–100 µs here.
pub const PASS: usize = 256;

/// A kind of ring: how large its entries are and how many it holds (a power of two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingShape {
  pub entry_bytes: usize,
  pub entries: usize,
}

impl RingShape {
  pub const fn bytes(self) -> usize {
    ENTRIES_AT + self.entry_bytes * self.entries
  }
}

/// Summary observations: `value` f64 at 0, the series' first slot u32 at 8. 16,384
/// entries (256 KiB): a thread observing without pause (about 25 ns an entry on Node
/// 26, the draining thread 15–20) often filled a ring of 4,096 before the draining
/// thread, woken at each quarter, had caught up, and drained it itself: `observe()`
/// measured 50–55 ns in such a loop with 4,096 entries, 39–47 with 16,384.
pub const OBSERVATIONS: RingShape = RingShape {
  entry_bytes: 16,
  entries: 16384,
};

/// Exemplars: `value` f64 at 0, metric id u32 at 8, the series' first slot u32 at 12,
/// byte 16 unused, the number of label names and values u8 at 17, then each name and value as a u8 byte length and its UTF-8 bytes. Labels that
/// do not fit take a native call instead. No timestamp: `Date.now()` cost JS 45 ns of
/// an update's 230, so an exemplar's is when the engine takes it in. 1,024 entries: at
/// 256, a thread setting an exemplar on every update filled its ring faster than the
/// draining thread woke, and drained it itself a third of the time (360 ns an update
/// on Node 26, 230 with 1,024).
pub const EXEMPLARS: RingShape = RingShape {
  entry_bytes: 256,
  entries: 1024,
};
pub const EXEMPLAR_LABELS_AT: usize = 18;

/// New label sets, counted by JS in slots of a lease before the engine registers them:
/// metric id u32 at 0, the series' first slot u32 at 4, the lease's first slot u32 at
/// 8, the number of label values u8 at 12, then each value as a u8 byte length and its
/// UTF-8 bytes. A label set that does not fit is registered by a native call instead.
/// No timestamp: `Date.now()` cost JS more than the rest of the entry, so a series'
/// created time is when the engine registers it (at most a second later, and before
/// anything reads it).
pub const REGISTRATIONS: RingShape = RingShape {
  entry_bytes: 256,
  entries: 1024,
};
pub const REGISTRATION_VALUES_AT: usize = 16;

/// The kinds of rings a JS environment may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingKind {
  Observations,
  Exemplars,
  Registrations,
}

impl RingKind {
  pub fn shape(self) -> RingShape {
    match self {
      RingKind::Observations => OBSERVATIONS,
      RingKind::Exemplars => EXEMPLARS,
      RingKind::Registrations => REGISTRATIONS,
    }
  }
}

/// One environment's ring. Only its environment's JS writes entries and the write
/// position; drains are serialised by `drain_lock`.
pub struct EntryRing {
  memory: *mut u8,
  shape: RingShape,
  drain_lock: Mutex<()>,
}

// SAFETY: the memory is leaked (never freed, recycled through the pool) and every
// access from Rust is atomic (positions) or to entries the positions say are published
// and not yet drained, which JS does not write again until the read position passes.
unsafe impl Send for EntryRing {}
unsafe impl Sync for EntryRing {}

impl EntryRing {
  fn leak_new(shape: RingShape) -> EntryRing {
    let layout = Layout::from_size_align(shape.bytes(), 128).expect("a ring's size fits a layout");
    // SAFETY: a non-zero size; all zeros is an empty ring. Never freed.
    let memory = unsafe { alloc_zeroed(layout) };
    assert!(
      !memory.is_null(),
      "slotmetrics: cannot allocate a ring of {} bytes",
      shape.bytes()
    );
    EntryRing {
      memory,
      shape,
      drain_lock: Mutex::new(()),
    }
  }

  pub fn as_ptr(&self) -> *mut u8 {
    self.memory
  }

  pub fn shape(&self) -> RingShape {
    self.shape
  }

  fn position(&self, at: usize) -> &AtomicU32 {
    // SAFETY: 4-aligned (the block is 128-aligned) and inside the ring.
    unsafe { AtomicU32::from_ptr(self.memory.add(at).cast()) }
  }

  /// Hands every entry published by now to `apply`, oldest first, a pass (`PASS`
  /// entries at most) at a time (so it may skip entries a later one of its pass
  /// supersedes); returns how many there were. Entries published meanwhile wait for
  /// the next drain: a writer faster than the drain cannot keep it going.
  pub fn drain_batch(&self, mut apply: impl FnMut(&[&[u8]])) -> usize {
    let end = self.position(WRITE_AT).load(Ordering::Acquire);
    let mut drained = 0;
    loop {
      let taken = self.pass(Some(end), &mut apply);
      drained += taken;
      if taken < PASS {
        return drained;
      }
    }
  }

  /// Hands up to `PASS` published entries to `apply` at once, oldest first; returns how
  /// many there were. The read position moves on after each pass, and the drain lock
  /// is let go: a JS thread that finds its ring full while another thread drains it
  /// waits for one pass, not for the whole drain.
  pub fn drain_pass(&self, apply: impl FnOnce(&[&[u8]])) -> usize {
    self.pass(None, apply)
  }

  /// `drain_pass`, taking no entry at or after position `end` if given.
  fn pass(&self, end: Option<u32>, apply: impl FnOnce(&[&[u8]])) -> usize {
    let _draining = self.drain_lock.lock();
    let write = self.position(WRITE_AT).load(Ordering::Acquire);
    let read = self.position(READ_AT).load(Ordering::Relaxed);
    let published = write.wrapping_sub(read) as usize;
    // Before `end`: none if another drain has taken the read position past it.
    let before_end = end.map_or(published, |end| {
      let left = end.wrapping_sub(read) as usize;
      if left > published {
        0
      } else {
        left
      }
    });
    let count = before_end.min(PASS);
    if count == 0 {
      return 0;
    }
    let next_read = read.wrapping_add(count as u32);
    let entries: Vec<&[u8]> = (0..count)
      .map(|n| {
        let index = read.wrapping_add(n as u32) as usize % self.shape.entries;
        let at = ENTRIES_AT + index * self.shape.entry_bytes;
        // SAFETY: inside the ring, published before the write position was stored, and
        // not written by JS again until the read position passes it, which is stored below.
        unsafe { std::slice::from_raw_parts(self.memory.add(at), self.shape.entry_bytes) }
      })
      .collect();
    apply(&entries);
    self.position(READ_AT).store(next_read, Ordering::Release);
    count
  }

  /// Appends `entry` and publishes it, as JS does (`lib/base/rings.ts`): for tests and
  /// benchmarks, which stand in for an environment's JS, the only writer of its ring.
  pub fn append(&self, entry: &[u8]) {
    let write = self.position(WRITE_AT).load(Ordering::Relaxed);
    let read = self.position(READ_AT).load(Ordering::Acquire);
    assert!(
      (write.wrapping_sub(read) as usize) < self.shape.entries,
      "the ring is full: drain it first"
    );
    assert!(
      entry.len() <= self.shape.entry_bytes,
      "an entry larger than the ring's"
    );
    let at = ENTRIES_AT + (write as usize % self.shape.entries) * self.shape.entry_bytes;
    // SAFETY: one entry inside the ring, at a position no drain reads until the write
    // position below publishes it (the ring has room, so it is not an unread entry).
    unsafe { std::ptr::copy_nonoverlapping(entry.as_ptr(), self.memory.add(at), entry.len()) };
    self
      .position(WRITE_AT)
      .store(write.wrapping_add(1), Ordering::Release);
  }

  /// Whether JS should wake the draining thread with its next entry (see the module).
  fn want_wake(&self, wanted: bool) {
    self.position(WAKE_AT).store(u32::from(wanted), Ordering::SeqCst);
  }

  /// Whether an entry is published and not drained.
  fn has_entries(&self) -> bool {
    self.position(WRITE_AT).load(Ordering::SeqCst) != self.position(READ_AT).load(Ordering::SeqCst)
  }
}

/// Every live environment's ring of one kind, and the rings of torn-down ones for reuse.
pub struct Rings {
  shape: RingShape,
  live: Mutex<Vec<Arc<EntryRing>>>,
  pool: Mutex<Vec<Arc<EntryRing>>>,
}

impl Rings {
  pub fn new(shape: RingShape) -> Rings {
    Rings {
      shape,
      live: Mutex::default(),
      pool: Mutex::default(),
    }
  }

  /// A ring for a new environment (a recycled one is empty: it was drained when given back).
  pub fn attach(&self) -> Arc<EntryRing> {
    let ring = self
      .pool
      .lock()
      .pop()
      .unwrap_or_else(|| Arc::new(EntryRing::leak_new(self.shape)));
    // Its first entry wakes the draining thread, should it sleep.
    ring.want_wake(true);
    self.live.lock().push(Arc::clone(&ring));
    ring
  }

  /// Drains a torn-down environment's ring (its JS no longer runs; see
  /// `EntryRing::drain_batch`) and keeps it for reuse.
  pub fn detach(&self, ring: &Arc<EntryRing>, apply: impl FnMut(&[&[u8]])) {
    ring.drain_batch(apply);
    self.live.lock().retain(|live| !Arc::ptr_eq(live, ring));
    self.pool.lock().push(Arc::clone(ring));
  }

  /// Runs `drain` on every live ring, one after the other (each holds the ring's drain
  /// lock while it runs, so it must let go of whatever it locks before it returns).
  pub fn for_each_live(&self, mut drain: impl FnMut(&EntryRing)) {
    let live = self.live.lock().clone();
    for ring in &live {
      drain(ring);
    }
  }

  /// Sets or clears every live ring's wake word (see the module): a store each, made
  /// under the list's lock, where a drain would copy the list first.
  pub fn want_wake(&self, wanted: bool) {
    self.live.lock().iter().for_each(|ring| ring.want_wake(wanted));
  }

  /// Whether any live ring has an entry not drained.
  pub fn have_entries(&self) -> bool {
    self.live.lock().iter().any(|ring| ring.has_entries())
  }
}

/// Requests for the draining thread: JS threads ask as their rings fill up.
#[derive(Default)]
pub struct DrainRequests {
  requested: Mutex<bool>,
  requests: Condvar,
}

impl DrainRequests {
  pub fn request(&self) {
    *self.requested.lock() = true;
    self.requests.notify_one();
  }

  /// Waits until a drain is requested or `timeout` passes.
  pub fn wait(&self, timeout: Duration) {
    let mut requested = self.requested.lock();
    if !*requested {
      self.requests.wait_for(&mut requested, timeout);
    }
    *requested = false;
  }
}

/// A summary observation entry: (the series' first slot, the value).
pub fn observation(entry: &[u8]) -> (u32, f64) {
  let value = f64::from_le_bytes(entry[0..8].try_into().unwrap());
  let slot = u32::from_le_bytes(entry[8..12].try_into().unwrap());
  (slot, value)
}

/// Where an exemplar entry goes: (metric id, the series' first slot, the value).
pub fn exemplar_target(entry: &[u8]) -> (u32, u32, f64) {
  let u32_at = |at: usize| u32::from_le_bytes(entry[at..at + 4].try_into().unwrap());
  (
    u32_at(8),
    u32_at(12),
    f64::from_le_bytes(entry[0..8].try_into().unwrap()),
  )
}

/// An exemplar entry, read back; `None` if it is malformed (JS wrote it, so never).
pub struct ExemplarEntry {
  pub metric: u32,
  pub slot: u32,
  pub value: f64,
  pub labels: Vec<(String, String)>,
}

pub fn exemplar(entry: &[u8]) -> Option<ExemplarEntry> {
  let (metric, slot, value) = exemplar_target(entry);
  let mut texts = texts(entry, EXEMPLAR_LABELS_AT, entry[17])?.into_iter();
  let labels = std::iter::from_fn(|| Some((texts.next()?.to_string(), texts.next()?.to_string()))).collect();
  Some(ExemplarEntry {
    value,
    metric,
    slot,
    labels,
  })
}

/// A registration entry, read back; `None` if it is malformed (JS wrote it, so never).
pub struct RegistrationEntry {
  pub metric: u32,
  pub slot: u32,
  pub lease: u32,
}

/// A registration entry, its label values put in `values` (emptied first: a drain
/// reuses one vector for all its entries).
pub fn registration<'a>(entry: &'a [u8], values: &mut Vec<&'a str>) -> Option<RegistrationEntry> {
  let u32_at = |at: usize| u32::from_le_bytes(entry[at..at + 4].try_into().unwrap());
  values.clear();
  push_texts(entry, REGISTRATION_VALUES_AT, entry[12], values)?;
  Some(RegistrationEntry {
    metric: u32_at(0),
    slot: u32_at(4),
    lease: u32_at(8),
  })
}

/// A registration entry as JS writes it (`recordRegistration` in `lib/base/rings.ts`),
/// for tests and benchmarks: the label set `values` of metric `metric`, counted at
/// `slot` of the lease from `lease`.
pub fn registration_entry(metric: u32, slot: u32, lease: u32, values: &[&str]) -> Vec<u8> {
  let mut entry = vec![0u8; REGISTRATIONS.entry_bytes];
  entry[0..4].copy_from_slice(&metric.to_le_bytes());
  entry[4..8].copy_from_slice(&slot.to_le_bytes());
  entry[8..12].copy_from_slice(&lease.to_le_bytes());
  entry[12] = values.len() as u8;
  let mut at = REGISTRATION_VALUES_AT;
  for value in values {
    entry[at] = value.len() as u8;
    entry[at + 1..at + 1 + value.len()].copy_from_slice(value.as_bytes());
    at += 1 + value.len();
  }
  entry
}

/// `count` texts from `at`, each a u8 byte length and its UTF-8 bytes.
fn texts(entry: &[u8], at: usize, count: u8) -> Option<Vec<&str>> {
  let mut texts = Vec::with_capacity(count as usize);
  push_texts(entry, at, count, &mut texts)?;
  Some(texts)
}

/// `texts`, pushed onto `out`.
fn push_texts<'a>(entry: &'a [u8], mut at: usize, count: u8, out: &mut Vec<&'a str>) -> Option<()> {
  for _ in 0..count {
    let length = *entry.get(at)? as usize;
    out.push(std::str::from_utf8(entry.get(at + 1..at + 1 + length)?).ok()?);
    at += 1 + length;
  }
  Some(())
}

#[cfg(test)]
mod tests {
  use super::*;

  fn observation_entry(slot: u32, value: f64) -> Vec<u8> {
    let mut entry = value.to_le_bytes().to_vec();
    entry.extend(slot.to_le_bytes());
    entry
  }

  #[test]
  fn drains_every_entry_once_in_order_across_the_wrap() {
    let rings = Rings::new(OBSERVATIONS);
    let ring = rings.attach();
    // Start near the u32 wrap so positions overflow while in use.
    let start = u32::MAX - 5;
    ring.position(WRITE_AT).store(start, Ordering::Relaxed);
    ring.position(READ_AT).store(start, Ordering::Relaxed);
    let mut seen = Vec::new();
    for round in 0..3u32 {
      for i in 0..(OBSERVATIONS.entries as u32) {
        ring.append(&observation_entry(round, f64::from(i)));
      }
      rings.for_each_live(|ring| {
        let drained = ring.drain_batch(|entries| seen.extend(entries.iter().map(|entry| observation(entry))));
        assert_eq!(drained, OBSERVATIONS.entries, "a full ring, across the wrap");
      });
    }
    assert_eq!(seen.len(), 3 * OBSERVATIONS.entries);
    for (n, (slot, value)) in seen.iter().enumerate() {
      let entries = OBSERVATIONS.entries;
      assert_eq!((*slot, *value), ((n / entries) as u32, (n % entries) as f64));
    }
    rings.for_each_live(|ring| assert_eq!(ring.drain_batch(|_| panic!("drained twice")), 0));
  }

  #[test]
  fn a_pass_takes_the_oldest_entries_and_makes_room_for_them() {
    let rings = Rings::new(OBSERVATIONS);
    let ring = rings.attach();
    let total = PASS as u32 * 2 + 88;
    for i in 0..total {
      ring.append(&observation_entry(i, 0.0));
    }
    let mut seen = Vec::new();
    let taken = ring.drain_pass(|entries| seen.extend(entries.iter().map(|entry| observation(entry).0)));
    assert_eq!((taken, seen.len()), (PASS, PASS));
    assert_eq!(
      ring.position(READ_AT).load(Ordering::Acquire),
      PASS as u32,
      "room for a pass"
    );
    let rest = ring.drain_batch(|entries| seen.extend(entries.iter().map(|entry| observation(entry).0)));
    assert_eq!(rest, total as usize - PASS);
    assert!(seen.iter().copied().eq(0..total), "oldest first, each once");
  }

  #[test]
  fn a_drain_takes_what_was_published_when_it_began() {
    let rings = Rings::new(OBSERVATIONS);
    let ring = rings.attach();
    for i in 0..PASS as u32 + 10 {
      ring.append(&observation_entry(i, 0.0));
    }
    // Each pass, the writer publishes a pass's worth more.
    let mut next = PASS as u32 + 10;
    let mut passes = 0;
    let drained = ring.drain_batch(|entries| {
      passes += 1;
      assert!(
        passes <= 2,
        "the drain went on past what was published when it began"
      );
      for _ in 0..entries.len() {
        ring.append(&observation_entry(next, 0.0));
        next += 1;
      }
    });
    assert_eq!(drained, PASS + 10);
    assert_eq!(ring.drain_batch(|_| {}), PASS + 10, "the rest, at the next drain");
  }

  #[test]
  fn a_detached_ring_is_drained_then_reused_empty() {
    let rings = Rings::new(OBSERVATIONS);
    let ring = rings.attach();
    ring.append(&observation_entry(7, 1.5));
    let mut seen = Vec::new();
    rings.detach(&ring, |entries| {
      seen.extend(entries.iter().map(|entry| observation(entry)))
    });
    assert_eq!(seen, [(7, 1.5)]);
    rings.for_each_live(|_| panic!("a detached ring is no longer live"));
    let again = rings.attach();
    assert!(Arc::ptr_eq(&again, &ring));
    assert_eq!(again.drain_batch(|_| {}), 0, "a reused ring starts empty");
  }

  #[test]
  fn an_exemplar_entry_reads_back() {
    let mut entry = vec![0u8; EXEMPLARS.entry_bytes];
    entry[0..8].copy_from_slice(&2.5f64.to_le_bytes());
    entry[8..12].copy_from_slice(&3u32.to_le_bytes());
    entry[12..16].copy_from_slice(&40u32.to_le_bytes());
    entry[17] = 2;
    let mut at = EXEMPLAR_LABELS_AT;
    for text in ["trace_id", "ü1"] {
      entry[at] = text.len() as u8;
      entry[at + 1..at + 1 + text.len()].copy_from_slice(text.as_bytes());
      at += 1 + text.len();
    }
    let read = exemplar(&entry).unwrap();
    assert_eq!((read.metric, read.slot, read.value), (3, 40, 2.5));
    assert_eq!(read.labels, [("trace_id".to_string(), "ü1".to_string())]);
    // A third text whose length runs past the entry.
    entry[17] = 3;
    entry[at] = 255;
    assert!(exemplar(&entry).is_none());
  }

  #[test]
  fn a_registration_entry_reads_back() {
    let mut entry = vec![0u8; REGISTRATIONS.entry_bytes];
    entry[0..4].copy_from_slice(&5u32.to_le_bytes());
    entry[4..8].copy_from_slice(&130u32.to_le_bytes());
    entry[8..12].copy_from_slice(&128u32.to_le_bytes());
    entry[12] = 2;
    let mut at = REGISTRATION_VALUES_AT;
    for text in ["/users", ""] {
      entry[at] = text.len() as u8;
      entry[at + 1..at + 1 + text.len()].copy_from_slice(text.as_bytes());
      at += 1 + text.len();
    }
    let mut values = vec!["left over"];
    let read = registration(&entry, &mut values).unwrap();
    assert_eq!((read.metric, read.slot, read.lease), (5, 130, 128));
    assert_eq!(values, ["/users", ""]);
    let mut broken = entry.clone();
    broken[12] = 3;
    broken[at] = 255;
    assert!(
      registration(&broken, &mut Vec::new()).is_none(),
      "a value running past the entry"
    );
  }

  #[test]
  fn a_writer_thread_and_concurrent_drains_lose_and_repeat_nothing() {
    let rings = Arc::new(Rings::new(OBSERVATIONS));
    let ring = rings.attach();
    const TOTAL: u32 = 200_000;
    let writer = {
      let ring = Arc::clone(&ring);
      std::thread::spawn(move || {
        for i in 0..TOTAL {
          // Wait for room, as JS does (it drains itself instead).
          while ring
            .position(WRITE_AT)
            .load(Ordering::Relaxed)
            .wrapping_sub(ring.position(READ_AT).load(Ordering::Acquire)) as usize
            >= OBSERVATIONS.entries
          {
            std::hint::spin_loop();
          }
          ring.append(&observation_entry(i, f64::from(i)));
        }
      })
    };
    let mut seen = Vec::with_capacity(TOTAL as usize);
    while seen.len() < TOTAL as usize {
      rings.for_each_live(|ring| {
        ring.drain_batch(|entries| seen.extend(entries.iter().map(|entry| observation(entry).0)));
      });
    }
    writer.join().unwrap();
    assert!(seen.iter().enumerate().all(|(n, slot)| *slot == n as u32));
  }
}
