//! The engine of slotmetrics, with no Node-API in it: the binding (the root crate)
//! hands it label values and JS calls, and gives JS views of its slot memory.
//!
//! Modules depend downward only, layer by layer:
//!
//! 0. `names`: the name rules, and the escaping schemes for names outside them;
//! 1. `kind`, `text`, `clock`, `native`, `group`, `health`, `logging`, `rings`: the
//!    metric kinds, number and label text, the wall clock (or JS's, under fake
//!    timers), native histograms' buckets, the files of a multi-process group, health
//!    state, log rings, rings of updates JS hands over;
//! 2. `slots`, `exemplar`, `process`, `summary`: slot memory, and what a series may
//!    carry besides its slots; `format`: what a scrape is answered in;
//! 3. `registry`: definitions, series and their slots;
//! 4. `collect`, `collect_hooks`: one consistent read of it all, and what runs first;
//! 5. `data`: the read as data (samples, as prom-client's `getMetricsAsJSON()` gives them);
//! 6. `encode`: the read as exposition (text or protobuf) or as pushes (OTLP, remote
//!    write); `runtime`: the tokio runtime HTTP runs on;
//! 7. `server`: HTTP in; `export`: pushes out.

pub mod clock;
pub mod collect;
pub mod collect_hooks;
pub mod data;
pub mod encode;
pub mod exemplar;
pub mod export;
pub mod format;
#[cfg(unix)]
pub mod group;
pub mod health;
pub mod kind;
pub mod logging;
pub mod names;
pub mod native;
pub mod process;
pub mod registry;
pub mod rings;
pub mod runtime;
pub mod server;
pub mod slots;
pub mod summary;
pub mod text;
