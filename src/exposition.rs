//! Reading the metrics out: text rendered off the event loop, data for
//! `getMetricsAsJSON()`, collect hooks, and the HTTP server.

use std::sync::Arc;

use indexmap::IndexMap;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use slotmetrics_engine::format::{Format, Protocol};
use slotmetrics_engine::registry::{FamilyId, NamespaceId};
use slotmetrics_engine::{collect, collect_hooks, data, encode, registry, server};

use crate::environment::with_env_state;
use crate::shared::{js_error, slot_error, without_panics, REGISTRY};

/// Sets this environment's collect hook, called with a registry id before a scrape the
/// server serves from it (see `collect_hooks`); `None` removes it.
#[napi(
  catch_unwind,
  ts_args_type = "hook: ((registry: number) => Promise<void>) | null | undefined"
)]
pub fn set_collect_hook(env: &Env, hook: Option<CollectHook>) -> Result<()> {
  let stripe = with_env_state(env, |state| Ok(state.stripe))?;
  collect_hooks::set(stripe, hook.map(engine_hook));
  Ok(())
}

/// A JS collect hook: called with the namespace being scraped; resolves when its values
/// are refreshed. Weak: it does not keep its environment's event loop alive.
type CollectHook = ThreadsafeFunction<NamespaceId, Promise<()>, NamespaceId, Status, false, true>;

/// The JS hook as the engine calls it. A hook that throws or rejects counts as done.
fn engine_hook(hook: CollectHook) -> collect_hooks::Hook {
  let hook = Arc::new(hook);
  Arc::new(move |namespace| {
    let hook = Arc::clone(&hook);
    Box::pin(async move {
      if let Ok(done) = hook.call_async_catch(namespace).await {
        let _ = done.await;
      }
    })
  })
}

pub struct RenderTask {
  format: Format,
  namespace: NamespaceId,
  /// Only this metric (prom-client's `getSingleMetricAsString()`).
  metric: Option<FamilyId>,
}

/// An exposition and the `Content-Type` to send it with: text as a string, protobuf as
/// bytes.
#[napi(object)]
pub struct Rendered {
  pub content_type: String,
  pub text: Option<String>,
  pub bytes: Option<Buffer>,
}

/// A snapshot of a namespace, or of one metric with the namespace's default labels.
fn snapshot(namespace: NamespaceId, metric: Option<FamilyId>) -> Result<collect::Snapshot> {
  let namespace = REGISTRY.namespace(namespace).map_err(js_error)?;
  let snapshot = match metric {
    None => collect::Snapshot::take(&REGISTRY, &namespace),
    Some(id) => collect::Snapshot::of(
      &REGISTRY,
      vec![REGISTRY.family(id).map_err(js_error)?],
      namespace.default_labels(),
    ),
  };
  snapshot.map_err(slot_error)
}

impl Task for RenderTask {
  type Output = Vec<u8>;
  type JsValue = Rendered;

  fn compute(&mut self) -> Result<Self::Output> {
    without_panics(|| {
      let mut body = Vec::new();
      encode::encode(&snapshot(self.namespace, self.metric)?, self.format, &mut body)?;
      Ok(body)
    })
  }

  fn resolve(&mut self, _env: Env, body: Self::Output) -> Result<Self::JsValue> {
    let content_type = self.format.content_type();
    Ok(if self.format.protocol == Protocol::PrometheusProto {
      Rendered {
        content_type,
        text: None,
        bytes: Some(body.into()),
      }
    } else {
      Rendered {
        content_type,
        text: Some(String::from_utf8(body).map_err(|e| Error::from_reason(e.to_string()))?),
        bytes: None,
      }
    })
  }
}

/// The exposition in the format an `Accept` header asks for (as the server chooses
/// it), rendered on a libuv worker thread.
#[napi(catch_unwind, ts_return_type = "Promise<Rendered>")]
pub fn render_metrics(accept: String, registry: u32, metric: Option<u32>) -> AsyncTask<RenderTask> {
  AsyncTask::new(RenderTask {
    format: Format::negotiate(&accept),
    namespace: registry,
    metric,
  })
}

#[napi(object)]
pub struct ServerOptions {
  pub host: String,
  pub port: u32,
  pub path: String,
  /// Liveness and readiness paths; none: no health endpoints.
  pub live_path: Option<String>,
  pub ready_path: Option<String>,
  /// A heartbeat older than this makes liveness answer 503.
  pub stale_after_ms: Option<u32>,
  /// The `Authorization` value the metrics path requires, and the 401's challenge.
  pub authorization: Option<String>,
  pub challenge: Option<String>,
  /// Connections served at once (default 256).
  pub max_connections: Option<u32>,
  /// The registry served (default: the default registry, 0).
  pub registry: Option<u32>,
  /// How long a scrape waits for JS collect hooks (default 1000 ms).
  pub collect_timeout_ms: Option<u32>,
}

#[napi(object)]
pub struct ServerInfo {
  pub id: u32,
  pub port: u32,
}

pub struct StartServerTask(Option<server::Options>);

impl Task for StartServerTask {
  type Output = (u32, u16);
  type JsValue = ServerInfo;

  fn compute(&mut self) -> Result<Self::Output> {
    let options = self
      .0
      .take()
      .ok_or_else(|| Error::from_reason("server already started"))?;
    // The server's threads outlive any one environment; keep the addon's code mapped.
    retain_current_module_for_unload_safety();
    without_panics(|| server::start(&REGISTRY, options).map_err(Error::from_reason))
  }

  fn resolve(&mut self, _env: Env, (id, port): Self::Output) -> Result<Self::JsValue> {
    Ok(ServerInfo {
      id,
      port: port as u32,
    })
  }
}

/// Starts serving the exposition over HTTP on the process's own runtime.
#[napi(catch_unwind, ts_return_type = "Promise<ServerInfo>")]
pub fn start_server(options: ServerOptions) -> Result<AsyncTask<StartServerTask>> {
  let port = u16::try_from(options.port).map_err(|_| {
    Error::new(
      Status::InvalidArg,
      format!("port {} is out of range 0-65535", options.port),
    )
  })?;
  let health = match (options.live_path, options.ready_path) {
    (Some(live), Some(ready)) => Some(server::HealthPaths {
      live,
      ready,
      stale_after_ms: options.stale_after_ms.unwrap_or(5000).into(),
    }),
    _ => None,
  };
  let auth = options.authorization.map(|authorization| server::Auth {
    authorization,
    challenge: options.challenge.unwrap_or_default(),
  });
  let max_connections = options.max_connections.map_or(256, |n| n as usize).max(1);
  let namespace_id = options.registry.unwrap_or(registry::DEFAULT_NAMESPACE);
  // An unknown registry is a bad argument, refused before anything starts.
  REGISTRY.namespace(namespace_id).map_err(js_error)?;
  let collect_timeout = std::time::Duration::from_millis(options.collect_timeout_ms.unwrap_or(1000).into());
  Ok(AsyncTask::new(StartServerTask(Some(server::Options {
    host: options.host,
    port,
    path: options.path,
    health,
    auth,
    max_connections,
    namespace_id,
    collect_timeout,
  }))))
}

pub struct StopServerTask(u32);

impl Task for StopServerTask {
  type Output = ();
  type JsValue = ();

  fn compute(&mut self) -> Result<Self::Output> {
    without_panics(|| {
      server::stop(self.0);
      Ok(())
    })
  }

  fn resolve(&mut self, _env: Env, _output: Self::Output) -> Result<Self::JsValue> {
    Ok(())
  }
}

/// Stops a server: no new connections, and open ones are given a few seconds to finish.
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn stop_server(id: u32) -> AsyncTask<StopServerTask> {
  AsyncTask::new(StopServerTask(id))
}

#[napi(object)]
pub struct SampleJson {
  pub value: f64,
  /// In exposition order (an IndexMap: a JS object keeps insertion order).
  pub labels: IndexMap<String, String>,
  /// A histogram sample's own name (`x_bucket`, `x_sum`, `x_count`).
  pub metric_name: Option<String>,
  /// A counter's or a histogram bucket's exemplar, if one was set.
  pub exemplar: Option<ExemplarJson>,
}

/// An exemplar in prom-client's shape.
#[napi(object)]
pub struct ExemplarJson {
  pub label_set: IndexMap<String, String>,
  pub value: f64,
  /// Seconds since the Unix epoch, to the millisecond.
  pub timestamp: f64,
}

#[napi(object)]
pub struct MetricJson {
  pub name: String,
  pub help: String,
  #[napi(js_name = "type")]
  pub kind: String,
  pub values: Vec<SampleJson>,
  /// prom-client's cluster aggregation hint; always "sum".
  pub aggregator: String,
}

/// A namespace's metrics with its default labels, or one metric without any
/// (prom-client's `metric.get()`).
pub enum MetricsDataTask {
  Registry(NamespaceId),
  Metric(FamilyId),
}

impl Task for MetricsDataTask {
  type Output = Vec<data::MetricData>;
  type JsValue = Vec<MetricJson>;

  fn compute(&mut self) -> Result<Self::Output> {
    without_panics(|| {
      let snapshot = match *self {
        MetricsDataTask::Registry(namespace) => snapshot(namespace, None)?,
        MetricsDataTask::Metric(id) => collect::Snapshot::of(
          &REGISTRY,
          vec![REGISTRY.family(id).map_err(js_error)?],
          Arc::default(),
        )
        .map_err(slot_error)?,
      };
      Ok(data::metrics_data(&snapshot))
    })
  }

  fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
    Ok(metrics_json(output))
  }
}

/// One metric and its samples as data, collected now on this thread: for prom-client's
/// synchronous internals (`hashMap`), read by tests, never on an update path.
#[napi(catch_unwind)]
pub fn metric_data_now(metric: u32) -> Result<Vec<MetricJson>> {
  Ok(metrics_json(MetricsDataTask::Metric(metric).compute()?))
}

fn metrics_json(output: Vec<data::MetricData>) -> Vec<MetricJson> {
  output
    .into_iter()
    .map(|metric| MetricJson {
      name: metric.name,
      help: metric.help,
      kind: metric.kind.to_string(),
      aggregator: "sum".to_string(),
      values: metric
        .samples
        .into_iter()
        .map(|s| SampleJson {
          value: s.value,
          labels: s.labels.into_iter().collect(),
          metric_name: s.metric_name,
          exemplar: s.exemplar.map(|e| ExemplarJson {
            label_set: e.labels.into_iter().collect(),
            value: e.value,
            timestamp: e.timestamp,
          }),
        })
        .collect(),
    })
    .collect()
}

/// Every metric and its samples as data (prom-client's `getMetricsAsJSON()` shape),
/// collected on a libuv worker thread.
#[napi(catch_unwind, ts_return_type = "Promise<Array<MetricJson>>")]
pub fn metrics_data(registry: u32) -> AsyncTask<MetricsDataTask> {
  AsyncTask::new(MetricsDataTask::Registry(registry))
}

/// One metric and its samples as data, without default labels (prom-client's
/// `metric.get()`), collected on a libuv worker thread.
#[napi(catch_unwind, ts_return_type = "Promise<Array<MetricJson>>")]
pub fn metric_data(metric: u32) -> AsyncTask<MetricsDataTask> {
  AsyncTask::new(MetricsDataTask::Metric(metric))
}
