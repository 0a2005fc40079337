//! One exporter per destination in a multi-process group: the processes of a group
//! read the same totals, so if each pushed them every count would arrive once per
//! process. An exporter exports only while it holds an advisory lock (flock) on a file
//! of the group's directory named after its destination; the kernel releases the lock
//! when its holder dies, however it dies, and the next exporter to try takes it at its
//! next export. The file beside it keeps what the leader's receiver acknowledged, so
//! the next leader's deltas start where the last left off.

use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// How an exporter stands in its group.
pub enum Standing {
  /// Another process exports.
  Follower,
  /// This exporter has just become the one that exports.
  TookOver,
  Leader,
}

pub struct Leadership {
  file: File,
  leading: bool,
  /// Where the delta state of the destination is kept.
  pub state_path: PathBuf,
}

/// A name for a destination's files that any process computes the same way (std's
/// default hasher is seeded per process; FNV-1a is not).
fn file_stem(destination: &str) -> String {
  struct Fnv(u64);
  impl Hasher for Fnv {
    fn finish(&self) -> u64 {
      self.0
    }
    fn write(&mut self, bytes: &[u8]) {
      for byte in bytes {
        self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3);
      }
    }
  }
  let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
  destination.hash(&mut hasher);
  format!("export-{:016x}", hasher.finish())
}

impl Leadership {
  /// The leadership of `destination`'s exports in the group at `dir`.
  pub fn open(dir: &Path, destination: &str) -> std::io::Result<Leadership> {
    let stem = file_stem(destination);
    let file = OpenOptions::new()
      .create(true)
      .truncate(false)
      .read(true)
      .write(true)
      .open(dir.join(format!("{stem}.lock")))?;
    Ok(Leadership {
      file,
      leading: false,
      state_path: dir.join(format!("{stem}.state.json")),
    })
  }

  /// Takes the lead if no other process holds it.
  pub fn stand(&mut self) -> Standing {
    if self.leading {
      return Standing::Leader;
    }
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this struct owns; no memory is involved.
    let locked = unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if locked {
      self.leading = true;
      Standing::TookOver
    } else {
      Standing::Follower
    }
  }
}

/// Writes `bytes` to `path` whole or not at all (a temporary file renamed over it).
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
  let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
  std::fs::write(&temporary, bytes)?;
  std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn one_leader_at_a_time_and_the_next_when_it_goes() {
    let dir = std::env::temp_dir().join(format!("slotmetrics-leader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut first = Leadership::open(&dir, "http://collector/v1/metrics").unwrap();
    let mut second = Leadership::open(&dir, "http://collector/v1/metrics").unwrap();
    let mut other = Leadership::open(&dir, "http://elsewhere/v1/metrics").unwrap();
    assert!(matches!(first.stand(), Standing::TookOver));
    assert!(matches!(first.stand(), Standing::Leader));
    // flock is per open file: a second open of the same file stands as another process would.
    assert!(matches!(second.stand(), Standing::Follower));
    assert!(
      matches!(other.stand(), Standing::TookOver),
      "another destination has its own leader"
    );
    drop(first);
    assert!(matches!(second.stand(), Standing::TookOver));
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
