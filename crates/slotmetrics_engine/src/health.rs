//! Liveness and readiness, answered by the Rust server without running any JS.
//!
//! Liveness: the JS thread that serves calls `beat()` on a timer; when the last beat is
//! older than the threshold, its event loop is blocked (or the thread is gone) and
//! `/health/live` answers 503. Readiness: named checks the application sets; every one
//! must be true for `/health/ready` to answer 200.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Instant;

use parking_lot::Mutex;

/// When the process's health clock started; beats are milliseconds after it.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Milliseconds after EPOCH of the last beat, plus one (0: no beat yet).
static LAST_BEAT: AtomicU64 = AtomicU64::new(0);
static READINESS: LazyLock<Mutex<BTreeMap<String, bool>>> = LazyLock::new(Default::default);

fn now_ms() -> u64 {
  EPOCH.elapsed().as_millis() as u64
}

/// Records that the JS thread that serves is responsive now.
pub fn beat() {
  LAST_BEAT.store(now_ms() + 1, Ordering::Relaxed);
}

/// Milliseconds since the last beat, or `None` before the first one.
pub fn heartbeat_age_ms() -> Option<u64> {
  match LAST_BEAT.load(Ordering::Relaxed) {
    0 => None,
    beat => Some(now_ms().saturating_sub(beat - 1)),
  }
}

pub fn set_ready(name: &str, ready: bool) {
  READINESS.lock().insert(name.to_string(), ready);
}

/// The checks that are not ready, in name order.
pub fn failing_checks() -> Vec<String> {
  READINESS
    .lock()
    .iter()
    .filter(|(_, ready)| !**ready)
    .map(|(name, _)| name.clone())
    .collect()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn readiness_lists_failing_checks_in_order() {
    set_ready("zeta", false);
    set_ready("alpha", false);
    set_ready("beta", true);
    assert_eq!(failing_checks(), ["alpha", "zeta"]);
    set_ready("alpha", true);
    set_ready("zeta", true);
    assert!(failing_checks().is_empty());
  }

  #[test]
  fn heartbeat_age_grows_until_the_next_beat() {
    beat();
    let age = heartbeat_age_ms().unwrap();
    assert!(age < 1000);
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert!(heartbeat_age_ms().unwrap() >= age + 25);
    beat();
    assert!(heartbeat_age_ms().unwrap() < 25);
  }
}
