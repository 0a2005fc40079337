// Simulated request traffic, run by the main thread and by each worker.
const { threadId } = require('node:worker_threads');
const { requests, memory, cpu, latency } = require('./metrics');

const ROUTES = ['/users', '/orders', '/health'];
const METHODS = ['GET', 'GET', 'GET', 'POST'];

function handleRequest() {
  const route = ROUTES[Math.floor(Math.random() * ROUTES.length)];
  const method = METHODS[Math.floor(Math.random() * METHODS.length)];
  const status = Math.random() < 0.95 ? '200' : '500';
  requests.with({ status_code: status, method }).increment();
  // Mostly fast, with a long tail.
  latency.with({ route }).observe(Math.random() < 0.9 ? Math.random() * 0.05 : Math.random() * 2);
}

/** Serves simulated requests every few milliseconds until the returned function is called. */
function startTraffic() {
  const thread = threadId === 0 ? 'main' : `worker-${threadId}`;
  const heap = memory.with({ thread });
  const core = cpu.with({ cpu_id: String(threadId) });
  const requestsTimer = setInterval(() => {
    for (let i = 0; i < 20; i++) handleRequest();
  }, 10);
  const updateStats = () => {
    heap.set(process.memoryUsage().heapUsed);
    core.set(Math.round(Math.random() * 1000) / 10);
  };
  updateStats();
  const statsTimer = setInterval(updateStats, 1000);
  return () => {
    clearInterval(requestsTimer);
    clearInterval(statsTimer);
  };
}

module.exports = { startTraffic };
