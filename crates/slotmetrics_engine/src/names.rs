//! Metric and label name rules of the Prometheus data model.

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
}
