// What the documentation checks read in Markdown: the files, their fenced code blocks
// (with the `<!-- doctest: … -->` directives above them), links and heading anchors.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The documentation: the Markdown files at the root (README, CHANGELOG, CONTRIBUTING) and under docs/. */
export function documentationFiles() {
  const atRoot = fs.readdirSync(ROOT).filter((name) => name.endsWith('.md'));
  const inDocs = fs
    .readdirSync(path.join(ROOT, 'docs'), { recursive: true })
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join('docs', name));
  return [...atRoot, ...inDocs].sort();
}

/**
 * The fenced code blocks of a Markdown text: `{ line, lang, code, directives }`, where
 * `line` is the fence's line (1-based), `code` has the fence's indentation removed, and
 * `directives` are the `<!-- doctest: … -->` comments on the lines just above it.
 */
export function codeBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body = [];
    let end = i + 1;
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) {
      body.push(lines[end].startsWith(indent) ? lines[end].slice(indent.length) : lines[end].trimStart());
      end++;
    }
    const directives = [];
    for (let above = i - 1; above >= 0; above--) {
      const directive = lines[above].match(/^\s*<!--\s*doctest:\s*(.*?)\s*-->\s*$/);
      if (!directive) break;
      directives.unshift(directive[1]);
    }
    blocks.push({ line: i + 1, lang: lang.toLowerCase(), code: `${body.join('\n')}\n`, directives });
    i = end;
  }
  return blocks;
}

/** The text outside fenced code blocks, line for line; without inline code spans unless `keepCode`. */
function prose(text, keepCode = false) {
  const lines = text.split('\n');
  let fence;
  return lines
    .map((line) => {
      const marker = line.trimStart().match(/^(`{3,}|~{3,})/)?.[1];
      if (fence === undefined && marker) {
        fence = marker;
        return '';
      }
      if (fence !== undefined) {
        if (marker?.startsWith(fence)) fence = undefined;
        return '';
      }
      return keepCode ? line : line.replace(/`[^`]*`/g, '');
    })
    .join('\n');
}

/** The links of a Markdown text outside code: `{ line, target }` for `[text](target)` and `![alt](target)`. */
export function links(text) {
  const found = [];
  prose(text)
    .split('\n')
    .forEach((line, index) => {
      for (const match of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) found.push({ line: index + 1, target: match[1] });
    });
  return found;
}

/**
 * The anchors of a Markdown text's headings, as GitHub makes them: the heading's text
 * lowercased, without punctuation, spaces as hyphens; a repeated one gets `-1`, `-2`, ….
 */
export function anchors(text) {
  const seen = new Map();
  const result = new Set();
  for (const line of prose(text, true).split('\n')) {
    const heading = line.match(/^#{1,6}\s+(.*?)\s*#*\s*$/);
    if (!heading) continue;
    const base = heading[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}
