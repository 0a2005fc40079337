//! A registry's share in a multi-process group: the metrics of its default namespace,
//! and their series, are defined once for every process of the group.
//!
//! Each definition and each new label set is a record in the group's journal, and
//! every process applies the records in journal order to its own registry, so that all
//! agree on which metrics exist, which label sets each has and where their slots are.
//! A process adds a record only under the group lock held exclusively, after applying
//! every record before it, so a change is checked against every earlier change of any
//! process, as a one-process registry checks its own; the append is the change's commit
//! point (see `group::Journal`): a process killed before it leaves no trace but slots
//! handed out and never used.
//!
//! Summaries' quantiles and exemplars are the parts of a series that are not in slots:
//! each process publishes its windows' digests and its exemplars every
//! `PUBLISH_PERIOD` (its own file, `summaries-<entry>`), and a read merges the live
//! processes' digests with its own window and takes the newest exemplar of each slot.
//!
//! A metric is numbered in the group by the definitions before it in the journal. A
//! definition that conflicts with a metric of this process's own (defined outside the
//! journal, or left listed after this process's `clear()`) is not applied here, and
//! its series are skipped: this process keeps its own metric of that name.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};
use serde::{Deserialize, Serialize};
use tdigest::TDigest;

use super::definition::validate;
use super::{
  namespaces::{create_family, find_defined},
  series::overflow_labels,
  unix_now, Definition, Family, FamilyId, Published, Registered, Registry, RegistryError, DEFAULT_NAMESPACE,
};
use crate::exemplar::Exemplar;
use crate::group::{GroupError, GroupFiles, JournalRecord, ProcessIdentity, JOURNAL_START};
use crate::native;
use crate::process::ProcessField;
use crate::slots::SlotError;
use crate::summary::{decode_digests, encode_digests};

/// How often a process of a group publishes its summaries' digests and its exemplars:
/// another process's quantiles and exemplars lag this one's by at most this much.
pub const PUBLISH_PERIOD: Duration = Duration::from_secs(1);

/// A process's publication: the length of its digests (u32), the digests
/// (`summary::encode_digests`), then its exemplars by slot (JSON).
fn encode_published(digests: &[(u32, TDigest)], exemplars: &[(u32, Exemplar)]) -> Vec<u8> {
  let digests = encode_digests(digests);
  let mut bytes = (digests.len() as u32).to_le_bytes().to_vec();
  bytes.extend_from_slice(&digests);
  bytes.extend(serde_json::to_vec(exemplars).expect("exemplars are plain data"));
  bytes
}

/// A process's publication: digests and exemplars, by slot.
type Publication = (Vec<(u32, TDigest)>, Vec<(u32, Exemplar)>);

/// What `encode_published` wrote (nothing for an empty file), or `None`.
fn decode_published(bytes: &[u8]) -> Option<Publication> {
  if bytes.is_empty() {
    return Some((Vec::new(), Vec::new()));
  }
  let (length, rest) = bytes.split_first_chunk::<4>()?;
  let (digests, exemplars) = rest.split_at_checked(u32::from_le_bytes(*length) as usize)?;
  Some((decode_digests(digests)?, serde_json::from_slice(exemplars).ok()?))
}

/// One change to the group's metrics, as the journal holds it (JSON).
#[derive(Serialize, Deserialize)]
pub(super) enum Record {
  /// A metric defined in the default namespace; `process` for a process figure.
  /// (Boxed: a definition is many times the size of the other records.)
  Define {
    definition: Box<Definition>,
    process: Option<ProcessField>,
  },
  /// A label set of the metric numbered `family`, registered at `slot`; `overflow` for
  /// a full metric's overflow series, which does not count against its limit.
  Series {
    family: u32,
    labels: String,
    slot: u32,
    overflow: bool,
    /// When it was registered: the series' created timestamp in every process.
    created: f64,
  },
  /// A window of native buckets of the series at `series` of the metric numbered
  /// `family`, for its positive or `negative` observations.
  Window {
    family: u32,
    series: u32,
    negative: bool,
    window: native::Window,
  },
}

pub(super) struct Replica {
  pub(super) files: Arc<GroupFiles>,
  /// This process's entry in the member table.
  member: usize,
  progress: Mutex<Progress>,
}

/// How far this process has applied the journal. Held while records are applied, so
/// two threads never apply one twice.
pub(super) struct Progress {
  /// Where the next record to apply starts.
  applied: u64,
  /// This process's family for each metric of the group, by group number; `None` for
  /// a definition not applied here (see the module's comment).
  pub(super) families: Vec<Option<FamilyId>>,
}

impl Replica {
  /// This process's share as member `member`; what a dead process of that entry
  /// published is cleared.
  pub(super) fn new(files: Arc<GroupFiles>, member: usize) -> Result<Replica, GroupError> {
    let replica = Replica {
      files,
      member,
      progress: Mutex::new(Progress {
        applied: JOURNAL_START,
        families: Vec::new(),
      }),
    };
    replica.publish(&[], &[])?;
    Ok(replica)
  }

  /// Replaces what this process publishes for the others.
  pub(super) fn publish(
    &self,
    digests: &[(u32, TDigest)],
    exemplars: &[(u32, Exemplar)],
  ) -> Result<(), GroupError> {
    let bytes = encode_published(digests, exemplars);
    let _changing = self.files.lock.exclusive()?;
    self.files.publish(self.member, &bytes)
  }

  /// What the other live processes published last.
  pub(super) fn published(&self) -> Result<Published, GroupError> {
    let _reading = self.files.lock.shared()?;
    let mut published = Published::default();
    for (entry, member) in self.files.table.processes() {
      if entry == self.member || !member.is_alive() {
        continue;
      }
      // What this version cannot read counts as nothing published (it is replaced
      // within a period).
      let (digests, exemplars) = decode_published(&self.files.published(entry)?).unwrap_or_default();
      for (slot, digest) in digests {
        published.digests.entry(slot).or_default().push(digest);
      }
      for (slot, exemplar) in exemplars {
        let newest = published
          .exemplars
          .entry(slot)
          .or_insert_with(|| exemplar.clone());
        if exemplar.timestamp > newest.timestamp {
          *newest = exemplar;
        }
      }
    }
    Ok(published)
  }

  /// How far this process has applied the journal, held until the guard drops.
  pub(super) fn progress(&self) -> MutexGuard<'_, Progress> {
    self.progress.lock()
  }

  /// The records past `progress`, each with the journal offset after it. The journal
  /// is append-only and never read past its committed end, so reading needs no group
  /// lock; a change must hold it, so that no record lands before its own.
  pub(super) fn pending(&self, progress: &Progress) -> Result<Vec<(Record, u64)>, GroupError> {
    let records = self.files.journal.read_from(progress.applied)?;
    records
      .into_iter()
      .map(|JournalRecord { body, end }| {
        let record = serde_json::from_slice(&body).map_err(|e| {
          GroupError::bad_file(
            &self.files.dir.file_path("journal"),
            format!("has a record this version of slotmetrics cannot read ({e})"),
          )
        })?;
        Ok((record, end))
      })
      .collect()
  }

  /// Appends a record to the journal. The caller holds the group lock exclusively and
  /// has applied every record before it; it applies this one too.
  pub(super) fn append(&self, progress: &mut Progress, record: &Record) -> Result<(), GroupError> {
    let body = serde_json::to_vec(record).expect("a record is plain data");
    progress.applied = self.files.journal.append(&body)?;
    Ok(())
  }
}

impl Progress {
  /// Notes that the record ending at `end` is applied.
  pub(super) fn applied(&mut self, end: u64) {
    self.applied = end;
  }
}

/// The registry's side of the group: joining, catching up, registering through the
/// journal.
impl Registry {
  /// A registry whose default namespace is the metric set of the multi-process group in
  /// directory `path` (created if missing), with what its processes defined so far.
  pub fn in_group(path: &std::path::Path) -> Result<Self, SlotError> {
    Self::in_group_as(path, ProcessIdentity::current())
  }

  /// `in_group` as process `me` (tests join as other processes).
  pub(crate) fn in_group_as(path: &std::path::Path, me: ProcessIdentity) -> Result<Self, SlotError> {
    let joined = crate::slots::join_group(path, me)?;
    let mut registry = Registry::over(joined.striped, joined.shared);
    registry.replica = Some(Replica::new(joined.files, joined.member)?);
    registry.catch_up()?;
    Ok(registry)
  }

  /// Applies the journal's new records; the progress returned is held, so no other
  /// thread applies records until the caller is done.
  pub(super) fn catch_up_with<'a>(
    &self,
    replica: &'a Replica,
  ) -> Result<parking_lot::MutexGuard<'a, Progress>, GroupError> {
    let mut progress = replica.progress();
    for (record, end) in replica.pending(&progress)? {
      self.apply(&mut progress, record, replica)?;
      progress.applied(end);
    }
    Ok(progress)
  }

  /// Applies one record of the journal to this process's registry.
  fn apply(&self, progress: &mut Progress, record: Record, replica: &Replica) -> Result<(), GroupError> {
    match record {
      Record::Define {
        definition: def,
        process,
      } => {
        let number = progress.families.len() as u32;
        let namespace = self.namespaces.read()[DEFAULT_NAMESPACE as usize].clone();
        let id = validate(&def).ok().and_then(|base| {
          let mut families = self.families.write();
          // Applied only where this process has no metric of the name (module comment).
          match find_defined(&namespace, &families, &def, &base, process) {
            Ok(None) => Some(create_family(
              &namespace,
              &mut families,
              *def,
              base,
              process,
              Some(number),
            )),
            _ => None,
          }
        });
        progress.families.push(id);
      }
      Record::Series {
        family,
        labels,
        slot,
        overflow,
        created,
      } => {
        if let Some(family) = self.local_family(progress, replica, family, "a series")? {
          self.record_series(&family, Arc::from(labels), slot, overflow, created);
        }
      }
      Record::Window {
        family,
        series,
        negative,
        window,
      } => {
        if let Some(family) = self.local_family(progress, replica, family, "a window")? {
          let mut all = family.windows.lock();
          all.entry(series).or_default().of_sign(negative).push(window);
        }
      }
    }
    Ok(())
  }

  /// This process's family for the metric numbered `number` of the group (`None`: a
  /// definition not applied here); a record of `what` for a metric never defined is a
  /// damaged journal.
  fn local_family(
    &self,
    progress: &Progress,
    replica: &Replica,
    number: u32,
    what: &str,
  ) -> Result<Option<Arc<Family>>, GroupError> {
    let Some(local) = progress.families.get(number as usize) else {
      return Err(GroupError::bad_file(
        &replica.files.dir.file_path("journal"),
        format!("is damaged: {what} of metric {number}, which was never defined"),
      ));
    };
    Ok(local.map(|id| self.families.read()[id as usize].clone()))
  }

  /// Registers a label set of a metric of the group: under the group lock, after
  /// catching up, so a label set another process registered first is found, not
  /// registered twice.
  pub(super) fn series_in_group(
    &self,
    replica: &Replica,
    family: &Family,
    number: u32,
    labels: String,
  ) -> Result<Registered, RegistryError> {
    let _changing = replica.files.lock.exclusive()?;
    let mut progress = self.catch_up_with(replica)?;
    if let Some(slot) = family.index.get(labels.as_str()).map(|slot| *slot) {
      return Ok(Registered::Series(slot));
    }
    let overflow = family.registered.load(Ordering::Acquire) >= family.def.max_series;
    let labels = if overflow {
      let labels = overflow_labels(&family.def)?;
      if let Some(slot) = family.index.get(labels.as_str()).map(|slot| *slot) {
        return Ok(family.overflowed_at(slot));
      }
      labels
    } else {
      labels
    };
    let slot = self.allocate(family)?;
    let record = Record::Series {
      family: number,
      labels,
      slot,
      overflow,
      created: unix_now(),
    };
    replica.append(&mut progress, &record)?;
    let Record::Series { labels, created, .. } = record else {
      unreachable!()
    };
    self.record_series(family, Arc::from(labels), slot, overflow, created);
    Ok(if overflow {
      family.overflowed_at(slot)
    } else {
      Registered::Series(slot)
    })
  }

  /// Lists a series a process of the group registered, unless it is listed already.
  fn record_series(&self, family: &Family, labels: Arc<str>, slot: u32, overflow: bool, created: f64) {
    if let dashmap::Entry::Vacant(entry) = family.index.entry(labels) {
      if !overflow {
        family.registered.fetch_add(1, Ordering::AcqRel);
      }
      self.list_series(family, entry, slot, created);
    }
  }
}

/// A new group in a temporary directory with two members, for tests: this process's
/// registry `a`, and `b` as `child`, a live process of its own.
#[cfg(test)]
pub(crate) fn two_members(name: &str) -> (std::path::PathBuf, Registry, std::process::Child, Registry) {
  let path = crate::group::testing::temp_path(name);
  let a = Registry::in_group(&path).unwrap();
  let (child, other) = crate::group::testing::other_process();
  let b = Registry::in_group_as(&path, other).unwrap();
  (path, a, child, b)
}

#[cfg(test)]
mod tests {
  use super::super::{Definition, Registered, Registry, RegistryError, DEFAULT_NAMESPACE};
  use super::two_members;
  use crate::group::testing::{kill, temp_path};
  use crate::group::GroupFiles;
  use crate::kind::Kind;
  use crate::slots::tests::{total, write};

  fn def(name: &str, kind: Kind, keys: &[&str], max_series: usize) -> Definition {
    Definition {
      help: "help".into(),
      dynamic_keys: keys.iter().map(|k| k.to_string()).collect(),
      max_series,
      ..Definition::new(name, kind)
    }
  }

  fn listed(registry: &Registry) -> Vec<String> {
    let namespace = registry.namespace(DEFAULT_NAMESPACE).unwrap();
    namespace.families().iter().map(|f| f.def.name.clone()).collect()
  }

  fn series(registry: &Registry, id: u32) -> Vec<(String, u32)> {
    let family = registry.family(id).unwrap();
    family
      .series()
      .iter()
      .map(|s| (s.labels.to_string(), s.slot))
      .collect()
  }

  #[test]
  fn processes_share_definitions_series_and_counts() {
    let (path, a, child, b) = two_members("registry-share");
    let jobs = def("jobs_total", Kind::Counter, &["queue"], 100);
    let jobs_a = a.define(jobs.clone()).unwrap();
    let mail = a.series(jobs_a, &["mail"]).unwrap().slot();

    b.catch_up().unwrap();
    assert_eq!(listed(&b), ["jobs_total"], "a metric another process defined");
    let jobs_b = b.define(jobs).unwrap();
    assert_eq!(b.series(jobs_b, &["mail"]).unwrap(), Registered::Series(mail));
    let sms = b.series(jobs_b, &["sms"]).unwrap().slot();
    assert_ne!(sms, mail);
    let e = b
      .define(def("jobs_total", Kind::FloatGauge, &["queue"], 100))
      .unwrap_err();
    assert!(
      e.to_string()
        .contains("which a counter \"jobs_total\" already exposes"),
      "{e}"
    );

    let (stripe_a, stripe_b) = (a.striped.attach().unwrap(), b.striped.attach().unwrap());
    write(&a.striped, stripe_a, mail, 2.0);
    write(&b.striped, stripe_b, mail, 3.0);
    write(&b.striped, stripe_b, sms, 1.0);
    a.catch_up().unwrap();
    let expected = [
      (r#"queue="mail""#.to_string(), mail),
      (r#"queue="sms""#.to_string(), sms),
    ];
    assert_eq!(series(&a, jobs_a), expected);
    assert_eq!(series(&b, jobs_b), expected);
    assert_eq!((total(&a.striped, mail), total(&a.striped, sms)), (5.0, 1.0));

    // A summary's series registered by one process has its quantile window in the other.
    let latency = b.define(def("latency", Kind::Summary, &["route"], 100)).unwrap();
    let route = b.series(latency, &["/"]).unwrap().slot();
    a.catch_up().unwrap();
    a.observe_summary(route, 0.5).unwrap();
    kill(child);
    std::fs::remove_dir_all(&path).unwrap();
  }

  /// A native histogram's windows are the group's: a process asking for a window
  /// another already made gets that one, and one made for a wider range reaches the
  /// other process, whose read merges both processes' counts.
  #[test]
  fn native_windows_are_shared_by_the_group() {
    let (path, a, child, b) = two_members("registry-native");
    let native = Definition {
      kind: Kind::Histogram,
      native: Some(crate::native::NativeOptions {
        schema: 3,
        zero_threshold: 0.0,
        max_buckets: 16,
      }),
      ..def("sizes", Kind::Histogram, &[], 100)
    };
    let id_a = a.define(native.clone()).unwrap();
    let slot = a.series(id_a, super::super::NO_LABELS).unwrap().slot();
    let first = a.native_window(id_a, slot, 1.0).unwrap();
    b.catch_up().unwrap();
    let id_b = b.define(native).unwrap();
    assert_eq!(
      b.native_window(id_b, slot, 1.01).unwrap(),
      first,
      "the window a made"
    );
    let (stripe_a, stripe_b) = (a.striped.attach().unwrap(), b.striped.attach().unwrap());
    let offset = |w: crate::native::Window, v: f64| {
      w.slot + (crate::native::bucket_index(v, w.schema, crate::native::bounds_of(w.schema)) - w.first) as u32
    };
    write(&a.striped, stripe_a, offset(first, 1.0), 1.0);
    write(&b.striped, stripe_b, offset(first, 1.0), 1.0);
    // 1000 is 80 buckets above 1 at schema 3: b's new window is at a lower schema.
    let wide = b.native_window(id_b, slot, 1000.0).unwrap();
    assert!(
      wide.schema < 3
        && wide.covers(crate::native::bucket_index(
          1000.0,
          wide.schema,
          crate::native::bounds_of(wide.schema)
        ))
    );
    write(&b.striped, stripe_b, offset(wide, 1000.0), 1.0);
    a.catch_up().unwrap();
    assert_eq!(
      a.native_window(id_a, slot, 999.0).unwrap(),
      wide,
      "a finds b's window"
    );
    let family = a.family(id_a).unwrap();
    assert_eq!(family.windows()[&slot].positive, [first, wide]);
    assert_eq!(
      (
        total(&a.striped, offset(first, 1.0)),
        total(&a.striped, offset(wide, 1000.0))
      ),
      (2.0, 1.0)
    );
    kill(child);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn the_series_limit_is_the_groups() {
    let (path, a, child, b) = two_members("registry-limit");
    let capped = def("capped_total", Kind::Counter, &["user"], 2);
    let (in_a, in_b) = (a.define(capped.clone()).unwrap(), b.define(capped).unwrap());
    let one = a.series(in_a, &["1"]).unwrap();
    assert!(matches!(b.series(in_b, &["2"]).unwrap(), Registered::Series(_)));
    let Registered::Overflow { slot, first: true } = a.series(in_a, &["3"]).unwrap() else {
      panic!("the third label set of the group goes to the overflow series");
    };
    assert_eq!(
      b.series(in_b, &["4"]).unwrap(),
      Registered::Overflow { slot, first: true },
      "one overflow series for the group; the first time in this process"
    );
    assert_eq!(
      b.series(in_b, &["5"]).unwrap(),
      Registered::Overflow { slot, first: false }
    );
    assert_eq!(
      a.series(in_a, &["1"]).unwrap(),
      one,
      "known label sets still count"
    );
    assert_eq!(series(&b, in_b).len(), 3, "two series and the overflow series");

    let strict = Definition {
      strict: true,
      ..def("strict_total", Kind::Counter, &["k"], 1)
    };
    a.series(a.define(strict.clone()).unwrap(), &["x"]).unwrap();
    let refused = b.series(b.define(strict).unwrap(), &["y"]);
    assert!(matches!(refused, Err(RegistryError::Capacity(m)) if m.contains("limit of 1 series")));
    kill(child);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn other_namespaces_and_a_redefinition_after_clear_stay_a_processs_own() {
    let (path, a, child, b) = two_members("registry-own");
    let custom = a.create_namespace();
    a.define_in(custom, def("local_total", Kind::Counter, &[], 10))
      .unwrap();
    let jobs_a = a.define(def("jobs_total", Kind::Counter, &[], 10)).unwrap();

    b.catch_up().unwrap();
    assert_eq!(listed(&b), ["jobs_total"], "a custom namespace is not shared");
    b.clear(DEFAULT_NAMESPACE).unwrap();
    let gauge = b.define(def("jobs", Kind::FloatGauge, &["k"], 10)).unwrap();
    b.series(gauge, &["v"]).unwrap();
    a.catch_up().unwrap();
    assert_eq!(listed(&a), ["jobs_total"], "a keeps its own metric of the name");
    assert_eq!(series(&a, jobs_a), [], "and the gauge's series are not a's");
    a.series(jobs_a, super::super::NO_LABELS).unwrap();
    kill(child);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn a_record_this_version_cannot_read_is_an_error_naming_the_journal() {
    let path = temp_path("registry-unreadable");
    let a = Registry::in_group(&path).unwrap();
    let id = a.define(def("kept_total", Kind::Counter, &[], 10)).unwrap();
    let files = GroupFiles::open(&path).unwrap();
    files.journal.append(b"{\"Rename\":{}}").unwrap();
    let error = a.catch_up().unwrap_err().to_string();
    assert!(
      error.contains("journal has a record this version of slotmetrics cannot read"),
      "{error}"
    );
    assert_eq!(listed(&a), ["kept_total"], "what was applied stays");
    a.series(id, super::super::NO_LABELS).unwrap_err();
    std::fs::remove_dir_all(&path).unwrap();
  }
}
