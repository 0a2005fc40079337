//! When to send a request again: only for the answers its protocol allows, after the
//! wait the receiver asked for (`Retry-After`) or an exponential backoff with jitter,
//! and never past the export's deadline.

use std::time::{Duration, Instant, SystemTime};

use hyper::header::{HeaderMap, RETRY_AFTER};

/// The first wait, and how each next one grows, up to `MAX_BACKOFF` (the OpenTelemetry
/// JS exporter's figures).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const BACKOFF_FACTOR: f64 = 1.5;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The wait before attempt `retry` (0 for the first retry): the backoff, ±20 % jitter so
/// that many processes restarted together do not retry together.
pub fn backoff(retry: u32) -> Duration {
  let base = FIRST_BACKOFF.as_secs_f64() * BACKOFF_FACTOR.powi(retry as i32);
  let base = base.min(MAX_BACKOFF.as_secs_f64());
  Duration::from_secs_f64(base * (0.8 + 0.4 * unit_random()))
}

/// A number in [0, 1) that differs between calls and processes: enough for jitter.
fn unit_random() -> f64 {
  use std::hash::{BuildHasher, Hasher};
  let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
  hasher.write_u128(
    SystemTime::now()
      .duration_since(SystemTime::UNIX_EPOCH)
      .unwrap_or_default()
      .as_nanos(),
  );
  (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The longest wait a receiver's `Retry-After` is honoured for: one that asks for more
/// (a misconfigured proxy's) would silence the exporter for as long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// The wait a `Retry-After` header asks for (seconds, or an HTTP date), at most
/// `MAX_RETRY_AFTER`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
  let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
  let wait = match value.parse::<u64>() {
    Ok(seconds) => Duration::from_secs(seconds),
    Err(_) => {
      let at = httpdate::parse_http_date(value).ok()?;
      at.duration_since(SystemTime::now()).unwrap_or_default()
    }
  };
  Some(wait.min(MAX_RETRY_AFTER))
}

/// When the next attempt may go, or `None` if waiting `wait` would pass `deadline`.
pub fn next_attempt(wait: Duration, deadline: Instant) -> Option<Instant> {
  let at = Instant::now() + wait;
  (at < deadline).then_some(at)
}

#[cfg(test)]
mod tests {
  use super::*;
  use hyper::header::HeaderValue;

  #[test]
  fn backoff_grows_to_its_cap_with_jitter() {
    for retry in 0..10 {
      let expected = (1.5f64.powi(retry as i32)).min(5.0);
      let wait = backoff(retry).as_secs_f64();
      assert!(
        wait >= expected * 0.8 && wait <= expected * 1.2,
        "retry {retry}: {wait}"
      );
    }
  }

  #[test]
  fn retry_after_reads_seconds_and_dates() {
    let mut headers = HeaderMap::new();
    assert_eq!(retry_after(&headers), None);
    headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
    let later = SystemTime::now() + Duration::from_secs(30);
    headers.insert(
      RETRY_AFTER,
      HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
    );
    let wait = retry_after(&headers).unwrap().as_secs();
    assert!((28..=30).contains(&wait), "{wait}");
    headers.insert(
      RETRY_AFTER,
      HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&headers), Some(Duration::ZERO), "a date past");
    headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
    assert_eq!(retry_after(&headers), None);
    headers.insert(RETRY_AFTER, HeaderValue::from_static("86400"));
    assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER), "capped");
  }
}
