//! The group's members: which processes belong to it (PID and start time, in which
//! boot of the machine) and which stripes (one per JS environment) each owns. Entries
//! of members that are gone are reused, and so are the files named after them
//! (`stripe-<n>`), so processes that come and go do not make the directory grow.
//!
//! The table is one file mapped by every process; it is changed only under the group
//! lock. It also holds the one step of a fold in progress (see [`FoldStep`]).

use std::mem::size_of;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::header::FileKind;
use super::identity::boot_id;
use super::{ChunkFile, GroupDir, GroupError, ProcessIdentity};

/// Processes a group can have at once.
pub const MAX_PROCESSES: usize = 1024;
/// JS environments (main threads and workers) a group can have at once.
pub const MAX_STRIPES: usize = 4096;

#[repr(C)]
struct ProcessEntry {
  /// 1 while the entry is a member's; 0 when free.
  taken: AtomicU32,
  pid: AtomicU32,
  start: AtomicU64,
}

#[repr(C)]
struct StripeEntry {
  /// The owning process's entry + 1; 0 when free.
  owner: AtomicU32,
  reserved: AtomicU32,
}

/// One step of folding a dead member's stripe into the retired totals, written before
/// the step is taken: cell `cell` of the retired totals was `before` and the stripe's
/// cell held `value`. Redoing a step (retired = before + value, stripe cell = 0) is
/// harmless, so a folder killed mid-step leaves its successor a step to redo, not a
/// count lost or doubled. `stripe` (the stripe + 1) is written last and says the step
/// is whole; 0 means no step is pending.
#[repr(C)]
pub struct FoldStep {
  stripe: AtomicU64,
  pub cell: AtomicU64,
  pub before: AtomicU64,
  pub value: AtomicU64,
}

impl FoldStep {
  /// The stripe of the pending step, if one is.
  pub fn pending(&self) -> Option<usize> {
    match self.stripe.load(Ordering::Acquire) {
      0 => None,
      s => Some(s as usize - 1),
    }
  }

  /// Records a step before it is taken.
  pub fn record(&self, stripe: usize, cell: u64, before: u64, value: u64) {
    self.stripe.store(0, Ordering::Release);
    self.cell.store(cell, Ordering::Relaxed);
    self.before.store(before, Ordering::Relaxed);
    self.value.store(value, Ordering::Relaxed);
    self.stripe.store(stripe as u64 + 1, Ordering::Release);
  }

  /// The step was taken.
  pub fn done(&self) {
    self.stripe.store(0, Ordering::Release);
  }
}

/// The group's two spaces of slot indexes: striped (one copy per stripe, summed) and
/// shared (one cell for the whole group). Each is handed out from 0, in runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotSpace {
  Striped = 0,
  Shared = 1,
}

#[repr(C)]
struct Layout {
  /// The boot the members were recorded in.
  boot: [AtomicU64; 2],
  /// Bumped by every change of membership, so a reader can tell one happened.
  changes: AtomicU64,
  /// How many slots of each space are handed out.
  slots_allocated: [AtomicU64; 2],
  fold: FoldStep,
  processes: [ProcessEntry; MAX_PROCESSES],
  stripes: [StripeEntry; MAX_STRIPES],
}

/// The table's size in the file: whole pages.
const TABLE_BYTES: usize = size_of::<Layout>().next_multiple_of(4096);

pub struct Table {
  layout: &'static Layout,
}

impl Table {
  /// Opens the table, creating it when it is new; call it under the group lock.
  pub fn open(dir: &GroupDir) -> Result<Table, GroupError> {
    let file = ChunkFile::open(dir, "table", FileKind::Table, TABLE_BYTES)?;
    file.grow_to(1)?;
    let address = file
      .chunk(0)?
      .ok_or_else(|| GroupError::bad_file(file.path(), "is missing its table"))?;
    // SAFETY: the mapping is TABLE_BYTES long, page-aligned, lives as long as the
    // process, and any bit pattern is a valid Layout (atomics of integers).
    let layout = unsafe { &*address.as_ptr().cast::<Layout>() };
    Ok(Table { layout })
  }

  /// Whether the members were recorded in an earlier boot of the machine: then they are
  /// all dead, though their PIDs and start times could match new processes, and the
  /// caller folds them all before it calls [`Table::record_boot`].
  pub fn of_earlier_boot(&self) -> bool {
    let recorded = self.recorded_boot();
    recorded != 0 && recorded != boot_id()
  }

  /// Records this boot of the machine, once the members of an earlier one are folded (a
  /// process killed in between leaves the earlier boot recorded, so the next one folds).
  pub fn record_boot(&self) {
    let now = boot_id();
    self.layout.boot[0].store((now >> 64) as u64, Ordering::Release);
    self.layout.boot[1].store(now as u64, Ordering::Release);
  }

  fn recorded_boot(&self) -> u128 {
    (self.layout.boot[0].load(Ordering::Acquire) as u128) << 64
      | self.layout.boot[1].load(Ordering::Acquire) as u128
  }

  /// Makes `me` a member; returns its process entry.
  pub fn join(&self, me: ProcessIdentity) -> Result<usize, GroupError> {
    let (index, entry) = self
      .layout
      .processes
      .iter()
      .enumerate()
      .find(|(_, e)| e.taken.load(Ordering::Acquire) == 0)
      .ok_or_else(|| GroupError::Full(format!("the group already has {MAX_PROCESSES} processes")))?;
    entry.pid.store(me.pid, Ordering::Relaxed);
    entry.start.store(me.start, Ordering::Relaxed);
    entry.taken.store(1, Ordering::Release);
    self.changed();
    Ok(index)
  }

  /// Frees a process entry; its stripes must have been freed first.
  pub fn leave(&self, process: usize) {
    self.layout.processes[process].taken.store(0, Ordering::Release);
    self.changed();
  }

  /// Gives process `process` a stripe; returns its number.
  pub fn attach(&self, process: usize) -> Result<usize, GroupError> {
    let (index, entry) = self
      .layout
      .stripes
      .iter()
      .enumerate()
      .find(|(_, e)| e.owner.load(Ordering::Acquire) == 0)
      .ok_or_else(|| {
        GroupError::Full(format!(
          "the group already has {MAX_STRIPES} threads using slotmetrics"
        ))
      })?;
    entry.owner.store(process as u32 + 1, Ordering::Release);
    self.changed();
    Ok(index)
  }

  /// Frees a stripe, once what it counted is in the retired totals.
  pub fn detach(&self, stripe: usize) {
    self.layout.stripes[stripe].owner.store(0, Ordering::Release);
    self.changed();
  }

  /// The members: (process entry, identity).
  pub fn processes(&self) -> Vec<(usize, ProcessIdentity)> {
    let entries = self.layout.processes.iter().enumerate();
    entries
      .filter(|(_, e)| e.taken.load(Ordering::Acquire) == 1)
      .map(|(i, e)| {
        let identity = ProcessIdentity {
          pid: e.pid.load(Ordering::Relaxed),
          start: e.start.load(Ordering::Relaxed),
        };
        (i, identity)
      })
      .collect()
  }

  /// The stripes in use: (stripe, owning process entry).
  pub fn stripes(&self) -> Vec<(usize, usize)> {
    let entries = self.layout.stripes.iter().enumerate();
    entries
      .filter_map(|(i, e)| match e.owner.load(Ordering::Acquire) {
        0 => None,
        owner => Some((i, owner as usize - 1)),
      })
      .collect()
  }

  /// Members that no longer run.
  pub fn dead_processes(&self) -> Vec<usize> {
    let processes = self.processes().into_iter();
    processes
      .filter(|(_, who)| !who.is_alive())
      .map(|(i, _)| i)
      .collect()
  }

  pub fn fold_step(&self) -> &FoldStep {
    &self.layout.fold
  }

  /// How many slots of `space` are handed out.
  pub fn slots_allocated(&self, space: SlotSpace) -> u32 {
    self.layout.slots_allocated[space as usize].load(Ordering::Acquire) as u32
  }

  /// Records that `count` slots of `space` are handed out; only under the group lock,
  /// and only once the memory behind them exists.
  pub fn set_slots_allocated(&self, space: SlotSpace, count: u32) {
    self.layout.slots_allocated[space as usize].store(count as u64, Ordering::Release);
  }

  /// How many membership changes there have been.
  pub fn changes(&self) -> u64 {
    self.layout.changes.load(Ordering::Acquire)
  }

  fn changed(&self) {
    self.layout.changes.fetch_add(1, Ordering::AcqRel);
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::group::testing::temp_group;

  #[test]
  fn members_join_attach_and_their_entries_are_reused() {
    let (path, dir) = temp_group("table-members");
    let table = Table::open(&dir).unwrap();
    // Another opening stands for another process.
    let seen = Table::open(&dir).unwrap();
    assert!(!table.of_earlier_boot(), "a new table has no earlier boot");
    table.record_boot();
    let me = ProcessIdentity::current();
    let process = table.join(me).unwrap();
    let stripes = [table.attach(process).unwrap(), table.attach(process).unwrap()];
    assert_eq!(seen.processes(), [(process, me)]);
    assert_eq!(seen.stripes(), [(stripes[0], process), (stripes[1], process)]);
    assert!(seen.dead_processes().is_empty());

    let before = seen.changes();
    table.detach(stripes[0]);
    assert_eq!(
      table.attach(process).unwrap(),
      stripes[0],
      "a freed stripe is reused first"
    );
    assert!(seen.changes() > before);

    let ghost = table
      .join(ProcessIdentity {
        pid: me.pid,
        start: me.start + 1,
      })
      .unwrap();
    assert_eq!(seen.dead_processes(), [ghost]);
    table.leave(ghost);
    assert_eq!(table.join(me).unwrap(), ghost, "a freed process entry is reused");
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn members_of_another_boot_are_forgotten() {
    let (path, dir) = temp_group("table-boot");
    let table = Table::open(&dir).unwrap();
    table.record_boot();
    assert!(!table.of_earlier_boot());
    table.layout.boot[1].fetch_xor(1, Ordering::Relaxed);
    assert!(
      table.of_earlier_boot() || boot_id() == 0,
      "a table of another boot says so until this boot is recorded"
    );
    assert!(table.of_earlier_boot() || boot_id() == 0);
    table.record_boot();
    assert!(!table.of_earlier_boot());
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn a_fold_step_is_pending_only_once_whole() {
    let (path, dir) = temp_group("table-fold");
    let table = Table::open(&dir).unwrap();
    let step = table.fold_step();
    assert_eq!(step.pending(), None);
    step.record(7, 42, 1.5f64.to_bits(), 2.0f64.to_bits());
    let reopened = Table::open(&dir).unwrap();
    let seen = reopened.fold_step();
    assert_eq!(seen.pending(), Some(7));
    assert_eq!(f64::from_bits(seen.before.load(Ordering::Relaxed)), 1.5);
    step.done();
    assert_eq!(seen.pending(), None);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn a_full_group_says_so() {
    let (path, dir) = temp_group("table-full");
    let table = Table::open(&dir).unwrap();
    let process = table.join(ProcessIdentity::current()).unwrap();
    for _ in 0..MAX_STRIPES {
      table.attach(process).unwrap();
    }
    let error = table.attach(process).err().unwrap().to_string();
    assert!(error.contains("already has 4096 threads"), "{error}");
    std::fs::remove_dir_all(&path).unwrap();
  }
}
