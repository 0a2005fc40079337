//! Who a process is, so that a group can tell a live member from a dead one: its PID
//! and its start time. The start time is what tells a live member from a new process
//! that was given the PID of a dead one.
//!
//! On Linux the start time is the kernel's (clock ticks since boot, from
//! /proc/<pid>/stat), and a zombie counts as dead: it runs no code any more. Other Unix
//! systems have no /proc; there the start time is 0 and liveness is `kill(pid, 0)`, so a
//! reused PID is not detected (docs/many-processes.md).

/// The fields of /proc/<pid>/stat after the command name, which is in parentheses and
/// may hold spaces: index 0 is field 3 (the state).
#[cfg(target_os = "linux")]
pub fn stat_fields(pid: &str) -> Option<Vec<String>> {
  let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
  let (_, rest) = stat.rsplit_once(')')?;
  Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// This boot of the machine: start times count from boot, so members recorded in
/// another boot are all dead, whatever their PIDs and start times. 0 where unknown.
pub fn boot_id() -> u128 {
  #[cfg(target_os = "linux")]
  if let Ok(id) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id") {
    let hex: String = id.chars().filter(char::is_ascii_hexdigit).collect();
    return u128::from_str_radix(&hex, 16).unwrap_or(0);
  }
  0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessIdentity {
  pub pid: u32,
  pub start: u64,
}

impl ProcessIdentity {
  /// This process.
  pub fn current() -> ProcessIdentity {
    ProcessIdentity::of(std::process::id())
  }

  /// The process that runs as `pid` now (start time 0 where none runs, or where start
  /// times are unknown).
  pub fn of(pid: u32) -> ProcessIdentity {
    ProcessIdentity {
      pid,
      start: start_of(pid).unwrap_or(0),
    }
  }

  /// Whether the process this names still runs.
  pub fn is_alive(&self) -> bool {
    if self.pid == std::process::id() {
      return self.start == start_of(self.pid).unwrap_or(0);
    }
    is_running(self.pid, self.start)
  }
}

/// Start time (field 22) of a process that is not a zombie; `None` if none runs.
#[cfg(target_os = "linux")]
fn start_of(pid: u32) -> Option<u64> {
  let fields = stat_fields(&pid.to_string())?;
  if fields.first().map(String::as_str) == Some("Z") {
    return None;
  }
  fields.get(19)?.parse().ok()
}

#[cfg(target_os = "linux")]
fn is_running(pid: u32, start: u64) -> bool {
  start_of(pid) == Some(start)
}

#[cfg(not(target_os = "linux"))]
fn start_of(_pid: u32) -> Option<u64> {
  None
}

#[cfg(not(target_os = "linux"))]
fn is_running(pid: u32, _start: u64) -> bool {
  let Ok(pid) = libc::pid_t::try_from(pid) else {
    return false;
  };
  // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
  let result = unsafe { libc::kill(pid, 0) };
  result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn this_process_is_alive_and_a_stale_identity_is_not() {
    let me = ProcessIdentity::current();
    assert!(me.is_alive());
    if cfg!(target_os = "linux") {
      assert!(me.start > 0);
      let reused = ProcessIdentity {
        start: me.start + 1,
        ..me
      };
      assert!(
        !reused.is_alive(),
        "the same PID with another start time is another process"
      );
    }
  }

  #[test]
  fn the_boot_has_an_id() {
    if cfg!(target_os = "linux") {
      assert_ne!(boot_id(), 0);
      assert_eq!(boot_id(), boot_id());
    }
  }

  #[test]
  fn an_exited_child_is_dead_even_before_it_is_reaped() {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let identity = ProcessIdentity::of(child.id());
    // Unreaped, the child is a zombie for a while: dead all the same.
    std::thread::sleep(std::time::Duration::from_millis(200));
    if cfg!(target_os = "linux") {
      assert!(!identity.is_alive());
    }
    child.wait().unwrap();
    assert!(!identity.is_alive());
  }
}
