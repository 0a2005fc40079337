//! Access tokens for Google Cloud's Telemetry API, found as Application Default
//! Credentials are:
//!
//! 1. the JSON file named by `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's
//!    `application_default_credentials.json`: a service-account key (an RS256-signed
//!    JWT exchanged at its `token_uri`) or a user's refresh token;
//! 2. the metadata server of GCE, GKE and Cloud Run (`GCE_METADATA_HOST` overrides its
//!    address).
//!
//! A token is fetched again five minutes before it expires. Keys and tokens are never
//! put in an error message.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Uri};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;
use tokio::sync::Mutex;

use super::{http, variable};

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// Where tokens come from.
enum Source {
  ServiceAccount {
    email: String,
    key: RsaKeyPair,
    token_uri: String,
  },
  User {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    token_uri: String,
    quota_project: Option<String>,
  },
  MetadataServer {
    host: String,
  },
}

pub struct GoogleAuth {
  source: Source,
  token: Mutex<Option<(String, Instant)>>,
}

/// A credentials file as `GOOGLE_APPLICATION_CREDENTIALS` names it.
#[derive(serde::Deserialize)]
struct CredentialsFile {
  #[serde(rename = "type")]
  kind: String,
  client_email: Option<String>,
  private_key: Option<String>,
  token_uri: Option<String>,
  project_id: Option<String>,
  client_id: Option<String>,
  client_secret: Option<String>,
  refresh_token: Option<String>,
  quota_project_id: Option<String>,
}

impl GoogleAuth {
  /// Reads the Application Default Credentials (`file` first, if given); also returns
  /// the project a key file names.
  pub fn find(file: Option<&str>) -> Result<(GoogleAuth, Option<String>), String> {
    let explicit = file
      .map(str::to_string)
      .or_else(|| variable("GOOGLE_APPLICATION_CREDENTIALS"));
    let gcloud = variable("CLOUDSDK_CONFIG")
      .map(std::path::PathBuf::from)
      .or_else(|| variable("HOME").map(|home| std::path::Path::new(&home).join(".config").join("gcloud")))
      .map(|dir| dir.join("application_default_credentials.json"));
    let text = match &explicit {
      Some(path) => Some(
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the credentials file {path}: {e}"))?,
      ),
      None => gcloud.and_then(|path| std::fs::read_to_string(path).ok()),
    };
    let Some(text) = text else {
      let host = variable("GCE_METADATA_HOST").unwrap_or_else(|| "metadata.google.internal".into());
      return Ok((GoogleAuth::from(Source::MetadataServer { host }), None));
    };
    let file: CredentialsFile = serde_json::from_str(&text)
      .map_err(|_| "the Google credentials file is not a credentials JSON".to_string())?;
    let token_uri = file
      .token_uri
      .clone()
      .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into());
    let source = match file.kind.as_str() {
      "service_account" => {
        let (Some(email), Some(pem)) = (file.client_email, file.private_key) else {
          return Err("the service-account key file has no client_email or private_key".into());
        };
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
          .map_err(|_| "the service-account key file's private_key is not a PKCS#8 PEM key".to_string())?;
        let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
          .map_err(|_| "the service-account key file's private_key is not an RSA key".to_string())?;
        Source::ServiceAccount { email, key, token_uri }
      }
      "authorized_user" => {
        let (Some(client_id), Some(client_secret), Some(refresh_token)) =
          (file.client_id, file.client_secret, file.refresh_token)
        else {
          return Err("the user credentials file has no client_id, client_secret or refresh_token".into());
        };
        Source::User {
          client_id,
          client_secret,
          refresh_token,
          token_uri,
          quota_project: file.quota_project_id,
        }
      }
      other => return Err(format!("Google credentials of type \"{other}\" are not supported; use a service-account key or the metadata server")),
    };
    Ok((GoogleAuth::from(source), file.project_id))
  }

  /// The headers that authorize a request: the bearer token, and for a user's
  /// credentials the project billed for the quota.
  pub async fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let token = self.token().await?;
    let mut headers = vec![(
      AUTHORIZATION,
      HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the access token is not a header value".to_string())?,
    )];
    if let Source::User {
      quota_project: Some(project),
      ..
    } = &self.source
    {
      if let Ok(value) = HeaderValue::from_str(project) {
        headers.push((HeaderName::from_static("x-goog-user-project"), value));
      }
    }
    Ok(headers)
  }

  async fn token(&self) -> Result<String, String> {
    let mut cached = self.token.lock().await;
    if let Some((token, expires)) = cached.as_ref() {
      if Instant::now() + RENEW_BEFORE < *expires {
        return Ok(token.clone());
      }
    }
    let (token, lifetime) = self.fetch().await?;
    *cached = Some((token.clone(), Instant::now() + lifetime));
    Ok(token)
  }

  async fn fetch(&self) -> Result<(String, Duration), String> {
    match &self.source {
      Source::ServiceAccount {
        email,
        key,
        token_uri,
      } => {
        let assertion = signed_assertion(email, key, token_uri)?;
        let body = http::form_urlencoded(&[
          ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
          ("assertion", &assertion),
        ]);
        token_answer(&post_form(token_uri, body, "token endpoint").await?)
      }
      Source::User {
        client_id,
        client_secret,
        refresh_token,
        token_uri,
        ..
      } => {
        let body = http::form_urlencoded(&[
          ("grant_type", "refresh_token"),
          ("client_id", client_id),
          ("client_secret", client_secret),
          ("refresh_token", refresh_token),
        ]);
        token_answer(&post_form(token_uri, body, "token endpoint").await?)
      }
      Source::MetadataServer { host } => {
        let url: Uri = format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token")
          .parse()
          .map_err(|_| "GCE_METADATA_HOST is not a host".to_string())?;
        let flavor = (
          HeaderName::from_static("metadata-flavor"),
          HeaderValue::from_static("Google"),
        );
        let answer = http::send(Method::GET, &url, &[flavor], Bytes::new(), FETCH_TIMEOUT)
          .await
          .map_err(|e| {
            format!(
              "no Google credentials: no credentials file, and the metadata server is out of reach ({e})"
            )
          })?;
        if !answer.status.is_success() {
          return Err(format!(
            "the metadata server answered {} for a token",
            answer.status
          ));
        }
        token_answer(&answer.body)
      }
    }
  }
}

impl From<Source> for GoogleAuth {
  fn from(source: Source) -> GoogleAuth {
    GoogleAuth {
      source,
      token: Mutex::new(None),
    }
  }
}

async fn post_form(url: &str, body: String, what: &str) -> Result<Bytes, String> {
  let uri: Uri = url.parse().map_err(|_| format!("the {what} is not a URL"))?;
  let content_type = (
    CONTENT_TYPE,
    HeaderValue::from_static("application/x-www-form-urlencoded"),
  );
  let answer = http::send(Method::POST, &uri, &[content_type], body.into(), FETCH_TIMEOUT)
    .await
    .map_err(|e| format!("cannot reach the Google {what}: {e}"))?;
  if !answer.status.is_success() {
    let said: String = String::from_utf8_lossy(&answer.body).chars().take(200).collect();
    return Err(format!(
      "the Google {what} answered {}: {}",
      answer.status,
      said.trim()
    ));
  }
  Ok(answer.body)
}

/// `access_token` and `expires_in` of a token answer.
fn token_answer(body: &[u8]) -> Result<(String, Duration), String> {
  #[derive(serde::Deserialize)]
  struct Answer {
    access_token: String,
    expires_in: Option<u64>,
  }
  let answer: Answer =
    serde_json::from_slice(body).map_err(|_| "the token answer has no access_token".to_string())?;
  Ok((
    answer.access_token,
    Duration::from_secs(answer.expires_in.unwrap_or(3600)),
  ))
}

/// The JWT a service account signs to ask for a token (RFC 7523), valid for an hour.
fn signed_assertion(email: &str, key: &RsaKeyPair, audience: &str) -> Result<String, String> {
  let now = SystemTime::now()
    .duration_since(UNIX_EPOCH)
    .unwrap_or_default()
    .as_secs();
  let header = base64url(br#"{"alg":"RS256","typ":"JWT"}"#);
  let claims =
    serde_json::json!({ "iss": email, "scope": SCOPE, "aud": audience, "iat": now, "exp": now + 3600 });
  let unsigned = format!("{header}.{}", base64url(claims.to_string().as_bytes()));
  let mut signature = vec![0; key.public().modulus_len()];
  key
    .sign(
      &RSA_PKCS1_SHA256,
      &SystemRandom::new(),
      unsigned.as_bytes(),
      &mut signature,
    )
    .map_err(|_| "cannot sign the service-account assertion".to_string())?;
  Ok(format!("{unsigned}.{}", base64url(&signature)))
}

/// Base64 with the URL alphabet and no padding, as JWTs write it.
fn base64url(bytes: &[u8]) -> String {
  const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
  for chunk in bytes.chunks(3) {
    let n = chunk
      .iter()
      .enumerate()
      .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
    for i in 0..=chunk.len() {
      out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
    }
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn base64url_without_padding() {
    assert_eq!(base64url(b""), "");
    assert_eq!(base64url(b"f"), "Zg");
    assert_eq!(base64url(b"fo"), "Zm8");
    assert_eq!(base64url(b"foo"), "Zm9v");
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
  }
}
