// PM2 in cluster mode: four instances of app.js in one multi-process group. Each
// serves /metrics on the same port, and every scrape shows the group's totals.
//   npx pm2 start examples/pm2/ecosystem.config.js
module.exports = {
  apps: [
    {
      name: 'jobs',
      script: `${__dirname}/app.js`,
      exec_mode: 'cluster',
      instances: 4,
      env: {
        SLOTMETRICS_MULTIPROCESS_DIR: '/tmp/slotmetrics-pm2-example',
        METRICS_PORT: '9464',
        JOBS: '1000',
      },
    },
  ],
};
