//! Group files: a header page, then chunks of memory (slot memory, to the layer above)
//! that each process maps shared, so a store by one process is seen by every other.
//!
//! A slot file grows a chunk at a time and is never shortened. Its only writer grows
//! it (a stripe's owner), or whoever holds the group lock (files every process writes);
//! a reader maps only the chunks the file already has, so no mapping ever reaches past
//! the end of its file (an access there would be SIGBUS).

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use parking_lot::Mutex;

use super::header::{check_header, write_header, FileKind, HEADER_BYTES};
use super::{GroupDir, GroupError};

pub struct ChunkFile {
  file: File,
  path: PathBuf,
  kind: FileKind,
  chunk_bytes: usize,
  /// Addresses of the chunks mapped so far, in order; mappings live as long as the process.
  mapped: Mutex<Vec<usize>>,
}

impl ChunkFile {
  /// Opens the file `name` of chunks of `chunk_bytes` (a multiple of the page size),
  /// creating it with its header when it is new. A new file must be created under the
  /// group lock, so that no one reads a header half written.
  pub fn open(
    dir: &GroupDir,
    name: &str,
    kind: FileKind,
    chunk_bytes: usize,
  ) -> Result<ChunkFile, GroupError> {
    let path = dir.file_path(name);
    let file = dir.open_file(name)?;
    let len = file
      .metadata()
      .map_err(|e| GroupError::io(&path, "inspect", e))?
      .len();
    if len == 0 {
      write_header(&file, &path, kind, chunk_bytes)?;
    } else {
      check_header(&file, &path, kind, chunk_bytes)?;
    }
    Ok(ChunkFile {
      file,
      path,
      kind,
      chunk_bytes,
      mapped: Mutex::new(Vec::new()),
    })
  }

  pub fn path(&self) -> &Path {
    &self.path
  }

  /// How many chunks the file holds now.
  pub fn chunk_count(&self) -> Result<usize, GroupError> {
    let len = check_header(&self.file, &self.path, self.kind, self.chunk_bytes)?;
    Ok(((len - HEADER_BYTES) / self.chunk_bytes as u64) as usize)
  }

  /// Lengthens the file to at least `chunks` chunks (zeros). Only the file's one writer,
  /// or a holder of the group lock, may call it: two growers could shorten each other.
  pub fn grow_to(&self, chunks: usize) -> Result<(), GroupError> {
    let needed = HEADER_BYTES + (chunks * self.chunk_bytes) as u64;
    let len = self
      .file
      .metadata()
      .map_err(|e| GroupError::io(&self.path, "inspect", e))?
      .len();
    if len < needed {
      self
        .file
        .set_len(needed)
        .map_err(|e| GroupError::io(&self.path, "lengthen", e))?;
    }
    Ok(())
  }

  /// The address of chunk `k`, mapped for the rest of the process's life (page-aligned,
  /// `chunk_bytes` long); `None` while the file is shorter than that.
  pub fn chunk(&self, k: usize) -> Result<Option<NonNull<u8>>, GroupError> {
    let mut mapped = self.mapped.lock();
    if let Some(&address) = mapped.get(k) {
      return Ok(NonNull::new(address as *mut u8));
    }
    if k >= self.chunk_count()? {
      return Ok(None);
    }
    while mapped.len() <= k {
      let address = self.map(mapped.len())?;
      mapped.push(address.as_ptr() as usize);
    }
    Ok(NonNull::new(mapped[k] as *mut u8))
  }

  fn map(&self, k: usize) -> Result<NonNull<u8>, GroupError> {
    let offset = HEADER_BYTES + (k * self.chunk_bytes) as u64;
    let offset = libc::off_t::try_from(offset)
      .map_err(|_| GroupError::bad_file(&self.path, format!("has no room for chunk {k} on this system")))?;
    // SAFETY: a new shared mapping of a range the file holds (checked by the caller, and
    // files are never shortened); it is never unmapped, so it lasts as long as the process.
    let address = unsafe {
      libc::mmap(
        std::ptr::null_mut(),
        self.chunk_bytes,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED,
        self.file.as_raw_fd(),
        offset,
      )
    };
    if address == libc::MAP_FAILED {
      return Err(GroupError::io(&self.path, "map", std::io::Error::last_os_error()));
    }
    NonNull::new(address.cast::<u8>())
      .ok_or_else(|| GroupError::bad_file(&self.path, "was mapped at address 0"))
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::group::testing::temp_group;
  use std::os::unix::fs::FileExt;
  use std::sync::atomic::{AtomicU64, Ordering};

  const CHUNK: usize = 65536;

  /// Cell `i` of chunk `k`, as the slot layer reads chunks.
  fn cell(file: &ChunkFile, k: usize, i: usize) -> &'static AtomicU64 {
    let chunk = file.chunk(k).unwrap().unwrap();
    // SAFETY: the chunk is mapped for the life of the process, aligned and CHUNK bytes long.
    unsafe { &*chunk.as_ptr().cast::<AtomicU64>().add(i) }
  }

  #[test]
  fn two_openings_share_memory() {
    let (path, dir) = temp_group("chunks-share");
    let writer = ChunkFile::open(&dir, "stripe-0", FileKind::Stripe, CHUNK).unwrap();
    assert_eq!(writer.chunk_count().unwrap(), 0);
    assert!(
      writer.chunk(0).unwrap().is_none(),
      "no mapping past the end of the file"
    );
    writer.grow_to(2).unwrap();
    cell(&writer, 1, 5).store(42, Ordering::Relaxed);
    // A second opening stands for another process.
    let reader = ChunkFile::open(&dir, "stripe-0", FileKind::Stripe, CHUNK).unwrap();
    assert_eq!(reader.chunk_count().unwrap(), 2);
    assert_eq!(cell(&reader, 1, 5).load(Ordering::Relaxed), 42);
    cell(&reader, 0, 0).store(7, Ordering::Relaxed);
    assert_eq!(cell(&writer, 0, 0).load(Ordering::Relaxed), 7);
    // Growing never shortens.
    writer.grow_to(1).unwrap();
    assert_eq!(reader.chunk_count().unwrap(), 2);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn refuses_foreign_truncated_and_other_version_files() {
    let (path, dir) = temp_group("chunks-refuse");
    let error = |name: &str| {
      ChunkFile::open(&dir, name, FileKind::Stripe, CHUNK)
        .err()
        .unwrap()
        .to_string()
    };

    std::fs::write(path.join("short"), b"SLOTMGRP").unwrap();
    assert!(
      error("short").contains("is truncated: 8 bytes"),
      "{}",
      error("short")
    );

    std::fs::write(path.join("foreign"), vec![b'x'; 8192]).unwrap();
    assert!(error("foreign").contains("is not a slotmetrics multi-process file"));

    ChunkFile::open(&dir, "old", FileKind::Stripe, CHUNK).unwrap();
    let file = dir.open_file("old").unwrap();
    file.write_all_at(&99u32.to_le_bytes(), 8).unwrap();
    assert!(error("old").contains("has format version 99"), "{}", error("old"));

    ChunkFile::open(&dir, "gauges", FileKind::Gauges, CHUNK).unwrap();
    assert!(
      error("gauges").contains("holds gauges, not a stripe"),
      "{}",
      error("gauges")
    );

    let cut = ChunkFile::open(&dir, "cut", FileKind::Stripe, CHUNK).unwrap();
    cut.grow_to(1).unwrap();
    dir.open_file("cut").unwrap().set_len(HEADER_BYTES + 100).unwrap();
    assert!(error("cut").contains("is damaged"), "{}", error("cut"));
    assert!(
      cut.chunk(0).is_err(),
      "an open file that was cut maps nothing more"
    );
    std::fs::remove_dir_all(&path).unwrap();
  }
}
