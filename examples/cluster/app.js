// node:cluster with slotmetrics: the workers join one multi-process group through
// SLOTMETRICS_MULTIPROCESS_DIR, so every worker counts into the same series, with no
// IPC, and any worker serves the group's totals on the shared metrics port.
//   node examples/cluster/app.js      (WORKERS, default 2; PORT, 0 picks a free port;
//                                      METRICS_PORT, default 9464)
'use strict';

const cluster = require('node:cluster');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

// Set before the workers start: they inherit the environment. A real deployment names
// a directory of its own (tmpfs is fine).
process.env.SLOTMETRICS_MULTIPROCESS_DIR ??= path.join(os.tmpdir(), 'slotmetrics-cluster-example');

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS ?? 2);
  const ready = [];
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (message) => {
      ready.push(message);
      if (ready.length === workers) console.log(`listening: ${ready[0].app} metrics: ${ready[0].metrics}`);
    });
  }
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers)) worker.kill();
  });
} else {
  const { counterSchema, httpMetrics, serve } = require('slotmetrics');
  const handled = counterSchema('cluster_requests_by_worker_total')
    .help('Requests each worker handled')
    .requireDynamicKey('worker')
    .build()
    .with({ worker: String(cluster.worker.id) });

  const server = http.createServer((_req, res) => {
    handled.increment();
    res.end('ok\n');
  });
  httpMetrics().observe(server, () => '/');
  // Every worker serves the same metrics port (SO_REUSEPORT in a group); whichever
  // the kernel hands a scrape to answers with the group's totals.
  serve({ port: Number(process.env.METRICS_PORT ?? 9464), host: '127.0.0.1' }).then((metrics) => {
    server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
      process.send({ app: `http://127.0.0.1:${server.address().port}`, metrics: metrics.url });
    });
  });
}
