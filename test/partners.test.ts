// The partners' own sample-based tests (partners/<id>/tests/*.yaml), run by the same runner as
// `waybill test`, one vitest case per test file; and `waybill lint` over every partner folder.
// A failing case shows the runner's readable diff (the expected files are the specification: to change
// behaviour on purpose, run `npx tsx src/cli/main.ts test partners/<id> --update` and review the diff).

import { existsSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, sortDiagnostics } from '../src/mappings/diagnostics.js';
import { partnerDirs } from '../src/mappings/partner-config.js';
import { describeResult, runPartnerTests, type PartnerTestResult } from '../src/mappings/partner-tests.js';
import { compilePartner } from '../src/mappings/registry.js';
import { sharedTables } from '../src/mappings/tables.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const partnersRoot = join(repoRoot, 'partners');
const folders = partnerDirs(partnersRoot);

/** The test files of a partner folder, as the runner finds them. */
function caseFiles(dir: string): string[] {
  const tests = join(dir, 'tests');
  return existsSync(tests) ? readdirSync(tests).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(tests, f)) : [];
}

const rel = (p: string) => relative(repoRoot, p);

describe('waybill lint partners/', () => {
  it('finds no errors in the shared code tables', () => {
    expect(sharedTables().diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
  });

  it('finds the example partners and the template', () => {
    expect(folders.map((d) => basename(d))).toEqual(expect.arrayContaining(['_template', 'granite-ridge', 'prairie-line', 'sangamon-valley']));
  });

  for (const dir of folders) {
    it(`finds no errors in ${rel(dir)}`, () => {
      const { partner, diagnostics } = compilePartner(dir);
      const errors = sortDiagnostics(diagnostics).filter((d) => d.severity === 'error').map((d) => formatDiagnostic({ ...d, file: rel(d.file) }));
      expect(errors).toEqual([]);
      expect(partner).not.toBeNull();
    });
  }

  it('finds nothing at all in partners/_template, not even a warning (analysts copy it)', () => {
    const { diagnostics } = compilePartner(join(partnersRoot, '_template'));
    expect(diagnostics.map((d) => formatDiagnostic({ ...d, file: rel(d.file) }))).toEqual([]);
  });
});

describe('partner tests (partners/*/tests/*.yaml)', () => {
  let results: PartnerTestResult[] = [];

  beforeAll(async () => {
    results = await runPartnerTests(partnersRoot, folders);
  });

  for (const dir of folders) {
    for (const file of caseFiles(dir)) {
      it(rel(file), () => {
        const r = results.find((x) => x.file === file)
          // A partner that does not compile yields one failure for its partner.yaml instead of its cases.
          ?? results.find((x) => x.file === join(dir, 'partner.yaml'));
        if (!r) expect.fail(`the runner returned no result for ${rel(file)}`);
        if (!r.ok) expect.fail(`\n${describeResult(r, repoRoot)}`);
        expect(r.updated).toEqual([]);
      });
    }
  }

  it('runs every case once, and nothing else', () => {
    const expected = folders.flatMap(caseFiles).sort();
    expect(results.map((r) => r.file).sort()).toEqual(expected);
  });
});
