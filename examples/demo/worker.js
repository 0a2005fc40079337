// A worker thread: it loads slotmetrics itself and counts into the same metrics.
const { parentPort } = require('node:worker_threads');
const { startTraffic } = require('./traffic');

const stop = startTraffic();
parentPort.once('message', () => {
  stop();
  parentPort.close();
});
