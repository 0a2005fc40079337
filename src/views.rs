//! How Rust-owned memory reaches JavaScript. Each environment gets buffer objects of
//! its own over the same bytes, never a copy.
//!
//! Slot memory is written by one thread and read by others. Where the runtime has
//! `node_api_create_external_sharedarraybuffer` (Node 22.23+, 24.16+, 26.1+; Bun), it
//! is handed over as a SharedArrayBuffer, which puts those accesses inside the
//! JavaScript memory model. Elsewhere (Node 20, Deno) it is a plain ArrayBuffer, as
//! memory only this thread touches always is. napi-rs does not wrap the call yet, so it
//! is looked up in the host process at run time.

use std::ffi::c_void;
use std::sync::LazyLock;

use napi::bindgen_prelude::*;
use napi::sys;

/// Set to `arraybuffer` to hand slot memory over as plain ArrayBuffers even where
/// SharedArrayBuffers are available (to compare the two, or to step around a runtime's
/// bug); read once, when the addon first hands memory over.
const SLOT_BUFFERS_VARIABLE: &str = "SLOTMETRICS_SLOT_BUFFERS";

/// `node_api_create_external_sharedarraybuffer(env, data, length, finalize, hint, result)`.
type CreateExternalSharedArrayBuffer = unsafe extern "C" fn(
  sys::napi_env,
  *mut c_void,
  usize,
  Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>,
  *mut c_void,
  *mut sys::napi_value,
) -> sys::napi_status;

static CREATE_SHARED: LazyLock<Option<CreateExternalSharedArrayBuffer>> = LazyLock::new(|| {
  if std::env::var(SLOT_BUFFERS_VARIABLE).is_ok_and(|v| v == "arraybuffer") {
    return None;
  }
  find_in_host(b"node_api_create_external_sharedarraybuffer\0")
});

/// The address of a function the host process (node, bun, deno) exports, if it does.
fn find_in_host(name: &[u8]) -> Option<CreateExternalSharedArrayBuffer> {
  #[cfg(unix)]
  let host: libloading::Library = libloading::os::unix::Library::this().into();
  #[cfg(windows)]
  let host: libloading::Library = libloading::os::windows::Library::this().ok()?.into();
  // SAFETY: the symbol, when present, is the Node-API function with this signature.
  let function = unsafe { host.get::<CreateExternalSharedArrayBuffer>(name) }
    .ok()
    .map(|symbol| *symbol);
  // The host's image stays loaded for the life of the process; so does the address.
  std::mem::forget(host);
  function
}

/// Slot memory for JavaScript: a SharedArrayBuffer where the runtime can make one over
/// external memory, else an ArrayBuffer.
pub fn slot_view<'env>(env: &'env Env, memory: *mut u8, bytes: usize) -> Result<Unknown<'env>> {
  let Some(create) = *CREATE_SHARED else {
    return external_view(env, memory, bytes)?.into_unknown(env);
  };
  unsafe extern "C" fn never_freed(_data: *mut c_void, _hint: *mut c_void) {}
  let mut value = std::ptr::null_mut();
  // SAFETY: slot memory is never freed, so it outlives every buffer over it.
  let status = unsafe {
    create(
      env.raw(),
      memory.cast(),
      bytes,
      Some(never_freed),
      std::ptr::null_mut(),
      &mut value,
    )
  };
  if status != sys::Status::napi_ok {
    let reason = "slotmetrics: could not make a SharedArrayBuffer over slot memory";
    return Err(Error::new(Status::from(status), reason));
  }
  // SAFETY: a value the call above just created in this environment.
  unsafe { Unknown::from_napi_value(env.raw(), value) }
}

/// An ArrayBuffer over Rust memory. napi-rs falls back to copying where a runtime
/// refuses external buffers (Electron); a copy would silently lose every write, so
/// that case is an error.
pub fn external_view<'env>(env: &'env Env, memory: *mut u8, bytes: usize) -> Result<ArrayBuffer<'env>> {
  // SAFETY: slot chunks, scratch buffers and log rings are never freed, so the memory
  // outlives every view.
  let buffer = unsafe { ArrayBuffer::from_external(env, memory, bytes, (), |_, _| {}) }?;
  if !std::ptr::eq(buffer.as_ptr(), memory as *const u8) {
    return Err(Error::from_reason(
      "this JavaScript runtime does not allow external ArrayBuffers, which slotmetrics needs",
    ));
  }
  Ok(buffer)
}
