// exportGoogleCloud(): a service-account key's RS256 assertion is exchanged at a
// loopback token endpoint, which verifies it with google-auth (Google's own library);
// a loopback metadata server stands in for GCE's. The receiver gets the token, the
// location and project, and at most 200 points a request.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { counterSchema, exportGoogleCloud, Registry } from 'slotmetrics';
import { decodeOtlp } from './helpers.mjs';

const VERIFY = `
import sys, json
from google.auth import jwt
r = json.load(sys.stdin)
claims = jwt.decode(r['assertion'], certs=r['certificate'], audience=r['audience'])
print(json.dumps(claims))
`;

/** google-auth's reading of a signed assertion: its claims, or it throws. */
function verify(assertion, certificate, audience) {
  const run = spawnSync('python3', ['-c', VERIFY], {
    input: JSON.stringify({ assertion, certificate, audience }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`google-auth refused the assertion: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** A loopback server answering with `handle(request, body)`'s { status, body }; keeps what it got. */
async function serve(handle) {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw;
      const request = { method: req.method, path: req.url, headers: req.headers, body };
      got.push(request);
      const { status = 200, body: reply = '' } = handle(request);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(reply);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    got,
    close: () => {
      server.closeAllConnections?.();
      server.close();
    },
  };
}

test('a service-account key: its assertion verified by google-auth, the token on every request, 200 points a request', {
  timeout: 60_000,
}, async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const tokens = await serve(() => ({ body: JSON.stringify({ access_token: 'ya29.loopback', expires_in: 3600, token_type: 'Bearer' }) }));
  const telemetry = await serve(() => ({}));
  const dir = mkdtempSync(join(tmpdir(), 'slotmetrics-gcp-'));
  try {
    const keyFile = join(dir, 'key.json');
    const tokenUri = `${tokens.url}/token`;
    writeFileSync(
      keyFile,
      JSON.stringify({
        type: 'service_account',
        project_id: 'demo-project',
        client_email: 'pusher@demo-project.iam.gserviceaccount.com',
        private_key: privateKey,
        token_uri: tokenUri,
      }),
    );
    const registry = new Registry();
    const hits = counterSchema('gcp_hits').requireDynamicKey('route').build({ registry });
    for (let i = 0; i < 450; i++) hits.with({ route: `/r/${i}` }).add(1);
    const push = exportGoogleCloud({ keyFile, location: 'europe-west1', endpoint: `${telemetry.url}/v1/metrics`, registry, intervalMs: 3_600_000 });
    const result = await push.flush();
    assert.equal(result.points, 450);
    assert.equal(telemetry.got.length, 3, '200, 200 and 50 points');
    await push.stop();
    telemetry.got.splice(3); // stop()'s last export

    assert.equal(tokens.got.length, 1, 'one token for every request');
    const form = new URLSearchParams(tokens.got[0].body.toString());
    assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    const claims = verify(form.get('assertion'), publicKey, tokenUri);
    assert.equal(claims.iss, 'pusher@demo-project.iam.gserviceaccount.com');
    assert.equal(claims.scope, 'https://www.googleapis.com/auth/cloud-platform');
    assert.ok(claims.exp - claims.iat <= 3600);

    for (const request of telemetry.got) assert.equal(request.headers.authorization, 'Bearer ya29.loopback');
    const decoded = decodeOtlp(telemetry.got.map((r) => r.body));
    const resource = Object.fromEntries(decoded[0].resourceMetrics[0].resource.attributes.map(({ key, value }) => [key, value.stringValue]));
    assert.equal(resource.location, 'europe-west1');
    assert.equal(resource['gcp.project_id'], 'demo-project', "the key file's project");
    const points = decoded.map((d) => d.resourceMetrics[0].scopeMetrics[0].metrics.reduce((n, m) => n + m.sum.dataPoints.length, 0));
    assert.deepEqual(points, [200, 200, 50]);
  } finally {
    tokens.close();
    telemetry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no key file: the token comes from the metadata server; without a location the exporter does not start', { timeout: 60_000 }, async () => {
  const metadata = await serve((request) =>
    request.headers['metadata-flavor'] === 'Google' && request.path === '/computeMetadata/v1/instance/service-accounts/default/token'
      ? { body: JSON.stringify({ access_token: 'ya29.metadata', expires_in: 1800 }) }
      : { status: 403 },
  );
  const telemetry = await serve(() => ({}));
  const home = mkdtempSync(join(tmpdir(), 'slotmetrics-gcp-home-'));
  try {
    const script = `
      const { counterSchema, exportGoogleCloud } = require('slotmetrics');
      counterSchema('gcp_meta').build().add(1);
      exportGoogleCloud({ endpoint: '${telemetry.url}/v1/metrics' }).flush().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`;
    const child = spawn(process.execPath, ['-e', script], {
      env: {
        ...process.env,
        GOOGLE_APPLICATION_CREDENTIALS: '',
        HOME: home,
        CLOUDSDK_CONFIG: home,
        GCE_METADATA_HOST: metadata.url.replace('http://', ''),
        OTEL_RESOURCE_ATTRIBUTES: 'cloud.region=us-central1',
      },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    assert.equal(await new Promise((resolve) => child.on('exit', resolve)), 0, stderr);
    assert.equal(telemetry.got[0].headers.authorization, 'Bearer ya29.metadata');
    const [decoded] = decodeOtlp([telemetry.got[0].body]);
    const location = decoded.resourceMetrics[0].resource.attributes.find((a) => a.key === 'location');
    assert.equal(location.value.stringValue, 'us-central1', 'from cloud.region');
    assert.throws(() => exportGoogleCloud({ keyFile: '/nonexistent.json' }), /requires a location/);
    assert.throws(() => exportGoogleCloud({ location: 'x', maxPointsPerRequest: 500 }), /at most 200/);
  } finally {
    metadata.close();
    telemetry.close();
    rmSync(home, { recursive: true, force: true });
  }
});
