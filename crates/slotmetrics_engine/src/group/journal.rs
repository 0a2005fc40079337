//! The group's journal: the registry's changes (definitions, new series), one record
//! after another, in the order every process applies them. A process catches up by
//! reading the records past the last one it applied.
//!
//! Records are appended under the group lock. The header holds the end of the last
//! whole record (the committed end), and an append writes the record past it before it
//! moves the committed end over it with one 8-byte write; readers never read past the
//! committed end. A process killed mid-append leaves at most bytes past the committed
//! end, which no one reads and the next append writes over.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use super::header::{check_header, write_header, FileKind, HEADER_BYTES};
use super::{GroupDir, GroupError};

/// Where the committed end is kept in the header.
const COMMITTED_AT: u64 = 24;
/// The largest record: a definition or a label set is far smaller.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// A record's bytes, and the offset after it (where reading the next one starts).
#[derive(Debug, PartialEq)]
pub struct JournalRecord {
  pub body: Vec<u8>,
  pub end: u64,
}

pub struct Journal {
  file: File,
  path: PathBuf,
}

/// Where reading the journal starts: before its first record.
pub const JOURNAL_START: u64 = HEADER_BYTES;

impl Journal {
  /// Opens the journal, creating it when it is new; create it under the group lock.
  pub fn open(dir: &GroupDir) -> Result<Journal, GroupError> {
    let path = dir.file_path("journal");
    let file = dir.open_file("journal")?;
    let journal = Journal { file, path };
    let len = journal.file_len()?;
    if len == 0 {
      write_header(&journal.file, &journal.path, FileKind::Journal, 1)?;
      journal.commit(JOURNAL_START)?;
    } else {
      check_header(&journal.file, &journal.path, FileKind::Journal, 1)?;
      journal.committed()?;
    }
    Ok(journal)
  }

  fn file_len(&self) -> Result<u64, GroupError> {
    Ok(
      self
        .file
        .metadata()
        .map_err(|e| GroupError::io(&self.path, "inspect", e))?
        .len(),
    )
  }

  /// The end of the last whole record, checked against the file.
  fn committed(&self) -> Result<u64, GroupError> {
    let mut word = [0u8; 8];
    self
      .file
      .read_exact_at(&mut word, COMMITTED_AT)
      .map_err(|e| GroupError::io(&self.path, "read", e))?;
    let committed = u64::from_le_bytes(word);
    let len = self.file_len()?;
    if committed < JOURNAL_START || committed > len {
      return Err(GroupError::bad_file(
        &self.path,
        format!("is damaged: its records end at {committed}, outside the file's {len} bytes"),
      ));
    }
    Ok(committed)
  }

  fn commit(&self, end: u64) -> Result<(), GroupError> {
    self
      .file
      .write_all_at(&end.to_le_bytes(), COMMITTED_AT)
      .map_err(|e| GroupError::io(&self.path, "write", e))
  }

  /// The records after offset `from` (`JOURNAL_START`, or the end of a record read
  /// before).
  pub fn read_from(&self, from: u64) -> Result<Vec<JournalRecord>, GroupError> {
    let end = self.committed()?;
    if from >= end {
      return Ok(Vec::new());
    }
    let mut bytes = vec![0u8; (end - from) as usize];
    self
      .file
      .read_exact_at(&mut bytes, from)
      .map_err(|e| GroupError::io(&self.path, "read", e))?;
    let mut records = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
      let damaged = || {
        GroupError::bad_file(
          &self.path,
          format!("is damaged: a record at {} is cut short", end - rest.len() as u64),
        )
      };
      let (len, body) = rest.split_first_chunk::<4>().ok_or_else(damaged)?;
      let len = u32::from_le_bytes(*len) as usize;
      if len > body.len() || len > MAX_RECORD_BYTES {
        return Err(damaged());
      }
      rest = &body[len..];
      records.push(JournalRecord {
        body: body[..len].to_vec(),
        end: end - rest.len() as u64,
      });
    }
    Ok(records)
  }

  /// Appends a record and returns the offset after it. The caller holds the group lock
  /// exclusively and has applied every record before it.
  pub fn append(&self, record: &[u8]) -> Result<u64, GroupError> {
    if record.len() > MAX_RECORD_BYTES {
      return Err(GroupError::bad_file(
        &self.path,
        format!(
          "cannot take a record of {} bytes; the most is {MAX_RECORD_BYTES}",
          record.len()
        ),
      ));
    }
    let at = self.committed()?;
    let mut bytes = Vec::with_capacity(4 + record.len());
    bytes.extend_from_slice(&(record.len() as u32).to_le_bytes());
    bytes.extend_from_slice(record);
    self
      .file
      .write_all_at(&bytes, at)
      .map_err(|e| GroupError::io(&self.path, "write", e))?;
    let end = at + bytes.len() as u64;
    self.commit(end)?;
    Ok(end)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::group::testing::temp_group;

  fn bodies(journal: &Journal, from: u64) -> Vec<Vec<u8>> {
    let records = journal.read_from(from).unwrap();
    records.into_iter().map(|record| record.body).collect()
  }

  #[test]
  fn each_reader_catches_up_from_where_it_was() {
    let (path, dir) = temp_group("journal-catch-up");
    let writer = Journal::open(&dir).unwrap();
    let reader = Journal::open(&dir).unwrap();
    assert_eq!(reader.read_from(JOURNAL_START).unwrap(), []);
    writer.append(b"define a").unwrap();
    let after_two = writer.append(b"series a{x}").unwrap();
    let records = reader.read_from(JOURNAL_START).unwrap();
    let record = |body: &[u8], end| JournalRecord {
      body: body.to_vec(),
      end,
    };
    let after_one = JOURNAL_START + 4 + 8;
    assert_eq!(
      records,
      [record(b"define a", after_one), record(b"series a{x}", after_two)]
    );
    let seen = after_two;
    writer.append(b"").unwrap();
    writer.append(b"series a{y}").unwrap();
    assert_eq!(bodies(&reader, seen), [b"".to_vec(), b"series a{y}".to_vec()]);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn an_append_cut_short_is_never_read_and_is_written_over() {
    let (path, dir) = temp_group("journal-cut");
    let journal = Journal::open(&dir).unwrap();
    let end = journal.append(b"first").unwrap();
    // A writer killed mid-append: its bytes are past the committed end.
    journal
      .file
      .write_all_at(&[200, 0, 0, 0, b'h', b'a'], end)
      .unwrap();
    assert_eq!(bodies(&journal, JOURNAL_START), [b"first".to_vec()]);
    journal.append(b"second").unwrap();
    let reopened = Journal::open(&dir).unwrap();
    assert_eq!(
      bodies(&reopened, JOURNAL_START),
      [b"first".to_vec(), b"second".to_vec()]
    );
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn a_damaged_journal_is_an_error_not_a_crash() {
    let (path, dir) = temp_group("journal-damaged");
    let journal = Journal::open(&dir).unwrap();
    journal.append(b"record").unwrap();
    // A record length running past the committed end.
    journal
      .file
      .write_all_at(&[255, 255, 0, 0], JOURNAL_START)
      .unwrap();
    let error = journal.read_from(JOURNAL_START).err().unwrap().to_string();
    assert!(
      error.contains("journal is damaged: a record at 4096 is cut short"),
      "{error}"
    );
    // A committed end past the end of the file.
    journal.commit(1 << 40).unwrap();
    let error = Journal::open(&dir).err().unwrap().to_string();
    assert!(error.contains("outside the file's"), "{error}");
    std::fs::remove_dir_all(&path).unwrap();
  }
}
