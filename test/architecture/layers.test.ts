// The layer order of DESIGN.md, checked by dependency-cruiser (.dependency-cruiser.cjs) over the
// TypeScript sources with the project's tsconfig: any violation not in KNOWN fails `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const DEPCRUISE = path.join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = path.join(REPO_ROOT, '.dependency-cruiser.cjs');
const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'layers');

/**
 * Violations that exist today and are being fixed elsewhere: one entry each, so the list can
 * only shrink. A new violation fails the first test; a fixed one fails it too, until its
 * entry is deleted here.
 */
const KNOWN: readonly string[] = [];

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
  cycle?: { name: string }[];
}

interface CruiseResult {
  violations: string[];
  totalCruised: number;
  rules: string[];
}

/** One line per violation; a cycle starts at its smallest member, so the text is stable. */
function describe(v: Violation): string {
  if (!v.cycle) return `${v.rule.name}: ${v.from} → ${v.to}`;
  const members = v.cycle.map((c) => c.name);
  const start = members.indexOf([...members].sort()[0]);
  const ring = [...members.slice(start), ...members.slice(0, start)];
  return `${v.rule.name}: ${[...ring, ring[0]].join(' → ')}`;
}

/** Runs the dependency-cruiser CLI over `src` in `cwd` (which holds the tsconfig.json it uses). */
function cruise(cwd: string): CruiseResult {
  const r = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'json'], {
    cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024,
  });
  // depcruise exits with the number of errors; only missing output means it did not run.
  assert.ok(r.stdout, `dependency-cruiser produced no report (status ${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as {
    summary: { violations: Violation[]; totalCruised: number; ruleSetUsed: { forbidden: { name: string }[] } };
  };
  return {
    violations: out.summary.violations.map(describe).sort(),
    totalCruised: out.summary.totalCruised,
    rules: out.summary.ruleSetUsed.forbidden.map((f) => f.name),
  };
}

test('src/ keeps the layer rules: no violation beyond the known, shrinking list', () => {
  const { violations, totalCruised } = cruise(REPO_ROOT);
  assert.ok(totalCruised > 100, `cruised only ${totalCruised} modules: is src/ there?`);
  const unexpected = violations.filter((v) => !KNOWN.includes(v));
  const fixed = KNOWN.filter((k) => !violations.includes(k));
  assert.ok(unexpected.length === 0, `new layer violations:\n  ${unexpected.join('\n  ')}`);
  assert.ok(fixed.length === 0, `fixed, so delete from KNOWN in this test:\n  ${fixed.join('\n  ')}`);
  assert.equal(new Set(KNOWN).size, KNOWN.length, 'KNOWN lists each violation once');
});

test('every rule fires on the fixture tree, and the allowed imports there pass', () => {
  const { violations, rules } = cruise(FIXTURE);
  // The fixture breaks each rule at least once (test/fixtures/layers/README.md).
  const fired = new Set(violations.map((v) => v.slice(0, v.indexOf(':'))));
  assert.deepEqual(rules.filter((r) => !fired.has(r)), [], 'rules that no fixture file triggers');
  for (const expected of [
    'core-imports-only-below: src/core/x.ts → src/api/a.ts',                 // type-only counts
    'only-crypto-imports-node-crypto: src/core/x.ts → crypto',               // 'node:crypto'
    'only-crypto-imports-node-crypto: src/api/a.ts → crypto',                // 'crypto'
    'no-circular: src/crypto/c1.ts → src/crypto/c2.ts → src/crypto/c1.ts',   // type-only cycle
    'cli-loads-the-server-lazily: src/cli/main.ts → src/server.ts',
    'errors-import-only-pkcs11: src/errors/e.ts → src/protocol/p.ts',
  ]) assert.ok(violations.includes(expected), `missing: ${expected}\ngot:\n  ${violations.join('\n  ')}`);
  // The ok-* files import only what their layer may: none of them is reported.
  assert.deepEqual(violations.filter((v) => /ok-\w+\.ts →/.test(v)), []);
});
