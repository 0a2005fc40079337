//! Metric and label name rules of the Prometheus data model, and the schemes that
//! escape a name outside them for a scraper that cannot read it quoted.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_metric_name(name: &str) -> bool {
  let mut bytes = name.bytes();
  matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
    && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub fn is_label_name(name: &str) -> bool {
  let mut bytes = name.bytes();
  matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
    && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Label names starting with `__` belong to Prometheus itself.
pub fn is_reserved_label(name: &str) -> bool {
  name.starts_with("__")
}

/// How names outside the legacy character set reach a scraper (Prometheus's "UTF-8
/// escaping schemes"), chosen by the `escaping` parameter of its `Accept` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escaping {
  /// Names as they are (quoted in text where they need it).
  AllowUtf8,
  /// Every character outside the legacy set becomes `_`: the default.
  Underscores,
  /// `.` becomes `_dot_`, `_` becomes `__`, any other such character `_`: reversible
  /// for names made of legacy characters and dots. Applies to legacy names too.
  Dots,
  /// `U__` and each such character's code point in hex between underscores, `_` doubled;
  /// legacy names as they are.
  Values,
}

impl Escaping {
  pub fn parse(value: &str) -> Option<Escaping> {
    match value {
      // The negotiation spec's own examples spell it without the second hyphen.
      "allow-utf-8" | "allow-utf8" => Some(Escaping::AllowUtf8),
      "underscores" => Some(Escaping::Underscores),
      "dots" => Some(Escaping::Dots),
      "values" => Some(Escaping::Values),
      _ => None,
    }
  }

  pub fn as_str(self) -> &'static str {
    match self {
      Escaping::AllowUtf8 => "allow-utf-8",
      Escaping::Underscores => "underscores",
      Escaping::Dots => "dots",
      Escaping::Values => "values",
    }
  }

  /// A metric name as this scheme exposes it.
  pub fn metric_name(self, name: &str) -> Cow<'_, str> {
    self.apply(name, is_metric_name(name), |c, first| {
      c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
    })
  }

  /// A label name as this scheme exposes it.
  pub fn label_name(self, name: &str) -> Cow<'_, str> {
    self.apply(name, is_label_name(name), |c, first| {
      c.is_ascii_alphabetic() || c == '_' || (!first && c.is_ascii_digit())
    })
  }

  fn apply(self, name: &str, legacy: bool, allowed: impl Fn(char, bool) -> bool) -> Cow<'_, str> {
    let unchanged = match self {
      Escaping::AllowUtf8 => true,
      Escaping::Underscores | Escaping::Values => legacy,
      Escaping::Dots => legacy && !name.contains('_'),
    };
    if unchanged || name.is_empty() {
      return Cow::Borrowed(name);
    }
    let mut escaped = String::with_capacity(name.len() + 4);
    if self == Escaping::Values {
      escaped.push_str("U__");
    }
    for (i, c) in name.chars().enumerate() {
      match self {
        Escaping::Dots | Escaping::Values if c == '_' => escaped.push_str("__"),
        Escaping::Dots if c == '.' => escaped.push_str("_dot_"),
        _ if allowed(c, i == 0) => escaped.push(c),
        Escaping::Values => {
          let _ = write!(escaped, "_{:X}_", c as u32);
        }
        _ => escaped.push('_'),
      }
    }
    Cow::Owned(escaped)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn metric_names() {
    for ok in ["a", "_a", ":a", "http_requests_total", "a:b_c9", "A"] {
      assert!(is_metric_name(ok), "{ok}");
    }
    for bad in ["", "9a", "a-b", "a b", "a.b", "é", "a\n"] {
      assert!(!is_metric_name(bad), "{bad:?}");
    }
  }

  #[test]
  fn label_names() {
    for ok in ["a", "_a", "status_code", "A9"] {
      assert!(is_label_name(ok), "{ok}");
    }
    for bad in ["", "9a", "a:b", "a-b", "ü"] {
      assert!(!is_label_name(bad), "{bad:?}");
    }
    assert!(is_reserved_label("__name__"));
    assert!(!is_reserved_label("_a"));
  }

  #[test]
  fn escaping_schemes_follow_the_spec_examples() {
    use Escaping::*;
    assert_eq!(
      Underscores.metric_name("metric.name/with/slashes"),
      "metric_name_with_slashes"
    );
    assert_eq!(
      Dots.metric_name("metric.name.with.dots"),
      "metric_dot_name_dot_with_dot_dots"
    );
    assert_eq!(Values.metric_name("metric.name"), "U__metric_2E_name");
    assert_eq!(AllowUtf8.metric_name("metric.name"), "metric.name");
    // Legacy names: unchanged, but for the dots scheme, which doubles underscores.
    for scheme in [AllowUtf8, Underscores, Values] {
      assert!(matches!(
        scheme.metric_name("http_requests_total"),
        Cow::Borrowed(_)
      ));
    }
    assert_eq!(Dots.metric_name("http_requests_total"), "http__requests__total");
    assert_eq!(Dots.metric_name("up"), "up");
    // A leading digit is not a legacy first character; a colon is not legacy in labels.
    assert_eq!(Underscores.metric_name("9lives"), "_lives");
    assert_eq!(Underscores.label_name("a:b"), "a_b");
    assert_eq!(Underscores.metric_name("a:b"), "a:b");
    assert_eq!(Values.label_name("é_x"), "U___E9___x");
    assert_eq!(Escaping::parse("allow-utf8"), Some(AllowUtf8));
    assert_eq!(Escaping::parse("other"), None);
  }
}
