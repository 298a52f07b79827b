import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACK_CODES, ackCodeForVersion, ackCodeMeaning } from '../../../src/translators/x12/acks/codes.js';
import { parseFunctionalAck, parseTa1, type FunctionalAckResult } from '../../../src/translators/x12/acks/parse.js';
import type { Delimiters, Segment, TransactionSet } from '../../../src/translators/x12/model.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';
import { corpusDir, corpusExpectations, corpusFile, hasCorpus } from '../../helpers/corpus.js';
import { seg, splitSegments } from './ack-reports.js';
import { isaSegment, STAR as STAR_TEXT } from '../../helpers/x12.js';

const STAR: Delimiters = { element: '*', component: ':', repetition: '^', segment: '~' };

/** A TransactionSet around hand-split segments (for bare corpus sets and hand-made acks). */
function txOf(segments: Segment[], version?: string): TransactionSet {
  return {
    interchange: null,
    group: version
      ? { gs: seg(['GS']), functionalId: 'FA', senderId: 'A', receiverId: 'B', date: '20250101', time: '1200', control: '1', agency: 'X', version }
      : null,
    setId: segments[0]?.elements[1] ?? '',
    control: segments[0]?.elements[2] ?? '',
    segments,
    complete: segments.at(-1)?.id === 'SE',
    issues: [],
    index: 1,
  };
}

function parseText(text: string, d: Delimiters = STAR, version?: string): FunctionalAckResult {
  return parseFunctionalAck(txOf(splitSegments(text, d), version), d);
}

interface Read {
  acks: FunctionalAckResult[];
  ta1s: ReturnType<typeof parseTa1>[];
}

function readCorpus(rel: string): Read {
  const out: Read = { acks: [], ta1s: [] };
  for (const e of readX12Sync(corpusFile(rel))) {
    if (e.type === 'transaction' && e.transaction.interchange) out.acks.push(parseFunctionalAck(e.transaction, e.transaction.interchange.delimiters));
    if (e.type === 'ta1') out.ta1s.push(parseTa1(e.segment));
  }
  return out;
}

const ackFiles = hasCorpus
  ? ['997', '999', 'ta1'].flatMap((dir) => (existsSync(`${corpusDir}${dir}`) ? readdirSync(`${corpusDir}${dir}`).map((f) => `${dir}/${f}`) : []))
  : [];

describe.skipIf(!hasCorpus)('corpus acknowledgments', () => {
  const expected = corpusExpectations();

  it('every 997/999/TA1 file parses without throwing, and well-formed ones without problems', () => {
    // files whose acknowledgment content itself is broken (not just their envelope)
    const brokenInside = new Set([
      '997/staedi__empty997.edi',
      '997/staedi__extraDelimiter997.edi',
      '997/staedi__invalid997.edi',
      '997/staedi__invalid997_min.edi',
      '999/staedi__invalid999.edi',
    ]);
    expect(ackFiles.length).toBeGreaterThan(20);
    for (const rel of ackFiles) {
      const bare = corpusFile(rel).toString('latin1').trimStart().startsWith('ST');
      const { acks, ta1s } = bare ? { acks: [parseText(corpusFile(rel).toString('latin1'))], ta1s: [] } : readCorpus(rel);
      expect(acks.length + ta1s.length, rel).toBeGreaterThan(0);
      const results = [...acks, ...ta1s];
      if (brokenInside.has(rel)) {
        expect(results.some((r) => !r.valid), rel).toBe(true);
        for (const r of results) for (const p of r.problems) expect(p.code).toBe('X12_ACK_MALFORMED');
      } else if (expected[rel]?.verdict === 'accept') {
        for (const r of results) expect(r.problems, rel).toEqual([]);
      }
    }
  });

  it('edifabric 997: AK9 R 2/2/1, the second 810 rejected with AK3 TXI and AK4 code 7', () => {
    const [ack] = readCorpus('997/edifabric__997.edi').acks;
    expect(ack.type).toBe('997');
    expect(ack.group).toEqual({ functionalId: 'IN', control: '000000001' });
    expect(ack.groupStatus).toMatchObject({ state: 'rejected', code: 'R', included: 2, received: 2, accepted: 1, codes: [] });
    expect(ack.transactions.map((t) => t.state)).toEqual(['accepted', 'rejected']);
    expect(ack.transactions[1].codes).toEqual([{ code: '5', meaning: 'One or More Segments in Error' }]);
    expect(ack.transactions[1].segmentErrors).toEqual([
      {
        segmentId: 'TXI',
        position: 54,
        code: '8',
        meaning: 'Segment Has Data Element Errors',
        context: [],
        elementErrors: [{ position: 1, ref: '963', code: '7', meaning: 'Invalid Code Value', badValue: 'C1', context: [] }],
      },
    ]);
    // R with one accepted set is not how AK9 should say "partially accepted"; and the two AK2 share a control
    expect(ack.valid).toBe(true);
    expect(ack.problems.map((p) => p.severity)).toEqual(['warning', 'warning']);
  });

  it('gtlogistics 997: whole group accepted without AK2 loops', () => {
    const [ack] = readCorpus('997/gtlogistics__997.edi').acks;
    expect(ack).toMatchObject({ type: '997', group: { functionalId: 'SM', control: '1' }, transactions: [], valid: true });
    expect(ack.groupStatus).toMatchObject({ state: 'accepted', included: 1, received: 1, accepted: 1 });
  });

  it('5010 997 (stupidedi): AK103, partial acceptance, AK4 without bad value', () => {
    const [ack] = readCorpus('997/stupidedi__005010_X230_response-to-837s.edi').acks;
    expect(ack.group).toEqual({ functionalId: 'HC', control: '17456', version: '005010' });
    expect(ack.groupStatus?.state).toBe('partially-accepted');
    expect(ack.transactions[1].segmentErrors[0]).toMatchObject({ segmentId: 'CLM', position: 22, code: '8', elementErrors: [{ position: 1, ref: '1028', code: '1', meaning: 'Mandatory Data Element Missing' }] });
  });

  it('the NAK-terminated bots 997 and the multi-interchange StAEDI file', () => {
    expect(readCorpus('997/bots__997-004010VICS-01.edi').acks[0]).toMatchObject({ group: { functionalId: 'PR', control: '10001' }, transactions: [{ setId: '855', control: '1294', state: 'accepted' }] });
    const multi = readCorpus('997/staedi__simple997-multiple-interchanges.edi').acks;
    expect(multi).toHaveLength(3);
    for (const a of multi) expect(a.transactions[0].segmentErrors[0].elementErrors[0]).toMatchObject({ position: 8, ref: '66', code: '7', badValue: 'MI' });
  });

  it('999 (StAEDI simple): IK3/IK4/IK5 and CTX at segment level, with repetitions and composites', () => {
    const [ack] = readCorpus('999/staedi__simple999.edi').acks;
    expect(ack.type).toBe('999');
    expect(ack.group).toEqual({ functionalId: 'HC', control: '17456', version: '005010X222' });
    expect(ack.groupStatus).toMatchObject({ code: 'P', included: 3, received: 3, accepted: 1 });
    const [, t2, t3] = ack.transactions;
    expect(t2.segmentErrors[0]).toMatchObject({
      segmentId: 'CLM',
      position: 22,
      code: '8',
      context: [{ names: [{ name: 'CLM01', reference: '123456789' }] }],
      elementErrors: [{ position: 2, ref: '782', code: '1', context: [] }],
    });
    expect(t3.segmentErrors[0]).toMatchObject({ segmentId: 'REF', position: 57, code: '3', meaning: 'Mandatory Segment Missing' });
    expect(t3.segmentErrors[0].context).toEqual([
      {
        names: [{ name: 'SITUATIONAL TRIGGER' }, { name: 'SITUATIONAL TRIGGER', reference: '2' }, { name: 'SITUATIONAL TRIGGER', reference: '3' }],
        segmentId: 'CLM',
        segmentPosition: 43,
        elementPosition: 5,
        componentPosition: 3,
        elementRef: '1325',
      },
      { names: [{ name: 'CLM01', reference: '987654321' }] },
    ]);
  });

  it('999 (imsweb rejected): IK3 code 1 and IK5 R 5', () => {
    const [ack] = readCorpus('999/imsweb__x12_999_rejected.edi').acks;
    expect(ack.transactions).toEqual([
      {
        setId: '837',
        control: '0028',
        state: 'rejected',
        statusCode: 'R',
        statusMeaning: 'Rejected',
        codes: [{ code: '5', meaning: 'One or More Segments in Error' }],
        segmentErrors: [{ segmentId: 'NM', position: 17, code: '1', meaning: 'Unrecognized Segment ID', context: [], elementErrors: [] }],
      },
    ]);
  });

  it('999 (StAEDI invalid): problems are listed, nothing thrown', () => {
    const [ack] = readCorpus('999/staedi__invalid999.edi').acks;
    expect(ack.valid).toBe(false);
    const messages = ack.problems.map((p) => p.message).join('\n');
    expect(messages).toMatch(/IK5 without an AK2/);
    expect(messages).toMatch(/AK1 is not the first segment/);
    expect(messages).toMatch(/IK501 status "Q"/);
    expect(ack.transactions).toHaveLength(3);
  });

  it('997 (StAEDI extra delimiters): repetitions where none belong are problems', () => {
    const [ack] = readCorpus('997/staedi__extraDelimiter997.edi').acks;
    expect(ack.valid).toBe(false);
    expect(ack.problems.find((p) => p.severity === 'error')).toMatchObject({ code: 'X12_ACK_MALFORMED', segmentId: 'AK3', elementPosition: 2 });
  });

  it('bare 997 sets (x12-types) through a local splitter: AK5 with two codes, AK9 with AK905', () => {
    const one = parseText(corpusFile('997/x12types__test_997_1_boomi.edi').toString('utf8'));
    expect(one.transactions[0].codes.map((c) => c.code)).toEqual(['4', '5']);
    expect(one.transactions[0].segmentErrors.map((s) => [s.segmentId, s.position, s.elementErrors[0].badValue])).toEqual([
      ['REF', 3, 'BM'],
      ['REF', 4, 'DP'],
    ]);
    const two = parseText(corpusFile('997/x12types__test_997_2_boomi.edi').toString('utf8'));
    expect(two.groupStatus).toMatchObject({ state: 'rejected', accepted: 0, codes: [{ code: '5', meaning: 'Number of Included Transaction Sets Does Not Match Actual Count' }] });
    expect(two.valid).toBe(true);
  });

  it('TA1 (StAEDI): control, date, time, status and note with meanings', () => {
    const { ta1s, acks } = readCorpus('ta1/staedi__x12_interchange_ack.edi');
    expect(acks).toEqual([]);
    expect(ta1s).toEqual([
      {
        control: '000000050',
        date: '200229',
        time: '1200',
        state: 'accepted',
        statusCode: 'A',
        statusMeaning: ACK_CODES.I17.A,
        noteCode: '000',
        noteMeaning: 'No error',
        problems: [],
        valid: true,
      },
    ]);
  });
});

describe('hand-made acknowledgments', () => {
  it('997 4010: accepted with errors, 718 meanings follow the version', () => {
    const text = 'ST*997*0001~AK1*SM*7~AK2*204*0001~AK3*N1*5*0100*8~AK4*2:1*98*7*XX~AK5*E*19~AK9*E*1*1*1~SE*8*0001~';
    const r4 = parseText(text, STAR, '004010');
    expect(r4.transactions[0]).toMatchObject({ state: 'accepted-with-errors', codes: [{ code: '19', meaning: 'S1E Security End Segment Missing for S1S Security Start Segment' }] });
    expect(r4.transactions[0].segmentErrors[0]).toMatchObject({ loopId: '0100', elementErrors: [{ position: 2, component: 1, ref: '98', badValue: 'XX' }] });
    expect(r4.groupStatus?.state).toBe('accepted-with-errors');
    const r5 = parseText(text.replace('AK1*SM*7', 'AK1*SM*7*005010'), STAR);
    expect(r5.transactions[0].codes[0].meaning).toBe('Invalid Transaction Set Implementation Convention Reference');
  });

  it('999 implementation codes (620/621/618)', () => {
    const r = parseText('ST*999*0001*005010X231A1~AK1*SM*7*005010~AK2*204*0001~IK3*N1*5**I4~IK4*3**I12*ABC~CTX*SITUATIONAL TRIGGER*N1*5**3~IK5*R*I5~AK9*R*1*1*0~SE*9*0001~');
    expect(r.problems).toEqual([]);
    const s = r.transactions[0].segmentErrors[0];
    expect(s).toMatchObject({ code: 'I4', meaning: 'Implementation "Not Used" Segment Present' });
    expect(s.elementErrors[0]).toMatchObject({ position: 3, code: 'I12', meaning: 'Implementation Pattern Match Failure', context: [{ names: [{ name: 'SITUATIONAL TRIGGER' }], segmentId: 'N1', segmentPosition: 5, elementPosition: 3 }] });
    expect(r.transactions[0].codes).toEqual([{ code: 'I5', meaning: 'Implementation One or More Segments in Error' }]);
  });

  it('malformed 997s come back with problems, not exceptions', () => {
    const cases: Array<[string, RegExp]> = [
      ['ST*997*0001~AK9*A*1*1*1~SE*3*0001~', /no AK1/],
      ['ST*997*0001~AK1*SM*7~AK2*204*0001~SE*4*0001~', /has no AK5[\s\S]*no AK9/],
      ['ST*997*0001~AK1*SM*7~AK4*1**7~AK9*R*1*1*0~SE*5*0001~', /AK4 without a preceding AK3/],
      ['ST*997*0001~AK1*SM*7~AK2*204*0001~AK5*Z~AK9*R*1*1*0~SE*6*0001~', /AK501 status "Z"/],
      ['ST*997*0001~AK1*SM*7~AK2*204*0001~AK5*A~AK9*A*1*X*1~SE*6*0001~', /AK903 .* is not a number/],
      ['ST*997*0001~AK1*SM*7~AK2*204*0001~AK5*A~AK2*204*0002~AK5*A~AK9*A*1*1*1~SE*8*0001~', /2 AK2 loops but AK903 says 1/],
      ['ST*997*0001~AK1*SM*7~CTX*X~AK9*A*0*0*0~SE*5*0001~', /CTX in a 997/],
      ['ST*997*0001~AK1*SM*7~AK9*A*0*0*0~N1*X~SE*5*0001~', /N1 after AK9/],
      ['ST*997*0001~AK1*SM*7~AK2*204*0001~AK3*N1**~AK5*R~AK9*R*1*1*0~SE*7*0001~', /AK302 .* is missing/],
      ['ST*204*0001~B2*X~SE*3*0001~', /not a 997 or 999/],
      ['ST*997*0001~AK1*SM*7~AK2*204*0001~', /truncated/],
    ];
    for (const [text, re] of cases) {
      const r = parseText(text);
      expect(r.valid, text).toBe(false);
      expect(r.problems.map((p) => p.message).join('\n'), text).toMatch(re);
      expect(r.problems.every((p) => p.code === 'X12_ACK_MALFORMED')).toBe(true);
    }
    expect(parseText('ST*997*0001~AK1*SM*7~AK2*204*0001~AK5*A*5~AK9*A*1*1*1*77~SE*6*0001~').problems.map((p) => [p.severity, p.message])).toEqual([
      ['warning', 'AK5 accepts the transaction set but lists error codes'],
      ['warning', 'AK905 code "77" is not in code list 716'],
    ]);
  });

  it('an AK5 R without a reason is explained by AK9 R with AK905 codes (a set rejected with its group), else a warning', () => {
    const withGroupCode = parseText('ST*997*0001~AK1*SM*7~AK2*204*0001~AK5*R~AK9*R*2*1*0*5~SE*6*0001~');
    expect(withGroupCode.problems).toEqual([]);
    expect(withGroupCode.transactions[0].state).toBe('rejected');
    const bare = parseText('ST*997*0001~AK1*SM*7~AK2*204*0001~AK5*R~AK9*R*1*1*0~SE*6*0001~');
    expect(bare.problems.map((p) => [p.severity, p.message, p.segmentId])).toEqual([['warning', 'AK5 rejects the transaction set without saying why', 'AK5']]);
    const noAk9 = parseText('ST*997*0001~AK1*SM*7~AK2*204*0001~AK5*R~SE*5*0001~');
    expect(noAk9.problems.map((p) => p.message)).toEqual(['AK5 rejects the transaction set without saying why', 'no AK9 (the group status is unknown)']);
  });

  it('TA1: rejected with a note code, and malformed ones', () => {
    expect(parseTa1(seg(['TA1', '000000042', '250101', '1200', 'R', '022']))).toMatchObject({
      state: 'rejected',
      noteCode: '022',
      noteMeaning: 'Invalid Control Structure',
      valid: true,
    });
    const bad = parseTa1(seg(['TA1', '42', '2025-01-01', '', 'Q', '999']));
    expect(bad.valid).toBe(false);
    expect(bad.state).toBe('unknown');
    expect(bad.problems.map((p) => p.elementPosition)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a problem with an element points at the element (line, column, offset), others at their segment', () => {
    const text = [isaSegment(STAR_TEXT), 'TA1*000000042*2025-01-01*1200*A*000', 'GS*FA*A*B*20250101*1200*1*X*004010',
      'ST*997*0001', 'AK1*FA*X1', 'AK9*A*0*0*0', 'SE*4*0001', 'GE*1*1', 'IEA*1*000000001', ''].join('~\n');
    const where = (marker: string) => {
      const offset = text.indexOf(marker);
      return { offset, line: text.slice(0, offset).split('\n').length, column: offset - text.lastIndexOf('\n', offset) };
    };
    const events = [...readX12Sync(Buffer.from(text))];
    const ta1 = events.find((e) => e.type === 'ta1');
    const tx = events.find((e) => e.type === 'transaction');
    if (ta1?.type !== 'ta1' || tx?.type !== 'transaction') throw new Error('no TA1 or 997 read');
    const delimiters = tx.transaction.interchange!.delimiters;
    expect(parseTa1(ta1.segment, delimiters).problems).toMatchObject([{ elementPosition: 2, loc: where('2025-01-01') }]);
    expect(parseTa1(ta1.segment).problems).toMatchObject([{ elementPosition: 2, loc: ta1.segment.loc }]); // no delimiters: the segment
    const ack = parseFunctionalAck(tx.transaction, delimiters);
    expect(ack.problems.map((p) => [p.elementPosition, p.loc])).toEqual([[2, where('X1~')]]);
    const truncated = parseFunctionalAck({ ...tx.transaction, complete: false }, delimiters);
    expect(truncated.problems.find((p) => p.message.includes('truncated'))?.loc).toEqual(tx.transaction.segments.at(-1)!.loc);
  });

  it('the code table covers TA105 000-031 and the 997/999 lists', () => {
    for (let i = 0; i <= 31; i++) expect(ackCodeMeaning('I18', String(i).padStart(3, '0'))).toBeTruthy();
    expect(ackCodeMeaning('I18', '032')).toBeUndefined();
    for (const c of ['1', '2', '3', '4', '5', '6', '7', '8']) expect(ackCodeMeaning('720', c)).toBeTruthy();
    for (const c of ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '12', '13']) expect(ackCodeMeaning('723', c)).toBeTruthy();
    expect(ackCodeMeaning('723', '11')).toBeUndefined();
    expect(ackCodeMeaning('720', 'I4')).toBeUndefined();
    expect(ackCodeMeaning('715', 'P')).toBeTruthy();
    expect(ackCodeMeaning('717', 'P')).toBeUndefined();
    expect(ackCodeMeaning('718', '18', '004010')).toBeUndefined();
    expect(ackCodeMeaning('716', '19')).toBe('Functional Group Control Number not Unique within Interchange');
  });
});

describe('codes per release', () => {
  it('ackCodeForVersion: a later code becomes the nearest one the version has', () => {
    expect(ackCodeForVersion('716', '19', '005010')).toBe('19');
    expect(ackCodeForVersion('716', '19', '004010VICS')).toBe('6');
    expect(ackCodeForVersion('723', '13', '004010')).toBe('6');
    expect(ackCodeForVersion('723', '12', '004020')).toBe('12');
    expect(ackCodeForVersion('718', '18', '004010')).toBeNull();
    expect(ackCodeForVersion('718', '19', '004010')).toBe('6');
    expect(ackCodeForVersion('718', '5', '004010')).toBe('5');
    expect(ackCodeForVersion('621', '13', '005010X231A1')).toBe('13');
  });

  it('ackCodeMeaning with a version leaves out the codes of later releases', () => {
    expect(ackCodeMeaning('716', '19', '004010')).toBeUndefined();
    expect(ackCodeMeaning('716', '19', '005010')).toBeTruthy();
    expect(ackCodeMeaning('723', '13', '004010')).toBeUndefined();
    expect(ackCodeMeaning('723', '13', '004030')).toBe('Too Many Components');
    expect(ackCodeMeaning('718', '19', '004010')).toBe('S1E Security End Segment Missing for S1S Security Start Segment');
  });
});
