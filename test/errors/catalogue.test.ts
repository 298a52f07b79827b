// The one catalogue (src/errors/catalogue.ts) against the code that emits codes: every code emitted in
// src/ is catalogued, every catalogued code is emitted somewhere (or says why not in `reserved`), and a
// severity stated at an emission site agrees with the catalogue. How codes are found: test/errors/code-scan.ts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalogue, type CatalogueEntry } from '../../src/errors/catalogue.js';
import { scanSource, scanTree, type CodeRef } from './code-scan.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CATALOGUE_FILE = 'src/errors/catalogue.ts';
const entries = catalogue as Readonly<Record<string, CatalogueEntry>>;
const codes = Object.keys(entries);
const families = new Set(codes.map((c) => c.slice(0, c.indexOf('_'))));

/**
 * Emission sites that state a severity other than the catalogue's, on purpose. Key: `CODE severity`.
 * (X12_ISA_CONTROL_INVALID's warning for a numeric ISA13 of the wrong width is chosen by a condition,
 * which the scan does not read as a stated severity.)
 */
const SEVERITY_OVERRIDES: Record<string, string> = {};

const scan = scanTree(ROOT, 'src', families, [CATALOGUE_FILE]);

function where(refs: CodeRef[]): string {
  return refs.slice(0, 3).map((r) => `${r.file}:${r.line}`).join(', ') + (refs.length > 3 ? ', ...' : '');
}

function byCode(refs: CodeRef[]): Map<string, CodeRef[]> {
  const m = new Map<string, CodeRef[]>();
  for (const r of refs) m.set(r.code, [...(m.get(r.code) ?? []), r]);
  return m;
}

describe('error catalogue', () => {
  it('finds the codes src/ emits (sanity: the scan sees every family and call style)', () => {
    const found = new Set(scan.refs.map((r) => r.code));
    // One per call style: issue(), new WaybillError(), new CliError(), src.diagnostic(), this.diag(),
    // new MappingFailure(), new TransformError(), zodDiagnostics(..., CODE), `code:` in an object literal,
    // `return { code: ... }` from a path check, new LedgerFault(), a ternary of codes.
    for (const c of ['X12_SE_COUNT_MISMATCH', 'CSV_READ_FAILED', 'CLI_USAGE', 'PARTNER_ID_MISMATCH', 'MAP_FIELD_CONFLICT',
      'MAP_REQUIRED_MISSING', 'MAP_BAD_DATE', 'TEST_CASE_INVALID', 'CONFIG_FILE_MISSING', 'MAP_NOT_A_LOOP', 'LEDGER_OPEN_FAILED',
      'MAP_QUALIFIER_NEVER_VALID', 'X12_BARE_TRANSACTION']) {
      expect(found, c).toContain(c);
    }
    expect(scan.refs.length).toBeGreaterThan(300);
  });

  it('has every code that src/ emits', () => {
    const missing = [...byCode(scan.refs)].filter(([code]) => !(code in entries)).map(([code, refs]) => `${code} (${where(refs)})`);
    expect(missing, `codes emitted in src/ but missing from ${CATALOGUE_FILE}`).toEqual([]);
  });

  it('builds no code from a template string (the catalogue check cannot see those)', () => {
    expect(scan.dynamic.map((d) => `${d.file}:${d.line} ${d.text}`)).toEqual([]);
  });

  it('has no code that nothing emits, unless it is marked reserved', () => {
    const emitted = new Set(scan.refs.map((r) => r.code));
    const unused = codes.filter((c) => !emitted.has(c) && !entries[c].reserved);
    expect(unused, `catalogued codes no file in src/ emits: emit them, remove them if never released, or mark them reserved`).toEqual([]);
  });

  it('marks reserved only codes that really are not emitted', () => {
    const emitted = new Set(scan.refs.map((r) => r.code));
    expect(codes.filter((c) => entries[c].reserved && emitted.has(c))).toEqual([]);
  });

  it('agrees with the severity stated where a code is emitted', () => {
    const wrong = scan.refs
      .filter((r) => r.severity && r.code in entries && r.severity !== entries[r.code].severity && !SEVERITY_OVERRIDES[`${r.code} ${r.severity}`])
      .map((r) => `${r.file}:${r.line} ${r.code} emitted as ${r.severity}, catalogued as ${entries[r.code].severity}`);
    expect(wrong).toEqual([]);
    const stale = Object.keys(SEVERITY_OVERRIDES).filter((k) => !scan.refs.some((r) => `${r.code} ${r.severity}` === k));
    expect(stale, 'SEVERITY_OVERRIDES entries no emission site needs any more').toEqual([]);
  });

  it('has well-formed entries', () => {
    for (const c of codes) {
      const e = entries[c];
      expect(c, c).toMatch(/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/);
      expect(e.summary.trim().length, c).toBeGreaterThan(10);
      expect(e.summary, c).not.toMatch(/\n/);
      if (e.reserved !== undefined) expect(e.reserved.trim().length, c).toBeGreaterThan(10);
    }
  });

  it('lists in src/mappings/README.md only catalogued codes', () => {
    const readme = readFileSync(`${ROOT}/src/mappings/README.md`, 'utf8');
    const named = [...new Set([...readme.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`/g)].map((m) => m[1]))];
    expect(named.filter((c) => families.has(c.slice(0, c.indexOf('_'))) && !(c in entries))).toEqual([]);
  });
});

describe('code scan', () => {
  const fam = new Set(['MAP', 'X12']);
  const found = (text: string) => scanSource(text, 'x.ts', fam).refs.map((r) => r.code);

  it('counts codes in every emitting position', () => {
    expect(found(`this.diag('MAP_A', 'm', []);`)).toEqual(['MAP_A']);
    expect(found(`throw new SomeFailure('NEWFAM_B', 'm');`)).toEqual(['NEWFAM_B']);
    expect(found(`out.push({ code: 'NEWFAM_C', severity: 'warning' });`)).toEqual(['NEWFAM_C']);
    expect(found(`zodDiagnostics(src, schema, 'NEWFAM_D');`)).toEqual(['NEWFAM_D']);
    expect(found(`const code: ErrorCode = x ? 'X12_E' : 'X12_F';`)).toEqual(['X12_E', 'X12_F']);
    expect(found(`return { code: 'MAP_G', error: 'MAP_NOT_THIS is in a message' };`)).toEqual(['MAP_G']);
    expect(found(`class F { constructor(readonly code: 'NEWFAM_H' | 'NEWFAM_I') {} }`)).toEqual(['NEWFAM_H', 'NEWFAM_I']);
    expect(found('this.diag(`MAP_J`, "m", []);')).toEqual(['MAP_J']);
  });

  it('ignores comments, comparisons, look-ups and strings of other families outside code positions', () => {
    expect(found(`// diag('MAP_A')\n/* code: 'NEWFAM_B' */ const x = 1;`)).toEqual([]);
    expect(found(`switch (e.code) { case 'X12_THEIRS': break; }`)).toEqual([]);
    expect(found(`if (err.code === 'MAP_THEIRS' || 'ERR_BAD_PATH' === err.code) {}`)).toEqual([]);
    expect(found(`const transient = new Set(['SQLITE_BUSY']); transient.has('X12_Q');`)).toEqual([]);
    expect(found(`const url = process.env['REDIS_URL'] ?? env.get('WAYBILL_DATA');`)).toEqual([]);
    expect(found(`log.info({ code: 'lowercase_thing', ST: 'ISA' });`)).toEqual([]);
  });

  it('reports codes built from template strings, and gives the stated severity', () => {
    const r = scanSource('this.diag(`MAP_${kind}`, "m", []); src.diagnostic(\'MAP_W\', \'m\', [], { severity: \'warning\' });', 'x.ts', fam);
    expect(r.dynamic.map((d) => d.text)).toEqual(['`MAP_${kind}`']);
    expect(r.refs).toEqual([{ code: 'MAP_W', file: 'x.ts', line: 1, severity: 'warning' }]);
  });
});
