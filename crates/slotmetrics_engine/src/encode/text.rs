//! Text exposition: Prometheus 0.0.4 (and 1.0.0) and OpenMetrics 1.0 (and 0.0.1) from
//! one writer.
//!
//! The two formats differ only in a counter's TYPE/HELP name (`x_total` in 0.0.4, `x`
//! in OpenMetrics), in HELP escaping (OpenMetrics also escapes `"`, which promtool
//! rejects in 0.0.4) and in the closing `# EOF`. Label sets are escaped once, when a
//! series is registered, and copied as they are here, unless the negotiated escaping
//! scheme changes a label name.

use std::borrow::Cow;
use std::io::{self, Write};

use super::{exposed_metric_name, hand_on, relabeled, renames_labels, PIECE_BYTES};
use crate::collect::Snapshot;
use crate::collect::Value;
use crate::exemplar::Exemplar;
use crate::format::Format;
use crate::kind::{Kind, Style};
use crate::names::Escaping;
use crate::summary::empty_quantile;
use crate::text::{label_text, write_js_number, write_number};

fn escape_help(help: &str, openmetrics: bool, out: &mut Vec<u8>) {
  for c in help.chars() {
    match c {
      '\\' => out.extend_from_slice(b"\\\\"),
      '\n' => out.extend_from_slice(b"\\n"),
      '"' if openmetrics => out.extend_from_slice(b"\\\""),
      c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
    }
  }
}

fn write_integer(out: &mut Vec<u8>, v: i64) {
  out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// `name{labels} `: the escaped label texts that are not empty, joined, then an optional
/// extra label (a histogram's `le`). A quoted name goes first inside the braces:
/// `{"my.metric",labels} `.
fn write_series_start(out: &mut Vec<u8>, name: &str, label_texts: &[&str], extra: Option<(&str, &str)>) {
  let mut separator: &[u8] = b"{";
  if name.starts_with('"') {
    out.push(b'{');
    separator = b",";
  }
  out.extend_from_slice(name.as_bytes());
  for text in label_texts.iter().filter(|text| !text.is_empty()) {
    out.extend_from_slice(separator);
    out.extend_from_slice(text.as_bytes());
    separator = b",";
  }
  if let Some((key, value)) = extra {
    out.extend_from_slice(separator);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"=\"");
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
    separator = b",";
  }
  if separator == b"," {
    out.push(b'}');
  }
  out.push(b' ');
}

/// ` # {labels} value timestamp`: an exemplar after its sample's value (OpenMetrics only).
fn write_exemplar(
  out: &mut Vec<u8>,
  exemplar: &Exemplar,
  escaping: Escaping,
  write_value: fn(&mut Vec<u8>, f64),
) {
  out.extend_from_slice(b" # {");
  let names: Vec<Cow<str>> = exemplar
    .labels
    .iter()
    .map(|(k, _)| escaping.label_name(k))
    .collect();
  let labels = label_text(
    names
      .iter()
      .map(|k| &**k)
      .zip(exemplar.labels.iter().map(|(_, v)| v.as_str())),
  );
  out.extend_from_slice(labels.as_bytes());
  out.extend_from_slice(b"} ");
  write_value(out, exemplar.value);
  out.push(b' ');
  write_value(out, exemplar.timestamp);
}

/// Encodes a snapshot as text into `sink`, in pieces of about `PIECE_BYTES`.
pub(super) fn encode(snapshot: &Snapshot, format: Format, sink: &mut impl Write) -> io::Result<()> {
  let openmetrics = format.is_openmetrics();
  let escaping = format.escaping;
  let mut out = Vec::with_capacity(PIECE_BYTES + 4096);
  for (i, entry) in snapshot.families.iter().enumerate() {
    let family = &entry.family;
    let def = &family.def;
    let prom_client = def.style == Style::PromClient;
    if prom_client && !openmetrics && i > 0 {
      out.push(b'\n');
    }
    // Sample names as the negotiated scheme escapes them (whole: the dots scheme
    // doubles a suffix's underscore too).
    let name = |suffix: &str| exposed_metric_name(&format!("{}{suffix}", family.base), escaping);
    let (base, sum_name, count_name, bucket_name) = (name(""), name("_sum"), name("_count"), name("_bucket"));
    // OpenMetrics' `_created` sample of a counter, histogram or summary series: left out
    // in prom-client's style, whose text is prom-client's, and for process figures,
    // which count since their process started.
    let created_name = (openmetrics && !prom_client && family.process.is_none()).then(|| name("_created"));
    // A counter's samples: `<base>_total`, but in prom-client's 0.0.4 text its name as given.
    let counter_name = if prom_client && !openmetrics {
      exposed_metric_name(&def.name, escaping)
    } else {
      name("_total")
    };
    let (type_name, meta_name) = match def.kind {
      Kind::Counter if !openmetrics => ("counter", &counter_name),
      Kind::Counter => ("counter", &base),
      Kind::IntGauge | Kind::FloatGauge => ("gauge", &base),
      Kind::Histogram => ("histogram", &base),
      Kind::Summary => ("summary", &base),
    };
    if !def.help.is_empty() {
      out.extend_from_slice(format!("# HELP {meta_name} ").as_bytes());
      escape_help(&def.help, openmetrics, &mut out);
      out.push(b'\n');
    }
    out.extend_from_slice(format!("# TYPE {meta_name} {type_name}\n").as_bytes());

    let write_value: fn(&mut Vec<u8>, f64) = if prom_client {
      write_js_number
    } else {
      write_number
    };
    let exemplar_of = |slot: u32| {
      if openmetrics {
        entry.exemplar(slot)
      } else {
        None
      }
    };
    let default_pairs = snapshot.default_labels_for(family);
    let renames = renames_labels(family, &default_pairs, escaping);
    let defaults = label_text(default_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let defaults = if renames {
      relabeled(&defaults, escaping)
    } else {
      defaults
    };
    // prom-client writes `le` and `quantile` first: each bucket's or quantile's label
    // text, once.
    let prom_client_firsts: Vec<String> = match def.kind {
      Kind::Histogram if prom_client => family
        .bucket_labels
        .iter()
        .map(|le| format!("le=\"{le}\""))
        .collect(),
      Kind::Summary if prom_client => family
        .quantile_labels
        .iter()
        .map(|q| format!("quantile=\"{q}\""))
        .collect(),
      _ => Vec::new(),
    };
    for series in entry.series() {
      let own = if renames {
        Cow::Owned(relabeled(&series.labels, escaping))
      } else {
        Cow::Borrowed(&*series.labels)
      };
      // Default labels go first, but after a series' own in prom-client's text (except
      // on its histograms, below).
      let labels = if prom_client && def.kind != Kind::Histogram {
        [&*own, &defaults]
      } else {
        [defaults.as_str(), &own]
      };
      // The start of a bucket's or a quantile's sample: its bound label goes last, but
      // first in prom-client's text.
      let bound_series_start = |out: &mut Vec<u8>, name: &str, i: usize, bound: (&str, &str)| {
        if prom_client {
          write_series_start(out, name, &[&prom_client_firsts[i], labels[0], labels[1]], None);
        } else {
          write_series_start(out, name, &labels, Some(bound));
        }
      };
      let write_sum_and_count = |out: &mut Vec<u8>, sum: f64, count: f64| {
        write_series_start(out, &sum_name, &labels, None);
        write_value(out, sum);
        out.push(b'\n');
        write_series_start(out, &count_name, &labels, None);
        write_value(out, count);
      };
      let write_created = |out: &mut Vec<u8>| {
        if let Some(created_name) = &created_name {
          out.push(b'\n');
          write_series_start(out, created_name, &labels, None);
          write_number(out, entry.created(series));
        }
      };
      match snapshot.value(entry, series) {
        Value::Absent => continue,
        Value::Counter(v) => {
          write_series_start(&mut out, &counter_name, &labels, None);
          write_value(&mut out, v);
          if let Some(exemplar) = exemplar_of(series.slot) {
            write_exemplar(&mut out, exemplar, escaping, write_value);
          }
          write_created(&mut out);
        }
        Value::IntGauge(v) => {
          write_series_start(&mut out, &base, &labels, None);
          write_integer(&mut out, v);
        }
        Value::FloatGauge(v) => {
          write_series_start(&mut out, &base, &labels, None);
          write_value(&mut out, v);
        }
        Value::Histogram { buckets, sum, .. } => {
          // `_count` and the `+Inf` bucket both come from this one read of the buckets.
          let mut cumulative = 0.0;
          for (bucket, (count, le)) in buckets.iter().zip(&family.bucket_labels).enumerate() {
            if bucket > 0 {
              out.push(b'\n');
            }
            cumulative += count;
            bound_series_start(&mut out, &bucket_name, bucket, ("le", le));
            write_value(&mut out, cumulative);
            if let Some(exemplar) = exemplar_of(series.slot + bucket as u32) {
              write_exemplar(&mut out, exemplar, escaping, write_value);
            }
          }
          // OpenMetrics: with negative buckets the sum is no longer a counter, so there
          // is no `_sum`, and `_count` goes only with a `_sum`.
          if !openmetrics || family.def.buckets.first().is_none_or(|b| *b >= 0.0) {
            out.push(b'\n');
            write_sum_and_count(&mut out, sum, cumulative);
          }
          write_created(&mut out);
        }
        Value::Summary {
          quantiles,
          count,
          sum,
        } => {
          for (i, q) in family.quantile_labels.iter().enumerate() {
            bound_series_start(&mut out, &base, i, ("quantile", q));
            write_value(
              &mut out,
              quantiles.map_or(empty_quantile(def.style), |values| values[i]),
            );
            out.push(b'\n');
          }
          write_sum_and_count(&mut out, sum, count);
          write_created(&mut out);
        }
      }
      out.push(b'\n');
      if out.len() >= PIECE_BYTES {
        hand_on(&mut out, sink)?;
      }
    }
  }
  if openmetrics {
    out.extend_from_slice(b"# EOF\n");
  }
  sink.write_all(&out)
}

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;
