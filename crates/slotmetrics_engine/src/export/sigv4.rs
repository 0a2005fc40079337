//! AWS Signature Version 4 for pushes to CloudWatch (service `monitoring`) and Amazon
//! Managed Prometheus (`aps`): the signing is `aws-sigv4`'s; the credentials come from
//! where AWS users keep them, in the AWS SDKs' order:
//!
//! 1. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! 2. the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
//!    `~/.aws/credentials`), profile `AWS_PROFILE` or `default`;
//! 3. web identity (EKS IRSA): `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`,
//!    exchanged with STS `AssumeRoleWithWebIdentity`;
//! 4. container credentials (ECS, EKS Pod Identity): `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`
//!    or `_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`;
//! 5. the EC2 instance metadata service, IMDSv2 (`AWS_EC2_METADATA_SERVICE_ENDPOINT`
//!    overrides its address).
//!
//! Credentials that expire are fetched again five minutes before they do. Secrets are
//! never put in an error message.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Uri};
use tokio::sync::Mutex;

use super::{http, variable};

/// How long a credentials request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Credentials are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

pub struct Signer {
  region: String,
  service: String,
  cached: Mutex<Option<Credentials>>,
}

impl Signer {
  pub fn new(region: String, service: String) -> Signer {
    Signer {
      region,
      service,
      cached: Mutex::new(None),
    }
  }

  /// The headers that sign a request of these headers and body (`authorization`,
  /// `x-amz-date`, and `x-amz-security-token` for temporary credentials).
  pub async fn sign(
    &self,
    method: &str,
    url: &Uri,
    headers: &[(HeaderName, HeaderValue)],
    body: &[u8],
  ) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let credentials = self.credentials().await?;
    sign_with(
      &credentials,
      &self.region,
      &self.service,
      SystemTime::now(),
      method,
      url,
      headers,
      body,
    )
  }

  async fn credentials(&self) -> Result<Credentials, String> {
    let mut cached = self.cached.lock().await;
    let fresh = |c: &Credentials| c.expiry().is_none_or(|at| SystemTime::now() + RENEW_BEFORE < at);
    if let Some(credentials) = cached.as_ref().filter(|c| fresh(c)) {
      return Ok(credentials.clone());
    }
    let credentials = find_credentials(&self.region).await?;
    *cached = Some(credentials.clone());
    Ok(credentials)
  }
}

/// Signs at `time` with `credentials`: the signature headers.
#[allow(clippy::too_many_arguments)]
pub fn sign_with(
  credentials: &Credentials,
  region: &str,
  service: &str,
  time: SystemTime,
  method: &str,
  url: &Uri,
  headers: &[(HeaderName, HeaderValue)],
  body: &[u8],
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
  let identity = credentials.clone().into();
  let params = v4::SigningParams::builder()
    .identity(&identity)
    .region(region)
    .name(service)
    .time(time)
    .settings(SigningSettings::default())
    .build()
    .map_err(|e| format!("cannot sign: {e}"))?
    .into();
  let values: Vec<(&str, &str)> = headers
    .iter()
    .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
    .collect();
  let url = url.to_string();
  let request = SignableRequest::new(method, &url, values.into_iter(), SignableBody::Bytes(body))
    .map_err(|e| format!("cannot sign the request: {e}"))?;
  let (instructions, _) = sign(request, &params)
    .map_err(|e| format!("cannot sign the request: {e}"))?
    .into_parts();
  instructions
    .headers()
    .map(|(name, value)| {
      Ok((
        HeaderName::from_bytes(name.as_bytes())
          .map_err(|_| "a signing header name is invalid".to_string())?,
        HeaderValue::from_str(value).map_err(|_| format!("the signing header {name} is invalid"))?,
      ))
    })
    .collect()
}

/// The first source of credentials that has some.
async fn find_credentials(region: &str) -> Result<Credentials, String> {
  if let (Some(key), Some(secret)) = (variable("AWS_ACCESS_KEY_ID"), variable("AWS_SECRET_ACCESS_KEY")) {
    return Ok(Credentials::new(
      key,
      secret,
      variable("AWS_SESSION_TOKEN"),
      None,
      "environment",
    ));
  }
  if let Some(credentials) = from_profile()? {
    return Ok(credentials);
  }
  if let (Some(token_file), Some(role)) = (variable("AWS_WEB_IDENTITY_TOKEN_FILE"), variable("AWS_ROLE_ARN"))
  {
    return from_web_identity(region, &token_file, &role).await;
  }
  if variable("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
    || variable("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
  {
    return from_container().await;
  }
  from_instance_metadata().await.map_err(|why| {
    format!(
      "no AWS credentials: none in the environment, the shared credentials file, web identity or container variables, and the instance metadata service gave none ({why})"
    )
  })
}

/// The keys of the profile in the shared credentials file, if it has them.
fn from_profile() -> Result<Option<Credentials>, String> {
  let path = match variable("AWS_SHARED_CREDENTIALS_FILE") {
    Some(path) => std::path::PathBuf::from(path),
    None => match variable("HOME").or_else(|| variable("USERPROFILE")) {
      Some(home) => std::path::Path::new(&home).join(".aws").join("credentials"),
      None => return Ok(None),
    },
  };
  let Ok(text) = std::fs::read_to_string(&path) else {
    return Ok(None);
  };
  let profile = variable("AWS_PROFILE").unwrap_or_else(|| "default".into());
  let mut in_profile = false;
  let (mut key, mut secret, mut token) = (None, None, None);
  for line in text.lines().map(str::trim) {
    if line.starts_with('[') && line.ends_with(']') {
      in_profile = line[1..line.len() - 1].trim() == profile;
      continue;
    }
    let Some((name, value)) = line.split_once('=').filter(|_| in_profile) else {
      continue;
    };
    let value = Some(value.trim().to_string());
    match name.trim() {
      "aws_access_key_id" => key = value,
      "aws_secret_access_key" => secret = value,
      "aws_session_token" => token = value,
      _ => {}
    }
  }
  Ok(match (key, secret) {
    (Some(key), Some(secret)) => Some(Credentials::new(key, secret, token, None, "profile")),
    _ => None,
  })
}

/// Credentials in the JSON the container and instance metadata services answer with.
fn from_json(body: &[u8], source: &'static str) -> Result<Credentials, String> {
  #[derive(serde::Deserialize)]
  #[serde(rename_all = "PascalCase")]
  struct Answer {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
    expiration: Option<String>,
  }
  let answer: Answer =
    serde_json::from_slice(body).map_err(|_| format!("the {source} answered without credentials"))?;
  let expiry = answer.expiration.as_deref().and_then(parse_time);
  Ok(Credentials::new(
    answer.access_key_id,
    answer.secret_access_key,
    answer.token,
    expiry,
    source,
  ))
}

/// An RFC 3339 UTC time such as `2026-12-06T23:00:00Z`.
fn parse_time(text: &str) -> Option<SystemTime> {
  let text = text.trim().trim_end_matches('Z');
  let (date, time) = text.split_once('T')?;
  let mut date = date.split('-').map(|p| p.parse::<i64>());
  let (y, m, d) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
  let mut time = time.split(':');
  let (hh, mm) = (
    time.next()?.parse::<i64>().ok()?,
    time.next()?.parse::<i64>().ok()?,
  );
  let ss = time.next()?.split('.').next()?.parse::<i64>().ok()?;
  // Days since the epoch of a proleptic Gregorian date (Howard Hinnant's algorithm).
  let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
  let era = y.div_euclid(400);
  let year_of_era = y - era * 400;
  let day_of_year = (153 * m + 2) / 5 + d - 1;
  let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  let days = era * 146_097 + day_of_era - 719_468;
  let seconds = days * 86_400 + hh * 3600 + mm * 60 + ss;
  Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?))
}

async fn get(url: &str, headers: &[(HeaderName, HeaderValue)], what: &str) -> Result<Bytes, String> {
  request(Method::GET, url, headers, what).await
}

async fn request(
  method: Method,
  url: &str,
  headers: &[(HeaderName, HeaderValue)],
  what: &str,
) -> Result<Bytes, String> {
  let uri: Uri = url
    .parse()
    .map_err(|_| format!("the {what} address is not a URL"))?;
  let answer = http::send(method, &uri, headers, Bytes::new(), FETCH_TIMEOUT)
    .await
    .map_err(|e| format!("cannot reach the {what}: {e}"))?;
  if !answer.status.is_success() {
    return Err(format!("the {what} answered {}", answer.status));
  }
  Ok(answer.body)
}

async fn from_container() -> Result<Credentials, String> {
  let url = match variable("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
    Some(path) => format!("http://169.254.170.2{path}"),
    None => variable("AWS_CONTAINER_CREDENTIALS_FULL_URI").unwrap_or_default(),
  };
  let token = match variable("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
    Some(file) => Some(
      std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: {e}"))?
        .trim()
        .to_string(),
    ),
    None => variable("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
  };
  let mut headers = vec![];
  if let Some(token) = token {
    let value =
      HeaderValue::from_str(&token).map_err(|_| "the container authorization token is not a header value")?;
    headers.push((hyper::header::AUTHORIZATION, value));
  }
  from_json(
    &get(&url, &headers, "container credentials service").await?,
    "container credentials service",
  )
}

async fn from_instance_metadata() -> Result<Credentials, String> {
  let base = variable("AWS_EC2_METADATA_SERVICE_ENDPOINT").unwrap_or_else(|| "http://169.254.169.254".into());
  let base = base.trim_end_matches('/');
  const WHAT: &str = "instance metadata service";
  let ttl = (
    HeaderName::from_static("x-aws-ec2-metadata-token-ttl-seconds"),
    HeaderValue::from_static("21600"),
  );
  let token = request(Method::PUT, &format!("{base}/latest/api/token"), &[ttl], WHAT).await?;
  let token =
    HeaderValue::from_bytes(&token).map_err(|_| "the instance metadata token is not a header value")?;
  let with_token = [(HeaderName::from_static("x-aws-ec2-metadata-token"), token)];
  let roles = get(
    &format!("{base}/latest/meta-data/iam/security-credentials/"),
    &with_token,
    WHAT,
  )
  .await?;
  let role = String::from_utf8_lossy(&roles)
    .lines()
    .next()
    .unwrap_or("")
    .trim()
    .to_string();
  if role.is_empty() {
    return Err("the instance has no IAM role".into());
  }
  let body = get(
    &format!("{base}/latest/meta-data/iam/security-credentials/{role}"),
    &with_token,
    WHAT,
  )
  .await?;
  from_json(&body, "instance metadata service")
}

/// The text of `<tag>…</tag>` in an XML answer.
fn xml_value<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
  let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
  let end = start + xml[start..].find(&format!("</{tag}>"))?;
  Some(&xml[start..end])
}

async fn from_web_identity(region: &str, token_file: &str, role: &str) -> Result<Credentials, String> {
  let token = std::fs::read_to_string(token_file)
    .map_err(|e| format!("cannot read AWS_WEB_IDENTITY_TOKEN_FILE: {e}"))?;
  let session = variable("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| "slotmetrics".into());
  let endpoint =
    variable("AWS_ENDPOINT_URL_STS").unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"));
  let query: String = http::form_urlencoded(&[
    ("Action", "AssumeRoleWithWebIdentity"),
    ("Version", "2011-06-15"),
    ("RoleArn", role),
    ("RoleSessionName", &session),
    ("WebIdentityToken", token.trim()),
  ]);
  let body = get(
    &format!("{}/?{query}", endpoint.trim_end_matches('/')),
    &[],
    "STS web identity exchange",
  )
  .await?;
  let xml = String::from_utf8_lossy(&body);
  let value = |tag| {
    xml_value(&xml, tag)
      .map(str::to_string)
      .ok_or("STS answered without credentials")
  };
  Ok(Credentials::new(
    value("AccessKeyId")?,
    value("SecretAccessKey")?,
    Some(value("SessionToken")?),
    xml_value(&xml, "Expiration").and_then(parse_time),
    "web identity",
  ))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn times_read_as_rfc_3339() {
    let at = parse_time("2026-12-06T23:00:05Z").unwrap();
    assert_eq!(
      at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
      1_796_598_005
    );
    assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(SystemTime::UNIX_EPOCH));
    assert_eq!(parse_time("soon"), None);
  }

  #[test]
  fn xml_values_and_query_encoding() {
    let xml = "<A><AccessKeyId>AKIA</AccessKeyId><Expiration>2026-01-01T00:00:00Z</Expiration></A>";
    assert_eq!(xml_value(xml, "AccessKeyId"), Some("AKIA"));
    assert_eq!(xml_value(xml, "SessionToken"), None);
    assert_eq!(http::form_urlencoded(&[("a b", "x/y=z")]), "a%20b=x%2Fy%3Dz");
  }
}
