//! The exposition as data rather than text, in the shape of prom-client's
//! `getMetricsAsJSON()`: metric → samples with their labels and values.

use crate::collect::{Snapshot, Value};
use crate::exemplar::Exemplar;
use crate::kind::{Kind, Style};
use crate::summary::empty_quantile;
use crate::text::parse_labels;

pub struct MetricData {
  /// As the 0.0.4 text names it (a counter's with `_total`).
  pub name: String,
  pub help: String,
  pub kind: &'static str,
  pub samples: Vec<SampleData>,
}

pub struct SampleData {
  /// Set where it differs from the metric's name: a histogram's `_bucket`, `_sum`,
  /// `_count`, a summary's `_sum`, `_count`.
  pub metric_name: Option<String>,
  pub labels: Vec<(String, String)>,
  pub value: f64,
  /// A counter's or a histogram bucket's exemplar.
  pub exemplar: Option<Exemplar>,
  /// Since when its series counts (seconds since the Unix epoch): see
  /// `FamilySnapshot::created`.
  pub created: f64,
}

/// One per family of the snapshot, in its order.
pub fn metrics_data(snapshot: &Snapshot) -> Vec<MetricData> {
  snapshot
    .families
    .iter()
    .map(|entry| {
      let family = &entry.family;
      let prom_client = family.def.style == Style::PromClient;
      let kind = match family.def.kind {
        Kind::Counter => "counter",
        Kind::IntGauge | Kind::FloatGauge => "gauge",
        Kind::Histogram => "histogram",
        Kind::Summary => "summary",
      };
      let name = family.sample_name();
      let mut samples = Vec::new();
      let defaults = snapshot.default_labels_for(family);
      for series in entry.series() {
        let own = parse_labels(&series.labels);
        // Default labels first, but after a series' own for prom-client.
        let labels: Vec<(String, String)> = if prom_client {
          own.into_iter().chain(defaults.iter().cloned()).collect()
        } else {
          defaults.iter().cloned().chain(own).collect()
        };
        let created = entry.created(series);
        let sample = |metric_name: Option<String>, labels: Vec<(String, String)>, value: f64| SampleData {
          metric_name,
          labels,
          value,
          exemplar: None,
          created,
        };
        let exemplar = |slot: u32| entry.exemplar(slot).cloned();
        match snapshot.value(entry, series) {
          Value::Absent => {}
          Value::Counter(v) => samples.push(SampleData {
            exemplar: exemplar(series.slot),
            ..sample(None, labels, v)
          }),
          Value::FloatGauge(v) => samples.push(sample(None, labels, v)),
          Value::IntGauge(v) => samples.push(sample(None, labels, v as f64)),
          Value::Histogram { buckets, sum, .. } => {
            let mut cumulative = 0.0;
            for (bucket, (count, le)) in buckets.iter().zip(&family.bucket_labels).enumerate() {
              cumulative += count;
              let mut with_le = labels.clone();
              with_le.push(("le".to_string(), le.clone()));
              let exemplar = exemplar(series.slot + bucket as u32);
              samples.push(SampleData {
                exemplar,
                ..sample(Some(format!("{}_bucket", family.base)), with_le, cumulative)
              });
            }
            samples.push(sample(Some(format!("{}_sum", family.base)), labels.clone(), sum));
            samples.push(sample(Some(format!("{}_count", family.base)), labels, cumulative));
          }
          Value::Summary {
            quantiles,
            count,
            sum,
          } => {
            for (i, q) in family.quantile_labels.iter().enumerate() {
              // prom-client puts `quantile` first.
              let with_quantile = if prom_client {
                [("quantile".to_string(), q.clone())]
                  .into_iter()
                  .chain(labels.iter().cloned())
                  .collect()
              } else {
                labels
                  .iter()
                  .cloned()
                  .chain([("quantile".to_string(), q.clone())])
                  .collect()
              };
              samples.push(sample(
                None,
                with_quantile,
                quantiles.map_or(empty_quantile(family.def.style), |values| values[i]),
              ));
            }
            samples.push(sample(Some(format!("{}_sum", family.base)), labels.clone(), sum));
            samples.push(sample(Some(format!("{}_count", family.base)), labels, count));
          }
        }
      }
      MetricData {
        name,
        help: family.def.help.clone(),
        kind,
        samples,
      }
    })
    .collect()
}
