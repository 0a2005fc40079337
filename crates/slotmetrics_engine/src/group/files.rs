//! A group's directory with the files every layer above shares, opened once per
//! process: one lock (so that the thread holding it may take it again, see
//! [`GroupLock`]), the member table and the journal.

use std::path::Path;

use super::{GroupDir, GroupError, GroupLock, Journal, Table};

pub struct GroupFiles {
  pub dir: GroupDir,
  pub lock: GroupLock,
  pub table: Table,
  pub journal: Journal,
}

impl GroupFiles {
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
