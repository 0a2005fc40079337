//! The Node-API surface of slotmetrics, one module per concern. Everything here
//! converts between JS and the engine (`crates/slotmetrics_engine`), which does the
//! work; the TypeScript wrapper in `lib/` is the public API.
//!
//! `shared` (the process's registry, errors) is below `environment` (each JS
//! environment's state and memory views), which is below `metrics`, `registries`,
//! `exposition`, `export`, `logging` and `health`; `views` and `scratch` hand memory to JS.

// Public as napi-rs bindings crates make their export modules: what JS calls.
pub mod environment;
pub mod export;
pub mod exposition;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod registries;
mod scratch;
mod shared;
mod views;

#[cfg(test)]
mod tests {
  /// The modules with exports, read as text.
  const SOURCES: [&str; 7] = [
    include_str!("environment.rs"),
    include_str!("export.rs"),
    include_str!("exposition.rs"),
    include_str!("health.rs"),
    include_str!("logging.rs"),
    include_str!("metrics.rs"),
    include_str!("registries.rs"),
  ];

  /// Every function JS can call catches panics: `catch_unwind` on each export (napi-rs
  /// turns a panic into a thrown error), `without_panics` in the module initialiser.
  #[test]
  fn every_export_catches_panics() {
    let mut exports = 0;
    for source in SOURCES {
      exports += check_exports(source);
    }
    assert!(exports > 20, "found only {exports} exports");
  }

  /// Checks one module's exports; returns how many it has.
  fn check_exports(source: &str) -> usize {
    let mut exports = 0;
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
      let attribute = line.trim();
      if !attribute.starts_with("#[napi") {
        continue;
      }
      let item = lines.peek().map(|l| l.trim()).unwrap_or_default();
      if !item.starts_with("pub fn ") {
        continue; // a constant, object or enum: no code runs
      }
      exports += 1;
      if attribute.contains("module_exports") {
        let body = &source[source.find(item).unwrap()..];
        let first_statement = body.lines().nth(1).unwrap_or_default();
        assert!(
          first_statement.contains("without_panics("),
          "the module initialiser's work must run inside without_panics"
        );
      } else {
        assert!(
          attribute.contains("catch_unwind"),
          "{item} is exported without catch_unwind"
        );
      }
    }
    exports
  }
}
