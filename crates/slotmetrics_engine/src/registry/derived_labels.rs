//! Bytes an encoder derives from each series' label set, kept between scrapes.

/// What an encoder derived from each of a family's label sets (the protobuf encoder:
/// its `LabelPair` fields), for the family's first `len()` series. It stays true:
/// series are only ever appended to a family, and a series' labels never change. One
/// buffer for the family rather than one allocation per series.
#[derive(Default)]
pub struct DerivedLabels {
  bytes: Vec<u8>,
  /// Where each series' bytes end in `bytes`.
  ends: Vec<u32>,
}

impl DerivedLabels {
  /// Series covered: the family's first ones.
  pub fn len(&self) -> usize {
    self.ends.len()
  }

  pub fn is_empty(&self) -> bool {
    self.ends.is_empty()
  }

  /// The bytes of the family's `index`th series.
  pub fn get(&self, index: usize) -> &[u8] {
    let start = index
      .checked_sub(1)
      .map_or(0, |previous| self.ends[previous] as usize);
    &self.bytes[start..self.ends[index] as usize]
  }

  /// Appends the next series' bytes, as `derive` writes them. Past 4 GiB in all
  /// nothing more is kept (false), and the encoder derives the rest as it goes.
  pub fn push(&mut self, derive: impl FnOnce(&mut Vec<u8>)) -> bool {
    let start = self.bytes.len();
    derive(&mut self.bytes);
    match u32::try_from(self.bytes.len()) {
      Ok(end) => {
        self.ends.push(end);
        true
      }
      Err(_) => {
        self.bytes.truncate(start);
        false
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn each_series_gets_back_what_was_derived() {
    let mut derived = DerivedLabels::default();
    for bytes in [&b"ab"[..], b"", b"cde"] {
      assert!(derived.push(|out| out.extend_from_slice(bytes)));
    }
    assert_eq!(derived.len(), 3);
    assert_eq!(derived.get(0), b"ab");
    assert_eq!(derived.get(1), b"");
    assert_eq!(derived.get(2), b"cde");
  }
}
