//! The log rings JS writes lines into, and writing them out.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use slotmetrics_engine::logging::LOGGER;

use crate::environment::with_env_state;
use crate::shared::without_panics;
use crate::views;

/// The layout of a log ring (see `logging`), which the JS side writes.
#[napi(object)]
pub struct LogRingLayout {
  /// Bytes before the data region; the write and read positions (u32) are at these offsets.
  pub header_bytes: u32,
  pub write_position_at: u32,
  pub read_position_at: u32,
  /// Bytes of the data region (a power of two).
  pub data_bytes: u32,
  /// A record length meaning "continue at the start of the data region".
  pub skip: u32,
  /// Record kinds, and value types of a `FIELDS` record.
  pub kind_text: u32,
  pub kind_fields: u32,
  pub value_null: u32,
  pub value_false: u32,
  pub value_true: u32,
  pub value_number: u32,
  pub value_string: u32,
}

#[napi(catch_unwind)]
pub fn log_ring_layout() -> LogRingLayout {
  LogRingLayout {
    header_bytes: slotmetrics_engine::logging::HEADER_BYTES as u32,
    write_position_at: slotmetrics_engine::logging::WRITE_AT as u32,
    read_position_at: slotmetrics_engine::logging::READ_AT as u32,
    data_bytes: slotmetrics_engine::logging::DATA_BYTES as u32,
    skip: slotmetrics_engine::logging::SKIP,
    kind_text: slotmetrics_engine::logging::KIND_TEXT.into(),
    kind_fields: slotmetrics_engine::logging::KIND_FIELDS.into(),
    value_null: slotmetrics_engine::logging::VALUE_NULL.into(),
    value_false: slotmetrics_engine::logging::VALUE_FALSE.into(),
    value_true: slotmetrics_engine::logging::VALUE_TRUE.into(),
    value_number: slotmetrics_engine::logging::VALUE_NUMBER.into(),
    value_string: slotmetrics_engine::logging::VALUE_STRING.into(),
  }
}

/// The calling environment's log ring, made on its first call.
#[napi(catch_unwind)]
pub fn log_ring(env: &Env) -> Result<ArrayBuffer<'_>> {
  // The writer thread (started by the first ring) outlives any one environment.
  retain_current_module_for_unload_safety();
  let memory = with_env_state(env, |state| {
    let (_, ring) = state.log_ring.get_or_insert_with(|| LOGGER.attach());
    Ok(ring.as_ptr())
  })?;
  views::external_view(env, memory, slotmetrics_engine::logging::RING_BYTES)
}

fn log_error(e: std::io::Error) -> Error {
  Error::from_reason(format!("slotmetrics log: {e}"))
}

/// Writes out the calling environment's ring now, on this thread (it is full). A broken
/// destination drops the lines rather than fail the application's log call; `flushLogs`
/// reports it.
#[napi(catch_unwind)]
pub fn drain_log_ring(env: &Env) -> Result<()> {
  if let Some(id) = with_env_state(env, |state| Ok(state.log_ring.as_ref().map(|(id, _)| *id)))? {
    let _ = LOGGER.drain_ring(id);
  }
  Ok(())
}

/// Writes out every line logged so far, by any thread, before returning (process exit,
/// where there is nobody left to report a broken destination to).
#[napi(catch_unwind)]
pub fn flush_logs_sync() {
  let _ = LOGGER.drain_all();
}

pub struct FlushLogsTask;

impl Task for FlushLogsTask {
  type Output = ();
  type JsValue = ();

  fn compute(&mut self) -> Result<Self::Output> {
    without_panics(|| LOGGER.drain_all().map_err(log_error))
  }

  fn resolve(&mut self, _env: Env, _output: Self::Output) -> Result<Self::JsValue> {
    Ok(())
  }
}

/// Resolves once every line logged so far has been written to the destination.
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn flush_logs() -> AsyncTask<FlushLogsTask> {
  AsyncTask::new(FlushLogsTask)
}

/// Sends log lines to a file (appended) or an open file descriptor; neither: stdout.
#[napi(catch_unwind)]
pub fn set_log_destination(path: Option<String>, fd: Option<i32>) -> Result<()> {
  LOGGER.set_destination(path.as_deref(), fd).map_err(|e| {
    let target = path.map_or_else(
      || format!("descriptor {}", fd.unwrap_or(1)),
      |p| format!("\"{p}\""),
    );
    Error::from_reason(format!("cannot log to {target}: {e}"))
  })
}

/// Writes one line too long for a ring, after the calling environment's ring, so the
/// thread's lines keep their order. Like `drain_log_ring`, drops it on a broken destination.
#[napi(catch_unwind)]
pub fn write_log_line_sync(env: &Env, line: String) -> Result<()> {
  drain_log_ring(env)?;
  let _ = LOGGER.write_line(line.as_bytes());
  Ok(())
}
