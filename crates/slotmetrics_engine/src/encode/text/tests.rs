use std::collections::BTreeMap;

use super::super::testing::{
  add, created_masked, def, render_in, samples, set_shared, text, without_created,
};
use super::*;
use crate::registry::{Definition, Registered, Registry, DEFAULT_NAMESPACE, NO_LABELS};

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
  use crate::rings::{RingKind, EXEMPLARS, EXEMPLAR_LABELS_AT, OBSERVATIONS};
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
  // As JS writes: the slots first, then the entry, published.
  for value in [5.0f64, 7.0, 9.0] {
    add(r, stripe, slot, 1.0);
    add(r, stripe, slot + 1, value);
    let mut entry = value.to_le_bytes().to_vec();
    entry.extend(slot.to_le_bytes());
    entry.resize(OBSERVATIONS.entry_bytes, 0);
    observations.append(&entry);
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
  exemplars.append(&entry);
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
  let legacy = text(&r, Format::PROMETHEUS_TEXT);
  assert!(
    legacy.contains(r#"http_server_requests_total{http_request_method="GET"} 0"#),
    "{legacy}"
  );
  let utf8 = Format::negotiate("text/plain;version=1.0.0;escaping=allow-utf-8");
  let utf8 = text(&r, utf8);
  assert!(
    utf8.contains(r#"{"http.server.requests_total","http.request.method"="GET"} 0"#),
    "{utf8}"
  );
}
