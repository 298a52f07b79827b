import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { x12Date, x12Time, zonedIso } from '../../../src/mappings/transforms.js';
import { buildAcks, interchangeAckStatus, maxFunctionalAcks, type BuildAcksOptions } from '../../../src/translators/x12/acks/build.js';
import { parseFunctionalAck, parseTa1 } from '../../../src/translators/x12/acks/parse.js';
import type { InterchangeReport } from '../../../src/translators/x12/model.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';
import { validateTransaction } from '../../../src/translators/x12/validate-transaction.js';
import { corpusDir, corpusFile, hasCorpus } from '../../helpers/corpus.js';
import { D5010, group, interchange, iss, reportsFromEvents, seg, tx } from './ack-reports.js';

const NOW = new Date(Date.UTC(2025, 0, 2, 9, 30, 0));
const base: BuildAcksOptions = { now: NOW, controls: { interchange: 900, group: 900, transaction: 1 }, suffix: '\n' };
const lines = (...l: string[]): string => l.map((x) => `${x}\n`).join('');

const ISA4010 = 'ISA*00*          *00*          *01*WAYBILL        *ZZ*PARTNER        *250102*0930*U*00401*000000900*0*P*>~';
const GS4010 = 'GS*FA*WAYBILLAPP*PARTNERAPP*20250102*0930*900*X*004010~';

function body(text: string | null): string[] {
  // the lines between GS and GE
  const all = (text ?? '').split('\n');
  return all.slice(all.findIndex((l) => l.startsWith('ST')), all.findIndex((l) => l.startsWith('GE')));
}

describe('997 from hand-made reports', () => {
  it('accepted: AK1, AK2/AK5 A, AK9 A; envelope swaps sender and receiver', () => {
    const r = buildAcks(interchange([group('SM', '1', '004010', [tx('204', '0001')])]), base);
    expect(r.text).toBe(
      lines(ISA4010, GS4010, 'ST*997*0001~', 'AK1*SM*1~', 'AK2*204*0001~', 'AK5*A~', 'AK9*A*1*1*1~', 'SE*6*0001~', 'GE*1*900~', 'IEA*1*000000900~'),
    );
    expect(r.ta1).toBeNull();
    expect(r.interchangeStatus).toBe('A');
    expect(r.functional).toHaveLength(1);
    expect(r.functional[0]).toMatchObject({
      type: '997',
      version: '004010',
      status: 'A',
      control: '0001',
      groupControl: '900',
      counts: { included: 1, received: 1, accepted: 1 },
      acknowledges: { functionalId: 'SM', control: '1', version: '004010' },
    });
    expect(r.functional[0].segments[0]).toEqual(['ST', '997', '0001']);
    expect(r.functional[0].segments.at(-1)).toEqual(['SE', '6', '0001']);
  });

  it('accepted with errors: a warning that maps to an ack code gives AK5 E and AK9 E; unmapped warnings are ignored', () => {
    const t = tx('204', '0001', [
      iss('X12_TRANSACTION_NOT_SUPPORTED'),
      iss('X12_ELEMENT_INVALID_CODE', { severity: 'warning', segmentId: 'N1', segmentPosition: 5, elementPosition: 1, elementRef: '98', badValue: 'XX' }),
    ]);
    const r = buildAcks(interchange([group('SM', '1', '004010', [t], [iss('X12_GROUP_VERSION_UNSUPPORTED')])]), base);
    expect(body(r.text)).toEqual(['ST*997*0001~', 'AK1*SM*1~', 'AK2*204*0001~', 'AK3*N1*5**8~', 'AK4*1*98*7*XX~', 'AK5*E*5~', 'AK9*E*1*1*1~', 'SE*8*0001~']);
    const quiet = buildAcks(interchange([group('SM', '1', '004010', [tx('204', '0001', [iss('X12_TRANSACTION_NOT_SUPPORTED')])])]), base);
    expect(body(quiet.text)).toContain('AK5*A~');
    expect(body(quiet.text)).toContain('AK9*A*1*1*1~');
  });

  it('rejected by a segment error: AK3 with position, loop id and the catalogue ak304', () => {
    const t = tx('204', '0001', [iss('X12_SEGMENT_MANDATORY_MISSING', { segmentId: 'S5', segmentPosition: 4, loopId: '0300' })]);
    const r = buildAcks(interchange([group('SM', '1', '004010', [t])]), base);
    expect(body(r.text)).toEqual(['ST*997*0001~', 'AK1*SM*1~', 'AK2*204*0001~', 'AK3*S5*4*0300*3~', 'AK5*R*5~', 'AK9*R*1*1*0~', 'SE*7*0001~']);
    expect(r.functional[0].transactions).toEqual([{ setId: '204', control: '0001', status: 'R', codes: ['5'], listed: true }]);
  });

  const elementIssues = () => [
    iss('X12_ELEMENT_INVALID_CODE', { segmentId: 'AT7', segmentPosition: 6, loopId: '0205', elementPosition: 1, componentPosition: 2, repetition: 2, elementRef: '1650', badValue: 'Z*9~' }),
    iss('X12_SEGMENT_HAS_ELEMENT_ERRORS', { segmentId: 'AT7', segmentPosition: 6, loopId: '0205' }),
    iss('X12_ELEMENT_TOO_LONG', { segmentId: 'AT7', segmentPosition: 6, loopId: '0205', elementPosition: 5, elementRef: '373', badValue: '202501011' }),
    iss('X12_ELEMENT_MANDATORY_MISSING', { segmentId: 'N1', segmentPosition: 3, elementPosition: 2, elementRef: '93' }),
    iss('X12_SE_COUNT_MISMATCH'),
  ];

  it('rejected by element errors (4010): one AK3 per segment, AK4 with composite position, AK404 without delimiters, AK502 codes', () => {
    const r = buildAcks(interchange([group('QM', '12', '004010VICS', [tx('214', '0002', elementIssues())])]), base);
    expect(body(r.text)).toEqual([
      'ST*997*0001~',
      'AK1*QM*12~',
      'AK2*214*0002~',
      'AK3*N1*3**8~',
      'AK4*2*93*1~',
      'AK3*AT7*6*0205*8~',
      'AK4*1>2*1650*7*Z 9~',
      'AK4*5*373*5*202501011~',
      'AK5*R*4*5~',
      'AK9*R*1*1*0~',
      'SE*11*0001~',
    ]);
    expect(r.functional[0].version).toBe('004010');
    const ak4 = r.functional[0].segments.find((s) => s[0] === 'AK4' && s[2] === '1650');
    expect(ak4).toEqual(['AK4', ['1', '2'], '1650', '7', 'Z 9']);
  });

  it('rejected by element errors (5010): AK103, AK203 and the repetition in AK401', () => {
    const t = tx('214', '0002', elementIssues(), { implementationRef: '005010X999' });
    const r = buildAcks(interchange([group('QM', '12', '005010', [t])], { version: '00501' }), base);
    const b = body(r.text);
    expect(b.slice(0, 3)).toEqual(['ST*997*0001~', 'AK1*QM*12*005010~', 'AK2*214*0002*005010X999~']);
    expect(b).toContain('AK4*1:2:2*1650*7*Z 9~');
    expect(r.text?.split('\n')[0]).toBe('ISA*00*          *00*          *01*WAYBILL        *ZZ*PARTNER        *250102*0930*^*00501*000000900*0*P*:~');
  });

  it('partial acceptance and group errors: AK9 P, AK9 R with AK905 codes from the catalogue', () => {
    const bad = tx('204', '0002', [iss('X12_SE_CONTROL_MISMATCH')]);
    const p = buildAcks(interchange([group('SM', '1', '004010', [tx('204', '0001'), bad])]), base);
    expect(body(p.text)).toEqual(['ST*997*0001~', 'AK1*SM*1~', 'AK2*204*0001~', 'AK5*A~', 'AK2*204*0002~', 'AK5*R*3~', 'AK9*P*2*2*1~', 'SE*8*0001~']);

    const g = group('SM', '5', '004010', [tx('204', '0001'), tx('204', '0002')], [iss('X12_GE_COUNT_MISMATCH'), iss('X12_GE_CONTROL_MISMATCH'), iss('X12_GE_COUNT_MISMATCH')], 3);
    const r = buildAcks(interchange([g]), base);
    expect(body(r.text)).toContain('AK9*R*3*2*0*5*4~');
    expect(r.functional[0]).toMatchObject({ status: 'R', groupCodes: ['5', '4'], counts: { included: 3, received: 2, accepted: 0 } });

    const empty = buildAcks(interchange([group('SM', '6', '004010', [], [], 0)]), base);
    expect(body(empty.text)).toEqual(['ST*997*0001~', 'AK1*SM*6~', 'AK9*A*0*0*0~', 'SE*4*0001~']);
  });

  it('leaves out the optional elements and the AK4s whose inbound values the 997 cannot hold', () => {
    const t = tx('214', '0002', [
      // AK401 element position is N0 1/2: position 120 (a segment of 120 elements) cannot be written
      iss('X12_ELEMENT_TOO_MANY', { segmentId: 'AT7', segmentPosition: 6, loopId: '0205LONGER', elementPosition: 120, badValue: 'X' }),
      iss('X12_ELEMENT_INVALID_CODE', { segmentId: 'AT7', segmentPosition: 6, loopId: '0205LONGER', elementPosition: 1, elementRef: '1650X', badValue: 'ZZ' }),
    ], { implementationRef: 'X'.repeat(36) });
    const g = group('QM', '0000000012', '005010' + 'X'.repeat(7), [t]);
    const r = buildAcks(interchange([g], { version: '00501' }), base);
    // AK102: a 10-digit GS06 is the number 12; AK103 (1/12), AK203 (1/35), AK303 (1/4), AK402 (N0 1/4) left out
    expect(body(r.text)).toEqual(['ST*997*0001~', 'AK1*QM*12~', 'AK2*214*0002~', 'AK3*AT7*6**8~', 'AK4*1**7*ZZ~', 'AK5*R*5~', 'AK9*R*1*1*0~', 'SE*8*0001~']);
    expect(r.notes.join('\n')).toMatch(/1 element error\(s\) of segment AT7 at position 6 have positions AK401 cannot hold/);
    // a 4010 997 allows a 6-character loop id
    const r4 = buildAcks(interchange([group('QM', '12', '004010', [tx('214', '0002', [iss('X12_SEGMENT_UNEXPECTED', { segmentId: 'AT7', segmentPosition: 6, loopId: '0205AB' })])])]), base);
    expect(body(r4.text)).toContain('AK3*AT7*6*0205AB*2~');
  });

  it('AK404 is cut to 99 characters, never through a surrogate pair; a lone surrogate is replaced', () => {
    const t = tx('204', '0001', [
      iss('X12_ELEMENT_TOO_LONG', { segmentId: 'N1', segmentPosition: 2, elementPosition: 2, badValue: `${'x'.repeat(98)}😀😀` }),
      iss('X12_ELEMENT_INVALID_CHARACTER', { segmentId: 'N1', segmentPosition: 2, elementPosition: 3, badValue: 'A\ud83dB' }),
    ]);
    const r = buildAcks(interchange([group('SM', '1', '004010', [t])]), base);
    expect(body(r.text).filter((l) => l.startsWith('AK4'))).toEqual([`AK4*2**5*${'x'.repeat(98)}😀~`, 'AK4*3**6*A B~']);
  });

  it('includeAccepted: false lists only transactions with findings', () => {
    const g = group('SM', '1', '004010', [tx('204', '0001'), tx('204', '0002', [iss('X12_SE_MISSING')]), tx('204', '0003')]);
    const r = buildAcks(interchange([g]), { ...base, policy: { includeAccepted: false } });
    expect(body(r.text)).toEqual(['ST*997*0001~', 'AK1*SM*1~', 'AK2*204*0002~', 'AK5*R*2~', 'AK9*P*3*3*2~', 'SE*6*0001~']);
  });

  it('writes with the inbound delimiters by default, replacing delimiters found in echoed values', () => {
    const pipe = { element: '|', component: '^', repetition: null, segment: '\n' };
    const t = tx('204', '0001', [iss('X12_ELEMENT_INVALID_CHARACTER', { segmentId: 'N1', segmentPosition: 2, elementPosition: 2, badValue: 'A|B^C\nD' + 'x'.repeat(120) })]);
    const r = buildAcks(interchange([group('SM', '1', '004010', [t])], { delimiters: pipe }), { now: NOW, controls: base.controls });
    expect(r.text?.startsWith('ISA|00|')).toBe(true);
    const ak4 = r.text?.split('\n').find((l) => l.startsWith('AK4'));
    expect(ak4).toBe(`AK4|2||6|A B C D${'x'.repeat(92)}`);
  });

  it('uses our identity when given and numbers several FA groups and sets from the reserved blocks', () => {
    const report = interchange([
      group('SM', '1', '004010', [tx('204', '0001')]),
      group('QM', '2', '005010', [tx('214', '0001')]),
      group('IM', '3', '004010', [tx('210', '0001')]),
    ]);
    const r = buildAcks(report, {
      ...base,
      sender: { qualifier: 'ZZ', id: 'OURID', applicationId: 'OURAPP' },
      controls: { interchange: '000000077', group: '41', transaction: '00000099' },
    });
    const text = r.text ?? '';
    expect(text.split('\n')[0]).toContain('*ZZ*OURID          *ZZ*PARTNER        *');
    expect(text.split('\n').filter((l) => l.startsWith('GS') || l.startsWith('ST') || l.startsWith('GE') || l.startsWith('IEA'))).toEqual([
      'GS*FA*OURAPP*PARTNERAPP*20250102*0930*41*X*004010~',
      'ST*997*00000099~',
      'ST*997*00000100~',
      'GE*2*41~',
      'GS*FA*OURAPP*PARTNERAPP*20250102*0930*42*X*005010~',
      'ST*997*00000101~',
      'GE*1*42~',
      'IEA*2*000000077~',
    ]);
    expect(r.functional.map((f) => [f.acknowledges.control, f.groupControl, f.control])).toEqual([
      ['1', '41', '00000099'],
      ['3', '41', '00000100'],
      ['2', '42', '00000101'],
    ]);
    const fn = buildAcks(report, { ...base, controls: { interchange: 1, group: (i) => 500 + i * 10, transaction: (i) => `T${i}XYZ` } });
    expect(fn.functional.map((f) => [f.groupControl, f.control])).toEqual([
      ['500', 'T0XYZ'],
      ['500', 'T1XYZ'],
      ['510', 'T2XYZ'],
    ]);
  });

  it('partner identity override (for an inbound envelope too broken to answer to)', () => {
    const r = buildAcks(interchange([group('SM', '1', '004010', [tx('204', '0001')])]), { ...base, partner: { qualifier: '02', id: 'SCAC', applicationId: 'SCACAPP' } });
    const [isaLine, gsLine] = (r.text ?? '').split('\n');
    expect(isaLine).toContain('*01*WAYBILL        *02*SCAC           *');
    expect(gsLine).toBe('GS*FA*WAYBILLAPP*SCACAPP*20250102*0930*900*X*004010~');
  });

  it('version override: a 4010 group acknowledged with a 5010 997', () => {
    const r = buildAcks(interchange([group('SM', '1', '004010', [tx('204', '0001')])]), { ...base, policy: { version: '005010' } });
    expect(body(r.text)).toContain('AK1*SM*1*004010~');
    expect(r.functional[0].version).toBe('005010');
  });

  it('test interchanges get test acks', () => {
    const r = buildAcks(interchange([group('SM', '1', '004010', [tx('204', '0001')])], { usage: 'T' }), base);
    expect(r.text?.split('\n')[0].slice(-5)).toBe('*T*>~');
  });

  it('needs group and transaction controls only when a 997 is produced', () => {
    const report = interchange([group('SM', '1', '004010', [tx('204', '0001')])]);
    expect(() => buildAcks(report, { now: NOW, controls: { interchange: 1 } })).toThrow(/controls.group/);
    const ta1Only = buildAcks(report, { now: NOW, controls: { interchange: 1 }, policy: { ta1: 'always', functional: 'none' } });
    expect(ta1Only.text).toContain('TA1*000000123*250101*1200*A*000~');
    expect(ta1Only.functional).toEqual([]);
  });
});

describe('TA1', () => {
  it('TA1 with 000 when ISA14 asks for one, next to the 997', () => {
    const r = buildAcks(interchange([group('SM', '1', '004010', [tx('204', '0001')])], { ackRequested: true }), base);
    expect(r.ta1).toEqual({ status: 'A', noteCode: '000', segment: ['TA1', '000000123', '250101', '1200', 'A', '000'] });
    const l = (r.text ?? '').split('\n');
    expect(l[1]).toBe('TA1*000000123*250101*1200*A*000~');
    expect(l[2]).toBe(GS4010);
    expect(l.at(-2)).toBe('IEA*1*000000900~');
  });

  it('TA1 R with the first interchange issue\'s ta105; a rejected interchange gets no 997', () => {
    const report = interchange([group('SM', '1', '004010', [tx('204', '0001')])], {
      issues: [iss('X12_ISA_NOT_FIXED_WIDTH'), iss('X12_IEA_CONTROL_MISMATCH'), iss('X12_IEA_COUNT_MISMATCH')],
    });
    const r = buildAcks(report, base);
    expect(r.text).toBe(lines(ISA4010, 'TA1*000000123*250101*1200*R*001~', 'IEA*0*000000900~'));
    expect(r.functional).toEqual([]);
    expect(r.notes.join(' ')).toMatch(/rejected at envelope level/);
    expect(buildAcks(report, { ...base, policy: { ta1: 'never' } }).text).toBeNull();
  });

  it('a header date, time or version that is none rejects the interchange with 014, 015 or 017', () => {
    for (const [code, note] of [['X12_ISA_DATE_INVALID', '014'], ['X12_ISA_TIME_INVALID', '015'], ['X12_ISA_VERSION_INVALID', '017']] as const) {
      expect(interchangeAckStatus(interchange([], { issues: [iss(code)] })), code).toEqual({ status: 'R', noteCode: note });
    }
  });

  it('an error without ta105 gives 022; warnings without ta105 leave the interchange accepted', () => {
    expect(interchangeAckStatus(interchange([], { issues: [iss('X12_ISA_FIELD_INVALID')] }))).toEqual({ status: 'R', noteCode: '022' });
    expect(interchangeAckStatus(interchange([], { issues: [iss('X12_ISA_NOT_FIXED_WIDTH')] }))).toEqual({ status: 'A', noteCode: '000' });
    expect(interchangeAckStatus(interchange([], { issues: [iss('X12_INVALID_DELIMITERS', { severity: 'warning' })] }))).toEqual({ status: 'E', noteCode: '026' });
  });

  it('policy: on-request / on-error / always / never', () => {
    const clean = (ackRequested: boolean): InterchangeReport => interchange([group('SM', '1', '004010', [tx('204', '0001')])], { ackRequested });
    const broken = interchange([group('SM', '1', '004010', [tx('204', '0001')])], { issues: [iss('X12_IEA_MISSING')] });
    const ta1 = (report: InterchangeReport, ta1Policy: 'always' | 'on-request' | 'on-error' | 'never') =>
      buildAcks(report, { ...base, policy: { ta1: ta1Policy } }).ta1?.segment.slice(4).join('*') ?? null;
    expect(ta1(clean(false), 'on-request')).toBeNull();
    expect(ta1(clean(true), 'on-request')).toBe('A*000');
    expect(ta1(broken, 'on-request')).toBe('R*023');
    expect(ta1(clean(true), 'on-error')).toBeNull();
    expect(ta1(broken, 'on-error')).toBe('R*023');
    expect(ta1(clean(false), 'always')).toBe('A*000');
    expect(ta1(clean(true), 'never')).toBeNull();
    expect(buildAcks(clean(true), { ...base, policy: { ta1: 'never' } }).functional).toHaveLength(1);
  });
});

describe('999', () => {
  it('IK3/IK4/IK5 with CTX business unit, ST03 and GS08 005010X231A1', () => {
    const t2 = tx('204', '0002', [
      iss('X12_ELEMENT_INVALID_CODE', { segmentId: 'N1', segmentPosition: 7, loopId: '0100', elementPosition: 3, componentPosition: 1, repetition: 2, elementRef: '66', badValue: 'QQ' }),
    ]);
    const r = buildAcks(interchange([group('SM', '77', '005010', [tx('204', '0001'), t2])], { version: '00501' }), {
      ...base,
      policy: { functional: '999' },
      businessUnit: (t) => ({ name: 'B204', reference: `SHIP${t.control}` }),
    });
    expect(r.text).toBe(
      lines(
        'ISA*00*          *00*          *01*WAYBILL        *ZZ*PARTNER        *250102*0930*^*00501*000000900*0*P*:~',
        'GS*FA*WAYBILLAPP*PARTNERAPP*20250102*0930*900*X*005010X231A1~',
        'ST*999*0001*005010X231A1~',
        'AK1*SM*77*005010~',
        'AK2*204*0001~',
        'IK5*A~',
        'AK2*204*0002~',
        'IK3*N1*7*0100*8~',
        'CTX*B204:SHIP0002~',
        'IK4*3:1:2*66*7*QQ~',
        'IK5*R*5~',
        'AK9*P*2*2*1~',
        'SE*11*0001~',
        'GE*1*900~',
        'IEA*1*000000900~',
      ),
    );
    expect(r.functional[0]).toMatchObject({ type: '999', version: '005010X231A1', status: 'P' });
  });

  it('a 999 policy on a 4010 group sends a 4010 997 and says so', () => {
    const r = buildAcks(interchange([group('SM', '1', '004010', [tx('204', '0001')])]), { ...base, policy: { functional: '999' } });
    expect(r.functional[0]).toMatchObject({ type: '997', version: '004010' });
    expect(r.notes.join(' ')).toMatch(/a 999 acknowledges 005010 or later groups only/);
  });
});

describe('never acknowledge an acknowledgment', () => {
  it('returns nothing for an inbound 997 group, even when ISA14 asks for a TA1', () => {
    const r = buildAcks(interchange([group('FA', '1', '004010', [tx('997', '0001')])], { ackRequested: true }), { ...base, policy: { ta1: 'always' } });
    expect(r).toMatchObject({ ta1: null, functional: [], interchange: null, text: null });
    expect(r.notes.join(' ')).toMatch(/only acknowledgments/);
  });

  it('returns nothing for an interchange carrying a TA1, or 999 sets under another GS01', () => {
    const ta1 = interchange([], { ta1s: [seg(['TA1', '000000050', '200229', '1200', 'A', '000'])], ackRequested: true });
    expect(buildAcks(ta1, base).text).toBeNull();
    const odd = interchange([group('HC', '1', '005010X231A1', [tx('999', '0001')])], { version: '00501' });
    expect(buildAcks(odd, base).text).toBeNull();
  });

  it('acknowledges only the non-FA groups of a mixed interchange', () => {
    const r = buildAcks(interchange([group('FA', '1', '004010', [tx('997', '0001')]), group('SM', '2', '004010', [tx('204', '0001')])]), base);
    expect(r.functional.map((f) => f.acknowledges.functionalId)).toEqual(['SM']);
    expect(body(r.text)).toContain('AK1*SM*2~');
  });
});

describe('built acks read back', () => {
  it('the reader and parseFunctionalAck / parseTa1 see what the builder meant', () => {
    const t2 = tx('214', '0002', [
      iss('X12_ELEMENT_INVALID_CODE', { segmentId: 'AT7', segmentPosition: 6, elementPosition: 1, componentPosition: 2, repetition: 3, elementRef: '1650', badValue: 'Z9' }),
      iss('X12_SE_COUNT_MISMATCH'),
    ]);
    for (const functional of ['997', '999'] as const) {
      const report = interchange([group('QM', '12', '005010', [tx('214', '0001'), t2])], { version: '00501', ackRequested: true, delimiters: D5010 });
      const built = buildAcks(report, { ...base, policy: { functional } });
      const events = [...readX12Sync(built.text ?? '')];
      const errors = events.flatMap((e) => ('issues' in e ? e.issues : e.type === 'transaction' ? e.transaction.issues : e.type === 'issue' ? [e.issue] : []));
      expect(errors.filter((i) => i.severity === 'error')).toEqual([]);
      const ta1Event = events.find((e) => e.type === 'ta1');
      expect(ta1Event?.type === 'ta1' && parseTa1(ta1Event.segment)).toMatchObject({ control: '000000123', state: 'accepted', noteCode: '000', valid: true });
      const txEvent = events.find((e) => e.type === 'transaction');
      if (txEvent?.type !== 'transaction') throw new Error('no transaction read back');
      const parsed = parseFunctionalAck(txEvent.transaction, txEvent.transaction.interchange!.delimiters);
      expect(parsed.problems).toEqual([]);
      expect(parsed).toMatchObject({
        type: functional,
        group: { functionalId: 'QM', control: '12', version: '005010' },
        groupStatus: { state: 'partially-accepted', included: 2, received: 2, accepted: 1 },
      });
      expect(parsed.transactions.map((t) => [t.control, t.state, t.codes.map((c) => c.code)])).toEqual([
        ['0001', 'accepted', []],
        ['0002', 'rejected', ['4', '5']],
      ]);
      expect(parsed.transactions[1].segmentErrors[0]).toMatchObject({
        segmentId: 'AT7',
        position: 6,
        code: '8',
        elementErrors: [{ position: 1, component: 2, repetition: 3, ref: '1650', code: '7', meaning: 'Invalid Code Value', badValue: 'Z9' }],
      });
    }
  });
});

describe.skipIf(!hasCorpus)('corpus 204/214 interchanges: envelope report -> acks -> read back', () => {
  function acksFor(rel: string, options: Partial<BuildAcksOptions> = {}, edit?: (text: string) => string) {
    const bytes = edit ? Buffer.from(edit(corpusFile(rel).toString('latin1')), 'latin1') : corpusFile(rel);
    const [report] = reportsFromEvents(readX12Sync(bytes));
    const built = buildAcks(report, { ...base, ...options });
    const events = built.text ? [...readX12Sync(built.text)] : [];
    const parsed = events.flatMap((e) => (e.type === 'transaction' ? [parseFunctionalAck(e.transaction, e.transaction.interchange!.delimiters)] : []));
    const ta1s = events.flatMap((e) => (e.type === 'ta1' ? [parseTa1(e.segment)] : []));
    const readErrors = events.flatMap((e) => ('issues' in e ? e.issues : e.type === 'transaction' ? e.transaction.issues : e.type === 'issue' ? [e.issue] : []));
    return { report, built, parsed, ta1s, readErrors: readErrors.filter((i) => i.severity === 'error') };
  }

  it('every 204/214 interchange gets an ack that reads back cleanly and says the same thing', () => {
    const files = ['204', '214'].flatMap((d) => readdirSync(`${corpusDir}${d}`).map((f) => `${d}/${f}`));
    let checked = 0;
    for (const rel of files) {
      const reports = reportsFromEvents(readX12Sync(corpusFile(rel)));
      if (reports.length === 0) continue;
      const { built, parsed, ta1s, readErrors } = acksFor(rel, { policy: { ta1: 'on-request' } });
      expect(readErrors, rel).toEqual([]);
      for (const p of parsed) expect(p.problems.filter((x) => x.severity === 'error'), rel).toEqual([]);
      if (built.interchangeStatus === 'R') {
        expect(parsed, rel).toEqual([]);
        expect(ta1s.map((t) => t.state), rel).toEqual(['rejected']);
      } else {
        expect(parsed.map((p) => p.groupStatus?.code), rel).toEqual(built.functional.map((f) => f.status));
        expect(parsed.map((p) => p.transactions.length), rel).toEqual(built.functional.map((f) => f.transactions.filter((t) => t.listed).length));
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('specific envelope errors land in the right ack elements', () => {
    expect(acksFor('204/gtlogistics__204.edi').parsed[0].groupStatus).toMatchObject({ code: 'A', included: 1, received: 1, accepted: 1 });
    // These samples' ISA12 is 00000, no version: the TA1 rejects them for it (017) before any 997 could
    // name their group and set errors. Read as 00401 (same width), the 997 shows those.
    const as00401 = (t: string) => t.replace('*U*00000*', '*U*00401*');
    const asSent = acksFor('204/gtlogistics__no-se-trailer.edi');
    expect(asSent.ta1s).toMatchObject([{ state: 'rejected', noteCode: '017' }]);
    expect(asSent.parsed).toEqual([]);
    const count = acksFor('204/gtlogistics__no-matching-segment-count.edi', {}, as00401).parsed[0];
    expect(count.transactions[0]).toMatchObject({ state: 'rejected', codes: [{ code: '4' }] });
    expect(acksFor('204/gtlogistics__no-se-trailer.edi', {}, as00401).parsed[0].transactions[0].codes.map((c) => c.code)).toEqual(['2']);
    expect(acksFor('204/gtlogistics__no-ge-trailer.edi', {}, as00401).parsed[0].groupStatus).toMatchObject({ code: 'R', codes: [{ code: '3' }] });
    expect(acksFor('214/edifabric__ShipmentStatus.edi').parsed[0].groupStatus).toMatchObject({ code: 'R', codes: [{ code: '5' }] });
    const iea = acksFor('214/x12types__parse_214_1_1edisource.edi');
    expect(iea.ta1s).toMatchObject([{ state: 'rejected', noteCode: '001' }]);
    expect(iea.built.text?.split(/~\n?/).filter((s) => s.startsWith('GS'))).toEqual([]);
  });
});

describe('TA1 echo', () => {
  it('zero-pads a short numeric ISA13 in TA101', () => {
    const r = buildAcks(interchange([], { control: '001', ackRequested: true }), base);
    expect(r.ta1?.segment[1]).toBe('000000001');
  });
});

describe('a group of more sets than one 997/999 may list', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => tx('214', String(i + 1).padStart(6, '0')));

  it('5010: 100,001 sets are acknowledged by two 997s of the same FA group, each with the group\'s AK1 and AK9 (x12-notes 5.1: AK2 max 99,999)', () => {
    const sets = many(100_001);
    sets[100_000] = tx('214', '100001', [iss('X12_SE_COUNT_MISMATCH')]);
    const report = interchange([group('QM', '77', '005010', sets)], { version: '00501' });
    expect(maxFunctionalAcks(report)).toBe(2);
    const r = buildAcks(report, base);
    expect(r.functional.map((f) => [f.control, f.groupControl, f.part, f.transactions.length, f.status, f.counts])).toEqual([
      ['0001', '900', { index: 1, of: 2 }, 99_999, 'P', { included: 100_001, received: 100_001, accepted: 100_000 }],
      ['0002', '900', { index: 2, of: 2 }, 2, 'P', { included: 100_001, received: 100_001, accepted: 100_000 }],
    ]);
    expect(r.notes).toEqual(['group 77: 100001 AK2 loops are more than one 005010 997 holds (99999): it is acknowledged by 2 997s, each with the group\'s AK1 and AK9']);
    const lines = (r.text ?? '').split('\n');
    const second = lines.slice(lines.indexOf('ST*997*0002~'));
    expect(second.slice(0, 8)).toEqual(['ST*997*0002~', 'AK1*QM*77*005010~', 'AK2*214*100000~', 'AK5*A~', 'AK2*214*100001~', 'AK5*R*4~', 'AK9*P*100001*100001*100000~', 'SE*8*0002~']);
    expect(lines.filter((l) => l.startsWith('AK9'))).toHaveLength(2);
    // each part reads back as a valid 997 (the 5010 schema allows at most 99,999 AK2 loops)
    const events = [...readX12Sync(r.text ?? '')];
    const txs = events.flatMap((e) => (e.type === 'transaction' ? [e.transaction] : []));
    expect(txs.map((t) => validateTransaction(t).issues.filter((i) => i.severity === 'error'))).toEqual([[], []]);
  });

  it('the 5010 997 and 999 schemas allow 99,999 AK2 loops, not more', () => {
    const loops = (n: number, ak5: string) => Array.from({ length: n }, (_, i) => `AK2*214*${String(i + 1).padStart(6, '0')}~${ak5}*A~`).join('');
    const ack = (n: number, type: '997' | '999') => readX12Sync(
      `ISA*00*          *00*          *01*WAYBILL        *ZZ*PARTNER        *250102*0930*^*00501*000000900*0*P*:~GS*FA*A*B*20250102*0930*1*X*${type === '997' ? '005010' : '005010X231A1'}~` +
      `ST*${type}*0001${type === '999' ? '*005010X231A1' : ''}~AK1*QM*1*005010~${loops(n, type === '997' ? 'AK5' : 'IK5')}AK9*A*${n}*${n}*${n}~SE*${2 * n + 4}*0001~GE*1*1~IEA*1*000000900~`);
    const codes = (n: number, type: '997' | '999') => [...ack(n, type)].flatMap((e) => (e.type === 'transaction' ? validateTransaction(e.transaction).issues.map((i) => i.code) : []));
    for (const type of ['997', '999'] as const) {
      expect(codes(99_999, type), type).toEqual([]);
      expect(codes(100_000, type), type).toContain('X12_LOOP_OVER_MAX');
    }
  });

  it('a control source that repeats an ST02 in one FA group is refused', () => {
    const report = interchange([group('QM', '1', '004010', [tx('214', '0001')]), group('QM', '2', '004010', [tx('214', '0001')])]);
    expect(() => buildAcks(report, { ...base, controls: { interchange: 1, group: 1, transaction: () => '0001' } })).toThrow(/ST02 0001 twice in one FA group/);
  });
});

describe('the time zone of the ack\'s dates and times', () => {
  const report = () => interchange([group('SM', '1', '004010', [tx('204', '0001')])], { ackRequested: true });
  const envelope = (text: string | null) => {
    const [isa, , gs] = (text ?? '').split('\n');
    const i = isa.split('*');
    const g = gs.split('*');
    return { isa09: i[9], isa10: i[10], gs04: g[4], gs05: g[5] };
  };

  it('UTC by default; the partner\'s zone when given (a date that is still yesterday there included)', () => {
    expect(envelope(buildAcks(report(), base).text)).toEqual({ isa09: '250102', isa10: '0930', gs04: '20250102', gs05: '0930' });
    expect(envelope(buildAcks(report(), { ...base, timezone: 'America/Chicago' }).text)).toEqual({ isa09: '250102', isa10: '0330', gs04: '20250102', gs05: '0330' });
    const early = { ...base, now: new Date(Date.UTC(2025, 6, 2, 3, 0, 0)), timezone: 'America/Chicago' };
    expect(envelope(buildAcks(report(), early).text)).toEqual({ isa09: '250701', isa10: '2200', gs04: '20250701', gs05: '2200' });
    expect(envelope(buildAcks(report(), { ...base, timezone: '+05:30' }).text)).toEqual({ isa09: '250102', isa10: '1500', gs04: '20250102', gs05: '1500' });
    expect(() => buildAcks(report(), { ...base, timezone: 'Mars/Olympus' })).toThrow(/unknown time zone/);
  });

  it('round trip: GS04/GS05 read in the partner\'s zone (as functional-ack.ts reads acks) give back the instant', () => {
    for (const zone of ['America/Chicago', 'Europe/Berlin', 'UTC']) {
      const { gs04, gs05 } = envelope(buildAcks(report(), { ...base, timezone: zone }).text);
      expect(new Date(zonedIso(x12Date(gs04), x12Time(gs05), zone)).getTime(), zone).toBe(NOW.getTime());
    }
  });
});
