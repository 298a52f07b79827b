// The generated segment checks (segment-check.ts) may only ever spare the element loop work it would
// have found nothing in: validating with them (the default) must give exactly what validating without
// them gives, on every fixture and corpus transaction, under every option that changes what is checked,
// and on transactions with one element value changed to something chosen to break a check (control
// characters, separators inside a value, bad numbers, dates, times and codes, lengths, extra elements).
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TransactionSet } from '../../../src/translators/x12/model.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';
import { getSchema, type CompiledLoop, type CompiledSegment } from '../../../src/translators/x12/schema.js';
import { compileSegmentCheck } from '../../../src/translators/x12/segment-check.js';
import { validateTransaction, type ValidateTransactionOptions } from '../../../src/translators/x12/validate-transaction.js';
import { corpusDir, ediFiles, hasCorpus } from '../../helpers/corpus.js';
import { treeShape } from '../../helpers/loop-tree.js';

const OPTION_SETS: ValidateTransactionOptions[] = [
  { tree: true, loops: true },
  { tree: true, syntaxNotes: 'error', openCodeLists: 'warning' },
  { syntaxNotes: 'ignore' },
];

function transactions(x12: Buffer | string): TransactionSet[] {
  const out: TransactionSet[] = [];
  for (const ev of readX12Sync(x12)) if (ev.type === 'transaction') out.push(ev.transaction);
  return out;
}

function outcome(tx: TransactionSet, options: ValidateTransactionOptions, segmentChecks: boolean): unknown {
  const v = validateTransaction(tx, { ...options, segmentChecks, placementMemory: false });
  return { issues: v.issues, loops: v.loops, tree: v.tree && treeShape(v.tree) };
}

function compare(tx: TransactionSet, label: string, optionSets = OPTION_SETS): void {
  for (const options of optionSets) {
    expect(outcome(tx, options, true), `${label} ${JSON.stringify(options)}`).toEqual(outcome(tx, options, false));
  }
}

const fixtureFiles = ediFiles(new URL('../../../fixtures/edi/', import.meta.url).pathname);

describe('generated segment checks', () => {
  it('give the same findings, loops and trees as the element loop alone on every fixture', () => {
    expect(fixtureFiles.length).toBeGreaterThan(40);
    let n = 0;
    for (const f of fixtureFiles) for (const tx of transactions(readFileSync(f))) compare(tx, `${f} ${tx.control}`), n++;
    expect(n).toBeGreaterThan(50);
  });

  it.skipIf(!hasCorpus)('give the same on every corpus file', () => {
    for (const f of ediFiles(corpusDir)) for (const tx of transactions(readFileSync(f))) compare(tx, `${f} ${tx.control}`);
  });

  // 1,500 changed transactions under each option set, each validated with and without the checks. One
  // test per option set: it was one test of 1,500 runs doing all three, about 5 s alone and 8 s beside
  // other test files on 2 loaded cores, the slowest of the property tests. Split, each option set still
  // gets its 1,500 runs, and no test carries more than half the work (the two that build loop trees take
  // about 1.5-1.8 s each, the third about 0.1 s) under the 60 s test timeout.
  const pool = fixtureFiles.flatMap((f) => transactions(readFileSync(f))).filter((tx) => tx.segments.length > 2);
  const pieces = ['', '0', '9', '-', '.', '-1.5', '1.2.3', 'A', 'ZZ', 'X6', '20240230', '20240229', '240229', '2460', '235960', '1200',
    '\u0001', '\u007f', '\u0085', '*', '>', '^', '{', ':', '~', 'x'.repeat(40), ' ', '00401', 'SH'];
  const mutation = fc.record({
    tx: fc.nat(pool.length - 1),
    segment: fc.nat(),
    element: fc.nat(),
    value: fc.array(fc.constantFrom(...pieces), { minLength: 0, maxLength: 3 }).map((xs) => xs.join('')),
    append: fc.boolean(),
  });
  it.each(OPTION_SETS)('give the same on transactions with one value changed to break a check, options %j', (options) => {
    fc.assert(fc.property(mutation, (m) => {
      const original = pool[m.tx];
      // ST and SE stay: the reader checks them, and the transaction must still be one.
      const s = 1 + (m.segment % (original.segments.length - 2));
      // A changed segment is no longer what the reader marked plain.
      const tx: TransactionSet = { ...original, segments: original.segments.map((seg) => ({ ...seg, elements: [...seg.elements], plain: false })) };
      const els = tx.segments[s].elements;
      if (m.append) els.push(m.value);
      else els[1 + (m.element % Math.max(1, els.length - 1))] = m.value;
      compare(tx, `${original.setId} ${original.control} ${els.join('*')}`, [options]);
    }), { numRuns: 1500 });
  });

  it('answer a clean segment and doubt a bad one (the fast path is taken, and is not a yes to everything)', () => {
    const schema = getSchema('214', '004010')!;
    expect(schema).toBeTruthy();
    const [tx] = transactions(readFileSync(new URL('../../../fixtures/edi/214/004010/ltl-multi-status.edi', import.meta.url)));
    const at7 = tx.segments.find((s) => s.id === 'AT7')!;
    const find = (loop: CompiledLoop, id: string): CompiledSegment | undefined => {
      for (const c of loop.children) {
        const hit = c.segment && c.segmentId === id ? c.segment : c.loop ? find(c.loop, id) : undefined;
        if (hit) return hit;
      }
      return undefined;
    };
    const def = find(schema.root, 'AT7')!;
    const check = compileSegmentCheck(def)!;
    const gt = (c: string) => c.charCodeAt(0);
    expect(check(at7.elements, -1, gt('>'), false, true, false)).toBe(true);
    const bad = [...at7.elements];
    bad[5] = '20241399';
    expect(check(bad, -1, gt('>'), false, true, false)).toBe(false);
    // An element holding the component separator: the loop decides (it reports too many components).
    expect(check([...at7.elements.slice(0, 2), 'X>1'], -1, gt('>'), false, true, false)).toBe(false);
  });
});
