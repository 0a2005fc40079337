//! The Rust side of a scrape without HTTP: collecting (metadata snapshot, then one read
//! of every slot of every stripe, summed) and encoding, for 10k and 100k counter series
//! written by three threads' stripes.
//!   cargo bench --bench collect
//! Criterion reports the time per collection; divide by series/1000 for the cost per
//! 1,000 series (the throughput line gives series per second).

use std::sync::atomic::Ordering;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use slotmetrics_engine::collect::Snapshot;
use slotmetrics_engine::encode::encode;
use slotmetrics_engine::format::Format;
use slotmetrics_engine::kind::Kind;
use slotmetrics_engine::registry::{Definition, Registry, DEFAULT_NAMESPACE};
use slotmetrics_engine::slots::locate;

const STRIPES: usize = 3;

fn registry_with(series: usize) -> Registry {
  let registry = Registry::new();
  let stripes: Vec<_> = (0..STRIPES).map(|_| registry.striped.attach().unwrap()).collect();
  let id = registry
    .define(Definition {
      help: "Requests".into(),
      dynamic_keys: vec!["route".into(), "code".into()],
      max_series: usize::MAX,
      ..Definition::new("bench_requests_total", Kind::Counter)
    })
    .unwrap();
  for i in 0..series {
    let slot = registry
      .series(
        id,
        &[format!("/api/v1/resource/{}", i % 1000), (i / 1000).to_string()],
      )
      .unwrap()
      .slot();
    let (chunk, cell) = locate(slot);
    for (n, stripe) in stripes.iter().enumerate() {
      let value = (i + n) as f64;
      registry.striped.chunk(*stripe, chunk).unwrap().cells()[cell].store(value.to_bits(), Ordering::Relaxed);
    }
  }
  registry
}

fn collection(c: &mut Criterion) {
  let mut group = c.benchmark_group("collect");
  for series in [10_000, 100_000] {
    let registry = registry_with(series);
    let namespace = registry.namespace(DEFAULT_NAMESPACE).unwrap();
    group.throughput(Throughput::Elements(series as u64));
    group.bench_with_input(BenchmarkId::new("snapshot_and_sum", series), &registry, |b, r| {
      b.iter(|| Snapshot::take(r, &namespace).unwrap())
    });
    let snapshot = Snapshot::take(&registry, &namespace).unwrap();
    group.bench_with_input(BenchmarkId::new("encode_text", series), &snapshot, |b, s| {
      b.iter(|| {
        let mut out = Vec::new();
        encode(s, Format::PROMETHEUS_TEXT, &mut out).unwrap();
        out
      })
    });
    group.bench_with_input(BenchmarkId::new("encode_protobuf", series), &snapshot, |b, s| {
      b.iter(|| {
        let mut out = Vec::new();
        encode(s, Format::PROTOBUF, &mut out).unwrap();
        out
      })
    });
  }
  group.finish();
}

criterion_group!(benches, collection);
criterion_main!(benches);
