// An app PM2 runs in cluster mode (ecosystem.config.js): each instance processes a
// batch of JOBS jobs as it starts, counting them into the group's metrics, then serves
// /metrics on METRICS_PORT, the same port in every instance.
'use strict';

const { counterSchema, serve } = require('slotmetrics');

const processed = counterSchema('jobs_processed_total').help('Jobs processed').build();
for (let i = 0; i < Number(process.env.JOBS ?? 1000); i++) processed.increment();
serve({ port: Number(process.env.METRICS_PORT ?? 9464), host: '127.0.0.1' });
