use std::collections::BTreeMap;

use prometheus_client::encoding::prometheus_protobuf::prometheus_data_model as official;
use prost::Message;

use super::super::encode;
use super::super::testing::{add, def, render, samples, set_shared, text};
use crate::collect::Snapshot;
use crate::format::Format;
use crate::kind::{Kind, Style};
use crate::names::Escaping;
use crate::native;
use crate::registry::{Definition, Registry, DEFAULT_NAMESPACE, NO_LABELS};
use crate::summary::SummaryOptions;
use crate::text::format_number;

/// Length-delimited messages, decoded with the types generated from `metrics.proto`.
fn decode(mut bytes: &[u8]) -> Vec<official::MetricFamily> {
  let mut families = Vec::new();
  while !bytes.is_empty() {
    families.push(official::MetricFamily::decode_length_delimited(&mut bytes).unwrap());
  }
  families
}

type Samples = BTreeMap<(String, BTreeMap<String, String>), String>;

/// The samples the 0.0.4 text of these families would have, as `samples` reads text.
fn as_text_samples(families: &[official::MetricFamily]) -> Samples {
  let mut out = Samples::new();
  for family in families {
    let name = &family.name;
    for metric in &family.metric {
      let labels: BTreeMap<String, String> = metric
        .label
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect();
      let with = |key: &str, value: f64| {
        let mut labels = labels.clone();
        labels.insert(key.to_string(), format_number(value));
        labels
      };
      let mut put = |name: String, labels, value: f64| out.insert((name, labels), format_number(value));
      match family.r#type {
        0 => put(
          name.clone(),
          labels.clone(),
          metric.counter.as_ref().unwrap().value,
        ),
        1 => put(name.clone(), labels.clone(), metric.gauge.as_ref().unwrap().value),
        2 => {
          let summary = metric.summary.as_ref().unwrap();
          for q in &summary.quantile {
            put(name.clone(), with("quantile", q.quantile), q.value);
          }
          put(format!("{name}_sum"), labels.clone(), summary.sample_sum);
          put(
            format!("{name}_count"),
            labels.clone(),
            summary.sample_count as f64,
          )
        }
        4 => {
          let histogram = metric.histogram.as_ref().unwrap();
          for bucket in &histogram.bucket {
            put(
              format!("{name}_bucket"),
              with("le", bucket.upper_bound),
              bucket.cumulative_count as f64,
            );
          }
          put(format!("{name}_sum"), labels.clone(), histogram.sample_sum);
          put(
            format!("{name}_count"),
            labels.clone(),
            histogram.sample_count as f64,
          )
        }
        other => panic!("type {other}"),
      };
    }
  }
  out
}

/// Every kind, in both styles, with default labels, escaped label values, a removed
/// series and exemplars: decoded with the official definitions, the protobuf holds
/// exactly the samples of the 0.0.4 text, and the exemplars set.
#[test]
fn protobuf_holds_the_samples_of_the_text() {
  let r = Registry::new();
  let stripe = r.striped.attach().unwrap();
  let jobs = r
    .define(def(
      "jobs_total",
      "Jobs \"done\"\n",
      Kind::Counter,
      &["queue"],
      &[],
    ))
    .unwrap();
  let depth = r
    .define(def("depth", "", Kind::IntGauge, &["queue"], &[]))
    .unwrap();
  let temp = r.define(def("temp", "", Kind::FloatGauge, &[], &[])).unwrap();
  let lat = r
    .define(def(
      "lat",
      "Latency",
      Kind::Histogram,
      &["route"],
      &[-1.0, 0.1, 1.0],
    ))
    .unwrap();
  let summary = r
    .define(Definition {
      summary: SummaryOptions {
        quantiles: vec![0.5, 0.9],
        ..Default::default()
      },
      ..def("rpc", "", Kind::Summary, &[], &[])
    })
    .unwrap();
  let pc_jobs = r
    .define(Definition {
      style: Style::PromClient,
      ..def("pc_jobs", "", Kind::Counter, &["queue"], &[])
    })
    .unwrap();
  r.define(def("unused_total", "", Kind::Counter, &["k"], &[]))
    .unwrap();

  let a = r.series(jobs, &["a \"quoted\" \\ \n ü"]).unwrap().slot();
  add(&r, stripe, a, 5.0);
  r.set_exemplar(jobs, a, vec![("trace_id".into(), "abc".into())], 1.0)
    .unwrap();
  let gone = r.series(jobs, &["gone"]).unwrap().slot();
  add(&r, stripe, gone, 1.0);
  r.remove_series(jobs, &["gone"]).unwrap();
  set_shared(&r, r.series(depth, &["a"]).unwrap().slot(), (-9i64) as u64);
  set_shared(&r, r.series(temp, NO_LABELS).unwrap().slot(), (-1.5f64).to_bits());
  let h = r.series(lat, &["/x"]).unwrap().slot();
  for (bucket, value) in [(1, 0.05), (2, 0.5), (3, 2.0)] {
    add(&r, stripe, h + bucket, 1.0);
    add(&r, stripe, h + 4, value);
  }
  r.set_exemplar(lat, h, vec![("trace_id".into(), "def".into())], 0.5)
    .unwrap();
  let s = r.series(summary, NO_LABELS).unwrap().slot();
  for v in [1.0, 2.0, 3.0, 4.0] {
    add(&r, stripe, s, 1.0);
    add(&r, stripe, s + 1, v);
    r.observe_summary(s, v).unwrap();
  }
  add(&r, stripe, r.series(pc_jobs, &["b"]).unwrap().slot(), 2.0);
  r.set_default_labels(DEFAULT_NAMESPACE, vec![("app".into(), "x".into())])
    .unwrap();

  let families = decode(&render(&r, Format::PROTOBUF));
  let text = text(&r, Format::PROMETHEUS_TEXT);
  assert_eq!(as_text_samples(&families), samples(&text), "{text}");

  let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
  assert_eq!(
    names,
    ["jobs_total", "depth", "temp", "lat", "rpc", "pc_jobs"],
    "a family with no series is left out"
  );
  assert_eq!(families[0].help, "Jobs \"done\"\n", "help as given, unescaped");
  assert_eq!(families[0].metric.len(), 1, "the removed series is hidden");
  let counter = families[0].metric[0].counter.as_ref().unwrap();
  let exemplar = counter.exemplar.as_ref().unwrap();
  assert_eq!(
    (
      exemplar.label[0].name.as_str(),
      exemplar.label[0].value.as_str(),
      exemplar.value
    ),
    ("trace_id", "abc", 1.0)
  );
  assert!(
    exemplar.timestamp.unwrap().seconds > 1_700_000_000,
    "{exemplar:?}"
  );
  let buckets = &families[3].metric[0].histogram.as_ref().unwrap().bucket;
  assert_eq!(buckets.len(), 4, "every bucket, +Inf too");
  assert_eq!(
    buckets[2].exemplar.as_ref().unwrap().label[0].value,
    "def",
    "the exemplar is on the bucket of 0.5"
  );
  assert!(buckets
    .iter()
    .enumerate()
    .all(|(i, b)| (i == 2) == b.exemplar.is_some()));
}

/// Label pairs kept from one scrape to the next follow the series registered, removed
/// and scraped since, and an older snapshot still gets exactly its own series.
#[test]
fn kept_label_pairs_follow_the_series() {
  let r = Registry::new();
  let stripe = r.striped.attach().unwrap();
  let jobs = r
    .define(def("jobs_total", "", Kind::Counter, &["queue", "code"], &[]))
    .unwrap();
  let register = |labels: &[&str]| add(&r, stripe, r.series(jobs, labels).unwrap().slot(), 1.0);
  let scrape_matches_text = |snapshot: &Snapshot| {
    let (mut protobuf, mut text) = (Vec::new(), Vec::new());
    encode(snapshot, Format::PROTOBUF, &mut protobuf).unwrap();
    encode(snapshot, Format::PROMETHEUS_TEXT, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert_eq!(as_text_samples(&decode(&protobuf)), samples(&text), "{text}");
    decode(&protobuf).first().map_or(0, |family| family.metric.len())
  };
  let snapshot = || Snapshot::take(&r, &r.namespace(DEFAULT_NAMESPACE).unwrap()).unwrap();

  register(&["a \"quoted\" \\ \n ü", "200"]);
  register(&["b", ""]);
  assert_eq!(scrape_matches_text(&snapshot()), 2);
  let before = snapshot();
  register(&["c", "500"]);
  r.remove_series(jobs, &["b", ""]).unwrap();
  register(&["d", "404"]);
  assert_eq!(scrape_matches_text(&snapshot()), 3, "b is hidden, c and d added");
  assert_eq!(scrape_matches_text(&before), 2, "taken before c and d were kept");
}

/// A sink that waits, at its first write, until told to go on: a client that does not read.
struct StalledClient {
  stalled: std::sync::mpsc::Sender<()>,
  go_on: std::sync::mpsc::Receiver<()>,
  writes: usize,
}

impl std::io::Write for StalledClient {
  fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
    if self.writes == 0 {
      self.stalled.send(()).unwrap();
      self.go_on.recv().unwrap();
    }
    self.writes += 1;
    Ok(bytes.len())
  }

  fn flush(&mut self) -> std::io::Result<()> {
    Ok(())
  }
}

/// A scrape whose client stalls while a large metric is sent holds nothing that another
/// scrape of that metric, with series new since, waits for.
#[test]
fn a_stalled_scrape_holds_up_no_other() {
  let r = Registry::new();
  let stripe = r.striped.attach().unwrap();
  let jobs = r
    .define(Definition {
      max_series: usize::MAX,
      ..def("jobs_total", "", Kind::Counter, &["queue"], &[])
    })
    .unwrap();
  // More than a piece of protobuf, so that it is handed on from the metric's own buffer.
  for i in 0..2_000 {
    add(
      &r,
      stripe,
      r.series(jobs, &[format!("queue-{i:05}")]).unwrap().slot(),
      1.0,
    );
  }
  let snapshot = || Snapshot::take(&r, &r.namespace(DEFAULT_NAMESPACE).unwrap()).unwrap();
  let first = snapshot();
  let (stalled, at_stall) = std::sync::mpsc::channel();
  let (go_on, release) = std::sync::mpsc::channel();
  std::thread::scope(|scope| {
    let slow = scope.spawn(move || {
      let mut client = StalledClient {
        stalled,
        go_on: release,
        writes: 0,
      };
      encode(&first, Format::PROTOBUF, &mut client).unwrap();
    });
    at_stall.recv().unwrap();
    add(&r, stripe, r.series(jobs, &["new"]).unwrap().slot(), 1.0);
    let second = snapshot();
    let (done, finished) = std::sync::mpsc::channel();
    scope.spawn(move || {
      let mut body = Vec::new();
      encode(&second, Format::PROTOBUF, &mut body).unwrap();
      done.send(decode(&body)[0].metric.len()).unwrap();
    });
    let answer = finished.recv_timeout(std::time::Duration::from_secs(20));
    go_on.send(()).unwrap();
    slow.join().unwrap();
    assert_eq!(
      answer,
      Ok(2_001),
      "the second scrape finished while the first was stalled"
    );
  });
}

/// UTF-8 names go as they are to a scraper that allows them, escaped otherwise.
#[test]
fn utf8_names_as_negotiated() {
  let r = Registry::new();
  let stripe = r.striped.attach().unwrap();
  let jobs = r
    .define(Definition {
      utf8_names: true,
      ..def("my.jobs_total", "", Kind::Counter, &["my.queue"], &[])
    })
    .unwrap();
  add(&r, stripe, r.series(jobs, &["a"]).unwrap().slot(), 1.0);
  let names = |escaping| {
    let family = decode(&render(
      &r,
      Format {
        escaping,
        ..Format::PROTOBUF
      },
    ))
    .remove(0);
    (family.name, family.metric[0].label[0].name.clone())
  };
  assert_eq!(
    names(Escaping::AllowUtf8),
    ("my.jobs_total".into(), "my.queue".into())
  );
  assert_eq!(
    names(Escaping::Underscores),
    ("my_jobs_total".into(), "my_queue".into())
  );
  assert_eq!(
    names(Escaping::AllowUtf8),
    ("my.jobs_total".into(), "my.queue".into()),
    "as they are again, after a scrape that escaped them"
  );
}

/// The dots scheme escapes family and label names whole, as the text does.
#[test]
fn escaping_applies_to_family_and_label_names() {
  let r = Registry::new();
  let stripe = r.striped.attach().unwrap();
  let jobs = r
    .define(def("jobs_total", "", Kind::Counter, &["queue_name"], &[]))
    .unwrap();
  add(&r, stripe, r.series(jobs, &["a"]).unwrap().slot(), 1.0);
  let dots = Format {
    escaping: Escaping::Dots,
    ..Format::PROTOBUF
  };
  let families = decode(&render(&r, dots));
  assert_eq!(families[0].name, "jobs__total");
  assert_eq!(families[0].metric[0].label[0].name, "queue__name");
  let text = text(
    &r,
    Format {
      escaping: Escaping::Dots,
      ..Format::PROMETHEUS_TEXT
    },
  );
  assert_eq!(
    text,
    "# TYPE jobs__total counter\njobs__total{queue__name=\"a\"} 1\n"
  );
}

/// A series' created timestamp is its registration, or its last restart; the
/// OpenMetrics `_created` sample and the protobuf field give the same time.
#[test]
fn created_timestamps_are_registration_or_restart_times_in_both_encodings() {
  let r = Registry::new();
  let stripe = r.striped.attach().unwrap();
  let jobs = r
    .define(def("jobs_total", "", Kind::Counter, &["queue"], &[]))
    .unwrap();
  let lat = r.define(def("lat", "", Kind::Histogram, &[], &[1.0])).unwrap();
  let rpc = r
    .define(Definition {
      summary: SummaryOptions {
        quantiles: vec![0.5],
        ..Default::default()
      },
      ..def("rpc", "", Kind::Summary, &[], &[])
    })
    .unwrap();
  let a = r.series(jobs, &["a"]).unwrap().slot();
  r.series(jobs, &["b"]).unwrap();
  r.series(lat, NO_LABELS).unwrap();
  r.series(rpc, NO_LABELS).unwrap();
  let between = std::time::SystemTime::now()
    .duration_since(std::time::UNIX_EPOCH)
    .unwrap()
    .as_secs_f64();
  r.remove_series(jobs, &["a"]).unwrap();
  add(&r, stripe, a, 1.0);
  r.reset(lat).unwrap();

  let families = decode(&render(&r, Format::PROTOBUF));
  let created = |family: usize, metric: usize| {
    let m = &families[family].metric[metric];
    let t = m
      .counter
      .as_ref()
      .and_then(|c| c.start_timestamp)
      .or_else(|| m.histogram.as_ref().and_then(|h| h.start_timestamp))
      .or_else(|| m.summary.as_ref().and_then(|s| s.start_timestamp))
      .unwrap();
    t.seconds as f64 + t.nanos as f64 / 1e9
  };
  assert!(created(0, 0) >= between, "a: restarted by remove(), then used");
  assert!(created(0, 1) <= between, "b: registered before");
  assert!(created(1, 0) >= between, "lat: reset");
  assert!(created(2, 0) <= between, "rpc: registered before");

  let text = text(&r, Format::OPENMETRICS_TEXT);
  let in_text: Vec<f64> = text
    .lines()
    .filter(|line| line.contains("_created"))
    .map(|line| line.rsplit_once(' ').unwrap().1.parse().unwrap())
    .collect();
  let in_protobuf = [created(0, 0), created(0, 1), created(1, 0), created(2, 0)];
  assert_eq!(in_text.len(), in_protobuf.len(), "{text}");
  for (t, p) in in_text.iter().zip(in_protobuf) {
    assert!((t - p).abs() < 1e-6, "{t} vs {p}");
  }
}

/// Observes as JS does: the bucket from the value's bits, counted in the window the
/// registry gives (asked for only when the last one does not cover it).
fn observe_native(
  r: &Registry,
  stripe: crate::slots::StripeId,
  id: u32,
  slot: u32,
  value: f64,
  windows: &mut Vec<native::Window>,
) {
  let family = r.family(id).unwrap();
  let options = family.def.native.unwrap();
  let classic = family.def.buckets.len();
  let bucket = family
    .def
    .buckets
    .iter()
    .position(|b| value <= *b)
    .unwrap_or(classic);
  add(r, stripe, slot + bucket as u32, 1.0);
  add(r, stripe, slot + classic as u32 + 1, value);
  if value.abs() <= options.zero_threshold {
    add(r, stripe, slot + classic as u32 + 2, 1.0);
    return;
  }
  let sign = usize::from(value < 0.0);
  let index_in =
    |w: &native::Window| native::bucket_index(value.abs(), w.schema, native::bounds_of(w.schema));
  if windows.len() <= sign {
    windows.resize(
      2,
      native::Window {
        schema: 0,
        first: 0,
        slot: 0,
        width: 0,
      },
    );
  }
  if !windows[sign].covers(index_in(&windows[sign])) {
    windows[sign] = r.native_window(id, slot, value).unwrap();
  }
  let w = windows[sign];
  add(r, stripe, w.slot + (index_in(&w) - w.first) as u32, 1.0);
}

/// (index, count) of one sign's buckets, from spans and deltas.
fn buckets_of(spans: &[official::BucketSpan], deltas: &[i64]) -> Vec<(i32, u64)> {
  let mut out = Vec::new();
  let (mut index, mut count, mut deltas) = (0, 0i64, deltas.iter());
  for span in spans {
    index += span.offset;
    for _ in 0..span.length {
      count += deltas.next().unwrap();
      if count != 0 {
        out.push((index, count as u64));
      }
      index += 1;
    }
  }
  out
}

fn expected_buckets(values: &[f64], schema: i32) -> Vec<(i32, u64)> {
  let mut counts = BTreeMap::new();
  for v in values {
    *counts
      .entry(native::bucket_index(v.abs(), schema, native::bounds_of(schema)))
      .or_insert(0) += 1;
  }
  counts.into_iter().collect()
}

fn native_def(name: &str, buckets: &[f64], max_buckets: u32) -> Definition {
  Definition {
    native: Some(native::NativeOptions {
      schema: 3,
      zero_threshold: 2f64.powi(-128),
      max_buckets,
    }),
    ..def(name, "", Kind::Histogram, &[], buckets)
  }
}

/// Observations across a wide range, both signs and zero: decoded with the official
/// definitions, the buckets are those of every value at the exposed schema, which is
/// lowered when the range outgrows the window; a reset starts them again.
#[test]
fn native_buckets_are_every_observation_at_the_lowest_schema_needed() {
  let r = Registry::new();
  let stripe = r.striped.attach().unwrap();
  let id = r.define(native_def("lat", &[], 160)).unwrap();
  let slot = r.series(id, NO_LABELS).unwrap().slot();
  let mut windows = Vec::new();
  let narrow = [0.003, 0.02, 0.02, 0.5, 1.0, 7.0];
  for v in narrow {
    observe_native(&r, stripe, id, slot, v, &mut windows);
  }
  let histogram = |r: &Registry| {
    decode(&render(r, Format::PROTOBUF))
      .remove(0)
      .metric
      .remove(0)
      .histogram
      .unwrap()
  };
  let h = histogram(&r);
  assert_eq!((h.schema, h.sample_count, h.zero_count), (3, 6, 0));
  assert!(h.bucket.is_empty(), "no classic buckets: {h:?}");
  assert_eq!(
    buckets_of(&h.positive_span, &h.positive_delta),
    expected_buckets(&narrow, 3)
  );
  assert_eq!(h.zero_threshold, 2f64.powi(-128));

  // 1e-3 to 1e6 is 30 powers of two, 240 buckets at schema 3: schema 2 fits them in 160.
  let wide = [1e6, -2.5, -1e-9, 0.0, 1e-200];
  for v in wide {
    observe_native(&r, stripe, id, slot, v, &mut windows);
  }
  let h = histogram(&r);
  assert_eq!((h.schema, h.sample_count, h.zero_count), (2, 11, 2));
  let positive: Vec<f64> = narrow.iter().chain(&[1e6]).copied().collect();
  assert_eq!(
    buckets_of(&h.positive_span, &h.positive_delta),
    expected_buckets(&positive, 2)
  );
  assert_eq!(
    buckets_of(&h.negative_span, &h.negative_delta),
    expected_buckets(&[-2.5, -1e-9], 2)
  );
  assert!((h.sample_sum - (narrow.iter().sum::<f64>() + 1e6 - 2.5 - 1e-9 + 1e-200)).abs() < 1e-6);

  // A reset: windows stay, their counts start again.
  r.reset(id).unwrap();
  observe_native(&r, stripe, id, slot, 0.02, &mut windows);
  let h = histogram(&r);
  assert_eq!((h.sample_count, h.zero_count), (1, 0));
  assert_eq!(
    buckets_of(&h.positive_span, &h.positive_delta),
    expected_buckets(&[0.02], 2)
  );
  assert!(h.negative_span.is_empty());
}

/// Classic buckets beside native ones are exposed both ways; an empty native
/// histogram has the no-op span; the text has the classic buckets only.
#[test]
fn classic_buckets_beside_native_ones() {
  let r = Registry::new();
  let stripe = r.striped.attach().unwrap();
  let both = r.define(native_def("both", &[0.1, 1.0], 160)).unwrap();
  let empty = r.define(native_def("empty", &[], 160)).unwrap();
  let slot = r.series(both, NO_LABELS).unwrap().slot();
  r.series(empty, NO_LABELS).unwrap();
  let mut windows = Vec::new();
  for v in [0.05, 0.5, 5.0] {
    observe_native(&r, stripe, both, slot, v, &mut windows);
  }
  let families = decode(&render(&r, Format::PROTOBUF));
  let h = families[0].metric[0].histogram.as_ref().unwrap();
  let classic: Vec<(f64, u64)> = h
    .bucket
    .iter()
    .map(|b| (b.upper_bound, b.cumulative_count))
    .collect();
  assert_eq!(classic, [(0.1, 1), (1.0, 2), (f64::INFINITY, 3)]);
  assert_eq!(
    buckets_of(&h.positive_span, &h.positive_delta),
    expected_buckets(&[0.05, 0.5, 5.0], 3)
  );
  let e = families[1].metric[0].histogram.as_ref().unwrap();
  assert_eq!(
    (e.sample_count, e.positive_span.len(), e.positive_span[0].length),
    (0, 1, 0)
  );
  let text = text(&r, Format::PROMETHEUS_TEXT);
  assert!(
    text.contains("both_bucket{le=\"1\"} 2\nboth_bucket{le=\"+Inf\"} 3\nboth_sum 5.55\nboth_count 3\n"),
    "{text}"
  );
  assert!(
    text.contains("empty_bucket{le=\"+Inf\"} 0\nempty_sum 0\nempty_count 0\n"),
    "{text}"
  );
}
