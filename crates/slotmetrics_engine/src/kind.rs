//! What kind of metric a family is, and whose text conventions its exposition
//! follows: the vocabulary every layer above shares.

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
  Counter,
  /// i64 in a shared slot, exact to 2^63.
  IntGauge,
  /// f64 bits in a shared slot.
  FloatGauge,
  Histogram,
  /// Count and sum in striped slots; quantiles from a `summary::Window` per series.
  Summary,
}

impl Kind {
  pub fn describe(self) -> &'static str {
    match self {
      Kind::Counter => "a counter",
      Kind::IntGauge => "an integer gauge",
      Kind::FloatGauge => "a float gauge",
      Kind::Histogram => "a histogram",
      Kind::Summary => "a summary",
    }
  }

  pub fn is_striped(self) -> bool {
    matches!(self, Kind::Counter | Kind::Histogram | Kind::Summary)
  }
}

/// Whose text conventions a family's exposition follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Style {
  /// slotmetrics': a counter is always `<name>_total`.
  Standard,
  /// prom-client's, for metrics made through `slotmetrics/prom-client`, so that what
  /// was written against prom-client's text reads the same: a counter's 0.0.4 samples
  /// keep its name as given, numbers are written as JavaScript writes them, labels
  /// with empty values (those a partial label set leaves out) are left out, default
  /// labels follow a series' own, and a blank line separates families in 0.0.4.
  PromClient,
}

/// What a gauge's value is across the processes of a multi-process group. One process
/// alone is a group of one: every mode gives the value it set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GaugeMode {
  /// One value for the whole group: the last set wins, wherever it was set.
  #[default]
  Shared,
  /// Each process has its own value; the group's is their sum over live processes.
  LiveSum,
  /// The largest of the live processes' values.
  LiveMax,
  /// The smallest of the live processes' values.
  LiveMin,
  /// The mean of the live processes' values.
  LiveAverage,
  /// Not exposed in a group: a figure that means nothing for the group as a whole
  /// (prom-client's `omit` aggregator, as on `process_start_time_seconds`).
  Omit,
}

impl GaugeMode {
  /// The name the JS API gives the mode.
  pub fn name(self) -> &'static str {
    match self {
      GaugeMode::Shared => "shared",
      GaugeMode::LiveSum => "livesum",
      GaugeMode::LiveMax => "max",
      GaugeMode::LiveMin => "min",
      GaugeMode::LiveAverage => "average",
      GaugeMode::Omit => "omit",
    }
  }

  /// Whether each process keeps its own value.
  pub fn is_per_process(self) -> bool {
    !matches!(self, GaugeMode::Shared | GaugeMode::Omit)
  }
}
