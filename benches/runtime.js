// The runtime a benchmark ran on, for its heading and its JSON report: V8's costs
// differ between Node lines (benches/stores.js: an addition into a Float64Array is 2 ns
// on Node 20 and 5 on 26), so every figure is labelled with the runtime and version
// that produced it.
'use strict';

/** "Node v26.12.1", "Bun 1.4.5" or "Deno 2.9.6". */
function runtimeName() {
  if (globalThis.Bun) return `Bun ${globalThis.Bun.version}`;
  if (globalThis.Deno) return `Deno ${globalThis.Deno.version.deno}`;
  return `Node ${process.version}`;
}

module.exports = { runtimeName };
