//! The lock that orders changes to a group: an advisory lock (flock) on the file `lock`,
//! which the kernel releases when its holder dies, however it dies, so a process killed
//! while holding it leaves nothing locked.
//!
//! flock belongs to the open file, which every thread of a process shares, so it does
//! not exclude the threads of one process from each other: a mutex around it does.

use std::fs::File;
use std::path::PathBuf;

use parking_lot::{Mutex, MutexGuard};

use super::{GroupDir, GroupError};

pub struct GroupLock {
  file: Mutex<File>,
  path: PathBuf,
}

/// Held while a change to the group is made (or, shared, while it is read).
pub struct GroupLockGuard<'a> {
  file: MutexGuard<'a, File>,
}

impl GroupLock {
  pub fn open(dir: &GroupDir) -> Result<GroupLock, GroupError> {
    Ok(GroupLock {
      file: Mutex::new(dir.open_file("lock")?),
      path: dir.file_path("lock"),
    })
  }

  /// Waits for the group: no other process changes or reads it until the guard drops.
  pub fn exclusive(&self) -> Result<GroupLockGuard<'_>, GroupError> {
    let file = self.file.lock();
    file.lock().map_err(|e| GroupError::io(&self.path, "lock", e))?;
    Ok(GroupLockGuard { file })
  }

  /// Waits until no process changes the group; other readers may read at the same time.
  pub fn shared(&self) -> Result<GroupLockGuard<'_>, GroupError> {
    let file = self.file.lock();
    file
      .lock_shared()
      .map_err(|e| GroupError::io(&self.path, "lock", e))?;
    Ok(GroupLockGuard { file })
  }
}

impl Drop for GroupLockGuard<'_> {
  fn drop(&mut self) {
    // Unlocking an open file cannot fail in a way that leaves it locked; closing it would
    // release the lock too.
    let _ = self.file.unlock();
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
      other.file.lock().try_lock_shared().is_err(),
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
}
