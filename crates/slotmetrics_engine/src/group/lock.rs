//! The lock that orders changes to a group: an advisory lock (flock) on the file `lock`,
//! which the kernel releases when its holder dies, however it dies, so a process killed
//! while holding it leaves nothing locked.
//!
//! flock belongs to the open file, which every thread of a process shares, so it does
//! not exclude the threads of one process from each other: a re-entrant mutex around it
//! does. Re-entrant, so that a layer holding the lock (the registry, registering a
//! series) can call one that takes it too (the slots, handing out its indexes). A
//! thread that holds it shared cannot take it exclusively: flock would trade the shared
//! lock for the exclusive one, letting a change in while the reader reads.

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::path::PathBuf;

use parking_lot::{ReentrantMutex, ReentrantMutexGuard};

use super::{GroupDir, GroupError};

pub struct GroupLock {
  file: File,
  path: PathBuf,
  /// The thread that holds the lock, how deeply, and whether exclusively.
  holder: ReentrantMutex<Hold>,
}

#[derive(Default)]
struct Hold {
  depth: Cell<usize>,
  exclusive: Cell<bool>,
}

/// Held while a change to the group is made (or, shared, while it is read).
pub struct GroupLockGuard<'a> {
  lock: &'a GroupLock,
  hold: ReentrantMutexGuard<'a, Hold>,
}

impl GroupLock {
  pub fn open(dir: &GroupDir) -> Result<GroupLock, GroupError> {
    Ok(GroupLock {
      file: dir.open_file("lock")?,
      path: dir.file_path("lock"),
      holder: ReentrantMutex::new(Hold::default()),
    })
  }

  /// Waits for the group: no other process changes or reads it until the guard drops.
  pub fn exclusive(&self) -> Result<GroupLockGuard<'_>, GroupError> {
    self.take(true)
  }

  /// Waits until no process changes the group; other readers may read at the same time.
  pub fn shared(&self) -> Result<GroupLockGuard<'_>, GroupError> {
    self.take(false)
  }

  fn take(&self, exclusive: bool) -> Result<GroupLockGuard<'_>, GroupError> {
    let hold = self.holder.lock();
    if hold.depth.get() == 0 {
      let locked = if exclusive {
        self.file.lock()
      } else {
        self.file.lock_shared()
      };
      locked.map_err(|e| GroupError::io(&self.path, "lock", e))?;
      hold.exclusive.set(exclusive);
    } else if exclusive && !hold.exclusive.get() {
      let error = io::Error::new(io::ErrorKind::Deadlock, "this thread holds it shared");
      return Err(GroupError::io(&self.path, "lock exclusively", error));
    }
    hold.depth.set(hold.depth.get() + 1);
    Ok(GroupLockGuard { lock: self, hold })
  }
}

impl Drop for GroupLockGuard<'_> {
  fn drop(&mut self) {
    let depth = self.hold.depth.get() - 1;
    self.hold.depth.set(depth);
    if depth == 0 {
      // Unlocking an open file cannot fail in a way that leaves it locked; closing it
      // would release the lock too.
      let _ = self.lock.file.unlock();
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::group::testing::temp_group;
  use std::sync::atomic::{AtomicBool, Ordering};
  use std::sync::Arc;
  use std::time::Duration;

  #[test]
  fn excludes_other_open_files_and_other_threads() {
    let (path, dir) = temp_group("lock");
    // A second open of the file stands for another process: flock excludes across open files.
    let first = Arc::new(GroupLock::open(&dir).unwrap());
    let other = Arc::new(GroupLock::open(&dir).unwrap());
    let held = first.exclusive().unwrap();
    assert!(
      other.file.try_lock_shared().is_err(),
      "another open file cannot take it"
    );

    let entered = Arc::new(AtomicBool::new(false));
    let waiter = {
      let (first, entered) = (first.clone(), entered.clone());
      std::thread::spawn(move || {
        let _guard = first.exclusive().unwrap();
        entered.store(true, Ordering::SeqCst);
      })
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(
      !entered.load(Ordering::SeqCst),
      "another thread of this process waits too"
    );
    drop(held);
    waiter.join().unwrap();
    assert!(entered.load(Ordering::SeqCst));

    let reading = first.shared().unwrap();
    let also_reading = other.shared().unwrap();
    drop((reading, also_reading));
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn the_holding_thread_may_take_it_again() {
    let (path, dir) = temp_group("lock-again");
    let lock = GroupLock::open(&dir).unwrap();
    let other = GroupLock::open(&dir).unwrap();
    let outer = lock.exclusive().unwrap();
    let inner = lock.exclusive().unwrap();
    let reading = lock.shared().unwrap();
    drop((reading, inner));
    assert!(
      other.file.try_lock_shared().is_err(),
      "still held while the outer guard lives"
    );
    drop(outer);
    assert!(other.file.try_lock().is_ok(), "released with the outer guard");
    other.file.unlock().unwrap();

    let reading = lock.shared().unwrap();
    let error = lock.exclusive().err().unwrap().to_string();
    assert!(error.contains("holds it shared"), "{error}");
    drop(reading);
    drop(lock.exclusive().unwrap());
    std::fs::remove_dir_all(&path).unwrap();
  }
}
