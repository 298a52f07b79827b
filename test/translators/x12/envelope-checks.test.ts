// Envelope header checks (src/translators/x12/envelope.ts) from the inbound bytes to the acknowledgment:
// each bad ISA field is a coded finding at the field, and the TA1 names it (TA105); a blank mandatory GS
// element rejects the group; X12 data after an IEA is noted on the interchange it follows.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { catalogue, type ErrorCode } from '../../../src/errors/catalogue.js';
import { ControlNumbers } from '../../../src/translators/x12/envelope.js';
import { buildAcks, interchangeAckStatus, type BuildAcksOptions } from '../../../src/translators/x12/acks/build.js';
import { inspectX12Sync } from '../../../src/translators/x12/inspect.js';
import { isKnownInterchangeVersion, isLaterInterchangeVersion } from '../../../src/translators/x12/isa-fields.js';
import type { FileReport } from '../../../src/translators/x12/model.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';
import { corpusFile, hasCorpus } from '../../helpers/corpus.js';

const NOW = new Date(Date.UTC(2025, 0, 2, 9, 30, 0));
const base: BuildAcksOptions = { now: NOW, controls: { interchange: 900, group: 900, transaction: 1 }, suffix: '\n' };

/** ISA01..ISA16 of a clean fixed-width 004010 header; a test replaces the fields it is about. */
const ISA_FIELDS = ['00', ' '.repeat(10), '00', ' '.repeat(10), '02', 'PRLF'.padEnd(15), 'ZZ', 'TRICOUNTYHWS'.padEnd(15),
  '250416', '1105', 'U', '00401', '000000101', '0', 'P', '>'];

function isa(fields: Record<number, string> = {}): string {
  return ['ISA', ...ISA_FIELDS.map((f, k) => fields[k + 1] ?? f)].join('*');
}

const GS = 'GS*QM*PRLF*TRICOUNTYHWS*20250416*1105*2291*X*004010';
const SET = ['ST*214*0001', 'B10*0048213377*TCH-BOL-40771*PRLF', 'LX*1', 'AT7*X3*NS***20250414*0852*CT', 'MS1*JOLIET*IL*US', 'SE*6*0001'];

function file(opts: { isa?: Record<number, string>; gs?: string; after?: string[] } = {}): string {
  const control = opts.isa?.[13] ?? '000000101';
  return [isa(opts.isa), opts.gs ?? GS, ...SET, 'GE*1*2291', `IEA*1*${control}`, ...(opts.after ?? [])].map((s) => `${s}~\n`).join('');
}

function report(text: string): FileReport {
  return inspectX12Sync(text);
}

/** The interchange's own findings: [code, severity, element]. */
function headerFindings(text: string): [string, string, number | undefined][] {
  return report(text).interchanges[0].issues.map((i) => [i.code, i.severity, i.elementPosition]);
}

/** TA104*TA105 of the (always sent) TA1, and the built acknowledgment. */
function ta1(text: string, options: Partial<BuildAcksOptions> = {}) {
  const built = buildAcks(report(text).interchanges[0], { ...base, policy: { ta1: 'always' }, ...options });
  return { note: built.ta1 ? built.ta1.segment.slice(4).join('*') : null, built };
}

describe('ISA fields: each bad one is a coded finding at its field, and the TA1 names it', () => {
  it('a clean header has no finding and gets TA1 A*000', () => {
    expect(headerFindings(file())).toEqual([]);
    expect(ta1(file()).note).toBe('A*000');
  });

  // [what, ISA fields, code, severity, element, TA104*TA105]
  const cases: [string, Record<number, string>, ErrorCode, 'error' | 'warning', number, string][] = [
    ['ISA01 77', { 1: '77' }, 'X12_ISA_AUTH_QUALIFIER_INVALID', 'warning', 1, 'E*010'],
    ['ISA03 02', { 3: '02' }, 'X12_ISA_SECURITY_QUALIFIER_INVALID', 'warning', 3, 'E*012'],
    ['ISA05 QQ', { 5: 'QQ' }, 'X12_ISA_SENDER_QUALIFIER_INVALID', 'warning', 5, 'E*005'],
    ['ISA06 blank', { 6: ' '.repeat(15) }, 'X12_ISA_SENDER_ID_MISSING', 'error', 6, 'R*006'],
    ['ISA07 QQ', { 7: 'QQ' }, 'X12_ISA_RECEIVER_QUALIFIER_INVALID', 'warning', 7, 'E*007'],
    ['ISA08 blank', { 8: ' '.repeat(15) }, 'X12_ISA_RECEIVER_ID_MISSING', 'error', 8, 'R*008'],
    ['ISA11 Z in 00401', { 11: 'Z' }, 'X12_ISA_STANDARDS_ID_INVALID', 'warning', 11, 'E*016'],
    ['ISA11 ^ in 00401', { 11: '^' }, 'X12_ISA_STANDARDS_ID_INVALID', 'warning', 11, 'E*016'],
    ['ISA12 00999', { 12: '00999' }, 'X12_ISA_VERSION_INVALID', 'error', 12, 'R*017'],
    ['ISA12 00000', { 12: '00000' }, 'X12_ISA_VERSION_INVALID', 'error', 12, 'R*017'],
    ['ISA12 00100', { 12: '00100' }, 'X12_ISA_VERSION_INVALID', 'error', 12, 'R*017'],
    ['ISA12 00802 (later than known)', { 12: '00802' }, 'X12_ISA_VERSION_UNSUPPORTED', 'error', 12, 'R*003'],
    ['ISA13 00000A101', { 13: '00000A101' }, 'X12_ISA_CONTROL_INVALID', 'error', 13, 'R*018'],
    ['ISA14 2', { 14: '2' }, 'X12_ISA_ACK_REQUESTED_INVALID', 'warning', 14, 'E*019'],
    ['ISA15 Q', { 15: 'Q' }, 'X12_ISA_USAGE_INVALID', 'error', 15, 'R*020'],
  ];
  for (const [what, fields, code, severity, element, note] of cases) {
    it(`${what}: ${code} (${severity}), TA1 ${note}`, () => {
      const text = file({ isa: fields });
      expect(headerFindings(text)).toEqual([[code, severity, element]]);
      expect(catalogue[code].ta105).toBe(note.slice(2));
      const earned = interchangeAckStatus(report(text).interchanges[0]);
      expect(`${earned.status}*${earned.noteCode}`).toBe(note);
      // sent as such, unless nobody can be addressed (a blank ISA06/ISA08: see below)
      if (code !== 'X12_ISA_SENDER_ID_MISSING' && code !== 'X12_ISA_RECEIVER_ID_MISSING') expect(ta1(text).note).toBe(note);
    });
  }

  it('a warning leaves the interchange accepted (its 997 is sent); an error rejects it (TA1 only)', () => {
    expect(ta1(file({ isa: { 1: '77' } })).built.functional.map((f) => f.status)).toEqual(['A']);
    expect(ta1(file({ isa: { 15: 'Q' } })).built.functional).toEqual([]);
  });

  it('the finding points at the field itself in a fixed-width ISA (line, column, offset), and quotes it', () => {
    const text = `\n${file({ isa: { 6: ' '.repeat(15), 15: 'Q' } })}`;
    const [sender, usage] = report(text).interchanges[0].issues;
    // ISA* 00* (10)* 00* (10)* 02* -> ISA06 starts at column 36; ISA15 at column 103
    expect(sender).toMatchObject({ segmentId: 'ISA', elementPosition: 6, loc: { line: 2, column: 36, offset: 36 }, badValue: ' '.repeat(15) });
    expect(usage).toMatchObject({ elementPosition: 15, loc: { line: 2, column: 103, offset: 103 }, badValue: 'Q' });
    expect(usage.message).toBe("ISA15 usage indicator 'Q' is not P (production), T (test) or I (information): whether the interchange is production data is unknown");
  });

  it('ISA13 numeric but not 9 digits (a non-fixed-width ISA) is a warning: TA1 E*018', () => {
    const text = file().replace('*000000101*', '*101*').replace('IEA*1*000000101', 'IEA*1*101');
    expect(headerFindings(text)).toEqual([['X12_ISA_NOT_FIXED_WIDTH', 'warning', undefined], ['X12_ISA_CONTROL_INVALID', 'warning', 13]]);
    expect(ta1(text).note).toBe('E*018');
  });

  it('ISA11 from 00402 on is the repetition separator: one that cannot be (a letter) is a warning no TA105 names', () => {
    const text = file({ isa: { 12: '00501' } }).replace('*004010~', '*005010~');
    expect(headerFindings(text)).toEqual([['X12_ISA_REPETITION_SEPARATOR_INVALID', 'warning', 11]]);
    expect(catalogue.X12_ISA_REPETITION_SEPARATOR_INVALID.ta105).toBeUndefined();
    expect(ta1(text).note).toBe('A*000');
    expect(headerFindings(file({ isa: { 11: '^', 12: '00501' } }).replace('*004010~', '*005010~'))).toEqual([]);
  });

  it('accepts every code of the lists, real-world ones included', () => {
    const accepted: Record<number, string>[] = [{ 1: '03' }, { 1: '01', 3: '01' }, { 5: '01', 7: '14' }, { 5: '12', 7: 'ZZ' }, { 12: '00200' },
      { 12: '00204' }, { 12: '00305' }, { 12: '00400' }, { 11: '^', 12: '00403' }, { 15: 'T' }, { 15: 'I' }, { 14: '1' }];
    for (const fields of accepted) {
      expect(headerFindings(file({ isa: fields })), JSON.stringify(fields)).toEqual([]);
    }
  });

  it('an ISA12 that is no version Waybill knows: ISA11 is not judged (its meaning depends on the version)', () => {
    expect(headerFindings(file({ isa: { 11: 'Z', 12: '00999' } }))).toEqual([['X12_ISA_VERSION_INVALID', 'error', 12]]);
  });

  it('what counts as a version: a published one; a later-looking one is "not supported", anything else none', () => {
    expect(['00401', '00501', '00801'].map(isKnownInterchangeVersion)).toEqual([true, true, true]);
    expect(['00999', '00000', '4010', '00802'].map(isKnownInterchangeVersion)).toEqual([false, false, false, false]);
    expect(['00802', '00900', '00909'].map(isLaterInterchangeVersion)).toEqual([true, true, true]);
    expect(['00999', '00000', '00100', '00801', '01000'].map(isLaterInterchangeVersion)).toEqual([false, false, false, false, false]);
  });
});

describe('the acknowledgment never mirrors an invalid header value', () => {
  it('an ISA12 that is no version: the ack interchange is 00401, not a copy of it', () => {
    const { built } = ta1(file({ isa: { 12: '00999' } }));
    expect(built.interchange?.header.version).toBe('00401');
    expect(built.text).toMatch(/^ISA\*.*\*U\*00401\*000000900\*0\*P\*>~\nTA1\*000000101\*250416\*1105\*R\*017~/);
    // read back, the ack itself has no finding
    const back = inspectX12Sync(built.text!);
    expect(back.valid).toBe(true);
    expect(back.interchanges[0].issues).toEqual([]);
  });

  it('an ISA15 that is no usage indicator: the ack is not a copy of it', () => {
    expect(ta1(file({ isa: { 15: 'Q' } })).built.interchange?.header.usage).toBe('P');
  });

  it('a blank ISA06 or ISA08 leaves the ack unaddressable: nothing is sent, and the notes say why', () => {
    for (const [n, who] of [[6, 'ISA06 \\(sender\\)'], [8, 'ISA08 \\(receiver\\)']] as const) {
      const { built } = ta1(file({ isa: { [n]: ' '.repeat(15) } }));
      expect(built.interchangeStatus).toBe('R');
      expect(built.text).toBeNull();
      expect(built.notes.join(' ')).toMatch(new RegExp(`cannot be addressed: the inbound ${who} is blank`));
    }
    // with both identities given (the gateway's partner configuration), it is sent
    const addressed = ta1(file({ isa: { 6: ' '.repeat(15) } }), { partner: { qualifier: '02', id: 'PRLF' }, sender: { qualifier: 'ZZ', id: 'TRICOUNTYHWS' } });
    expect(addressed.note).toBe('R*006');
    expect(addressed.built.text).toContain('*02*PRLF           *');
  });
});

describe('GS: every element is mandatory', () => {
  it('a blank GS02 or GS03 (or GS04, GS05, GS07) is X12_GS_ELEMENT_MISSING: the group is rejected (AK9 R, AK905 1)', () => {
    for (const n of [2, 3, 4, 5, 7]) {
      const gs = GS.split('*').map((e, k) => (k === n ? '' : e)).join('*');
      const r = report(file({ gs }));
      expect(r.interchanges[0].groups[0].issues.map((i) => [i.code, i.elementPosition]), `GS0${n}`).toEqual([['X12_GS_ELEMENT_MISSING', n]]);
      const { built } = ta1(file({ gs }));
      expect(built.functional.map((f) => [f.status, f.groupCodes]), `GS0${n}`).toEqual([['R', ['1']]]);
    }
  });

  it("the 997 of a group with a blank GS03 (or GS02) is addressed by the ISA ids instead: its GS02/GS03 are never blank", () => {
    const noGs03 = ta1(file({ gs: 'GS*QM*PRLF**20250416*1105*2291*X*004010' })).built;
    expect(noGs03.text).toContain('\nGS*FA*TRICOUNTYHWS*PRLF*20250102*0930*900*X*004010~\n');
    const noGs02 = ta1(file({ gs: 'GS*QM**TRICOUNTYHWS*20250416*1105*2291*X*004010' })).built;
    expect(noGs02.text).toContain('\nGS*FA*TRICOUNTYHWS*PRLF*20250102*0930*900*X*004010~\n');
  });
});

describe('X12 data after an IEA, without an ISA of its own', () => {
  const secondGroup = ['GS*QM*PRLF*TRICOUNTYHWS*20250416*1105*2292*X*004010', ...SET, 'GE*1*2292'];

  it('a group after the IEA: a file error, and a warning on the interchange it follows (TA1 E*024, its 997 still sent)', () => {
    const text = file({ after: secondGroup });
    const r = report(text);
    expect(r.valid).toBe(false);
    expect(r.issues.map((i) => [i.code, i.loc.line])).toEqual([['X12_BARE_TRANSACTION', 11]]);
    const ic = r.interchanges[0].issues;
    expect(ic.map((i) => [i.code, i.severity, i.loc.line])).toEqual([['X12_DATA_AFTER_INTERCHANGE', 'warning', 11]]);
    expect(ic[0].message).toMatch(/^a functional group or transaction set follows the IEA of interchange 000000101 without an ISA of its own/);
    const { note, built } = ta1(text);
    expect(note).toBe('E*024');
    expect(built.functional.map((f) => [f.acknowledges.control, f.status])).toEqual([['2291', 'A']]);
    // on-request (the default) sends it too: TA104 E is never met with silence
    expect(buildAcks(r.interchanges[0], base).ta1?.segment.slice(4)).toEqual(['E', '024']);
  });

  it('a stray IEA, GE or SE after the IEA is noted the same way', () => {
    for (const [stray, code] of [['IEA*1*000000999', 'X12_IEA_WITHOUT_ISA'], ['GE*1*2292', 'X12_GE_WITHOUT_GS'], ['SE*6*0001', 'X12_SE_WITHOUT_ST']]) {
      const r = report(file({ after: [stray] }));
      expect(r.issues.map((i) => i.code), stray).toEqual([code]);
      expect(r.interchanges[0].issues.map((i) => i.code), stray).toEqual(['X12_DATA_AFTER_INTERCHANGE']);
    }
  });

  it('the note goes to the interchange the data follows, not to the next one', () => {
    const second = file({ isa: { 13: '000000102' } }).replace('*2291*', '*2293*').replace('GE*1*2291', 'GE*1*2293');
    const r = report(file({ after: ['IEA*1*000000999'] }) + second);
    expect(r.interchanges.map((ic) => ic.issues.map((i) => i.code))).toEqual([['X12_DATA_AFTER_INTERCHANGE'], []]);
  });

  it('not after an interchange its IEA did not end, and not for data that is no X12 (a transport banner)', () => {
    const cut = file().replace('IEA*1*000000101~\n', '');
    expect(report(`${cut}${secondGroup.map((s) => `${s}~\n`).join('')}`).interchanges[0].issues.map((i) => i.code)).toEqual(['X12_IEA_MISSING']);
    const banner = report(`${file()}*** END OF TRANSMISSION ***\n`);
    expect(banner.issues.map((i) => i.code)).toEqual(['X12_UNEXPECTED_DATA']);
    expect(banner.interchanges[0].issues).toEqual([]);
  });

  it('the reader gives it as an interchange-issue event naming the interchange, after the file-level issue', () => {
    const evs = [...readX12Sync(file({ after: secondGroup }))];
    const tail = evs.slice(evs.findIndex((e) => e.type === 'interchange-end'));
    expect(tail.map((e) => e.type)).toEqual(['interchange-end', 'issue', 'interchange-issue']);
    const start = evs.find((e) => e.type === 'interchange-start');
    const note = tail[2];
    expect(note.type === 'interchange-issue' && start?.type === 'interchange-start' && note.header === start.header).toBe(true);
  });

  it.skipIf(!hasCorpus)('the corpus file with a second IEA and no second ISA: the interchange is noted (and rejected for its ISA12 00000)', () => {
    const r = inspectX12Sync(corpusFile('envelope/gtlogistics__no-isa-heading.edi'));
    expect(r.issues.map((i) => i.code)).toEqual(['X12_IEA_WITHOUT_ISA']);
    expect(r.interchanges[0].issues.map((i) => i.code)).toEqual(['X12_ISA_VERSION_INVALID', 'X12_DATA_AFTER_INTERCHANGE']);
    expect(buildAcks(r.interchanges[0], base).ta1?.segment.slice(4)).toEqual(['R', '017']);
  });
});

describe('ControlNumbers (duplicate detection) answers exactly as a Set of the strings would', () => {
  it('ascending, with gaps, out of order, zero-padded ("0001" is not "1"), non-numeric and long values', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(
        fc.integer({ min: 0, max: 60 }).map(String),
        fc.integer({ min: 0, max: 60 }).map((n) => String(n).padStart(4, '0')),
        fc.integer({ min: 0, max: 60 }).map((n) => String(n).padStart(9, '0')),
        fc.constantFrom('', 'A1', ' 1', '1234567890123456', '1234567890123457', '9007199254740993'),
      ), { maxLength: 200 }),
      (values) => {
        const ours = new ControlNumbers();
        const set = new Set<string>();
        for (const v of values) {
          expect(ours.has(v), v).toBe(set.has(v));
          ours.add(v);
          set.add(v);
        }
        for (const v of ['0', '00', '0001', '1', '000000001', '61', 'A1', '']) expect(ours.has(v), v).toBe(set.has(v));
      },
    ), { numRuns: 300, seed: 0x214 });
  });
});

describe('ISA field findings point at the field also in an ISA that is not fixed width', () => {
  it('a wrapped ISA, one with a field padded short, one with a UTF-8 sender id: ISA09 located at its bytes', () => {
    const isa = 'ISA*00*          *00*          *02*PRLF           *ZZ*TRICOUNTYHWS   *25X506*2200*U*00401*000000001*0*P*>~';
    const rest = 'GS*QM*PRLF*TRICOUNTYHWS*20250506*2200*1*X*004010~ST*214*0001~B10*1*2*PRLF~LX*1~SE*4*0001~GE*1*1~IEA*1*000000001~';
    for (const head of [
      isa.slice(0, 40) + '\r\n' + isa.slice(40), // hard-wrapped
      isa.replace('PRLF           ', 'PRLF'), // not padded to width
      isa.replace('PRLF           ', 'PRLFÜ          '), // fixed width in characters, not in bytes
    ]) {
      const bytes = Buffer.from(head + rest, 'utf8');
      const found = [...readX12Sync(bytes)].flatMap((e) => (e.type === 'interchange-start' ? e.issues : []))
        .find((i) => i.code === 'X12_ISA_DATE_INVALID');
      const offset = bytes.indexOf('25X506');
      const before = bytes.subarray(0, offset).toString('latin1');
      const line = before.split(/\r\n|\n/).length;
      const column = offset - Math.max(before.lastIndexOf('\n'), -1);
      expect(found?.loc, JSON.stringify(head.slice(30, 60))).toEqual({ offset, line, column });
    }
  });
});
