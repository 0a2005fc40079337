// prom-client's exemplars on the engine: a counter's or a histogram's metric made with
// `enableExemplars: true` takes `{ labels, value, exemplarLabels }`, and the engine
// keeps the last exemplar of each series (of each bucket for a histogram), written
// in OpenMetrics text (crates/slotmetrics_engine/src/exemplar.rs). The metrics set it
// with base/exemplars.ts' setExemplarOf().

import { format } from 'node:util';
import { validateLabelName } from './validation';

/** An exemplar as prom-client's `get()` gives it. */
export type { ExemplarJSON as Exemplar } from '../exposition/registry';

// Exemplar label names seen valid: the same few (traceId, spanId) come with every
// update, and the pattern test cost more than the rest of the checks. Bounded, as
// names could come from data.
const validNames = new Set<string>();
const VALID_NAMES_KEPT = 1024;

function checkName(name: string): void {
  if (!validateLabelName([name])) {
    throw new TypeError(`Invalid exemplar label name ${JSON.stringify(name)}: it must match [a-zA-Z_][a-zA-Z0-9_]*`);
  }
  if (validNames.size < VALID_NAMES_KEPT) validNames.add(name);
}

/**
 * Checks exemplar labels as prom-client does (names and values together at most 128
 * characters, counted as JavaScript counts them) and returns their names and values in
 * turn, the values as text as prom-client writes them: what `setExemplarOf()` takes.
 * prom-client makes this check after counting the update; here a refused exemplar
 * leaves nothing recorded. Label names must also be valid, which prom-client does not
 * check (it writes text no parser reads).
 */
export function checkExemplarLabels(labels: unknown): string[] {
  if (typeof labels !== 'object' || labels === null) {
    throw new TypeError(`exemplarLabels must be an object of label names to values, got ${format(labels)}`);
  }
  // Sized first: a literal or a grown array cost 10–30 ns more (Node 26).
  let names = 0;
  for (const _ in labels) names++;
  const pairs = new Array<string>(2 * names);
  let length = 0;
  let at = 0;
  for (const name in labels) {
    if (!validNames.has(name)) checkName(name);
    // A template, as prom-client writes it: a Symbol throws its TypeError.
    const value = `${(labels as Record<string, unknown>)[name]}`;
    length += name.length + value.length;
    pairs[at++] = name;
    pairs[at++] = value;
  }
  // Fewer if a value's toString() deleted a label not yet read. (Setting the length
  // costs 45 ns even when it does not change it.)
  if (at !== pairs.length) pairs.length = at;
  if (length > 128) throw new RangeError('Label set size must be smaller than 128 UTF-8 chars');
  return pairs;
}
