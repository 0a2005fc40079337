//! Process figures read from /proc at scrape time, under prom-client's names, so that
//! dashboards written for prom-client's default metrics work unchanged. Linux has them
//! all; other systems have what they tell without /proc (see each `read`). A
//! multi-process group's figures are the sum over its live processes, as prom-client's
//! AggregatorRegistry sums a cluster's workers (`read_group`).

#[cfg(target_os = "linux")]
use std::fs;

#[cfg(target_os = "linux")]
use crate::group::stat_fields;
use crate::kind::Kind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ProcessField {
  CpuUser,
  CpuSystem,
  CpuTotal,
  StartTime,
  Resident,
  Virtual,
  Heap,
  OpenFds,
  MaxFds,
}

/// Each figure: its field, name (before any prefix), type and help, as prom-client 15 has them.
pub const PROCESS_METRICS: [(ProcessField, &str, Kind, &str); 9] = [
  (
    ProcessField::CpuUser,
    "process_cpu_user_seconds_total",
    Kind::Counter,
    "Total user CPU time spent in seconds.",
  ),
  (
    ProcessField::CpuSystem,
    "process_cpu_system_seconds_total",
    Kind::Counter,
    "Total system CPU time spent in seconds.",
  ),
  (
    ProcessField::CpuTotal,
    "process_cpu_seconds_total",
    Kind::Counter,
    "Total user and system CPU time spent in seconds.",
  ),
  (
    ProcessField::StartTime,
    "process_start_time_seconds",
    Kind::FloatGauge,
    "Start time of the process since unix epoch in seconds.",
  ),
  (
    ProcessField::Resident,
    "process_resident_memory_bytes",
    Kind::FloatGauge,
    "Resident memory size in bytes.",
  ),
  (
    ProcessField::Virtual,
    "process_virtual_memory_bytes",
    Kind::FloatGauge,
    "Virtual memory size in bytes.",
  ),
  (
    ProcessField::Heap,
    "process_heap_bytes",
    Kind::FloatGauge,
    "Process heap size in bytes.",
  ),
  (
    ProcessField::OpenFds,
    "process_open_fds",
    Kind::FloatGauge,
    "Number of open file descriptors.",
  ),
  (
    ProcessField::MaxFds,
    "process_max_fds",
    Kind::FloatGauge,
    "Maximum number of open file descriptors.",
  ),
];

/// One read of the figures; `None` for what this system does not tell.
#[derive(Default, Debug)]
pub struct ProcessStats {
  cpu_user: Option<f64>,
  cpu_system: Option<f64>,
  start_time: Option<f64>,
  resident: Option<f64>,
  virtual_size: Option<f64>,
  heap: Option<f64>,
  open_fds: Option<f64>,
  max_fds: Option<f64>,
}

impl ProcessStats {
  /// Adds another process's figures; a figure either lacks is kept as it is.
  fn add(&mut self, other: &ProcessStats) {
    let sum = |a: &mut Option<f64>, b: Option<f64>| {
      if let Some(b) = b {
        *a = Some(a.unwrap_or(0.0) + b);
      }
    };
    sum(&mut self.cpu_user, other.cpu_user);
    sum(&mut self.cpu_system, other.cpu_system);
    sum(&mut self.resident, other.resident);
    sum(&mut self.virtual_size, other.virtual_size);
    sum(&mut self.heap, other.heap);
    sum(&mut self.open_fds, other.open_fds);
    sum(&mut self.max_fds, other.max_fds);
  }

  pub fn get(&self, field: ProcessField) -> Option<f64> {
    match field {
      ProcessField::CpuUser => self.cpu_user,
      ProcessField::CpuSystem => self.cpu_system,
      ProcessField::CpuTotal => Some(self.cpu_user? + self.cpu_system?),
      ProcessField::StartTime => self.start_time,
      ProcessField::Resident => self.resident,
      ProcessField::Virtual => self.virtual_size,
      ProcessField::Heap => self.heap,
      ProcessField::OpenFds => self.open_fds,
      ProcessField::MaxFds => self.max_fds,
    }
  }
}

/// Reads /proc/self (and /proc/stat for the boot time). Takes tens of microseconds.
#[cfg(target_os = "linux")]
pub fn read() -> ProcessStats {
  read_at("self")
}

/// The figures of a multi-process group: each summed over the processes `pids` (those
/// that have gone since are skipped); the start time is left out, as prom-client's
/// `omit` aggregator leaves it out of a cluster's metrics.
#[cfg(target_os = "linux")]
pub fn read_group(pids: &[u32]) -> ProcessStats {
  let mut stats = ProcessStats::default();
  for pid in pids {
    stats.add(&read_at(&pid.to_string()));
  }
  stats
}

/// Reads /proc/`process`: `self`, or a process id.
#[cfg(target_os = "linux")]
fn read_at(process: &str) -> ProcessStats {
  let mut stats = ProcessStats::default();
  // SAFETY: sysconf has no preconditions.
  let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
  if let Some(fields) = stat_fields(process) {
    // Index 0 is field 3 (state), so utime (14) is 11, stime (15) 12, starttime (22) 19.
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    if ticks > 0.0 {
      stats.cpu_user = field(11).map(|t| t / ticks);
      stats.cpu_system = field(12).map(|t| t / ticks);
      let boot_time = fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
          .find_map(|l| l.strip_prefix("btime "))
          .and_then(|v| v.trim().parse::<f64>().ok())
      });
      stats.start_time = field(19).zip(boot_time).map(|(start, boot)| boot + start / ticks);
    }
  }
  if let Ok(status) = fs::read_to_string(format!("/proc/{process}/status")) {
    let kilobytes = |key: &str| {
      status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb * 1024.0)
    };
    stats.resident = kilobytes("VmRSS:");
    stats.virtual_size = kilobytes("VmSize:");
    stats.heap = kilobytes("VmData:");
  }
  // Listing our own descriptors holds one of our own while it is read.
  let listing = usize::from(process == "self");
  stats.open_fds = fs::read_dir(format!("/proc/{process}/fd"))
    .ok()
    .map(|entries| entries.count().saturating_sub(listing) as f64);
  stats.max_fds = fs::read_to_string(format!("/proc/{process}/limits"))
    .ok()
    .and_then(|limits| {
      let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
      line.split_whitespace().nth(3)?.parse::<f64>().ok()
    });
  stats
}

/// Other Unix systems have no /proc: CPU time comes from getrusage(2), and the memory,
/// start-time and descriptor figures are left out of the exposition.
#[cfg(all(unix, not(target_os = "linux")))]
pub fn read() -> ProcessStats {
  let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
  // SAFETY: getrusage fills the struct it is given when it returns 0.
  if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
    return ProcessStats::default();
  }
  // SAFETY: initialised by the successful call above.
  let usage = unsafe { usage.assume_init() };
  let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
  ProcessStats {
    cpu_user: Some(seconds(usage.ru_utime)),
    cpu_system: Some(seconds(usage.ru_stime)),
    ..ProcessStats::default()
  }
}

/// Without /proc, other processes' figures cannot be read: a group has none.
#[cfg(not(target_os = "linux"))]
pub fn read_group(_pids: &[u32]) -> ProcessStats {
  ProcessStats::default()
}

/// Windows: none of the process figures. (prom-client has the CPU times and start time
/// there, from JS; its memory and descriptor figures need /proc too.)
#[cfg(not(unix))]
pub fn read() -> ProcessStats {
  ProcessStats::default()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  #[cfg(target_os = "linux")]
  fn reads_this_process() {
    let stats = read();
    let now = std::time::SystemTime::now()
      .duration_since(std::time::UNIX_EPOCH)
      .unwrap()
      .as_secs_f64();
    let start = stats.get(ProcessField::StartTime).unwrap();
    assert!(
      start > now - 3600.0 && start <= now + 1.0,
      "{start} is this process's start"
    );
    assert!(stats.get(ProcessField::Resident).unwrap() > 1e6);
    assert!(stats.get(ProcessField::Virtual).unwrap() >= stats.get(ProcessField::Resident).unwrap());
    let fds = stats.get(ProcessField::OpenFds).unwrap();
    assert!(fds >= 3.0 && fds <= stats.get(ProcessField::MaxFds).unwrap());
    let total = stats.get(ProcessField::CpuTotal).unwrap();
    assert_eq!(
      total,
      stats.get(ProcessField::CpuUser).unwrap() + stats.get(ProcessField::CpuSystem).unwrap()
    );
  }
}
