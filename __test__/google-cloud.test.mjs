// exportGoogleCloud(): a service-account key's RS256 assertion is exchanged at a
// loopback token endpoint, which verifies it with google-auth (Google's own library);
// a loopback metadata server stands in for GCE's. The receiver gets the token, the
// location and project, and at most 200 points a request.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { counterSchema, exportGoogleCloud, Registry } from 'slotmetrics';
import { decodeOtlp, loopbackReceiver } from './helpers.mjs';

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

/** A loopback server (helpers.mjs) answering JSON with `handle(request)`'s { status, body }. */
function serve(handle) {
  return loopbackReceiver((request) => ({ ...handle(request), headers: { 'content-type': 'application/json' } }));
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
    assert.equal(telemetry.requests.length, 3, '200, 200 and 50 points');
    await push.stop();
    telemetry.requests.splice(3); // stop()'s last export

    assert.equal(tokens.requests.length, 1, 'one token for every request');
    const form = new URLSearchParams(tokens.requests[0].body.toString());
    assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    const claims = verify(form.get('assertion'), publicKey, tokenUri);
    assert.equal(claims.iss, 'pusher@demo-project.iam.gserviceaccount.com');
    assert.equal(claims.scope, 'https://www.googleapis.com/auth/cloud-platform');
    assert.ok(claims.exp - claims.iat <= 3600);

    for (const request of telemetry.requests) assert.equal(request.headers.authorization, 'Bearer ya29.loopback');
    const decoded = decodeOtlp(telemetry.requests.map((r) => r.body));
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
    assert.equal(telemetry.requests[0].headers.authorization, 'Bearer ya29.metadata');
    const [decoded] = decodeOtlp([telemetry.requests[0].body]);
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
