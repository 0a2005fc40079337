//! The header page every group file starts with: magic, format version, what the file
//! holds and the unit it grows by. It is checked before a file is used, so a file of
//! another slotmetrics version, a foreign or a cut file is an error that names it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::GroupError;

const MAGIC: [u8; 8] = *b"SLOTMGRP";
/// The layout of every file in the directory; a change to any of them bumps it.
pub const FORMAT_VERSION: u32 = 2;
/// One page, so that what follows starts page-aligned, as mmap needs.
pub const HEADER_BYTES: u64 = 4096;

/// What a group file holds, written in its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FileKind {
  /// One JS environment's counter and histogram slots.
  Stripe = 1,
  /// What environments that no longer exist counted.
  Retired = 2,
  /// Gauges with one value for the group.
  Gauges = 3,
  /// The registry's changes, in order.
  Journal = 4,
  /// The members: processes and their stripes.
  Table = 5,
  /// One process's own values of gauges that keep one per process.
  ProcessGauges = 6,
}

impl FileKind {
  fn name(code: u32) -> String {
    match code {
      1 => "a stripe".into(),
      2 => "retired totals".into(),
      3 => "gauges".into(),
      4 => "a journal".into(),
      5 => "a member table".into(),
      6 => "a process's gauges".into(),
      other => format!("unknown kind {other}"),
    }
  }
}

/// Writes the header of a new, empty file that grows by `unit_bytes` at a time.
pub(super) fn write_header(
  file: &File,
  path: &Path,
  kind: FileKind,
  unit_bytes: usize,
) -> Result<(), GroupError> {
  let mut page = vec![0u8; HEADER_BYTES as usize];
  page[0..8].copy_from_slice(&MAGIC);
  page[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
  page[12..16].copy_from_slice(&(kind as u32).to_le_bytes());
  page[16..20].copy_from_slice(&(unit_bytes as u32).to_le_bytes());
  file
    .write_all_at(&page, 0)
    .map_err(|e| GroupError::io(path, "write the header of", e))
}

/// Checks the header of an existing file and that it holds whole units; returns its length.
pub(super) fn check_header(
  file: &File,
  path: &Path,
  kind: FileKind,
  unit_bytes: usize,
) -> Result<u64, GroupError> {
  let len = file
    .metadata()
    .map_err(|e| GroupError::io(path, "inspect", e))?
    .len();
  if len < HEADER_BYTES {
    return Err(GroupError::bad_file(
      path,
      format!("is truncated: {len} bytes, shorter than its {HEADER_BYTES}-byte header"),
    ));
  }
  let mut head = [0u8; 20];
  file
    .read_exact_at(&mut head, 0)
    .map_err(|e| GroupError::io(path, "read the header of", e))?;
  let word = |at: usize| u32::from_le_bytes(head[at..at + 4].try_into().unwrap());
  if head[0..8] != MAGIC {
    return Err(GroupError::bad_file(
      path,
      "is not a slotmetrics multi-process file",
    ));
  }
  if word(8) != FORMAT_VERSION {
    return Err(GroupError::bad_file(
      path,
      format!(
        "has format version {}; this slotmetrics reads version {FORMAT_VERSION} (another slotmetrics version made it: give this one an empty directory)",
        word(8)
      ),
    ));
  }
  if word(12) != kind as u32 {
    return Err(GroupError::bad_file(
      path,
      format!(
        "holds {}, not {}",
        FileKind::name(word(12)),
        FileKind::name(kind as u32)
      ),
    ));
  }
  if word(16) as usize != unit_bytes || !(len - HEADER_BYTES).is_multiple_of(unit_bytes as u64) {
    return Err(GroupError::bad_file(
      path,
      format!("is damaged: {len} bytes is not a header and whole units of {unit_bytes} bytes"),
    ));
  }
  Ok(len)
}
