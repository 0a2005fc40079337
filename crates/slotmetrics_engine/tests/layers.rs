//! The engine's modules depend downward only (lib.rs, docs/how-it-works.md's Layout): each may use
//! modules of lower layers, never one of its own layer or above. This reads the sources
//! and fails on any `crate::` path that points sideways or up.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Every module and its layer, as lib.rs lists them.
const LAYERS: &[(&str, u8)] = &[
  ("names", 0),
  ("kind", 1),
  ("text", 1),
  ("clock", 1),
  ("native", 1),
  ("group", 1),
  ("health", 1),
  ("logging", 1),
  ("rings", 1),
  ("slots", 2),
  ("format", 2),
  ("exemplar", 2),
  ("process", 2),
  ("summary", 2),
  ("registry", 3),
  ("collect", 4),
  ("collect_hooks", 4),
  ("data", 5),
  ("encode", 6),
  ("runtime", 6),
  ("server", 7),
  ("export", 7),
];

/// The source files of a module: `name.rs`, or every file under `name/`, at any depth.
fn sources(src: &Path, module: &str) -> Vec<(String, String)> {
  let file = src.join(format!("{module}.rs"));
  if file.exists() {
    return vec![(file.display().to_string(), fs::read_to_string(&file).unwrap())];
  }
  let mut files = Vec::new();
  let mut dirs = vec![src.join(module)];
  while let Some(dir) = dirs.pop() {
    for entry in fs::read_dir(&dir)
      .unwrap_or_else(|e| panic!("module {module} has neither {module}.rs nor {module}/: {e}"))
    {
      let path = entry.unwrap().path();
      if path.is_dir() {
        dirs.push(path);
      } else {
        files.push(path);
      }
    }
  }
  files.sort();
  files
    .into_iter()
    .map(|path| (path.display().to_string(), fs::read_to_string(&path).unwrap()))
    .collect()
}

/// Modules named by `crate::name` paths, including `use crate::{a, b::c}` lists.
fn used_modules(source: &str) -> Vec<String> {
  let mut used = Vec::new();
  for (at, _) in source.match_indices("crate::") {
    let rest = &source[at + "crate::".len()..];
    let names: Vec<&str> = match rest.strip_prefix('{') {
      Some(list) => list[..list.find('}').unwrap_or(list.len())].split(',').collect(),
      None => vec![rest],
    };
    for name in names {
      let name: String = name
        .trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
      if !name.is_empty() {
        used.push(name);
      }
    }
  }
  used
}

#[test]
fn modules_use_only_lower_layers() {
  let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
  let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
  let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
  let declared: Vec<&str> = lib
    .lines()
    .filter_map(|line| line.strip_prefix("pub mod "))
    .map(|rest| rest.trim_end_matches(';'))
    .collect();
  assert_eq!(
    declared
      .iter()
      .copied()
      .collect::<std::collections::BTreeSet<_>>(),
    layer.keys().copied().collect(),
    "every module of lib.rs has a layer here, and no other"
  );

  let mut wrong = Vec::new();
  for (module, own) in LAYERS {
    for (file, source) in sources(&src, module) {
      for used in used_modules(&source) {
        let Some(&theirs) = layer.get(used.as_str()) else {
          wrong.push(format!("{file}: crate::{used} is no module of the engine"));
          continue;
        };
        if used != *module && theirs >= *own {
          wrong.push(format!(
            "{file} (layer {own}) uses crate::{used} (layer {theirs})"
          ));
        }
      }
    }
  }
  assert!(
    wrong.is_empty(),
    "imports against the layers:\n{}",
    wrong.join("\n")
  );
}

#[test]
fn the_reader_sees_use_lists() {
  let found = used_modules("use crate::{kind::Kind, slots};\nlet x = crate::names::check(y);");
  assert_eq!(found, ["kind", "slots", "names"]);
}
