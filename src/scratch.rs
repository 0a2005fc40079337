//! Per-environment scratch memory through which JS hands label values (and exemplar
//! label names and values) to the addon.
//!
//! Passing an array of strings through Node-API costs about 800 ns for two short values
//! (an element lookup and two UTF-8 conversions per string, each measuring then
//! copying): more than the registration itself. Instead JS writes the values as UTF-8
//! into its environment's scratch buffer and makes a call that passes only numbers.
//!
//! Layout: `<u32 count>`, then per value `<u32 byte length><bytes>`, little-endian.
//! Label sets that do not fit take the array path.

use parking_lot::Mutex;

pub const SCRATCH_BYTES: usize = 4096;

/// One environment's buffer. Leaked, and recycled when its environment is torn down,
/// so worker churn does not grow memory.
pub struct Scratch(*mut u8);

// SAFETY: a scratch buffer is used by one JS thread at a time: the one whose
// environment holds it, and only during its own synchronous calls.
unsafe impl Send for Scratch {}

static POOL: Mutex<Vec<Scratch>> = Mutex::new(Vec::new());

impl Scratch {
  pub fn take() -> Scratch {
    POOL
      .lock()
      .pop()
      .unwrap_or_else(|| Scratch(Box::leak(Box::new([0u8; SCRATCH_BYTES])).as_mut_ptr()))
  }

  /// Returns the buffer to the pool; its environment can no longer run JS.
  pub fn give_back(self) {
    POOL.lock().push(self);
  }

  pub fn as_ptr(&self) -> *mut u8 {
    self.0
  }

  /// The label values JS wrote; `None` unless the buffer holds a well-formed list.
  ///
  /// Called only from a synchronous call of the environment that owns the buffer, so
  /// no JS writes to it while the values are borrowed.
  pub fn values(&self) -> Option<Vec<&str>> {
    // SAFETY: the buffer is SCRATCH_BYTES long, never freed, and not written while its
    // owning thread is in this call.
    let bytes = unsafe { std::slice::from_raw_parts(self.0, SCRATCH_BYTES) };
    let read_u32 = |at: usize| {
      bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = read_u32(0)?;
    let mut at = 4;
    let mut values = Vec::with_capacity(count.min(64));
    for _ in 0..count {
      let len = read_u32(at)?;
      let value = bytes.get(at + 4..at + 4 + len)?;
      values.push(std::str::from_utf8(value).ok()?);
      at += 4 + len;
    }
    Some(values)
  }
}
