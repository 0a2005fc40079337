//! A snapshot as a scraper reads it: text (Prometheus 0.0.4/1.0.0, OpenMetrics) or
//! protobuf, in the format content negotiation chose.

use std::borrow::Cow;
use std::io::{self, Write};

use crate::collect::Snapshot;
use crate::format::{Format, Protocol};
use crate::names::{is_metric_name, Escaping};
use crate::registry::Family;
use crate::text::{label_text, parse_labels, write_name};

pub mod otlp;
mod protobuf;
pub mod remote_write;
mod text;

/// The size of the pieces the exposition is handed on in (about 0.1 ms of encoding).
/// After each piece the encoding thread yields its core: a JS thread that wakes while
/// every core is busy would otherwise wait for the scheduler to end the encoder's time
/// slice, which is milliseconds (Linux's EEVDF lets the running thread reach its fair
/// share first, whatever its nice value).
pub const PIECE_BYTES: usize = 64 * 1024;

fn hand_on(out: &mut Vec<u8>, sink: &mut impl Write) -> io::Result<()> {
  sink.write_all(out)?;
  out.clear();
  std::thread::yield_now();
  Ok(())
}

/// Encodes a snapshot into `sink` in `format`, in pieces of about `PIECE_BYTES`.
pub fn encode(snapshot: &Snapshot, format: Format, sink: &mut impl Write) -> io::Result<()> {
  match format.protocol {
    Protocol::PrometheusProto => protobuf::encode(snapshot, format.escaping, sink),
    _ => text::encode(snapshot, format, sink),
  }
}

/// Whether `escaping` changes a label name a family's series carry (its own, the
/// registry's default ones): then their registered label text cannot be copied as it is.
fn renames_labels(family: &Family, defaults: &[(String, String)], escaping: Escaping) -> bool {
  let def = &family.def;
  let changed = |name: &str| matches!(escaping.label_name(name), Cow::Owned(_));
  // An open-keyed family's series have names of their own: legacy ones unless it
  // allows UTF-8, and only the dots scheme changes legacy names (`_` becomes `__`).
  let open_keys_changed = def.open_keys
    && match escaping {
      Escaping::AllowUtf8 => false,
      Escaping::Underscores | Escaping::Values => def.utf8_names,
      Escaping::Dots => true,
    };
  open_keys_changed
    || def.static_labels.iter().any(|(k, _)| changed(k))
    || def.dynamic_keys.iter().any(|k| changed(k))
    || defaults.iter().any(|(k, _)| changed(k))
}

/// A metric name as the text writes it under `escaping`: escaped, or kept and quoted
/// (`"my.metric"`) where `allow-utf-8` keeps a name outside the legacy set.
fn exposed_metric_name(name: &str, escaping: Escaping) -> String {
  let escaped = escaping.metric_name(name);
  let mut out = String::with_capacity(escaped.len() + 2);
  write_name(&escaped, is_metric_name(&escaped), &mut out);
  out
}

/// A series' label text (`k="v",…`) with its names as `escaping` exposes them.
fn relabeled(text: &str, escaping: Escaping) -> String {
  let pairs = parse_labels(text);
  let names: Vec<Cow<str>> = pairs.iter().map(|(k, _)| escaping.label_name(k)).collect();
  label_text(
    names
      .iter()
      .map(|k| &**k)
      .zip(pairs.iter().map(|(_, v)| v.as_str())),
  )
}

#[cfg(test)]
pub(crate) mod testing {
  //! What the encoders' tests share: metrics defined and recorded as the binding and JS
  //! threads would, and text read back into comparable samples.

  use std::collections::BTreeMap;
  use std::sync::atomic::Ordering;

  use super::encode;
  use crate::collect::Snapshot;
  use crate::format::Format;
  use crate::kind::Kind;
  use crate::registry::{Definition, NamespaceId, Registry, DEFAULT_NAMESPACE};
  use crate::slots::{locate, StripeId};
  use crate::text::format_number;

  pub fn def(name: &str, help: &str, kind: Kind, keys: &[&str], buckets: &[f64]) -> Definition {
    Definition {
      help: help.into(),
      dynamic_keys: keys.iter().map(|k| k.to_string()).collect(),
      buckets: buckets.to_vec(),
      ..Definition::new(name, kind)
    }
  }

  /// A namespace's whole exposition in `format`.
  pub fn render_in(registry: &Registry, namespace: NamespaceId, format: Format) -> Vec<u8> {
    let namespace = registry.namespace(namespace).unwrap();
    let mut body = Vec::new();
    encode(&Snapshot::take(registry, &namespace).unwrap(), format, &mut body).unwrap();
    body
  }

  /// The default namespace's exposition in `format`.
  pub fn render(registry: &Registry, format: Format) -> Vec<u8> {
    render_in(registry, DEFAULT_NAMESPACE, format)
  }

  /// The default namespace's whole exposition in a text format.
  pub fn text(registry: &Registry, format: Format) -> String {
    String::from_utf8(render(registry, format)).unwrap()
  }

  /// Adds to a striped slot as a JS thread would.
  pub fn add(registry: &Registry, stripe: StripeId, slot: u32, value: f64) {
    let (k, i) = locate(slot);
    let cell = &registry.striped.chunk(stripe, k).unwrap().cells()[i];
    cell.store(
      (f64::from_bits(cell.load(Ordering::Relaxed)) + value).to_bits(),
      Ordering::Relaxed,
    );
  }

  pub fn set_shared(registry: &Registry, slot: u32, bits: u64) {
    let (k, i) = locate(slot);
    registry.shared.chunk(k).unwrap().cells()[i].store(bits, Ordering::Relaxed);
  }

  /// Parses `name{labels} value` lines into (name, label set, value), unescaping label
  /// values and normalising numbers, so two encoders' outputs can be compared.
  pub fn samples(text: &str) -> BTreeMap<(String, BTreeMap<String, String>), String> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
      let (series, value) = line.rsplit_once(' ').unwrap();
      let (name, mut rest) = series.split_once('{').map_or((series, ""), |(n, r)| (n, r));
      let mut labels = BTreeMap::new();
      while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
          match chars.next().unwrap() {
            (_, '\\') => match chars.next().unwrap().1 {
              'n' => value.push('\n'),
              c => value.push(c),
            },
            (i, '"') => break i,
            (_, c) => value.push(c),
          }
        };
        let key = key.trim_start_matches(',').to_string();
        let value = if key == "le" {
          format_number(value.parse().unwrap())
        } else {
          value
        };
        labels.insert(key, value);
        rest = &after[end + 1..];
      }
      let number: f64 = match value {
        "inf" | "+Inf" => f64::INFINITY,
        "-inf" | "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap(),
      };
      out.insert((name.to_string(), labels), format_number(number));
    }
    out
  }

  fn is_created_sample(line: &str) -> bool {
    let name = match line.strip_prefix("{\"") {
      Some(quoted) => quoted.split('"').next(),
      None => line.split([' ', '{']).next(),
    };
    !line.starts_with('#') && name.is_some_and(|name| name.ends_with("_created"))
  }

  /// OpenMetrics text without its `_created` samples (prometheus-client writes none).
  pub fn without_created(text: &str) -> String {
    text
      .lines()
      .filter(|line| !is_created_sample(line))
      .map(|line| format!("{line}\n"))
      .collect()
  }

  /// OpenMetrics text with each `_created` sample's value, checked to be a time of the
  /// last ten minutes, written as `<created>`.
  pub fn created_masked(text: &str) -> String {
    let now = std::time::SystemTime::now()
      .duration_since(std::time::UNIX_EPOCH)
      .unwrap()
      .as_secs_f64();
    text
      .lines()
      .map(|line| {
        if !is_created_sample(line) {
          return format!("{line}\n");
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let created: f64 = value.parse().unwrap();
        assert!(now - 600.0 < created && created <= now, "{line}");
        format!("{series} <created>\n")
      })
      .collect()
  }
}
