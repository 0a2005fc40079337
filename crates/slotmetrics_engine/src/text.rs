//! Exposition text at its smallest: numbers as the formats write them, label sets
//! escaped and joined, and label text read back. Registration escapes a series' label
//! set once with these; the encoders and the data read of a scrape use them too.
//! A label name outside the legacy character set (a metric that opted into UTF-8
//! names) is written quoted, as text 1.0.0 and OpenMetrics 1.0 with
//! `escaping=allow-utf-8` have it.

use std::borrow::Cow;

use crate::names::is_label_name;

/// Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label_value(value: &str, out: &mut String) {
  // Most values need no escape: one byte scan, then one copy (registration is a hot path).
  if !value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
    out.push_str(value);
    return;
  }
  for c in value.chars() {
    match c {
      '\\' => out.push_str("\\\\"),
      '"' => out.push_str("\\\""),
      '\n' => out.push_str("\\n"),
      c => out.push(c),
    }
  }
}

/// `k="v",k2="v2"` from label pairs, values escaped: a series' label set as written.
/// A name that is not a legacy label name is quoted and escaped as a value is.
pub fn label_text<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)> + Clone) -> String {
  let mut text = String::new();
  write_label_text(pairs, &mut text);
  text
}

/// `label_text` written at the end of `out`.
pub fn write_label_text<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)> + Clone, out: &mut String) {
  // Sized up front (escapes aside): registration is a hot path.
  out.reserve(
    pairs
      .clone()
      .into_iter()
      .map(|(k, v)| k.len() + v.len() + 4)
      .sum(),
  );
  for (i, (key, value)) in pairs.into_iter().enumerate() {
    if i > 0 {
      out.push(',');
    }
    write_name(key, is_label_name(key), out);
    out.push_str("=\"");
    escape_label_value(value, out);
    out.push('"');
  }
}

/// A name as the text writes it: as it is if `legacy`, else quoted, escaped as a label
/// value is.
pub fn write_name(name: &str, legacy: bool, out: &mut String) {
  if legacy {
    out.push_str(name);
  } else {
    out.push('"');
    escape_label_value(name, out);
    out.push('"');
  }
}

/// Writes a sample value: integers without a fraction, other floats in shortest
/// round-trip form, and `+Inf`, `-Inf`, `NaN` as the formats spell them.
pub fn write_number(out: &mut Vec<u8>, v: f64) {
  if v.is_nan() {
    out.extend_from_slice(b"NaN");
  } else if v.is_infinite() {
    out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
  } else if v.fract() == 0.0 && v.abs() < 1e15 {
    out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
  } else {
    out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
  }
}

pub fn format_number(v: f64) -> String {
  let mut out = Vec::new();
  write_number(&mut out, v);
  String::from_utf8(out).expect("numbers are ASCII")
}

/// Writes a sample value as prom-client (15 and 0.16) does: JavaScript's `String(v)`
/// (`1e+21`, `-1.5e-7`), `+Inf`, `-Inf` and `Nan`, a spelling Prometheus's parsers and
/// the OpenMetrics parser read as NaN (they take any case) and users' snapshots hold.
pub fn write_js_number(out: &mut Vec<u8>, v: f64) {
  if v.is_finite() {
    out.extend_from_slice(ryu_js::Buffer::new().format_finite(v).as_bytes());
  } else if v.is_nan() {
    out.extend_from_slice(b"Nan");
  } else {
    write_number(out, v);
  }
}

pub fn format_js_number(v: f64) -> String {
  let mut out = Vec::new();
  write_js_number(&mut out, v);
  String::from_utf8(out).expect("numbers are ASCII")
}

/// Reads a quoted string's contents up to its closing quote (borrowed unless something
/// in it was escaped), and the rest after the quote.
fn unquote(text: &str) -> (Cow<'_, str>, &str) {
  // A byte search: both are ASCII, which never occurs inside a UTF-8 sequence.
  match text.bytes().position(|b| b == b'"' || b == b'\\') {
    Some(end) if text.as_bytes()[end] == b'"' => return (Cow::Borrowed(&text[..end]), &text[end + 1..]),
    None => return (Cow::Borrowed(text), ""),
    Some(_) => {}
  }
  let mut value = String::new();
  let mut chars = text.char_indices();
  while let Some((i, c)) = chars.next() {
    match c {
      '\\' => match chars.next() {
        Some((_, 'n')) => value.push('\n'),
        Some((_, escaped)) => value.push(escaped),
        None => {}
      },
      '"' => return (Cow::Owned(value), &text[i + 1..]),
      c => value.push(c),
    }
  }
  (Cow::Owned(value), "")
}

/// The pairs of `k="v",k2="v2"` (escaped `\\`, `\"`, `\n`; a name quoted or not),
/// borrowed from the text where nothing was escaped.
pub fn label_pairs(text: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
  let mut rest = text.trim_start_matches(',');
  std::iter::from_fn(move || {
    if rest.is_empty() {
      return None;
    }
    let (key, after) = match rest.strip_prefix('"') {
      Some(quoted) => {
        let (key, after) = unquote(quoted);
        (key, after.strip_prefix("=\"").unwrap_or(""))
      }
      None => {
        // An unquoted name is a legacy one: its `=` is the first.
        let at = rest.bytes().position(|b| b == b'=')?;
        (Cow::Borrowed(&rest[..at]), rest[at + 1..].strip_prefix('"')?)
      }
    };
    let (value, after) = unquote(after);
    rest = after.trim_start_matches(',');
    Some((key, value))
  })
}

/// Reads `k="v",k2="v2"` back into owned pairs (see `label_pairs`).
pub fn parse_labels(text: &str) -> Vec<(String, String)> {
  label_pairs(text)
    .map(|(key, value)| (key.into_owned(), value.into_owned()))
    .collect()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn utf8_names_are_quoted_and_read_back() {
    let pairs = [("my.label", "v"), ("code", "200"), ("a \"q\" \\ \n", "x")];
    let text = label_text(pairs);
    assert_eq!(text, r#""my.label"="v",code="200","a \"q\" \\ \n"="x""#);
    let parsed = parse_labels(&text);
    let expected: Vec<(String, String)> = pairs
      .iter()
      .map(|(k, v)| (k.to_string(), v.to_string()))
      .collect();
    assert_eq!(parsed, expected);
  }

  #[test]
  fn label_text_reads_back_to_the_values() {
    let values = [
      "plain",
      "q\"uote",
      "back\\slash",
      "new\nline",
      "\\n literal",
      "",
      "ü 😀",
      "a=\"b\",c",
    ];
    let keys: Vec<String> = (0..values.len()).map(|i| format!("k{i}")).collect();
    let text = label_text(keys.iter().map(String::as_str).zip(values));
    let parsed = parse_labels(&text);
    assert_eq!(parsed.len(), values.len());
    for (i, (key, value)) in parsed.iter().enumerate() {
      assert_eq!(key, &format!("k{i}"));
      assert_eq!(value, values[i]);
    }
    assert!(parse_labels("").is_empty());
  }

  #[test]
  fn numbers_are_written_as_the_formats_spell_them() {
    let cases = [
      (0.0, "0"),
      (-0.0, "0"),
      (42.0, "42"),
      (-7.0, "-7"),
      (0.1, "0.1"),
      (1.0 / 3.0, "0.3333333333333333"),
      (1e21, "1e21"),
      (1.5e-7, "1.5e-7"),
      (123456789012345.0, "123456789012345"),
      (f64::INFINITY, "+Inf"),
      (f64::NEG_INFINITY, "-Inf"),
      (f64::NAN, "NaN"),
      (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
    ];
    for (value, expected) in cases {
      assert_eq!(format_number(value), expected, "{value:?}");
      if value.is_finite() {
        assert_eq!(
          expected.parse::<f64>().unwrap(),
          value,
          "{expected} parses back to the value"
        );
      }
    }
  }

  #[test]
  fn prom_client_numbers_are_javascripts_text_and_nan_is_spelled_as_prom_client_spells_it() {
    let cases = [
      (1e21, "1e+21"),
      (-1.5e-7, "-1.5e-7"),
      (0.1, "0.1"),
      (f64::INFINITY, "+Inf"),
      (f64::NEG_INFINITY, "-Inf"),
      (f64::NAN, "Nan"),
    ];
    for (value, expected) in cases {
      assert_eq!(format_js_number(value), expected, "{value:?}");
    }
  }
}
