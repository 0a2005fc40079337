#!/usr/bin/env node
// Runs every fenced code block of the documentation in the language it declares, so
// that no example rots. Needs `npm run build` first (blocks import the package by its
// name) and, for YAML and exposition samples, promtool and Python's prometheus_client
// (`scripts/setup.sh --test-tools`).
//
//   node scripts/docs/doctest.mjs [FILE.md …]     default: README.md, the root's other
//                                                  Markdown files and docs/
//
// By language:
//   js, javascript   run by this Node (CommonJS if it calls require(), else a module)
//   ts, typescript   type-checked together by tsc (strict), then run as a module
//   sh, bash         run by bash from the repository's root
//   yaml             `promtool check config` (scrape_configs) or `check rules` (groups)
//   prometheus       exposition text: `promtool check metrics`
//   openmetrics      the strict OpenMetrics parser of Python's prometheus_client
//   json             parsed
//   text             not code: diagrams, layouts; nothing to run
//
// Directives, as HTML comments (invisible on GitHub) on the lines just above a block:
//   <!-- doctest: skip: REASON -->   not run; the reason is printed
//   <!-- doctest: continues -->      run after the file's previous block of the same
//                                    language, as one program
//   <!-- doctest: serves PORT -->    the block starts a metrics server on 127.0.0.1:PORT:
//                                    once it answers, its /metrics goes through promtool,
//                                    then the block is stopped
//   <!-- doctest: receives PORT -->  a receiver on 127.0.0.1:PORT answers every request
//                                    with 200 while the block runs; the block must send
//                                    at least one
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import ts from 'typescript';
import { codeBlocks, documentationFiles, ROOT } from './markdown.mjs';

const WORK = path.join(ROOT, '.cache', 'doctest'); // inside the package, so `slotmetrics` resolves to it
const TIMEOUT_MS = 30_000;
// Blocks' temporary directory (os.tmpdir()): fresh each run, so what a block leaves
// there (a multi-process group's directory, a log file) does not meet the next run.
const TMPDIR = path.join(WORK, 'tmp');
// The languages run, by the names `collect()` normalizes them to (javascript → js, …).
const RUNNABLE = new Set(['js', 'ts', 'sh', 'yaml', 'prometheus', 'openmetrics', 'json']);

/** A block's directives as `{ skip, continues, serves, receives }`; throws on one it does not know. */
function directivesOf(block) {
  const result = {};
  for (const directive of block.directives) {
    const [, name, argument = ''] = directive.match(/^(\w+):?\s*(.*)$/) ?? [];
    if (name === 'skip' && argument !== '') result.skip = argument;
    else if (name === 'continues' && argument === '') result.continues = true;
    else if ((name === 'serves' || name === 'receives') && /^\d+$/.test(argument)) result[name] = Number(argument);
    else throw new Error(`unknown doctest directive "${directive}"`);
  }
  return result;
}

/**
 * Runs `command` with `args`; resolves to `{ code, output }`, killed after `timeoutMs`.
 * `onStart` gets a function that sends a signal to it and everything it started.
 */
function run(command, args, { input, cwd = WORK, timeoutMs = TIMEOUT_MS, onStart } = {}) {
  return new Promise((resolve) => {
    const env = { ...process.env, TMPDIR };
    // In a process group of its own, so that stopping it stops what it started (cluster workers).
    const child = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const stop = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {} // already gone
    };
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.stdin.end(input);
    const timer = setTimeout(() => {
      output += `\n(did not exit within ${timeoutMs / 1000} s: a block that starts a server says so with "serves PORT")`;
      stop('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, output });
    });
    onStart?.(stop);
  });
}

function portInUse(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** GET `url` until it answers 200 (or `timeoutMs` passes): its body. */
async function scrapeWhenUp(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return await response.text();
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function requireTool(command, args, why) {
  if (spawnSync(command, args, { stdio: 'ignore' }).status !== 0) {
    throw new Error(`${why} needs ${command} (scripts/setup.sh --test-tools installs it)`);
  }
}

const checks = {
  async node(file) {
    const result = await run(process.execPath, [file]);
    if (result.code !== 0) throw new Error(`exited with ${result.code}\n${result.output}`);
  },

  async serving(file, port) {
    if (await portInUse(port)) throw new Error(`port ${port} is in use before the block ran`);
    let stop;
    const exited = run(process.execPath, [file], { onStart: (stopper) => (stop = stopper) });
    const scraped = scrapeWhenUp(`http://127.0.0.1:${port}/metrics`, 15_000);
    let first;
    try {
      first = await Promise.race([scraped.then((body) => ({ body })), exited.then((result) => ({ result }))]);
    } finally {
      stop('SIGTERM');
    }
    const { output } = await exited;
    if (first.result) throw new Error(`exited (${first.result.code}) before serving on port ${port}\n${output}`);
    await checks.prometheus(first.body);
  },

  async receiving(file, port) {
    if (await portInUse(port)) throw new Error(`port ${port} is in use before the block ran`);
    let received = 0;
    const receiver = http.createServer((request, response) => {
      request.resume().on('end', () => {
        received++;
        response.writeHead(200).end();
      });
    });
    await new Promise((resolve) => receiver.listen(port, '127.0.0.1', resolve));
    try {
      await checks.node(file);
    } finally {
      receiver.close();
    }
    if (received === 0) throw new Error(`sent nothing to 127.0.0.1:${port}`);
  },

  async prometheus(text) {
    requireTool('promtool', ['--version'], 'exposition text');
    const result = await run('promtool', ['check', 'metrics'], { input: text, cwd: ROOT });
    if (result.code !== 0) throw new Error(`promtool check metrics:\n${result.output}\n--- the text:\n${text}`);
  },

  async openmetrics(text) {
    const parse = 'import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as read\nlist(read(sys.stdin.read()))';
    const result = await run('python3', ['-c', parse], { input: text, cwd: ROOT });
    if (result.code !== 0) throw new Error(`prometheus_client's OpenMetrics parser:\n${result.output}`);
  },

  async yaml(text, file) {
    requireTool('promtool', ['--version'], 'YAML');
    const kind = /^scrape_configs:|^global:/m.test(text) ? 'config' : /^groups:/m.test(text) ? 'rules' : undefined;
    if (kind === undefined) throw new Error('YAML that is neither a Prometheus config (scrape_configs) nor rules (groups)');
    fs.writeFileSync(file, text);
    const result = await run('promtool', ['check', kind, file]);
    if (result.code !== 0) throw new Error(`promtool check ${kind}:\n${result.output}`);
  },

  async shell(file) {
    const result = await run('bash', ['-euo', 'pipefail', file], { cwd: ROOT });
    if (result.code !== 0) throw new Error(`exited with ${result.code}\n${result.output}`);
  },
};

/** Type-checks the TypeScript blocks (`{ file }`, written as .mts) in one tsc run. */
function typeCheck(blocks) {
  if (blocks.length === 0) return new Map();
  const program = ts.createProgram(
    blocks.map((block) => block.file),
    {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      types: ['node'],
      skipLibCheck: true,
    },
  );
  const errors = new Map();
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file?.fileName ?? '';
    const where = diagnostic.file ? `line ${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}: ` : '';
    const message = `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    errors.set(file, [...(errors.get(file) ?? []), message]);
  }
  return errors;
}

/** The blocks of `files`, each with what runs it, its directives and the program it is part of. */
function collect(files) {
  const blocks = [];
  for (const doc of files) {
    const previous = new Map(); // language → the last block of it in this file
    for (const block of codeBlocks(fs.readFileSync(path.join(ROOT, doc), 'utf8'))) {
      const entry = { ...block, doc, where: `${doc}:${block.line}` };
      try {
        entry.directives = directivesOf(block);
      } catch (error) {
        entry.error = error.message;
        blocks.push(entry);
        continue;
      }
      const lang = { javascript: 'js', typescript: 'ts', yml: 'yaml', bash: 'sh' }[block.lang] ?? block.lang;
      entry.lang = lang;
      if (entry.directives.continues) {
        const before = previous.get(lang);
        if (before === undefined) entry.error = `"continues" with no ${lang} block before it in ${doc}`;
        else entry.program = `${before.program}\n${block.code}`;
      }
      entry.program ??= block.code;
      previous.set(lang, entry);
      const stem = `${doc.replace(/[/.]/g, '_')}_${block.line}`;
      const extension =
        { js: /\brequire\(|\bmodule\.exports\b/.test(entry.program) ? '.cjs' : '.mjs', ts: '.mts', sh: '.sh', yaml: '.yml' }[lang] ?? '.txt';
      entry.file = path.join(WORK, stem + extension);
      blocks.push(entry);
    }
  }
  return blocks;
}

async function check(block, typeErrors) {
  const { lang, program, file, directives } = block;
  if (block.error) throw new Error(block.error);
  if (lang === '') throw new Error('declares no language (`text` for what is not code)');
  if (!RUNNABLE.has(lang) && lang !== 'text') throw new Error(`"${lang}" is not a language the doc tests know`);
  if (lang === 'js' || lang === 'ts') {
    let runnable = file;
    if (lang === 'ts') {
      const errors = typeErrors.get(file);
      if (errors) throw new Error(`tsc:\n${errors.join('\n')}`);
      runnable = file.replace(/\.mts$/, '.mjs');
      const options = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 };
      fs.writeFileSync(runnable, ts.transpileModule(program, { compilerOptions: options }).outputText);
    }
    if (directives.serves) return checks.serving(runnable, directives.serves);
    if (directives.receives) return checks.receiving(runnable, directives.receives);
    return checks.node(runnable);
  }
  if (directives.serves || directives.receives) throw new Error('"serves" and "receives" apply to js and ts blocks');
  if (lang === 'sh') return checks.shell(file);
  if (lang === 'yaml') return checks.yaml(program, file);
  if (lang === 'prometheus') return checks.prometheus(program);
  if (lang === 'openmetrics') return checks.openmetrics(program);
  if (lang === 'json') return JSON.parse(program);
}

async function main() {
  const files = process.argv.length > 2 ? process.argv.slice(2).map((file) => path.relative(ROOT, path.resolve(file))) : documentationFiles();
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(TMPDIR, { recursive: true });
  const blocks = collect(files);
  for (const block of blocks) if (block.file && !block.directives?.skip) fs.writeFileSync(block.file, block.program);
  const typeErrors = typeCheck(blocks.filter((block) => block.lang === 'ts' && !block.error && !block.directives.skip));
  const counts = { passed: 0, skipped: 0, text: 0, failed: 0 };
  for (const block of blocks) {
    const label = `${block.where} ${block.lang || '(no language)'}`;
    if (!block.error && block.directives.skip) {
      counts.skipped++;
      console.log(`skip ${label}: ${block.directives.skip}`);
      continue;
    }
    try {
      await check(block, typeErrors);
      if (block.lang === 'text') counts.text++;
      else counts.passed++;
      console.log(`${block.lang === 'text' ? 'text' : 'ok  '} ${label}`);
    } catch (error) {
      counts.failed++;
      console.log(`FAIL ${label}\n${String(error.message).replace(/^/gm, '  ')}`);
    }
  }
  console.log(`\n${blocks.length} blocks: ${counts.passed} passed, ${counts.skipped} skipped, ${counts.text} text, ${counts.failed} failed`);
  process.exitCode = counts.failed === 0 ? 0 : 1;
}

await main();
