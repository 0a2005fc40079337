//! Registries (namespaces of metric names): making, listing into, clearing, resetting,
//! and their default labels.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::metrics::LabelPair;
use crate::shared::{js_error, REGISTRY};

/// A new empty registry (namespace of metric names), for `new Registry()`.
#[napi(catch_unwind)]
pub fn create_registry() -> u32 {
  REGISTRY.create_namespace()
}

/// Whether the default registry is the metric set of a multi-process group
/// (`SLOTMETRICS_MULTIPROCESS_DIR`).
#[napi(catch_unwind)]
pub fn in_multiprocess_group() -> bool {
  REGISTRY.in_a_group()
}

/// Lists a metric in another registry too (prom-client's multiple `registers`).
#[napi(catch_unwind)]
pub fn list_metric(registry: u32, metric: u32) -> Result<()> {
  REGISTRY.list_in(registry, metric).map_err(js_error)
}

/// The ids of the metrics listed in a registry, in listing order (prom-client's
/// `Registry.merge()` lists them all in the merged registry).
#[napi(catch_unwind)]
pub fn listed_metrics(registry: u32) -> Result<Vec<u32>> {
  REGISTRY.listed(registry).map_err(js_error)
}

/// Takes the metric named `name` out of a registry; returns whether it was there.
#[napi(catch_unwind)]
pub fn unlist_metric(registry: u32, name: String) -> Result<bool> {
  REGISTRY.unlist(registry, &name).map_err(js_error)
}

/// Unlists every metric of a registry (prom-client's `clear()`).
#[napi(catch_unwind)]
pub fn clear_registry(registry: u32) -> Result<()> {
  REGISTRY.clear(registry).map_err(js_error)
}

/// `reset()` of every metric of a registry (prom-client's `resetMetrics()`).
#[napi(catch_unwind)]
pub fn reset_registry(registry: u32) -> Result<()> {
  REGISTRY.reset_all(registry).map_err(js_error)
}

/// Replaces the labels added to every series (a metric's own label of the same name wins).
#[napi(catch_unwind)]
pub fn set_default_labels(registry: u32, labels: Vec<LabelPair>) -> Result<()> {
  REGISTRY
    .set_default_labels(registry, labels.into_iter().map(|p| (p.name, p.value)).collect())
    .map_err(js_error)
}
