//! The Rust side of a label set's first use in a thread: `Registry::series` for label
//! sets new to the registry, and for label sets another thread registered already; and
//! the drain of a JS environment's ring of registrations, which is what a first use
//! through a lease leaves the engine to do, into a metric with no series yet and into
//! one with 100k.
//!   cargo bench -p slotmetrics_engine --bench register
//! Criterion reports the time per batch of `SERIES` label sets.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use slotmetrics_engine::kind::Kind;
use slotmetrics_engine::registry::{Definition, FamilyId, LeaseAnswer, Registry};
use slotmetrics_engine::rings::{registration_entry, RingKind, Rings, PASS, REGISTRATIONS};

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

/// A registry whose metric has `before` series, and the ring entries of `sets` in slots
/// leased from it, a pass of the ring each, as JS would write them.
fn leased_entries(before: &[[String; 2]], sets: &[[String; 2]]) -> (Registry, Vec<Vec<Vec<u8>>>) {
  let registry = Registry::new();
  let id = define(&registry);
  for set in before {
    registry.series(id, set).unwrap();
  }
  let passes = sets
    .chunks(PASS)
    .map(|pass| {
      let LeaseAnswer::Granted { first, series } = registry.lease_series(id, pass.len() as u32).unwrap()
      else {
        panic!("no lease");
      };
      assert_eq!(series as usize, pass.len());
      pass
        .iter()
        .zip(first..)
        .map(|([route, code], slot)| registration_entry(id, slot, first, &[route, code]))
        .collect()
    })
    .collect();
  (registry, passes)
}

fn drain(c: &mut Criterion) {
  let sets = label_sets();
  let rings = Rings::new(REGISTRATIONS);
  let ring = rings.attach();
  let mut group = c.benchmark_group("register");
  group.throughput(Throughput::Elements(SERIES as u64));
  // Each iteration sets up a registry anew, 100k series' worth for the second case.
  group.sample_size(20);
  for existing in [0, 100_000] {
    let before: Vec<[String; 2]> = (0..existing)
      .map(|i| [format!("/before/{i}"), "200".into()])
      .collect();
    // Each pass appended as JS writes it, then drained as a JS thread that finds its
    // ring full does.
    group.bench_function(BenchmarkId::new("drain", existing), |b| {
      b.iter_batched(
        || leased_entries(&before, &sets),
        |(registry, passes)| {
          for pass in &passes {
            pass.iter().for_each(|entry| ring.append(entry));
            registry.drain_ring(RingKind::Registrations, &ring);
          }
          registry
        },
        BatchSize::PerIteration,
      )
    });
  }
  group.finish();
}

criterion_group!(benches, register, drain);
criterion_main!(benches);
