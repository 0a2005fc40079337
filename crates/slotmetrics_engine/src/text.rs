//! Exposition text at its smallest: numbers as the formats write them, label sets
//! escaped and joined, and label text read back. Registration escapes a series' label
//! set once with these; the encoders and the data read of a scrape use them too.

/// Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label_value(value: &str, out: &mut String) {
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
pub fn label_text<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)> + Clone) -> String {
  // Sized up front (escapes aside): registration is a hot path.
  let mut text = String::with_capacity(
    pairs
      .clone()
      .into_iter()
      .map(|(k, v)| k.len() + v.len() + 4)
      .sum(),
  );
  for (i, (key, value)) in pairs.into_iter().enumerate() {
    if i > 0 {
      text.push(',');
    }
    text.push_str(key);
    text.push_str("=\"");
    escape_label_value(value, &mut text);
    text.push('"');
  }
  text
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

/// Writes a sample value as prom-client does: JavaScript's `String(v)` (`1e+21`,
/// `-1.5e-7`), `+Inf` and `-Inf`. prom-client writes NaN as `Nan`, which no parser
/// reads; this writes `NaN`.
pub fn write_js_number(out: &mut Vec<u8>, v: f64) {
  if v.is_finite() {
    out.extend_from_slice(ryu_js::Buffer::new().format_finite(v).as_bytes());
  } else {
    write_number(out, v);
  }
}

pub fn format_js_number(v: f64) -> String {
  let mut out = Vec::new();
  write_js_number(&mut out, v);
  String::from_utf8(out).expect("numbers are ASCII")
}

/// Reads `k="v",k2="v2"` (escaped `\\`, `\"`, `\n`) back into pairs.
pub fn parse_labels(text: &str) -> Vec<(String, String)> {
  let mut labels = Vec::new();
  let mut rest = text;
  while let Some((key, after)) = rest.split_once("=\"") {
    let mut value = String::new();
    let mut chars = after.char_indices();
    let mut end = after.len();
    while let Some((i, c)) = chars.next() {
      match c {
        '\\' => match chars.next() {
          Some((_, 'n')) => value.push('\n'),
          Some((_, escaped)) => value.push(escaped),
          None => {}
        },
        '"' => {
          end = i;
          break;
        }
        c => value.push(c),
      }
    }
    labels.push((key.trim_start_matches(',').to_string(), value));
    rest = after.get(end + 1..).unwrap_or("");
  }
  labels
}

#[cfg(test)]
mod tests {
  use super::*;

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
}
