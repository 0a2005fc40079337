//! A group's directory with the files every layer above shares, opened once per
//! process: one lock (so that the thread holding it may take it again, see
//! [`GroupLock`]), the member table and the journal.

use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::{GroupDir, GroupError, GroupLock, Journal, Table};

pub struct GroupFiles {
  pub dir: GroupDir,
  pub lock: GroupLock,
  pub table: Table,
  pub journal: Journal,
}

impl GroupFiles {
  /// Replaces what member `entry` publishes for the others to read (its summaries'
  /// digests), in `summaries-<entry>`. The file is read, never mapped, so it may be
  /// shortened; the caller holds the group lock exclusively, so no one reads it half
  /// written.
  pub fn publish(&self, entry: usize, bytes: &[u8]) -> Result<(), GroupError> {
    let name = format!("summaries-{entry}");
    let file = self.dir.open_file(&name)?;
    file
      .set_len(0)
      .and_then(|()| file.write_all_at(bytes, 0))
      .map_err(|e| GroupError::io(&self.dir.file_path(&name), "write", e))
  }

  /// What member `entry` published last (empty when nothing); the caller holds the
  /// group lock, shared.
  pub fn published(&self, entry: usize) -> Result<Vec<u8>, GroupError> {
    let name = format!("summaries-{entry}");
    let mut bytes = Vec::new();
    self
      .dir
      .open_file(&name)?
      .read_to_end(&mut bytes)
      .map_err(|e| GroupError::io(&self.dir.file_path(&name), "read", e))?;
    Ok(bytes)
  }

  /// Opens the group in directory `path`, creating the directory and its files when new.
  pub fn open(path: &Path) -> Result<GroupFiles, GroupError> {
    let dir = GroupDir::open(path)?;
    let lock = GroupLock::open(&dir)?;
    let (table, journal) = {
      // New files get their headers under the lock, so no one reads one half written.
      let _creating = lock.exclusive()?;
      (Table::open(&dir)?, Journal::open(&dir)?)
    };
    Ok(GroupFiles {
      dir,
      lock,
      table,
      journal,
    })
  }
}
