// The acknowledgment audit's cases, end to end: inbound text -> inspect -> buildAcks -> the ack read back
// by Waybill's own checks (`waybill inspect`'s validation and the 997/999/TA1 readers). The rule every
// case checks first: an acknowledgment Waybill writes never fails Waybill's own checks of it.
import { describe, expect, it } from 'vitest';
import { buildAcks, type BuildAcksOptions } from '../../../src/translators/x12/acks/build.js';
import { parseFunctionalAck, parseTa1 } from '../../../src/translators/x12/acks/parse.js';
import { allIssues, inspectX12Sync } from '../../../src/translators/x12/inspect.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';

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
