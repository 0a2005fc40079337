// A worker thread: it loads slotmetrics itself and counts into the same metrics.
const { parentPort } = require('node:worker_threads');
const { startTraffic } = require('./traffic');

const stop = startTraffic();
parentPort.once('message', () => {
  stop();
  // Nothing else keeps the thread alive, so it exits. (Deno's parentPort has no close().)
  parentPort.unref();
});
