//! The wall clock that summaries' sliding windows turn on and exemplars are stamped
//! with: the system's, in milliseconds since the Unix epoch as JavaScript's
//! `Date.now()` counts them. While a JS thread runs on a replaced `Date.now` (a test's
//! fake timers, Jest's or Sinon's), it tells the time it reads at each observation,
//! exemplar and read, and the clock gives that time until told otherwise: windows and
//! exemplars then move exactly as prom-client's, which reads `Date.now()`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The process's clock.
static CLOCK: Clock = Clock::new();

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> f64 {
  CLOCK.now_ms()
}

/// Follows the time JS read from its replaced clock, or with `None` (or a time that is
/// not finite) the system clock again.
pub fn follow(js_ms: Option<f64>) {
  CLOCK.follow(js_ms);
}

struct Clock {
  /// The time JS last told, as f64 bits; NaN's while the system clock is followed.
  told_ms: AtomicU64,
}

impl Clock {
  const fn new() -> Clock {
    Clock {
      told_ms: AtomicU64::new(f64::NAN.to_bits()),
    }
  }

  fn now_ms(&self) -> f64 {
    let told = f64::from_bits(self.told_ms.load(Ordering::Acquire));
    if told.is_nan() {
      SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
    } else {
      told
    }
  }

  fn follow(&self, js_ms: Option<f64>) {
    let told = js_ms.filter(|ms| ms.is_finite()).unwrap_or(f64::NAN);
    self.told_ms.store(told.to_bits(), Ordering::Release);
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_told_time_holds_until_the_system_clock_is_followed_again() {
    let clock = Clock::new();
    let system = clock.now_ms();
    assert!(system > 1.7e12, "milliseconds since the epoch: {system}");
    clock.follow(Some(0.0));
    assert_eq!(clock.now_ms(), 0.0);
    clock.follow(Some(1_678_654_679_000.0));
    assert_eq!(clock.now_ms(), 1_678_654_679_000.0);
    clock.follow(Some(f64::INFINITY));
    assert!(clock.now_ms() >= system, "not finite: the system clock");
    clock.follow(Some(5.0));
    clock.follow(None);
    assert!(clock.now_ms() >= system);
  }
}
