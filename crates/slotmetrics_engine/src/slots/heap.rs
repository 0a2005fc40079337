//! Slot memory of one process: chunks allocated zeroed on the heap and never freed.

use std::sync::atomic::Ordering;

use parking_lot::RwLock;

use super::{Chunk, SlotError, StripeId};

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

/// Striped slots on the heap.
pub(super) struct HeapStripes {
  /// Read-locked by collections, write-locked to add chunks or to retire a stripe, so a
  /// collection never sees a stripe half folded into the retired totals.
  set: RwLock<StripeSet>,
}

impl HeapStripes {
  pub(super) fn new() -> Self {
    HeapStripes {
      set: RwLock::new(StripeSet {
        stripes: Vec::new(),
        free: Vec::new(),
        retired: Vec::new(),
        chunk_count: 0,
      }),
    }
  }

  pub(super) fn attach(&self) -> StripeId {
    let mut set = self.set.write();
    if let Some(id) = set.free.pop() {
      set.stripes[id].live = true;
      return id;
    }
    let chunks = (0..set.chunk_count).map(|_| Chunk::leak_new()).collect();
    set.stripes.push(Stripe { chunks, live: true });
    set.stripes.len() - 1
  }

  pub(super) fn retire(&self, id: StripeId) {
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

  /// Gives every stripe memory for `chunk_count` chunks.
  pub(super) fn grow_to(&self, chunk_count: usize) {
    if self.set.read().chunk_count < chunk_count {
      self.set.write().grow_to(chunk_count);
    }
  }

  pub(super) fn chunk(&self, id: StripeId, k: usize) -> Result<&'static Chunk, SlotError> {
    self.set.read().stripes[id]
      .chunks
      .get(k)
      .copied()
      .ok_or(SlotError::NoSuchChunk(k))
  }

  /// Calls `add` with the retired chunks, then with each live stripe's.
  pub(super) fn for_each_source(&self, mut add: impl FnMut(&[&'static Chunk])) {
    let set = self.set.read();
    add(&set.retired);
    for stripe in set.stripes.iter().filter(|s| s.live) {
      add(&stripe.chunks);
    }
  }

  pub(super) fn stripe_counts(&self) -> (usize, usize) {
    let set = self.set.read();
    (set.stripes.len() - set.free.len(), set.free.len())
  }
}

/// Shared (gauge) slots on the heap.
pub(super) struct HeapShared {
  chunks: RwLock<Vec<&'static Chunk>>,
}

impl HeapShared {
  pub(super) fn new() -> Self {
    HeapShared {
      chunks: RwLock::new(Vec::new()),
    }
  }

  pub(super) fn grow_to(&self, chunk_count: usize) {
    let mut chunks = self.chunks.write();
    while chunks.len() < chunk_count {
      chunks.push(Chunk::leak_new());
    }
  }

  pub(super) fn chunks(&self) -> Vec<&'static Chunk> {
    self.chunks.read().clone()
  }
}
