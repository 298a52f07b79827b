// The transaction-set schemas against the shared corpus of real X12 files (../shared/corpus beside the
// clone; skipped when absent): files a gateway must accept get no schema error, and the 997s that are
// broken inside the transaction get at least one.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { X12Issue } from '../../../src/translators/x12/model.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';
import { validateTransaction } from '../../../src/translators/x12/validate-transaction.js';

const corpus = fileURLToPath(new URL('../../../../shared/corpus/', import.meta.url));
const present = existsSync(`${corpus}EXPECTED.json`);

interface Expected { verdict: 'accept' | 'reject' | 'any' }

function schemaIssues(rel: string): { errors: X12Issue[]; checked: number; transactions: number } {
  const errors: X12Issue[] = [];
  let checked = 0;
  let transactions = 0;
  for (const ev of readX12Sync(readFileSync(`${corpus}${rel}`))) {
    if (ev.type !== 'transaction') continue;
    transactions++;
    const r = validateTransaction(ev.transaction);
    if (r.schemaChecked) checked++;
    errors.push(...r.issues.filter((i) => i.severity === 'error'));
  }
  return { errors, checked, transactions };
}

const show = (issues: X12Issue[]) => issues.map((i) => `${i.code} ${i.segmentId}@${i.segmentPosition} el ${i.elementPosition ?? '-'}: ${i.message}`);

describe.skipIf(!present)('schemas against the shared corpus', () => {
  const expected: Record<string, Expected> = present ? JSON.parse(readFileSync(`${corpus}EXPECTED.json`, 'utf8')) : {};

  for (const [rel, exp] of Object.entries(expected)) {
    if (exp.verdict !== 'accept') continue;
    it(`accept: ${rel} has no schema error`, () => {
      const { errors } = schemaIssues(rel);
      expect(show(errors)).toEqual([]);
    });
  }

  const mustFail: Record<string, string> = {
    '997/edifabric__997.edi': 'X12_ACK_MALFORMED', // AK9*R*2*2*1: "rejected" with one set accepted
    '997/staedi__empty997.edi': 'X12_SEGMENT_MANDATORY_MISSING', // ST SE only: no AK1, no AK9
    '997/staedi__extraDelimiter997.edi': 'X12_ELEMENT_TOO_MANY_REPETITIONS', // repetitions/components in AK302, AK304, AK404
    '997/staedi__invalid997.edi': 'X12_ELEMENT_TOO_LONG', // AK101 'HC NOT IN CODESET', AK402 '66 NON NUMERIC'
  };
  for (const [rel, code] of Object.entries(mustFail)) {
    it(`reject: ${rel} gets a schema error (${code})`, () => {
      expect(expected[rel]?.verdict).toBe('reject');
      const { errors, checked } = schemaIssues(rel);
      expect(checked).toBeGreaterThan(0);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.map((i) => i.code)).toContain(code);
    });
  }

  it('every transaction of a set Waybill has schemas for is schema-checked', () => {
    for (const rel of Object.keys(expected)) {
      if (!/^(204|210|214|990|997|999)\//.test(rel)) continue;
      const text = readFileSync(`${corpus}${rel}`, 'latin1');
      if (!text.includes('ISA') || !text.includes('GS')) continue; // bare transactions have no version
      const { checked, transactions } = schemaIssues(rel);
      expect(checked, rel).toBe(transactions);
    }
  });
});
