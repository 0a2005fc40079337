use super::*;
use crate::native::sparse;

#[test]
fn sparse_buckets_become_dense_ones_numbered_by_their_lower_bound() {
  // Prometheus buckets 3 (count 2), 4 (0, kept in the span), 5 (1), then 10 (4).
  let prometheus = sparse([(3, 2), (5, 1), (10, 4)]);
  assert_eq!(
    dense(&prometheus),
    Some(Buckets {
      offset: 2,
      bucket_counts: vec![2, 0, 1, 0, 0, 0, 0, 4]
    })
  );
  assert_eq!(dense(&Sparse::default()), None);
}

#[test]
fn the_request_is_the_bytes_prost_would_write() {
  let point = |v: f64| NumberDataPoint {
    start_time_unix_nano: 5,
    time_unix_nano: 9,
    as_double: Some(v),
    attributes: vec![KeyValue::new("k", v.to_string())],
    ..Default::default()
  };
  let metrics = vec![
    Metric {
      name: "hits_total".into(),
      description: "Hits".into(),
      unit: "1".into(),
      data: Some(Data::Sum(model::Sum {
        data_points: vec![point(1.0), point(0.0)],
        aggregation_temporality: CUMULATIVE,
        is_monotonic: true,
      })),
    },
    Metric {
      name: "level".into(),
      data: Some(Data::Gauge(model::Gauge {
        data_points: vec![point(-2.5)],
      })),
      ..Default::default()
    },
    Metric {
      name: "latency".into(),
      data: Some(Data::Histogram(model::Histogram {
        data_points: vec![model::HistogramDataPoint {
          count: 3,
          sum: Some(1.5),
          bucket_counts: vec![1, 2],
          explicit_bounds: vec![1.0],
          ..Default::default()
        }],
        aggregation_temporality: model::DELTA,
      })),
      ..Default::default()
    },
    Metric {
      name: "waits".into(),
      data: Some(Data::Summary(model::Summary { data_points: vec![] })),
      ..Default::default()
    },
  ];
  let origin = Origin {
    resource: vec![KeyValue::new("service.name", "x")],
    scope: InstrumentationScope {
      name: "slotmetrics".into(),
      version: "1".into(),
    },
  };
  assert_eq!(
    Encoding::Protobuf.encode(&origin, metrics.clone()),
    origin.request(metrics).encode_to_vec()
  );
}

#[test]
fn units_come_from_the_name_suffix() {
  assert_eq!(unit_of("http_request_duration_seconds"), "s");
  assert_eq!(unit_of("heap_bytes"), "By");
  assert_eq!(unit_of("jobs"), "");
}

#[test]
fn splitting_keeps_every_point_within_the_limits() {
  let point = |i: usize| NumberDataPoint {
    as_double: Some(i as f64),
    attributes: vec![KeyValue::new("i", i.to_string())],
    ..Default::default()
  };
  let metric = |name: &str, n: usize| Metric {
    name: name.into(),
    data: Some(Data::Gauge(model::Gauge {
      data_points: (0..n).map(point).collect(),
    })),
    ..Default::default()
  };
  let groups = split(vec![metric("a", 5), metric("b", 3)], 3, usize::MAX);
  let shape: Vec<Vec<(String, usize)>> = groups
    .iter()
    .map(|g| {
      g.iter()
        .map(|m| (m.name.clone(), m.data.as_ref().unwrap().len()))
        .collect()
    })
    .collect();
  let s = |name: &str, n| (name.to_string(), n);
  assert_eq!(
    shape,
    vec![vec![s("a", 3)], vec![s("a", 2), s("b", 1)], vec![s("b", 2)]]
  );
  for group in split(vec![metric("a", 200)], usize::MAX, 1000) {
    let bytes = Origin {
      resource: vec![],
      scope: InstrumentationScope::default(),
    }
    .request(group)
    .encoded_len();
    assert!(bytes <= 1000 + 64, "{bytes}");
  }
}
