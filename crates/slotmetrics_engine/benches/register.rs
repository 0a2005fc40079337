//! The Rust side of a label set's first use in a thread: `Registry::series` for label
//! sets new to the registry, and for label sets another thread registered already.
//!   cargo bench -p slotmetrics_engine --bench register
//! Criterion reports the time per batch of `SERIES` label sets.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use slotmetrics_engine::kind::Kind;
use slotmetrics_engine::registry::{Definition, FamilyId, Registry};

const SERIES: usize = 5_000;

fn label_sets() -> Vec<[String; 2]> {
  (0..SERIES)
    .map(|i| {
      [
        format!("/api/v1/resource/{i}"),
        ["200", "404", "500", "201"][i & 3].to_string(),
      ]
    })
    .collect()
}

fn define(registry: &Registry) -> FamilyId {
  registry
    .define(Definition {
      help: "Requests".into(),
      dynamic_keys: vec!["route".into(), "code".into()],
      max_series: usize::MAX,
      ..Definition::new("bench_requests_total", Kind::Counter)
    })
    .unwrap()
}

fn register(c: &mut Criterion) {
  let sets = label_sets();
  let mut group = c.benchmark_group("register");
  group.throughput(Throughput::Elements(SERIES as u64));
  group.bench_function("new", |b| {
    b.iter_batched(
      || {
        let registry = Registry::new();
        let id = define(&registry);
        (registry, id)
      },
      |(registry, id)| {
        for set in &sets {
          registry.series(id, set).unwrap();
        }
        registry
      },
      BatchSize::PerIteration,
    )
  });
  let registry = Registry::new();
  let id = define(&registry);
  for set in &sets {
    registry.series(id, set).unwrap();
  }
  group.bench_function("existing", |b| {
    b.iter(|| {
      for set in &sets {
        registry.series(id, set).unwrap();
      }
    })
  });
  group.finish();
}

criterion_group!(benches, register);
criterion_main!(benches);
