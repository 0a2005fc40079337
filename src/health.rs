//! The heartbeat and readiness checks behind the health endpoints.

use napi_derive::napi;

/// Records that the JS thread serving health endpoints is responsive (called on a timer).
#[napi(catch_unwind)]
pub fn health_beat() {
  slotmetrics_engine::health::beat();
}

/// Sets a named readiness check; `/health/ready` answers 200 only when all are true.
#[napi(catch_unwind)]
pub fn set_ready(name: String, ready: bool) {
  slotmetrics_engine::health::set_ready(&name, ready);
}
