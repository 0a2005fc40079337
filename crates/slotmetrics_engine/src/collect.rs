//! Collection: one consistent read of the registry's metadata and of every slot.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::exemplar::Exemplar;
use crate::kind::Kind;
use crate::process::{self, ProcessStats};
use crate::registry::{Family, Namespace, Registry, Series};
use crate::slots::{self, Chunk, SlotError};
use crate::text::label_text;

pub struct FamilySnapshot {
  pub family: Arc<Family>,
  series: Arc<Vec<Series>>,
  /// First slots of removed series not used since.
  hidden: HashSet<u32>,
  /// A summary's quantiles by first slot (`None`: no observation in its window).
  quantiles: HashMap<u32, Option<Vec<f64>>>,
  /// Exemplars by slot (a counter's, or a histogram bucket's).
  exemplars: HashMap<u32, Exemplar>,
}

impl FamilySnapshot {
  /// The series to expose, in registration order.
  pub fn series(&self) -> impl Iterator<Item = &Series> {
    self
      .series
      .iter()
      .filter(|s| self.hidden.is_empty() || !self.hidden.contains(&s.slot))
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
  /// Read once per scrape when process figures are defined.
  process: Option<ProcessStats>,
  default_labels: Arc<Vec<(String, String)>>,
}

/// A series' value as read for exposition.
pub enum Value<'a> {
  Counter(f64),
  IntGauge(i64),
  FloatGauge(f64),
  /// Per-bucket (not cumulative) counts, `+Inf` last, then the sum.
  Histogram {
    buckets: &'a [f64],
    sum: f64,
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

impl Snapshot {
  /// Reads the metrics of one namespace, with what other processes of a multi-process
  /// group defined and registered up to now.
  pub fn take(registry: &Registry, namespace: &Namespace) -> Result<Snapshot, SlotError> {
    registry.catch_up()?;
    Snapshot::read(registry, namespace.families(), namespace.default_labels())
  }

  /// Reads these metrics, with these default labels.
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
    families: Vec<Arc<Family>>,
    default_labels: Arc<Vec<(String, String)>>,
  ) -> Result<Snapshot, SlotError> {
    // Read before the slots (reading may prune a summary's series, which restarts them),
    // so a quantile never counts an observation the count does not.
    let quantiles: Vec<_> = families
      .iter()
      .map(|family| {
        if family.def.kind == Kind::Summary {
          registry.summary_quantiles(family)
        } else {
          Ok(HashMap::new())
        }
      })
      .collect::<Result<_, _>>()?;
    // Also before the slots: JS counts an observation before it sets its exemplar, so
    // every exemplar read here has its observation in the slots read next.
    let exemplars: Vec<_> = families.iter().map(|family| family.exemplars()).collect();
    let series: Vec<_> = families.iter().map(|family| family.series()).collect();
    let mut striped = registry.striped.totals()?;
    let shared = registry.shared.chunks()?;
    let families: Vec<FamilySnapshot> = families
      .into_iter()
      .zip(series)
      .zip(quantiles)
      .zip(exemplars)
      .map(|(((family, series), quantiles), exemplars)| FamilySnapshot {
        hidden: family.apply_restarts(&mut striped, &shared),
        series,
        family,
        quantiles,
        exemplars,
      })
      .collect();
    let process = families
      .iter()
      .any(|f| f.family.process.is_some())
      .then(process::read);
    Ok(Snapshot {
      families,
      striped,
      shared,
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
    match family.def.kind {
      Kind::Counter => Value::Counter(self.striped[slot]),
      Kind::IntGauge => Value::IntGauge(slots::load(&self.shared, series.slot) as i64),
      Kind::FloatGauge => Value::FloatGauge(f64::from_bits(slots::load(&self.shared, series.slot))),
      Kind::Histogram => {
        let cells = &self.striped[slot..slot + buckets + 2];
        Value::Histogram {
          buckets: &cells[..buckets + 1],
          sum: cells[buckets + 1],
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
