//! Defining metrics, and listing and unlisting them in namespaces, with the
//! namespaces' default labels.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};

use super::definition::{check_label_name, describe, describe_difference, validate};
use super::family::{self, sample_names};
#[cfg(unix)]
use super::replica::Record;
use super::{
  Definition, Family, FamilyId, Namespace, NamespaceId, Registry, RegistryError, DEFAULT_NAMESPACE, NO_LABELS,
};
use crate::kind::Style;
use crate::process::{ProcessField, PROCESS_METRICS};
use crate::text::{format_js_number, format_number};

impl Registry {
  /// Defines a metric in the default namespace (see `define_in`).
  pub fn define(&self, def: Definition) -> Result<FamilyId, RegistryError> {
    self.define_in(DEFAULT_NAMESPACE, def)
  }

  /// Defines a metric, or returns the existing one if an identical definition exists
  /// in the namespace.
  pub fn define_in(&self, namespace: NamespaceId, def: Definition) -> Result<FamilyId, RegistryError> {
    let shared = namespace == DEFAULT_NAMESPACE;
    self.define_from(&*self.namespace(namespace)?, def, None, shared)
  }

  /// Defines prom-client's process figures (read from /proc at scrape time) under
  /// `prefix`, each with `static_labels`. In a group's default namespace they are the
  /// group's, as its other metrics (their values the sums over its processes).
  pub fn define_process_metrics(
    &self,
    namespace: NamespaceId,
    prefix: &str,
    static_labels: &[(String, String)],
  ) -> Result<(), RegistryError> {
    let shared = namespace == DEFAULT_NAMESPACE;
    let namespace = self.namespace(namespace)?;
    for (field, name, kind, help) in PROCESS_METRICS {
      let def = Definition {
        help: help.to_string(),
        static_labels: static_labels.to_vec(),
        max_series: 1,
        ..Definition::new(format!("{prefix}{name}"), kind)
      };
      let id = self.define_from(&namespace, def, Some(field), shared)?;
      self.series(id, NO_LABELS)?;
    }
    Ok(())
  }

  /// Defines a metric in `namespace`; `shared`: in the group's journal too, when this
  /// registry is in a group.
  #[cfg_attr(not(unix), allow(unused_variables))]
  fn define_from(
    &self,
    namespace: &Namespace,
    def: Definition,
    process: Option<ProcessField>,
    shared: bool,
  ) -> Result<FamilyId, RegistryError> {
    let base = validate(&def)?;
    #[cfg(unix)]
    if let Some(replica) = self.replica.as_ref().filter(|_| shared) {
      let _changing = replica.files.lock.exclusive()?;
      let mut progress = self.catch_up_with(replica)?;
      let mut families = self.families.write();
      if let Some(id) = find_defined(namespace, &families, &def, &base, process)? {
        return Ok(id);
      }
      let number = progress.families.len() as u32;
      let record = Record::Define {
        definition: Box::new(def.clone()),
        process,
      };
      replica.append(&mut progress, &record)?;
      let id = create_family(namespace, &mut families, def, base, process, Some(number));
      progress.families.push(Some(id));
      return Ok(id);
    }
    let mut families = self.families.write();
    match find_defined(namespace, &families, &def, &base, process)? {
      Some(id) => Ok(id),
      None => Ok(create_family(namespace, &mut families, def, base, process, None)),
    }
  }

  /// Lists a defined metric in another namespace too, one metric exposed by both
  /// (prom-client's `registers: [a, b]`, `registerMetric()`, `Registry.merge()`).
  /// Listing it where it is already listed does nothing.
  pub fn list_in(&self, namespace: NamespaceId, id: FamilyId) -> Result<(), RegistryError> {
    let namespace = self.namespace(namespace)?;
    let families = self.families.write();
    let family = families
      .get(id as usize)
      .ok_or_else(|| RegistryError::Invalid(format!("no metric with id {id}")))?;
    match namespace.by_name.get(&family.base).map(|listed| *listed) {
      Some(listed) if listed == id => return Ok(()),
      Some(_) => {
        return Err(RegistryError::Conflict(format!(
          "a metric named \"{}\" is already registered",
          family.def.name
        )));
      }
      None => {}
    }
    check_sample_names(&namespace, &families, &family.def, &family.base)?;
    list(&namespace, id, family);
    Ok(())
  }

  /// The ids of the metrics listed in a namespace, in listing order.
  pub fn listed(&self, namespace: NamespaceId) -> Result<Vec<FamilyId>, RegistryError> {
    let namespace = self.namespace(namespace)?;
    let families = namespace.families.read();
    Ok(
      families
        .iter()
        .filter_map(|family| namespace.by_name.get(&family.base).map(|id| *id))
        .collect(),
    )
  }

  /// Takes a metric out of a namespace (prom-client's `removeSingleMetric()`), freeing
  /// its name there; its series keep counting. Returns whether it was listed.
  pub fn unlist(&self, namespace: NamespaceId, name: &str) -> Result<bool, RegistryError> {
    let namespace = self.namespace(namespace)?;
    let _definitions = self.families.write();
    let listed = namespace
      .families
      .read()
      .iter()
      .find(|f| f.def.name == name)
      .cloned();
    let Some(family) = listed else { return Ok(false) };
    namespace.by_name.remove(&family.base);
    for sample in sample_names(family.def.kind, &family.base) {
      namespace.sample_names.remove(&sample);
    }
    namespace.families.write().retain(|f| !Arc::ptr_eq(f, &family));
    Ok(true)
  }

  /// Unlists every metric of a namespace, freeing their names. Their series keep their
  /// slots (handles may still write to them) but are no longer exposed.
  pub fn clear(&self, namespace: NamespaceId) -> Result<(), RegistryError> {
    if namespace == DEFAULT_NAMESPACE {
      self.default_clears.fetch_add(1, Ordering::AcqRel);
    }
    let namespace = self.namespace(namespace)?;
    let _definitions = self.families.write();
    namespace.families.write().clear();
    namespace.by_name.clear();
    namespace.sample_names.clear();
    Ok(())
  }

  /// Replaces the labels added to every series of a namespace; a metric's own label of
  /// the same name wins over a default one.
  pub fn set_default_labels(
    &self,
    namespace: NamespaceId,
    labels: Vec<(String, String)>,
  ) -> Result<(), RegistryError> {
    for (i, (key, _)) in labels.iter().enumerate() {
      check_label_name(key, "in the default labels", false)?;
      if key == "le" || key == "quantile" {
        return Err(RegistryError::Invalid(format!(
          "default label name \"{key}\" is reserved for buckets and quantiles"
        )));
      }
      if labels[..i].iter().any(|(k, _)| k == key) {
        return Err(RegistryError::Invalid(format!(
          "default label name \"{key}\" appears twice"
        )));
      }
    }
    *self.namespace(namespace)?.default_labels.write() = Arc::new(labels);
    Ok(())
  }
}

/// The metric a definition names in a namespace if it is the same one (`Some`), `None`
/// if the definition is new there, or why it conflicts with what is there.
pub(super) fn find_defined(
  namespace: &Namespace,
  families: &[Arc<Family>],
  def: &Definition,
  base: &str,
  process: Option<ProcessField>,
) -> Result<Option<FamilyId>, RegistryError> {
  if let Some(id) = namespace.by_name.get(base).map(|id| *id) {
    let family = &families[id as usize];
    let existing = &family.def;
    let difference = match (family.process.is_some(), process.is_some()) {
      (true, false) => Some("is yours, and the name belongs to a default process metric".to_string()),
      (false, true) => Some("is a default process metric, and a metric of yours has the name".to_string()),
      _ => describe_difference(existing, def),
    };
    return match difference {
      None => Ok(Some(id)),
      Some(why) => Err(RegistryError::Conflict(format!(
        "metric \"{}\" is already defined as {}; this definition {}",
        def.name,
        describe(existing),
        why
      ))),
    };
  }
  check_sample_names(namespace, families, def, base)?;
  Ok(None)
}

/// Adds a checked new definition to the registry and lists it in `namespace`;
/// `group_number`: its number among the group's metrics, if it is one.
pub(super) fn create_family(
  namespace: &Namespace,
  families: &mut Vec<Arc<Family>>,
  def: Definition,
  base: String,
  process: Option<ProcessField>,
  group_number: Option<u32>,
) -> FamilyId {
  let id = families.len() as FamilyId;
  let bucket_label = if def.style == Style::PromClient {
    format_js_number
  } else {
    format_number
  };
  let bucket_labels = def
    .buckets
    .iter()
    .map(|b| bucket_label(*b))
    .chain(["+Inf".to_string()])
    .collect();
  let quantile_labels = def.summary.quantiles.iter().map(|q| bucket_label(*q)).collect();
  let family = Arc::new(Family {
    def,
    process,
    base,
    group_number,
    bucket_labels,
    quantile_labels,
    index: DashMap::default(),
    registered: AtomicUsize::new(0),
    overflowed: AtomicBool::new(false),
    series: RwLock::default(),
    restarts: Mutex::default(),
    restarted: AtomicBool::new(false),
    exemplars: Mutex::default(),
    overflow_count: Mutex::default(),
    windows: Mutex::default(),
    aliases: Mutex::default(),
    aliased: AtomicBool::new(false),
    overflow_series: AtomicU32::new(family::NO_SERIES),
    attribute_keys: RwLock::default(),
    derived_labels: RwLock::default(),
  });
  list(namespace, id, &family);
  families.push(family);
  id
}

/// Refuses a definition whose samples would share a name with a listed metric's
/// (OpenMetrics forbids clashes such as a gauge `x_total` beside a counter `x`).
fn check_sample_names(
  namespace: &Namespace,
  families: &[Arc<Family>],
  def: &Definition,
  base: &str,
) -> Result<(), RegistryError> {
  for name in sample_names(def.kind, base) {
    if let Some(owner) = namespace.sample_names.get(&name) {
      let owner = &families[*owner as usize].def;
      return Err(RegistryError::Conflict(format!(
        "metric \"{}\" would expose samples named \"{name}\", which {} \"{}\" already exposes",
        def.name,
        owner.kind.describe(),
        owner.name
      )));
    }
  }
  Ok(())
}

/// Lists a family in a namespace; its names have been checked.
fn list(namespace: &Namespace, id: FamilyId, family: &Arc<Family>) {
  for name in sample_names(family.def.kind, &family.base) {
    namespace.sample_names.insert(name, id);
  }
  namespace.by_name.insert(family.base.clone(), id);
  namespace.families.write().push(family.clone());
}
