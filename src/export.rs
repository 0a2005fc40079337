//! Pushing metrics out: exporters run on the engine's runtime (`slotmetrics_engine::
//! export`); JS starts them, awaits their flushes and stops them.

use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use slotmetrics_engine::encode::otlp::Encoding;
use slotmetrics_engine::export::google::GoogleAuth;
use slotmetrics_engine::export::otlp::{self, Otlp, Temporality};
use slotmetrics_engine::export::remote_write::{self, RemoteWrite};
use slotmetrics_engine::export::sigv4::Signer;
use slotmetrics_engine::export::{self, Auth, Failure, Report, Schedule};

use crate::shared::{js_error, REGISTRY};

/// A header or resource attribute.
#[napi(object)]
pub struct NameValue {
  pub name: String,
  pub value: String,
}

/// An OTLP/HTTP exporter's settings, every one resolved by the TypeScript wrapper.
#[napi(object)]
pub struct OtlpExporterOptions {
  /// The full URL, `/v1/metrics` included.
  pub url: String,
  pub headers: Vec<NameValue>,
  /// `http/protobuf` or `http/json`.
  pub protocol: String,
  pub gzip: bool,
  /// `cumulative`, `delta` or `lowmemory`.
  pub temporality: String,
  pub resource: Vec<NameValue>,
  pub interval_ms: u32,
  pub timeout_ms: u32,
  pub export_timeout_ms: u32,
  pub collect_timeout_ms: u32,
  pub registry: u32,
  pub max_points: u32,
  pub max_bytes: u32,
  /// Sign requests with AWS SigV4 for this region and service.
  pub sigv4_region: Option<String>,
  pub sigv4_service: Option<String>,
  /// Authorize requests with a Google Cloud access token from Application Default
  /// Credentials: this key file, or (empty) wherever ADC finds them.
  pub google_credentials: Option<String>,
}

/// slotmetrics' version, as exporters name it (`User-Agent`, `telemetry.sdk.version`).
#[napi(catch_unwind)]
pub fn agent_version() -> &'static str {
  env!("CARGO_PKG_VERSION")
}

/// This process's `service.instance.id` when none is configured: the same in every
/// thread of the process.
#[napi(catch_unwind)]
pub fn process_instance_id() -> &'static str {
  slotmetrics_engine::export::process_instance_id()
}

/// A Prometheus remote-write exporter's settings, every one resolved by the TypeScript
/// wrapper.
#[napi(object)]
pub struct RemoteWriteExporterOptions {
  pub url: String,
  pub headers: Vec<NameValue>,
  /// Labels every series gets unless it has its own (`job`, `instance`).
  pub labels: Vec<NameValue>,
  pub native_histograms: bool,
  pub max_series: u32,
  /// The remote-write message: 1 (`prometheus.WriteRequest`) or 2
  /// (`io.prometheus.write.v2.Request`).
  pub version: u32,
  pub interval_ms: u32,
  pub timeout_ms: u32,
  pub export_timeout_ms: u32,
  pub collect_timeout_ms: u32,
  pub registry: u32,
  /// Sign requests with AWS SigV4 for this region and service.
  pub sigv4_region: Option<String>,
  pub sigv4_service: Option<String>,
}

/// What a flush delivered.
#[napi(object)]
pub struct ExportReport {
  /// Data points the receiver accepted.
  pub points: u32,
  pub requests: u32,
}

/// An argument error; the wrapper names the call it was given to.
fn invalid(message: String) -> Error {
  Error::new(Status::InvalidArg, message)
}

/// Called with a failure's message; weak, so that an exporter does not keep its
/// environment's event loop alive.
type FailureListener = ThreadsafeFunction<String, (), String, Status, false, true>;

/// Starts an OTLP/HTTP exporter; returns its id.
#[napi(
  catch_unwind,
  ts_args_type = "options: OtlpExporterOptions, onFailure: (message: string) => void"
)]
pub fn start_otlp_exporter(options: OtlpExporterOptions, on_failure: FailureListener) -> Result<u32> {
  let encoding = match options.protocol.as_str() {
    "http/protobuf" => Encoding::Protobuf,
    "http/json" => Encoding::Json,
    other => return Err(invalid(format!("unknown protocol \"{other}\""))),
  };
  let temporality = match options.temporality.as_str() {
    "cumulative" => Temporality::Cumulative,
    "delta" => Temporality::Delta,
    "lowmemory" => Temporality::LowMemory,
    other => return Err(invalid(format!("unknown temporality \"{other}\""))),
  };
  let mut resource = pairs(options.resource);
  let auth = match options.google_credentials {
    Some(file) => {
      let (google, project) =
        GoogleAuth::find(Some(file.as_str()).filter(|f| !f.is_empty())).map_err(invalid)?;
      // Google files metrics under the resource's project, else the credentials'.
      if let Some(project) = project.filter(|_| !resource.iter().any(|(k, _)| k == "gcp.project_id")) {
        resource.push(("gcp.project_id".into(), project));
      }
      Some(Auth::Google(Box::new(google)))
    }
    None => sigv4(options.sigv4_region, options.sigv4_service),
  };
  let destination = Otlp::new(otlp::Options {
    url: options.url,
    headers: pairs(options.headers),
    encoding,
    gzip: options.gzip,
    temporality,
    resource,
    max_points: options.max_points.max(1) as usize,
    max_bytes: options.max_bytes.max(1024) as usize,
    agent_name: "slotmetrics".into(),
    agent_version: agent_version().into(),
    auth,
  })
  .map_err(invalid)?;
  let schedule = schedule(
    options.registry,
    [
      options.interval_ms,
      options.timeout_ms,
      options.export_timeout_ms,
      options.collect_timeout_ms,
    ],
  )?;
  start(schedule, destination, on_failure)
}

/// Starts a Prometheus remote-write exporter; returns its id.
#[napi(
  catch_unwind,
  ts_args_type = "options: RemoteWriteExporterOptions, onFailure: (message: string) => void"
)]
pub fn start_remote_write_exporter(
  options: RemoteWriteExporterOptions,
  on_failure: FailureListener,
) -> Result<u32> {
  let destination = RemoteWrite::new(remote_write::Options {
    url: options.url,
    headers: pairs(options.headers),
    labels: pairs(options.labels),
    native_histograms: options.native_histograms,
    max_series: options.max_series.max(1) as usize,
    version: match options.version {
      1 => remote_write::Version::V1,
      2 => remote_write::Version::V2,
      other => {
        return Err(invalid(format!(
          "remote-write version {other} does not exist (1 or 2)"
        )))
      }
    },
    agent_name: "slotmetrics".into(),
    agent_version: agent_version().into(),
    auth: sigv4(options.sigv4_region, options.sigv4_service),
  })
  .map_err(invalid)?;
  let schedule = schedule(
    options.registry,
    [
      options.interval_ms,
      options.timeout_ms,
      options.export_timeout_ms,
      options.collect_timeout_ms,
    ],
  )?;
  start(schedule, destination, on_failure)
}

fn pairs(list: Vec<NameValue>) -> Vec<(String, String)> {
  list.into_iter().map(|kv| (kv.name, kv.value)).collect()
}

/// SigV4 signing for `region` and `service`, when both are given.
fn sigv4(region: Option<String>, service: Option<String>) -> Option<Auth> {
  region
    .zip(service)
    .map(|(region, service)| Auth::SigV4(Signer::new(region, service)))
}

/// The timing of an exporter of registry `namespace_id`, from its interval, attempt
/// timeout, export timeout and collect timeout in milliseconds.
fn schedule(namespace_id: u32, [interval, attempt, export, collect]: [u32; 4]) -> Result<Schedule> {
  REGISTRY.namespace(namespace_id).map_err(js_error)?;
  let millis = |ms: u32| Duration::from_millis(ms.into());
  Ok(Schedule {
    interval: millis(interval.max(1)),
    attempt_timeout: millis(attempt),
    export_timeout: millis(export),
    collect_timeout: millis(collect),
    namespace_id,
  })
}

fn start(
  schedule: Schedule,
  destination: impl export::Destination,
  on_failure: FailureListener,
) -> Result<u32> {
  // The exporter's task outlives any one environment; keep the addon's code mapped.
  retain_current_module_for_unload_safety();
  let report = std::sync::Arc::new(move |message: String| {
    on_failure.call(message, ThreadsafeFunctionCallMode::NonBlocking);
  });
  export::start(&REGISTRY, schedule, destination, report).map_err(Error::from_reason)
}

fn rejection(failure: Failure) -> Error {
  Error::from_reason(failure.message)
}

/// Exports now; the promise resolves once the receiver has acknowledged everything, or
/// rejects saying why not.
#[napi(catch_unwind, ts_return_type = "Promise<ExportReport>")]
pub fn flush_exporter(env: &Env, id: u32) -> Result<Object<'_>> {
  let (deferred, promise) = env.create_deferred()?;
  export::flush(
    id,
    move |outcome: std::result::Result<Report, Failure>| match outcome {
      Ok(report) => deferred.resolve(move |_| {
        Ok(ExportReport {
          points: report.points.min(u32::MAX as usize) as u32,
          requests: report.requests.min(u32::MAX as usize) as u32,
        })
      }),
      Err(failure) => deferred.reject(rejection(failure)),
    },
  );
  Ok(promise)
}

/// Stops an exporter after a last export; the promise resolves once it has ended.
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn stop_exporter(env: &Env, id: u32) -> Result<Object<'_>> {
  let (deferred, promise) = env.create_deferred()?;
  export::stop(id, move || deferred.resolve(|_| Ok(())));
  Ok(promise)
}
