//! Exemplars: the labels (typically a trace id) of one recent observation of a counter
//! series or of a histogram bucket, written after its sample in OpenMetrics text as
//! ` # {trace_id="…"} value timestamp`. The 0.0.4 text format has no place for them.
//!
//! A series keeps the last exemplar set on it, per bucket for a histogram, as
//! prom-client does. Exemplars are rare beside plain updates (an application sets
//! them on traced requests), so each goes through a native call into a map of its
//! family, keyed by slot: a counter's slot, or a histogram bucket's.

use crate::names::is_label_name;

/// OpenMetrics: the names and values of an exemplar's labels together must not
/// exceed 128 UTF-8 characters.
pub const MAX_EXEMPLAR_CHARS: usize = 128;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Exemplar {
  /// Names and values as given, in the order they were given.
  pub labels: Vec<(String, String)>,
  pub value: f64,
  /// Seconds since the Unix epoch, with millisecond precision (JavaScript's
  /// `Date.now() / 1000`, as prom-client writes it).
  pub timestamp: f64,
}

impl Exemplar {
  /// An exemplar stamped `timestamp`, or why its labels or value cannot be written.
  pub fn new(labels: Vec<(String, String)>, value: f64, timestamp: f64) -> Result<Exemplar, String> {
    if let Some((name, _)) = labels.iter().find(|(name, _)| !is_label_name(name)) {
      return Err(format!(
        "invalid exemplar label name \"{}\": it must match [a-zA-Z_][a-zA-Z0-9_]*",
        name.escape_debug()
      ));
    }
    let chars: usize = labels
      .iter()
      .map(|(name, value)| name.chars().count() + value.chars().count())
      .sum();
    if chars > MAX_EXEMPLAR_CHARS {
      return Err(format!(
        "exemplar labels have {chars} characters (names and values together); OpenMetrics allows {MAX_EXEMPLAR_CHARS}"
      ));
    }
    if !value.is_finite() {
      return Err(format!(
        "an exemplar's value must be a finite number, got {value}"
      ));
    }
    Ok(Exemplar {
      labels,
      value,
      timestamp,
    })
  }
}

/// Now, as an exemplar's timestamp: seconds since the Unix epoch, to the millisecond
/// (JavaScript's `Date.now() / 1000`, as prom-client writes it), on the engine's
/// [`clock`](crate::clock).
pub fn now() -> f64 {
  crate::clock::now_ms() / 1000.0
}

/// The index among a histogram's bucket slots of the bucket `value` falls in: the
/// first bound at or above it, or `+Inf` (one past the bounds), as JS counts it.
pub fn bucket_index(bounds: &[f64], value: f64) -> usize {
  bounds
    .iter()
    .position(|bound| value <= *bound)
    .unwrap_or(bounds.len())
}

#[cfg(test)]
mod tests {
  use std::time::{SystemTime, UNIX_EPOCH};

  use super::*;

  fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
      .iter()
      .map(|(k, v)| (k.to_string(), v.to_string()))
      .collect()
  }

  #[test]
  fn exemplars_are_stamped_to_the_millisecond() {
    let before = SystemTime::now()
      .duration_since(UNIX_EPOCH)
      .unwrap()
      .as_secs_f64();
    let exemplar = Exemplar::new(labels(&[("trace_id", "abc")]), 2.5, now()).unwrap();
    assert_eq!(exemplar.labels, labels(&[("trace_id", "abc")]));
    assert!(
      exemplar.timestamp >= before.floor() && exemplar.timestamp <= before + 60.0,
      "{}",
      exemplar.timestamp
    );
    assert_eq!((exemplar.timestamp * 1000.0).round() / 1000.0, exemplar.timestamp);
  }

  #[test]
  fn bad_exemplars_are_refused_with_the_reason() {
    let e = Exemplar::new(labels(&[("trace-id", "x")]), 1.0, 0.0).unwrap_err();
    assert!(e.contains("invalid exemplar label name \"trace-id\""), "{e}");
    // 128 characters pass, counted as characters rather than bytes; 129 do not.
    let value = "é".repeat(120);
    assert!(Exemplar::new(labels(&[("trace_id", &value)]), 1.0, 0.0).is_ok());
    let e = Exemplar::new(labels(&[("trace_id", &format!("{value}x"))]), 1.0, 0.0).unwrap_err();
    assert!(e.contains("have 129 characters"), "{e}");
    let e = Exemplar::new(vec![], f64::NAN, 0.0).unwrap_err();
    assert!(e.contains("finite number, got NaN"), "{e}");
  }

  #[test]
  fn values_fall_in_the_first_bucket_at_or_above_them() {
    let bounds = [0.1, 1.0, 10.0];
    assert_eq!(bucket_index(&bounds, -5.0), 0);
    assert_eq!(bucket_index(&bounds, 0.1), 0);
    assert_eq!(bucket_index(&bounds, 0.2), 1);
    assert_eq!(bucket_index(&bounds, 10.0), 2);
    assert_eq!(bucket_index(&bounds, 10.5), 3);
    assert_eq!(bucket_index(&[], 1.0), 0);
  }
}
