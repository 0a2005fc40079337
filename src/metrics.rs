//! Defining metrics and registering, removing and zeroing their series.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use slotmetrics_engine::clock;
use slotmetrics_engine::kind::{GaugeMode, Kind, Style};
use slotmetrics_engine::native::{self, NativeOptions};
use slotmetrics_engine::registry;
use slotmetrics_engine::registry::{Definition, Instrument, LeaseAnswer, Registered, DEFAULT_MAX_SERIES};
use slotmetrics_engine::rings;
use slotmetrics_engine::summary::{SlidingWindow, SummaryOptions};

use slotmetrics_engine::slots::StripeId;

use crate::environment::with_env_state;
use crate::scratch;
use crate::shared::{js_error, REGISTRY};
use crate::views;

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

/// A gauge's value across the processes of a multi-process group (docs/many-processes.md,
/// "What the group's values are").
#[napi(string_enum)]
pub enum MultiprocessMode {
  #[napi(value = "shared")]
  Shared,
  #[napi(value = "livesum")]
  LiveSum,
  #[napi(value = "max")]
  Max,
  #[napi(value = "min")]
  Min,
  #[napi(value = "average")]
  Average,
  #[napi(value = "omit")]
  Omit,
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
  /// A gauge's multi-process mode (default: shared).
  pub multiprocess: Option<MultiprocessMode>,
  /// A histogram's native buckets, if it has them.
  pub native: Option<NativeBuckets>,
  /// Metric and label names may hold any characters (docs/prometheus-3.md, "UTF-8 names").
  pub utf8_names: Option<bool>,
  /// Each series names its own labels: `dynamicKeys` is empty and a label set is
  /// given as name, value pairs (OpenTelemetry instruments).
  pub open_keys: Option<bool>,
  /// The OpenTelemetry instrument it records: its own name and unit, for OTLP exports.
  pub instrument: Option<InstrumentName>,
}

/// An OpenTelemetry instrument's own name and unit.
#[napi(object)]
pub struct InstrumentName {
  pub name: String,
  pub unit: String,
}

/// A native histogram's options, as client_golang names them.
#[napi(object)]
pub struct NativeBuckets {
  /// Neighbouring bucket boundaries differ by at most this factor (> 1).
  pub bucket_factor: f64,
  pub zero_threshold: f64,
  pub max_buckets: u32,
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
  let native = match definition.native {
    None => None,
    Some(options) => Some(NativeOptions {
      schema: native::schema_for_factor(options.bucket_factor).ok_or_else(|| {
        Error::new(
          Status::InvalidArg,
          format!(
            "native histogram \"{}\": bucketFactor must be a number above 1, got {}",
            definition.name, options.bucket_factor
          ),
        )
      })?,
      zero_threshold: options.zero_threshold,
      max_buckets: options.max_buckets,
    }),
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
        gauge_mode: match definition.multiprocess {
          None | Some(MultiprocessMode::Shared) => GaugeMode::Shared,
          Some(MultiprocessMode::LiveSum) => GaugeMode::LiveSum,
          Some(MultiprocessMode::Max) => GaugeMode::LiveMax,
          Some(MultiprocessMode::Min) => GaugeMode::LiveMin,
          Some(MultiprocessMode::Average) => GaugeMode::LiveAverage,
          Some(MultiprocessMode::Omit) => GaugeMode::Omit,
        },
        native,
        utf8_names: definition.utf8_names.unwrap_or(false),
        open_keys: definition.open_keys.unwrap_or(false),
        instrument: definition.instrument.map(|i| Instrument {
          name: i.name,
          unit: i.unit,
        }),
      },
    )
    .map_err(js_error)
}

// What JS does, in every thread, with an update whose labels are wrong and with a
// prom-client metric constructed twice (`setErrorPolicy`); read on those paths only.
static DROP_INVALID_LABELS: AtomicBool = AtomicBool::new(false);
static REUSE_DUPLICATE_METRICS: AtomicBool = AtomicBool::new(false);

/// The process's error policy: both off (throw) until `setErrorPolicy` says otherwise.
#[napi(object)]
pub struct ErrorPolicy {
  /// An update with unknown, missing or mistyped labels is dropped and counted instead of throwing.
  pub drop_invalid_labels: bool,
  /// A prom-client metric constructed again with the same definition is the existing one.
  pub reuse_duplicate_metrics: bool,
}

#[napi(catch_unwind)]
pub fn set_error_policy(policy: ErrorPolicy) {
  DROP_INVALID_LABELS.store(policy.drop_invalid_labels, Ordering::Relaxed);
  REUSE_DUPLICATE_METRICS.store(policy.reuse_duplicate_metrics, Ordering::Relaxed);
}

#[napi(catch_unwind)]
pub fn error_policy() -> ErrorPolicy {
  ErrorPolicy {
    drop_invalid_labels: DROP_INVALID_LABELS.load(Ordering::Relaxed),
    reuse_duplicate_metrics: REUSE_DUPLICATE_METRICS.load(Ordering::Relaxed),
  }
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

/// The series of a label set for the calling environment (`stripe`: its stripe), an
/// overflowing label set counted in `slotmetrics_series_overflow_total`. Answered as
/// one number, since making an object costs Node-API more than a registration: the
/// series' first slot, or for a full metric's overflow series `-(2 × slot + first) - 1`,
/// `first` (1 or 0) on the metric's first overflow in this process (JS warns once).
fn register(stripe: StripeId, metric: u32, values: &[impl AsRef<str>]) -> Result<i64> {
  match REGISTRY.series(metric, values).map_err(js_error)? {
    Registered::Series(slot) => Ok(i64::from(slot)),
    Registered::Overflow { slot, first } => {
      // It fails only if the application defined a metric of that name itself: the
      // label set still goes to the overflow series, uncounted.
      let _ = REGISTRY.count_overflow(metric, stripe);
      Ok(-(2 * i64::from(slot) + i64::from(first)) - 1)
    }
  }
}

/// The first slot index of the series with these dynamic label values (in the order of
/// the metric's dynamic keys), registering the series on first use.
#[napi(catch_unwind)]
pub fn register_series(env: &Env, metric: u32, label_values: Vec<String>) -> Result<i64> {
  let stripe = with_env_state(env, |state| Ok(state.stripe))?;
  register(stripe, metric, &label_values)
}

/// The kinds of rings through which JS hands the engine updates (crates/slotmetrics_engine/src/rings.rs).
#[napi(string_enum)]
pub enum RingKind {
  Observations,
  Exemplars,
  Registrations,
}

impl From<RingKind> for rings::RingKind {
  fn from(kind: RingKind) -> Self {
    match kind {
      RingKind::Observations => rings::RingKind::Observations,
      RingKind::Exemplars => rings::RingKind::Exemplars,
      RingKind::Registrations => rings::RingKind::Registrations,
    }
  }
}

/// Where JS writes in a ring of a kind.
#[napi(object)]
pub struct RingLayout {
  pub entries: u32,
  pub entry_bytes: u32,
  pub write_position_at: u32,
  pub read_position_at: u32,
  /// A word JS clears, then asks for a drain, when it finds it set (see `rings`).
  pub wake_at: u32,
  pub entries_at: u32,
}

#[napi(catch_unwind)]
pub fn ring_layout(kind: RingKind) -> RingLayout {
  let shape = rings::RingKind::from(kind).shape();
  RingLayout {
    entries: shape.entries as u32,
    entry_bytes: shape.entry_bytes as u32,
    write_position_at: rings::WRITE_AT as u32,
    read_position_at: rings::READ_AT as u32,
    wake_at: rings::WAKE_AT as u32,
    entries_at: rings::ENTRIES_AT as u32,
  }
}

/// The calling environment's ring of `kind`, made on its first call: JS appends
/// updates there and the engine applies them before any read.
#[napi(catch_unwind, ts_return_type = "ArrayBuffer | SharedArrayBuffer")]
pub fn entry_ring(env: &Env, kind: RingKind) -> Result<Unknown<'_>> {
  // The draining thread (started by the first ring) outlives any one environment.
  retain_current_module_for_unload_safety();
  let kind = rings::RingKind::from(kind);
  let (memory, bytes) = with_env_state(env, |state| {
    let ring = match state.rings.iter().find(|(of, _)| *of == kind) {
      Some((_, ring)) => Arc::clone(ring),
      None => {
        let ring = REGISTRY
          .attach_ring(kind)
          .map_err(|e| Error::from_reason(format!("slotmetrics: cannot start draining rings: {e}")))?;
        state.rings.push((kind, Arc::clone(&ring)));
        ring
      }
    };
    Ok((ring.as_ptr(), ring.shape().bytes()))
  })?;
  // Shared where the runtime can (V8 then puts the write position's Atomics.store
  // inside the JavaScript memory model).
  views::slot_view(env, memory, bytes)
}

/// Asks the engine's draining thread to drain the rings now: the caller's is half full.
#[napi(catch_unwind)]
pub fn request_ring_drain() {
  REGISTRY.request_ring_drain();
}

/// Follows the time JS read from its replaced `Date.now` (fake timers), or with none the
/// system clock again (`clock`): what the rings hold is applied first, at the time it
/// was recorded.
#[napi(catch_unwind)]
pub fn follow_js_clock(now_ms: Option<f64>) {
  REGISTRY.drain_rings();
  clock::follow(now_ms);
}

/// Drains a pass (the oldest entries) of the calling environment's ring of `kind` now, on
/// this thread: its JS found it full.
#[napi(catch_unwind)]
pub fn drain_entry_ring(env: &Env, kind: RingKind) -> Result<()> {
  let kind = rings::RingKind::from(kind);
  with_env_state(env, |state| {
    if let Some((_, ring)) = state.rings.iter().find(|(of, _)| *of == kind) {
      REGISTRY.drain_ring(kind, ring);
    }
    Ok(())
  })
}

/// Sets the exemplar of a counter series, or of the bucket `value` falls in of a
/// histogram series (`slot`: the series' first slot), stamped now; its label names and
/// values, in turn, are in this environment's scratch buffer. JS has counted the value
/// already. `at_total`: a counter's exemplar takes the series' value now instead
/// (@prometheus-io/client 0.16's counters).
#[napi(catch_unwind)]
pub fn set_exemplar(env: &Env, metric: u32, slot: u32, value: f64, at_total: Option<bool>) -> Result<()> {
  let labels = exemplar_labels(env)?;
  if at_total == Some(true) {
    return REGISTRY
      .set_exemplar_at_total(metric, slot, labels)
      .map_err(js_error);
  }
  REGISTRY
    .set_exemplar(metric, slot, labels, value)
    .map_err(js_error)
}

/// The exemplar label names and values JS wrote to the calling environment's scratch buffer.
fn exemplar_labels(env: &Env) -> Result<Vec<(String, String)>> {
  with_env_state(env, |state| {
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
  })
}

/// Series a lease holds at most: a lease answer packs the count below this.
const LEASE_SIZES: i64 = 1 << 16;

/// A lease of up to `wanted` series of `metric` for the calling environment, whose new
/// label sets it may then count at once and register through its ring of registrations
/// (crates/slotmetrics_engine/src/registry/leases.rs). Answered as one number:
/// `first slot × 65536 + series granted`; 0 while the metric is full; -1 if it never
/// takes leases (a gauge, summary or native histogram, or in a group).
#[napi(catch_unwind)]
pub fn lease_series(env: &Env, metric: u32, wanted: u32) -> Result<i64> {
  let wanted = wanted.min((LEASE_SIZES - 1) as u32);
  with_env_state(env, |state| {
    Ok(match REGISTRY.lease_series(metric, wanted).map_err(js_error)? {
      LeaseAnswer::Granted { first, series } => {
        state.leases.push(first);
        i64::from(first) * LEASE_SIZES + i64::from(series)
      }
      LeaseAnswer::Full => 0,
      LeaseAnswer::Never => -1,
    })
  })
}

/// The slots one series of `metric` spans, by which the series of its leases follow one
/// another, if JS may count its new label sets in leased slots (`leaseSeries`); else 0
/// (a gauge, summary or native histogram, or a metric of a group).
#[napi(catch_unwind)]
pub fn leased_slots_per_series(metric: u32) -> Result<u32> {
  let slots = REGISTRY.leased_slots_per_series(metric).map_err(js_error)?;
  Ok(slots.map_or(0, |slots| slots as u32))
}

/// `registerSeries` with the label values JS wrote to its scratch buffer.
#[napi(catch_unwind)]
pub fn register_scratch_series(env: &Env, metric: u32) -> Result<i64> {
  with_env_state(env, |state| {
    let values = state
      .scratch
      .as_ref()
      .and_then(scratch::Scratch::values)
      .ok_or_else(|| Error::from_reason("slotmetrics: malformed label values in the scratch buffer"))?;
    register(state.stripe, metric, &values)
  })
}

/// Notes that a label of an OpenTelemetry instrument's metric stands for attribute
/// `key` (`http_route` for `http.route`), which OTLP exports then use.
#[napi(catch_unwind)]
pub fn name_attribute_key(metric: u32, label: String, key: String) -> Result<()> {
  REGISTRY
    .name_attribute_key(metric, &label, &key)
    .map_err(js_error)
}

/// prom-client's `remove(labels)`: the series is hidden until used again, then counts
/// from zero.
#[napi(catch_unwind)]
pub fn remove_series(metric: u32, label_values: Vec<String>) -> Result<()> {
  REGISTRY.remove_series(metric, &label_values).map_err(js_error)
}

/// prom-client's `zero(labels)`: registers the series if new and exposes it at zero.
#[napi(catch_unwind)]
pub fn zero_series(metric: u32, label_values: Vec<String>) -> Result<()> {
  REGISTRY
    .zero_series(metric, &label_values)
    .map(drop)
    .map_err(js_error)
}

/// prom-client's `reset()`: removes every series, or zeroes a metric without dynamic labels.
#[napi(catch_unwind)]
pub fn reset_metric(metric: u32) -> Result<()> {
  REGISTRY.reset(metric).map_err(js_error)
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

/// Where a thread counts a native histogram's observations of one sign: buckets
/// `first` to `first + width - 1` at `schema`, in stripe slots from `slot`.
#[napi(object)]
pub struct NativeWindow {
  pub schema: i32,
  pub first: i32,
  pub slot: u32,
  pub width: u32,
}

/// The window of buckets an observation of `value` (outside the thread's current
/// window, or its first) counts in, for the native histogram series at `slot`.
#[napi(catch_unwind)]
pub fn native_window(metric: u32, slot: u32, value: f64) -> Result<NativeWindow> {
  let window = REGISTRY.native_window(metric, slot, value).map_err(js_error)?;
  Ok(NativeWindow {
    schema: window.schema,
    first: window.first,
    slot: window.slot,
    width: window.width,
  })
}

/// The mantissa boundaries of a schema above 0, which JS searches exactly as the
/// engine does.
#[napi(catch_unwind)]
pub fn native_bounds(schema: i32) -> Vec<f64> {
  native::bounds_of(schema).to_vec()
}
