//! The Node-API surface of slotmetrics. Everything here converts between JS and the
//! modules that do the work; the TypeScript wrapper in `lib/` is the public API.

use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

mod scratch;
mod views;

use slotmetrics_engine::encode::Format;
use slotmetrics_engine::kind::{Kind, Style};
use slotmetrics_engine::logging::{self, Ring, RingId, LOGGER};
use slotmetrics_engine::registry::{
  Definition, FamilyId, NamespaceId, Registered, Registry, RegistryError, DEFAULT_MAX_SERIES,
};
use slotmetrics_engine::slots::{self, Chunk, StripeId};
use slotmetrics_engine::summary::{SlidingWindow, SummaryOptions};
use slotmetrics_engine::{collect, collect_hooks, data, encode, health, registry, server};

/// One registry and one slot memory for the whole process, shared by every JS
/// environment that loads the addon.
static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

/// Slots per chunk of slot memory; a slot index `i` lives in chunk `i / CHUNK_SLOTS`.
#[napi]
pub const CHUNK_SLOTS: u32 = slots::CHUNK_SLOTS as u32;

/// What the environment this instance of the addon was loaded in holds.
struct EnvState {
  stripe: StripeId,
  /// Where its JS writes label values for `registerScratchSeries`.
  scratch: Option<scratch::Scratch>,
  /// Its log ring, once it has logged.
  log_ring: Option<(RingId, Arc<Ring>)>,
}

/// An environment's state until it is torn down, `None` after: shared by its instance
/// data and its cleanup hook, whichever tears it down first.
type Attachment = Arc<parking_lot::Mutex<Option<EnvState>>>;

/// Runs once per JS environment (main thread, each worker): gives it a stripe of
/// counter/histogram slots. When the environment is torn down, after its last line of
/// JS has run, the stripe is folded into the retired totals and the log ring's last
/// lines are written out. That runs from the environment's cleanup hook or from its
/// instance data's finalizer, whichever comes first: Node-API runs both at teardown,
/// but some runtimes and exits skip the finalizer (nodejs/node#58341).
#[napi(module_exports)]
pub fn attach_environment(_exports: Object, env: Env) -> Result<()> {
  let stripe = without_panics(|| Ok(REGISTRY.striped.attach()))?;
  let state = EnvState {
    stripe,
    scratch: None,
    log_ring: None,
  };
  let attachment: Attachment = Arc::new(parking_lot::Mutex::new(Some(state)));
  env.add_env_cleanup_hook(Arc::clone(&attachment), |attachment| detach(&attachment))?;
  env.set_instance_data(attachment, (), |ctx| detach(&ctx.value))
}

/// Gives back what a torn-down environment held; the second call does nothing.
fn detach(attachment: &Attachment) {
  let Some(mut state) = attachment.lock().take() else {
    return;
  };
  let _ = without_panics(|| {
    collect_hooks::set(state.stripe, None);
    REGISTRY.striped.retire(state.stripe);
    if let Some(scratch) = state.scratch.take() {
      scratch.give_back();
    }
    if let Some((ring, _)) = state.log_ring {
      LOGGER.detach(ring);
    }
    Ok(())
  });
}

/// Runs `work` on the calling environment's state.
fn with_env_state<T>(env: &Env, work: impl FnOnce(&mut EnvState) -> Result<T>) -> Result<T> {
  let attachment = env
    .get_instance_data::<Attachment>()?
    .ok_or_else(|| Error::from_reason("slotmetrics: this environment was not attached"))?;
  let mut state = attachment.lock();
  work(
    state
      .as_mut()
      .ok_or_else(|| Error::from_reason("slotmetrics: this environment has been torn down"))?,
  )
}

/// Runs work on a libuv thread or in a finalizer, where a panic would unwind into C
/// and abort the host process; it becomes an error instead.
fn without_panics<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
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

fn js_error(e: RegistryError) -> Error {
  match e {
    // The wrapper (callNative) turns InvalidArg into a TypeError and QueueFull into a
    // RangeError.
    RegistryError::Invalid(m) => Error::new(Status::InvalidArg, m),
    RegistryError::Capacity(m) => Error::new(Status::QueueFull, m),
    RegistryError::Conflict(m) => Error::from_reason(m),
  }
}

/// Chunk `index` of the calling environment's stripe (counter and histogram slots).
#[napi(catch_unwind, ts_return_type = "ArrayBuffer | SharedArrayBuffer")]
pub fn stripe_chunk(env: &Env, index: u32) -> Result<Unknown<'_>> {
  let stripe = with_env_state(env, |state| Ok(state.stripe))?;
  let chunk = REGISTRY
    .striped
    .chunk(stripe, index as usize)
    .map_err(|e| Error::from_reason(e.to_string()))?;
  views::slot_view(env, chunk.as_ptr(), Chunk::BYTES)
}

/// Chunk `index` of the process-wide gauge slots.
#[napi(catch_unwind, ts_return_type = "ArrayBuffer | SharedArrayBuffer")]
pub fn shared_chunk(env: &Env, index: u32) -> Result<Unknown<'_>> {
  let chunk = REGISTRY
    .shared
    .chunk(index as usize)
    .map_err(|e| Error::from_reason(e.to_string()))?;
  views::slot_view(env, chunk.as_ptr(), Chunk::BYTES)
}

#[napi(string_enum)]
pub enum MetricKind {
  #[napi(value = "counter")]
  Counter,
  #[napi(value = "gauge")]
  Gauge,
  #[napi(value = "gaugeFloat")]
  GaugeFloat,
  #[napi(value = "histogram")]
  Histogram,
  #[napi(value = "summary")]
  Summary,
}

#[napi(object)]
pub struct LabelPair {
  pub name: String,
  pub value: String,
}

#[napi(object)]
pub struct MetricDefinition {
  pub name: String,
  pub help: Option<String>,
  pub kind: MetricKind,
  pub static_labels: Vec<LabelPair>,
  pub dynamic_keys: Vec<String>,
  /// Histogram bucket upper bounds, without `+Inf`.
  pub buckets: Option<Vec<f64>>,
  /// Summary quantiles, each in [0, 1].
  pub quantiles: Option<Vec<f64>>,
  /// Summary window: quantiles of the last `maxAgeSeconds`, forgotten in
  /// `ageBuckets` steps (both or neither; default: since the start).
  pub max_age_seconds: Option<f64>,
  pub age_buckets: Option<u32>,
  /// Summary series with an empty window are removed (prom-client's `pruneAgedBuckets`).
  pub prune_empty: Option<bool>,
  /// The most label sets (default: the process default, 10,000 unless changed).
  pub max_series: Option<u32>,
  /// Refuse label sets past the limit instead of counting them in the overflow series.
  pub strict: Option<bool>,
  /// The registry it belongs to (default: the default registry, 0).
  pub registry: Option<u32>,
  /// Made through `slotmetrics/prom-client`: exposed in prom-client's text style.
  pub prom_client: Option<bool>,
}

/// Defines a metric, or finds the identical one another thread defined, and returns
/// its id. A different metric of the same name is an error.
#[napi(catch_unwind)]
pub fn define_metric(definition: MetricDefinition) -> Result<u32> {
  let kind = match definition.kind {
    MetricKind::Counter => Kind::Counter,
    MetricKind::Gauge => Kind::IntGauge,
    MetricKind::GaugeFloat => Kind::FloatGauge,
    MetricKind::Histogram => Kind::Histogram,
    MetricKind::Summary => Kind::Summary,
  };
  let window = match (definition.max_age_seconds, definition.age_buckets) {
    (Some(seconds), Some(age_buckets)) => {
      let max_age = std::time::Duration::try_from_secs_f64(seconds).map_err(|_| {
        Error::new(
          Status::InvalidArg,
          format!(
            "summary \"{}\": maxAgeSeconds must be a positive number of seconds, got {seconds}",
            definition.name
          ),
        )
      })?;
      Some(SlidingWindow { max_age, age_buckets })
    }
    _ => None,
  };
  let summary = SummaryOptions {
    quantiles: definition.quantiles.unwrap_or_default(),
    window,
    prune_empty: definition.prune_empty.unwrap_or(false),
  };
  REGISTRY
    .define_in(
      definition.registry.unwrap_or(registry::DEFAULT_NAMESPACE),
      Definition {
        name: definition.name,
        help: definition.help.unwrap_or_default(),
        kind,
        static_labels: definition
          .static_labels
          .into_iter()
          .map(|p| (p.name, p.value))
          .collect(),
        dynamic_keys: definition.dynamic_keys,
        buckets: definition.buckets.unwrap_or_default(),
        summary,
        max_series: definition
          .max_series
          .map_or_else(|| DEFAULT_MAX_SERIES.load(Ordering::Relaxed), |n| n as usize),
        strict: definition.strict.unwrap_or(false),
        style: if definition.prom_client == Some(true) {
          Style::PromClient
        } else {
          Style::Standard
        },
      },
    )
    .map_err(js_error)
}

/// Sets the series limit of metrics defined from now on without one of their own.
#[napi(catch_unwind)]
pub fn set_cardinality_limit(max_series: u32) -> Result<()> {
  if max_series == 0 {
    return Err(Error::new(
      Status::InvalidArg,
      "the cardinality limit must be at least 1".to_string(),
    ));
  }
  DEFAULT_MAX_SERIES.store(max_series as usize, Ordering::Relaxed);
  Ok(())
}

/// A label set counted in its metric's overflow series because the metric is full.
#[napi(object)]
pub struct OverflowSlot {
  pub overflow: u32,
  /// The metric's first overflow in this process (warn once).
  pub first: bool,
}

fn registered(registered: Registered) -> Either<u32, OverflowSlot> {
  match registered {
    Registered::Series(slot) => Either::A(slot),
    Registered::Overflow { slot, first } => Either::B(OverflowSlot {
      overflow: slot,
      first,
    }),
  }
}

/// The first slot index of the series with these dynamic label values (in the order of
/// the metric's dynamic keys), registering the series on first use.
#[napi(catch_unwind)]
pub fn register_series(metric: u32, label_values: Vec<String>) -> Result<Either<u32, OverflowSlot>> {
  REGISTRY
    .series(metric, &label_values)
    .map(registered)
    .map_err(js_error)
}

/// Adds an observation to a summary series' quantile window; JS has counted it in the
/// series' count and sum slots.
#[napi(catch_unwind)]
pub fn observe_summary(slot: u32, value: f64) -> Result<()> {
  REGISTRY.observe_summary(slot, value).map_err(js_error)
}

/// Sets the exemplar of a counter series, or of the bucket `value` falls in of a
/// histogram series (`slot`: the series' first slot), stamped now; its label names and
/// values, in turn, are in this environment's scratch buffer. JS has counted the value
/// already.
#[napi(catch_unwind)]
pub fn set_exemplar(env: &Env, metric: u32, slot: u32, value: f64) -> Result<()> {
  let labels = with_env_state(env, |state| {
    let values = state
      .scratch
      .as_ref()
      .and_then(scratch::Scratch::values)
      .filter(|values| values.len() % 2 == 0)
      .ok_or_else(|| Error::from_reason("slotmetrics: malformed exemplar labels in the scratch buffer"))?;
    Ok(
      values
        .chunks(2)
        .map(|pair| (pair[0].to_string(), pair[1].to_string()))
        .collect(),
    )
  })?;
  REGISTRY
    .set_exemplar(metric, slot, labels, value)
    .map_err(js_error)
}

/// This environment's scratch buffer for label values (see `scratch.rs`).
#[napi(catch_unwind)]
pub fn label_scratch(env: &Env) -> Result<ArrayBuffer<'_>> {
  let memory = with_env_state(env, |state| {
    Ok(state.scratch.get_or_insert_with(scratch::Scratch::take).as_ptr())
  })?;
  views::external_view(env, memory, scratch::SCRATCH_BYTES)
}

/// `registerSeries` with the label values JS wrote to its scratch buffer.
#[napi(catch_unwind)]
pub fn register_scratch_series(env: &Env, metric: u32) -> Result<Either<u32, OverflowSlot>> {
  with_env_state(env, |state| {
    let values = state
      .scratch
      .as_ref()
      .and_then(scratch::Scratch::values)
      .ok_or_else(|| Error::from_reason("slotmetrics: malformed label values in the scratch buffer"))?;
    REGISTRY.series(metric, &values).map(registered).map_err(js_error)
  })
}

/// prom-client's `remove(labels)`: the series is hidden until used again, then counts
/// from zero.
#[napi(catch_unwind)]
pub fn remove_series(metric: u32, label_values: Vec<String>) -> Result<()> {
  REGISTRY.remove_series(metric, &label_values).map_err(js_error)
}

/// prom-client's `zero(labels)`: registers the series if new and exposes it at zero.
#[napi(catch_unwind)]
pub fn zero_series(metric: u32, label_values: Vec<String>) -> Result<Either<u32, OverflowSlot>> {
  REGISTRY
    .zero_series(metric, &label_values)
    .map(registered)
    .map_err(js_error)
}

/// prom-client's `reset()`: removes every series, or zeroes a metric without dynamic labels.
#[napi(catch_unwind)]
pub fn reset_metric(metric: u32) -> Result<()> {
  REGISTRY.reset(metric).map_err(js_error)
}

/// A new empty registry (namespace of metric names), for `new Registry()`.
#[napi(catch_unwind)]
pub fn create_registry() -> u32 {
  REGISTRY.create_namespace()
}

/// Sets this environment's collect hook, called with a registry id before a scrape the
/// server serves from it (see `collect_hooks`); `None` removes it.
#[napi(
  catch_unwind,
  ts_args_type = "hook: ((registry: number) => Promise<void>) | null | undefined"
)]
pub fn set_collect_hook(env: &Env, hook: Option<CollectHook>) -> Result<()> {
  let stripe = with_env_state(env, |state| Ok(state.stripe))?;
  collect_hooks::set(stripe, hook.map(engine_hook));
  Ok(())
}

/// A JS collect hook: called with the namespace being scraped; resolves when its values
/// are refreshed. Weak: it does not keep its environment's event loop alive.
type CollectHook = ThreadsafeFunction<NamespaceId, Promise<()>, NamespaceId, Status, false, true>;

/// The JS hook as the engine calls it. A hook that throws or rejects counts as done.
fn engine_hook(hook: CollectHook) -> collect_hooks::Hook {
  let hook = Arc::new(hook);
  Arc::new(move |namespace| {
    let hook = Arc::clone(&hook);
    Box::pin(async move {
      if let Ok(done) = hook.call_async_catch(namespace).await {
        let _ = done.await;
      }
    })
  })
}

/// Lists a metric in another registry too (prom-client's multiple `registers`).
#[napi(catch_unwind)]
pub fn list_metric(registry: u32, metric: u32) -> Result<()> {
  REGISTRY.list_in(registry, metric).map_err(js_error)
}

/// Takes the metric named `name` out of a registry; returns whether it was there.
#[napi(catch_unwind)]
pub fn unlist_metric(registry: u32, name: String) -> Result<bool> {
  REGISTRY.unlist(registry, &name).map_err(js_error)
}

/// Unlists every metric of a registry (prom-client's `clear()`).
#[napi(catch_unwind)]
pub fn clear_registry(registry: u32) -> Result<()> {
  REGISTRY.clear(registry).map_err(js_error)
}

/// `reset()` of every metric of a registry (prom-client's `resetMetrics()`).
#[napi(catch_unwind)]
pub fn reset_registry(registry: u32) -> Result<()> {
  REGISTRY.reset_all(registry).map_err(js_error)
}

#[napi(string_enum)]
pub enum ExpositionFormat {
  #[napi(value = "prometheus")]
  Prometheus,
  #[napi(value = "openmetrics")]
  OpenMetrics,
}

pub struct RenderTask {
  format: Format,
  namespace: NamespaceId,
  /// Only this metric (prom-client's `getSingleMetricAsString()`).
  metric: Option<FamilyId>,
}

/// A snapshot of a namespace, or of one metric with the namespace's default labels.
fn snapshot(namespace: NamespaceId, metric: Option<FamilyId>) -> Result<collect::Snapshot> {
  let namespace = REGISTRY.namespace(namespace).map_err(js_error)?;
  Ok(match metric {
    None => collect::Snapshot::take(&REGISTRY, &namespace),
    Some(id) => collect::Snapshot::of(
      &REGISTRY,
      vec![REGISTRY.family(id).map_err(js_error)?],
      namespace.default_labels(),
    ),
  })
}

impl Task for RenderTask {
  type Output = Vec<u8>;
  type JsValue = String;

  fn compute(&mut self) -> Result<Self::Output> {
    without_panics(|| {
      let mut text = Vec::new();
      encode::encode(&snapshot(self.namespace, self.metric)?, self.format, &mut text)?;
      Ok(text)
    })
  }

  fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
    String::from_utf8(output).map_err(|e| Error::from_reason(e.to_string()))
  }
}

/// The exposition text, rendered on a libuv worker thread.
#[napi(catch_unwind, ts_return_type = "Promise<string>")]
pub fn render_metrics(format: ExpositionFormat, registry: u32, metric: Option<u32>) -> AsyncTask<RenderTask> {
  let format = match format {
    ExpositionFormat::Prometheus => Format::Prometheus,
    ExpositionFormat::OpenMetrics => Format::OpenMetrics,
  };
  AsyncTask::new(RenderTask {
    format,
    namespace: registry,
    metric,
  })
}

#[napi(object)]
pub struct ServerOptions {
  pub host: String,
  pub port: u32,
  pub path: String,
  /// Liveness and readiness paths; none: no health endpoints.
  pub live_path: Option<String>,
  pub ready_path: Option<String>,
  /// A heartbeat older than this makes liveness answer 503.
  pub stale_after_ms: Option<u32>,
  /// The `Authorization` value the metrics path requires, and the 401's challenge.
  pub authorization: Option<String>,
  pub challenge: Option<String>,
  /// Connections served at once (default 256).
  pub max_connections: Option<u32>,
  /// The registry served (default: the default registry, 0).
  pub registry: Option<u32>,
  /// How long a scrape waits for JS collect hooks (default 1000 ms).
  pub collect_timeout_ms: Option<u32>,
}

#[napi(object)]
pub struct ServerInfo {
  pub id: u32,
  pub port: u32,
}

pub struct StartServerTask(Option<server::Options>);

impl Task for StartServerTask {
  type Output = (u32, u16);
  type JsValue = ServerInfo;

  fn compute(&mut self) -> Result<Self::Output> {
    let options = self
      .0
      .take()
      .ok_or_else(|| Error::from_reason("server already started"))?;
    // The server's threads outlive any one environment; keep the addon's code mapped.
    retain_current_module_for_unload_safety();
    without_panics(|| server::start(&REGISTRY, options).map_err(Error::from_reason))
  }

  fn resolve(&mut self, _env: Env, (id, port): Self::Output) -> Result<Self::JsValue> {
    Ok(ServerInfo {
      id,
      port: port as u32,
    })
  }
}

/// Starts serving the exposition over HTTP on the process's own runtime.
#[napi(catch_unwind, ts_return_type = "Promise<ServerInfo>")]
pub fn start_server(options: ServerOptions) -> Result<AsyncTask<StartServerTask>> {
  let port = u16::try_from(options.port).map_err(|_| {
    Error::new(
      Status::InvalidArg,
      format!("port {} is out of range 0-65535", options.port),
    )
  })?;
  let health = match (options.live_path, options.ready_path) {
    (Some(live), Some(ready)) => Some(server::HealthPaths {
      live,
      ready,
      stale_after_ms: options.stale_after_ms.unwrap_or(5000).into(),
    }),
    _ => None,
  };
  let auth = options.authorization.map(|authorization| server::Auth {
    authorization,
    challenge: options.challenge.unwrap_or_default(),
  });
  let max_connections = options.max_connections.map_or(256, |n| n as usize).max(1);
  let namespace_id = options.registry.unwrap_or(registry::DEFAULT_NAMESPACE);
  // An unknown registry is a bad argument, refused before anything starts.
  REGISTRY.namespace(namespace_id).map_err(js_error)?;
  let collect_timeout = std::time::Duration::from_millis(options.collect_timeout_ms.unwrap_or(1000).into());
  Ok(AsyncTask::new(StartServerTask(Some(server::Options {
    host: options.host,
    port,
    path: options.path,
    health,
    auth,
    max_connections,
    namespace_id,
    collect_timeout,
  }))))
}

pub struct StopServerTask(u32);

impl Task for StopServerTask {
  type Output = ();
  type JsValue = ();

  fn compute(&mut self) -> Result<Self::Output> {
    without_panics(|| {
      server::stop(self.0);
      Ok(())
    })
  }

  fn resolve(&mut self, _env: Env, _output: Self::Output) -> Result<Self::JsValue> {
    Ok(())
  }
}

/// Stops a server: no new connections, and open ones are given a few seconds to finish.
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn stop_server(id: u32) -> AsyncTask<StopServerTask> {
  AsyncTask::new(StopServerTask(id))
}

#[napi(object)]
pub struct StripeStats {
  /// Environments that hold a stripe now.
  pub live: u32,
  /// Stripes of torn-down environments, folded and ready for reuse.
  pub free: u32,
}

/// How many stripes exist; lets tests see that worker stripes are recycled.
#[napi(catch_unwind)]
pub fn stripe_stats() -> StripeStats {
  let (live, free) = REGISTRY.striped.stripe_counts();
  StripeStats {
    live: live as u32,
    free: free as u32,
  }
}

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
    header_bytes: logging::HEADER_BYTES as u32,
    write_position_at: logging::WRITE_AT as u32,
    read_position_at: logging::READ_AT as u32,
    data_bytes: logging::DATA_BYTES as u32,
    skip: logging::SKIP,
    kind_text: logging::KIND_TEXT.into(),
    kind_fields: logging::KIND_FIELDS.into(),
    value_null: logging::VALUE_NULL.into(),
    value_false: logging::VALUE_FALSE.into(),
    value_true: logging::VALUE_TRUE.into(),
    value_number: logging::VALUE_NUMBER.into(),
    value_string: logging::VALUE_STRING.into(),
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
  views::external_view(env, memory, logging::RING_BYTES)
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

/// Records that the JS thread serving health endpoints is responsive (called on a timer).
#[napi(catch_unwind)]
pub fn health_beat() {
  health::beat();
}

/// Sets a named readiness check; `/health/ready` answers 200 only when all are true.
#[napi(catch_unwind)]
pub fn set_ready(name: String, ready: bool) {
  health::set_ready(&name, ready);
}

/// Defines prom-client's process figures (CPU, start time, memory, file descriptors),
/// read from /proc at every scrape, under `prefix` and with `labels` on each.
#[napi(catch_unwind)]
pub fn define_process_metrics(registry: u32, prefix: String, labels: Vec<LabelPair>) -> Result<()> {
  let labels: Vec<(String, String)> = labels.into_iter().map(|p| (p.name, p.value)).collect();
  REGISTRY
    .define_process_metrics(registry, &prefix, &labels)
    .map_err(js_error)
}

#[napi(object)]
pub struct SampleJson {
  pub value: f64,
  /// In exposition order (an IndexMap: a JS object keeps insertion order).
  pub labels: IndexMap<String, String>,
  /// A histogram sample's own name (`x_bucket`, `x_sum`, `x_count`).
  pub metric_name: Option<String>,
  /// A counter's or a histogram bucket's exemplar, if one was set.
  pub exemplar: Option<ExemplarJson>,
}

/// An exemplar in prom-client's shape.
#[napi(object)]
pub struct ExemplarJson {
  pub label_set: IndexMap<String, String>,
  pub value: f64,
  /// Seconds since the Unix epoch, to the millisecond.
  pub timestamp: f64,
}

#[napi(object)]
pub struct MetricJson {
  pub name: String,
  pub help: String,
  #[napi(js_name = "type")]
  pub kind: String,
  pub values: Vec<SampleJson>,
  /// prom-client's cluster aggregation hint; always "sum".
  pub aggregator: String,
}

/// A namespace's metrics with its default labels, or one metric without any
/// (prom-client's `metric.get()`).
pub enum MetricsDataTask {
  Registry(NamespaceId),
  Metric(FamilyId),
}

impl Task for MetricsDataTask {
  type Output = Vec<data::MetricData>;
  type JsValue = Vec<MetricJson>;

  fn compute(&mut self) -> Result<Self::Output> {
    without_panics(|| {
      let snapshot = match *self {
        MetricsDataTask::Registry(namespace) => snapshot(namespace, None)?,
        MetricsDataTask::Metric(id) => collect::Snapshot::of(
          &REGISTRY,
          vec![REGISTRY.family(id).map_err(js_error)?],
          Arc::default(),
        ),
      };
      Ok(data::metrics_data(&snapshot))
    })
  }

  fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
    Ok(
      output
        .into_iter()
        .map(|metric| MetricJson {
          name: metric.name,
          help: metric.help,
          kind: metric.kind.to_string(),
          aggregator: "sum".to_string(),
          values: metric
            .samples
            .into_iter()
            .map(|s| SampleJson {
              value: s.value,
              labels: s.labels.into_iter().collect(),
              metric_name: s.metric_name,
              exemplar: s.exemplar.map(|e| ExemplarJson {
                label_set: e.labels.into_iter().collect(),
                value: e.value,
                timestamp: e.timestamp,
              }),
            })
            .collect(),
        })
        .collect(),
    )
  }
}

/// Every metric and its samples as data (prom-client's `getMetricsAsJSON()` shape),
/// collected on a libuv worker thread.
#[napi(catch_unwind, ts_return_type = "Promise<Array<MetricJson>>")]
pub fn metrics_data(registry: u32) -> AsyncTask<MetricsDataTask> {
  AsyncTask::new(MetricsDataTask::Registry(registry))
}

/// One metric and its samples as data, without default labels (prom-client's
/// `metric.get()`), collected on a libuv worker thread.
#[napi(catch_unwind, ts_return_type = "Promise<Array<MetricJson>>")]
pub fn metric_data(metric: u32) -> AsyncTask<MetricsDataTask> {
  AsyncTask::new(MetricsDataTask::Metric(metric))
}

/// Replaces the labels added to every series (a metric's own label of the same name wins).
#[napi(catch_unwind)]
pub fn set_default_labels(registry: u32, labels: Vec<LabelPair>) -> Result<()> {
  REGISTRY
    .set_default_labels(registry, labels.into_iter().map(|p| (p.name, p.value)).collect())
    .map_err(js_error)
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

  /// Every function JS can call catches panics: `catch_unwind` on each export (napi-rs
  /// turns a panic into a thrown error), `without_panics` in the module initialiser.
  #[test]
  fn every_export_catches_panics() {
    let source = include_str!("lib.rs");
    let mut exports = 0;
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
      let attribute = line.trim();
      if !attribute.starts_with("#[napi") {
        continue;
      }
      let item = lines.peek().map(|l| l.trim()).unwrap_or_default();
      if !item.starts_with("pub fn ") {
        continue; // a constant, object or enum: no code runs
      }
      exports += 1;
      if attribute.contains("module_exports") {
        let body = &source[source.find(item).unwrap()..];
        let first_statement = body.lines().nth(1).unwrap_or_default();
        assert!(
          first_statement.contains("without_panics("),
          "the module initialiser's work must run inside without_panics"
        );
      } else {
        assert!(
          attribute.contains("catch_unwind"),
          "{item} is exported without catch_unwind"
        );
      }
    }
    assert!(exports > 20, "found only {exports} exports");
  }
}
