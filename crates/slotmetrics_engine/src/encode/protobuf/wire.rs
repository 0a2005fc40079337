//! Protobuf written straight to the wire. A message is described once, by `put`ting
//! its fields into a `Wire`; the same description measures it (`Measure`) and writes
//! it (`Vec<u8>`), so a length always matches what follows it. Fields at their default
//! value are left out, as proto3 encoders do.

use prost::encoding::{encoded_len_varint, key_len, WireType};

/// A protobuf message, as the fields it puts.
pub trait Message {
  fn put<W: Wire>(&self, wire: &mut W);
}

/// The encoded size of `message`.
pub fn measure(message: &impl Message) -> usize {
  let mut measure = Measure(0);
  message.put(&mut measure);
  measure.0
}

/// Where fields go: a count of bytes, or a buffer.
pub trait Wire: Sized {
  fn varint(&mut self, value: u64);
  fn bytes(&mut self, bytes: &[u8]);

  fn key(&mut self, tag: u32, wire_type: WireType) {
    self.varint(u64::from(tag << 3 | wire_type as u32));
  }

  /// A length-delimited field's key and length, for `len` bytes that follow.
  fn delimited(&mut self, tag: u32, len: usize) {
    self.key(tag, WireType::LengthDelimited);
    self.varint(len as u64);
  }

  fn message(&mut self, tag: u32, message: &impl Message) {
    self.delimited(tag, measure(message));
    message.put(self);
  }

  fn double(&mut self, tag: u32, value: f64) {
    if value != 0.0 {
      self.key(tag, WireType::SixtyFourBit);
      self.bytes(&value.to_le_bytes());
    }
  }

  fn uint64(&mut self, tag: u32, value: u64) {
    if value != 0 {
      self.key(tag, WireType::Varint);
      self.varint(value);
    }
  }

  /// `int64` and `int32` alike: a negative one takes ten bytes.
  fn int64(&mut self, tag: u32, value: i64) {
    self.uint64(tag, value as u64);
  }

  /// `sint32` and `sint64` alike: zigzag.
  fn sint64(&mut self, tag: u32, value: i64) {
    self.uint64(tag, zigzag(value));
  }

  /// A message of two strings, fields 1 and 2 (a `LabelPair`), as field `tag`.
  fn string_pair(&mut self, tag: u32, first: &str, second: &str) {
    self.delimited(tag, string_len(1, first) + string_len(2, second));
    self.string(1, first);
    self.string(2, second);
  }

  fn string(&mut self, tag: u32, value: &str) {
    if !value.is_empty() {
      self.delimited(tag, value.len());
      self.bytes(value.as_bytes());
    }
  }

  /// A packed repeated `sint64`.
  fn packed_sint64(&mut self, tag: u32, values: &[i64]) {
    if !values.is_empty() {
      let len = values.iter().map(|&v| encoded_len_varint(zigzag(v))).sum();
      self.delimited(tag, len);
      for &value in values {
        self.varint(zigzag(value));
      }
    }
  }
}

/// The bytes of a string field.
fn string_len(tag: u32, value: &str) -> usize {
  if value.is_empty() {
    0
  } else {
    key_len(tag) + encoded_len_varint(value.len() as u64) + value.len()
  }
}

fn zigzag(value: i64) -> u64 {
  ((value << 1) ^ (value >> 63)) as u64
}

/// Counts the bytes a message would take.
struct Measure(usize);

impl Wire for Measure {
  fn varint(&mut self, value: u64) {
    self.0 += encoded_len_varint(value);
  }

  fn bytes(&mut self, bytes: &[u8]) {
    self.0 += bytes.len();
  }

  fn key(&mut self, tag: u32, _: WireType) {
    self.0 += key_len(tag);
  }

  fn string_pair(&mut self, tag: u32, first: &str, second: &str) {
    let len = string_len(1, first) + string_len(2, second);
    self.0 += key_len(tag) + encoded_len_varint(len as u64) + len;
  }

  // Measured once, not once for its length and again for its fields.
  fn message(&mut self, tag: u32, message: &impl Message) {
    let len = measure(message);
    self.0 += key_len(tag) + encoded_len_varint(len as u64) + len;
  }
}

impl Wire for Vec<u8> {
  // By hand rather than prost's `encode_varint`, which goes through `BufMut` byte by
  // byte: most values here (keys, lengths) take one byte.
  #[inline]
  fn varint(&mut self, mut value: u64) {
    while value >= 0x80 {
      self.push(value as u8 | 0x80);
      value >>= 7;
    }
    self.push(value as u8);
  }

  fn bytes(&mut self, bytes: &[u8]) {
    self.extend_from_slice(bytes);
  }

  // Most label pairs are short: their three keys and lengths then take a byte each.
  #[inline]
  fn string_pair(&mut self, tag: u32, first: &str, second: &str) {
    let len = 2 + first.len() + if second.is_empty() { 0 } else { 2 + second.len() };
    if tag >= 16 || len >= 0x80 || first.is_empty() {
      self.delimited(tag, string_len(1, first) + string_len(2, second));
      self.string(1, first);
      self.string(2, second);
      return;
    }
    self.reserve(len + 2);
    self.extend_from_slice(&[(tag << 3 | 2) as u8, len as u8, 1 << 3 | 2, first.len() as u8]);
    self.extend_from_slice(first.as_bytes());
    if !second.is_empty() {
      self.extend_from_slice(&[2 << 3 | 2, second.len() as u8]);
      self.extend_from_slice(second.as_bytes());
    }
  }

  // A short field's key and length are a byte each: written as one two-byte store.
  #[inline]
  fn delimited(&mut self, tag: u32, len: usize) {
    if tag < 16 && len < 0x80 {
      self.extend_from_slice(&[(tag << 3 | WireType::LengthDelimited as u32) as u8, len as u8]);
    } else {
      self.key(tag, WireType::LengthDelimited);
      self.varint(len as u64);
    }
  }
}

#[cfg(test)]
mod tests {
  use prost::Message as _;

  use super::*;

  /// A message of every field kind, beside the same one as a prost message.
  #[derive(Clone, PartialEq, prost::Message)]
  struct Sample {
    #[prost(double, tag = "1")]
    double: f64,
    #[prost(uint64, tag = "2")]
    uint64: u64,
    #[prost(int64, tag = "3")]
    int64: i64,
    #[prost(sint64, tag = "4")]
    sint64: i64,
    #[prost(string, tag = "5")]
    string: String,
    #[prost(sint64, repeated, tag = "6")]
    packed: Vec<i64>,
    #[prost(message, optional, tag = "20")]
    nested: Option<Box<Sample>>,
  }

  impl Message for Sample {
    fn put<W: Wire>(&self, wire: &mut W) {
      wire.double(1, self.double);
      wire.uint64(2, self.uint64);
      wire.int64(3, self.int64);
      wire.sint64(4, self.sint64);
      wire.string(5, &self.string);
      wire.packed_sint64(6, &self.packed);
      if let Some(nested) = &self.nested {
        wire.message(20, &**nested);
      }
    }
  }

  #[derive(Clone, PartialEq, prost::Message)]
  struct Pairs {
    #[prost(message, repeated, tag = "1")]
    pairs: Vec<Pair>,
    #[prost(message, repeated, tag = "16")]
    high: Vec<Pair>,
  }

  #[derive(Clone, PartialEq, prost::Message)]
  struct Pair {
    #[prost(string, tag = "1")]
    first: String,
    #[prost(string, tag = "2")]
    second: String,
  }

  impl Message for Pairs {
    fn put<W: Wire>(&self, wire: &mut W) {
      for pair in &self.pairs {
        wire.string_pair(1, &pair.first, &pair.second);
      }
      for pair in &self.high {
        wire.string_pair(16, &pair.first, &pair.second);
      }
    }
  }

  /// Short pairs take the one-header path; empty strings, long ones and high tags not.
  #[test]
  fn string_pairs_are_prosts() {
    let pair = |first: &str, second: &str| Pair {
      first: first.into(),
      second: second.into(),
    };
    let pairs = vec![
      pair("code", "200"),
      pair("code", ""),
      pair("", "x"),
      pair("n", &"v".repeat(123)),
      pair("n", &"v".repeat(124)),
      pair(&"k".repeat(200), "v"),
    ];
    let message = Pairs {
      high: pairs.clone(),
      pairs,
    };
    let mut written = Vec::new();
    message.put(&mut written);
    assert_eq!(written, message.encode_to_vec());
    assert_eq!(measure(&message), written.len());
  }

  #[test]
  fn bytes_and_lengths_are_prosts() {
    let inner = Sample {
      double: -0.5,
      int64: -3,
      sint64: i64::MIN,
      string: "ü".repeat(70),
      packed: vec![0, -1, 1, i64::MAX],
      ..Default::default()
    };
    let samples = [
      Sample::default(),
      Sample {
        double: f64::NAN,
        uint64: u64::MAX,
        nested: Some(Box::new(Sample::default())),
        ..Default::default()
      },
      Sample {
        double: -0.0,
        nested: Some(Box::new(inner.clone())),
        ..inner
      },
    ];
    for sample in samples {
      let mut written = Vec::new();
      sample.put(&mut written);
      assert_eq!(written, sample.encode_to_vec(), "{sample:?}");
      assert_eq!(measure(&sample), written.len());
    }
  }
}
