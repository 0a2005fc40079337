//! Collection: one consistent read of the registry's metadata and of every slot.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::exemplar::Exemplar;
use crate::kind::{GaugeMode, Kind};
use crate::native::{self, SeriesWindows, Sparse, Window};
use crate::process::{self, ProcessStats};
use crate::registry::{Family, Namespace, Registry, Series};
use crate::slots::{self, Chunk, SlotError};
use crate::text::label_text;

pub struct FamilySnapshot {
  pub family: Arc<Family>,
  series: Arc<Vec<Series>>,
  /// First slots of removed series not used since.
  hidden: HashSet<u32>,
  /// Restart times of restarted series, by first slot.
  restarted_at: HashMap<u32, f64>,
  /// A summary's quantiles by first slot (`None`: no observation in its window).
  quantiles: HashMap<u32, Option<Vec<f64>>>,
  /// Exemplars by slot (a counter's, or a histogram bucket's).
  exemplars: HashMap<u32, Exemplar>,
  /// A native histogram's windows of buckets, by series.
  windows: HashMap<u32, SeriesWindows>,
}

impl FamilySnapshot {
  /// The series to expose, in registration order.
  pub fn series(&self) -> impl Iterator<Item = &Series> {
    self.indexed_series().map(|(_, series)| series)
  }

  /// The series to expose, each with its index among the family's series.
  pub fn indexed_series(&self) -> impl Iterator<Item = (usize, &Series)> {
    self
      .series
      .iter()
      .enumerate()
      .filter(|(_, s)| self.hidden.is_empty() || !self.hidden.contains(&s.slot))
  }

  /// Every series the family had when the snapshot was taken, hidden ones included:
  /// its first ones now, since series are only ever appended.
  pub fn listed_series(&self) -> &[Series] {
    &self.series
  }

  /// Since when a series counts what it exposes (seconds since the Unix epoch): its
  /// registration, or its last restart (`reset`, `remove`, `zero`).
  pub fn created(&self, series: &Series) -> f64 {
    self
      .restarted_at
      .get(&series.slot)
      .copied()
      .unwrap_or(series.created)
  }

  /// The exemplar of a counter series, or of a histogram series' bucket, by its slot.
  pub fn exemplar(&self, slot: u32) -> Option<&Exemplar> {
    if self.exemplars.is_empty() {
      None
    } else {
      self.exemplars.get(&slot)
    }
  }
}

/// What one scrape exposes. Series lists are copied before the slots are read, so
/// every listed series has its slots allocated and summed.
pub struct Snapshot {
  pub families: Vec<FamilySnapshot>,
  /// Counter and histogram slots, summed over all stripes in a single read.
  striped: Vec<f64>,
  /// Gauge chunks; gauges are read as they are encoded.
  shared: Vec<&'static Chunk>,
  /// Every live process's own gauge chunks, read when a family keeps a gauge value per
  /// process (its value for the group is combined as it is encoded).
  own_gauges: Vec<Vec<&'static Chunk>>,
  /// Read once per scrape when process figures are defined.
  process: Option<ProcessStats>,
  default_labels: Arc<Vec<(String, String)>>,
}

/// A series' value as read for exposition.
pub enum Value<'a> {
  Counter(f64),
  IntGauge(i64),
  FloatGauge(f64),
  /// Per-bucket (not cumulative) counts, `+Inf` last, then the sum; the native
  /// buckets too, if it has them. A native histogram without classic buckets has
  /// `+Inf` alone, its count: the sum of its native buckets (JS writes no count for it).
  Histogram {
    buckets: Cow<'a, [f64]>,
    sum: f64,
    native: Option<NativeBuckets>,
  },
  /// `quantiles` in the order of the definition's; `None` when the window is empty.
  Summary {
    quantiles: Option<&'a [f64]>,
    count: f64,
    sum: f64,
  },
  /// A process figure this system does not report: no sample.
  Absent,
}

/// A native histogram series' buckets as exposed: every window merged at the lowest
/// schema any of them has.
#[derive(Debug, PartialEq)]
pub struct NativeBuckets {
  pub schema: i32,
  pub zero_threshold: f64,
  pub zero_count: u64,
  pub positive: Sparse,
  pub negative: Sparse,
  /// Every observation the buckets hold: the zero bucket's and every bucket's.
  pub count: u64,
}

/// Merges one sign's windows, their counts in `striped`, at `schema`; also gives their
/// total.
fn merged(windows: &[Window], striped: &[f64], schema: i32) -> (Sparse, u64) {
  let mut counts = std::collections::BTreeMap::new();
  let mut total = 0;
  for window in windows {
    let cells = &striped[window.slot as usize..(window.slot + window.width) as usize];
    for (offset, count) in cells.iter().enumerate().filter(|(_, count)| **count > 0.0) {
      let index = native::lower_index(window.first + offset as i32, window.schema - schema);
      *counts.entry(index).or_insert(0u64) += *count as u64;
      total += *count as u64;
    }
  }
  (native::sparse(counts), total)
}

/// A family's exemplars with those other processes published for its slots: the newest
/// of each slot.
fn with_published(
  family: &Family,
  mut own: HashMap<u32, Exemplar>,
  published: &HashMap<u32, Exemplar>,
) -> HashMap<u32, Exemplar> {
  if published.is_empty() || !matches!(family.def.kind, Kind::Counter | Kind::Histogram) {
    return own;
  }
  for series in family.series().iter() {
    for slot in series.slot..series.slot + family.slots_per_series() as u32 {
      let Some(theirs) = published.get(&slot) else {
        continue;
      };
      if own
        .get(&slot)
        .is_none_or(|mine| theirs.timestamp > mine.timestamp)
      {
        own.insert(slot, theirs.clone());
      }
    }
  }
  own
}

impl Snapshot {
  /// Reads the metrics of one namespace, with what other processes of a multi-process
  /// group defined and registered up to now.
  pub fn take(registry: &Registry, namespace: &Namespace) -> Result<Snapshot, SlotError> {
    registry.catch_up()?;
    Snapshot::read(registry, namespace.families(), namespace.default_labels())
  }

  /// Reads these metrics, with these default labels. In a group, gauges whose mode is
  /// `Omit` are left out.
  pub fn of(
    registry: &Registry,
    families: Vec<Arc<Family>>,
    default_labels: Arc<Vec<(String, String)>>,
  ) -> Result<Snapshot, SlotError> {
    registry.catch_up()?;
    Snapshot::read(registry, families, default_labels)
  }

  fn read(
    registry: &Registry,
    mut families: Vec<Arc<Family>>,
    default_labels: Arc<Vec<(String, String)>>,
  ) -> Result<Snapshot, SlotError> {
    if registry.in_a_group() {
      families.retain(|family| family.def.gauge_mode != GaugeMode::Omit);
    }
    // What the group's other processes published, their observations counted before
    // they published: read before the slots, as this process's own below.
    let published = registry.published()?;
    // Read before the slots (reading may prune a summary's series, which restarts them),
    // so a quantile never counts an observation the count does not: JS counts an
    // observation (and an exemplar's update) before it puts it in its ring, drained
    // first here.
    registry.drain_rings();
    let quantiles: Vec<_> = families
      .iter()
      .map(|family| {
        if family.def.kind == Kind::Summary {
          registry.summary_quantiles(family, &published.digests)
        } else {
          Ok(HashMap::new())
        }
      })
      .collect::<Result<_, _>>()?;
    // Also before the slots: JS counts an observation before it sets its exemplar, so
    // every exemplar read here has its observation in the slots read next.
    let exemplars: Vec<_> = families
      .iter()
      .map(|family| with_published(family, family.exemplars(), &published.exemplars))
      .collect();
    // Before the slots too, so every window a count was written to is read.
    let windows: Vec<_> = families.iter().map(|family| family.windows()).collect();
    let series: Vec<_> = families.iter().map(|family| family.series()).collect();
    let mut striped = registry.striped.totals()?;
    let shared = registry.shared.chunks()?;
    let mut own_gauges = Vec::new();
    if families.iter().any(|f| f.def.gauge_mode.is_per_process()) {
      registry
        .shared
        .read_own(|chunks| own_gauges.push(chunks.to_vec()))?;
    }
    let families: Vec<FamilySnapshot> = families
      .into_iter()
      .zip(series)
      .zip(quantiles)
      .zip(exemplars)
      .zip(windows)
      .map(|((((family, series), quantiles), exemplars), windows)| {
        // Aliases first: a restart's baseline includes them.
        family.fold_aliases(&mut striped);
        let (hidden, restarted_at) = family.apply_restarts(&mut striped, &shared);
        FamilySnapshot {
          family,
          series,
          hidden,
          restarted_at,
          quantiles,
          exemplars,
          windows,
        }
      })
      .collect();
    let process = families
      .iter()
      .any(|f| f.family.process.is_some())
      .then(|| match registry.group_pids() {
        Some(pids) => process::read_group(&pids),
        None => process::read(),
      });
    Ok(Snapshot {
      families,
      striped,
      shared,
      own_gauges,
      process,
      default_labels,
    })
  }

  /// The registry's default labels that apply to `family`: all but those it has itself.
  pub fn default_labels_for(&self, family: &Family) -> Vec<(String, String)> {
    let def = &family.def;
    let own = |key: &str| {
      def.static_labels.iter().any(|(k, _)| k == key) || def.dynamic_keys.iter().any(|k| k == key)
    };
    self
      .default_labels
      .iter()
      .filter(|(key, _)| !own(key))
      .cloned()
      .collect()
  }

  /// The same, escaped as `k="v",…` (empty when none apply).
  pub fn default_labels_text(&self, family: &Family) -> String {
    label_text(
      self
        .default_labels_for(family)
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str())),
    )
  }

  /// A gauge with a value per process: the values of the live processes that have the
  /// series, combined by its mode; `Absent` when none has it.
  fn across_processes(&self, family: &Family, slot: u32) -> Value<'static> {
    // A series' two cells (value, has it) are in one chunk: runs never straddle chunks.
    let (k, i) = slots::locate(slot);
    let values: Vec<u64> = self
      .own_gauges
      .iter()
      .filter_map(|chunks| {
        let cells = chunks.get(k)?.cells();
        (cells[i + 1].load(Ordering::Relaxed) != 0).then(|| cells[i].load(Ordering::Relaxed))
      })
      .collect();
    if values.is_empty() {
      return Value::Absent;
    }
    let mode = family.def.gauge_mode;
    let count = values.len();
    if family.def.kind == Kind::IntGauge {
      let values = values.iter().map(|bits| *bits as i64);
      Value::IntGauge(match mode {
        GaugeMode::LiveMax => values.max().unwrap_or_default(),
        GaugeMode::LiveMin => values.min().unwrap_or_default(),
        // An integer gauge's mean is rounded toward zero, to stay an integer.
        GaugeMode::LiveAverage => (values.map(i128::from).sum::<i128>() / count as i128) as i64,
        _ => values.fold(0, i64::saturating_add),
      })
    } else {
      let values = values.iter().map(|bits| f64::from_bits(*bits));
      Value::FloatGauge(match mode {
        GaugeMode::LiveMax => values.fold(f64::NEG_INFINITY, f64::max),
        GaugeMode::LiveMin => values.fold(f64::INFINITY, f64::min),
        GaugeMode::LiveAverage => values.sum::<f64>() / count as f64,
        _ => values.sum(),
      })
    }
  }

  pub fn value<'a>(&'a self, entry: &'a FamilySnapshot, series: &Series) -> Value<'a> {
    let family = &*entry.family;
    if let (Some(field), Some(stats)) = (family.process, &self.process) {
      return match (stats.get(field), family.def.kind) {
        (None, _) => Value::Absent,
        (Some(v), Kind::Counter) => Value::Counter(v),
        (Some(v), _) => Value::FloatGauge(v),
      };
    }
    let slot = series.slot as usize;
    let buckets = family.def.buckets.len();
    if family.def.gauge_mode.is_per_process() {
      return self.across_processes(family, series.slot);
    }
    match family.def.kind {
      Kind::Counter => Value::Counter(self.striped[slot]),
      Kind::IntGauge => Value::IntGauge(slots::load(&self.shared, series.slot) as i64),
      Kind::FloatGauge => Value::FloatGauge(f64::from_bits(slots::load(&self.shared, series.slot))),
      Kind::Histogram => {
        let cells = &self.striped[slot..slot + family.slots_per_series()];
        let native = family.def.native.map(|options| {
          let windows = entry.windows.get(&series.slot);
          let positive = windows.map_or(&[][..], |w| &w.positive);
          let negative = windows.map_or(&[][..], |w| &w.negative);
          let schema = positive
            .iter()
            .chain(negative)
            .map(|w| w.schema)
            .min()
            .unwrap_or(options.schema);
          let (positive, positive_total) = merged(positive, &self.striped, schema);
          let (negative, negative_total) = merged(negative, &self.striped, schema);
          let zero_count = cells[buckets + 2] as u64;
          NativeBuckets {
            schema,
            zero_threshold: options.zero_threshold,
            zero_count,
            positive,
            negative,
            count: zero_count + positive_total + negative_total,
          }
        });
        Value::Histogram {
          buckets: match &native {
            Some(native) if buckets == 0 => Cow::Owned(vec![native.count as f64]),
            _ => Cow::Borrowed(&cells[..buckets + 1]),
          },
          sum: cells[buckets + 1],
          native,
        }
      }
      Kind::Summary => Value::Summary {
        quantiles: entry.quantiles.get(&series.slot).and_then(Option::as_deref),
        count: self.striped[slot],
        sum: self.striped[slot + 1],
      },
    }
  }
}

#[cfg(all(test, unix))]
mod tests {
  use super::*;
  use crate::group::testing::kill;
  use crate::registry::{two_members, Definition, DEFAULT_NAMESPACE};
  use crate::summary::SummaryOptions;

  fn gauge(name: &str, kind: Kind, gauge_mode: GaugeMode) -> Definition {
    Definition {
      dynamic_keys: vec!["k".into()],
      max_series: 100,
      gauge_mode,
      ..Definition::new(name, kind)
    }
  }

  /// Sets this process's value of a series, as its JS does.
  fn set(registry: &Registry, id: u32, key: &str, bits: u64) {
    let slot = registry.series(id, &[key]).unwrap().slot();
    let (k, i) = slots::locate(slot);
    registry.shared.own_chunk(k).unwrap().cells()[i].store(bits, Ordering::Relaxed);
  }

  /// Sets series "x" of a gauge of one value for the group.
  fn set_shared(registry: &Registry, id: u32, value: i64) {
    let slot = registry.series(id, &["x"]).unwrap().slot();
    registry.shared.store(slot, value as u64).unwrap();
  }

  /// Each series' value, by its label text.
  fn values(registry: &Registry, name: &str) -> Vec<(String, f64)> {
    let snapshot = Snapshot::take(registry, &registry.namespace(DEFAULT_NAMESPACE).unwrap()).unwrap();
    let Some(entry) = snapshot.families.iter().find(|f| f.family.def.name == name) else {
      return vec![];
    };
    entry
      .series()
      .filter_map(|series| match snapshot.value(entry, series) {
        Value::IntGauge(v) => Some((series.labels.to_string(), v as f64)),
        Value::FloatGauge(v) => Some((series.labels.to_string(), v)),
        Value::Absent => None,
        _ => panic!("a gauge's value"),
      })
      .collect()
  }

  #[test]
  #[cfg(target_os = "linux")]
  fn a_groups_process_figures_are_summed_over_its_live_processes() {
    use crate::process::ProcessField;
    let (path, a, child, b) = two_members("collect-process-figures");
    a.define_process_metrics(DEFAULT_NAMESPACE, "", &[]).unwrap();
    // Defined once for the group: the other process's definitions find the same metrics.
    b.define_process_metrics(DEFAULT_NAMESPACE, "", &[]).unwrap();
    let names = |r: &Registry| r.namespace(DEFAULT_NAMESPACE).unwrap().families().len();
    assert_eq!((names(&a), names(&b)), (9, 9));

    let snapshot = Snapshot::take(&a, &a.namespace(DEFAULT_NAMESPACE).unwrap()).unwrap();
    let figure = |name: &str| {
      let entry = snapshot
        .families
        .iter()
        .find(|f| f.family.def.name == name)
        .unwrap();
      let series = entry.series().next().unwrap();
      match snapshot.value(entry, series) {
        Value::FloatGauge(v) => Some(v),
        Value::Absent => None,
        _ => panic!("{name} is a gauge"),
      }
    };
    // The descriptor limit is the one figure that stands still: this process's and the child's.
    let limit = |pid: &str| {
      crate::process::read_group(&[pid.parse().unwrap()])
        .get(ProcessField::MaxFds)
        .unwrap()
    };
    let expected = limit(&std::process::id().to_string()) + limit(&child.id().to_string());
    assert_eq!(figure("process_max_fds"), Some(expected));
    assert_eq!(figure("process_start_time_seconds"), None, "left out for a group");
    kill(child);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn a_summarys_quantiles_cover_every_live_processs_observations() {
    let (path, a, child, b) = two_members("collect-summaries");
    let latency = Definition {
      summary: SummaryOptions {
        quantiles: vec![0.5, 1.0],
        ..SummaryOptions::default()
      },
      ..gauge("latency", Kind::Summary, GaugeMode::Shared)
    };
    let (in_a, in_b) = (a.define(latency.clone()).unwrap(), b.define(latency).unwrap());
    let slot = a.series(in_a, &["x"]).unwrap().slot();
    assert_eq!(b.series(in_b, &["x"]).unwrap().slot(), slot);
    for v in 1..=100 {
      a.observe_summary(slot, v as f64).unwrap();
      b.observe_summary(slot, 100.0 + v as f64).unwrap();
    }
    let quantiles = |registry: &Registry| {
      let snapshot = Snapshot::take(registry, &registry.namespace(DEFAULT_NAMESPACE).unwrap()).unwrap();
      let entry = &snapshot.families[0];
      let series = entry.series().next().unwrap();
      let Value::Summary { quantiles, .. } = snapshot.value(entry, series) else {
        panic!("a summary");
      };
      quantiles.map(<[f64]>::to_vec)
    };
    assert_eq!(
      quantiles(&a),
      Some(vec![50.5, 100.0]),
      "b has published nothing yet"
    );
    b.publish().unwrap();
    let merged = quantiles(&a).unwrap();
    assert!(
      (merged[0] - 100.5).abs() < 2.0 && merged[1] == 200.0,
      "over both: {merged:?}"
    );
    // b's observations leave the quantiles with b (its count and sum stay, in slots).
    kill(child);
    assert_eq!(quantiles(&a), Some(vec![50.5, 100.0]));
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn the_newest_exemplar_of_a_slot_wins_whichever_process_set_it() {
    let (path, a, child, b) = two_members("collect-exemplars");
    let hits = gauge("hits_total", Kind::Counter, GaugeMode::Shared);
    let (in_a, in_b) = (a.define(hits.clone()).unwrap(), b.define(hits).unwrap());
    let slot = a.series(in_a, &["x"]).unwrap().slot();
    b.series(in_b, &["x"]).unwrap();
    let trace = |id: &str| vec![("trace_id".to_string(), id.to_string())];
    let exemplar = |registry: &Registry| {
      let snapshot = Snapshot::take(registry, &registry.namespace(DEFAULT_NAMESPACE).unwrap()).unwrap();
      let labels = snapshot.families[0].exemplar(slot).map(|e| e.labels[0].1.clone());
      labels
    };
    a.set_exemplar(in_a, slot, trace("from-a"), 1.0).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    b.set_exemplar(in_b, slot, trace("from-b"), 1.0).unwrap();
    assert_eq!(
      exemplar(&a).as_deref(),
      Some("from-a"),
      "b has published nothing yet"
    );
    b.publish().unwrap();
    assert_eq!(exemplar(&a).as_deref(), Some("from-b"), "b's is newer");
    std::thread::sleep(std::time::Duration::from_millis(5));
    a.set_exemplar(in_a, slot, trace("from-a-again"), 1.0).unwrap();
    assert_eq!(exemplar(&a).as_deref(), Some("from-a-again"));
    kill(child);
    std::fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn per_process_gauges_combine_the_live_processes_values() {
    let (path, a, child, b) = two_members("collect-gauge-modes");
    let modes = [
      ("sum", Kind::IntGauge, GaugeMode::LiveSum),
      ("max", Kind::FloatGauge, GaugeMode::LiveMax),
      ("min", Kind::IntGauge, GaugeMode::LiveMin),
      ("average", Kind::FloatGauge, GaugeMode::LiveAverage),
      ("shared", Kind::IntGauge, GaugeMode::Shared),
    ];
    for (name, kind, mode) in modes {
      let (in_a, in_b) = (
        a.define(gauge(name, kind, mode)).unwrap(),
        b.define(gauge(name, kind, mode)).unwrap(),
      );
      let bits = |v: f64| {
        if kind == Kind::IntGauge {
          v as i64 as u64
        } else {
          v.to_bits()
        }
      };
      if mode == GaugeMode::Shared {
        a.series(in_a, &["x"]).unwrap();
        let slot = b.series(in_b, &["x"]).unwrap().slot();
        a.shared.store(slot, bits(3.0)).unwrap();
        b.shared.store(slot, bits(-4.0)).unwrap();
        continue;
      }
      set(&a, in_a, "x", bits(3.0));
      set(&b, in_b, "x", bits(-4.0));
      // b has "y" and never sets it: 0 counts as its value; a does not have it.
      b.series(in_b, &["y"]).unwrap();
      // Only a has "z".
      set(&a, in_a, "z", bits(5.0));
    }
    let x_y_z = |x: f64, y: f64, z: f64| {
      vec![
        (r#"k="x""#.to_string(), x),
        (r#"k="y""#.to_string(), y),
        (r#"k="z""#.to_string(), z),
      ]
    };
    assert_eq!(values(&a, "sum"), x_y_z(-1.0, 0.0, 5.0));
    assert_eq!(values(&a, "max"), x_y_z(3.0, 0.0, 5.0));
    assert_eq!(values(&b, "min"), x_y_z(-4.0, 0.0, 5.0));
    assert_eq!(values(&b, "average"), x_y_z(-0.5, 0.0, 5.0));
    assert_eq!(
      values(&b, "shared"),
      [(r#"k="x""#.to_string(), -4.0)],
      "the last set wins"
    );

    // A gauge that means nothing for the group is not exposed in one; alone, it is.
    let omitted = gauge("started", Kind::IntGauge, GaugeMode::Omit);
    set_shared(&a, a.define(omitted.clone()).unwrap(), 7);
    assert_eq!(values(&a, "started"), []);
    let alone = Registry::new();
    set_shared(&alone, alone.define(omitted).unwrap(), 7);
    assert_eq!(values(&alone, "started"), [(r#"k="x""#.to_string(), 7.0)]);

    // b's values go with it; series only b had are no longer exposed.
    kill(child);
    assert_eq!(
      values(&a, "sum"),
      [(r#"k="x""#.to_string(), 3.0), (r#"k="z""#.to_string(), 5.0)]
    );
    assert_eq!(
      values(&a, "min"),
      [(r#"k="x""#.to_string(), 3.0), (r#"k="z""#.to_string(), 5.0)]
    );
    std::fs::remove_dir_all(&path).unwrap();
  }
}
