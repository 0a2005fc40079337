//! What a metric is (its definition), the checks a definition must pass, and the words
//! that say how two definitions differ.

use std::sync::atomic::Ordering;

use super::{RegistryError, DEFAULT_MAX_SERIES};
use crate::kind::{GaugeMode, Kind, Style};
use crate::names::{is_label_name, is_metric_name, is_reserved_label};
use crate::native::{NativeOptions, MAX_BUCKETS, MAX_SCHEMA, MIN_SCHEMA};
use crate::slots::CHUNK_SLOTS;
use crate::summary::SummaryOptions;
use crate::text::{format_number, write_label_text};

/// A metric as a schema describes it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Definition {
  pub name: String,
  pub help: String,
  pub kind: Kind,
  pub static_labels: Vec<(String, String)>,
  pub dynamic_keys: Vec<String>,
  /// Histogram upper bounds, increasing, without the implicit `+Inf`.
  pub buckets: Vec<f64>,
  /// A summary's quantiles and window; the default for other kinds.
  pub summary: SummaryOptions,
  /// The most label sets it may have; past it, new ones go to the overflow series
  /// (or, if `strict`, are refused).
  pub max_series: usize,
  pub strict: bool,
  pub style: Style,
  /// A gauge's value across the processes of a multi-process group; `Shared` for
  /// other kinds.
  pub gauge_mode: GaugeMode,
  /// A histogram's native (exponential) buckets, if it has them.
  pub native: Option<NativeOptions>,
  /// Its metric and label names may hold any characters, not only the legacy ones.
  #[serde(default)]
  pub utf8_names: bool,
  /// Each series names its own dynamic labels (OpenTelemetry attributes, which differ
  /// from one measurement to the next): `dynamic_keys` is empty and a series' label
  /// values come as name, value pairs, in any order. Its overflow series is labeled
  /// `otel.metric.overflow="true"` (`otel_metric_overflow` without UTF-8 names).
  #[serde(default)]
  pub open_keys: bool,
  /// The OpenTelemetry instrument it records (`slotmetrics/otel`): what an OTLP export
  /// names it and its unit, rather than what its Prometheus name says. The first
  /// definition's stays: an identical metric defined again keeps it.
  #[serde(default)]
  pub instrument: Option<Instrument>,
}

/// An OpenTelemetry instrument's own name and unit (`Definition::instrument`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Instrument {
  pub name: String,
  pub unit: String,
}

impl Definition {
  /// A metric of `kind` named `name` and nothing more: no help, labels, buckets or
  /// quantiles, the process's default series limit, slotmetrics' own style. The rest is
  /// set with struct update syntax (`Definition { help, ..Definition::new(name, kind) }`).
  pub fn new(name: impl Into<String>, kind: Kind) -> Definition {
    Definition {
      name: name.into(),
      help: String::new(),
      kind,
      static_labels: vec![],
      dynamic_keys: vec![],
      buckets: vec![],
      summary: SummaryOptions::default(),
      max_series: DEFAULT_MAX_SERIES.load(Ordering::Relaxed),
      strict: false,
      style: Style::Standard,
      gauge_mode: GaugeMode::Shared,
      native: None,
      utf8_names: false,
      open_keys: false,
      instrument: None,
    }
  }
}

/// A series' escaped label text from its dynamic label values.
pub(super) fn encode_labels(def: &Definition, values: &[impl AsRef<str>]) -> Result<String, RegistryError> {
  let mut text = String::new();
  write_labels(def, values, &mut text)?;
  Ok(text)
}

/// `encode_labels` written at the end of `out` (nothing written if the values are refused).
pub(super) fn write_labels(
  def: &Definition,
  values: &[impl AsRef<str>],
  out: &mut String,
) -> Result<(), RegistryError> {
  if def.open_keys {
    return write_open_labels(def, values, out);
  }
  let keys = &def.dynamic_keys;
  if values.len() != keys.len() {
    return Err(RegistryError::Invalid(format!(
      "metric \"{}\" takes {} dynamic label values ({}), got {}",
      def.name,
      keys.len(),
      keys.join(", "),
      values.len()
    )));
  }
  let statics = def.static_labels.iter().map(|(k, v)| (k.as_str(), v.as_str()));
  let pairs = statics.chain(
    keys
      .iter()
      .map(String::as_str)
      .zip(values.iter().map(AsRef::as_ref)),
  );
  // prom-client's partial label sets: a label without a value is not written. Keys are
  // written with their values, so the text still identifies the label set.
  let prom_client = def.style == Style::PromClient;
  write_label_text(pairs.filter(|(_, value)| !(prom_client && value.is_empty())), out);
  Ok(())
}

/// `write_labels` for a metric whose series name their own labels: `pairs` alternate
/// names and values. They are written after the static labels, sorted by name, so that
/// one label set has one text whatever order it came in.
fn write_open_labels(
  def: &Definition,
  pairs: &[impl AsRef<str>],
  out: &mut String,
) -> Result<(), RegistryError> {
  if !pairs.len().is_multiple_of(2) {
    return Err(RegistryError::Invalid(format!(
      "metric \"{}\" takes label names and values in pairs, got {} strings",
      def.name,
      pairs.len()
    )));
  }
  let mut labels: Vec<(&str, &str)> = pairs
    .chunks_exact(2)
    .map(|pair| (pair[0].as_ref(), pair[1].as_ref()))
    .collect();
  labels.sort_unstable_by(|a, b| a.0.cmp(b.0));
  let place = format!("on a series of metric \"{}\"", def.name);
  for (i, (key, _)) in labels.iter().enumerate() {
    check_label_name(key, &place, def.utf8_names)?;
    check_reserved_for_kind(def, key)?;
    let repeated = i > 0 && labels[i - 1].0 == *key;
    if repeated || def.static_labels.iter().any(|(k, _)| k == key) {
      return Err(RegistryError::Invalid(format!(
        "label name \"{key}\" appears twice {place}"
      )));
    }
  }
  let statics = def.static_labels.iter().map(|(k, v)| (k.as_str(), v.as_str()));
  write_label_text(statics.chain(labels), out);
  Ok(())
}

/// The one label of an open-keyed metric's overflow series.
pub(super) fn open_overflow_label(def: &Definition) -> [&'static str; 2] {
  let name = if def.utf8_names {
    "otel.metric.overflow"
  } else {
    "otel_metric_overflow"
  };
  [name, "true"]
}

/// Refuses a label name the metric's kind keeps for itself: a histogram's `le`, a
/// summary's `quantile`.
fn check_reserved_for_kind(def: &Definition, key: &str) -> Result<(), RegistryError> {
  let (reserved, what, kind) = match def.kind {
    Kind::Histogram => ("le", "buckets", "histogram"),
    Kind::Summary => ("quantile", "quantiles", "summary"),
    _ => return Ok(()),
  };
  if key == reserved {
    return Err(RegistryError::Invalid(format!(
      "label name \"{reserved}\" is reserved on {kind} \"{}\" for its {what}",
      def.name
    )));
  }
  Ok(())
}

/// Checks a definition and returns its exposition family name.
pub(super) fn validate(def: &Definition) -> Result<String, RegistryError> {
  let invalid = |m: String| Err(RegistryError::Invalid(m));
  if def.utf8_names && def.name.is_empty() {
    return invalid("a metric name must not be empty".to_string());
  }
  if !def.utf8_names && !is_metric_name(&def.name) {
    return invalid(format!(
      "invalid metric name \"{}\": it must match [a-zA-Z_:][a-zA-Z0-9_:]* (or the metric must opt into UTF-8 names)",
      def.name.escape_debug()
    ));
  }
  let base = match def.kind {
    Kind::Counter => def.name.strip_suffix("_total").unwrap_or(&def.name).to_string(),
    _ => def.name.clone(),
  };
  if base.is_empty() {
    return invalid(format!(
      "invalid counter name \"{}\": nothing before \"_total\"",
      def.name
    ));
  }
  let keys = def.static_labels.iter().map(|(k, _)| k).chain(&def.dynamic_keys);
  let mut seen: Vec<&String> = Vec::new();
  let place = format!("on metric \"{}\"", def.name);
  for key in keys {
    check_label_name(key, &place, def.utf8_names)?;
    check_reserved_for_kind(def, key)?;
    if seen.contains(&key) {
      return invalid(format!(
        "label name \"{key}\" appears twice on metric \"{}\"",
        def.name
      ));
    }
    seen.push(key);
  }
  if def.open_keys && !def.dynamic_keys.is_empty() {
    return invalid(format!(
      "metric \"{}\" names its labels per series and takes no dynamic keys",
      def.name
    ));
  }
  if def.max_series == 0 {
    return invalid(format!("metric \"{}\" must allow at least 1 series", def.name));
  }
  if def.kind == Kind::Histogram {
    validate_buckets(&def.name, &def.buckets)?;
  } else if !def.buckets.is_empty() {
    return invalid(format!(
      "metric \"{}\" is {} and takes no buckets",
      def.name,
      def.kind.describe()
    ));
  }
  let is_gauge = matches!(def.kind, Kind::IntGauge | Kind::FloatGauge);
  if !is_gauge && def.gauge_mode != GaugeMode::Shared {
    return invalid(format!(
      "metric \"{}\" is {}; only gauges take a multi-process mode",
      def.name,
      def.kind.describe()
    ));
  }
  if let Some(native) = &def.native {
    validate_native(def, native)?;
  }
  if def.kind == Kind::Summary {
    validate_summary(&def.name, &def.summary)?;
  } else if def.summary != SummaryOptions::default() {
    return invalid(format!(
      "metric \"{}\" is {} and takes no quantiles",
      def.name,
      def.kind.describe()
    ));
  }
  Ok(base)
}

/// Refuses a label name that is malformed (not a legacy name, unless `utf8`; empty) or
/// reserved; `place` says where it was found (`on metric "x"`).
pub(super) fn check_label_name(key: &str, place: &str, utf8: bool) -> Result<(), RegistryError> {
  if key.is_empty() || (!utf8 && !is_label_name(key)) {
    return Err(RegistryError::Invalid(format!(
      "invalid label name \"{}\" {place}: it must match [a-zA-Z_][a-zA-Z0-9_]*{}",
      key.escape_debug(),
      if utf8 { " or be any non-empty text" } else { "" }
    )));
  }
  if is_reserved_label(key) {
    return Err(RegistryError::Invalid(format!(
      "label name \"{key}\" {place} is reserved: names starting with \"__\" belong to Prometheus"
    )));
  }
  Ok(())
}

pub(super) fn validate_buckets(name: &str, buckets: &[f64]) -> Result<(), RegistryError> {
  if let Some(b) = buckets.iter().find(|b| !b.is_finite()) {
    return Err(RegistryError::Invalid(format!(
      "bucket bound {} on histogram \"{name}\" is not finite (the +Inf bucket is implicit)",
      format_number(*b)
    )));
  }
  if let Some(w) = buckets.windows(2).find(|w| w[0] >= w[1]) {
    return Err(RegistryError::Invalid(format!(
      "buckets of histogram \"{name}\" must increase strictly: {} is followed by {}",
      format_number(w[0]),
      format_number(w[1])
    )));
  }
  if buckets.len() + 2 > CHUNK_SLOTS {
    return Err(RegistryError::Invalid(format!(
      "histogram \"{name}\" has {} buckets; the most is {}",
      buckets.len(),
      CHUNK_SLOTS - 2
    )));
  }
  Ok(())
}

fn validate_native(def: &Definition, native: &NativeOptions) -> Result<(), RegistryError> {
  let name = &def.name;
  let invalid = |m: String| Err(RegistryError::Invalid(m));
  if def.kind != Kind::Histogram {
    return invalid(format!(
      "metric \"{name}\" is {}; only histograms have native buckets",
      def.kind.describe()
    ));
  }
  if !(MIN_SCHEMA..=MAX_SCHEMA).contains(&native.schema) {
    return invalid(format!(
      "native histogram \"{name}\": schema {} is not from {MIN_SCHEMA} to {MAX_SCHEMA}",
      native.schema
    ));
  }
  if !(native.zero_threshold >= 0.0 && native.zero_threshold.is_finite()) {
    return invalid(format!(
      "native histogram \"{name}\": zeroThreshold must be a finite number >= 0, got {}",
      format_number(native.zero_threshold)
    ));
  }
  if !(1..=MAX_BUCKETS).contains(&native.max_buckets) {
    return invalid(format!(
      "native histogram \"{name}\": maxBuckets must be from 1 to {MAX_BUCKETS}, got {}",
      native.max_buckets
    ));
  }
  Ok(())
}

pub(super) fn validate_summary(name: &str, options: &SummaryOptions) -> Result<(), RegistryError> {
  let invalid = |m: String| Err(RegistryError::Invalid(m));
  let quantiles = &options.quantiles;
  if let Some(q) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
    return invalid(format!(
      "quantile {} of summary \"{name}\" is not between 0 and 1",
      format_number(*q)
    ));
  }
  if let Some((i, q)) = quantiles
    .iter()
    .enumerate()
    .find(|(i, q)| quantiles[..*i].contains(q))
  {
    return invalid(format!(
      "quantile {} of summary \"{name}\" appears twice (at {i})",
      format_number(*q)
    ));
  }
  if let Some(window) = options.window {
    if window.max_age.is_zero() || window.age_buckets == 0 {
      return invalid(format!(
        "the window of summary \"{name}\" needs a positive age and at least one age bucket"
      ));
    }
  }
  Ok(())
}

pub(super) fn describe(def: &Definition) -> String {
  let mut text = def.kind.describe().to_string();
  let keys: Vec<&str> = def
    .static_labels
    .iter()
    .map(|(k, _)| k.as_str())
    .chain(def.dynamic_keys.iter().map(String::as_str))
    .collect();
  if keys.is_empty() {
    text.push_str(" with no labels");
  } else {
    text.push_str(&format!(" with labels [{}]", keys.join(", ")));
  }
  text
}

/// What makes `new` differ from `existing`, or `None` if they are the same metric.
pub(super) fn describe_difference(existing: &Definition, new: &Definition) -> Option<String> {
  if existing.kind != new.kind {
    return Some(format!("is {}", new.kind.describe()));
  }
  if existing.dynamic_keys != new.dynamic_keys {
    return Some(format!("has dynamic keys [{}]", new.dynamic_keys.join(", ")));
  }
  if existing.open_keys != new.open_keys {
    return Some(
      if new.open_keys {
        "names its labels per series"
      } else {
        "has fixed label names"
      }
      .to_string(),
    );
  }
  if existing.static_labels != new.static_labels {
    let labels: Vec<String> = new
      .static_labels
      .iter()
      .map(|(k, v)| format!("{k}={v:?}"))
      .collect();
    return Some(format!("has static labels [{}]", labels.join(", ")));
  }
  if existing.buckets != new.buckets {
    let buckets: Vec<String> = new.buckets.iter().map(|b| format_number(*b)).collect();
    return Some(format!("has buckets [{}]", buckets.join(", ")));
  }
  if existing.utf8_names != new.utf8_names {
    return Some(format!(
      "{} UTF-8 names",
      if new.utf8_names {
        "allows"
      } else {
        "does not allow"
      }
    ));
  }
  if existing.native != new.native {
    return Some(match new.native {
      Some(native) => format!(
        "has native buckets of schema {}, zero threshold {} and at most {} buckets",
        native.schema,
        format_number(native.zero_threshold),
        native.max_buckets
      ),
      None => "has no native buckets".to_string(),
    });
  }
  if existing.summary != new.summary {
    let quantiles: Vec<String> = new.summary.quantiles.iter().map(|q| format_number(*q)).collect();
    return Some(format!(
      "has other quantiles or another window (quantiles [{}])",
      quantiles.join(", ")
    ));
  }
  if existing.gauge_mode != new.gauge_mode {
    return Some(format!(
      "has multi-process mode '{}' instead of '{}'",
      new.gauge_mode.name(),
      existing.gauge_mode.name()
    ));
  }
  if existing.style != new.style {
    return Some(format!(
      "is {}a prom-client metric",
      if new.style == Style::PromClient {
        ""
      } else {
        "not "
      }
    ));
  }
  if (existing.max_series, existing.strict) != (new.max_series, new.strict) {
    let strict = if new.strict { " (strict)" } else { "" };
    return Some(format!(
      "has a limit of {} series{strict} instead of {}",
      new.max_series, existing.max_series
    ));
  }
  if existing.help != new.help {
    return Some(format!("has help {:?} instead of {:?}", new.help, existing.help));
  }
  None
}
