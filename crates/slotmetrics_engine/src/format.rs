//! What a scrape is answered in: the protocols of Prometheus's content negotiation,
//! with the scheme names are escaped by, chosen from the scraper's `Accept` header.
//!
//! The rules (Prometheus docs, "Scrape protocol content negotiation"): use the
//! supported protocol the header weighs highest; with none, text 0.0.4. The
//! `Content-Type` names the version, and for text 1.0.0 formats and protobuf the
//! escaping scheme (`underscores` unless the scraper asked for another).

use crate::names::Escaping;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
  /// Length-delimited `io.prometheus.client.MetricFamily` messages: the only one that
  /// carries native histograms.
  PrometheusProto,
  PrometheusText0_0_4,
  /// 0.0.4 with quoted UTF-8 names allowed.
  PrometheusText1_0_0,
  OpenMetricsText0_0_1,
  OpenMetricsText1_0_0,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
  pub protocol: Protocol,
  pub escaping: Escaping,
}

impl Format {
  /// Text 0.0.4: the answer to a scraper that says nothing, or nothing supported.
  pub const PROMETHEUS_TEXT: Format = Format {
    protocol: Protocol::PrometheusText0_0_4,
    escaping: Escaping::Underscores,
  };
  pub const OPENMETRICS_TEXT: Format = Format {
    protocol: Protocol::OpenMetricsText1_0_0,
    escaping: Escaping::Underscores,
  };
  pub const PROTOBUF: Format = Format {
    protocol: Protocol::PrometheusProto,
    escaping: Escaping::Underscores,
  };

  pub fn is_openmetrics(self) -> bool {
    matches!(
      self.protocol,
      Protocol::OpenMetricsText0_0_1 | Protocol::OpenMetricsText1_0_0
    )
  }

  pub fn content_type(self) -> String {
    let base = match self.protocol {
      Protocol::PrometheusProto => {
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
      }
      Protocol::PrometheusText0_0_4 => "text/plain; version=0.0.4; charset=utf-8",
      Protocol::PrometheusText1_0_0 => "text/plain; version=1.0.0; charset=utf-8",
      Protocol::OpenMetricsText0_0_1 => "application/openmetrics-text; version=0.0.1; charset=utf-8",
      Protocol::OpenMetricsText1_0_0 => "application/openmetrics-text; version=1.0.0; charset=utf-8",
    };
    let names_escaping = matches!(
      self.protocol,
      Protocol::PrometheusProto | Protocol::PrometheusText1_0_0 | Protocol::OpenMetricsText1_0_0
    );
    if names_escaping || self.escaping != Escaping::Underscores {
      format!("{base}; escaping={}", self.escaping.as_str())
    } else {
      base.to_string()
    }
  }

  /// The best format for an `Accept` header.
  pub fn negotiate(accept: &str) -> Format {
    let mut best: Option<(f32, bool, Format)> = None;
    for item in weighted_items(accept) {
      let Some(format) = supported(&item) else {
        continue;
      };
      // Equal weights: the first listed wins, but a wildcard loses to a named type.
      let wildcard = item.value.ends_with("/*");
      let better = best
        .is_none_or(|(q, best_is_wildcard, _)| item.q > q || (item.q == q && best_is_wildcard && !wildcard));
      if item.q > 0.0 && better {
        best = Some((item.q, wildcard, format));
      }
    }
    best.map_or(Format::PROMETHEUS_TEXT, |(_, _, format)| format)
  }
}

/// The format an `Accept` member names, if it is one served here.
fn supported(item: &WeightedItem) -> Option<Format> {
  let version = item.param("version");
  let protocol = match item.value.as_str() {
    "application/vnd.google.protobuf"
      if item.param("proto") == Some("io.prometheus.client.MetricFamily")
        && item.param("encoding") == Some("delimited") =>
    {
      Protocol::PrometheusProto
    }
    "application/openmetrics-text" => match version {
      Some("0.0.1") => Protocol::OpenMetricsText0_0_1,
      Some("1.0.0") | None => Protocol::OpenMetricsText1_0_0,
      Some(_) => return None,
    },
    "text/plain" => match version {
      Some("0.0.4") | None => Protocol::PrometheusText0_0_4,
      Some("1.0.0") => Protocol::PrometheusText1_0_0,
      Some(_) => return None,
    },
    "text/*" | "*/*" => Protocol::PrometheusText0_0_4,
    _ => return None,
  };
  // An unknown scheme is the default one; quoted names only where the format has them.
  let escaping = match item.param("escaping").and_then(Escaping::parse) {
    Some(Escaping::AllowUtf8)
      if matches!(
        protocol,
        Protocol::PrometheusText0_0_4 | Protocol::OpenMetricsText0_0_1
      ) =>
    {
      Escaping::Underscores
    }
    Some(escaping) => escaping,
    None => Escaping::Underscores,
  };
  Some(Format { protocol, escaping })
}

/// One member of a weighted header list (`Accept`, `Accept-Encoding`): its value
/// lower-cased, its parameters, and its weight.
pub struct WeightedItem<'a> {
  pub value: String,
  params: Vec<(String, &'a str)>,
  pub q: f32,
}

impl WeightedItem<'_> {
  fn param(&self, key: &str) -> Option<&str> {
    self.params.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
  }
}

/// The members of a weighted header list. A member whose weight is not a number from 0
/// to 1 is left out.
pub fn weighted_items(header: &str) -> impl Iterator<Item = WeightedItem<'_>> {
  header.split(',').filter_map(|member| {
    let mut parts = member.split(';');
    let value = parts.next()?.trim().to_ascii_lowercase();
    if value.is_empty() {
      return None;
    }
    let mut params = Vec::new();
    let mut q = 1.0;
    for part in parts {
      let (key, raw) = part.split_once('=')?;
      let key = key.trim().to_ascii_lowercase();
      let raw = raw.trim().trim_matches('"');
      if key == "q" {
        q = raw.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))?;
      } else {
        params.push((key, raw));
      }
    }
    Some(WeightedItem { value, params, q })
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
  const PROMETHEUS_3_PROTOBUF_FIRST: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
  const PROMETHEUS_2_NATIVE_HISTOGRAMS: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

  fn negotiated(accept: &str) -> (Protocol, Escaping) {
    let format = Format::negotiate(accept);
    (format.protocol, format.escaping)
  }

  #[test]
  fn prometheus_defaults() {
    assert_eq!(
      negotiated(PROMETHEUS_3),
      (Protocol::OpenMetricsText1_0_0, Escaping::AllowUtf8)
    );
    assert_eq!(
      Format::negotiate(PROMETHEUS_3).content_type(),
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    );
    assert_eq!(
      negotiated(PROMETHEUS_3_PROTOBUF_FIRST),
      (Protocol::PrometheusProto, Escaping::AllowUtf8)
    );
    assert_eq!(
      Format::negotiate(PROMETHEUS_2_NATIVE_HISTOGRAMS).content_type(),
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores"
    );
    // The spec's own example, with `allow-utf8`.
    assert_eq!(
      negotiated("text/plain;version=1.0.0;escaping=allow-utf8;q=0.3,text/plain;version=0.0.4;q=0.2"),
      (Protocol::PrometheusText1_0_0, Escaping::AllowUtf8)
    );
  }

  #[test]
  fn weights_decide_whatever_the_order() {
    let members = [
      "text/plain;version=0.0.4;q=0.2",
      "application/openmetrics-text;version=0.0.1;q=0.4",
      "*/*;q=0.1",
      "text/plain;version=1.0.0;escaping=dots;q=0.9",
      "application/openmetrics-text;version=1.0.0;q=0.5",
    ];
    for rotation in 0..members.len() {
      let mut order = members.to_vec();
      order.rotate_left(rotation);
      assert_eq!(
        negotiated(&order.join(",")),
        (Protocol::PrometheusText1_0_0, Escaping::Dots),
        "{order:?}"
      );
      order.reverse();
      assert_eq!(
        negotiated(&order.join(" , ")),
        (Protocol::PrometheusText1_0_0, Escaping::Dots)
      );
    }
    assert_eq!(
      negotiated("text/plain;q=0.9, application/openmetrics-text;q=0.5"),
      (Protocol::PrometheusText0_0_4, Escaping::Underscores)
    );
    // Equal weights: the first named type; a wildcard only if nothing else.
    assert_eq!(
      negotiated("*/*, Application/OpenMetrics-Text; Version=0.0.1"),
      (Protocol::OpenMetricsText0_0_1, Escaping::Underscores)
    );
    assert_eq!(
      negotiated("application/json, */*;q=0.8"),
      (Protocol::PrometheusText0_0_4, Escaping::Underscores)
    );
  }

  #[test]
  fn unsupported_or_garbage_gets_text_0_0_4() {
    for accept in [
      "",
      "garbage",
      ";;;,,,",
      "application/json",
      "application/openmetrics-text;q=0",
      "application/openmetrics-text;version=2.0.0",
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
      "application/vnd.google.protobuf",
      "application/openmetrics-text;q=1.5",
      "application/openmetrics-text;q=high",
      "text/html,application/xhtml+xml,application/xml;q=0.9",
      "\u{0}\u{7f}é/😀;q=",
    ] {
      let format = Format::negotiate(accept);
      assert_eq!(format, Format::PROMETHEUS_TEXT, "{accept:?}");
      assert_eq!(format.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    }
  }

  #[test]
  fn escaping_is_validated_and_kept_to_formats_that_quote() {
    assert_eq!(
      negotiated("application/openmetrics-text;version=1.0.0;escaping=nonsense"),
      (Protocol::OpenMetricsText1_0_0, Escaping::Underscores)
    );
    assert_eq!(
      negotiated("text/plain;version=0.0.4;escaping=allow-utf-8"),
      (Protocol::PrometheusText0_0_4, Escaping::Underscores)
    );
    let values = Format::negotiate("text/plain;version=0.0.4;escaping=values");
    assert_eq!(
      values.content_type(),
      "text/plain; version=0.0.4; charset=utf-8; escaping=values"
    );
  }
}
