//! The files of a multi-process group: the directory that `SLOTMETRICS_MULTIPROCESS_DIR`
//! names, shared by every process that loads slotmetrics with it.
//!
//! This module knows files, not metrics: a directory opened safely ([`GroupDir`]), files
//! of slot chunks that each process maps ([`ChunkFile`]), the lock that orders changes
//! to the group across processes ([`GroupLock`]), the journal of changes every process
//! applies in order ([`Journal`]), its members ([`Table`]) and who is alive
//! ([`ProcessIdentity`]).
//! [`GroupFiles`] opens the ones every layer above shares. The slot and registry layers
//! build the shared metric set on them.
//!
//! Every file starts with a header page (magic, format version, what the file holds,
//! the chunk size) that is checked before anything is mapped, so that a file of another
//! version, a truncated or a foreign file is refused with an error that names it. Files
//! are never shortened while a group lives: a mapping of a file that shrank would kill
//! the process with SIGBUS on its next access.

mod chunk_file;
mod dir;
mod files;
mod header;
mod identity;
mod journal;
mod lock;
mod table;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use chunk_file::ChunkFile;
pub use dir::GroupDir;
pub use files::GroupFiles;
pub use header::FileKind;
#[cfg(target_os = "linux")]
pub use identity::stat_fields;
pub use identity::{boot_id, ProcessIdentity};
pub use journal::{Journal, JournalRecord, JOURNAL_START, MAX_RECORD_BYTES};
pub use lock::GroupLock;
pub use table::{FoldStep, SlotSpace, Table, MAX_PROCESSES, MAX_STRIPES};

/// What went wrong with the group's directory or one of its files, naming the path.
#[derive(Debug)]
pub enum GroupError {
  /// A system call failed.
  Io {
    path: PathBuf,
    action: &'static str,
    source: io::Error,
  },
  /// The directory or a file could be changed by someone else, or is not what it should be.
  Unsafe { path: PathBuf, reason: String },
  /// A file that is not a slotmetrics group file of this version, or is damaged.
  BadFile { path: PathBuf, reason: String },
  /// The group has as many members as it can hold.
  Full(String),
}

impl GroupError {
  pub(crate) fn io(path: &Path, action: &'static str, source: io::Error) -> Self {
    GroupError::Io {
      path: path.to_path_buf(),
      action,
      source,
    }
  }

  pub(crate) fn unsafe_path(path: &Path, reason: impl Into<String>) -> Self {
    GroupError::Unsafe {
      path: path.to_path_buf(),
      reason: reason.into(),
    }
  }

  pub(crate) fn bad_file(path: &Path, reason: impl Into<String>) -> Self {
    GroupError::BadFile {
      path: path.to_path_buf(),
      reason: reason.into(),
    }
  }
}

impl fmt::Display for GroupError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      GroupError::Io { path, action, source } => {
        write!(
          f,
          "multi-process directory: cannot {action} {}: {source}",
          path.display()
        )
      }
      GroupError::Unsafe { path, reason } => {
        write!(
          f,
          "multi-process directory: refusing {}: {reason}",
          path.display()
        )
      }
      GroupError::BadFile { path, reason } => {
        write!(f, "multi-process directory: {} {reason}", path.display())
      }
      GroupError::Full(reason) => write!(f, "multi-process directory: {reason}"),
    }
  }
}

impl std::error::Error for GroupError {}

/// Directories for the tests of this module's files.
#[cfg(test)]
pub(crate) mod testing {
  use std::path::PathBuf;
  use std::process::{Child, Command};

  use super::{GroupDir, ProcessIdentity};

  /// Another process, alive until it is killed: the identity a second member of a
  /// group runs as.
  pub fn other_process() -> (Child, ProcessIdentity) {
    let child = Command::new("sleep").arg("60").spawn().unwrap();
    let identity = ProcessIdentity::of(child.id());
    (child, identity)
  }

  pub fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
  }

  /// A path in the temporary directory, unique to this test run, with nothing at it.
  pub fn temp_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("slotmetrics-group-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    path
  }

  /// A new, empty group directory.
  pub fn temp_group(name: &str) -> (PathBuf, GroupDir) {
    let path = temp_path(name);
    let dir = GroupDir::open(&path).unwrap();
    (path, dir)
  }
}
