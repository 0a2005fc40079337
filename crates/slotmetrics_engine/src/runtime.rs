//! The tokio runtime that serves `/metrics` and sends pushes: it belongs to the process,
//! not to the JS environment that started it, so neither runs on (or waits for) a
//! JavaScript thread.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

/// Nice value of the runtime's threads: when JS threads and a scrape contend for the
/// cores, the JS threads get the larger share. (On its own this does not stop a waking
/// JS thread from waiting out a running scrape's time slice; the encoder yields between
/// pieces for that, see `encode::PIECE_BYTES`.)
#[cfg(target_os = "linux")]
const SCRAPE_THREAD_NICE: libc::c_int = 10;

/// On Linux the nice value belongs to the calling thread; elsewhere it is the whole
/// process's, so other systems leave the runtime's threads at the default priority.
/// Failure only leaves the default priority too.
fn lower_thread_priority() {
  #[cfg(target_os = "linux")]
  // SAFETY: setpriority has no memory preconditions; who 0 is the calling thread.
  unsafe {
    libc::setpriority(libc::PRIO_PROCESS, 0, SCRAPE_THREAD_NICE);
  }
}

/// The runtime servers and exporters run on, started on first use and never shut down: its
/// threads end with the process.
pub fn runtime() -> Result<&'static Runtime, String> {
  static RUNTIME: OnceLock<Runtime> = OnceLock::new();
  if let Some(rt) = RUNTIME.get() {
    return Ok(rt);
  }
  let rt = tokio::runtime::Builder::new_multi_thread()
    .worker_threads(2)
    .thread_name("slotmetrics-http")
    .on_thread_start(lower_thread_priority)
    .enable_io()
    .enable_time()
    .build()
    .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
  Ok(RUNTIME.get_or_init(|| rt))
}
