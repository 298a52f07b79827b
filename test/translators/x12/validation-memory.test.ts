// validateTransaction remembers two things. How a clean segment-id sequence was placed, replayed for the
// next transaction with the same ids (option placementMemory, on by default with `tree`): replaying must give
// exactly what placing afresh gives (the same findings in the same order, the same loop ids and the same
// tree) on every fixture and corpus transaction (each validated afresh, then twice from memory), and on
// hand-made cases where the memory must not be used or must be let go. And, per element, the last simple
// values found clean: a value clean under one interchange's delimiters or options is checked again under
// others.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Segment, TransactionSet } from '../../../src/translators/x12/model.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';
import { validateTransaction, type TransactionValidation } from '../../../src/translators/x12/validate-transaction.js';
import { corpusDir, ediFiles, hasCorpus } from '../../helpers/corpus.js';
import { treeShape } from '../../helpers/loop-tree.js';
import { wrap4010 } from '../../helpers/x12.js';

function outcome(v: TransactionValidation): unknown {
  return { issues: v.issues, loops: v.loops, tree: v.tree && treeShape(v.tree), schemaVersion: v.schemaVersion };
}

function transactions(x12: Buffer | string): TransactionSet[] {
  const out: TransactionSet[] = [];
  for (const ev of readX12Sync(x12)) if (ev.type === 'transaction') out.push(ev.transaction);
  return out;
}

/** Afresh, then twice with memory (the second at the latest is a replay): all three the same. */
function compareAll(txs: TransactionSet[]): void {
  for (const tx of txs) {
    const fresh = outcome(validateTransaction(tx, { tree: true, loops: true, placementMemory: false }));
    for (let i = 0; i < 2; i++) {
      expect(outcome(validateTransaction(tx, { tree: true, loops: true })), `${tx.setId} ${tx.control} pass ${i}`).toEqual(fresh);
    }
  }
}

const CLEAN_214 = ['ST*214*0001', 'B10*PRO1*BOL1*SCAC', 'N1*SH*SHIPPER', 'N4*DENVER*CO', 'LX*1', 'AT7*X6*NS***20240128*2301*LT',
  'MS1*DENVER*CO', 'AT7*X1*NS***20240129*0800*LT', 'SE*9*0001'];

describe('placement memory', () => {
  it('replays to the same findings, loop ids and tree on every fixture', () => {
    const files = ediFiles(new URL('../../../fixtures/edi/', import.meta.url).pathname);
    expect(files.length).toBeGreaterThan(40);
    for (const f of files) compareAll(transactions(readFileSync(f)));
  });

  it.skipIf(!hasCorpus)('replays to the same on every corpus file', () => {
    for (const f of ediFiles(corpusDir)) compareAll(transactions(readFileSync(f)));
  });

  it('checks the elements of a replayed transaction: a bad value in the same sequence is still found', () => {
    const [clean] = transactions(wrap4010(...CLEAN_214));
    expect(validateTransaction(clean, { tree: true }).issues).toEqual([]);
    const bad = CLEAN_214.map((s) => (s.startsWith('AT7*X1') ? 'AT7*X1*NS***20241399*0800*LT' : s));
    const [tx] = transactions(wrap4010(...bad));
    const codes = validateTransaction(tx, { tree: true }).issues.map((i) => `${i.code} ${i.segmentId}@${i.segmentPosition}`);
    expect(codes).toEqual(['X12_ELEMENT_INVALID_DATE AT7@8']);
    expect(outcome(validateTransaction(tx, { tree: true }))).toEqual(outcome(validateTransaction(tx, { tree: true, placementMemory: false })));
  });

  it('does not remember a sequence whose placement found something: it is reported again each time', () => {
    const seq = [...CLEAN_214.slice(0, 5), 'B10*LATE', ...CLEAN_214.slice(5)];
    for (let i = 0; i < 3; i++) {
      const [tx] = transactions(wrap4010(...seq));
      expect(validateTransaction(tx, { tree: true }).issues.map((x) => x.code)).toContain('X12_SEGMENT_OUT_OF_ORDER');
    }
  });

  it('lets a replay go when checking a segment throws, and places that transaction afresh', () => {
    const [clean] = transactions(wrap4010(...CLEAN_214));
    validateTransaction(clean, { tree: true });
    const [tx] = transactions(wrap4010(...CLEAN_214));
    const broken = tx.segments[6] as Segment;
    Object.defineProperty(broken, 'elements', { get() { throw new Error('unreadable'); } });
    const replayed = outcome(validateTransaction(tx, { tree: true, loops: true }));
    expect(replayed).toEqual(outcome(validateTransaction(tx, { tree: true, loops: true, placementMemory: false })));
    expect(JSON.stringify(replayed)).toContain('segment could not be checked: unreadable');
  });
});

describe('element memory', () => {
  it('checks a remembered value again under other delimiters', () => {
    // N103 'A:' (an ID element with an open code list) is a clean simple value where ':' means nothing...
    const withColon = CLEAN_214.map((x) => x.replace('N1*SH*SHIPPER', 'N1*SH*SHIPPER*A:*XX'));
    const [first] = transactions(wrap4010(...withColon));
    for (let i = 0; i < 2; i++) expect(validateTransaction(first, { tree: true }).issues).toEqual([]);
    // ...and holds components in an interchange whose component separator is ':'.
    const [second] = transactions(wrap4010(...withColon).replace('*P*>~', '*P*:~'));
    expect(second.interchange?.delimiters.component).toBe(':');
    expect(validateTransaction(second, { tree: true }).issues.map((i) => `${i.code} ${i.segmentId}${i.elementPosition}`))
      .toEqual(['X12_ELEMENT_TOO_MANY_COMPONENTS N13']);
  });

  it('remembers only clean values: a bad code is reported every time, a good one after it still passes', () => {
    // AT7.01 (1650) is an ID element with a closed code list: ID elements are the ones that remember.
    for (let i = 0; i < 3; i++) {
      // Both AT7s hold the bad code: a remembered 'ZZ' would pass the second one.
      const [bad] = transactions(wrap4010(...CLEAN_214.map((x) => x.replace(/^AT7\*X[16]\*/, 'AT7*ZZ*'))));
      expect(validateTransaction(bad, { tree: true }).issues.map((x) => `${x.code} ${x.badValue} AT7@${x.segmentPosition}`))
        .toEqual(['X12_ELEMENT_INVALID_CODE ZZ AT7@6', 'X12_ELEMENT_INVALID_CODE ZZ AT7@8']);
      const [good] = transactions(wrap4010(...CLEAN_214));
      expect(validateTransaction(good, { tree: true }).issues).toEqual([]);
    }
  });

  it('remembers syntax notes by the elements present: another pattern is checked again', () => {
    const n1 = (x: string) => CLEAN_214.map((seg) => seg.replace('N1*SH*SHIPPER', x));
    for (let i = 0; i < 2; i++) {
      const [paired] = transactions(wrap4010(...n1('N1*SH*SHIPPER*93*SH01')));
      expect(validateTransaction(paired, { tree: true }).issues).toEqual([]);
      // N103 without N104 breaks the note P0304 (a warning by default), after the same segment kept it.
      const [alone] = transactions(wrap4010(...n1('N1*SH*SHIPPER*93')));
      expect(validateTransaction(alone, { tree: true }).issues.map((x) => `${x.code} ${x.severity} N1${x.elementPosition}`))
        .toEqual(['X12_ELEMENT_CONDITIONAL_MISSING warning N14']);
    }
  });
});
