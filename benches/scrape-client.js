// Scrapes a URL a number of times, one after another, and prints the times as JSON.
//   node benches/scrape-client.js <url> <count> [--gzip]
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
  const headers = process.argv.includes('--gzip') ? { 'accept-encoding': 'gzip' } : {};
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
