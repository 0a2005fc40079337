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
mod tests {
  use std::collections::BTreeMap;
  use std::sync::atomic::{AtomicI64, AtomicU64};

  use prometheus_client::metrics::counter::Counter;
  use prometheus_client::metrics::family::Family;
  use prometheus_client::metrics::gauge::Gauge;
  use prometheus_client::metrics::histogram::Histogram;

  use super::super::testing::{
    add, created_masked, def, render, render_in, samples, set_shared, without_created,
  };
  use super::*;
  use crate::registry::{Definition, Registered, Registry, RegistryError, DEFAULT_NAMESPACE, NO_LABELS};
  use crate::text::parse_labels;

  /// A namespace's whole exposition.
  fn text(registry: &Registry, format: Format) -> String {
    String::from_utf8(render(registry, format)).unwrap()
  }

  #[test]
  fn removed_series_hide_until_used_and_then_count_from_zero() {
    let r = Registry::new();
    let stripe = r.striped.attach().unwrap();
    let jobs = r
      .define(def("jobs_total", "", Kind::Counter, &["queue"], &[]))
      .unwrap();
    let depth = r
      .define(def("depth", "", Kind::IntGauge, &["queue"], &[]))
      .unwrap();
    let lat = r.define(def("lat", "", Kind::Histogram, &[], &[1.0])).unwrap();
    let a = r.series(jobs, &["a"]).unwrap().slot();
    let b = r.series(jobs, &["b"]).unwrap().slot();
    let d = r.series(depth, &["a"]).unwrap().slot();
    let h = r.series(lat, NO_LABELS).unwrap().slot();
    add(&r, stripe, a, 5.0);
    add(&r, stripe, b, 2.0);
    set_shared(&r, d, 9);
    add(&r, stripe, h, 1.0);
    add(&r, stripe, h + 2, 0.5);

    r.remove_series(jobs, &["a"]).unwrap();
    r.remove_series(jobs, &["never"]).unwrap();
    r.reset(depth).unwrap();
    r.reset(lat).unwrap();
    let body = text(&r, Format::PROMETHEUS_TEXT);
    assert!(
      !body.contains(r#"queue="a""#),
      "removed series are hidden:\n{body}"
    );
    assert!(body.contains("jobs_total{queue=\"b\"} 2\n"), "{body}");
    assert!(
      body.contains("lat_count 0\nlat_sum 0\n") || body.contains("lat_sum 0\nlat_count 0\n"),
      "{body}"
    );

    // A thread still holding the removed counter's handle writes to the same slot: the
    // series comes back with what was added since.
    add(&r, stripe, a, 3.0);
    // Registering the gauge's label set again shows it at 0 even though it is unchanged.
    assert_eq!(r.series(depth, &["a"]).unwrap().slot(), d);
    let body = text(&r, Format::PROMETHEUS_TEXT);
    assert!(body.contains("jobs_total{queue=\"a\"} 3\n"), "{body}");
    assert!(body.contains("depth{queue=\"a\"} 0\n"), "{body}");

    r.zero_series(jobs, &["b"]).unwrap();
    r.zero_series(jobs, &["c"]).unwrap();
    let body = text(&r, Format::PROMETHEUS_TEXT);
    assert!(
      body.contains("jobs_total{queue=\"b\"} 0\njobs_total{queue=\"c\"} 0\n"),
      "{body}"
    );
  }

  /// A metric that opted into UTF-8 names: quoted where the scraper allows UTF-8, else
  /// escaped by the scheme it asked for (underscores by default). Legacy names beside
  /// them stay bare.
  #[test]
  fn utf8_names_are_quoted_or_escaped_as_negotiated() {
    use crate::format::Protocol;
    use crate::names::Escaping;
    let r = Registry::new();
    let stripe = r.striped.attach().unwrap();
    let utf8 = |d: Definition| Definition {
      utf8_names: true,
      ..d
    };
    let jobs = r
      .define(utf8(def(
        "my.jobs_total",
        "Jobs",
        Kind::Counter,
        &["my.queue", "code"],
        &[],
      )))
      .unwrap();
    let lat = r
      .define(utf8(def("lat.seconds", "", Kind::Histogram, &[], &[1.0])))
      .unwrap();
    add(&r, stripe, r.series(jobs, &["a", "200"]).unwrap().slot(), 2.0);
    add(&r, stripe, r.series(lat, NO_LABELS).unwrap().slot(), 1.0);
    let at = |protocol, escaping| text(&r, Format { protocol, escaping });

    let om = created_masked(&at(Protocol::OpenMetricsText1_0_0, Escaping::AllowUtf8));
    assert_eq!(
      om,
      "# HELP \"my.jobs\" Jobs\n# TYPE \"my.jobs\" counter\n\
       {\"my.jobs_total\",\"my.queue\"=\"a\",code=\"200\"} 2\n\
       {\"my.jobs_created\",\"my.queue\"=\"a\",code=\"200\"} <created>\n\
       # TYPE \"lat.seconds\" histogram\n\
       {\"lat.seconds_bucket\",le=\"1\"} 1\n{\"lat.seconds_bucket\",le=\"+Inf\"} 1\n\
       {\"lat.seconds_sum\"} 0\n{\"lat.seconds_count\"} 1\n{\"lat.seconds_created\"} <created>\n# EOF\n"
    );
    let underscores = at(Protocol::PrometheusText0_0_4, Escaping::Underscores);
    assert!(
      underscores.starts_with("# HELP my_jobs_total Jobs\n# TYPE my_jobs_total counter\nmy_jobs_total{my_queue=\"a\",code=\"200\"} 2\n"),
      "{underscores}"
    );
    assert!(underscores.contains("lat_seconds_count 1\n"), "{underscores}");
    let values = at(Protocol::PrometheusText1_0_0, Escaping::Values);
    assert!(
      values.contains("U__my_2E_jobs__total{U__my_2E_queue=\"a\",code=\"200\"} 2\n"),
      "{values}"
    );

    // Without the opt-in, today's rules.
    let e = r
      .define(def("my.other", "", Kind::Counter, &[], &[]))
      .unwrap_err();
    assert!(
      e.to_string().contains("or the metric must opt into UTF-8 names"),
      "{e}"
    );
    let e = r
      .define(def("other", "", Kind::Counter, &["a.b"], &[]))
      .unwrap_err();
    assert!(e.to_string().contains("invalid label name \"a.b\""), "{e}");
    let e = r.define(utf8(def("", "", Kind::Counter, &[], &[]))).unwrap_err();
    assert!(e.to_string().contains("must not be empty"), "{e}");
  }

  #[test]
  fn summaries_give_quantiles_then_sum_and_count_in_both_styles() {
    use crate::summary::SummaryOptions;
    let r = Registry::new();
    let stripe = r.striped.attach().unwrap();
    let summary = |name: &str, style: Style| Definition {
      summary: SummaryOptions {
        quantiles: vec![0.5, 0.9],
        ..Default::default()
      },
      style,
      ..def(name, "Latency", Kind::Summary, &["route"], &[])
    };
    let standard = r.define(summary("lat", Style::Standard)).unwrap();
    let prom_client = r.define(summary("pc_lat", Style::PromClient)).unwrap();
    for id in [standard, prom_client] {
      let slot = r.series(id, &["/a"]).unwrap().slot();
      for v in [1.0, 2.0, 3.0, 4.0] {
        add(&r, stripe, slot, 1.0);
        add(&r, stripe, slot + 1, v);
        r.observe_summary(slot, v).unwrap();
      }
      // A series without observations has no quantiles yet.
      r.series(id, &["/b"]).unwrap();
    }
    r.set_default_labels(DEFAULT_NAMESPACE, vec![("app".into(), "x".into())])
      .unwrap();
    let expected = "\
# HELP lat Latency
# TYPE lat summary
lat{app=\"x\",route=\"/a\",quantile=\"0.5\"} 2.5
lat{app=\"x\",route=\"/a\",quantile=\"0.9\"} 4
lat_sum{app=\"x\",route=\"/a\"} 10
lat_count{app=\"x\",route=\"/a\"} 4
lat_created{app=\"x\",route=\"/a\"} <created>
lat{app=\"x\",route=\"/b\",quantile=\"0.5\"} NaN
lat{app=\"x\",route=\"/b\",quantile=\"0.9\"} NaN
lat_sum{app=\"x\",route=\"/b\"} 0
lat_count{app=\"x\",route=\"/b\"} 0
lat_created{app=\"x\",route=\"/b\"} <created>
# HELP pc_lat Latency
# TYPE pc_lat summary
pc_lat{quantile=\"0.5\",route=\"/a\",app=\"x\"} 2.5
pc_lat{quantile=\"0.9\",route=\"/a\",app=\"x\"} 4
pc_lat_sum{route=\"/a\",app=\"x\"} 10
pc_lat_count{route=\"/a\",app=\"x\"} 4
pc_lat{quantile=\"0.5\",route=\"/b\",app=\"x\"} 0
pc_lat{quantile=\"0.9\",route=\"/b\",app=\"x\"} 0
pc_lat_sum{route=\"/b\",app=\"x\"} 0
pc_lat_count{route=\"/b\",app=\"x\"} 0
";
    assert_eq!(
      created_masked(&text(&r, Format::OPENMETRICS_TEXT)),
      format!("{expected}# EOF\n")
    );
    assert_eq!(
      text(&r, Format::PROMETHEUS_TEXT),
      without_created(expected).replace("# HELP pc_lat", "\n# HELP pc_lat")
    );
    let a = r.series(standard, &["/a"]).unwrap().slot();
    assert!(r
      .observe_summary(a, f64::NAN)
      .unwrap_err()
      .to_string()
      .contains("finite"));
    let e = r.observe_summary(a + 1, 1.0).unwrap_err();
    assert!(e.to_string().contains("no summary series at slot"), "{e}");
  }

  #[test]
  fn openmetrics_gives_a_histogram_with_negative_buckets_no_sum_or_count() {
    let r = Registry::new();
    let stripe = r.striped.attach().unwrap();
    let temp = r
      .define(def("temp", "", Kind::Histogram, &[], &[-10.0, 0.0]))
      .unwrap();
    let slot = r.series(temp, NO_LABELS).unwrap().slot();
    add(&r, stripe, slot, 1.0);
    add(&r, stripe, slot + 3, -15.0);
    let buckets = "temp_bucket{le=\"-10\"} 1\ntemp_bucket{le=\"0\"} 1\ntemp_bucket{le=\"+Inf\"} 1\n";
    assert_eq!(
      created_masked(&text(&r, Format::OPENMETRICS_TEXT)),
      format!("# TYPE temp histogram\n{buckets}temp_created <created>\n# EOF\n")
    );
    assert_eq!(
      text(&r, Format::PROMETHEUS_TEXT),
      format!("# TYPE temp histogram\n{buckets}temp_sum -15\ntemp_count 1\n")
    );
  }

  #[test]
  fn prom_client_style_writes_what_prom_client_writes() {
    let r = Registry::new();
    let stripe = r.striped.attach().unwrap();
    let pc = |d: Definition| Definition {
      style: Style::PromClient,
      ..d
    };
    let requests = r
      .define(pc(def(
        "requests",
        "Requests",
        Kind::Counter,
        &["method", "status"],
        &[],
      )))
      .unwrap();
    let load = r
      .define(pc(def("load", "Load", Kind::FloatGauge, &[], &[])))
      .unwrap();
    let ours = r.define(def("ours", "Ours", Kind::Counter, &[], &[])).unwrap();
    r.set_default_labels(DEFAULT_NAMESPACE, vec![("host".into(), "a".into())])
      .unwrap();
    add(
      &r,
      stripe,
      r.series(requests, &["GET", "200"]).unwrap().slot(),
      1e21,
    );
    // A partial label set: the absent label is not written.
    add(
      &r,
      stripe,
      r.series(requests, &["POST", ""]).unwrap().slot(),
      0.1 + 0.2,
    );
    set_shared(
      &r,
      r.series(load, NO_LABELS).unwrap().slot(),
      (-1.5e-7f64).to_bits(),
    );
    add(&r, stripe, r.series(ours, NO_LABELS).unwrap().slot(), 1e21);
    assert_eq!(
      text(&r, Format::PROMETHEUS_TEXT),
      "# HELP requests Requests\n# TYPE requests counter\n\
       requests{method=\"GET\",status=\"200\",host=\"a\"} 1e+21\n\
       requests{method=\"POST\",host=\"a\"} 0.30000000000000004\n\
       \n# HELP load Load\n# TYPE load gauge\nload{host=\"a\"} -1.5e-7\n\
       # HELP ours_total Ours\n# TYPE ours_total counter\nours_total{host=\"a\"} 1e21\n"
    );
    let om = text(&r, Format::OPENMETRICS_TEXT);
    assert!(om.starts_with("# HELP requests Requests\n# TYPE requests counter\nrequests_total{method=\"GET\",status=\"200\",host=\"a\"} 1e+21\n"), "{om}");
    assert!(
      om.contains("\n# HELP load Load\n"),
      "no blank lines in OpenMetrics: {om}"
    );
  }

  #[test]
  fn namespaces_hold_their_own_names_and_clear_unlists() {
    let r = Registry::new();
    let other = r.create_namespace();
    let ours = r.define(def("up", "", Kind::IntGauge, &[], &[])).unwrap();
    let theirs = r
      .define_in(other, def("up", "", Kind::FloatGauge, &[], &[]))
      .unwrap();
    assert_ne!(ours, theirs, "the same name in two namespaces is two metrics");
    set_shared(&r, r.series(ours, NO_LABELS).unwrap().slot(), 1);
    set_shared(&r, r.series(theirs, NO_LABELS).unwrap().slot(), 2.5f64.to_bits());
    r.set_default_labels(other, vec![("service".into(), "billing".into())])
      .unwrap();
    let render_other = || String::from_utf8(render_in(&r, other, Format::PROMETHEUS_TEXT)).unwrap();
    assert_eq!(text(&r, Format::PROMETHEUS_TEXT), "# TYPE up gauge\nup 1\n");
    assert_eq!(render_other(), "# TYPE up gauge\nup{service=\"billing\"} 2.5\n");

    r.clear(other).unwrap();
    assert_eq!(render_other(), "");
    let again = r
      .define_in(other, def("up", "", Kind::Counter, &[], &[]))
      .unwrap();
    assert!(
      again != theirs && r.series(theirs, NO_LABELS).is_ok(),
      "old handles keep working, unlisted"
    );
    r.series(again, NO_LABELS).unwrap();
    assert_eq!(
      render_other(),
      "# TYPE up_total counter\nup_total{service=\"billing\"} 0\n"
    );
    assert!(r.namespace(99).is_err());
  }

  #[test]
  fn golden_text_and_openmetrics() {
    let r = Registry::new();
    let stripe = r.striped.attach().unwrap();
    let requests = r
      .define(Definition {
        static_labels: vec![("service".into(), "api".into())],
        ..def(
          "http_requests_total",
          "Requests \"served\"\\\n",
          Kind::Counter,
          &["code"],
          &[],
        )
      })
      .unwrap();
    let ok = r.series(requests, &["2\"0\\0\n"]).unwrap().slot();
    add(&r, stripe, ok, 3.0);
    let depth = r
      .define(def("queue_depth", "", Kind::IntGauge, &[], &[]))
      .unwrap();
    set_shared(&r, r.series(depth, NO_LABELS).unwrap().slot(), (-5i64) as u64);
    let load = r.define(def("load", "Load", Kind::FloatGauge, &[], &[])).unwrap();
    set_shared(&r, r.series(load, NO_LABELS).unwrap().slot(), f64::NAN.to_bits());
    let latency = r
      .define(def(
        "latency_seconds",
        "Latency",
        Kind::Histogram,
        &["route"],
        &[0.1, 1.0],
      ))
      .unwrap();
    let users = r.series(latency, &["/users"]).unwrap().slot();
    add(&r, stripe, users, 2.0); // two in le=0.1
    add(&r, stripe, users + 2, 1.0); // one in +Inf only
    add(&r, stripe, users + 3, 5.25); // sum
    let worker = r.striped.attach().unwrap();
    add(&r, worker, users + 1, 1.0); // another thread: one in le=1
    add(&r, worker, users + 3, 0.5);

    assert_eq!(
      text(&r, Format::PROMETHEUS_TEXT),
      r#"# HELP http_requests_total Requests "served"\\\n
# TYPE http_requests_total counter
http_requests_total{service="api",code="2\"0\\0\n"} 3
# TYPE queue_depth gauge
queue_depth -5
# HELP load Load
# TYPE load gauge
load NaN
# HELP latency_seconds Latency
# TYPE latency_seconds histogram
latency_seconds_bucket{route="/users",le="0.1"} 2
latency_seconds_bucket{route="/users",le="1"} 3
latency_seconds_bucket{route="/users",le="+Inf"} 4
latency_seconds_sum{route="/users"} 5.75
latency_seconds_count{route="/users"} 4
"#
    );
    let om = text(&r, Format::OPENMETRICS_TEXT);
    assert!(om.starts_with(
      "# HELP http_requests Requests \\\"served\\\"\\\\\\n\n# TYPE http_requests counter\nhttp_requests_total{service=\"api\""
    ));
    assert!(created_masked(&om).ends_with(
      "latency_seconds_count{route=\"/users\"} 4\nlatency_seconds_created{route=\"/users\"} <created>\n# EOF\n"
    ));
  }

  /// prometheus-client, the Prometheus project's Rust client, as an oracle: the same
  /// metrics recorded in both must expose the same samples in OpenMetrics.
  #[test]
  fn openmetrics_samples_match_prometheus_client() {
    let ours = Registry::new();
    let stripe = ours.striped.attach().unwrap();
    let mut theirs = prometheus_client::registry::Registry::default();

    let values = ["plain", "q\"uote", "back\\slash", "new\nline", "ünïcödé 😀", ""];
    let requests = ours
      .define(def("jobs", "Jobs", Kind::Counter, &["queue"], &[]))
      .unwrap();
    let their_requests = Family::<Vec<(String, String)>, Counter<f64, AtomicU64>>::default();
    theirs.register("jobs", "Jobs", their_requests.clone());
    for (i, v) in values.iter().enumerate() {
      let amount = i as f64 * 1.5 + 0.25;
      add(
        &ours,
        stripe,
        ours.series(requests, &[v.to_string()]).unwrap().slot(),
        amount,
      );
      their_requests
        .get_or_create(&vec![("queue".to_string(), v.to_string())])
        .inc_by(amount);
    }

    let temperature = ours
      .define(def("temperature", "T", Kind::FloatGauge, &["room"], &[]))
      .unwrap();
    let their_temperature = Family::<Vec<(String, String)>, Gauge<f64, AtomicU64>>::default();
    theirs.register("temperature", "T", their_temperature.clone());
    for (room, t) in [("a", -3.5), ("b", f64::INFINITY), ("c", 1e-9)] {
      set_shared(
        &ours,
        ours.series(temperature, &[room]).unwrap().slot(),
        t.to_bits(),
      );
      their_temperature
        .get_or_create(&vec![("room".to_string(), room.to_string())])
        .set(t);
    }

    let items = ours.define(def("items", "I", Kind::IntGauge, &[], &[])).unwrap();
    let their_items = Gauge::<i64, AtomicI64>::default();
    theirs.register("items", "I", their_items.clone());
    set_shared(
      &ours,
      ours.series(items, NO_LABELS).unwrap().slot(),
      (-1234567890123i64) as u64,
    );
    their_items.set(-1234567890123);

    const BOUNDS: [f64; 5] = [0.005, 0.1, 1.0, 2.5, 1e3];
    let bounds = BOUNDS;
    let sizes = ours
      .define(def("sizes", "S", Kind::Histogram, &["kind"], &bounds))
      .unwrap();
    let their_sizes =
      Family::<Vec<(String, String)>, Histogram>::new_with_constructor(|| Histogram::new(BOUNDS));
    theirs.register("sizes", "S", their_sizes.clone());
    let slot = ours.series(sizes, &["x"]).unwrap().slot();
    for v in [0.0, 0.005, 0.05, 0.5, 2.5, 7.0, 5e3, -1.0] {
      let bucket = bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len());
      add(&ours, stripe, slot + bucket as u32, 1.0);
      add(&ours, stripe, slot + bounds.len() as u32 + 1, v);
      their_sizes
        .get_or_create(&vec![("kind".to_string(), "x".to_string())])
        .observe(v);
    }

    let mut their_text = String::new();
    prometheus_client::encoding::text::encode(&mut their_text, &theirs).unwrap();
    let our_text = without_created(&text(&ours, Format::OPENMETRICS_TEXT));
    assert_eq!(
      samples(&our_text),
      samples(&their_text),
      "ours:\n{our_text}\ntheirs:\n{their_text}"
    );
    assert_eq!(
      samples(&our_text).len(),
      values.len() + 3 + 1 + (bounds.len() + 1 + 2)
    );
  }

  type SampleKey = (String, BTreeMap<String, String>);
  /// An exemplar's labels as unescaped pairs, its value and its timestamp.
  type Exemplar = (Vec<(String, String)>, f64, f64);

  /// Each sample line's exemplar, (name, labels) as `samples` keys them, and the text
  /// without exemplars.
  fn exemplars(text: &str) -> (BTreeMap<SampleKey, Exemplar>, String) {
    let mut found = BTreeMap::new();
    let mut stripped = String::new();
    for line in text.lines() {
      match line.split_once(" # {").filter(|_| !line.starts_with('#')) {
        Some((sample, exemplar)) => {
          let (labels, numbers) = exemplar.rsplit_once("} ").unwrap();
          let numbers: Vec<f64> = numbers.split(' ').map(|n| n.parse().unwrap()).collect();
          let series = samples(sample).into_keys().next().unwrap();
          found.insert(series, (parse_labels(labels), numbers[0], numbers[1]));
          stripped.push_str(sample);
        }
        None => stripped.push_str(line),
      }
      stripped.push('\n');
    }
    (found, stripped)
  }

  /// Exemplars as prometheus-client writes them: after the counter's `_total` sample and
  /// after the bucket each observation fell in, the last one kept; none in 0.0.4.
  #[test]
  fn exemplars_match_prometheus_client() {
    use prometheus_client::metrics::exemplar::{CounterWithExemplar, HistogramWithExemplars};
    type Labels = Vec<(String, String)>;
    let ours = Registry::new();
    let stripe = ours.striped.attach().unwrap();
    let mut theirs = prometheus_client::registry::Registry::default();
    let trace = |id: &str| {
      vec![
        ("trace_id".to_string(), id.to_string()),
        ("note".to_string(), "q\"\\\n".to_string()),
      ]
    };

    let jobs = ours
      .define(def("jobs", "Jobs", Kind::Counter, &["queue"], &[]))
      .unwrap();
    // prometheus-client's counters with exemplars count in integers.
    let their_jobs = Family::<Labels, CounterWithExemplar<Labels>>::default();
    theirs.register("jobs", "Jobs", their_jobs.clone());
    for (queue, amount, id) in [("a", 2, "t1"), ("a", 5, "t2"), ("b", 1, "t3")] {
      let slot = ours.series(jobs, &[queue]).unwrap().slot();
      add(&ours, stripe, slot, amount as f64);
      ours.set_exemplar(jobs, slot, trace(id), amount as f64).unwrap();
      let now = Some(std::time::SystemTime::now());
      their_jobs
        .get_or_create(&vec![("queue".to_string(), queue.to_string())])
        .inc_by(amount, Some(trace(id)), now);
    }

    const BOUNDS: [f64; 3] = [0.1, 1.0, 10.0];
    let latency = ours
      .define(def("latency", "L", Kind::Histogram, &[], &BOUNDS))
      .unwrap();
    let their_latency = HistogramWithExemplars::<Labels>::new(BOUNDS.into_iter());
    theirs.register("latency", "L", their_latency.clone());
    let slot = ours.series(latency, NO_LABELS).unwrap().slot();
    for (i, v) in [0.05, 0.5, 0.7, 50.0, -1.0].into_iter().enumerate() {
      add(
        &ours,
        stripe,
        slot + crate::exemplar::bucket_index(&BOUNDS, v) as u32,
        1.0,
      );
      add(&ours, stripe, slot + BOUNDS.len() as u32 + 1, v);
      let id = format!("h{i}");
      ours.set_exemplar(latency, slot, trace(&id), v).unwrap();
      their_latency.observe(v, Some(trace(&id)), Some(std::time::SystemTime::now()));
    }

    let mut their_text = String::new();
    prometheus_client::encoding::text::encode(&mut their_text, &theirs).unwrap();
    let our_text = without_created(&text(&ours, Format::OPENMETRICS_TEXT));
    let ((our_exemplars, our_samples), (their_exemplars, their_samples)) =
      (exemplars(&our_text), exemplars(&their_text));
    assert_eq!(
      samples(&our_samples),
      samples(&their_samples),
      "ours:\n{our_text}\ntheirs:\n{their_text}"
    );
    assert_eq!(
      our_exemplars.len(),
      5,
      "two counters and three buckets:\n{our_text}"
    );
    assert_eq!(
      our_exemplars.keys().collect::<Vec<_>>(),
      their_exemplars.keys().collect::<Vec<_>>()
    );
    for (series, (labels, value, timestamp)) in &our_exemplars {
      let (their_labels, their_value, their_timestamp) = &their_exemplars[series];
      assert_eq!((labels, value), (their_labels, their_value), "{series:?}");
      assert!(
        (timestamp - their_timestamp).abs() < 5.0,
        "{series:?}: {timestamp} vs {their_timestamp}"
      );
    }
    let series = |name: &str, labels: &[(&str, &str)]| -> SampleKey {
      (
        name.to_string(),
        labels
          .iter()
          .map(|(k, v)| (k.to_string(), v.to_string()))
          .collect(),
      )
    };
    assert_eq!(
      our_exemplars[&series("jobs_total", &[("queue", "a")])].0,
      trace("t2"),
      "the last exemplar is kept"
    );
    assert!(
      !text(&ours, Format::PROMETHEUS_TEXT).contains(" # "),
      "0.0.4 has no exemplars"
    );

    // Restarting a series forgets its exemplars; gauges take none.
    ours.remove_series(jobs, &["a"]).unwrap();
    ours.reset(latency).unwrap();
    let after = exemplars(&text(&ours, Format::OPENMETRICS_TEXT)).0;
    assert_eq!(
      after.into_keys().collect::<Vec<_>>(),
      [series("jobs_total", &[("queue", "b")])]
    );
    let depth = ours.define(def("depth", "", Kind::IntGauge, &[], &[])).unwrap();
    let e = ours.set_exemplar(depth, 0, trace("x"), 1.0).unwrap_err();
    assert_eq!(
      e,
      RegistryError::Invalid(
        "metric \"depth\" is an integer gauge; exemplars go on counters and histograms".into()
      )
    );
    let e = ours
      .set_exemplar(jobs, slot, vec![("bad-name".into(), "x".into())], 1.0)
      .unwrap_err();
    assert!(
      e.to_string()
        .starts_with("metric \"jobs\": invalid exemplar label name \"bad-name\""),
      "{e}"
    );
  }

  proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    /// Any label values (arbitrary unicode) and numbers: the OpenMetrics samples are
    /// prometheus-client's, and the text 0.0.4 body gives back the same samples.
    #[test]
    fn any_label_values_and_numbers_expose_what_prometheus_client_exposes(
      values in proptest::collection::vec(proptest::prelude::any::<String>(), 1..6),
      amounts in proptest::collection::vec(0.0f64..1e12, 6),
      level in proptest::prelude::any::<f64>(),
      observations in proptest::collection::vec(-1e6f64..1e6, 0..20),
    ) {
      let ours = Registry::new();
      let stripe = ours.striped.attach().unwrap();
      let mut theirs = prometheus_client::registry::Registry::default();

      let jobs = ours.define(def("jobs", "", Kind::Counter, &["queue"], &[])).unwrap();
      let their_jobs = Family::<Vec<(String, String)>, Counter<f64, AtomicU64>>::default();
      theirs.register("jobs", "", their_jobs.clone());
      let level_gauge = ours.define(def("level", "", Kind::FloatGauge, &["queue"], &[])).unwrap();
      let their_level = Family::<Vec<(String, String)>, Gauge<f64, AtomicU64>>::default();
      theirs.register("level", "", their_level.clone());
      for (v, amount) in values.iter().zip(&amounts) {
        let labels = vec![("queue".to_string(), v.clone())];
        add(&ours, stripe, ours.series(jobs, &[v]).unwrap().slot(), *amount);
        their_jobs.get_or_create(&labels).inc_by(*amount);
        set_shared(&ours, ours.series(level_gauge, &[v]).unwrap().slot(), level.to_bits());
        their_level.get_or_create(&labels).set(level);
      }

      const BOUNDS: [f64; 3] = [0.5, 10.0, 1e4];
      let sizes = ours.define(def("sizes", "", Kind::Histogram, &["queue"], &BOUNDS)).unwrap();
      let their_sizes = Family::<Vec<(String, String)>, Histogram>::new_with_constructor(|| Histogram::new(BOUNDS));
      theirs.register("sizes", "", their_sizes.clone());
      let slot = ours.series(sizes, &[&values[0]]).unwrap().slot();
      let their_series = their_sizes.get_or_create(&vec![("queue".to_string(), values[0].clone())]);
      for v in &observations {
        let bucket = BOUNDS.iter().position(|b| v <= b).unwrap_or(BOUNDS.len());
        add(&ours, stripe, slot + bucket as u32, 1.0);
        add(&ours, stripe, slot + BOUNDS.len() as u32 + 1, *v);
        their_series.observe(*v);
      }

      let mut their_text = String::new();
      prometheus_client::encoding::text::encode(&mut their_text, &theirs).unwrap();
      let openmetrics = samples(&without_created(&text(&ours, Format::OPENMETRICS_TEXT)));
      proptest::prop_assert_eq!(&openmetrics, &samples(&their_text));
      proptest::prop_assert_eq!(&samples(&text(&ours, Format::PROMETHEUS_TEXT)), &openmetrics);
    }
  }

  #[test]
  fn overflowing_label_sets_are_counted_in_the_callers_stripe_and_again_after_a_clear() {
    let r = Registry::new();
    let stripe = r.striped.attach().unwrap();
    let capped = |r: &Registry| {
      let id = r
        .define(Definition {
          max_series: 1,
          ..def("capped_total", "Capped", Kind::Counter, &["user"], &[])
        })
        .unwrap();
      r.series(id, &["a"]).unwrap();
      id
    };
    let id = capped(&r);
    for user in ["b", "c", "d"] {
      assert!(matches!(
        r.series(id, &[user]).unwrap(),
        Registered::Overflow { .. }
      ));
      r.count_overflow(id, stripe).unwrap();
    }
    let counted = |r: &Registry| {
      let text = text(r, Format::PROMETHEUS_TEXT);
      let key = (
        "slotmetrics_series_overflow_total".to_string(),
        BTreeMap::from([("metric".to_string(), "capped_total".to_string())]),
      );
      samples(&text).get(&key).cloned()
    };
    assert_eq!(counted(&r).as_deref(), Some("3"));

    // A clear() drops the counter with the rest; the next overflow defines it again.
    r.clear(DEFAULT_NAMESPACE).unwrap();
    let id = capped(&r);
    assert_eq!(counted(&r), None);
    r.series(id, &["b"]).unwrap();
    r.count_overflow(id, stripe).unwrap();
    assert_eq!(counted(&r).as_deref(), Some("1"));
  }

  #[test]
  fn ring_entries_reach_the_quantiles_and_exemplars_of_the_next_read() {
    use crate::rings::{RingKind, ENTRIES_AT, EXEMPLARS, EXEMPLAR_LABELS_AT, OBSERVATIONS, WRITE_AT};
    use std::sync::atomic::{AtomicU32, Ordering};
    // The draining thread the first ring starts needs a registry that lives forever.
    let r: &'static Registry = Box::leak(Box::new(Registry::new()));
    let stripe = r.striped.attach().unwrap();
    let summary = r
      .define(Definition {
        summary: crate::summary::SummaryOptions {
          quantiles: vec![0.5],
          ..Default::default()
        },
        ..def("ringed", "Latency", Kind::Summary, &[], &[])
      })
      .unwrap();
    let slot = r.series(summary, NO_LABELS).unwrap().slot();
    let counter = r
      .define(def("traced_total", "Traced", Kind::Counter, &[], &[]))
      .unwrap();
    let traced = r.series(counter, NO_LABELS).unwrap().slot();
    let observations = r.attach_ring(RingKind::Observations).unwrap();
    let exemplars = r.attach_ring(RingKind::Exemplars).unwrap();
    // As JS writes: the slots first, then the entry, then the write position.
    let publish = |ring: &crate::rings::EntryRing, n: usize, entry: &[u8]| unsafe {
      let shape = ring.shape();
      let at = ENTRIES_AT + (n % shape.entries) * shape.entry_bytes;
      std::ptr::copy_nonoverlapping(entry.as_ptr(), ring.as_ptr().add(at), entry.len());
      AtomicU32::from_ptr(ring.as_ptr().add(WRITE_AT).cast()).store(n as u32 + 1, Ordering::Release);
    };
    for (n, value) in [5.0f64, 7.0, 9.0].into_iter().enumerate() {
      add(r, stripe, slot, 1.0);
      add(r, stripe, slot + 1, value);
      let mut entry = value.to_le_bytes().to_vec();
      entry.extend(slot.to_le_bytes());
      entry.resize(OBSERVATIONS.entry_bytes, 0);
      publish(&observations, n, &entry);
    }
    add(r, stripe, traced, 4.0);
    let mut entry = vec![0u8; EXEMPLARS.entry_bytes];
    entry[0..8].copy_from_slice(&4.0f64.to_le_bytes());
    entry[8..12].copy_from_slice(&counter.to_le_bytes());
    entry[12..16].copy_from_slice(&traced.to_le_bytes());
    entry[17] = 2;
    let mut at = EXEMPLAR_LABELS_AT;
    for text in ["trace_id", "abc"] {
      entry[at] = text.len() as u8;
      entry[at + 1..at + 1 + text.len()].copy_from_slice(text.as_bytes());
      at += 1 + text.len();
    }
    let before = crate::exemplar::now();
    publish(&exemplars, 0, &entry);
    let text = text(r, Format::OPENMETRICS_TEXT);
    let after = crate::exemplar::now();
    assert!(text.contains("ringed{quantile=\"0.5\"} 7\n"), "{text}");
    assert!(text.contains("ringed_count 3\n"), "{text}");
    // Stamped when the engine took it in: between its publication and the read.
    let exemplar = text
      .lines()
      .find_map(|line| line.strip_prefix("traced_total 4 # {trace_id=\"abc\"} 4 "))
      .unwrap_or_else(|| panic!("{text}"));
    let stamped: f64 = exemplar.parse().unwrap();
    assert!(
      before <= stamped && stamped <= after,
      "{before} {stamped} {after}"
    );
    r.detach_ring(RingKind::Observations, &observations);
    r.detach_ring(RingKind::Exemplars, &exemplars);
  }

  #[test]
  fn open_keys_with_utf8_names_are_escaped_for_a_legacy_scraper() {
    let r = Registry::new();
    let id = r
      .define(Definition {
        open_keys: true,
        utf8_names: true,
        ..Definition::new("http.server.requests_total", Kind::Counter)
      })
      .unwrap();
    r.series(id, &["http.request.method", "GET"]).unwrap();
    let text = String::from_utf8(render(&r, Format::PROMETHEUS_TEXT)).unwrap();
    assert!(
      text.contains(r#"http_server_requests_total{http_request_method="GET"} 0"#),
      "{text}"
    );
    let utf8 = Format::negotiate("text/plain;version=1.0.0;escaping=allow-utf-8");
    let utf8 = String::from_utf8(render(&r, utf8)).unwrap();
    assert!(
      utf8.contains(r#"{"http.server.requests_total","http.request.method"="GET"} 0"#),
      "{utf8}"
    );
  }
}
