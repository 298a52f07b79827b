// Transaction-set validation against the schemas in src/translators/x12/schemas: every set and version
// with small hand-written transactions, and every schema error code at its exact location.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Delimiters, GroupHeader, InterchangeHeader, Segment, TransactionSet, X12Issue } from '../../../src/translators/x12/model.js';
import { validateTransaction, type ValidateTransactionOptions } from '../../../src/translators/x12/validate-transaction.js';

// ---- a small local builder: splits text on given delimiters into a TransactionSet ----------------------

interface TxOptions {
  /** GS08; null for no group. Default 004010. */
  version?: string | null;
  /** ISA12. Default 00401 (00501 when the version starts with 005). */
  isaVersion?: string;
  element?: string;
  component?: string;
  /** Repetition separator; null for none (default: '^' for 005010, none otherwise). */
  repetition?: string | null;
  segment?: string;
  /** No interchange at all (bare transaction). */
  bare?: boolean;
}

function makeTx(text: string, o: TxOptions = {}): TransactionSet {
  const el = o.element ?? '*';
  const term = o.segment ?? '~';
  const version = o.version === undefined ? '004010' : o.version;
  const is5010 = (version ?? '').startsWith('005');
  const delimiters: Delimiters = {
    element: el,
    component: o.component ?? '>',
    repetition: o.repetition === undefined ? (is5010 ? '^' : null) : o.repetition,
    segment: term,
  };
  const segments: Segment[] = [];
  let start = 0;
  for (const rawPart of text.split(term)) {
    // Newlines between segments are layout, not data.
    let lead = 0;
    while (rawPart[lead] === '\n') lead++;
    const part = rawPart.slice(lead);
    if (part.trim() !== '') {
      const offset = start + lead;
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n');
      const elements = part.split(el);
      segments.push({ id: elements[0], elements, loc: { offset, line, column }, position: segments.length + 1 });
    }
    start += rawPart.length + term.length;
  }
  const loc0 = { offset: 0, line: 1, column: 1 };
  const isa: Segment = { id: 'ISA', elements: ['ISA'], loc: loc0, position: 0 };
  const interchange: InterchangeHeader | null = o.bare ? null : {
    isa, delimiters, senderQualifier: 'ZZ', senderId: 'S', receiverQualifier: 'ZZ', receiverId: 'R', date: '240131', time: '1200',
    version: o.isaVersion ?? (is5010 ? '00501' : '00401'), control: '000000001', ackRequested: false, usage: 'P',
  };
  const group: GroupHeader | null = o.bare || version === null ? null : {
    gs: { id: 'GS', elements: ['GS'], loc: loc0, position: 0 }, functionalId: 'XX', senderId: 'S', receiverId: 'R',
    date: '20240131', time: '1200', control: '1', agency: 'X', version,
  };
  const st = segments[0];
  return {
    interchange, group, setId: st?.elements[1] ?? '', control: st?.elements[2] ?? '', implementationRef: st?.elements[3],
    segments, complete: segments[segments.length - 1]?.id === 'SE', issues: [], index: 1,
  };
}

const lines = (...segs: string[]) => segs.map((s) => `${s}~\n`).join('');

function check(text: string, o: TxOptions = {}, v: ValidateTransactionOptions = {}) {
  const tx = makeTx(text, o);
  return { tx, ...validateTransaction(tx, v) };
}
const errorsOf = (issues: X12Issue[]) => issues.filter((i) => i.severity === 'error');
const codesOf = (issues: X12Issue[]) => issues.map((i) => i.code);

/** Validates and returns the only error, asserting there is exactly one. */
function onlyError(text: string, o: TxOptions = {}, v: ValidateTransactionOptions = {}): { issue: X12Issue; tx: TransactionSet } {
  const r = check(text, o, v);
  const errs = errorsOf(r.issues);
  expect(errs, JSON.stringify(errs, null, 1)).toHaveLength(1);
  return { issue: errs[0], tx: r.tx };
}

// ---- valid samples of every set and version -----------------------------------------------------------

const T204_4010 = lines(
  'ST*204*0001', 'B2**ABCD**LOAD123**PP', 'B2A*00*LT', 'L11*REF1*BM', 'G62*64*20240131*1*1200', 'MS3*ABCD*B**M',
  'NTE**HANDLE WITH CARE', 'N1*BT*BILL TO INC*93*BT01', 'N3*1 MAIN ST', 'N4*CHICAGO*IL*60601*US', 'G61*IC*JOHN DOE*TE*5555555555',
  'N7**TRAILER1*********TV', 'S5*1*LD*1000*L*10*PC', 'L11*PU123*P8', 'G62*37*20240201*I*0800', 'AT8*G*L*1000*10',
  'N1*SH*SHIPPER*93*SH01', 'N3*2 PLANT RD', 'N4*DALLAS*TX*75201*US', 'L5*1*WIDGETS', 'AT8*G*L*1000*10', 'G61*HM*EMERGENCY*TE*8005551212',
  'LH1*PK*4*UN1203', 'LH2*3', 'LH3*GASOLINE*D', 'OID*ORD1*PO1**PC*10*L*1000', 'S5*2*UL*1000*L*10*PC', 'G62*53*20240202*G*0900*CT',
  'N1*CN*CONSIGNEE*93*CN01', 'L3*1000*G***150000', 'SE*31*0001',
);
const T204_5010 = lines(
  'ST*204*0001', 'B2**ABCD**LOAD123**PP', 'B2A*00*LT', 'C3*USD', 'L11*REF1*BM', 'AT5*HM', 'RTT*FC*100', 'N1*BT*BILL TO*93*BT01',
  'S5*1*LD*1000*L*10*PC', 'G62*37*20240201*I*0800', 'G62*38*20240201*K*1000', 'G62*10*20240201*Y*0900', 'N1*SH*SHIPPER',
  'L5*1*WIDGETS', 'AT8*G*L*1000*10', 'L11*LINE1*PO', 'L4*48*40*50*E', 'S5*2*UL', 'N1*CN*CONSIGNEE', 'L3*1000*G', 'LX*1', 'L4*10*10*10*E',
  'SE*23*0001',
);
const T210_4010 = lines(
  'ST*210*0001', 'B3**INV001*PRO123*PP**20240131*12417**20240130*035*ABCD', 'B2A*00', 'C3*USD', 'N9*PO*PO123', 'G62*86*20240130',
  'R3*ABCD*B**M', 'N1*SH*SHIPPER', 'N3*1 MAIN', 'N4*CITY*IL*60601*US', 'N9*SI*SID1', 'N1*CN*CONS', 'N7**TRL1*********TL', 'LX*1',
  'L5*1*FREIGHT ALL KINDS', 'L0*1***1340*G***1*PLT**L', 'L1*1*41.93*PH*56186', 'L7*1*ABCD*0912****77.5', 'LX*2', 'L1*2***-44949****DSC',
  'L3*1340*G***11237', 'SE*22*0001',
);
const T210_5010 = T210_4010.replace('N9*PO*PO123', 'L11*PO123*PO').replace('N9*SI*SID1', 'L11*SID1*SI');
const T214_4010 = lines(
  'ST*214*0001', 'B10*PRO123*BOL456*ABCD', 'L11*PO12345*PO', 'N1*SH*SHIPPER INC*93*12345', 'N3*100 MAIN ST', 'N4*CHICAGO*IL*60601*US',
  'N1*CN*CONSIGNEE LLC', 'MS3*ABCD*B**M', 'LX*1', 'AT7*X3*NS***20240131*0830*CT', 'MS1*CHICAGO*IL*US', 'MS2*ABCD*123456',
  'AT7***AB*NA*20240201*1000*CT', 'L11*QN1*QN', 'AT8*G*L*1000*10', 'LX*2', 'AT7*D1*NS***20240201*1015*CT', 'MS1****0914726*0431836*W*N',
  'SE*19*0001',
);
const T214_5010 = lines(
  'ST*214*0001*005010', 'B10*PRO123*BOL456*ABCD*****20240131*1200', 'MS3*ABCD*B**M', 'LX*1', 'L11*PO1*PO', 'AT8*G*L*1000*10',
  'AT7*X3*NS***20240131*0830*CT', 'MS1*CHICAGO*IL*US', 'MS2*ABCD*TRAILER12345678', 'M7*SEAL1', 'N1*SH*SHIPPER', 'N4*CHICAGO*IL*60601*US',
  'OID*ORD1*PO1', 'SE*14*0001',
);
const T990_4010 = lines('ST*990*0001', 'B1*ABCD*LOAD123*20240131*A', 'N9*CN*PRO123', 'G62*64*20240131*1*1200', 'K1*OK', 'S5*1*LD', 'SE*7*0001');
const T990_5010 = lines('ST*990*0001', 'B1*ABCD*LOAD123*20240131*D*N*ABC', 'L11*PRO123*CN', 'SE*4*0001');
const T997_4010 = lines(
  'ST*997*0001', 'AK1*SM*1', 'AK2*204*0001', 'AK5*A', 'AK2*204*0002', 'AK3*N1*5*0100*8', 'AK4*2*93*5*A VERY LONG NAME', 'AK5*R*5',
  'AK9*P*2*2*1', 'SE*11*0001',
);
const T997_5010 = lines(
  'ST*997*0001', 'AK1*SM*1*005010', 'AK2*204*0002*005010', 'AK3*N1*5*0100*8', 'AK4*2>1>3*93*5*NAME', 'AK5*R*5', 'AK9*R*1*1*0', 'SE*8*0001',
);
const T999_5010 = lines(
  'ST*999*0001*005010X231A1', 'AK1*SM*1*005010', 'AK2*204*0001', 'IK5*A', 'AK2*204*0002', 'IK3*N1*5*0100*8',
  'CTX*SITUATIONAL TRIGGER^OTHER>REF*N1*5**2', 'IK4*2*93*5*NAME', 'CTX*CLM01>123456789', 'IK5*R*5', 'AK9*P*2*2*1', 'SE*12*0001',
);

describe('valid transactions of every set and version', () => {
  const cases: [string, string, string][] = [
    ['204', '004010', T204_4010], ['204', '005010', T204_5010], ['210', '004010', T210_4010], ['210', '005010', T210_5010],
    ['214', '004010', T214_4010], ['214', '005010', T214_5010], ['990', '004010', T990_4010], ['990', '005010', T990_5010],
    ['997', '004010', T997_4010], ['997', '005010X230', T997_5010], ['999', '005010X231A1', T999_5010],
  ];
  for (const [set, version, text] of cases) {
    it(`${set} ${version}`, () => {
      const r = check(text, { version });
      expect(r.schemaChecked).toBe(true);
      expect(r.issues).toEqual([]);
    });
  }

  it('reports the schema version applied', () => {
    expect(check(T214_4010, { version: '004010VICS' }).schemaVersion).toBe('004010');
    expect(check(T214_5010, { version: '005010' }).schemaVersion).toBe('005010');
    expect(check(T214_4010, { version: '004030' }).schemaVersion).toBe('004030');
  });

  it('a set with no schema (850, 856) is checked at the envelope level only, which is not an error', () => {
    for (const set of ['850', '856']) {
      const r = check(lines(`ST*${set}*0001`, 'BEG*00*SA*PO1**20240131', 'ZZZ*1', 'SE*4*0001'));
      expect(r.schemaChecked).toBe(false);
      expect(r.issues).toEqual([]);
    }
  });

  it('an unsupported version has no schema', () => {
    expect(check(T214_4010, { version: '003040', isaVersion: '00304' }).schemaChecked).toBe(false);
    expect(check(T214_4010, { version: '006020', isaVersion: '00602' }).schemaChecked).toBe(false);
  });

  it('falls back to ISA12 when there is no group, and accepts an explicit version', () => {
    expect(check(T214_4010, { version: null, isaVersion: '00401' }).schemaVersion).toBe('004010');
    expect(check(T214_5010, { version: null, isaVersion: '00501' }).schemaVersion).toBe('005010');
    expect(check(T214_4010, { bare: true }).schemaChecked).toBe(false);
    const forced = validateTransaction(makeTx(T214_4010, { bare: true }), { version: '004010' });
    expect(forced.schemaChecked).toBe(true);
    expect(forced.issues).toEqual([]);
  });

  it('GS08 wins over ISA12 (00204 with 004010 is real)', () => {
    expect(check(T210_4010, { version: '004010', isaVersion: '00204' }).issues).toEqual([]);
  });
});

// ---- 004030 tolerance, 004010/005010 differences -----------------------------------------------------

describe('version differences', () => {
  const heading4010 = ['ST*214*0001', 'B10*PRO1*BOL1*ABCD', 'L11*BOL1*BM', 'N1*SH*SHIPPER', 'N3*1 MAIN', 'N4*CHICAGO*IL*60601*US', 'MS3*ABCD*B**M'];
  const lx4010 = ['LX*1', 'AT7*X3*NS***20240131*0830*CT', 'MS1*CHICAGO*IL*US', 'L11*QN1*QN', 'AT8*G*L*100*1'];
  const lx4030 = ['LX*1', 'L11*QN1*QN', 'AT8*G*L*100*1', 'AT7*X3*NS***20240131*0830*CT', 'MS1*CHICAGO*IL*US', 'N1*CN*CONSIGNEE', 'N4*DALLAS*TX'];

  it('004030 214: accepts the 004010 layout, the 004030 layout, and the 4010 heading with a 4030 LX', () => {
    for (const body of [[...heading4010, ...lx4010], ['ST*214*0001', 'B10*PRO1*BOL1*ABCD', 'MS3*ABCD*B**M', ...lx4030], [...heading4010, ...lx4030]]) {
      const r = check(lines(...body, `SE*${body.length + 1}*0001`), { version: '004030' });
      expect(r.issues, body.join('~')).toEqual([]);
    }
  });

  it('004020-004060 read as 004030; 004010 does not accept the 4030 LX layout; 005010 rejects the 4010 heading', () => {
    const t4030 = lines(...heading4010, ...lx4030, 'SE*15*0001');
    for (const v of ['004020', '004040', '004050', '004060']) expect(check(t4030, { version: v }).issues).toEqual([]);
    const in4010 = errorsOf(check(t4030, { version: '004010' }).issues);
    expect(in4010[0]).toMatchObject({ code: 'X12_SEGMENT_OUT_OF_ORDER', segmentId: 'AT7', segmentPosition: 11, loopId: '0200' });
    const r = check(lines(...heading4010, ...lx4030, 'SE*15*0001'), { version: '005010' });
    expect(codesOf(errorsOf(r.issues))).toContain('X12_SEGMENT_UNEXPECTED');
    expect(errorsOf(r.issues).find((i) => i.code === 'X12_SEGMENT_UNEXPECTED')).toMatchObject({ segmentId: 'L11', segmentPosition: 3 });
  });

  it('004030 990 (ST B1 N9 SE, B105/B106) is accepted', () => {
    expect(check(lines('ST*990*0001', 'B1*ABCD*LOAD1*20240131*D*N*ABC', 'N9*CN*PRO1', 'SE*4*0001'), { version: '004030' }).issues).toEqual([]);
  });

  it('B106 exists from 005010 only: too many elements in 004010', () => {
    const { issue: i } = onlyError(lines('ST*990*0001', 'B1*ABCD*LOAD1*20240131*D*N*ABC', 'SE*3*0001'), { version: '004010' });
    expect(i).toMatchObject({ code: 'X12_ELEMENT_TOO_MANY', segmentId: 'B1', segmentPosition: 2, elementPosition: 5, badValue: 'N' });
  });

  it('210: N9 in 005010 is not in the set; L11 is', () => {
    const r = check(T210_4010, { version: '005010' });
    expect(r.issues.map((i) => [i.code, i.segmentId, i.segmentPosition, i.loopId])).toEqual([
      ['X12_SEGMENT_NOT_IN_SET', 'N9', 5, undefined], ['X12_SEGMENT_NOT_IN_SET', 'N9', 11, '0100'],
    ]);
  });

  it('longer fields in 005010: L1101 up to 50 characters, MS202 up to 15', () => {
    const ref = 'R'.repeat(40);
    expect(onlyError(lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', `L11*${ref}*BM`, 'SE*4*0001')).issue)
      .toMatchObject({ code: 'X12_ELEMENT_TOO_LONG', segmentId: 'L11', elementPosition: 1, elementRef: '127', badValue: ref });
    expect(check(lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', 'LX*1', `L11*${ref}*BM`, 'AT7*X3*NS***20240131*0830', 'SE*6*0001'), { version: '005010' }).issues).toEqual([]);
  });

  it('999 in a 004010 group is read with its 005010 schema', () => {
    expect(check(T999_5010, { version: '004010', repetition: '^' }).schemaVersion).toBe('004010');
    expect(check(T999_5010, { version: '004010', repetition: '^' }).issues).toEqual([]);
  });
});

// ---- segment-level codes --------------------------------------------------------------------------------

describe('segment errors at their exact location', () => {
  it('X12_SEGMENT_UNRECOGNIZED: an unknown or malformed segment id; the rest is still checked', () => {
    const r = check(lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', 'XYZ*1', 'b10*x', 'LX*A', 'SE*6*0001'));
    const e = errorsOf(r.issues);
    expect(e.map((i) => [i.code, i.segmentId, i.segmentPosition])).toEqual([
      ['X12_SEGMENT_UNRECOGNIZED', 'XYZ', 3],
      ['X12_SEGMENT_UNRECOGNIZED', 'b10', 4],
      ['X12_ELEMENT_INVALID_CHARACTER', 'LX', 5],
    ]);
    expect(e[0].loc).toEqual(r.tx.segments[2].loc);
    expect(e[0].loc.line).toBe(3);
  });

  it('X12_SEGMENT_NOT_IN_SET: a known X12 segment of another set', () => {
    const { issue: i, tx } = onlyError(lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', 'REF*BM*1', 'SE*4*0001'));
    expect(i).toMatchObject({ code: 'X12_SEGMENT_NOT_IN_SET', segmentId: 'REF', segmentPosition: 3, loc: tx.segments[2].loc });
  });

  it('X12_SEGMENT_UNEXPECTED: a segment of the set where no loop allows it', () => {
    const { issue: i } = onlyError(lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', 'CD3*1', 'SE*4*0001'));
    expect(i).toMatchObject({ code: 'X12_SEGMENT_UNEXPECTED', segmentId: 'CD3', segmentPosition: 3 });
    expect(i.loopId).toBeUndefined();
  });

  it('X12_SEGMENT_OUT_OF_ORDER: a segment that belongs earlier in the same loop', () => {
    const { issue: i } = onlyError(lines('ST*990*0001', 'B1*ABCD*LOAD1*20240131*A', 'G62*64*20240131', 'N9*CN*PRO1', 'SE*5*0001'));
    expect(i).toMatchObject({ code: 'X12_SEGMENT_OUT_OF_ORDER', segmentId: 'N9', segmentPosition: 4 });
    const { issue: j } = onlyError(lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', 'LX*1', 'AT8*G*L*1*1', 'AT7*X3*NS***20240131*0830', 'SE*6*0001'));
    expect(j).toMatchObject({ code: 'X12_SEGMENT_OUT_OF_ORDER', segmentId: 'AT7', segmentPosition: 5, loopId: '0200' });
  });

  it('X12_SEGMENT_MANDATORY_MISSING: reported where the segment was due, with its loop', () => {
    const { issue: i, tx } = onlyError(lines('ST*214*0001', 'L11*1*BM', 'SE*3*0001'));
    expect(i).toMatchObject({ code: 'X12_SEGMENT_MANDATORY_MISSING', segmentId: 'B10', segmentPosition: 2, loc: tx.segments[1].loc });
    // AK5 missing at the end of an AK2 loop: reported at the segment that closed the loop
    const { issue: j } = onlyError(lines('ST*997*0001', 'AK1*SM*1', 'AK2*204*0001', 'AK9*A*1*1*1', 'SE*5*0001'));
    expect(j).toMatchObject({ code: 'X12_SEGMENT_MANDATORY_MISSING', segmentId: 'AK5', segmentPosition: 4, loopId: '2000' });
    // a mandatory loop (204 stops), reported with the loop's trigger and id
    const { issue: k } = onlyError(lines('ST*204*0001', 'B2**ABCD**L1**PP', 'B2A*00', 'SE*4*0001'));
    expect(k).toMatchObject({ code: 'X12_SEGMENT_MANDATORY_MISSING', segmentId: 'S5', segmentPosition: 4, loopId: '0300' });
  });

  it('a truncated transaction (no SE) reports what is missing but leaves SE to the reader', () => {
    const tx = makeTx(lines('ST*997*0001', 'AK1*SM*1'));
    expect(tx.complete).toBe(false);
    const r = validateTransaction(tx);
    expect(r.issues.map((i) => [i.code, i.segmentId, i.segmentPosition])).toEqual([['X12_SEGMENT_MANDATORY_MISSING', 'AK9', 2]]);
  });

  it('X12_SEGMENT_OVER_MAX: a segment used more often than allowed', () => {
    const { issue: i } = onlyError(lines('ST*204*0001', 'B2**ABCD**L1**PP', 'B2A*00', 'G62*64*20240131', 'G62*64*20240201', 'S5*1*LD', 'SE*7*0001'));
    expect(i).toMatchObject({ code: 'X12_SEGMENT_OVER_MAX', segmentId: 'G62', segmentPosition: 5 });
    const { issue: j } = onlyError(lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', 'N1*SH*A', 'N3*1', 'N3*2', 'N3*3', 'SE*7*0001'));
    expect(j).toMatchObject({ code: 'X12_SEGMENT_OVER_MAX', segmentId: 'N3', segmentPosition: 6, loopId: '0100' });
  });

  it('X12_LOOP_OVER_MAX: the trigger of the loop occurrence beyond the maximum', () => {
    const n1 = Array.from({ length: 6 }, (_, k) => `N1*BT*PARTY ${k}`);
    const { issue: i } = onlyError(lines('ST*204*0001', 'B2**ABCD**L1**PP', 'B2A*00', ...n1, 'S5*1*LD', 'SE*11*0001'));
    expect(i).toMatchObject({ code: 'X12_LOOP_OVER_MAX', segmentId: 'N1', segmentPosition: 9, loopId: '0100' });
  });

  it('loop triggers repeat as new loop occurrences (AT7 loops, N1 loops)', () => {
    const r = check(lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', 'N1*SH*A', 'N1*CN*B', 'LX*1', 'AT7*X3*NS***20240131*0830', 'AT7*AF*NS***20240131*0930',
      'AT7*D1*NS***20240131*1030', 'SE*9*0001'), {}, { loops: true });
    expect(r.issues).toEqual([]);
    expect(r.loops).toEqual([null, null, '0100', '0100', '0200', '0205', '0205', '0205', null]);
  });

  it('nested loops of the 204 and the loop ids they report', () => {
    const r = check(T204_4010, {}, { loops: true });
    expect(r.issues).toEqual([]);
    const ids = r.tx.segments.map((s, k) => `${s.id}:${r.loops?.[k] ?? '-'}`);
    expect(ids).toContain('S5:0300');
    expect(ids).toContain('N4:0310');
    expect(ids).toContain('L5:0320');
    expect(ids).toContain('G61:0325');
    expect(ids).toContain('LH3:0330');
    expect(ids).toContain('OID:0350');
    expect(ids).toContain('L3:-');
  });

  it('tolerates LH1 hazmat loops sent straight under the stop, without L5/G61 (as real tenders do)', () => {
    const r = check(lines('ST*204*0001', 'B2******DE', 'B2A*00', 'S5*1*PA', 'N1*RO*CN', 'S5*2*DT', 'N1*RD*CSX', 'LH1*PK*20*UN3077***KG*17600***III',
      'LH2*9', 'LH1*PK*2*UN3166', 'SE*11*0001'), {}, { loops: true });
    expect(r.issues).toEqual([]);
    expect(r.loops?.slice(7, 10)).toEqual(['0330', '0330', '0330']);
  });

  it('SE only after the mandatory segments; segments after a misplaced one are still placed', () => {
    const r = check(lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', 'FOO*1', 'L11*1*BM', 'N1*SH*A', 'SE*6*0001'));
    expect(codesOf(r.issues)).toEqual(['X12_SEGMENT_UNRECOGNIZED']);
  });
});

// ---- element-level codes --------------------------------------------------------------------------------

describe('element errors at their exact location', () => {
  const in214 = (...segs: string[]) => lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', ...segs, `SE*${segs.length + 3}*0001`);

  it('X12_ELEMENT_MANDATORY_MISSING', () => {
    const text = lines('ST*214*0001', 'B10*PRO1*BOL1', 'SE*3*0001');
    const { issue: i } = onlyError(text);
    // B1003 is past the segment's last element: at the segment terminator
    expect(i).toMatchObject({ code: 'X12_ELEMENT_MANDATORY_MISSING', segmentId: 'B10', segmentPosition: 2, elementPosition: 3, elementRef: '140', loc: locationOf(text, '~', text.indexOf('BOL1')) });
    expect(i.badValue).toBeUndefined();
  });

  it('X12_ELEMENT_TOO_MANY: only when a surplus element holds data (trailing empty elements are tolerated)', () => {
    expect(onlyError(in214('LX*1*2')).issue).toMatchObject({ code: 'X12_ELEMENT_TOO_MANY', segmentId: 'LX', segmentPosition: 3, loopId: '0200', elementPosition: 2, badValue: '2' });
    expect(check(in214('LX*1**')).issues).toEqual([]);
  });

  it('X12_ELEMENT_TOO_SHORT / X12_ELEMENT_TOO_LONG', () => {
    expect(onlyError(in214('N1*SH*A', 'N4*X*IL')).issue)
      .toMatchObject({ code: 'X12_ELEMENT_TOO_SHORT', segmentId: 'N4', segmentPosition: 4, loopId: '0100', elementPosition: 1, elementRef: '19', badValue: 'X' });
    expect(onlyError(lines('ST*214*0001', 'B10*PRO1*BOL1*ABCDE', 'SE*3*0001')).issue)
      .toMatchObject({ code: 'X12_ELEMENT_TOO_LONG', segmentId: 'B10', elementPosition: 3, elementRef: '140', badValue: 'ABCDE' });
    // numeric lengths count digits only: sign and decimal point are free
    expect(check(in214('LX*1', 'AT8*G*L*-123456789.0*1')).issues).toEqual([]);
    expect(onlyError(in214('LX*1', 'AT8*G*L*12345678901*1')).issue).toMatchObject({ code: 'X12_ELEMENT_TOO_LONG', elementPosition: 3, elementRef: '81' });
  });

  it('X12_ELEMENT_INVALID_CHARACTER: control characters, bad N0/N2/R numbers', () => {
    expect(onlyError(in214('L11*AB\u0001C*BM')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_CHARACTER', segmentId: 'L11', elementPosition: 1, badValue: 'AB\u0001C' });
    expect(onlyError(in214('LX*1A')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_CHARACTER', segmentId: 'LX', elementPosition: 1, elementRef: '554', badValue: '1A' });
    expect(onlyError(in214('LX*1', 'AT8*G*L*1.000,5*1')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_CHARACTER', segmentId: 'AT8', elementPosition: 3, badValue: '1.000,5' });
    expect(onlyError(in214('LX*1', 'AT8*G*L*1.2.3*1')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_CHARACTER', elementPosition: 3 });
    expect(onlyError(in214('LX*-')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_CHARACTER', elementPosition: 1 });
    // N2 carries implied decimals: an explicit point is not allowed, a sign is
    const l1 = (v: string) => lines('ST*210*0001', 'B3**INV1*PRO1*PP**20240131*100**20240130*035*ABCD', 'LX*1', `L1*1***${v}`, 'SE*5*0001');
    expect(check(l1('-44949')).issues).toEqual([]);
    expect(onlyError(l1('449.49')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_CHARACTER', segmentId: 'L1', loopId: '0400', elementPosition: 4, elementRef: '58', badValue: '449.49' });
  });

  it('X12_ELEMENT_INVALID_DATE / X12_ELEMENT_INVALID_TIME', () => {
    const at7 = (d: string, t: string) => in214('LX*1', `AT7*X3*NS***${d}*${t}*CT`);
    expect(check(at7('20240229', '235959')).issues).toEqual([]);
    expect(check(at7('20240131', '08301599')).issues).toEqual([]);
    expect(onlyError(at7('20230229', '0830')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_DATE', segmentId: 'AT7', loopId: '0205', elementPosition: 5, elementRef: '373', badValue: '20230229' });
    expect(onlyError(at7('2024013A', '0830')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_DATE', elementPosition: 5 });
    expect(onlyError(at7('20241301', '0830')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_DATE', elementPosition: 5 });
    expect(onlyError(at7('240131', '0830')).issue).toMatchObject({ code: 'X12_ELEMENT_TOO_SHORT', elementPosition: 5 }); // YYMMDD not allowed in an 8/8 DT
    expect(onlyError(at7('20240131', '2460')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_TIME', elementPosition: 6, elementRef: '337', badValue: '2460' });
    expect(onlyError(at7('20240131', '12:3')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_TIME', elementPosition: 6 });
    expect(onlyError(at7('20240131', '08301')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_TIME', elementPosition: 6 });
  });

  it('X12_ELEMENT_INVALID_CODE: closed lists are enforced (AT701, B104, AK501, IK304 ...)', () => {
    expect(onlyError(in214('LX*1', 'AT7*Q9*NS***20240131*0830*CT')).issue)
      .toMatchObject({ code: 'X12_ELEMENT_INVALID_CODE', segmentId: 'AT7', segmentPosition: 4, loopId: '0205', elementPosition: 1, elementRef: '1650', badValue: 'Q9' });
    expect(onlyError(lines('ST*990*0001', 'B1*ABCD*LOAD1*20240131*Z', 'SE*3*0001')).issue)
      .toMatchObject({ code: 'X12_ELEMENT_INVALID_CODE', segmentId: 'B1', elementPosition: 4, elementRef: '558', badValue: 'Z' });
    expect(onlyError(lines('ST*997*0001', 'AK1*SM*1', 'AK2*204*0001', 'AK5*Q', 'AK9*A*1*1*1', 'SE*6*0001')).issue)
      .toMatchObject({ code: 'X12_ELEMENT_INVALID_CODE', segmentId: 'AK5', segmentPosition: 4, loopId: '2000', elementPosition: 1, elementRef: '717', badValue: 'Q' });
    const bad999 = T999_5010.replace('IK3*N1*5*0100*8', 'IK3*N1*5*0100*I99');
    expect(onlyError(bad999, { version: '005010X231A1' }).issue)
      .toMatchObject({ code: 'X12_ELEMENT_INVALID_CODE', segmentId: 'IK3', segmentPosition: 6, loopId: '2100', elementPosition: 4, elementRef: '620', badValue: 'I99' });
  });

  it('informative (open) code lists accept other values, or warn on request', () => {
    const t = in214('N1*XX*PARTY', 'LX*1', 'AT7*X3*ZZ***20240131*0830*CT');
    expect(check(t).issues).toEqual([]);
    const warned = check(t, {}, { openCodeLists: 'warning' }).issues;
    expect(warned.map((i) => [i.code, i.severity, i.segmentId, i.elementPosition, i.badValue])).toEqual([
      ['X12_ELEMENT_INVALID_CODE', 'warning', 'N1', 1, 'XX'],
      ['X12_ELEMENT_INVALID_CODE', 'warning', 'AT7', 2, 'ZZ'],
    ]);
  });

  it('X12_ELEMENT_CONDITIONAL_MISSING / X12_ELEMENT_EXCLUSION_VIOLATED (syntax notes: warnings by default)', () => {
    const t = in214('N1*SH', 'LX*1', 'AT7*X3*NS*AA*NA*20240131*0830*CT');
    const w = check(t).issues;
    expect(w.every((i) => i.severity === 'warning')).toBe(true);
    expect(w.map((i) => [i.code, i.segmentId, i.elementPosition, i.elementRef])).toEqual([
      ['X12_ELEMENT_CONDITIONAL_MISSING', 'N1', 2, '93'],
      ['X12_ELEMENT_EXCLUSION_VIOLATED', 'AT7', 3, '1652'],
    ]);
    const e = check(t, {}, { syntaxNotes: 'error' }).issues;
    expect(e.map((i) => i.severity)).toEqual(['error', 'error']);
    expect(e[1]).toMatchObject({ segmentPosition: 5, loopId: '0205', badValue: 'AA' });
    expect(check(t, {}, { syntaxNotes: 'ignore' }).issues).toEqual([]);
    // paired and conditional
    const p = check(in214('LX*1', 'AT7*X3****20240131'), {}, { syntaxNotes: 'error' }).issues;
    expect(p.map((i) => [i.code, i.elementPosition])).toEqual([['X12_ELEMENT_CONDITIONAL_MISSING', 2]]);
    const c = check(in214('LX*1', 'AT7*X3*NS****0830'), {}, { syntaxNotes: 'error' }).issues;
    expect(c.map((i) => [i.code, i.elementPosition])).toEqual([['X12_ELEMENT_CONDITIONAL_MISSING', 5]]);
  });

  it('ST02/SE01/SE02 are the reader\'s business; ST03 is checked', () => {
    expect(check(lines('ST*214*1', 'B10*PRO1*BOL1*ABCD', 'SE*X*2')).issues).toEqual([]);
    const { issue: i } = onlyError(T214_5010.replace('ST*214*0001*005010', `ST*214*0001*${'X'.repeat(36)}`), { version: '005010' });
    expect(i).toMatchObject({ code: 'X12_ELEMENT_TOO_LONG', segmentId: 'ST', segmentPosition: 1, elementPosition: 3, elementRef: '1705' });
  });

  it('segments whose layout is not modelled are only checked for control characters', () => {
    expect(check(in214('LX*1', 'Q7*P*PCS*1*ANY*THING*GOES')).issues).toEqual([]);
    expect(onlyError(in214('LX*1', 'Q7*P\u0007')).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_CHARACTER', segmentId: 'Q7', elementPosition: 1 });
  });
});

// ---- where element findings point ------------------------------------------------------------------------

/** Where the first `marker` at or after `from` stands in `text` (ASCII: a char is a byte). */
function locationOf(text: string, marker: string, from = 0): { offset: number; line: number; column: number } {
  const offset = text.indexOf(marker, from);
  expect(offset, `'${marker}' in the text`).toBeGreaterThanOrEqual(0);
  return { offset, line: text.slice(0, offset).split('\n').length, column: offset - text.lastIndexOf('\n', offset - 1) };
}

describe('element findings point at the element, segment findings at the segment', () => {
  const in214 = (...segs: string[]) => lines('ST*214*0001', 'B10*PRO1*BOL1*ABCD', ...segs, `SE*${segs.length + 3}*0001`);

  it('a bad value: at its first character', () => {
    const text = lines('ST*214*0001', 'B10*PRO1*BOL1*ABCDE', 'SE*3*0001');
    expect(onlyError(text).issue).toMatchObject({ code: 'X12_ELEMENT_TOO_LONG', loc: locationOf(text, 'ABCDE') });
    const at7 = in214('LX*1', 'AT7*X3*NS***20241301*0830*CT');
    expect(onlyError(at7).issue).toMatchObject({ code: 'X12_ELEMENT_INVALID_DATE', loc: locationOf(at7, '20241301') });
  });

  it('an empty element: just after its separator', () => {
    const text = lines('ST*214*0001', 'B10*PRO1*BOL1**1', 'SE*3*0001');
    expect(onlyError(text).issue).toMatchObject({ code: 'X12_ELEMENT_MANDATORY_MISSING', elementPosition: 3, loc: locationOf(text, '*1~') });
    const at7 = in214('LX*1', 'AT7*X3****20240131');
    expect(errorsOf(check(at7, {}, { syntaxNotes: 'error' }).issues))
      .toMatchObject([{ code: 'X12_ELEMENT_CONDITIONAL_MISSING', elementPosition: 2, loc: locationOf(at7, '***2024') }]);
  });

  it('a component and a repetition: at that component or repetition', () => {
    const ak4 = T997_4010.replace('AK4*2*93*5*', 'AK4*2>1>3*93*5*');
    expect(onlyError(ak4, { version: '004010' }).issue).toMatchObject({ componentPosition: 3, loc: locationOf(ak4, '3*93') });
    const eleven = Array.from({ length: 11 }, (_, k) => `NAME${k + 1}`).join('^');
    const ctx = T999_5010.replace('CTX*CLM01>123456789', `CTX*${eleven}`);
    expect(onlyError(ctx, { version: '005010X231A1' }).issue).toMatchObject({ repetition: 11, loc: locationOf(ctx, 'NAME11') });
    const long = T999_5010.replace('CTX*CLM01>123456789', `CTX*A^${'B'.repeat(36)}>X`);
    expect(onlyError(long, { version: '005010X231A1' }).issue).toMatchObject({ repetition: 2, componentPosition: 1, loc: locationOf(long, 'BBB') });
  });

  it('a 997 count that disagrees: at the AK9 element', () => {
    const text = lines('ST*997*0001', 'AK1*SM*1', 'AK9*A*3*2*3', 'SE*4*0001');
    expect(onlyError(text).issue).toMatchObject({ code: 'X12_ACK_MALFORMED', elementPosition: 4, loc: locationOf(text, '3~', text.indexOf('AK9')) });
  });

  it('a finding about the segment as a whole stays at the segment', () => {
    const text = in214('LX*1', 'AT8*G*L*1*1', 'AT7*X3*NS***20240131*0830');
    const { issue: i, tx } = onlyError(text);
    expect(i).toMatchObject({ code: 'X12_SEGMENT_OUT_OF_ORDER', loc: tx.segments[4].loc });
  });
});

// ---- repetitions and components ------------------------------------------------------------------------

describe('repetitions and components', () => {
  it('X12_ELEMENT_TOO_MANY_REPETITIONS: a non-repeatable element holding the repetition separator', () => {
    const { issue: i } = onlyError(T997_5010.replace('AK3*N1*5*0100*8', 'AK3*N1*5^6*0100*8'), { version: '005010' });
    expect(i).toMatchObject({ code: 'X12_ELEMENT_TOO_MANY_REPETITIONS', segmentId: 'AK3', segmentPosition: 4, loopId: '2100', elementPosition: 2, repetition: 2, elementRef: '719', badValue: '5^6' });
  });

  it('only when the interchange has a repetition separator (before 00402 the character is data)', () => {
    expect(check(lines('ST*214*0001', 'B10*PRO^1*BOL1*ABCD', 'SE*3*0001'), { version: '004010', repetition: null }).issues).toEqual([]);
    expect(onlyError(lines('ST*214*0001', 'B10*PRO^1*BOL1*ABCD', 'SE*3*0001'), { version: '004010', repetition: '^' }).issue)
      .toMatchObject({ code: 'X12_ELEMENT_TOO_MANY_REPETITIONS', elementPosition: 1, repetition: 2 });
  });

  it('a repeatable element: each repetition checked, more than its maximum reported with the repetition number', () => {
    const eleven = Array.from({ length: 11 }, (_, k) => `NAME${k + 1}`).join('^');
    const { issue: i } = onlyError(T999_5010.replace('CTX*CLM01>123456789', `CTX*${eleven}`), { version: '005010X231A1' });
    expect(i).toMatchObject({ code: 'X12_ELEMENT_TOO_MANY_REPETITIONS', segmentId: 'CTX', segmentPosition: 9, loopId: '2110', elementPosition: 1, repetition: 11, badValue: 'NAME11' });
    const { issue: j } = onlyError(T999_5010.replace('CTX*CLM01>123456789', `CTX*A^${'B'.repeat(36)}>X`), { version: '005010X231A1' });
    expect(j).toMatchObject({ code: 'X12_ELEMENT_TOO_LONG', segmentId: 'CTX', elementPosition: 1, componentPosition: 1, repetition: 2, elementRef: '9999' });
  });

  it('X12_ELEMENT_TOO_MANY_COMPONENTS: more components than the composite has, or components in a simple element', () => {
    const { issue: i } = onlyError(T997_4010.replace('AK4*2*93*5*', 'AK4*2>1>3*93*5*'), { version: '004010' });
    expect(i).toMatchObject({ code: 'X12_ELEMENT_TOO_MANY_COMPONENTS', segmentId: 'AK4', segmentPosition: 7, loopId: '2100', elementPosition: 1, componentPosition: 3, badValue: '3' });
    const { issue: j } = onlyError(lines('ST*214*0001', 'B10*PRO>1*BOL1*ABCD', 'SE*3*0001'));
    expect(j).toMatchObject({ code: 'X12_ELEMENT_TOO_MANY_COMPONENTS', segmentId: 'B10', elementPosition: 1, componentPosition: 2, elementRef: '127', badValue: 'PRO>1' });
  });

  it('components are checked one by one, with their reference numbers', () => {
    const { issue: i } = onlyError(T997_5010.replace('AK4*2>1>3*', 'AK4*>1*'), { version: '005010' });
    expect(i).toMatchObject({ code: 'X12_ELEMENT_MANDATORY_MISSING', segmentId: 'AK4', elementPosition: 1, componentPosition: 1, elementRef: '722' });
    const { issue: j } = onlyError(T997_5010.replace('AK4*2>1>3*', 'AK4*2>X*'), { version: '005010' });
    expect(j).toMatchObject({ code: 'X12_ELEMENT_INVALID_CHARACTER', elementPosition: 1, componentPosition: 2, elementRef: '1528', badValue: 'X' });
    const { issue: k } = onlyError(T999_5010.replace('CTX*CLM01>123456789', 'CTX*CLM01*N1*5**2*C023>1325'), { version: '005010X231A1' });
    expect(k).toMatchObject({ code: 'X12_ELEMENT_INVALID_CHARACTER', segmentId: 'CTX', elementPosition: 6, componentPosition: 1, elementRef: '725', badValue: 'C023' });
  });
});

// ---- 997/999 semantic rules ------------------------------------------------------------------------------

describe('997/999 consistency (ackConsistency)', () => {
  const ack = (ak9: string, ...middle: string[]) => lines('ST*997*0001', 'AK1*SM*1', ...middle, ak9, 'SE*9*0001');

  it('AK901 must agree with the counts', () => {
    expect(onlyError(ack('AK9*R*2*2*1', 'AK2*204*0001', 'AK5*A', 'AK2*204*0002', 'AK5*R*5')).issue)
      .toMatchObject({ code: 'X12_ACK_MALFORMED', segmentId: 'AK9', segmentPosition: 7, elementPosition: 1, elementRef: '715', badValue: 'R' });
    expect(onlyError(ack('AK9*A*2*2*1')).issue).toMatchObject({ code: 'X12_ACK_MALFORMED', elementPosition: 1, badValue: 'A' });
    expect(onlyError(ack('AK9*P*2*2*2')).issue).toMatchObject({ code: 'X12_ACK_MALFORMED', elementPosition: 1, badValue: 'P' });
    expect(check(ack('AK9*P*2*2*1', 'AK2*204*0001', 'AK5*A', 'AK2*204*0002', 'AK5*R*5')).issues).toEqual([]);
    expect(check(ack('AK9*A*1*1*1')).issues).toEqual([]); // AK2 loops are optional when all is accepted
    expect(check(ack('AK9*E*1*1*1', 'AK2*204*0001', 'AK5*E')).issues).toEqual([]);
  });

  it('AK904 may not exceed AK903, and AK5 codes must fit the counts', () => {
    expect(onlyError(ack('AK9*A*3*2*3')).issue).toMatchObject({ code: 'X12_ACK_MALFORMED', elementPosition: 4, elementRef: '2', badValue: '3' });
    expect(onlyError(ack('AK9*R*1*1*0', 'AK2*204*0001', 'AK5*A')).issue).toMatchObject({ code: 'X12_ACK_MALFORMED', elementPosition: 4 });
    expect(onlyError(ack('AK9*A*1*1*1', 'AK2*204*0001', 'AK5*R*5')).issue).toMatchObject({ code: 'X12_ACK_MALFORMED', elementPosition: 4 });
    expect(onlyError(ack('AK9*A*1*1*1', 'AK2*204*0001', 'AK5*A', 'AK2*204*0002', 'AK5*A')).issue).toMatchObject({ code: 'X12_ACK_MALFORMED' });
  });

  it('applies to the 999 with its IK5', () => {
    expect(onlyError(T999_5010.replace('AK9*P*2*2*1', 'AK9*A*2*2*2'), { version: '005010X231A1' }).issue)
      .toMatchObject({ code: 'X12_ACK_MALFORMED', segmentId: 'AK9', elementPosition: 4 });
  });

  it('an empty 997 misses AK1 and AK9', () => {
    const r = check(lines('ST*997*0001*005010X230', 'SE*2*0001'), { version: '005010' });
    expect(r.issues.map((i) => [i.code, i.segmentId, i.segmentPosition])).toEqual([
      ['X12_SEGMENT_MANDATORY_MISSING', 'AK1', 2], ['X12_SEGMENT_MANDATORY_MISSING', 'AK9', 2],
    ]);
  });
});

// ---- robustness ----------------------------------------------------------------------------------------

describe('never throws', () => {
  it('odd transaction objects', () => {
    const odd: unknown[] = [
      { ...makeTx(T214_4010), segments: [] },
      { ...makeTx(T214_4010), segments: [{ id: 'ST', elements: ['ST', '214'], loc: { offset: 0, line: 1, column: 1 }, position: 1 }] },
      { ...makeTx(T214_4010), interchange: null, group: null },
      { ...makeTx(T214_4010), segments: [null, { id: 7 }, { id: 'LX' }] },
      { setId: '214', segments: null, group: { version: '004010' } },
      null,
    ];
    for (const tx of odd) expect(() => validateTransaction(tx as TransactionSet)).not.toThrow();
  });

  it('random segment soups in every set keep producing well-formed issues', () => {
    const pool = ['B10*P*B*ABCD', 'LX*1', 'AT7*X3*NS***20240131*0830', 'N1*SH*X', 'N3*A', 'AK1*SM*1', 'AK2*204*1', 'AK3*N1*1', 'AK4*1>2>3>4',
      'AK5*A', 'AK9*A*1*1*1', 'IK3*N1*1**8', 'IK4*1*2*3', 'CTX*A^B>C', 'IK5*R', 'S5*1*LD', 'L5*1', 'LH1*PK*1', 'OID*1', 'B1*A*B', 'L11*^>*',
      'XX', '', 'Q7', 'B2**X**Y**PP', 'B3**1*2*PP**20240101*1**20240101*035*ABCD', 'LX*A^B*C>D*'];
    const sets = ['204', '210', '214', '990', '997', '999'];
    fc.assert(fc.property(fc.constantFrom(...sets), fc.constantFrom('004010', '004030', '005010'), fc.array(fc.constantFrom(...pool), { maxLength: 30 }),
      (set, version, body) => {
        const text = lines(`ST*${set}*0001`, ...body.filter((b) => b !== ''), 'SE*1*0001');
        const r = validateTransaction(makeTx(text, { version, repetition: '^' }));
        expect(r.schemaChecked).toBe(true);
        for (const i of r.issues) {
          expect(typeof i.code).toBe('string');
          expect(i.segmentPosition).toBeGreaterThan(0);
          expect(i.loc).toBeDefined();
        }
      }), { numRuns: 300 });
  });
});
