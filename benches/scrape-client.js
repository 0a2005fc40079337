// Scrapes a URL a number of times, one after another, and prints the times as JSON.
//   node benches/scrape-client.js <url> <count> [--gzip] [--protobuf]
'use strict';

const http = require('node:http');

/** One scrape: milliseconds from request to last byte, and the body's size. */
function scrape(url, headers) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    http
      .get(url, { headers, agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (chunk) => (bytes += chunk.length));
        res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, bytes, status: res.statusCode }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function main() {
  const [url, count] = process.argv.slice(2);
  const headers = {};
  if (process.argv.includes('--gzip')) headers['accept-encoding'] = 'gzip';
  // What Prometheus sends with native histograms on.
  if (process.argv.includes('--protobuf')) {
    headers.accept =
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3';
  }
  await scrape(url, headers); // warm-up
  const runs = [];
  for (let i = 0; i < Number(count); i++) runs.push(await scrape(url, headers));
  if (runs.some((r) => r.status !== 200)) throw new Error(`a scrape of ${url} failed`);
  process.stdout.write(`${JSON.stringify({ ms: runs.map((r) => r.ms), bytes: runs[0].bytes })}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
