#!/usr/bin/env node
// Every relative link of the documentation resolves: the file or folder exists, and an
// anchor (`guide.md#section`, `#section`) is a heading of the Markdown file it names.
// Links to other sites are not followed (CI reaches package registries only).
//   node scripts/docs/check-links.mjs
import fs from 'node:fs';
import path from 'node:path';
import { anchors, documentationFiles, links, ROOT } from './markdown.mjs';

const anchorsOf = new Map();
function anchorsIn(file) {
  if (!anchorsOf.has(file)) anchorsOf.set(file, anchors(fs.readFileSync(path.join(ROOT, file), 'utf8')));
  return anchorsOf.get(file);
}

const broken = [];
let checked = 0;
for (const file of documentationFiles()) {
  for (const { line, target } of links(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    checked++;
    const [pathPart, anchor] = target.split('#');
    const linked = pathPart === '' ? file : path.normalize(path.join(path.dirname(file), decodeURIComponent(pathPart)));
    const where = `${file}:${line}: ${target}`;
    if (linked.startsWith('..') || !fs.existsSync(path.join(ROOT, linked))) {
      broken.push(`${where}: no such file or folder (${linked})`);
    } else if (anchor !== undefined) {
      if (!linked.endsWith('.md')) broken.push(`${where}: an anchor into a file that is not Markdown`);
      else if (!anchorsIn(linked).has(decodeURIComponent(anchor))) broken.push(`${where}: ${linked} has no heading #${anchor}`);
    }
  }
}
for (const line of broken) console.error(line);
console.log(`${checked} relative links checked, ${broken.length} broken`);
process.exitCode = broken.length === 0 ? 0 : 1;
