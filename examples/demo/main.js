// slotmetrics demo: the main thread and two workers update the same metrics, and Rust
// serves them at /metrics without touching the event loop. Runs until Ctrl-C.
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { serve } = require('slotmetrics');
const { startTraffic } = require('./traffic');

const PORT = Number(process.env.PORT ?? 9464);

async function main() {
  const server = await serve({ host: '127.0.0.1', port: PORT });
  const workers = [1, 2].map(() => new Worker(path.join(__dirname, 'worker.js')));
  const stopTraffic = startTraffic();

  console.log(`slotmetrics demo: main thread + ${workers.length} workers counting into shared memory`);
  console.log(`metrics: ${server.url}`);
  console.log(`try:     curl -s ${server.url} | grep -v '^#'`);
  console.log(`         curl -s -H 'Accept: application/openmetrics-text' ${server.url}`);
  console.log(`health:  ${server.url.replace('/metrics', '/health/live')} and /health/ready`);
  console.log('Ctrl-C to stop');

  process.once('SIGINT', async () => {
    stopTraffic();
    for (const worker of workers) worker.postMessage('stop');
    await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve))));
    await server.close();
    console.log('\nstopped');
  });
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 1;
});
