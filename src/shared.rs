//! What every part of the binding uses: the process's one registry, and how engine
//! errors and panics become JS errors.

use std::sync::{LazyLock, OnceLock};

use napi::bindgen_prelude::*;
use slotmetrics_engine::registry::{Registry, RegistryError};
use slotmetrics_engine::slots::SlotError;

/// Names the directory of a multi-process group: every process that loads slotmetrics
/// with the same directory shares one metric set (docs/many-processes.md).
const GROUP_DIR_VARIABLE: &str = "SLOTMETRICS_MULTIPROCESS_DIR";

/// One registry and one slot memory for the whole process, shared by every JS
/// environment that loads the addon: the group's, when the variable names one.
pub(crate) static REGISTRY: LazyLock<Registry> = LazyLock::new(open_registry);

/// Why the group the variable names could not be joined.
static GROUP_ERROR: OnceLock<String> = OnceLock::new();

fn open_registry() -> Registry {
  let Some(dir) = std::env::var_os(GROUP_DIR_VARIABLE).filter(|dir| !dir.is_empty()) else {
    return Registry::new();
  };
  join_group(std::path::Path::new(&dir)).unwrap_or_else(|why| {
    let _ = GROUP_ERROR.set(format!("{GROUP_DIR_VARIABLE}={}: {why}", dir.to_string_lossy()));
    // Never used: loading the addon fails with the error (see `open_group`).
    Registry::new()
  })
}

#[cfg(unix)]
fn join_group(dir: &std::path::Path) -> std::result::Result<Registry, String> {
  Registry::in_group(dir).map_err(|e| e.to_string())
}

#[cfg(not(unix))]
fn join_group(_dir: &std::path::Path) -> std::result::Result<Registry, String> {
  Err("multi-process groups need a Unix system".into())
}

/// Opens the registry, and in a group starts publishing this process's summaries and
/// exemplars for the others. Every JS environment calls it as it loads the addon, so
/// that none runs with metrics of its own when the process could not join the group it
/// was asked to.
pub(crate) fn open_group() -> std::result::Result<(), String> {
  LazyLock::force(&REGISTRY);
  if let Some(why) = GROUP_ERROR.get() {
    return Err(why.clone());
  }
  static PUBLISHING: OnceLock<std::result::Result<(), String>> = OnceLock::new();
  PUBLISHING
    .get_or_init(|| {
      if !REGISTRY.in_a_group() {
        return Ok(());
      }
      REGISTRY.keep_publishing().map_err(|e| {
        format!("{GROUP_DIR_VARIABLE}: cannot start publishing summaries and exemplars to the group: {e}")
      })
    })
    .clone()
}

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
