//! Log lines from every JS thread, written by one process-wide writer.
//!
//! Each JS environment writes whole lines into a ring of its own: Rust-owned memory it
//! sees as an ArrayBuffer, so logging a line is a `TextEncoder.encodeInto` and an
//! `Atomics.store`, with no call into native code. A writer thread drains the rings
//! every few milliseconds; a ring is also drained on demand (`flush`, a full ring, the
//! environment's teardown, process exit). Draining writes whole lines under one lock,
//! so lines of different threads never interleave mid-line and each thread's lines keep
//! their order.
//!
//! Ring layout (all little-endian):
//!   bytes   0..4   write position (u32, wrapping), stored by JS after the record
//!   bytes  64..68  read position (u32, wrapping), stored by Rust after draining
//!   bytes 128..    data: records `<u32 length><kind u8><body>`. A record never
//!                  wraps: when the rest of the data region cannot hold the next
//!                  record, JS writes the length `SKIP` there (or leaves fewer than 4
//!                  bytes) and starts again at the beginning.
//!
//! Record kinds:
//!   `TEXT`:   the body is the whole line, JSON and newline, as JS serialised it.
//!   `FIELDS`: a line of plain fields, left for this side to format, so that turning
//!             numbers into text (slow in JS) happens here, off the JS thread:
//!             `<level u8><time f64><msg str><count u32>` then per field
//!             `<key str><type u8><value>`, where a str is `<u32 length><UTF-8>` and a
//!             value is nothing (null, false, true), an f64 (number) or a str.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

pub const HEADER_BYTES: usize = 128;
/// A power of two, so that positions wrapping at 2^32 stay consistent offsets.
pub const DATA_BYTES: usize = 1 << 20;
pub const RING_BYTES: usize = HEADER_BYTES + DATA_BYTES;
pub const WRITE_AT: usize = 0;
pub const READ_AT: usize = 64;
/// A record length meaning "nothing more at the end of the data region".
pub const SKIP: u32 = u32::MAX;
pub const KIND_TEXT: u8 = 0;
pub const KIND_FIELDS: u8 = 1;
pub const VALUE_NULL: u8 = 0;
pub const VALUE_FALSE: u8 = 1;
pub const VALUE_TRUE: u8 = 2;
pub const VALUE_NUMBER: u8 = 3;
pub const VALUE_STRING: u8 = 4;
const LEVELS: [&str; 4] = ["debug", "info", "warn", "error"];

/// How often the writer thread drains the rings.
const DRAIN_EVERY: Duration = Duration::from_millis(5);

#[repr(C, align(128))]
struct RingMemory([u8; RING_BYTES]);

/// One environment's ring. Only its environment writes records; draining is
/// serialised by `drain_lock`.
pub struct Ring {
  memory: *mut u8,
  drain_lock: Mutex<()>,
}

// SAFETY: the memory is leaked (never freed) and every access from Rust is either
// atomic (positions) or to bytes the positions say are published and not yet read.
unsafe impl Send for Ring {}
unsafe impl Sync for Ring {}

impl Ring {
  fn leak_new() -> Ring {
    // SAFETY: zero is a valid state (empty ring, positions 0).
    let memory = Box::leak(unsafe { Box::<RingMemory>::new_zeroed().assume_init() });
    Ring {
      memory: memory.0.as_mut_ptr(),
      drain_lock: Mutex::new(()),
    }
  }

  pub fn as_ptr(&self) -> *mut u8 {
    self.memory
  }

  fn position(&self, at: usize) -> &AtomicU32 {
    // SAFETY: 4-aligned (the block is 128-aligned) and inside the ring.
    unsafe { AtomicU32::from_ptr(self.memory.add(at).cast()) }
  }

  /// Writes every published record to `out`, in order; returns the bytes written.
  fn drain_into(&self, out: &mut impl Write) -> io::Result<usize> {
    let _draining = self.drain_lock.lock();
    let write = self.position(WRITE_AT).load(Ordering::Acquire);
    let mut read = self.position(READ_AT).load(Ordering::Relaxed);
    let mut total = 0;
    while read != write {
      let at = read as usize % DATA_BYTES;
      let room = DATA_BYTES - at;
      let length = if room < 4 { SKIP } else { self.length_at(at) };
      if length == SKIP {
        read = read.wrapping_add(room as u32);
        continue;
      }
      let length = length as usize;
      // SAFETY: JS published this record (its bytes lie before `write`) and never
      // writes it again before `read` passes it.
      let record = unsafe { std::slice::from_raw_parts(self.memory.add(HEADER_BYTES + at + 4), length) };
      if let Err(e) = write_record(record, out) {
        // The destination is broken: drop what was published rather than let the
        // ring fill up and block the application, or write it twice later.
        self.position(READ_AT).store(write, Ordering::Release);
        return Err(e);
      }
      total += length;
      read = read.wrapping_add(4 + length as u32);
    }
    self.position(READ_AT).store(read, Ordering::Release);
    Ok(total)
  }

  fn length_at(&self, at: usize) -> u32 {
    let mut bytes = [0u8; 4];
    // SAFETY: `at + 4 <= DATA_BYTES`, inside the published part of the ring.
    unsafe { std::ptr::copy_nonoverlapping(self.memory.add(HEADER_BYTES + at), bytes.as_mut_ptr(), 4) };
    u32::from_le_bytes(bytes)
  }

  fn is_empty(&self) -> bool {
    self.position(WRITE_AT).load(Ordering::Acquire) == self.position(READ_AT).load(Ordering::Acquire)
  }
}

/// Writes one record's line. A malformed record (which only a bug could write) is
/// skipped rather than written half.
fn write_record(record: &[u8], out: &mut impl Write) -> io::Result<()> {
  match record.split_first() {
    Some((&KIND_TEXT, line)) => out.write_all(line),
    Some((&KIND_FIELDS, body)) => {
      let mut line = Vec::with_capacity(body.len() + 64);
      match format_fields(body, &mut line) {
        Some(()) => out.write_all(&line),
        None => Ok(()),
      }
    }
    _ => Ok(()),
  }
}

/// Reads a `FIELDS` body front to back.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
  fn take(&mut self, n: usize) -> Option<&'a [u8]> {
    let (head, rest) = self.0.split_at_checked(n)?;
    self.0 = rest;
    Some(head)
  }

  fn u8(&mut self) -> Option<u8> {
    Some(self.take(1)?[0])
  }

  fn u32(&mut self) -> Option<u32> {
    Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
  }

  fn f64(&mut self) -> Option<f64> {
    Some(f64::from_le_bytes(self.take(8)?.try_into().ok()?))
  }

  fn str(&mut self) -> Option<&'a str> {
    let length = self.u32()? as usize;
    std::str::from_utf8(self.take(length)?).ok()
  }
}

/// `{"level":…,"time":…,"msg":…,<fields>}` and a newline, as JSON.stringify would write it.
fn format_fields(body: &[u8], line: &mut Vec<u8>) -> Option<()> {
  let mut reader = Reader(body);
  let level = LEVELS.get(reader.u8()? as usize)?;
  let time = reader.f64()?;
  line.extend_from_slice(b"{\"level\":\"");
  line.extend_from_slice(level.as_bytes());
  line.extend_from_slice(b"\",\"time\":");
  write_js_number(time, line);
  line.extend_from_slice(b",\"msg\":");
  write_json_string(reader.str()?, line);
  for _ in 0..reader.u32()? {
    line.push(b',');
    write_json_string(reader.str()?, line);
    line.push(b':');
    match reader.u8()? {
      VALUE_NULL => line.extend_from_slice(b"null"),
      VALUE_FALSE => line.extend_from_slice(b"false"),
      VALUE_TRUE => line.extend_from_slice(b"true"),
      VALUE_NUMBER => write_js_number(reader.f64()?, line),
      VALUE_STRING => write_json_string(reader.str()?, line),
      _ => return None,
    }
  }
  line.extend_from_slice(b"}\n");
  Some(())
}

/// A number as JSON.stringify writes it: JavaScript's shortest form; NaN and ±Infinity as null.
fn write_js_number(value: f64, line: &mut Vec<u8>) {
  if value.is_finite() {
    line.extend_from_slice(ryu_js::Buffer::new().format_finite(value).as_bytes());
  } else {
    line.extend_from_slice(b"null");
  }
}

/// A string as JSON.stringify writes it.
pub fn write_json_string(text: &str, line: &mut Vec<u8>) {
  line.push(b'"');
  let bytes = text.as_bytes();
  let mut start = 0;
  for (i, &byte) in bytes.iter().enumerate() {
    let escaped: &[u8] = match byte {
      b'"' => b"\\\"",
      b'\\' => b"\\\\",
      b'\n' => b"\\n",
      b'\r' => b"\\r",
      b'\t' => b"\\t",
      0x08 => b"\\b",
      0x0c => b"\\f",
      0..=0x1f => {
        line.extend_from_slice(&bytes[start..i]);
        line.extend_from_slice(format!("\\u{byte:04x}").as_bytes());
        start = i + 1;
        continue;
      }
      _ => continue,
    };
    line.extend_from_slice(&bytes[start..i]);
    line.extend_from_slice(escaped);
    start = i + 1;
  }
  line.extend_from_slice(&bytes[start..]);
  line.push(b'"');
}

pub type RingId = usize;

/// Where lines go: standard output unless configured otherwise.
enum Destination {
  /// A descriptor the process owns elsewhere (stdout, or one JS passed): never closed.
  Borrowed(ManuallyDrop<File>),
  Owned(File),
}

impl Destination {
  fn file(&mut self) -> &mut File {
    match self {
      Destination::Borrowed(file) => file,
      Destination::Owned(file) => file,
    }
  }
}

/// A file descriptor (1 for stdout, or one JS passed) as a file that is never closed.
#[cfg(unix)]
fn borrowed_fd(fd: i32) -> Destination {
  use std::os::fd::FromRawFd;
  // SAFETY: the descriptor stays open for the life of the process (stdout), or its
  // owner keeps it open; ManuallyDrop never closes it.
  Destination::Borrowed(ManuallyDrop::new(unsafe { File::from_raw_fd(fd) }))
}

/// Windows: a C runtime descriptor (what Node's `fs` hands out) maps to its OS handle.
#[cfg(windows)]
fn borrowed_fd(fd: i32) -> Destination {
  use std::os::windows::io::FromRawHandle;
  // SAFETY: get_osfhandle only looks the descriptor up; the handle is kept open as on
  // Unix, and ManuallyDrop never closes it.
  let handle = unsafe { libc::get_osfhandle(fd) };
  Destination::Borrowed(ManuallyDrop::new(unsafe { File::from_raw_handle(handle as _) }))
}

struct Rings {
  all: Vec<Arc<Ring>>,
  free: Vec<RingId>,
}

pub struct Logger {
  rings: Mutex<Rings>,
  /// Held while lines are written, so drains never interleave.
  output: Mutex<io::BufWriter<DestinationWriter>>,
  writer: OnceLock<()>,
}

/// `io::Write` over the current destination.
struct DestinationWriter(Destination);

impl Write for DestinationWriter {
  fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
    loop {
      match self.0.file().write(bytes) {
        // Node puts its standard streams in non-blocking mode: wait for room rather
        // than lose (or, retried later, repeat) lines.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait_until_writable(self.0.file())?,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        result => return result,
      }
    }
  }

  fn flush(&mut self) -> io::Result<()> {
    self.0.file().flush()
  }
}

#[cfg(unix)]
fn wait_until_writable(file: &File) -> io::Result<()> {
  use std::os::fd::AsRawFd;
  let mut target = libc::pollfd {
    fd: file.as_raw_fd(),
    events: libc::POLLOUT,
    revents: 0,
  };
  // SAFETY: one valid pollfd, for the duration of the call.
  if unsafe { libc::poll(&mut target, 1, -1) } < 0 {
    let e = io::Error::last_os_error();
    if e.kind() != io::ErrorKind::Interrupted {
      return Err(e);
    }
  }
  Ok(())
}

/// Windows has no poll(2) for files and pipes: wait a moment, then try again.
#[cfg(not(unix))]
fn wait_until_writable(_file: &File) -> io::Result<()> {
  std::thread::sleep(std::time::Duration::from_millis(1));
  Ok(())
}

pub static LOGGER: LazyLock<Logger> = LazyLock::new(|| Logger {
  rings: Mutex::new(Rings {
    all: Vec::new(),
    free: Vec::new(),
  }),
  output: Mutex::new(io::BufWriter::with_capacity(
    64 * 1024,
    DestinationWriter(borrowed_fd(1)),
  )),
  writer: OnceLock::new(),
});

impl Logger {
  /// A ring for a new environment: a recycled one if any. Starts the writer thread on
  /// first use.
  pub fn attach(&'static self) -> (RingId, Arc<Ring>) {
    self.writer.get_or_init(|| {
      std::thread::Builder::new()
        .name("slotmetrics-log".into())
        .spawn(move || loop {
          std::thread::sleep(DRAIN_EVERY);
          let _ = self.drain_all();
        })
        .expect("cannot start the log writer thread");
    });
    let mut rings = self.rings.lock();
    if let Some(id) = rings.free.pop() {
      return (id, rings.all[id].clone());
    }
    let ring = Arc::new(Ring::leak_new());
    rings.all.push(ring.clone());
    (rings.all.len() - 1, ring)
  }

  /// Writes out a torn-down environment's last lines and frees its ring.
  pub fn detach(&self, id: RingId) {
    let ring = self.rings.lock().all[id].clone();
    let _ = self.drain(&ring);
    self.rings.lock().free.push(id);
  }

  fn drain(&self, ring: &Ring) -> io::Result<()> {
    if ring.is_empty() {
      return Ok(());
    }
    let mut output = self.output.lock();
    ring.drain_into(&mut *output)?;
    output.flush()
  }

  /// Writes every line logged so far, by any thread, to the destination.
  pub fn drain_all(&self) -> io::Result<()> {
    let rings = self.rings.lock().all.clone();
    let mut output = self.output.lock();
    for ring in rings.iter().filter(|r| !r.is_empty()) {
      ring.drain_into(&mut *output)?;
    }
    output.flush()
  }

  /// Drains one ring now: the calling thread's ring is full.
  pub fn drain_ring(&self, id: RingId) -> io::Result<()> {
    let ring = self.rings.lock().all[id].clone();
    self.drain(&ring)
  }

  /// Writes one line directly, bypassing the rings.
  pub fn write_line(&self, line: &[u8]) -> io::Result<()> {
    let mut output = self.output.lock();
    output.write_all(line)?;
    output.flush()
  }

  /// Sends lines to a file (appended, created if missing) or to an open descriptor,
  /// after writing out everything logged before.
  pub fn set_destination(&self, path: Option<&str>, fd: Option<i32>) -> io::Result<()> {
    let destination = match (path, fd) {
      (Some(path), _) => Destination::Owned(OpenOptions::new().create(true).append(true).open(path)?),
      (None, Some(fd)) => borrowed_fd(fd),
      (None, None) => borrowed_fd(1),
    };
    self.drain_all()?;
    let mut output = self.output.lock();
    output.flush()?;
    output.get_mut().0 = destination;
    Ok(())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  /// Writes one text record as the JS side does.
  fn push(ring: &Ring, line: &str) {
    let mut record = vec![KIND_TEXT];
    record.extend_from_slice(line.as_bytes());
    push_record(ring, &record);
  }

  fn push_record(ring: &Ring, line: &[u8]) {
    let write = ring.position(WRITE_AT).load(Ordering::Relaxed);
    let at = write as usize % DATA_BYTES;
    let room = DATA_BYTES - at;
    let (at, write) = if room < 4 + line.len() {
      if room >= 4 {
        unsafe {
          std::ptr::copy_nonoverlapping(SKIP.to_le_bytes().as_ptr(), ring.memory.add(HEADER_BYTES + at), 4)
        };
      }
      (0, write.wrapping_add(room as u32))
    } else {
      (at, write)
    };
    unsafe {
      let base = ring.memory.add(HEADER_BYTES + at);
      std::ptr::copy_nonoverlapping((line.len() as u32).to_le_bytes().as_ptr(), base, 4);
      std::ptr::copy_nonoverlapping(line.as_ptr(), base.add(4), line.len());
    }
    ring
      .position(WRITE_AT)
      .store(write.wrapping_add(4 + line.len() as u32), Ordering::Release);
  }

  #[test]
  fn drains_records_in_order_across_the_wrap() {
    let ring = Ring::leak_new();
    let line = format!("{}\n", "x".repeat(1000));
    let mut out = Vec::new();
    // Three passes over the data region: records skip the end and wrap around.
    for round in 0..3 * DATA_BYTES / 1004 {
      push(&ring, &format!("{round:08}{}", &line[8..]));
      if round % 100 == 99 {
        ring.drain_into(&mut out).unwrap();
      }
    }
    ring.drain_into(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let numbers: Vec<usize> = text.lines().map(|l| l[..8].parse().unwrap()).collect();
    assert_eq!(numbers, (0..3 * DATA_BYTES / 1004).collect::<Vec<_>>());
    assert!(ring.is_empty());
  }

  fn str_bytes(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
  }

  #[test]
  fn fields_records_format_as_json_stringify_would() {
    let mut record = vec![KIND_FIELDS, 1];
    record.extend_from_slice(&1795379142237f64.to_le_bytes());
    str_bytes(&mut record, "Order \"processed\"\n");
    record.extend_from_slice(&7u32.to_le_bytes());
    for (key, value) in [
      ("order_id", 12345.0),
      ("total", 99.99),
      ("tiny", 1.5e-7),
      ("huge", 1e21),
    ] {
      str_bytes(&mut record, key);
      record.push(VALUE_NUMBER);
      record.extend_from_slice(&f64::to_le_bytes(value));
    }
    str_bytes(&mut record, "who");
    record.push(VALUE_STRING);
    str_bytes(&mut record, "ann\u{1}\t😀");
    str_bytes(&mut record, "ok");
    record.push(VALUE_TRUE);
    str_bytes(&mut record, "nan");
    record.push(VALUE_NUMBER);
    record.extend_from_slice(&f64::NAN.to_le_bytes());
    let ring = Ring::leak_new();
    push_record(&ring, &record);
    let mut out = Vec::new();
    ring.drain_into(&mut out).unwrap();
    assert_eq!(
      String::from_utf8(out).unwrap(),
      "{\"level\":\"info\",\"time\":1795379142237,\"msg\":\"Order \\\"processed\\\"\\n\",\"order_id\":12345,\"total\":99.99,\"tiny\":1.5e-7,\"huge\":1e+21,\"who\":\"ann\\u0001\\t😀\",\"ok\":true,\"nan\":null}\n"
    );
  }

  #[test]
  fn malformed_records_are_skipped_not_written_half() {
    let ring = Ring::leak_new();
    push_record(&ring, &[KIND_FIELDS, 1, 0, 0]); // cut short
    push_record(
      &ring,
      &[KIND_FIELDS, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ); // no such level
    push(&ring, "after\n");
    let mut out = Vec::new();
    ring.drain_into(&mut out).unwrap();
    assert_eq!(out, b"after\n");
  }

  #[test]
  fn positions_wrap_around_u32() {
    let ring = Ring::leak_new();
    let start = u32::MAX - 10;
    ring.position(WRITE_AT).store(start, Ordering::Relaxed);
    ring.position(READ_AT).store(start, Ordering::Relaxed);
    push(&ring, "a\n");
    push(&ring, "bb\n");
    let mut out = Vec::new();
    ring.drain_into(&mut out).unwrap();
    assert_eq!(out, b"a\nbb\n");
  }
}
