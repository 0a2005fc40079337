//! Collect hooks: functions that refresh values before a scrape Rust serves.
//!
//! prom-client's metrics may have `collect` callbacks that set their values when the
//! metrics are read. A scrape served by the Rust server does not pass through JS, so
//! each JS environment with such callbacks registers one hook (the binding makes it
//! from a JS function); before encoding, the server calls every hook and waits for
//! them, at most the server's collect timeout. A blocked event loop therefore delays a
//! scrape by that timeout and no more: the scrape then serves the values as they are.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::registry::{NamespaceId, Registry};
use crate::slots::StripeId;

/// Called with the namespace being scraped; its future resolves when the values are
/// refreshed (or the hook gave up).
pub type Hook = Arc<dyn Fn(NamespaceId) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Each environment's hook, keyed by its stripe (unique while the environment lives).
static HOOKS: Mutex<Vec<(StripeId, Hook)>> = Mutex::new(Vec::new());

/// Sets (or with `None` removes) the hook of the environment holding `stripe`.
pub fn set(stripe: StripeId, hook: Option<Hook>) {
  let mut hooks = HOOKS.lock();
  hooks.retain(|(owner, _)| *owner != stripe);
  if let Some(hook) = hook {
    hooks.push((stripe, hook));
  }
}

/// The engine's count of reads that stopped waiting for collect hooks.
pub const TIMEOUTS: &str = "slotmetrics_collect_timeouts_total";
const TIMEOUTS_HELP: &str = "Reads (read=\"scrape\" or \"export\") that stopped waiting for a thread's collectors (prom-client collect callbacks, OpenTelemetry observable callbacks) at the collect timeout, and used the values as they were";

/// Runs every hook for `namespace` at once and waits for them, at most `timeout`.
/// A hook still running then is passed over (dropping its task stops the wait; the JS
/// side finishes on its own), and the read (`read`: `scrape`, `export`) is counted in
/// `slotmetrics_collect_timeouts_total`.
pub async fn run(registry: &Registry, namespace: NamespaceId, timeout: Duration, read: &str) {
  let hooks: Vec<Hook> = HOOKS.lock().iter().map(|(_, hook)| hook.clone()).collect();
  if hooks.is_empty() {
    return;
  }
  let mut calls = tokio::task::JoinSet::new();
  for hook in hooks {
    calls.spawn(hook(namespace));
  }
  let waited = tokio::time::timeout(timeout, async { while calls.join_next().await.is_some() {} }).await;
  if waited.is_err() {
    let _ = registry.add_engine_count(TIMEOUTS, TIMEOUTS_HELP, &["read"], &[read], 1.0);
  }
}
