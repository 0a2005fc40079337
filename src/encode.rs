//! Text exposition: Prometheus 0.0.4 and OpenMetrics 1.0 from one writer.
//!
//! The two formats differ only in a counter's TYPE/HELP name (`x_total` in 0.0.4, `x`
//! in OpenMetrics), in HELP escaping (OpenMetrics also escapes `"`, which promtool
//! rejects in 0.0.4) and in the closing `# EOF`. Label sets are escaped once, when a
//! series is registered, and copied as they are here.

use crate::collect::{Snapshot, Value};
use crate::registry::Kind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
  Prometheus,
  OpenMetrics,
}

impl Format {
  pub fn content_type(self) -> &'static str {
    match self {
      Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
      Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
    }
  }
}

/// Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label_value(value: &str, out: &mut String) {
  for c in value.chars() {
    match c {
      '\\' => out.push_str("\\\\"),
      '"' => out.push_str("\\\""),
      '\n' => out.push_str("\\n"),
      c => out.push(c),
    }
  }
}

fn escape_help(help: &str, format: Format, out: &mut Vec<u8>) {
  for c in help.chars() {
    match c {
      '\\' => out.extend_from_slice(b"\\\\"),
      '\n' => out.extend_from_slice(b"\\n"),
      '"' if format == Format::OpenMetrics => out.extend_from_slice(b"\\\""),
      c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
    }
  }
}

/// Writes a sample value: integers without a fraction, other floats in shortest
/// round-trip form, and `+Inf`, `-Inf`, `NaN` as the formats spell them.
pub fn write_number(out: &mut Vec<u8>, v: f64) {
  if v.is_nan() {
    out.extend_from_slice(b"NaN");
  } else if v.is_infinite() {
    out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
  } else if v.fract() == 0.0 && v.abs() < 1e15 {
    out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
  } else {
    out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
  }
}

pub fn format_number(v: f64) -> String {
  let mut out = Vec::new();
  write_number(&mut out, v);
  String::from_utf8(out).expect("numbers are ASCII")
}

fn write_integer(out: &mut Vec<u8>, v: i64) {
  out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// `name{labels} ` with an optional extra label (a histogram's `le`) at the end.
fn write_series_start(out: &mut Vec<u8>, name: &[&str], labels: &str, extra: Option<(&str, &str)>) {
  for part in name {
    out.extend_from_slice(part.as_bytes());
  }
  if !labels.is_empty() || extra.is_some() {
    out.push(b'{');
    out.extend_from_slice(labels.as_bytes());
    if let Some((key, value)) = extra {
      if !labels.is_empty() {
        out.push(b',');
      }
      out.extend_from_slice(key.as_bytes());
      out.extend_from_slice(b"=\"");
      out.extend_from_slice(value.as_bytes());
      out.push(b'"');
    }
    out.push(b'}');
  }
  out.push(b' ');
}

pub fn encode(snapshot: &Snapshot, format: Format) -> Vec<u8> {
  let mut out = Vec::with_capacity(4096);
  for entry in &snapshot.families {
    let family = &entry.family;
    let def = &family.def;
    let base = family.base.as_str();
    let (type_name, meta_suffix) = match def.kind {
      Kind::Counter => ("counter", if format == Format::Prometheus { "_total" } else { "" }),
      Kind::IntGauge | Kind::FloatGauge => ("gauge", ""),
      Kind::Histogram => ("histogram", ""),
    };
    if !def.help.is_empty() {
      out.extend_from_slice(format!("# HELP {base}{meta_suffix} ").as_bytes());
      escape_help(&def.help, format, &mut out);
      out.push(b'\n');
    }
    out.extend_from_slice(format!("# TYPE {base}{meta_suffix} {type_name}\n").as_bytes());

    for series in &entry.series {
      let labels = &*series.labels;
      match snapshot.value(def.kind, def.buckets.len(), series) {
        Value::Counter(v) => {
          write_series_start(&mut out, &[base, "_total"], labels, None);
          write_number(&mut out, v);
        }
        Value::IntGauge(v) => {
          write_series_start(&mut out, &[base], labels, None);
          write_integer(&mut out, v);
        }
        Value::FloatGauge(v) => {
          write_series_start(&mut out, &[base], labels, None);
          write_number(&mut out, v);
        }
        Value::Histogram { buckets, sum } => {
          // `_count` and the `+Inf` bucket both come from this one read of the buckets.
          let mut cumulative = 0.0;
          for (count, le) in buckets.iter().zip(&family.bucket_labels) {
            cumulative += count;
            write_series_start(&mut out, &[base, "_bucket"], labels, Some(("le", le)));
            write_number(&mut out, cumulative);
            out.push(b'\n');
          }
          write_series_start(&mut out, &[base, "_sum"], labels, None);
          write_number(&mut out, sum);
          out.push(b'\n');
          write_series_start(&mut out, &[base, "_count"], labels, None);
          write_number(&mut out, cumulative);
        }
      }
      out.push(b'\n');
    }
  }
  if format == Format::OpenMetrics {
    out.extend_from_slice(b"# EOF\n");
  }
  out
}

/// Takes a snapshot of `registry` and encodes it.
pub fn render(registry: &crate::registry::Registry, format: Format) -> Vec<u8> {
  encode(&Snapshot::take(registry), format)
}
