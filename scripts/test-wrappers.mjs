#!/usr/bin/env node
// The wrappers people reach prom-client through, run on slotmetrics/prom-client:
// express-prom-bundle, fastify-metrics and @willsoto/nestjs-prometheus, each at a pinned
// version in a temporary folder of its own, where `prom-client` is a
// stand-in package re-exporting slotmetrics/prom-client (npm `overrides` make every
// dependency on prom-client, peer or not, resolve to it).
//
//   npm run test:wrappers                    our scenario tests of each wrapper as npm
//                                            installs it (__test__/wrappers/*.scenario.mjs)
//   npm run test:wrappers -- --suites DIR    the wrappers' own test suites, from checkouts
//                                            of their repositories at DIR/<repository>
//
// The wrappers' suites are not in their npm packages, and CI reaches package registries
// only, so CI runs the scenario tests; docs/migrating.md gives the suites' results as run here.
// Needs `npm run build` first. Prints a table; exits 1 if anything failed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { fileURLToPath } from 'node:url';
import { run } from './run.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Outside the repository: a wrapper looking for optional packages (fastify-metrics
// prefers @platformatic/prom-client) must not find the repository's own node_modules.
const WORK = path.join(os.tmpdir(), 'slotmetrics-wrappers');
const SCENARIOS = path.join(ROOT, '__test__', 'wrappers');

/** Counts from a runner's summary: node --test, jasmine (jasme) or vitest. */
const COUNTS = {
  node: (output) => ({
    passed: number(output, /^# pass (\d+)$/m),
    failed: number(output, /^# fail (\d+)$/m) + number(output, /^# cancelled (\d+)$/m),
  }),
  jasmine: (output) => {
    const [, executed = '0', failed = '0'] = output.match(/Executed (\d+) of \d+ specs[^(\n]*(?:\((\d+) FAILED\))?/) ?? [];
    return { passed: Number(executed) - Number(failed), failed: Number(failed) };
  },
  vitest: (output) => ({ passed: number(output, /Tests\s+(?:\d+ failed \| )?(\d+) passed/), failed: number(output, /Tests\s+(\d+) failed/) }),
};

function number(text, pattern) {
  // The runners color their summaries.
  const match = stripVTControlCharacters(text).match(pattern);
  return match ? Number(match[1]) : 0;
}

// Each wrapper: its npm version; what its scenario test needs beside it; and, for its
// own suite, the checkout's folder, what to copy from it, what the suite needs and how
// it runs. fastify-metrics and nestjs-prometheus test their TypeScript sources.
const WRAPPERS = [
  {
    name: 'express-prom-bundle',
    version: '8.0.0',
    scenario: { express: '5.3.0' },
    suite: {
      repository: 'express-prom-bundle',
      copy: ['package.json', 'src', 'spec'],
      dependencies: { express: '5.3.0', jasme: '6.0.0', koa: '2.16.4', 'koa-connect': '2.1.1', supertest: '3.4.2', 'supertest-koa-agent': '0.3.2' },
      command: () => ['node', 'node_modules/jasme/run.js'],
      env: { NODE_ENV: 'test' },
      counts: 'jasmine',
    },
  },
  {
    name: 'fastify-metrics',
    version: '13.2.0',
    scenario: { fastify: '5.12.8' },
    suite: {
      repository: 'fastify-metrics',
      copy: ['package.json', 'tsconfig.json', 'src', 'test'],
      dependencies: { 'fastify-plugin': '5.1.0', fastify: '5.12.8', tsx: '4.23.15', '@tsconfig/node-lts': '24.0.1', '@tsconfig/strictest': '2.0.8' },
      // Node 20's --test takes no globs: the spec files by name.
      command: (dir) => ['node', '--no-warnings', '--import', 'tsx', '--test', ...specs(dir, 'test', '.spec.ts')],
      counts: 'node',
    },
  },
  {
    name: '@willsoto/nestjs-prometheus',
    version: '6.1.0',
    scenario: {
      '@nestjs/common': '11.1.28',
      '@nestjs/core': '11.1.28',
      '@nestjs/platform-express': '11.1.28',
      'reflect-metadata': '0.2.2',
      rxjs: '7.8.2',
    },
    suite: {
      repository: 'nestjs-prometheus',
      copy: ['package.json', 'tsconfig.json', 'vitest.config.ts', 'src', 'test'],
      dependencies: {
        '@fastify/compress': '9.0.0',
        '@nestjs/common': '11.1.28',
        '@nestjs/core': '11.1.28',
        '@nestjs/platform-express': '11.1.28',
        '@nestjs/platform-fastify': '11.1.28',
        '@nestjs/testing': '11.1.28',
        'reflect-metadata': '0.2.2',
        rxjs: '7.8.2',
        supertest: '7.2.2',
        vitest: '4.1.10',
      },
      command: () => ['node_modules/.bin/vitest', 'run'],
      counts: 'vitest',
    },
  },
];

/** The files of `dir/folder` ending in `suffix`, as paths relative to `dir`. */
function specs(dir, folder, suffix) {
  return fs
    .readdirSync(path.join(dir, folder))
    .filter((file) => file.endsWith(suffix))
    .map((file) => path.join(folder, file));
}

/**
 * A folder with `manifest` installed and `prom-client` standing in for
 * slotmetrics/prom-client (a package of that name re-exporting the entry).
 */
async function prepare(dir, manifest) {
  fs.mkdirSync(path.join(dir, 'prom-client-stand-in'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'prom-client-stand-in', 'package.json'),
    `${JSON.stringify({ name: 'prom-client', version: '15.1.3', main: 'index.js' }, null, 2)}\n`,
  );
  fs.writeFileSync(path.join(dir, 'prom-client-stand-in', 'index.js'), "module.exports = require('slotmetrics/prom-client');\n");
  const dependencies = { ...manifest.dependencies, 'prom-client': 'file:./prom-client-stand-in', slotmetrics: `file:${ROOT}` };
  const full = { ...manifest, private: true, dependencies, overrides: { 'prom-client': '$prom-client' } };
  for (const key of ['devDependencies', 'peerDependencies', 'peerDependenciesMeta', 'optionalDependencies', 'scripts', 'packageManager', 'pnpm'])
    delete full[key];
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(full, null, 2)}\n`);
  const { code, output } = await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
    cwd: dir,
    quiet: true,
  });
  if (code !== 0) throw new Error(`npm install in ${dir} failed:\n${output}`);
}

async function scenario(wrapper) {
  const dir = path.join(WORK, `${wrapper.name.replace('/', '+')}-scenario`);
  await prepare(dir, { name: 'wrapper-scenario', dependencies: { [wrapper.name]: wrapper.version, ...wrapper.scenario } });
  const file = `${path.basename(wrapper.name)}.scenario.mjs`;
  fs.copyFileSync(path.join(SCENARIOS, file), path.join(dir, file));
  const { output } = await run('node', ['--test', '--test-timeout=60000', file], { cwd: dir, timeoutMs: 10 * 60_000 });
  return { what: `scenario tests (${wrapper.name}@${wrapper.version} from npm)`, ...COUNTS.node(output) };
}

async function suite(wrapper, suites) {
  const { repository, copy, dependencies, command, env, counts } = wrapper.suite;
  const checkout = path.join(suites, repository);
  if (!fs.existsSync(checkout)) throw new Error(`no checkout of ${repository} at ${checkout}`);
  const dir = path.join(WORK, `${wrapper.name.replace('/', '+')}-suite`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const entry of copy) fs.cpSync(path.join(checkout, entry), path.join(dir, entry), { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  await prepare(dir, { ...manifest, dependencies: { ...manifest.dependencies, ...dependencies } });
  const [program, ...args] = command(dir);
  const { output } = await run(program, args, { cwd: dir, env: { ...process.env, ...env } });
  return { what: `its own suite (${repository} ${manifest.version})`, ...COUNTS[counts](output) };
}

async function main() {
  const at = process.argv.indexOf('--suites');
  const suites = at === -1 ? undefined : path.resolve(process.argv[at + 1]);
  const results = [];
  for (const wrapper of WRAPPERS) {
    console.log(`\n=== ${wrapper.name}`);
    try {
      results.push({ name: wrapper.name, ...(suites === undefined ? await scenario(wrapper) : await suite(wrapper, suites)) });
    } catch (error) {
      results.push({ name: wrapper.name, what: String(error.message).split('\n')[0], passed: 0, failed: 1 });
    }
  }
  console.log('\n| wrapper | run | passed | failed |\n|---|---|---:|---:|');
  for (const { name, what, passed, failed } of results) console.log(`| ${name} | ${what} | ${passed} | ${failed} |`);
  // No test counted is a failure too: the runner did not get as far as its summary.
  process.exitCode = results.some(({ passed, failed }) => failed > 0 || passed === 0) ? 1 : 0;
}

main();
