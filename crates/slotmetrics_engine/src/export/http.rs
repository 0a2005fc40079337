//! Sending a request body to a receiver: hyper's pooled client over TCP, with TLS by
//! rustls (ring, Mozilla's roots) for `https` URLs, each attempt bounded in time and in
//! the size of the answer it reads.

use std::sync::OnceLock;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// More of an answer than this is not read: the request counts as refused (OTLP's
/// limit for a client reading a response).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// A receiver's answer.
pub struct Answer {
  pub status: StatusCode,
  pub headers: HeaderMap,
  pub body: Bytes,
}

/// Why there is no answer: each can be retried.
#[derive(Debug)]
pub enum NoAnswer {
  TimedOut,
  /// The connection failed or broke; the text says how (never the body or headers sent).
  Connection(String),
}

impl std::fmt::Display for NoAnswer {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match self {
      NoAnswer::TimedOut => f.write_str("no answer before the timeout"),
      NoAnswer::Connection(why) => f.write_str(why),
    }
  }
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One client for every exporter of the process: connections to a receiver are kept
/// alive and reused between exports.
fn client() -> &'static HttpsClient {
  static CLIENT: OnceLock<HttpsClient> = OnceLock::new();
  CLIENT.get_or_init(|| {
    // rustls deprecates ring's provider for lacking post-quantum key exchange; the
    // provider that has it (aws-lc-rs) needs cmake and a C toolchain to build, which
    // prebuilt binaries for musl and Windows must not.
    #[allow(deprecated)]
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
      .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
      .expect("ring's provider supports the default protocol versions")
      .https_or_http()
      .enable_http1()
      .build();
    Client::builder(TokioExecutor::new())
      .pool_idle_timeout(Duration::from_secs(90))
      .build(connector)
  })
}

/// POSTs `body` to `url` with `headers`, waiting at most `timeout` for the whole answer.
pub async fn post(
  url: &Uri,
  headers: &[(HeaderName, HeaderValue)],
  body: Bytes,
  timeout: Duration,
) -> Result<Answer, NoAnswer> {
  send(Method::POST, url, headers, body, timeout).await
}

/// Sends a request, waiting at most `timeout` for the whole answer.
pub async fn send(
  method: Method,
  url: &Uri,
  headers: &[(HeaderName, HeaderValue)],
  body: Bytes,
  timeout: Duration,
) -> Result<Answer, NoAnswer> {
  let mut request = Request::new(Full::new(body.clone()));
  *request.method_mut() = method;
  *request.uri_mut() = url.clone();
  let request_headers = request.headers_mut();
  for (name, value) in headers {
    request_headers.insert(name.clone(), value.clone());
  }
  request_headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
  let exchange = async {
    let response = client()
      .request(request)
      .await
      .map_err(|e| NoAnswer::Connection(describe(&e)))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_ANSWER_BYTES)
      .collect()
      .await
      .map_err(|e| NoAnswer::Connection(format!("reading the answer failed: {e}")))?
      .to_bytes();
    Ok(Answer {
      status: parts.status,
      headers: parts.headers,
      body,
    })
  };
  tokio::time::timeout(timeout, exchange)
    .await
    .unwrap_or(Err(NoAnswer::TimedOut))
}

/// A client error with its causes ("connection refused" is a cause of hyper's
/// "client error (Connect)").
fn describe(error: &dyn std::error::Error) -> String {
  let mut text = error.to_string();
  let mut cause = error.source();
  while let Some(inner) = cause {
    text.push_str(": ");
    text.push_str(&inner.to_string());
    cause = inner.source();
  }
  text
}

/// `k=v&…`, each percent-encoded (RFC 3986 unreserved characters kept), for a query or
/// a form body.
pub fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
  let encode = |text: &str| {
    text
      .bytes()
      .map(|b| match b {
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
        _ => format!("%{b:02X}"),
      })
      .collect::<String>()
  };
  pairs
    .iter()
    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
    .collect::<Vec<_>>()
    .join("&")
}
