//! OTLP/JSON's exceptions to serde's defaults: 64-bit integers as decimal strings,
//! doubles that are not finite as proto3's JSON names them, ids in hex.

use serde::ser::SerializeSeq;
use serde::Serializer;

pub fn integer<S: Serializer, T: ToString>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
  serializer.serialize_str(&value.to_string())
}

pub fn some_integer<S: Serializer>(value: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
  match value {
    Some(value) => integer(value, serializer),
    None => serializer.serialize_none(),
  }
}

pub fn integers<S: Serializer>(values: &[u64], serializer: S) -> Result<S::Ok, S::Error> {
  let mut seq = serializer.serialize_seq(Some(values.len()))?;
  for value in values {
    seq.serialize_element(&value.to_string())?;
  }
  seq.end()
}

/// A finite double as a number; NaN and the infinities as the strings proto3's JSON
/// mapping gives them (serde_json would write `null`).
pub fn double<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
  if value.is_finite() {
    serializer.serialize_f64(*value)
  } else if value.is_nan() {
    serializer.serialize_str("NaN")
  } else if *value > 0.0 {
    serializer.serialize_str("Infinity")
  } else {
    serializer.serialize_str("-Infinity")
  }
}

pub fn some_double<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
  match value {
    Some(value) => double(value, serializer),
    None => serializer.serialize_none(),
  }
}

pub fn doubles<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
  let mut seq = serializer.serialize_seq(Some(values.len()))?;
  for value in values {
    seq.serialize_element(&Double(*value))?;
  }
  seq.end()
}

struct Double(f64);

impl serde::Serialize for Double {
  fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
    double(&self.0, serializer)
  }
}

/// Trace and span ids: OTLP/JSON writes them in lowercase hex, not base64.
pub fn hex<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
  const DIGITS: &[u8; 16] = b"0123456789abcdef";
  let text: String = bytes
    .iter()
    .flat_map(|b| {
      [
        DIGITS[(b >> 4) as usize] as char,
        DIGITS[(b & 15) as usize] as char,
      ]
    })
    .collect();
  serializer.serialize_str(&text)
}
