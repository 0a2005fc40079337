//! Slot memory in the files of a multi-process group, so that every process of the
//! group sees and adds to the same counts.
//!
//! * Each JS environment of each process owns a stripe, the file `stripe-<n>` (n is its
//!   entry in the group's member table), which only it writes and only it lengthens.
//! * `retired` holds what the stripes of torn-down environments and dead processes
//!   counted; `gauges` holds the shared slots, one cell per series for the group.
//! * Gauges that keep a value per process have it in `gauges-<n>` (n is the process's
//!   entry in the member table), written by that process; a read takes the files of
//!   live processes only, and the next process given the entry zeroes its file.
//! * Which slot indexes are handed out is kept in the member table; new ones are handed
//!   out, and `retired` and `gauges` lengthened, under the group lock.
//!
//! A stripe is folded into `retired` when its environment is torn down, or, when its
//! process died without that, by the next process that attaches a stripe or reads the
//! totals. A fold takes the group lock exclusively and a read of the totals takes it
//! shared, so a read never sees a count in both places or in neither. Every step of a
//! fold is recorded in the table first (see `group::FoldStep`), so a folder killed
//! mid-step leaves the next one a step to redo, not a count lost or doubled.

use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{locate, Chunk, SlotAllocator, SlotError, StripeId, CHUNK_SLOTS};
use crate::group::{ChunkFile, FileKind, GroupError, GroupFiles, ProcessIdentity, SlotSpace};

pub(super) struct GroupSlots {
  files: Arc<GroupFiles>,
  /// This process's entry in the member table.
  process: usize,
  retired: ChunkFile,
  gauges: ChunkFile,
  /// The stripe files opened so far, this process's and others', by stripe number.
  stripe_files: Mutex<HashMap<usize, Arc<ChunkFile>>>,
  /// The per-process gauge files opened so far, this process's and others', by entry.
  process_gauge_files: Mutex<HashMap<usize, Arc<ChunkFile>>>,
}

/// The cells of a mapped chunk.
fn cells_at(address: NonNull<u8>) -> &'static Chunk {
  // SAFETY: chunk files of slot memory have chunks of Chunk::BYTES; a mapping is
  // page-aligned (more than Chunk's alignment), never unmapped, and any bits are valid
  // cells.
  unsafe { &*address.as_ptr().cast::<Chunk>() }
}

fn chunks_for(slots: u32) -> usize {
  (slots as usize).div_ceil(CHUNK_SLOTS)
}

impl GroupSlots {
  /// Joins the group of `files` as process `me`, folding what members of an earlier
  /// boot or dead members left.
  pub(super) fn join(files: Arc<GroupFiles>, me: ProcessIdentity) -> Result<GroupSlots, GroupError> {
    let _changing = files.lock.exclusive()?;
    let mut slots = GroupSlots {
      retired: ChunkFile::open(&files.dir, "retired", FileKind::Retired, Chunk::BYTES)?,
      gauges: ChunkFile::open(&files.dir, "gauges", FileKind::Gauges, Chunk::BYTES)?,
      files: Arc::clone(&files),
      process: usize::MAX,
      stripe_files: Mutex::new(HashMap::new()),
      process_gauge_files: Mutex::new(HashMap::new()),
    };
    let earlier_boot = files.table.of_earlier_boot();
    // An entry with this very identity is a program this process ran before it exec'd
    // into this one: it is gone too.
    slots.sweep_locked(|entry| earlier_boot || entry == me || !entry.is_alive())?;
    files.table.record_boot();
    slots.process = files.table.join(me)?;
    // The entry's file may hold a dead process's values: zeroed before this process
    // is seen live (readers take the lock shared).
    let own = slots.process_gauge_file(slots.process)?;
    for chunk in mapped_chunks(&own, own.chunk_count()?)? {
      for cell in chunk.cells() {
        cell.store(0, Ordering::Relaxed);
      }
    }
    Ok(slots)
  }

  /// Gives a new environment of this process a stripe: a free entry of the table, whose
  /// file (if it has one) was zeroed when it was folded.
  pub(super) fn attach(&self) -> Result<StripeId, GroupError> {
    let _changing = self.files.lock.exclusive()?;
    self.sweep_locked(|entry| !entry.is_alive())?;
    let stripe = self.files.table.attach(self.process)?;
    self.stripe_file(stripe)?;
    Ok(stripe)
  }

  /// Folds a torn-down environment's stripe into the retired totals and frees it.
  pub(super) fn retire(&self, stripe: StripeId) -> Result<(), GroupError> {
    let _changing = self.files.lock.exclusive()?;
    let owned = self.files.table.stripes().contains(&(stripe, self.process));
    if owned {
      self.fold(stripe)?;
      self.files.table.detach(stripe);
    }
    Ok(())
  }

  /// Hands out `count` consecutive slots of `space` for the whole group.
  pub(super) fn allocate(&self, space: SlotSpace, count: usize) -> Result<u32, SlotError> {
    let _changing = self.files.lock.exclusive()?;
    let mut allocator = SlotAllocator {
      next: self.files.table.slots_allocated(space),
    };
    let (start, chunks_needed) = allocator.allocate(count)?;
    // Memory first, then the indexes: no one is handed a slot with nothing behind it.
    match space {
      SlotSpace::Striped => self.retired.grow_to(chunks_needed)?,
      SlotSpace::Shared => self.gauges.grow_to(chunks_needed)?,
    }
    self.files.table.set_slots_allocated(space, allocator.next);
    Ok(start)
  }

  /// Chunk `k` of this process's stripe `stripe`, lengthening the file when needed (its
  /// owner is the only one who may).
  pub(super) fn stripe_chunk(&self, stripe: StripeId, k: usize) -> Result<&'static Chunk, SlotError> {
    if k >= chunks_for(self.files.table.slots_allocated(SlotSpace::Striped)) {
      return Err(SlotError::NoSuchChunk(k));
    }
    let file = self.stripe_file(stripe)?;
    file.grow_to(k + 1)?;
    let address = file.chunk(k)?.ok_or(SlotError::NoSuchChunk(k))?;
    Ok(cells_at(address))
  }

  /// The chunks of the group's shared slots handed out so far.
  pub(super) fn shared_chunks(&self) -> Result<Vec<&'static Chunk>, SlotError> {
    let needed = chunks_for(self.files.table.slots_allocated(SlotSpace::Shared));
    (0..needed)
      .map(|k| {
        let address = self.gauges.chunk(k)?.ok_or(SlotError::NoSuchChunk(k))?;
        Ok(cells_at(address))
      })
      .collect()
  }

  /// This process's entry in the member table.
  pub(super) fn member(&self) -> usize {
    self.process
  }

  /// Chunk `k` of this process's own gauge cells, lengthening its file when needed.
  pub(super) fn own_gauge_chunk(&self, k: usize) -> Result<&'static Chunk, SlotError> {
    if k >= chunks_for(self.files.table.slots_allocated(SlotSpace::Shared)) {
      return Err(SlotError::NoSuchChunk(k));
    }
    let file = self.process_gauge_file(self.process)?;
    file.grow_to(k + 1)?;
    let address = file.chunk(k)?.ok_or(SlotError::NoSuchChunk(k))?;
    Ok(cells_at(address))
  }

  /// Calls `read` with the own gauge chunks of every live process (each only as far as
  /// its file goes). Dead members are folded first, so their values are left out.
  pub(super) fn read_own_gauges(&self, mut read: impl FnMut(&[&'static Chunk])) -> Result<(), SlotError> {
    self.sweep_dead()?;
    let _reading = self.files.lock.shared()?;
    let needed = chunks_for(self.files.table.slots_allocated(SlotSpace::Shared));
    for (process, _) in self.files.table.processes() {
      read(&mapped_chunks(&*self.process_gauge_file(process)?, needed)?);
    }
    Ok(())
  }

  /// Folds the members that died since the last look, if any.
  fn sweep_dead(&self) -> Result<(), GroupError> {
    if !self.files.table.dead_processes().is_empty() {
      let _changing = self.files.lock.exclusive()?;
      self.sweep_locked(|entry| !entry.is_alive())?;
    }
    Ok(())
  }

  /// How many striped slots are handed out, and calls `add` with the chunks of the
  /// retired totals and of every stripe in use (each only as far as its file goes: a
  /// chunk a stripe's owner has not touched yet counts as zeros). Dead members are
  /// folded first; the group lock is held shared throughout, so no fold runs meanwhile.
  pub(super) fn read_stripes(&self, mut add: impl FnMut(&[&'static Chunk])) -> Result<usize, SlotError> {
    self.sweep_dead()?;
    let _reading = self.files.lock.shared()?;
    let allocated = self.files.table.slots_allocated(SlotSpace::Striped);
    let needed = chunks_for(allocated);
    add(&mapped_chunks(&self.retired, needed)?);
    for (stripe, _) in self.files.table.stripes() {
      add(&mapped_chunks(&*self.stripe_file(stripe)?, needed)?);
    }
    Ok(allocated as usize)
  }

  /// (stripes in use in the group, stripe files free for reuse).
  pub(super) fn stripe_counts(&self) -> (usize, usize) {
    let in_use = self.files.table.stripes().len();
    let files = std::fs::read_dir(self.files.dir.path())
      .map(|entries| {
        let names = entries.filter_map(|e| e.ok()?.file_name().into_string().ok());
        names.filter(|name| name.starts_with("stripe-")).count()
      })
      .unwrap_or(0);
    (in_use, files.saturating_sub(in_use))
  }

  /// The file of stripe `stripe`, opened (and, for a new stripe, created: under the
  /// group lock) once per process.
  fn stripe_file(&self, stripe: StripeId) -> Result<Arc<ChunkFile>, GroupError> {
    self.open_once(&self.stripe_files, stripe, "stripe", FileKind::Stripe)
  }

  /// The gauge file of process entry `process`, opened (and, for a new entry, created:
  /// under the group lock) once per process.
  fn process_gauge_file(&self, process: usize) -> Result<Arc<ChunkFile>, GroupError> {
    self.open_once(
      &self.process_gauge_files,
      process,
      "gauges",
      FileKind::ProcessGauges,
    )
  }

  /// The chunk file `<prefix>-<n>`, from `opened` or opened and kept there.
  fn open_once(
    &self,
    opened: &Mutex<HashMap<usize, Arc<ChunkFile>>>,
    n: usize,
    prefix: &str,
    kind: FileKind,
  ) -> Result<Arc<ChunkFile>, GroupError> {
    let mut opened = opened.lock();
    if let Some(file) = opened.get(&n) {
      return Ok(Arc::clone(file));
    }
    let name = format!("{prefix}-{n}");
    let file = Arc::new(ChunkFile::open(&self.files.dir, &name, kind, Chunk::BYTES)?);
    opened.insert(n, Arc::clone(&file));
    Ok(file)
  }

  /// Under the exclusive lock: redoes a fold step left pending, then folds the stripes
  /// of every member `gone` says is gone and frees their entries.
  fn sweep_locked(&self, gone: impl Fn(ProcessIdentity) -> bool) -> Result<(), GroupError> {
    self.redo_pending_step()?;
    for (process, identity) in self.files.table.processes() {
      if !gone(identity) {
        continue;
      }
      for (stripe, owner) in self.files.table.stripes() {
        if owner == process {
          self.fold(stripe)?;
          self.files.table.detach(stripe);
        }
      }
      self.files.table.leave(process);
    }
    Ok(())
  }

  /// Under the exclusive lock: adds every cell of `stripe` into the retired totals and
  /// zeroes it, one recorded step per cell that holds a count.
  fn fold(&self, stripe: StripeId) -> Result<(), GroupError> {
    let file = self.stripe_file(stripe)?;
    let chunks = file.chunk_count()?;
    self.retired.grow_to(chunks)?;
    let step = self.files.table.fold_step();
    for k in 0..chunks {
      let (Some(from), Some(into)) = (file.chunk(k)?, self.retired.chunk(k)?) else {
        continue;
      };
      for (i, (cell, total)) in cells_at(from)
        .cells()
        .iter()
        .zip(cells_at(into).cells())
        .enumerate()
      {
        let value = cell.load(Ordering::Relaxed);
        if value == 0 {
          continue;
        }
        let before = total.load(Ordering::Relaxed);
        step.record(stripe, (k * CHUNK_SLOTS + i) as u64, before, value);
        take_step(total, cell, before, value);
        step.done();
      }
    }
    Ok(())
  }

  /// Redoes the step of a fold whose folder died before it said the step was done.
  fn redo_pending_step(&self) -> Result<(), GroupError> {
    let step = self.files.table.fold_step();
    let Some(stripe) = step.pending() else {
      return Ok(());
    };
    let (k, i) = locate(step.cell.load(Ordering::Relaxed) as u32);
    self.retired.grow_to(k + 1)?;
    let file = self.stripe_file(stripe)?;
    if let (Some(from), Some(into)) = (file.chunk(k)?, self.retired.chunk(k)?) {
      let before = step.before.load(Ordering::Relaxed);
      let value = step.value.load(Ordering::Relaxed);
      take_step(
        &cells_at(into).cells()[i],
        &cells_at(from).cells()[i],
        before,
        value,
      );
    }
    step.done();
    Ok(())
  }
}

/// One step of a fold: the retired total becomes `before + value`, the stripe's cell 0.
/// Both stores publish what came before them, so a folder killed between any two of
/// its stores leaves memory in an order the recorded step can redo.
fn take_step(total: &AtomicU64, cell: &AtomicU64, before: u64, value: u64) {
  let sum = f64::from_bits(before) + f64::from_bits(value);
  total.store(sum.to_bits(), Ordering::Release);
  cell.store(0, Ordering::Release);
}

/// The first `needed` chunks of `file`, as far as the file goes.
fn mapped_chunks(file: &ChunkFile, needed: usize) -> Result<Vec<&'static Chunk>, GroupError> {
  let mut chunks = Vec::with_capacity(needed);
  for k in 0..needed {
    match file.chunk(k)? {
      Some(address) => chunks.push(cells_at(address)),
      None => break,
    }
  }
  Ok(chunks)
}

#[cfg(test)]
mod tests {
  use std::os::unix::fs::FileExt;

  use super::super::tests::{grows_every_stripe, sums_live_and_retired_stripes, total, write};
  use super::super::{Memory, StripedSlots};
  use std::path::Path;

  use super::*;
  use crate::group::testing::{kill, other_process, temp_path};

  /// A member of the group in `path` that runs as `me`.
  fn member(path: &Path, me: ProcessIdentity) -> (Arc<GroupSlots>, StripedSlots) {
    let files = Arc::new(GroupFiles::open(path).unwrap());
    let group = Arc::new(GroupSlots::join(files, me).unwrap());
    (Arc::clone(&group), StripedSlots(Memory::Group(group)))
  }

  #[test]
  fn group_stripes_sum_and_recycle() {
    let path = temp_path("slots-sum");
    sums_live_and_retired_stripes(&member(&path, ProcessIdentity::current()).1);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn group_growth_gives_every_stripe_the_new_chunk() {
    let path = temp_path("slots-grow");
    grows_every_stripe(&member(&path, ProcessIdentity::current()).1);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn members_share_counts_and_a_dead_members_counts_are_kept() {
    let path = temp_path("slots-members");
    let (_, a) = member(&path, ProcessIdentity::current());
    let (child, identity) = other_process();
    let (_, b) = member(&path, identity);
    let (stripe_a, stripe_b) = (a.attach().unwrap(), b.attach().unwrap());
    let counter = a.allocate(1).unwrap();
    let histogram = b.allocate(12).unwrap();
    assert_eq!(histogram, 1, "the group hands out each index once");
    write(&a, stripe_a, counter, 2.0);
    write(&b, stripe_b, counter, 3.0);
    write(&b, stripe_b, histogram + 11, 0.25);
    for seen_by in [&a, &b] {
      assert_eq!(total(seen_by, counter), 5.0);
      assert_eq!(total(seen_by, histogram + 11), 0.25);
    }
    assert_eq!(a.stripe_counts(), (2, 0));

    kill(child);
    assert_eq!(
      total(&a, counter),
      5.0,
      "a dead member's counts are folded, not lost"
    );
    assert_eq!(total(&a, histogram + 11), 0.25);
    assert_eq!(a.stripe_counts(), (1, 1), "its stripe is free");

    let (next_child, next_identity) = other_process();
    let (_, c) = member(&path, next_identity);
    let stripe_c = c.attach().unwrap();
    assert_eq!(stripe_c, stripe_b, "the dead member's stripe is reused");
    assert_eq!(
      c.chunk(stripe_c, 0).unwrap().cells()[counter as usize].load(Ordering::Relaxed),
      0,
      "zeroed"
    );
    write(&c, stripe_c, counter, 1.0);
    assert_eq!(total(&a, counter), 6.0);
    kill(next_child);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn a_fold_cut_short_mid_step_is_redone_once() {
    let path = temp_path("slots-redo");
    let (group, a) = member(&path, ProcessIdentity::current());
    let (child, identity) = other_process();
    let (_, b) = member(&path, identity);
    let stripe_b = b.attach().unwrap();
    let first = a.allocate(3).unwrap();
    for (i, value) in [1.0, 2.0, 4.0].into_iter().enumerate() {
      write(&b, stripe_b, first + i as u32, value);
    }
    kill(child);
    // A folder died after recording the step for the middle cell and adding it into the
    // retired total, before it zeroed the stripe's cell.
    let cell = (first + 1) as usize;
    let retired = cells_at(group.retired.chunk(0).unwrap().unwrap());
    let before = retired.cells()[cell].load(Ordering::Relaxed);
    let value = 2.0f64.to_bits();
    group
      .files
      .table
      .fold_step()
      .record(stripe_b, cell as u64, before, value);
    retired.cells()[cell].store((f64::from_bits(before) + 2.0).to_bits(), Ordering::Relaxed);

    let totals = a.totals().unwrap();
    assert_eq!(&totals[first as usize..first as usize + 3], [1.0, 2.0, 4.0]);
    assert_eq!(group.files.table.fold_step().pending(), None);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn members_of_an_earlier_boot_are_folded_though_their_pids_run() {
    let path = temp_path("slots-boot");
    let (child, identity) = other_process();
    let (_, b) = member(&path, identity);
    let stripe_b = b.attach().unwrap();
    let slot = b.allocate(1).unwrap();
    write(&b, stripe_b, slot, 9.0);
    // The machine rebooted: the table records another boot (its first bytes).
    let table = std::fs::OpenOptions::new()
      .write(true)
      .open(path.join("table"))
      .unwrap();
    table.write_all_at(&[0xAB; 16], 4096).unwrap();

    let (_, a) = member(&path, ProcessIdentity::current());
    assert_eq!(
      a.stripe_counts(),
      (0, 1),
      "the stripe of the earlier boot is folded and free"
    );
    assert_eq!(total(&a, slot), 9.0);
    kill(child);
    std::fs::remove_dir_all(&path).unwrap();
  }
}
