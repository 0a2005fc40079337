// SigV4 on pushes: exportCloudWatch() and exportRemoteWrite({ sigv4 }) send to a
// loopback receiver, and botocore (the AWS SDK's own signer) signs the same request
// again with the same credentials and time: the signatures must be equal. Credentials
// come from the environment and from a loopback instance metadata service (IMDSv2).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { test } from 'node:test';

const RESIGN = `
import sys, json, base64, datetime
from unittest import mock
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
r = json.load(sys.stdin)
given = r['headers']
signed = given['authorization'].split('SignedHeaders=')[1].split(',')[0].split(';')
headers = {k: given[k] for k in signed if k not in ('x-amz-date', 'x-amz-security-token', 'host')}
request = AWSRequest(method='POST', url=r['url'], data=base64.b64decode(r['body']), headers=headers)
at = datetime.datetime.strptime(given['x-amz-date'], '%Y%m%dT%H%M%SZ')
with mock.patch('botocore.auth.get_current_datetime', return_value=at):
    SigV4Auth(Credentials(r['key'], r['secret'], r.get('token')), r['service'], r['region']).add_auth(request)
print(json.dumps({'authorization': request.headers['Authorization'], 'token': request.headers.get('X-Amz-Security-Token')}))
`;

/** botocore's signature of a captured request. */
function resign(request, credentials) {
  const input = JSON.stringify({ ...request, body: request.body.toString('base64'), ...credentials });
  const run = spawnSync('python3', ['-c', RESIGN], { input, encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`botocore could not sign: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** A receiver that keeps each request's URL, headers and raw body. */
async function receiver() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ url: `http://${req.headers.host}${req.url}`, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => {
      server.closeAllConnections?.();
      server.close();
    },
  };
}

/** Runs `script` in a child with `env` added (credentials are read from the process environment). */
async function inChild(script, env) {
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, stderr);
}

const NO_AWS = {
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_SESSION_TOKEN: '',
  AWS_PROFILE: '',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  AWS_WEB_IDENTITY_TOKEN_FILE: '',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
  AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
};

test('exportCloudWatch() signs with SigV4 for monitoring, as botocore signs, with credentials from the environment', {
  timeout: 60_000,
}, async () => {
  const rx = await receiver();
  try {
    const credentials = { key: 'AKIDEXAMPLE', secret: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', token: 'session-token-1' };
    await inChild(
      `const { counterSchema, exportCloudWatch } = require('slotmetrics');
       counterSchema('cw_hits').build().add(2);
       exportCloudWatch({ region: 'eu-west-3', endpoint: '${rx.url}/v1/metrics' }).flush().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`,
      { ...NO_AWS, AWS_ACCESS_KEY_ID: credentials.key, AWS_SECRET_ACCESS_KEY: credentials.secret, AWS_SESSION_TOKEN: credentials.token },
    );
    const [request] = rx.requests;
    assert.match(
      request.headers.authorization,
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-3\/monitoring\/aws4_request, SignedHeaders=/,
    );
    assert.equal(request.headers['x-amz-security-token'], credentials.token);
    const botocore = resign(request, { ...credentials, region: 'eu-west-3', service: 'monitoring' });
    assert.equal(request.headers.authorization, botocore.authorization);
  } finally {
    rx.close();
  }
});

test('credentials from the instance metadata service (IMDSv2); remote write signed for aps', { timeout: 60_000 }, async () => {
  const rx = await receiver();
  const seen = [];
  const imds = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('imds-token');
    if (req.headers['x-aws-ec2-metadata-token'] !== 'imds-token') return res.writeHead(401).end();
    if (req.url === '/latest/meta-data/iam/security-credentials/') return res.end('app-role\n');
    if (req.url === '/latest/meta-data/iam/security-credentials/app-role') {
      return res.end(
        JSON.stringify({ AccessKeyId: 'ASIAIMDS', SecretAccessKey: 'imds-secret', Token: 'imds-session', Expiration: '2099-01-01T00:00:00Z' }),
      );
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => imds.listen(0, '127.0.0.1', resolve));
  try {
    await inChild(
      `const { counterSchema, exportRemoteWrite } = require('slotmetrics');
       counterSchema('amp_hits').build().add(1);
       exportRemoteWrite({ url: '${rx.url}/workspaces/ws-1/api/v1/remote_write', sigv4: { region: 'us-east-1' } })
         .flush().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`,
      { ...NO_AWS, AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${imds.address().port}` },
    );
    assert.deepEqual(seen, [
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      'GET /latest/meta-data/iam/security-credentials/app-role',
    ]);
    const [request] = rx.requests;
    assert.equal(request.headers['x-amz-security-token'], 'imds-session');
    const botocore = resign(request, { key: 'ASIAIMDS', secret: 'imds-secret', token: 'imds-session', region: 'us-east-1', service: 'aps' });
    assert.equal(request.headers.authorization, botocore.authorization);
  } finally {
    rx.close();
    imds.closeAllConnections?.();
    imds.close();
  }
});

test('no credentials anywhere: the flush rejects saying where it looked, and nothing unsigned is sent', { timeout: 60_000 }, async () => {
  const rx = await receiver();
  try {
    await inChild(
      `const { counterSchema, exportCloudWatch } = require('slotmetrics');
       counterSchema('cw_unsent').build().add(1);
       exportCloudWatch({ region: 'us-east-1', endpoint: '${rx.url}/v1/metrics', onError: () => {} }).flush().then(
         () => process.exit(1),
         (e) => process.exit(/no AWS credentials: none in the environment/.test(e.message) ? 0 : (console.error(e.message), 1)));`,
      { ...NO_AWS, AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' },
    );
    assert.equal(rx.requests.length, 0, 'nothing unsigned was sent');
  } finally {
    rx.close();
  }
});
