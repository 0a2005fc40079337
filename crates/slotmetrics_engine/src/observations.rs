//! Rings of summary observations, one per JS environment: JS appends a `(slot, value)`
//! pair with two typed-array stores and one atomic store, with no native call, and the
//! registry drains every ring into its quantile windows before anything reads them (a
//! scrape, a group's publication, a reset), once a second, and when a JS thread asks
//! as its ring fills up. A native call per
//! observation cost about 250 ns; a ring entry costs JS a few.
//!
//! Layout, as JS sees it (`binding.observationRingLayout()`): the write position (a
//! u32 only JS stores, with release order) at `WRITE_AT`, the read position (only a
//! drain stores it) at `READ_AT`, then `ENTRIES` f64 values at `VALUES_AT` and
//! `ENTRIES` u32 slots at `SLOTS_AT`. Positions count entries and wrap; an entry's
//! index is its position modulo `ENTRIES`. A full ring is drained by its own JS thread
//! through a native call before the next entry.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// Entries per ring (a power of two): 48 KiB a ring.
pub const ENTRIES: usize = 4096;
pub const WRITE_AT: usize = 0;
// Each position on a cache line of its own: the JS thread stores one, the draining thread the other.
pub const READ_AT: usize = 64;
pub const VALUES_AT: usize = 128;
pub const SLOTS_AT: usize = VALUES_AT + 8 * ENTRIES;
pub const RING_BYTES: usize = SLOTS_AT + 4 * ENTRIES;

#[repr(C, align(128))]
struct RingMemory([u8; RING_BYTES]);

/// One environment's ring. Only its environment's JS writes entries and the write
/// position; drains are serialised by `drain_lock`.
pub struct ObservationRing {
  memory: *mut u8,
  drain_lock: Mutex<()>,
}

// SAFETY: the memory is leaked (never freed, recycled through the pool) and every
// access from Rust is atomic (positions) or to entries the positions say are published
// and not yet drained, which JS does not write again until the read position passes.
unsafe impl Send for ObservationRing {}
unsafe impl Sync for ObservationRing {}

impl ObservationRing {
  fn leak_new() -> ObservationRing {
    // SAFETY: all zeros is an empty ring.
    let memory = Box::leak(unsafe { Box::<RingMemory>::new_zeroed().assume_init() });
    ObservationRing {
      memory: memory.0.as_mut_ptr(),
      drain_lock: Mutex::new(()),
    }
  }

  pub fn as_ptr(&self) -> *mut u8 {
    self.memory
  }

  fn position(&self, at: usize) -> &AtomicU32 {
    // SAFETY: 4-aligned (the block is 128-aligned) and inside the ring.
    unsafe { AtomicU32::from_ptr(self.memory.add(at).cast()) }
  }

  /// Hands every published entry to `observe(slot, value)`, in order.
  pub fn drain(&self, mut observe: impl FnMut(u32, f64)) {
    let _draining = self.drain_lock.lock();
    let write = self.position(WRITE_AT).load(Ordering::Acquire);
    let mut read = self.position(READ_AT).load(Ordering::Relaxed);
    while read != write {
      let index = read as usize % ENTRIES;
      // SAFETY: inside the ring, aligned, published before `write` was stored, and not
      // written by JS again until the read position passes it.
      let (value, slot) = unsafe {
        (
          self.memory.add(VALUES_AT + 8 * index).cast::<f64>().read(),
          self.memory.add(SLOTS_AT + 4 * index).cast::<u32>().read(),
        )
      };
      observe(slot, value);
      read = read.wrapping_add(1);
    }
    self.position(READ_AT).store(read, Ordering::Release);
  }
}

/// Every live environment's ring, and the rings of torn-down ones for reuse.
#[derive(Default)]
pub struct ObservationRings {
  live: Mutex<Vec<Arc<ObservationRing>>>,
  pool: Mutex<Vec<Arc<ObservationRing>>>,
  /// Set by a JS thread whose ring is filling up, for the draining thread.
  requested: Mutex<bool>,
  requests: Condvar,
}

impl ObservationRings {
  /// Asks the draining thread to drain now: JS does so as its ring fills, so that a busy
  /// thread seldom finds it full and has to drain it itself.
  pub fn request_drain(&self) {
    *self.requested.lock() = true;
    self.requests.notify_one();
  }

  /// Waits until a drain is requested or `timeout` passes.
  pub fn wait_for_request(&self, timeout: Duration) {
    let mut requested = self.requested.lock();
    if !*requested {
      self.requests.wait_for(&mut requested, timeout);
    }
    *requested = false;
  }

  /// A ring for a new environment (a recycled one is empty: it was drained when given back).
  pub fn attach(&self) -> Arc<ObservationRing> {
    let ring = self
      .pool
      .lock()
      .pop()
      .unwrap_or_else(|| Arc::new(ObservationRing::leak_new()));
    self.live.lock().push(Arc::clone(&ring));
    ring
  }

  /// Drains a torn-down environment's ring (its JS no longer runs) and keeps it for reuse.
  pub fn detach(&self, ring: &Arc<ObservationRing>, observe: impl FnMut(u32, f64)) {
    ring.drain(observe);
    self.live.lock().retain(|live| !Arc::ptr_eq(live, ring));
    self.pool.lock().push(Arc::clone(ring));
  }

  /// Runs `drain` on every live ring, one after the other (each holds the ring's drain
  /// lock while it runs, so it must let go of whatever it locks before it returns).
  pub fn for_each_live(&self, mut drain: impl FnMut(&ObservationRing)) {
    let live = self.live.lock().clone();
    for ring in &live {
      drain(ring);
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  /// Appends as JS does: the entry, then the write position with release order.
  fn append(ring: &ObservationRing, slot: u32, value: f64) {
    let write = ring.position(WRITE_AT).load(Ordering::Relaxed);
    let index = write as usize % ENTRIES;
    unsafe {
      ring.memory.add(VALUES_AT + 8 * index).cast::<f64>().write(value);
      ring.memory.add(SLOTS_AT + 4 * index).cast::<u32>().write(slot);
    }
    ring
      .position(WRITE_AT)
      .store(write.wrapping_add(1), Ordering::Release);
  }

  #[test]
  fn drains_every_entry_once_in_order_across_the_wrap() {
    let rings = ObservationRings::default();
    let ring = rings.attach();
    // Start near the u32 wrap so positions overflow while in use.
    let start = u32::MAX - 5;
    ring.position(WRITE_AT).store(start, Ordering::Relaxed);
    ring.position(READ_AT).store(start, Ordering::Relaxed);
    let mut seen = Vec::new();
    for round in 0..3u32 {
      for i in 0..(ENTRIES as u32) {
        append(&ring, round, f64::from(i));
      }
      rings.for_each_live(|ring| ring.drain(|slot, value| seen.push((slot, value))));
    }
    assert_eq!(seen.len(), 3 * ENTRIES);
    for (n, (slot, value)) in seen.iter().enumerate() {
      assert_eq!((*slot, *value), ((n / ENTRIES) as u32, (n % ENTRIES) as f64));
    }
    rings.for_each_live(|ring| ring.drain(|_, _| panic!("drained twice")));
  }

  #[test]
  fn a_detached_ring_is_drained_then_reused_empty() {
    let rings = ObservationRings::default();
    let ring = rings.attach();
    append(&ring, 7, 1.5);
    let mut seen = Vec::new();
    rings.detach(&ring, |slot, value| seen.push((slot, value)));
    assert_eq!(seen, [(7, 1.5)]);
    rings.for_each_live(|_| panic!("a detached ring is no longer live"));
    let again = rings.attach();
    assert!(Arc::ptr_eq(&again, &ring));
    again.drain(|_, _| panic!("a reused ring starts empty"));
  }

  #[test]
  fn a_writer_thread_and_concurrent_drains_lose_and_repeat_nothing() {
    let rings = Arc::new(ObservationRings::default());
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
            >= ENTRIES
          {
            std::hint::spin_loop();
          }
          append(&ring, i, f64::from(i));
        }
      })
    };
    let mut seen = Vec::with_capacity(TOTAL as usize);
    while seen.len() < TOTAL as usize {
      rings.for_each_live(|ring| ring.drain(|slot, _| seen.push(slot)));
    }
    writer.join().unwrap();
    assert!(seen.iter().enumerate().all(|(n, slot)| *slot == n as u32));
  }
}
