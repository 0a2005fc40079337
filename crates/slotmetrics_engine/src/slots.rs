//! Slot memory: the 8-byte cells that JavaScript writes and Rust reads.
//!
//! Memory comes in fixed-size chunks that are allocated zeroed and never freed, so a
//! view handed to any JS environment stays valid for the life of the process. There are
//! two slot spaces:
//!
//! * **Striped** slots hold counters and histograms. Every JS environment (the main
//!   thread, each worker) owns a *stripe*: its own copy of every striped chunk. A series
//!   has the same slot index in every stripe and only the owning thread writes its
//!   stripe, with plain `Float64Array` stores: no atomics, no shared cache lines. A
//!   collection sums the stripes. When an environment is torn down its stripe is added
//!   into the *retired* totals, zeroed and kept for the next environment, so nothing a
//!   dead worker counted is lost and memory does not grow with worker churn.
//! * **Shared** slots hold gauges: one cell per series for the whole process, because a
//!   gauge's value is not a sum over threads. JS writes them with `Atomics`.
//!
//! Every cell is an `AtomicU64` holding either f64 bits (counters, histograms, float
//! gauges) or an i64 (integer gauges). JS writes aligned 8-byte elements, which never
//! tear, and Rust reads them with atomic loads.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

/// Slots per chunk. 8192 × 8 bytes = 64 KiB: small enough that a process with a few
/// series and many workers wastes little, large enough that 100k series need few views.
pub const CHUNK_SLOTS: usize = 8192;

/// Aligned to 128 bytes (two cache lines, the unit of the x86 adjacent-line prefetcher)
/// so that chunks of different stripes never share a line.
#[repr(C, align(128))]
pub struct Chunk([AtomicU64; CHUNK_SLOTS]);

impl Chunk {
  /// A zeroed chunk that lives until the process exits.
  fn leak_new() -> &'static Chunk {
    // SAFETY: all-zero bits are a valid `AtomicU64` (0) for every cell.
    Box::leak(unsafe { Box::<Chunk>::new_zeroed().assume_init() })
  }

  pub fn cells(&self) -> &[AtomicU64; CHUNK_SLOTS] {
    &self.0
  }

  pub fn as_ptr(&self) -> *mut u8 {
    self.0.as_ptr() as *mut u8
  }

  pub const BYTES: usize = CHUNK_SLOTS * 8;
}

/// Index of a stripe; stable for the life of the environment that holds it.
pub type StripeId = usize;

/// Where slot `index` lives: which chunk, and which cell inside it.
pub fn locate(index: u32) -> (usize, usize) {
  let index = index as usize;
  (index / CHUNK_SLOTS, index % CHUNK_SLOTS)
}

/// Hands out contiguous runs of slot indexes. A run never straddles two chunks, so one
/// typed-array view covers a whole series (all buckets of a histogram, say).
struct SlotAllocator {
  next: u32,
}

impl SlotAllocator {
  /// Returns the first index of `count` free consecutive slots and the number of
  /// chunks now needed to hold every allocated slot.
  fn allocate(&mut self, count: usize) -> Result<(u32, usize), SlotError> {
    if count == 0 || count > CHUNK_SLOTS {
      return Err(SlotError::RunTooLong(count));
    }
    let (chunk, offset) = locate(self.next);
    let start = if offset + count > CHUNK_SLOTS {
      (chunk + 1) * CHUNK_SLOTS
    } else {
      self.next as usize
    };
    let end = start + count;
    if end > u32::MAX as usize {
      return Err(SlotError::Exhausted);
    }
    self.next = end as u32;
    Ok((start as u32, end.div_ceil(CHUNK_SLOTS)))
  }

  fn allocated(&self) -> usize {
    self.next as usize
  }
}

#[derive(Debug, PartialEq, Eq)]
pub enum SlotError {
  RunTooLong(usize),
  Exhausted,
  NoSuchChunk(usize),
}

impl std::fmt::Display for SlotError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match self {
      SlotError::RunTooLong(n) => {
        write!(
          f,
          "a series needs {n} slots; the most one series can have is {CHUNK_SLOTS}"
        )
      }
      SlotError::Exhausted => write!(f, "slot memory is exhausted (2^32 slots)"),
      SlotError::NoSuchChunk(k) => write!(f, "slot chunk {k} has not been allocated"),
    }
  }
}

struct Stripe {
  chunks: Vec<&'static Chunk>,
  live: bool,
}

struct StripeSet {
  stripes: Vec<Stripe>,
  /// Stripes of torn-down environments, zeroed and ready for the next one.
  free: Vec<StripeId>,
  /// Everything counted by environments that no longer exist.
  retired: Vec<&'static Chunk>,
  /// How many chunks every stripe (and `retired`) holds.
  chunk_count: usize,
}

impl StripeSet {
  fn grow_to(&mut self, chunk_count: usize) {
    while self.chunk_count < chunk_count {
      for stripe in &mut self.stripes {
        stripe.chunks.push(Chunk::leak_new());
      }
      self.retired.push(Chunk::leak_new());
      self.chunk_count += 1;
    }
  }
}

/// Counter and histogram slots: one stripe per JS environment.
pub struct StripedSlots {
  allocator: Mutex<SlotAllocator>,
  /// Read-locked by collections, write-locked to add chunks or to retire a stripe, so a
  /// collection never sees a stripe half folded into the retired totals.
  set: RwLock<StripeSet>,
}

impl Default for StripedSlots {
  fn default() -> Self {
    Self::new()
  }
}

impl StripedSlots {
  pub fn new() -> Self {
    StripedSlots {
      allocator: Mutex::new(SlotAllocator { next: 0 }),
      set: RwLock::new(StripeSet {
        stripes: Vec::new(),
        free: Vec::new(),
        retired: Vec::new(),
        chunk_count: 0,
      }),
    }
  }

  /// Gives a new environment a stripe: a recycled one if any, else a new one.
  pub fn attach(&self) -> StripeId {
    let mut set = self.set.write();
    if let Some(id) = set.free.pop() {
      set.stripes[id].live = true;
      return id;
    }
    let chunks = (0..set.chunk_count).map(|_| Chunk::leak_new()).collect();
    set.stripes.push(Stripe { chunks, live: true });
    set.stripes.len() - 1
  }

  /// Folds a torn-down environment's stripe into the retired totals and frees it.
  /// Must only be called once its owner can no longer write (env teardown).
  pub fn retire(&self, id: StripeId) {
    let mut set = self.set.write();
    let set = &mut *set;
    let stripe = &mut set.stripes[id];
    if !stripe.live {
      return;
    }
    for (chunk, retired) in stripe.chunks.iter().zip(&set.retired) {
      for (cell, total) in chunk.cells().iter().zip(retired.cells()) {
        let value = f64::from_bits(cell.swap(0, Ordering::Relaxed));
        if value != 0.0 {
          let sum = f64::from_bits(total.load(Ordering::Relaxed)) + value;
          total.store(sum.to_bits(), Ordering::Relaxed);
        }
      }
    }
    stripe.live = false;
    set.free.push(id);
  }

  pub fn allocate(&self, count: usize) -> Result<u32, SlotError> {
    let mut allocator = self.allocator.lock();
    let (start, chunks_needed) = allocator.allocate(count)?;
    // Chunks are added while the allocator is held so no index is handed out before
    // every stripe has memory behind it.
    if self.set.read().chunk_count < chunks_needed {
      self.set.write().grow_to(chunks_needed);
    }
    Ok(start)
  }

  /// Chunk `k` of stripe `id`, for the environment that owns the stripe.
  pub fn chunk(&self, id: StripeId, k: usize) -> Result<&'static Chunk, SlotError> {
    self.set.read().stripes[id]
      .chunks
      .get(k)
      .copied()
      .ok_or(SlotError::NoSuchChunk(k))
  }

  /// The value of every allocated slot: retired totals plus every live stripe, each
  /// cell read exactly once.
  pub fn totals(&self) -> Vec<f64> {
    let len = self.allocator.lock().allocated();
    let mut totals = vec![0.0; len];
    let set = self.set.read();
    let live = set.stripes.iter().filter(|s| s.live).map(|s| &s.chunks);
    for chunks in std::iter::once(&set.retired).chain(live) {
      for (out, chunk) in totals.chunks_mut(CHUNK_SLOTS).zip(chunks) {
        for (total, cell) in out.iter_mut().zip(chunk.cells()) {
          *total += f64::from_bits(cell.load(Ordering::Relaxed));
        }
        // Let a waking JS thread have this core (see encode::PIECE_BYTES).
        std::thread::yield_now();
      }
    }
    totals
  }

  /// The values of `count` slots from `first`, summed like `totals()`.
  pub fn totals_of(&self, first: u32, count: usize) -> Vec<f64> {
    let (k, i) = locate(first);
    let set = self.set.read();
    let live = set.stripes.iter().filter(|s| s.live).map(|s| &s.chunks);
    let mut totals = vec![0.0; count];
    for chunks in std::iter::once(&set.retired).chain(live) {
      for (total, cell) in totals.iter_mut().zip(&chunks[k].cells()[i..i + count]) {
        *total += f64::from_bits(cell.load(Ordering::Relaxed));
      }
    }
    totals
  }

  /// (live, free) stripe counts.
  pub fn stripe_counts(&self) -> (usize, usize) {
    let set = self.set.read();
    (set.stripes.len() - set.free.len(), set.free.len())
  }
}

/// Gauge slots: one cell per series for the whole process.
pub struct SharedSlots {
  allocator: Mutex<SlotAllocator>,
  chunks: RwLock<Vec<&'static Chunk>>,
}

impl Default for SharedSlots {
  fn default() -> Self {
    Self::new()
  }
}

impl SharedSlots {
  pub fn new() -> Self {
    SharedSlots {
      allocator: Mutex::new(SlotAllocator { next: 0 }),
      chunks: RwLock::new(Vec::new()),
    }
  }

  pub fn allocate(&self, count: usize) -> Result<u32, SlotError> {
    let mut allocator = self.allocator.lock();
    let (start, chunks_needed) = allocator.allocate(count)?;
    let mut chunks = self.chunks.write();
    while chunks.len() < chunks_needed {
      chunks.push(Chunk::leak_new());
    }
    Ok(start)
  }

  pub fn chunk(&self, k: usize) -> Result<&'static Chunk, SlotError> {
    self
      .chunks
      .read()
      .get(k)
      .copied()
      .ok_or(SlotError::NoSuchChunk(k))
  }

  /// Writes one cell (a gauge's value, as bits).
  pub fn store(&self, index: u32, bits: u64) {
    let (k, i) = locate(index);
    self.chunks.read()[k].cells()[i].store(bits, Ordering::Relaxed);
  }

  /// The chunks as they are now; chunks are never freed, so the copy stays valid.
  pub fn chunks(&self) -> Vec<&'static Chunk> {
    self.chunks.read().clone()
  }
}

/// Reads one shared cell from a copy of the chunk list.
pub fn load(chunks: &[&'static Chunk], index: u32) -> u64 {
  let (k, i) = locate(index);
  chunks[k].cells()[i].load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn write(slots: &StripedSlots, stripe: StripeId, index: u32, value: f64) {
    let (k, i) = locate(index);
    let cell = &slots.chunk(stripe, k).unwrap().cells()[i];
    let old = f64::from_bits(cell.load(Ordering::Relaxed));
    cell.store((old + value).to_bits(), Ordering::Relaxed);
  }

  #[test]
  fn runs_never_straddle_chunks() {
    let mut a = SlotAllocator { next: 0 };
    assert_eq!(a.allocate(3).unwrap(), (0, 1));
    a.next = (CHUNK_SLOTS - 2) as u32;
    // 13 slots do not fit in the 2 left: the run starts at the next chunk.
    assert_eq!(a.allocate(13).unwrap(), (CHUNK_SLOTS as u32, 2));
    assert_eq!(
      a.allocate(CHUNK_SLOTS + 1),
      Err(SlotError::RunTooLong(CHUNK_SLOTS + 1))
    );
    assert_eq!(a.allocate(0), Err(SlotError::RunTooLong(0)));
  }

  #[test]
  fn totals_sum_live_stripes_and_retired() {
    let slots = StripedSlots::new();
    let main = slots.attach();
    let index = slots.allocate(1).unwrap();
    let worker = slots.attach();
    write(&slots, main, index, 2.0);
    write(&slots, worker, index, 3.5);
    assert_eq!(slots.totals()[index as usize], 5.5);

    slots.retire(worker);
    assert_eq!(
      slots.totals()[index as usize],
      5.5,
      "a retired stripe's counts are kept"
    );
    assert_eq!(slots.stripe_counts(), (1, 1));

    let next = slots.attach();
    assert_eq!(next, worker, "a retired stripe is recycled");
    assert_eq!(
      slots.chunk(next, 0).unwrap().cells()[index as usize].load(Ordering::Relaxed),
      0
    );
    write(&slots, next, index, 1.0);
    assert_eq!(slots.totals()[index as usize], 6.5);
    slots.retire(next);
    slots.retire(next);
    assert_eq!(slots.totals()[index as usize], 6.5, "retiring twice counts once");
  }

  #[test]
  fn growth_gives_every_stripe_the_new_chunk() {
    let slots = StripedSlots::new();
    let a = slots.attach();
    let b = slots.attach();
    let mut last = 0;
    for _ in 0..(CHUNK_SLOTS / 100 + 2) {
      last = slots.allocate(100).unwrap();
    }
    let (k, _) = locate(last);
    assert_eq!(k, 1);
    assert!(slots.chunk(a, 1).is_ok() && slots.chunk(b, 1).is_ok());
    assert_eq!(slots.chunk(a, 2).err(), Some(SlotError::NoSuchChunk(2)));
    write(&slots, b, last + 99, 7.0);
    assert_eq!(slots.totals()[(last + 99) as usize], 7.0);
  }

  #[test]
  fn chunks_are_aligned_apart() {
    let slots = StripedSlots::new();
    let a = slots.attach();
    let b = slots.attach();
    slots.allocate(1).unwrap();
    let pa = slots.chunk(a, 0).unwrap().as_ptr() as usize;
    let pb = slots.chunk(b, 0).unwrap().as_ptr() as usize;
    assert_eq!(pa % 128, 0);
    assert_eq!(pb % 128, 0);
    assert_ne!(pa, pb);
  }
}
