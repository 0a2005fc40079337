//! Each JS environment (main thread, worker): attaching it, its slot memory views,
//! its scratch buffer and log ring, and giving them back when it is torn down.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use slotmetrics_engine::logging::{Ring, RingId, LOGGER};
use slotmetrics_engine::rings::{EntryRing, RingKind};
use slotmetrics_engine::slots::{Chunk, StripeId};
use slotmetrics_engine::{collect_hooks, slots};

use crate::shared::{open_group, slot_error, without_panics, REGISTRY};
use crate::{scratch, views};

/// Slots per chunk of slot memory; a slot index `i` lives in chunk `i / CHUNK_SLOTS`.
#[napi]
pub const CHUNK_SLOTS: u32 = slots::CHUNK_SLOTS as u32;

/// What the environment this instance of the addon was loaded in holds.
pub(crate) struct EnvState {
  pub(crate) stripe: StripeId,
  /// Where its JS writes label values for `registerScratchSeries`.
  pub(crate) scratch: Option<scratch::Scratch>,
  /// Its log ring, once it has logged.
  pub(crate) log_ring: Option<(RingId, Arc<Ring>)>,
  /// Its rings of updates for the engine (summary observations, exemplars, label sets
  /// to register), once used.
  pub(crate) rings: Vec<(RingKind, Arc<EntryRing>)>,
  /// The first slots of the leases of series it took (`leaseSeries`).
  pub(crate) leases: Vec<u32>,
}

/// An environment's state until it is torn down, `None` after: shared by its instance
/// data and its cleanup hook, whichever tears it down first.
type Attachment = Arc<parking_lot::Mutex<Option<EnvState>>>;

/// Runs once per JS environment (main thread, each worker): gives it a stripe of
/// counter/histogram slots. When the environment is torn down, after its last line of
/// JS has run, the stripe is folded into the retired totals and the log ring's last
/// lines are written out. That runs from the environment's cleanup hook or from its
/// instance data's finalizer, whichever comes first: Node-API runs both at teardown,
/// but some runtimes and exits skip the finalizer (nodejs/node#58341).
#[napi(module_exports)]
pub fn attach_environment(_exports: Object, env: Env) -> Result<()> {
  let stripe = without_panics(|| {
    // The first environment opens the registry here: a group's files, if asked for.
    open_group().map_err(Error::from_reason)?;
    REGISTRY.striped.attach().map_err(slot_error)
  })?;
  let state = EnvState {
    stripe,
    scratch: None,
    log_ring: None,
    rings: Vec::new(),
    leases: Vec::new(),
  };
  let attachment: Attachment = Arc::new(parking_lot::Mutex::new(Some(state)));
  env.add_env_cleanup_hook(Arc::clone(&attachment), |attachment| detach(&attachment))?;
  env.set_instance_data(attachment, (), |ctx| detach(&ctx.value))
}

/// Gives back what a torn-down environment held; the second call does nothing.
fn detach(attachment: &Attachment) {
  let Some(mut state) = attachment.lock().take() else {
    return;
  };
  let _ = without_panics(|| {
    collect_hooks::set(state.stripe, None);
    // A fold that fails (only a group's files can) leaves the stripe's counts where
    // they are, in the stripe, folded by whichever member finds this process gone.
    let _ = REGISTRY.striped.retire(state.stripe);
    if let Some(scratch) = state.scratch.take() {
      scratch.give_back();
    }
    if let Some((ring, _)) = state.log_ring {
      LOGGER.detach(ring);
    }
    // Its label sets registered first: its exemplars may be on their series.
    state
      .rings
      .sort_by_key(|(kind, _)| *kind != RingKind::Registrations);
    for (kind, ring) in state.rings.drain(..) {
      REGISTRY.detach_ring(kind, &ring);
    }
    REGISTRY.end_leases(&state.leases);
    Ok(())
  });
}

/// Runs `work` on the calling environment's state.
pub(crate) fn with_env_state<T>(env: &Env, work: impl FnOnce(&mut EnvState) -> Result<T>) -> Result<T> {
  let attachment = env
    .get_instance_data::<Attachment>()?
    .ok_or_else(|| Error::from_reason("slotmetrics: this environment was not attached"))?;
  let mut state = attachment.lock();
  work(
    state
      .as_mut()
      .ok_or_else(|| Error::from_reason("slotmetrics: this environment has been torn down"))?,
  )
}

/// Chunk `index` of the calling environment's stripe (counter and histogram slots).
#[napi(catch_unwind, ts_return_type = "ArrayBuffer | SharedArrayBuffer")]
pub fn stripe_chunk(env: &Env, index: u32) -> Result<Unknown<'_>> {
  let stripe = with_env_state(env, |state| Ok(state.stripe))?;
  let chunk = REGISTRY
    .striped
    .chunk(stripe, index as usize)
    .map_err(slot_error)?;
  views::slot_view(env, chunk.as_ptr(), Chunk::BYTES)
}

/// Chunk `index` of the process-wide gauge slots.
#[napi(catch_unwind, ts_return_type = "ArrayBuffer | SharedArrayBuffer")]
pub fn shared_chunk(env: &Env, index: u32) -> Result<Unknown<'_>> {
  let chunk = REGISTRY.shared.chunk(index as usize).map_err(slot_error)?;
  views::slot_view(env, chunk.as_ptr(), Chunk::BYTES)
}

/// Chunk `index` of this process's own gauge cells (gauges with a value per process in
/// a multi-process group; alone, the same memory as `shared_chunk`).
#[napi(catch_unwind, ts_return_type = "ArrayBuffer | SharedArrayBuffer")]
pub fn own_chunk(env: &Env, index: u32) -> Result<Unknown<'_>> {
  let chunk = REGISTRY.shared.own_chunk(index as usize).map_err(slot_error)?;
  views::slot_view(env, chunk.as_ptr(), Chunk::BYTES)
}

/// This environment's scratch buffer for label values (see `scratch.rs`).
#[napi(catch_unwind)]
pub fn label_scratch(env: &Env) -> Result<ArrayBuffer<'_>> {
  let memory = with_env_state(env, |state| {
    Ok(state.scratch.get_or_insert_with(scratch::Scratch::take).as_ptr())
  })?;
  views::external_view(env, memory, scratch::SCRATCH_BYTES)
}

#[napi(object)]
pub struct StripeStats {
  /// Environments that hold a stripe now.
  pub live: u32,
  /// Stripes of torn-down environments, folded and ready for reuse.
  pub free: u32,
}

/// How many stripes exist; lets tests see that worker stripes are recycled.
#[napi(catch_unwind)]
pub fn stripe_stats() -> StripeStats {
  let (live, free) = REGISTRY.striped.stripe_counts();
  StripeStats {
    live: live as u32,
    free: free as u32,
  }
}
