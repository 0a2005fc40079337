//! The Rust side of a label set's first use in a thread: `Registry::series` for label
//! sets new to the registry, and for label sets another thread registered already; and
//! the drain of a JS environment's ring of registrations, which is what a first use
//! through a lease leaves the engine to do, into a metric with no series yet and into
//! one with 100k.
//!   cargo bench -p slotmetrics_engine --bench register
//! Criterion reports the time per batch of `SERIES` label sets.

use std::sync::atomic::{AtomicU32, Ordering};

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use slotmetrics_engine::kind::Kind;
use slotmetrics_engine::registry::{Definition, FamilyId, LeaseAnswer, Registry};
use slotmetrics_engine::rings::{
  EntryRing, RingKind, Rings, ENTRIES_AT, PASS, REGISTRATIONS, REGISTRATION_VALUES_AT, WRITE_AT,
};

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

/// Writes the registrations of `sets` into `ring` as JS does (rings.rs' REGISTRATIONS),
/// in leased slots of metric `id`, and drains them a pass at a time, as a JS thread that
/// finds its ring full does.
fn write_and_drain(registry: &Registry, id: FamilyId, ring: &EntryRing, sets: &[[String; 2]]) {
  let write_position = || {
    // SAFETY: the ring's write position, a 4-aligned u32 inside its memory.
    unsafe { AtomicU32::from_ptr(ring.as_ptr().add(WRITE_AT).cast()) }
  };
  for pass in sets.chunks(PASS) {
    let LeaseAnswer::Granted { first, series } = registry.lease_series(id, pass.len() as u32).unwrap() else {
      panic!("no lease");
    };
    assert_eq!(series as usize, pass.len());
    let mut write = write_position().load(Ordering::Relaxed);
    for (n, values) in pass.iter().enumerate() {
      let index = write as usize % REGISTRATIONS.entries;
      // SAFETY: one entry inside the ring, not published yet, so not read by a drain.
      let entry = unsafe {
        std::slice::from_raw_parts_mut(
          ring.as_ptr().add(ENTRIES_AT + index * REGISTRATIONS.entry_bytes),
          REGISTRATIONS.entry_bytes,
        )
      };
      entry[0..4].copy_from_slice(&id.to_le_bytes());
      entry[4..8].copy_from_slice(&(first + n as u32).to_le_bytes());
      entry[8..12].copy_from_slice(&first.to_le_bytes());
      entry[12] = values.len() as u8;
      let mut at = REGISTRATION_VALUES_AT;
      for value in values {
        entry[at] = value.len() as u8;
        entry[at + 1..at + 1 + value.len()].copy_from_slice(value.as_bytes());
        at += 1 + value.len();
      }
      write = write.wrapping_add(1);
    }
    write_position().store(write, Ordering::Release);
    registry.drain_ring(RingKind::Registrations, ring);
  }
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
    group.bench_function(BenchmarkId::new("drain", existing), |b| {
      b.iter_batched(
        || {
          let registry = Registry::new();
          let id = define(&registry);
          for set in &before {
            registry.series(id, set).unwrap();
          }
          (registry, id)
        },
        |(registry, id)| {
          write_and_drain(&registry, id, &ring, &sets);
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
