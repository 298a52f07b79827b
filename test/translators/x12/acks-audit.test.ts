// The acknowledgment audit's cases, end to end: inbound text -> inspect -> buildAcks -> the ack read back
// by Waybill's own checks (`waybill inspect`'s validation and the 997/999/TA1 readers). The rule every
// case checks first: an acknowledgment Waybill writes never fails Waybill's own checks of it.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildAcks, type BuildAcksOptions } from '../../../src/translators/x12/acks/build.js';
import { parseFunctionalAck, parseTa1 } from '../../../src/translators/x12/acks/parse.js';
import { allIssues, inspectX12Sync } from '../../../src/translators/x12/inspect.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';
import { corpusDir, corpusFile, hasCorpus } from '../../helpers/corpus.js';

const NOW = new Date(Date.UTC(2025, 0, 2, 9, 30, 0));
const base: BuildAcksOptions = { now: NOW, controls: { interchange: 900, group: 900, transaction: 1 }, suffix: '\n' };

const ISA4010 = 'ISA*00*          *00*          *02*PRLF           *ZZ*TRICOUNTYHWS   *250416*1105*U*00401*000000101*0*P*>~';
const ISA5010 = 'ISA*00*          *00*          *02*PRLF           *ZZ*TRICOUNTYHWS   *250416*1105*^*00501*000000101*0*P*>~';
const gs = (control: string, version = '004010', functionalId = 'QM') => `GS*${functionalId}*PRLF*TRICOUNTYHWS*20250416*1105*${control}*X*${version}~`;

/** A clean 214 (6 segments) with ST02 `control`; `b10` replaces the B10 segment. */
function set214(control: string, b10 = 'B10*0048213377*TCH-BOL-40771*PRLF', setId = '214'): string[] {
  return [`ST*${setId}*${control}~`, `${b10}~`, 'LX*1~', 'AT7*X3*NS***20250414*0852*CT~', 'MS1*JOLIET*IL*US~', `SE*6*${control}~`];
}

function file(isa: string, ...body: (string | string[])[]): string {
  const lines = body.flat();
  const groups = lines.filter((l) => l.startsWith('GS*')).length;
  return [isa, ...lines, `IEA*${groups}*000000101~`].join('\n') + '\n';
}

/** Every finding Waybill's own checks make of an acknowledgment text (errors and warnings). */
function ownChecks(text: string | null): string[] {
  if (text === null) return [];
  const out = allIssues(inspectX12Sync(text)).map((i) => `${i.severity} ${i.code} ${i.message}`);
  for (const e of readX12Sync(text)) {
    if (e.type === 'transaction') {
      const parsed = parseFunctionalAck(e.transaction, e.transaction.interchange!.delimiters);
      out.push(...parsed.problems.map((p) => `${p.severity} ${p.code} ${p.message}`));
    } else if (e.type === 'ta1') {
      out.push(...parseTa1(e.segment).problems.map((p) => `${p.severity} ${p.code} ${p.message}`));
    }
  }
  return out;
}

function acks(text: string, options: Partial<BuildAcksOptions> = {}) {
  const report = inspectX12Sync(text);
  expect(report.interchanges).toHaveLength(1);
  const built = buildAcks(report.interchanges[0], { ...base, ...options });
  const segments = (built.text ?? '').split('\n').filter((l) => l !== '');
  return { built, segments, problems: ownChecks(built.text) };
}

/** The segments of an ack from the first AK1 on, without the envelope trailers. */
function ackBody(segments: string[]): string[] {
  return segments.filter((s) => /^(AK|IK|CTX|ST|SE|TA1)/.test(s));
}

describe('a set rejected with its group is AK5 R, and AK9 counts the AK5s (defect 1)', () => {
  const cases: [string, string][] = [
    ['GE01 count wrong', file(ISA4010, gs('2291'), set214('0001'), 'GE*2*2291~')],
    ['GE02 differs from GS06', file(ISA4010, gs('2291'), set214('0001'), 'GE*1*2292~')],
    ['GE missing', file(ISA4010, gs('2291'), set214('0001'))],
  ];
  for (const [name, text] of cases) {
    it(name, () => {
      const { built, segments, problems } = acks(text);
      expect(problems).toEqual([]);
      expect(segments).toContain('AK5*R~');
      expect(segments.find((s) => s.startsWith('AK9'))).toMatch(/^AK9\*R\*\d+\*1\*0\*\d~$/);
      expect(built.functional[0].transactions.map((t) => t.status)).toEqual(['R']);
      expect(built.functional[0].counts.accepted).toBe(0);
    });
  }

  it('a group-level error rejects every set of the group, each keeping its own findings', () => {
    const text = file(ISA4010, gs('2291'), set214('0001'), set214('0002', 'B10*0048213377*TCH-BOL-40771*PRLFTOOLONGSCAC'), 'GE*3*2291~');
    const { segments, problems } = acks(text);
    expect(problems).toEqual([]);
    expect(ackBody(segments)).toEqual([
      'ST*997*0001~', 'AK1*QM*2291~',
      'AK2*214*0001~', 'AK5*R~',
      'AK2*214*0002~', 'AK3*B10*2**8~', 'AK4*3*140*5*PRLFTOOLONGSCAC~', 'AK5*R*5~',
      'AK9*R*3*2*0*5~', 'SE*10*0001~',
    ]);
  });

  it('a rejected group among good ones: only its sets are rejected', () => {
    const text = file(ISA4010, gs('21'), set214('0001'), gs('22'), set214('0001'), 'GE*1*22~');
    const { built, problems } = acks(text);
    expect(problems).toEqual([]);
    expect(built.functional.map((f) => [f.acknowledges.control, f.status, f.transactions.map((t) => t.status).join('')])).toEqual([
      ['21', 'R', 'R'],
      ['22', 'A', 'A'],
    ]);
  });
});

describe('inbound values that cannot be echoed validly (defect 2)', () => {
  it('ST02 of 1-3 characters is echoed with trailing spaces up to AK202\'s 4 (the same string value); AK5 7 says it is invalid', () => {
    const text = file(ISA4010, gs('001'), set214('001'), set214('0002'), 'GE*2*001~');
    const { segments, problems } = acks(text);
    expect(problems).toEqual([]);
    expect(segments).toContain('AK1*QM*001~');
    expect(segments).toContain('AK2*214*001 ~');
    expect(segments[segments.indexOf('AK2*214*001 ~') + 1]).toBe('AK5*R*7~');
  });

  it('an empty ST01, an empty ST02 or one over 9 characters: no AK2 loop, AK9 counts the set; the notes say why', () => {
    const text = file(ISA4010, gs('2291'), set214('0001', undefined, ''), set214(''), set214('0003VERYLONGCTRL'), set214('0004'), 'GE*4*2291~');
    const { built, segments, problems } = acks(text);
    expect(problems).toEqual([]);
    expect(ackBody(segments)).toEqual(['ST*997*0001~', 'AK1*QM*2291~', 'AK2*214*0004~', 'AK5*A~', 'AK9*P*4*4*1~', 'SE*6*0001~']);
    expect(built.functional[0].transactions.map((t) => [t.status, t.codes.join(','), t.listed])).toEqual([
      ['R', '6', false], ['R', '7', false], ['R', '7', false], ['A', '', true],
    ]);
    expect(built.notes).toHaveLength(3);
    expect(built.notes[0]).toMatch(/no AK2 loop: its ST01 cannot be written in AK201/);
    expect(built.notes[2]).toMatch(/"0003VERYLONGCTRL" at line \d+ .* has no AK2 loop: its ST02 cannot be written in AK202/);
  });

  it('a segment id AK301 cannot hold (over 3 characters, lower case): no AK3, AK5 code 5 still says why', () => {
    const text = file(ISA4010, gs('2291'), set214('0001').toSpliced(2, 0, 'ABCDEFG*1~'), set214('0002').toSpliced(2, 0, 'b10*1~'), 'GE*2*2291~');
    const text7 = text.replace(/SE\*6\*(000[12])/g, 'SE*7*$1');
    const { segments, problems, built } = acks(text7);
    expect(problems).toEqual([]);
    expect(ackBody(segments)).toEqual(['ST*997*0001~', 'AK1*QM*2291~', 'AK2*214*0001~', 'AK5*R*5~', 'AK2*214*0002~', 'AK5*R*5~', 'AK9*R*2*2*0~', 'SE*8*0001~']);
    expect(built.notes.join('\n')).toMatch(/no AK3 for segment "ABCDEFG" at position 3[\s\S]*no AK3 for segment "b10" at position 3/);
  });

  it('GE01 too long for AK902 (N0 1/6): the count received stands in for it, AK905 5 says GE01 was wrong', () => {
    const { segments, problems } = acks(file(ISA4010, gs('2291'), set214('0001'), 'GE*12345678*2291~'));
    expect(problems).toEqual([]);
    expect(segments).toContain('AK9*R*1*1*0*5~');
  });

  it('a GS06 AK102 cannot hold (not a number): no 997 for that group; the TA1 says the GS is invalid (E, 024)', () => {
    const text = file(ISA4010, gs('AB12'), set214('0001'), 'GE*1*AB12~', gs('22'), set214('0001'), 'GE*1*22~');
    const { built, segments, problems } = acks(text);
    expect(problems).toEqual([]);
    expect(built.interchangeStatus).toBe('E');
    expect(segments[1]).toBe('TA1*000000101*250416*1105*E*024~');
    expect(built.functional.map((f) => f.acknowledges.control)).toEqual(['22']);
    expect(built.notes.join('\n')).toMatch(/group "AB12" \(GS01 "QM"\) gets no 997: AK101\/AK102 cannot name it/);
    // TA1 'never': the group goes unanswered, and the notes say so
    expect(acks(text, { policy: { ta1: 'never' } }).segments.some((s) => s.startsWith('TA1'))).toBe(false);
  });

  it('ISA09 sent as CCYYMMDD is echoed as YYMMDD in TA102; a date that is none is replaced by the TA1\'s own', () => {
    const isa8 = ISA4010.replace('*250416*1105*', '*20250416*1105*');
    const eight = acks(file(isa8, gs('2291'), set214('0001'), 'GE*1*2291~'));
    expect(eight.problems).toEqual([]);
    expect(eight.segments[1]).toMatch(/^TA1\*000000101\*250416\*1105\*R\*0\d\d~$/);
    const junk = acks(file(ISA4010.replace('*250416*1105*', '*2504XY*11:5*'), gs('2291'), set214('0001'), 'GE*1*2291~'));
    expect(junk.problems).toEqual([]);
    expect(junk.segments[1]).toMatch(/^TA1\*000000101\*250102\*0930\*R\*0\d\d~$/);
  });

  it('an empty inbound GS03 (our GS02) is answered from the ISA receiver id', () => {
    const text = file(ISA4010, 'GS*QM*PRLF**20250416*1105*2291*X*004010~', set214('0001'), 'GE*1*2291~');
    const { segments } = acks(text);
    expect(segments[1]).toBe('GS*FA*TRICOUNTYHWS*PRLF*20250102*0930*900*X*004010~');
  });
});

describe.skipIf(!hasCorpus)('every corpus interchange', () => {
  it('gets 997s, 999s and TA1s that pass Waybill\'s own checks', () => {
    const dirs = ['204', '210', '214', '850', '856', '990', 'envelope'];
    const seen: string[] = [];
    for (const rel of dirs.flatMap((d) => readdirSync(`${corpusDir}${d}`).filter((f) => !f.endsWith('.json')).map((f) => `${d}/${f}`))) {
      const report = inspectX12Sync(corpusFile(rel));
      for (const [i, ic] of report.interchanges.entries()) {
        for (const functional of ['997', '999'] as const) {
          let text: string | null;
          try {
            text = buildAcks(ic, { ...base, policy: { ta1: 'always', functional } }).text;
          } catch (err) {
            continue; // an envelope the writer refuses (an over-long sender id): the CLI and the gateway report it
          }
          // An ISA05/ISA07 qualifier outside the list is a warning the ack inherits on purpose: it is how
          // the partner is addressed (edifabric's '1B'). Any other finding is the ack's own.
          const inherited = new Set(ic.issues.filter((x) => x.severity === 'warning').map((x) => x.code));
          const renamed = (code: string) => code.replace('RECEIVER', 'SENDER');
          const problems = ownChecks(text).filter((p) => {
            const [severity, code] = p.split(' ');
            return !(severity === 'warning' && [...inherited].some((c) => renamed(c) === renamed(code)));
          });
          expect(problems, `${rel} #${i} ${functional}\n${text}`).toEqual([]);
        }
      }
      seen.push(rel);
    }
    expect(seen.length).toBeGreaterThan(30);
  });
});

describe('an ack writes only the codes its version has (defect 3)', () => {
  const dupGs06 = (version: string, isa: string) => file(isa, gs('5', version), set214('0001'), 'GE*1*5~', gs('5', version), set214('0001'), 'GE*1*5~');

  it('AK905 19 (GS06 not unique, 005010) is 6 in a 004010 997', () => {
    const old = acks(dupGs06('004010', ISA4010));
    expect(old.problems).toEqual([]);
    expect(old.segments).toContain('AK9*R*1*1*0*6~');
    const now = acks(dupGs06('005010', ISA5010));
    expect(now.problems).toEqual([]);
    expect(now.segments).toContain('AK9*R*1*1*0*19~');
  });

  it('AK403 13 (too many components, 00402 on) is 6 in a 004010 997', () => {
    const b10 = 'B10*0048213377*TCH-BOL-40771*PR>LF';
    const old = acks(file(ISA4010, gs('2291'), set214('0001', b10), 'GE*1*2291~'));
    expect(old.problems).toEqual([]);
    expect(old.segments).toContain('AK4*3>2*140*6*PR LF~');
    const now = acks(file(ISA5010, gs('2291', '005010'), set214('0001', b10), 'GE*1*2291~'));
    expect(now.problems).toEqual([]);
    expect(now.segments).toContain('AK4*3>2*140*13*PR LF~');
  });

  it('Waybill reads a 004010 997 that uses a later code as invalid (the element lists follow the versions)', () => {
    const ack = (version: string, ak: string) => [
      ISA4010, `GS*FA*PRLF*TRICOUNTYHWS*20250416*1105*7*X*${version}~`, 'ST*997*0001~', 'AK1*QM*5~', ...ak.split('|').map((x) => `${x}~`), 'SE*6*0001~', 'GE*1*7~', 'IEA*1*000000101~',
    ].join('\n');
    const codes = (text: string) => allIssues(inspectX12Sync(text)).map((i) => `${i.code} ${i.segmentId}${i.elementPosition}`);
    expect(codes(ack('004010', 'AK2*214*0001|AK5*R|AK9*R*1*1*0*19'))).toEqual(['X12_ELEMENT_INVALID_CODE AK95']);
    expect(codes(ack('005010', 'AK2*214*0001|AK5*R|AK9*R*1*1*0*19'))).toEqual([]);
    expect(codes(ack('004010', 'AK2*214*0001|AK3*B10*2**8|AK4*3>2*140*13|AK5*R*5|AK9*R*1*1*0').replace('SE*6', 'SE*8'))).toEqual(['X12_ELEMENT_INVALID_CODE AK43']);
    expect(codes(ack('004010', 'AK2*214*0001|AK5*R*18|AK9*R*1*1*0'))).toEqual(['X12_ELEMENT_INVALID_CODE AK52']);
  });
});

describe('functional and version policies agree (defect 4)', () => {
  const f4010 = file(ISA4010, gs('2291'), set214('0001'), 'GE*1*2291~');
  const f5010 = file(ISA5010, gs('2291', '005010'), set214('0001'), 'GE*1*2291~');
  const plan = (text: string, policy: BuildAcksOptions['policy']) => {
    const { built, segments, problems } = acks(text, { policy });
    expect(problems).toEqual([]);
    const gsLine = segments.find((s) => s.startsWith('GS*'))!;
    return { type: built.functional[0].type, gs08: gsLine.split('*')[8].replace('~', ''), notes: built.notes.join('\n') };
  };

  it('999 asked with a 004010 version for a 005010 group: a 004010 997, and the note names the version asked', () => {
    const r = plan(f5010, { functional: '999', version: '004010' });
    expect(r).toMatchObject({ type: '997', gs08: '004010' });
    expect(r.notes).toBe('group 2291: the acknowledgment version 004010 is before 005010, which a 999 needs; a 004010 997 is sent instead');
  });

  it('999 with the 999 guide for a 004010 group: a 004010 997 (never a 999 for a 4010 group)', () => {
    const r = plan(f4010, { functional: '999', version: '005010X231' });
    expect(r).toMatchObject({ type: '997', gs08: '004010' });
    expect(r.notes).toBe('group 2291 is 004010: a 999 acknowledges 005010 or later groups only, a 004010 997 is sent instead');
  });

  it('997 with the 999 guide: the 997 follows the group, with a note', () => {
    const r = plan(f5010, { functional: '997', version: '005010X231A1' });
    expect(r).toMatchObject({ type: '997', gs08: '005010' });
    expect(r.notes).toMatch(/005010X231A1 is the 999's implementation guide, not a 997 version; the 997 is 005010/);
  });

  it('the ordinary cases', () => {
    expect(plan(f5010, { functional: '999' })).toMatchObject({ type: '999', gs08: '005010X231A1', notes: '' });
    expect(plan(f5010, { functional: '999', version: '005010X231' })).toMatchObject({ type: '999', gs08: '005010X231', notes: '' });
    expect(plan(f5010, { functional: '999', version: '005010' })).toMatchObject({ type: '999', gs08: '005010X231A1', notes: '' });
    expect(plan(f4010, { functional: '997', version: '005010' })).toMatchObject({ type: '997', gs08: '005010', notes: '' });
    expect(plan(f5010, { functional: '997', version: '004010' })).toMatchObject({ type: '997', gs08: '004010', notes: '' });
    expect(plan(f4010, { functional: '997' })).toMatchObject({ type: '997', gs08: '004010', notes: '' });
  });

  it('a version that names none (a partner.yaml "5010") is not used, with a note', () => {
    const r = plan(f4010, { functional: '999', version: '5010' });
    expect(r).toMatchObject({ type: '997', gs08: '004010' });
    expect(r.notes).toMatch(/the acknowledgment version "5010" names no X12 version .* the group's 004010 is used/);
  });
});
