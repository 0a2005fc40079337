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
//! * **Shared** slots hold gauges: one cell per series, because a gauge's value is not
//!   a sum over threads. JS writes them with `Atomics`.
//!
//! Every cell is an `AtomicU64` holding either f64 bits (counters, histograms, float
//! gauges) or an i64 (integer gauges). JS writes aligned 8-byte elements, which never
//! tear, and Rust reads them with atomic loads.
//!
//! The memory is either this process's heap (`heap`) or, in a multi-process group, the
//! group's files (`group`): the same layout, seen by every process that maps them.

#[cfg(unix)]
mod group;
mod heap;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

#[cfg(unix)]
use crate::group::{GroupError, GroupFiles, ProcessIdentity, SlotSpace};

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
  /// The first index not handed out.
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
}

#[derive(Debug)]
pub enum SlotError {
  RunTooLong(usize),
  Exhausted,
  NoSuchChunk(usize),
  /// The files of a multi-process group failed.
  #[cfg(unix)]
  Group(GroupError),
}

#[cfg(unix)]
impl From<GroupError> for SlotError {
  fn from(e: GroupError) -> Self {
    SlotError::Group(e)
  }
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
      #[cfg(unix)]
      SlotError::Group(e) => e.fmt(f),
    }
  }
}

impl std::error::Error for SlotError {}

/// Where the slots live.
enum Memory<Heap> {
  Heap {
    allocator: Mutex<SlotAllocator>,
    memory: Heap,
  },
  #[cfg(unix)]
  Group(Arc<group::GroupSlots>),
}

impl<Heap> Memory<Heap> {
  fn heap(memory: Heap) -> Self {
    Memory::Heap {
      allocator: Mutex::new(SlotAllocator { next: 0 }),
      memory,
    }
  }
}

/// Hands out `count` slots of a heap space; `grow_to` gives its memory the chunks they
/// need. Chunks are added while the allocator is held, so no index is handed out before
/// there is memory behind it (in every stripe, for striped slots).
fn allocate_on_heap(
  allocator: &Mutex<SlotAllocator>,
  count: usize,
  grow_to: impl FnOnce(usize),
) -> Result<u32, SlotError> {
  let mut allocator = allocator.lock();
  let (start, chunks_needed) = allocator.allocate(count)?;
  grow_to(chunks_needed);
  Ok(start)
}

/// A process's place in a multi-process group.
#[cfg(unix)]
pub struct Joined {
  /// The group's files, for the layers above to share.
  pub files: Arc<GroupFiles>,
  /// This process's entry in the member table.
  pub member: usize,
  pub striped: StripedSlots,
  pub shared: SharedSlots,
}

/// Joins the multi-process group whose files are in directory `path` as process `me`:
/// the striped and shared slots of every process that joins it are the same memory.
#[cfg(unix)]
pub fn join_group(path: &std::path::Path, me: ProcessIdentity) -> Result<Joined, SlotError> {
  let files = Arc::new(GroupFiles::open(path)?);
  let group = Arc::new(group::GroupSlots::join(Arc::clone(&files), me)?);
  Ok(Joined {
    files,
    member: group.member(),
    striped: StripedSlots(Memory::Group(Arc::clone(&group))),
    shared: SharedSlots(Memory::Group(group)),
  })
}

/// Counter and histogram slots: one stripe per JS environment.
pub struct StripedSlots(Memory<heap::HeapStripes>);

impl Default for StripedSlots {
  fn default() -> Self {
    Self::new()
  }
}

impl StripedSlots {
  /// Slots of this process only.
  pub fn new() -> Self {
    StripedSlots(Memory::heap(heap::HeapStripes::new()))
  }

  /// Gives a new environment a stripe: a recycled one if any, else a new one.
  pub fn attach(&self) -> Result<StripeId, SlotError> {
    match &self.0 {
      Memory::Heap { memory, .. } => Ok(memory.attach()),
      #[cfg(unix)]
      Memory::Group(group) => Ok(group.attach()?),
    }
  }

  /// Folds a torn-down environment's stripe into the retired totals and frees it.
  /// Must only be called once its owner can no longer write (env teardown); a second
  /// call does nothing.
  pub fn retire(&self, id: StripeId) -> Result<(), SlotError> {
    match &self.0 {
      Memory::Heap { memory, .. } => memory.retire(id),
      #[cfg(unix)]
      Memory::Group(group) => group.retire(id)?,
    }
    Ok(())
  }

  pub fn allocate(&self, count: usize) -> Result<u32, SlotError> {
    match &self.0 {
      Memory::Heap { allocator, memory } => {
        allocate_on_heap(allocator, count, |chunks| memory.grow_to(chunks))
      }
      #[cfg(unix)]
      Memory::Group(group) => group.allocate(SlotSpace::Striped, count),
    }
  }

  /// Chunk `k` of stripe `id`, for the environment that owns the stripe.
  pub fn chunk(&self, id: StripeId, k: usize) -> Result<&'static Chunk, SlotError> {
    match &self.0 {
      Memory::Heap { memory, .. } => memory.chunk(id, k),
      #[cfg(unix)]
      Memory::Group(group) => group.stripe_chunk(id, k),
    }
  }

  /// Calls `add` with the chunks of the retired totals and of every live stripe, while
  /// no fold can run; returns how many slots are handed out.
  fn read_sources(&self, add: impl FnMut(&[&'static Chunk])) -> Result<usize, SlotError> {
    match &self.0 {
      Memory::Heap { allocator, memory } => {
        let allocated = allocator.lock().next as usize;
        memory.for_each_source(add);
        Ok(allocated)
      }
      #[cfg(unix)]
      Memory::Group(group) => group.read_stripes(add),
    }
  }

  /// The value of every allocated slot: retired totals plus every live stripe, each
  /// cell read exactly once.
  pub fn totals(&self) -> Result<Vec<f64>, SlotError> {
    let mut totals = Vec::new();
    let allocated = self.read_sources(|chunks| {
      for (k, chunk) in chunks.iter().enumerate() {
        let first = k * CHUNK_SLOTS;
        if totals.len() < first + CHUNK_SLOTS {
          totals.resize(first + CHUNK_SLOTS, 0.0);
        }
        for (total, cell) in totals[first..first + CHUNK_SLOTS].iter_mut().zip(chunk.cells()) {
          *total += f64::from_bits(cell.load(Ordering::Relaxed));
        }
        // Let a waking JS thread have this core (see encode::PIECE_BYTES).
        std::thread::yield_now();
      }
    })?;
    totals.resize(allocated, 0.0);
    Ok(totals)
  }

  /// The values of `count` slots from `first`, summed like `totals()`.
  pub fn totals_of(&self, first: u32, count: usize) -> Result<Vec<f64>, SlotError> {
    let (k, i) = locate(first);
    let mut totals = vec![0.0; count];
    self.read_sources(|chunks| {
      if let Some(chunk) = chunks.get(k) {
        for (total, cell) in totals.iter_mut().zip(&chunk.cells()[i..i + count]) {
          *total += f64::from_bits(cell.load(Ordering::Relaxed));
        }
      }
    })?;
    Ok(totals)
  }

  /// (stripes in use, stripes free for reuse): of this process, or of the whole group.
  pub fn stripe_counts(&self) -> (usize, usize) {
    match &self.0 {
      Memory::Heap { memory, .. } => memory.stripe_counts(),
      #[cfg(unix)]
      Memory::Group(group) => group.stripe_counts(),
    }
  }
}

/// Gauge slots: one cell per series for the process, or for the group.
pub struct SharedSlots(Memory<heap::HeapShared>);

impl Default for SharedSlots {
  fn default() -> Self {
    Self::new()
  }
}

impl SharedSlots {
  /// Slots of this process only.
  pub fn new() -> Self {
    SharedSlots(Memory::heap(heap::HeapShared::new()))
  }

  pub fn allocate(&self, count: usize) -> Result<u32, SlotError> {
    match &self.0 {
      Memory::Heap { allocator, memory } => {
        allocate_on_heap(allocator, count, |chunks| memory.grow_to(chunks))
      }
      #[cfg(unix)]
      Memory::Group(group) => group.allocate(SlotSpace::Shared, count),
    }
  }

  /// The chunks as they are now; chunks are never freed, so the copy stays valid.
  pub fn chunks(&self) -> Result<Vec<&'static Chunk>, SlotError> {
    match &self.0 {
      Memory::Heap { memory, .. } => Ok(memory.chunks()),
      #[cfg(unix)]
      Memory::Group(group) => group.shared_chunks(),
    }
  }

  pub fn chunk(&self, k: usize) -> Result<&'static Chunk, SlotError> {
    self.chunks()?.get(k).copied().ok_or(SlotError::NoSuchChunk(k))
  }

  /// Chunk `k` of this process's own cells, for gauges that keep a value per process:
  /// in a group, a file of this process's; alone, the shared chunk itself (a process
  /// alone is a group of one).
  pub fn own_chunk(&self, k: usize) -> Result<&'static Chunk, SlotError> {
    match &self.0 {
      Memory::Heap { .. } => self.chunk(k),
      #[cfg(unix)]
      Memory::Group(group) => group.own_gauge_chunk(k),
    }
  }

  /// Calls `read` with the own cells of every live process of the group (alone: the
  /// shared chunks). A process's list may stop short of the chunks handed out: its cells
  /// past the end are zero.
  pub fn read_own(&self, mut read: impl FnMut(&[&'static Chunk])) -> Result<(), SlotError> {
    match &self.0 {
      Memory::Heap { memory, .. } => read(&memory.chunks()),
      #[cfg(unix)]
      Memory::Group(group) => group.read_own_gauges(read)?,
    }
    Ok(())
  }

  /// Writes one cell (a gauge's value, as bits).
  pub fn store(&self, index: u32, bits: u64) -> Result<(), SlotError> {
    let (k, i) = locate(index);
    self.chunk(k)?.cells()[i].store(bits, Ordering::Relaxed);
    Ok(())
  }

  /// Writes one of this process's own cells (see `own_chunk`).
  pub fn store_own(&self, index: u32, bits: u64) -> Result<(), SlotError> {
    let (k, i) = locate(index);
    self.own_chunk(k)?.cells()[i].store(bits, Ordering::Relaxed);
    Ok(())
  }
}

/// Reads one shared cell from a copy of the chunk list.
pub fn load(chunks: &[&'static Chunk], index: u32) -> u64 {
  let (k, i) = locate(index);
  chunks[k].cells()[i].load(Ordering::Relaxed)
}

#[cfg(test)]
pub(crate) mod tests {
  use super::*;

  /// Adds `value` to slot `index` of stripe `stripe`, as its environment's JS does.
  pub(crate) fn write(slots: &StripedSlots, stripe: StripeId, index: u32, value: f64) {
    let (k, i) = locate(index);
    let cell = &slots.chunk(stripe, k).unwrap().cells()[i];
    let old = f64::from_bits(cell.load(Ordering::Relaxed));
    cell.store((old + value).to_bits(), Ordering::Relaxed);
  }

  pub(crate) fn total(slots: &StripedSlots, index: u32) -> f64 {
    slots.totals().unwrap()[index as usize]
  }

  #[test]
  fn runs_never_straddle_chunks() {
    let mut a = SlotAllocator { next: 0 };
    assert_eq!(a.allocate(3).unwrap(), (0, 1));
    a.next = (CHUNK_SLOTS - 2) as u32;
    // 13 slots do not fit in the 2 left: the run starts at the next chunk.
    assert_eq!(a.allocate(13).unwrap(), (CHUNK_SLOTS as u32, 2));
    assert!(matches!(
      a.allocate(CHUNK_SLOTS + 1),
      Err(SlotError::RunTooLong(n)) if n == CHUNK_SLOTS + 1
    ));
    assert!(matches!(a.allocate(0), Err(SlotError::RunTooLong(0))));
  }

  /// What every backing must do: sum live stripes and retired totals, keep a retired
  /// stripe's counts, recycle it zeroed.
  pub(crate) fn sums_live_and_retired_stripes(slots: &StripedSlots) {
    let main = slots.attach().unwrap();
    let index = slots.allocate(1).unwrap();
    let worker = slots.attach().unwrap();
    write(slots, main, index, 2.0);
    write(slots, worker, index, 3.5);
    assert_eq!(total(slots, index), 5.5);

    slots.retire(worker).unwrap();
    assert_eq!(total(slots, index), 5.5, "a retired stripe's counts are kept");
    assert_eq!(slots.stripe_counts(), (1, 1));

    let next = slots.attach().unwrap();
    assert_eq!(next, worker, "a retired stripe is recycled");
    assert_eq!(
      slots.chunk(next, 0).unwrap().cells()[index as usize].load(Ordering::Relaxed),
      0
    );
    write(slots, next, index, 1.0);
    assert_eq!(total(slots, index), 6.5);
    slots.retire(next).unwrap();
    slots.retire(next).unwrap();
    assert_eq!(total(slots, index), 6.5, "retiring twice counts once");
    assert_eq!(slots.totals_of(index, 1).unwrap(), [6.5]);
  }

  /// Allocations past a chunk give every stripe the new chunk, and nothing beyond it.
  pub(crate) fn grows_every_stripe(slots: &StripedSlots) {
    let a = slots.attach().unwrap();
    let b = slots.attach().unwrap();
    let mut last = 0;
    for _ in 0..(CHUNK_SLOTS / 100 + 2) {
      last = slots.allocate(100).unwrap();
    }
    let (k, _) = locate(last);
    assert_eq!(k, 1);
    assert!(slots.chunk(a, 1).is_ok() && slots.chunk(b, 1).is_ok());
    assert!(matches!(slots.chunk(a, 2), Err(SlotError::NoSuchChunk(2))));
    write(slots, b, last + 99, 7.0);
    assert_eq!(total(slots, last + 99), 7.0);
    assert_eq!(slots.totals().unwrap().len(), last as usize + 100);
  }

  #[test]
  fn heap_stripes_sum_and_recycle() {
    sums_live_and_retired_stripes(&StripedSlots::new());
  }

  #[test]
  fn heap_growth_gives_every_stripe_the_new_chunk() {
    grows_every_stripe(&StripedSlots::new());
  }

  #[test]
  fn chunks_are_aligned_apart() {
    let slots = StripedSlots::new();
    let a = slots.attach().unwrap();
    let b = slots.attach().unwrap();
    slots.allocate(1).unwrap();
    let pa = slots.chunk(a, 0).unwrap().as_ptr() as usize;
    let pb = slots.chunk(b, 0).unwrap().as_ptr() as usize;
    assert_eq!(pa % 128, 0);
    assert_eq!(pb % 128, 0);
    assert_ne!(pa, pb);
  }

  #[test]
  fn shared_slots_hold_one_cell_per_series() {
    let shared = SharedSlots::new();
    let index = shared.allocate(2).unwrap();
    shared.store(index + 1, 42).unwrap();
    assert_eq!(load(&shared.chunks().unwrap(), index + 1), 42);
    assert!(matches!(shared.chunk(1), Err(SlotError::NoSuchChunk(1))));
  }
}
