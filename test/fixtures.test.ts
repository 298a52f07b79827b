// The team's fixtures (fixtures/edi): every file must meet its MANIFEST.json expectations, and its
// parsed structure, findings and acknowledgment must equal the checked-in golden file next to it
// (<name>.golden.json). Regenerate goldens for review with: UPDATE_GOLDEN=1 npm test -- fixtures
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspectX12Sync, allIssues } from '../src/translators/x12/inspect.js';
import { buildAcks } from '../src/translators/x12/acks/build.js';
import { reportJson } from '../src/cli/report-json.js';

const dir = fileURLToPath(new URL('../fixtures/edi/', import.meta.url));
const manifest = JSON.parse(readFileSync(`${dir}MANIFEST.json`, 'utf8')) as Record<string, {
  valid: boolean; interchanges: number; groups: number; transactions: number;
  expectErrors?: string[]; expectWarnings?: string[]; transactionValidity?: boolean[];
}>;
const update = process.env.UPDATE_GOLDEN === '1';
const FIXED_NOW = new Date('2026-01-02T03:04:05Z');

function golden(rel: string) {
  const report = inspectX12Sync(readFileSync(`${dir}${rel}`));
  const acks = report.interchanges.map((ic) => {
    const built = buildAcks(ic, { controls: { interchange: 900000001, group: 9001, transaction: (i: number) => String(9001 + i) }, now: FIXED_NOW, suffix: '\n' });
    return { interchangeStatus: built.interchangeStatus, text: built.text, notes: built.notes };
  });
  return { report: reportJson(report), acks };
}

describe('fixtures/edi', () => {
  it('has a manifest entry for every fixture', () => {
    expect(Object.keys(manifest).length).toBeGreaterThanOrEqual(40);
    for (const rel of Object.keys(manifest)) expect(existsSync(`${dir}${rel}`), rel).toBe(true);
  });

  for (const [rel, want] of Object.entries(manifest)) {
    it(rel, () => {
      const report = inspectX12Sync(readFileSync(`${dir}${rel}`));
      const issues = allIssues(report);
      const errors = issues.filter((i) => i.severity === 'error').map((i) => i.code);
      const warnings = issues.filter((i) => i.severity === 'warning').map((i) => i.code);
      expect({ valid: report.valid, errors }).toMatchObject({ valid: want.valid });
      for (const code of want.expectErrors ?? []) expect(errors, `${rel} should report ${code}`).toContain(code);
      for (const code of want.expectWarnings ?? []) expect(warnings, `${rel} should warn ${code}`).toContain(code);
      if (want.valid) {
        expect(report.interchanges.length).toBe(want.interchanges);
        expect(report.interchanges.reduce((n, ic) => n + ic.groups.length, 0)).toBe(want.groups);
      }
      if (want.transactionValidity) {
        const validity = report.interchanges.flatMap((ic) => ic.groups.flatMap((g) => g.transactions.map((t) => t.valid)));
        expect(validity).toEqual(want.transactionValidity);
      }
      const goldenFile = `${dir}${rel.replace(/\.edi$/, '.golden.json')}`;
      const actual = golden(rel);
      if (update || !existsSync(goldenFile)) {
        if (!update && process.env.CI) throw new Error(`missing golden file ${goldenFile}: run UPDATE_GOLDEN=1 npm test`);
        writeFileSync(goldenFile, `${JSON.stringify(actual, null, 2)}\n`);
      }
      expect(actual).toEqual(JSON.parse(readFileSync(goldenFile, 'utf8')));
    });
  }
});
