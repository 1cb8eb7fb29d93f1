// The code explains itself from this repository: every `docs/NAME.md §N` it cites names a
// section that exists, and nothing cites the research notes outside the repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

const FILES = ['src', 'test', 'bench'].flatMap(sources);

/** Section numbers of a doc: its `## N.` / `### N.M` headings, and the steps `M.` of a list under `## N.`. */
function sectionsOf(doc: string): Set<string> {
  const found = new Set<string>();
  let top = '';
  for (const line of fs.readFileSync(path.join(REPO_ROOT, 'docs', doc), 'utf8').split('\n')) {
    const h = /^#{2,3} (\d+(?:\.\d+)?)[. ]/.exec(line);
    if (h) { found.add(h[1]); top = h[1].split('.')[0]; continue; }
    const step = /^(\d+)\. /.exec(line);
    if (step && top) found.add(`${top}.${step[1]}`);
  }
  return found;
}

test('every docs/NAME.md §N cited in src/, test/ and bench/ exists', () => {
  const missing: string[] = [];
  const cache = new Map<string, Set<string>>();
  let citations = 0;
  for (const file of FILES) {
    const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
    // The run of section numbers after the name: "§3-§4, §9, §11", "§11.3–4".
    for (const m of text.matchAll(/docs\/([\w-]+\.md) (§[\d.]+(?:(?:[-–]|, | and )§?[\d.]+)*)/g)) {
      const doc = m[1];
      if (!cache.has(doc)) {
        assert.ok(fs.existsSync(path.join(REPO_ROOT, 'docs', doc)), `${file} cites docs/${doc}, which does not exist`);
        cache.set(doc, sectionsOf(doc));
      }
      for (const n of m[2].split(/[-–,]| and /).map((s) => s.replace(/[§\s]/g, '').replace(/\.$/, ''))) {
        citations++;
        if (!cache.get(doc)!.has(n)) missing.push(`${file}: docs/${doc} §${n}`);
      }
    }
  }
  assert.ok(citations > 20, `found only ${citations} citations: is the pattern still right?`);
  assert.deepEqual(missing, []);
});

test('no source cites the research notes outside the repository', () => {
  const outside = FILES.filter((f) => /research\/[\w-]+\.(md|txt)|\/work\/shared/.test(fs.readFileSync(path.join(REPO_ROOT, f), 'utf8')));
  assert.deepEqual(outside, []);
});
