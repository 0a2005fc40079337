// Installed as a user installs it: the main package (no binary in it) and this
// platform's binary package, packed to tarballs and installed into an empty app with no
// Rust toolchain on PATH. There a worker-thread count, a scrape served from Rust and a
// log line all work; without the binary package the error says what to do.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The full suite runs on glibc Linux (this machine builds linux-x64-gnu; the release
// workflow also runs it on linux-arm64-gnu).
const PLATFORM = `${process.platform}-${process.arch}-gnu`;
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'slotmetrics-install-'));
// The runtime running the tests, then the system's tools: never ~/.cargo/bin.
const PATH = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter);

function sh(command, args, cwd, env = {}) {
  const run = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, PATH, ...env } });
  if (run.error) throw run.error;
  return run;
}

/** Packs the package in `dir` into `destination`; returns the tarball and what it holds. */
function pack(dir, destination) {
  const run = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], dir);
  assert.equal(run.status, 0, run.stderr);
  const [{ filename, files }] = JSON.parse(run.stdout);
  return { tarball: path.join(destination, filename), files: files.map((f) => f.path) };
}

/** Packs this platform's package from npm/<platform> with the given binary in it. */
function packPlatform(binary, name) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(dir);
  for (const file of ['package.json', 'README.md']) fs.copyFileSync(path.join(ROOT, 'npm', PLATFORM, file), path.join(dir, file));
  fs.writeFileSync(path.join(dir, `slotmetrics.${PLATFORM}.node`), binary);
  return pack(dir, dir);
}

function appWith(name, tarballs, installFlags = []) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  const run = sh('npm', ['install', '--no-audit', '--no-fund', ...installFlags, ...tarballs], dir);
  assert.equal(run.status, 0, run.stderr);
  return dir;
}

// A main thread and two workers count into one counter; Rust serves it; a line is logged.
const SMOKE = `
const { Worker } = require('node:worker_threads');
const { log, serve } = require('slotmetrics');
const count = () => {
  const c = require('slotmetrics').counterSchema('installed_total').help('h').build();
  for (let i = 0; i < 1000; i++) c.increment();
};
count();
const workers = [0, 1].map(() => new Promise((resolve, reject) => {
  const w = new Worker('(' + count + ')()', { eval: true });
  w.on('error', reject);
  w.on('exit', resolve);
}));
Promise.all(workers).then(async () => {
  const server = await serve({ port: 0, host: '127.0.0.1' });
  const body = await (await fetch(server.url)).text();
  await server.close();
  log.info('scraped', { line: body.split('\\n').find((l) => l.startsWith('installed_total')) });
  await log.flush();
});
`;

const main = pack(ROOT, WORK);

test('the main package carries the loader and the wrapper, no binary and no install script', () => {
  assert.ok(main.files.includes('index.js') && main.files.includes('dist/index.js'), main.files.join(' '));
  assert.deepEqual(
    main.files.filter((f) => f.endsWith('.node')),
    [],
  );
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.deepEqual(
    Object.keys(manifest.scripts).filter((s) => /^(pre|post)?install$|^prepare$/.test(s)),
    [],
  );
  assert.equal(manifest.optionalDependencies[`slotmetrics-${PLATFORM}`], manifest.version);
});

test('installed from tarballs with no Rust toolchain: workers count, Rust serves, a line is logged', () => {
  for (const tool of ['cargo', 'rustc']) assert.notEqual(sh('sh', ['-c', `command -v ${tool}`], WORK).status, 0, `${tool} is on PATH`);
  const binary = fs.readFileSync(path.join(ROOT, `slotmetrics.${PLATFORM}.node`));
  const platform = packPlatform(binary, 'platform');
  assert.deepEqual(platform.files.sort(), ['README.md', 'package.json', `slotmetrics.${PLATFORM}.node`]);
  const app = appWith('app', [main.tarball, platform.tarball]);
  assert.ok(fs.existsSync(path.join(app, 'node_modules', `slotmetrics-${PLATFORM}`, `slotmetrics.${PLATFORM}.node`)));
  const run = sh(process.execPath, ['-e', SMOKE], app);
  assert.equal(run.status, 0, run.stderr);
  const line = JSON.parse(run.stdout.trim());
  assert.equal(line.msg, 'scraped');
  assert.equal(line.line, 'installed_total 3000');
});

test('without the binary package, or with a broken one, the error names the package and how to build from source', () => {
  const bare = appWith('bare', [main.tarball], ['--omit=optional']);
  const missing = sh(process.execPath, ['-e', "require('slotmetrics')"], bare);
  assert.notEqual(missing.status, 0);
  assert.match(
    missing.stderr,
    new RegExp(`the package slotmetrics-${PLATFORM}, which holds the prebuilt binary for this platform, is not installed`),
  );
  assert.match(missing.stderr, /--omit=optional/);
  assert.match(missing.stderr, /NAPI_RS_NATIVE_LIBRARY_PATH/);

  const broken = packPlatform(Buffer.from('not a shared object'), 'broken');
  const app = appWith('broken-app', [main.tarball, broken.tarball]);
  const failed = sh(process.execPath, ['-e', "require('slotmetrics')"], app);
  assert.notEqual(failed.status, 0);
  assert.match(failed.stderr, new RegExp(`the package slotmetrics-${PLATFORM} is installed but its binary failed to load`));
});
