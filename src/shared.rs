//! What every part of the binding uses: the process's one registry, and how engine
//! errors and panics become JS errors.

use std::sync::LazyLock;

use napi::bindgen_prelude::*;
use slotmetrics_engine::registry::{Registry, RegistryError};
use slotmetrics_engine::slots::SlotError;

/// One registry and one slot memory for the whole process, shared by every JS
/// environment that loads the addon.
pub(crate) static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

/// Runs work on a libuv thread or in a finalizer, where a panic would unwind into C
/// and abort the host process; it becomes an error instead.
pub(crate) fn without_panics<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
  std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
    let reason = panic
      .downcast_ref::<&str>()
      .map(|s| s.to_string())
      .or_else(|| panic.downcast_ref::<String>().cloned())
      .unwrap_or_default();
    Err(Error::from_reason(format!(
      "slotmetrics internal error: {reason}"
    )))
  })
}

/// A failure of slot memory outside a registration (reading the totals, attaching a
/// stripe: the files of a multi-process group), as a plain JS Error.
pub(crate) fn slot_error(e: SlotError) -> Error {
  Error::from_reason(e.to_string())
}

pub(crate) fn js_error(e: RegistryError) -> Error {
  match e {
    // The wrapper (callNative) turns InvalidArg into a TypeError and QueueFull into a
    // RangeError.
    RegistryError::Invalid(m) => Error::new(Status::InvalidArg, m),
    RegistryError::Capacity(m) => Error::new(Status::QueueFull, m),
    RegistryError::Conflict(m) | RegistryError::Storage(m) => Error::from_reason(m),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_panic_becomes_an_error() {
    let from_str: Result<()> = without_panics(|| panic!("boom"));
    assert_eq!(from_str.unwrap_err().reason, "slotmetrics internal error: boom");
    let from_string: Result<()> = without_panics(|| panic!("{} {}", "formatted", 42));
    assert_eq!(
      from_string.unwrap_err().reason,
      "slotmetrics internal error: formatted 42"
    );
    assert_eq!(without_panics(|| Ok(7)).unwrap(), 7);
  }
}
