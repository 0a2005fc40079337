use super::*;
use crate::kind::Kind;
use crate::summary::SummaryOptions;

fn def(name: &str, kind: Kind, keys: &[&str]) -> Definition {
  Definition {
    dynamic_keys: keys.iter().map(|k| k.to_string()).collect(),
    ..Definition::new(name, kind)
  }
}

#[test]
fn same_definition_is_same_metric() {
  let r = Registry::new();
  let a = r
    .define(def("requests_total", Kind::Counter, &["method"]))
    .unwrap();
  let b = r
    .define(def("requests_total", Kind::Counter, &["method"]))
    .unwrap();
  assert_eq!(a, b);
  let s1 = r.series(a, &["GET"]).unwrap().slot();
  let s2 = r.series(b, &["GET"]).unwrap().slot();
  let s3 = r.series(b, &["POST"]).unwrap().slot();
  assert_eq!(s1, s2);
  assert_ne!(s1, s3);
  assert_eq!(r.family(a).unwrap().series().len(), 2);
}

#[test]
fn conflicting_definitions_are_refused() {
  let r = Registry::new();
  r.define(def("jobs", Kind::Counter, &["queue"])).unwrap();
  let e = r.define(def("jobs", Kind::FloatGauge, &["queue"])).unwrap_err();
  assert_eq!(
    e,
    RegistryError::Conflict(
      "metric \"jobs\" is already defined as a counter with labels [queue]; this definition is a float gauge"
        .into()
    )
  );
  let e = r
    .define(def("jobs_total", Kind::Counter, &["queue", "tenant"]))
    .unwrap_err();
  assert!(e.to_string().contains("has dynamic keys [queue, tenant]"), "{e}");
  // A gauge named like the counter's samples clashes in the exposition.
  let e = r.define(def("jobs_total", Kind::FloatGauge, &[])).unwrap_err();
  assert!(e.to_string().contains("samples named \"jobs_total\""), "{e}");
  let e = r.define(def("latency_count", Kind::IntGauge, &[])).map(|_| ());
  assert!(e.is_ok());
  let e = r
    .define(Definition {
      buckets: vec![1.0],
      ..def("latency", Kind::Histogram, &[])
    })
    .unwrap_err();
  assert!(e.to_string().contains("\"latency_count\""), "{e}");
}

#[test]
fn bad_definitions_name_the_problem() {
  let r = Registry::new();
  let msg = |d: Definition| match r.define(d) {
    Err(RegistryError::Invalid(m)) => m,
    other => panic!("expected Invalid, got {other:?}"),
  };
  assert!(msg(def("9lives", Kind::Counter, &[])).contains("invalid metric name \"9lives\""));
  assert!(msg(def("_total", Kind::Counter, &[])).contains("nothing before"));
  assert!(msg(def("a", Kind::Counter, &["bad-key"])).contains("invalid label name \"bad-key\""));
  assert!(msg(def("a", Kind::Counter, &["__x"])).contains("reserved"));
  assert!(msg(def("a", Kind::Histogram, &["le"])).contains("\"le\" is reserved"));
  assert!(msg(def("a", Kind::Counter, &["k", "k"])).contains("appears twice"));
  let h = |b: Vec<f64>| Definition {
    buckets: b,
    ..def("h", Kind::Histogram, &[])
  };
  assert!(msg(h(vec![1.0, 1.0])).contains("increase strictly"));
  assert!(msg(h(vec![f64::NAN])).contains("not finite"));
  assert!(msg(h(vec![1.0, f64::INFINITY])).contains("not finite"));
  let s = |quantiles: Vec<f64>| Definition {
    summary: SummaryOptions {
      quantiles,
      ..Default::default()
    },
    ..def("s", Kind::Summary, &[])
  };
  assert!(msg(s(vec![0.5, 1.5])).contains("quantile 1.5 of summary \"s\" is not between 0 and 1"));
  assert!(msg(s(vec![f64::NAN])).contains("quantile NaN"));
  assert!(msg(s(vec![0.5, 0.9, 0.5])).contains("quantile 0.5 of summary \"s\" appears twice"));
  assert!(msg(def("s", Kind::Summary, &["quantile"])).contains("\"quantile\" is reserved"));
  let quantiles_on_a_counter = Definition {
    summary: s(vec![0.5]).summary,
    ..def("c", Kind::Counter, &[])
  };
  assert!(msg(quantiles_on_a_counter).contains("takes no quantiles"));
}

#[test]
fn series_get_escaped_labels_and_slots() {
  let r = Registry::new();
  let id = r
    .define(Definition {
      static_labels: vec![("service".into(), "a\"b".into())],
      buckets: vec![0.5, 1.0],
      ..def("lat", Kind::Histogram, &["route"])
    })
    .unwrap();
  let first = r.series(id, &["/x\n\\"]).unwrap().slot();
  let second = r.series(id, &["/y"]).unwrap().slot();
  assert_eq!(second - first, 4, "2 buckets + +Inf + sum");
  let f = r.family(id).unwrap();
  assert_eq!(&*f.series()[0].labels, r#"service="a\"b",route="/x\n\\""#);
  assert_eq!(f.bucket_labels, ["0.5", "1", "+Inf"]);
  let e = r.series(id, NO_LABELS).unwrap_err();
  assert!(
    e.to_string()
      .contains("takes 1 dynamic label values (route), got 0"),
    "{e}"
  );
}

#[test]
fn a_full_metric_counts_new_label_sets_in_its_overflow_series() {
  let r = Registry::new();
  let id = r
    .define(Definition {
      max_series: 2,
      ..def("capped_total", Kind::Counter, &["user", "kind"])
    })
    .unwrap();
  let a = r.series(id, &["a", "x"]).unwrap();
  let b = r.series(id, &["b", "x"]).unwrap();
  assert!(matches!((&a, &b), (Registered::Series(_), Registered::Series(_))));
  let c = r.series(id, &["c", "x"]).unwrap();
  let d = r.series(id, &["d", "x"]).unwrap();
  let overflow = c.slot();
  assert_eq!(
    c,
    Registered::Overflow {
      slot: overflow,
      first: true
    }
  );
  assert_eq!(
    d,
    Registered::Overflow {
      slot: overflow,
      first: false
    }
  );
  assert_eq!(
    r.series(id, &["a", "x"]).unwrap(),
    a,
    "known label sets still count"
  );
  let labels: Vec<String> = r
    .family(id)
    .unwrap()
    .series()
    .iter()
    .map(|s| s.labels.to_string())
    .collect();
  assert_eq!(
    labels,
    [
      r#"user="a",kind="x""#,
      r#"user="b",kind="x""#,
      r#"user="__overflow__",kind="__overflow__""#
    ]
  );

  let strict = r
    .define(Definition {
      max_series: 1,
      strict: true,
      ..def("strict_total", Kind::Counter, &["k"])
    })
    .unwrap();
  r.series(strict, &["1"]).unwrap();
  assert_eq!(
    r.series(strict, &["2"]),
    Err(RegistryError::Capacity(
      "metric \"strict_total\" has reached its limit of 1 series; this label set was refused".into()
    ))
  );
  let e = r
    .define(Definition {
      max_series: 5,
      ..def("capped_total", Kind::Counter, &["user", "kind"])
    })
    .unwrap_err();
  assert!(
    e.to_string().contains("has a limit of 5 series instead of 2"),
    "{e}"
  );
}

#[test]
fn overflowing_label_sets_are_counted_again_after_the_namespace_is_cleared() {
  let r = Registry::new();
  let stripe = r.striped.attach().unwrap();
  let overflowed = |r: &Registry| {
    let counter = *r
      .namespace(DEFAULT_NAMESPACE)
      .unwrap()
      .by_name
      .get(OVERFLOW_COUNTER_BASE)
      .unwrap();
    let family = r.family(counter).unwrap();
    let series = family.series();
    series
      .iter()
      .map(|s| (s.labels.to_string(), r.striped.totals_of(s.slot, 1).unwrap()[0]))
      .collect::<Vec<_>>()
  };
  let full = |r: &Registry, name: &str| {
    let id = r
      .define(Definition {
        max_series: 1,
        ..def(name, Kind::Counter, &["k"])
      })
      .unwrap();
    r.series(id, &["kept"]).unwrap();
    id
  };
  let id = full(&r, "before_total");
  for value in ["a", "b"] {
    assert!(matches!(
      r.series(id, &[value]).unwrap(),
      Registered::Overflow { .. }
    ));
    r.count_overflow(id, stripe).unwrap();
  }
  assert_eq!(overflowed(&r), [(r#"metric="before_total""#.to_string(), 2.0)]);
  r.clear(DEFAULT_NAMESPACE).unwrap();
  let again = full(&r, "after_total");
  r.series(again, &["c"]).unwrap();
  r.count_overflow(again, stripe).unwrap();
  r.count_overflow(id, stripe).unwrap();
  assert_eq!(
    overflowed(&r),
    [
      (r#"metric="after_total""#.to_string(), 1.0),
      (r#"metric="before_total""#.to_string(), 1.0)
    ],
    "the counter listed anew counts every metric from then on"
  );
}

#[test]
fn racing_threads_never_pass_the_limit() {
  let r = Arc::new(Registry::new());
  let id = r
    .define(Definition {
      max_series: 100,
      ..def("raced_total", Kind::Counter, &["k"])
    })
    .unwrap();
  let threads: Vec<_> = (0..8)
    .map(|t| {
      let r = r.clone();
      std::thread::spawn(move || {
        (0..200)
          .filter(|i| {
            matches!(
              r.series(id, &[format!("{t}-{i}")]).unwrap(),
              Registered::Series(_)
            )
          })
          .count()
      })
    })
    .collect();
  let registered: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
  assert_eq!(registered, 100);
  assert_eq!(
    r.family(id).unwrap().series().len(),
    101,
    "100 series and the overflow series"
  );
}

#[test]
fn concurrent_registration_agrees() {
  let r = Arc::new(Registry::new());
  let id = r.define(def("c_total", Kind::Counter, &["k"])).unwrap();
  let slots: Vec<Vec<u32>> = (0..4)
    .map(|_| {
      let r = r.clone();
      std::thread::spawn(move || {
        (0..500)
          .map(|i| r.series(id, &[format!("{}", i % 100)]).unwrap().slot())
          .collect()
      })
    })
    .collect::<Vec<_>>()
    .into_iter()
    .map(|t| t.join().unwrap())
    .collect();
  assert!(slots.windows(2).all(|w| w[0] == w[1]));
  assert_eq!(r.family(id).unwrap().series().len(), 100);
}

fn open_def(name: &str, kind: Kind, utf8_names: bool, max_series: usize) -> Definition {
  Definition {
    open_keys: true,
    utf8_names,
    max_series,
    ..Definition::new(name, kind)
  }
}

fn labels_of(r: &Registry, id: FamilyId) -> Vec<String> {
  let family = r.family(id).unwrap();
  family.series().iter().map(|s| s.labels.to_string()).collect()
}

#[test]
fn open_keys_name_labels_per_series_in_any_order() {
  let r = Registry::new();
  let id = r
    .define(open_def("otel_requests_total", Kind::Counter, false, 10))
    .unwrap();
  let a = r.series(id, &["method", "GET", "code", "200"]).unwrap().slot();
  let b = r.series(id, &["code", "200", "method", "GET"]).unwrap().slot();
  let c = r.series(id, &["method", "GET"]).unwrap().slot();
  let none: [&str; 0] = [];
  let d = r.series(id, &none).unwrap().slot();
  assert_eq!(a, b, "one label set whatever the order");
  assert_ne!(a, c);
  assert_eq!(
    labels_of(&r, id),
    [r#"code="200",method="GET""#, r#"method="GET""#, ""]
  );
  assert_ne!(c, d);
}

#[test]
fn open_keys_refuse_bad_pairs_and_reserved_names() {
  let r = Registry::new();
  let id = r
    .define(open_def("otel_latency", Kind::Histogram, false, 10))
    .unwrap();
  let error = |values: &[&str]| r.series(id, values).unwrap_err().to_string();
  assert!(error(&["route"]).contains("in pairs, got 1 strings"));
  assert!(error(&["a", "1", "a", "2"]).contains("label name \"a\" appears twice"));
  assert!(error(&["le", "1"]).contains("\"le\" is reserved on histogram"));
  assert!(error(&["__name__", "x"]).contains("reserved"));
  assert!(error(&["http.route", "/"]).contains("invalid label name \"http.route\""));
  assert!(labels_of(&r, id).is_empty(), "nothing registered");
  let fixed = Definition {
    dynamic_keys: vec!["k".into()],
    ..open_def("otel_both", Kind::Counter, false, 10)
  };
  assert!(r
    .define(fixed)
    .unwrap_err()
    .to_string()
    .contains("takes no dynamic keys"));
}

#[test]
fn open_keys_overflow_to_the_otel_overflow_series() {
  let r = Registry::new();
  let legacy = r
    .define(open_def("otel_a_total", Kind::Counter, false, 1))
    .unwrap();
  let utf8 = r.define(open_def("otel.b", Kind::Counter, true, 1)).unwrap();
  for id in [legacy, utf8] {
    r.series(id, &["k", "1"]).unwrap();
    assert!(matches!(
      r.series(id, &["k", "2"]).unwrap(),
      Registered::Overflow { .. }
    ));
  }
  assert_eq!(labels_of(&r, legacy)[1], r#"otel_metric_overflow="true""#);
  assert_eq!(labels_of(&r, utf8)[1], r#""otel.metric.overflow"="true""#);
}
