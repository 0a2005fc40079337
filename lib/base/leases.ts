// New label sets counted at once in leased slots, their registration left to the engine
// (crates/slotmetrics_engine/src/registry/leases.rs): the first use of a label set
// without a native call.

import { binding } from './binding';
import { recordRegistration } from './rings';

/** A lease answer packs the first slot above this many series (src/metrics.rs). */
const LEASE_SIZES = 65_536;
/** Series of the first lease, doubled with each next one up to the last. */
const FIRST_LEASE = 8;
const LARGEST_LEASE = 256;
/** After the metric was full, label sets registered by a call before asking again. */
const FULL_BACKOFF = 64;

/**
 * This environment's lease on one metric. Each new label set takes the next leased
 * series and goes into the ring of registrations; the engine registers it before any
 * read, or makes the slots an alias of the series another thread registered first.
 */
export class SeriesLease {
  private next = 0;
  private left = 0;
  private first = 0;
  private size = FIRST_LEASE;
  /** Label sets to register by a call before asking for a lease again; -1: never again. */
  private waiting = 0;

  /** `slotsPerSeries`: the slots one series of the metric takes, as the engine counts them. */
  constructor(
    private readonly metric: number,
    private readonly slotsPerSeries: number,
  ) {}

  /** The first slot of a new series with these label values (in key order), or -1: register it by a call. */
  take(values: readonly string[]): number {
    if (this.left === 0 && !this.renew()) return -1;
    const slot = this.next;
    if (!recordRegistration(this.metric, slot, this.first, values)) return -1;
    this.next += this.slotsPerSeries;
    this.left--;
    return slot;
  }

  private renew(): boolean {
    if (this.waiting !== 0) {
      if (this.waiting > 0) this.waiting--;
      return false;
    }
    const answer = binding.leaseSeries(this.metric, this.size);
    if (answer <= 0) {
      this.waiting = answer === 0 ? FULL_BACKOFF : -1;
      return false;
    }
    this.first = Math.floor(answer / LEASE_SIZES);
    this.left = answer % LEASE_SIZES;
    this.next = this.first;
    this.size = Math.min(this.size * 2, LARGEST_LEASE);
    return true;
  }
}
