//! prometheus-client, the Prometheus project's Rust client, as an oracle of the text:
//! the same metrics recorded in both expose the same samples and exemplars.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use super::super::testing::{add, def, samples, set_shared, text, without_created};
use crate::format::Format;
use crate::kind::Kind;
use crate::registry::{Registry, RegistryError, NO_LABELS};
use crate::text::parse_labels;

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
