import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, type Diagnostic } from '../../src/mappings/diagnostics.js';
import { compileOutbound, OutboundFailure, parseJsonPath, type CompiledOutbound, type RenderContext } from '../../src/mappings/outbound.js';
import { partnerSchema, type PartnerConfig } from '../../src/mappings/partner-config.js';
import { MappingFailure } from '../../src/mappings/spec.js';
import { CodeTables } from '../../src/mappings/tables.js';
import { YamlSource } from '../../src/mappings/yaml-source.js';
import { allIssues, inspectX12Sync } from '../../src/translators/x12/inspect.js';
import type { TransactionSet } from '../../src/translators/x12/model.js';
import { readX12Sync } from '../../src/translators/x12/reader.js';

const FIXTURES = new URL('../canonical/fixtures/', import.meta.url);
function fixture(type: string, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`${type}/${name}.json`, FIXTURES), 'utf8')) as Record<string, unknown>;
}
const TENDER = fixture('load.tender@1', 'original-three-stops');
const CANCEL = fixture('load.tender@1', 'cancel');
const INVOICE = fixture('freight.invoice@1', 'command-cad-accessorials-gst');

// Outbound code tables (canonical -> partner codes), written to a temporary folder like a partner's tables/.
const TABLES: Record<string, string> = {
  'tender-purpose-out': 'values: { original: "00", change: "04", cancel: "01" }',
  'payment-method-out': 'values: { prepaid: PP, collect: CC, third_party: TP, per_contract: DE }\ndefault: PP',
  'party-role-out': 'unmapped: pass-through\nvalues: { shipper: SH, consignee: CN, bill_to: BT, ship_from: SF, ship_to: ST, carrier: CA, remit_to: RE }',
  'stop-reason-out': 'values: { load: CL, unload: CU, partial_load: PL, partial_unload: PU }',
  'weight-unit-out': 'values: { lb: L, kg: K }',
  'rate-basis-out': 'values: { flat: FR, per_mile: PM, per_hundredweight: PH, per_unit: PU, per_hour: HR, percent: PE }\ndefault: FR',
  'charge-code-out': 'values: { linehaul: "400", fuel_surcharge: "405", detention: DET, liftgate: LFT, tax: GST }\ndefault: ACC',
};

let dir: string;
let tables: CodeTables;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'waybill-outbound-'));
  for (const [name, text] of Object.entries(TABLES)) writeFileSync(join(dir, `${name}.yaml`), `${text}\n`);
  tables = new CodeTables();
  expect(tables.loadDir(dir)).toEqual([]);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function partner(x12: Record<string, unknown> = {}): PartnerConfig {
  return partnerSchema.parse({
    id: 'acme-freight',
    name: 'Acme Freight',
    timezone: 'America/Chicago',
    x12: { isa: { qualifier: '02', id: 'ACMF' }, ...x12 },
    ours: { isa: { qualifier: 'ZZ', id: 'WAYBILLDEMO' } },
  });
}

const P4010 = () => partner();
const P5010 = () => partner({ version: '005010', delimiters: { element: '|', component: '^', repetition: '{', segment: '\n', lineEnding: '' } });

/** A frozen allocator: deterministic control numbers, and a record of what was asked for. */
function frozen(): RenderContext & { asked: string[] } {
  const n = { interchange: 41, group: 7, transaction: 1 };
  const asked: string[] = [];
  return {
    asked,
    now: new Date('2024-03-04T21:15:00Z'),
    controls: {
      next(kind) {
        asked.push(kind);
        return String(n[kind]++);
      },
    },
  };
}

function compile(text: string, format: 'x12' | 'csv' | 'xml', command: string, p: PartnerConfig = P4010()) {
  return compileOutbound({ src: YamlSource.parse(text, 'test.yaml'), tables, format, command, partner: p });
}

function compiled(text: string, format: 'x12' | 'csv' | 'xml', command: string, p?: PartnerConfig): CompiledOutbound {
  const { mapping, diagnostics } = compile(text, format, command, p);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  expect(errors.map(formatDiagnostic)).toEqual([]);
  expect(mapping).not.toBeNull();
  return mapping!;
}

function failure(fn: () => unknown): MappingFailure {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MappingFailure);
    return err as MappingFailure;
  }
  throw new Error('expected a MappingFailure');
}

function brief(d: Diagnostic) {
  return { code: d.code, line: d.line, column: d.column, severity: d.severity, ...(d.suggestion && { suggestion: d.suggestion }) };
}

function transactions(text: string): TransactionSet[] {
  const out: TransactionSet[] = [];
  for (const ev of readX12Sync(text)) if (ev.type === 'transaction') out.push(ev.transaction);
  return out;
}

// ------------------------------------------------------------------------------------------------ 204

const MAP_204 = `source: load.tender@1
target: x12/204
segments:
  - B2: { 2: carrierScac, 4: references.shipmentId, 6: { path: paymentMethod, table: payment-method-out } }
  - B2A: { 1: { path: purpose, table: tender-purpose-out }, 2: { const: LT } }
  - L11: { 1: references.bolNumber, 2: { const: BM } }
  - each: references.poNumbers
    segments:
      - L11: { 1: ., 2: { const: PO } }
  - G62: { 1: { const: '64' }, 2: { path: respondBy, format: date8 }, 3: { const: '1' }, 4: { path: respondBy, format: time4 }, 5: { const: CT } }
  - each: notes
    segments:
      - NTE: { 2: { path: ., truncate: true } }
  - each: parties
    segments:
      - N1: { 1: { path: role, table: party-role-out }, 2: name, 3: 'ids[0].qualifier', 4: 'ids[0].value' }
      - N3: { 1: 'address.lines[0]', 2: 'address.lines[1]' }
      - N4: { 1: address.city, 2: address.state, 3: address.postalCode, 4: address.country }
      - each: contacts
        segments:
          - G61: { 1: { const: IC }, 2: name, 3: { const: TE, when: { exists: phone } }, 4: phone }
  - each: stops
    segments:
      - S5:
          1: sequence
          2: { path: reason, table: stop-reason-out }
          3: weight.value
          4: { path: weight.unit, table: weight-unit-out }
      - each: references
        segments:
          - L11: { 1: value, 2: qualifier }
      - when: { path: reason, in: [load, partial_load] }
        segments:
          - G62: { 1: { const: '37' }, 2: { path: requested.earliest, format: date8 }, 3: { const: I }, 4: { path: requested.earliest, format: time4 }, 5: { const: CT } }
          - G62: { 1: { const: '38' }, 2: { path: requested.latest, format: date8 }, 3: { const: K }, 4: { path: requested.latest, format: time4 }, 5: { const: CT } }
      - when: { path: reason, in: [unload, partial_unload] }
        segments:
          - G62: { 1: { const: '53' }, 2: { path: requested.earliest, format: date8 }, 3: { const: G }, 4: { path: requested.earliest, format: time4 }, 5: { const: CT } }
          - G62: { 1: { const: '54' }, 2: { path: requested.latest, format: date8 }, 3: { const: L }, 4: { path: requested.latest, format: time4 }, 5: { const: CT } }
      - each: notes
        segments:
          - NTE: { 2: { path: ., truncate: true } }
      - N1: { 1: { path: party.role, table: party-role-out }, 2: party.name, 3: 'party.ids[0].qualifier', 4: 'party.ids[0].value' }
      - N3: { 1: 'party.address.lines[0]', 2: 'party.address.lines[1]' }
      - N4: { 1: party.address.city, 2: party.address.state, 3: party.address.postalCode, 4: party.address.country }
  - L3:
      1: totalWeight.value
      2: { const: G, when: { exists: totalWeight.value } }
      5: { path: totalCharge.amount, format: implied2 }
      11: totalQuantity.value
      12: { path: totalWeight.unit, table: weight-unit-out }
`;

/** The 204 body (ST..SE) for the three-stop tender, with `*` and `~`; G62 times are in the partner's zone (Chicago). */
const BODY_204 = [
  'ST*204*0001',
  'B2**ACMF**SHP-20240305-0042**PP',
  'B2A*00*LT',
  'L11*BOL88123*BM',
  'L11*PO-55102*PO',
  'L11*PO-55107*PO',
  'G62*64*20240304*1*1800*CT',
  'NTE**Driver must have PPE (vest, steel toes) at both plants',
  'NTE**No double brokering',
  'N1*SH*Midwest Axle & Gear Co*93*MAG-AUR-01',
  'N3*2200 Commerce Dr',
  'N4*Aurora*IL*60504*US',
  'G61*IC*Shipping Desk*TE*+1 630 555 0142',
  'N1*CN*Hoosier Assembly Plant 4*1*071239844',
  'N3*7100 W Washington St*Dock 12',
  'N4*Indianapolis*IN*46241*US',
  'G61*IC*Receiving*TE*+1 317 555 0199',
  'N1*BT*Midwest Axle & Gear Co - Freight Payables*92*AP-7781',
  'N3*PO Box 4410',
  'N4*Naperville*IL*60567*US',
  'S5*1*CL*18420*L',
  'L11*PU-440912*P8',
  'G62*37*20240306*I*0700*CT',
  'G62*38*20240306*K*1100*CT',
  'N1*SF*Midwest Axle & Gear Co*93*MAG-AUR-01',
  'N3*2200 Commerce Dr',
  'N4*Aurora*IL*60504*US',
  'S5*2*PU*3120*L',
  'L11*PO-55107*PO',
  'G62*53*20240306*G*1200*CT',
  'G62*54*20240306*L*1600*CT',
  'NTE**Crossdock closes 16:00 CT; call 30 minutes out',
  'N1*ST*Midwest Axle Joliet Crossdock*93*MAG-JOL-02',
  'N3*1900 Channahon Rd',
  'N4*Joliet*IL*60436*US',
  'S5*3*CU*15300*L',
  'L11*PO-55102*PO',
  // 17:00 at -05:00 (Indianapolis) is 16:00 in Chicago
  'G62*54*20240307*L*1600*CT',
  'N1*ST*Hoosier Assembly Plant 4*1*071239844',
  'N3*7100 W Washington St*Dock 12',
  'N4*Indianapolis*IN*46241*US',
  'L3*18420*G***182697******22*L',
  'SE*43*0001',
];

const EXPECTED_204_4010 = [
  'ISA*00*          *00*          *ZZ*WAYBILLDEMO    *02*ACMF           *240304*1515*U*00401*000000041*0*P*>',
  'GS*SM*WAYBILLDEMO*ACMF*20240304*1515*7*X*004010',
  ...BODY_204,
  'GE*1*7',
  'IEA*1*000000041',
].map((s) => `${s}~\n`).join('');

describe('outbound X12 204', () => {
  it('renders a three-stop load tender on 004010 (* > ~ + LF), byte for byte, and it reads back valid', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    expect(mapping.setId).toBe('204');
    const ctx = frozen();
    const doc = mapping.render(TENDER, ctx);
    expect(doc.text).toBe(EXPECTED_204_4010);
    expect(doc.format).toBe('x12');
    expect(doc.controls).toEqual({ interchange: '000000041', group: '7', transaction: '0001' });
    expect(ctx.asked).toEqual(['interchange', 'group', 'transaction']);

    const txs = transactions(doc.text);
    expect(txs).toHaveLength(1);
    expect(txs[0].setId).toBe('204');
    expect(txs[0].issues).toEqual([]);
    expect(txs[0].segments.filter((s) => s.id === 'S5').map((s) => s.elements[1])).toEqual(['1', '2', '3']);
    expect(txs[0].interchange?.senderId).toBe('WAYBILLDEMO');
    expect(txs[0].interchange?.receiverId).toBe('ACMF');
    const report = inspectX12Sync(doc.text);
    expect(allIssues(report).filter((i) => i.severity === 'error')).toEqual([]);
    expect(report.valid).toBe(true);
  });

  it('is deterministic: same command, clock and control numbers give identical output', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    expect(mapping.render(TENDER, frozen()).text).toBe(mapping.render(structuredClone(TENDER), frozen()).text);
  });

  it('renders the same tender on 005010 with | ^ and newline-terminated segments', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1', P5010());
    const doc = mapping.render(TENDER, frozen());
    const expected = [
      'ISA|00|          |00|          |ZZ|WAYBILLDEMO    |02|ACMF           |240304|1515|{|00501|000000041|0|P|^',
      'GS|SM|WAYBILLDEMO|ACMF|20240304|1515|7|X|005010',
      ...BODY_204.map((s) => s.replace(/\*/g, '|')),
      'GE|1|7',
      'IEA|1|000000041',
    ].map((s) => `${s}\n`).join('');
    expect(doc.text).toBe(expected);
    const txs = transactions(doc.text);
    expect(txs).toHaveLength(1);
    expect(txs[0].group?.version).toBe('005010');
    const report = inspectX12Sync(doc.text);
    expect(allIssues(report).filter((i) => i.severity === 'error')).toEqual([]);
    expect(report.valid).toBe(true);
  });

  it('writes B2A01 01 for a cancellation, and optional segments without data disappear', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    // A cancel that still lists its stops renders; B2A01 says cancellation.
    const withStops = { ...structuredClone(TENDER), purpose: 'cancel' } as typeof TENDER;
    const tx = transactions(mapping.render(withStops, frozen()).text)[0];
    expect(tx.segments.find((s) => s.id === 'B2A')?.elements.slice(1)).toEqual(['01', 'LT']);
  });

  it('refuses to render a document its own validator rejects (a cancel without the mandatory S5 loop)', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    const err = failure(() => mapping.render(CANCEL, frozen()));
    expect(err.code).toBe('MAP_OUTPUT_INVALID');
    expect(err.message).toMatch(/X12_SEGMENT_MANDATORY_MISSING/);
    expect(err.message).toMatch(/S5/);
  });

  it('refuses output that breaks a syntax note (N1 with neither N102 nor N103), which readers only warn about', () => {
    // A name of spaces alone is no value, and this party has no id: `N1*SH` breaks N1's R0203.
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    const bad = structuredClone(TENDER) as { parties: { name: string; ids?: unknown }[] };
    bad.parties[0].name = '   ';
    delete bad.parties[0].ids;
    const err = failure(() => mapping.render(bad, frozen()));
    expect(err.code).toBe('MAP_OUTPUT_INVALID');
    expect(err.message).toMatch(/X12_ELEMENT_CONDITIONAL_MISSING N102 or one of N103 is required \(syntax note R0203\)/);
    // Traced back to the party and the N1 line of the mapping.
    expect(err.source?.what).toBe('/parties/0');
    expect(err.mapping?.line).toBe(16);
  });

  it('names the list item and mapping line when a list overflows its segment or loop maximum, each finding once', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    const many = structuredClone(TENDER) as { notes?: string[] };
    many.notes = Array.from({ length: 12 }, (_, i) => `NOTE ${i + 1}`);
    const err = failure(() => mapping.render(many, frozen()));
    expect(err.code).toBe('MAP_OUTPUT_INVALID');
    expect(err.message).toBe('the rendered 204 does not pass X12 validation: X12_SEGMENT_OVER_MAX NTE occurs more than its maximum of 10 [NTE]');
    expect(err.source?.what).toBe('/notes/10');
    expect(err.mapping?.line).toBe(13);
  });

  it('converts timestamps to the partner time zone, or keeps their own offset with timezone: keep', () => {
    const text = MAP_204.replace(
      "4: { path: respondBy, format: time4 }, 5: { const: CT } }",
      "4: { path: respondBy, format: time4, timezone: keep }, 5: { const: CT } }",
    );
    const ny = partnerSchema.parse({ ...P4010(), timezone: 'America/New_York' });
    const doc = compiled(text, 'x12', 'load.tender@1', ny).render(TENDER, frozen());
    expect(doc.text).toContain('G62*64*20240304*1*1800*CT~'); // 18:00-06:00 as written
    expect(doc.text).toContain('G62*37*20240306*I*0800*CT~'); // 07:00-06:00 is 08:00 in New York
  });

  // The envelope's dates and times (ISA09/ISA10, GS04/GS05) are the partner's wall clock, as its body's
  // times and Waybill's acknowledgments are (they were written in UTC: a tender sent at 19:05 in Chicago
  // said 00:05 the next day).
  it.each([
    // [partner timezone, render clock, ISA09, ISA10, GS04]
    ['America/Chicago', '2024-03-04T21:15:00Z', '240304', '1515', '20240304'], // CST, UTC-6
    ['America/Chicago', '2025-01-01T00:00:00Z', '241231', '1800', '20241231'], // the --frozen clock: the day before
    ['America/Chicago', '2025-10-20T19:05:00Z', '251020', '1405', '20251020'], // CDT, UTC-5
    ['America/New_York', '2024-03-10T06:59:00Z', '240310', '0159', '20240310'], // the minute before the spring-forward gap
    ['America/New_York', '2024-03-10T07:00:00Z', '240310', '0300', '20240310'], // ... and after it: EDT
    ['Asia/Kolkata', '2024-03-04T21:15:00Z', '240305', '0245', '20240305'], // UTC+5:30, the next day
    ['-06:00', '2024-07-04T03:30:00Z', '240703', '2130', '20240703'], // a fixed offset, no DST
    ['UTC', '2024-03-04T21:15:00Z', '240304', '2115', '20240304'],
  ])('stamps ISA09/ISA10 and GS04/GS05 as the wall clock of a partner in %s (at %s)', (timezone, now, isa09, isa10, gs04) => {
    const p = partnerSchema.parse({ ...P5010(), timezone });
    const doc = compiled(MAP_204, 'x12', 'load.tender@1', p).render(TENDER, { ...frozen(), now: new Date(now) });
    const [isa, gs] = doc.text.split('\n');
    expect(isa.split('|').slice(9, 11)).toEqual([isa09, isa10]);
    expect(gs.split('|').slice(4, 6)).toEqual([gs04, isa10]);
    expect(inspectX12Sync(doc.text).valid).toBe(true);
  });

  it('refuses a delimiter inside data with a coded error naming the element and the mapping line, before using control numbers', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    const bad = structuredClone(TENDER) as { parties: { name: string }[] };
    bad.parties[0].name = 'Midwest Axle*Gear Co';
    const ctx = frozen();
    const err = failure(() => mapping.render(bad, ctx));
    expect(err).toBeInstanceOf(OutboundFailure);
    expect(err.code).toBe('MAP_DELIMITER_IN_DATA');
    expect(err.message).toContain('N102');
    expect(err.message).toContain('element delimiter "*"');
    // line 16 of MAP_204: `- N1: { 1: ..., 2: name, ...}`, the value spec of element 2
    expect(err.mapping).toEqual({ file: 'test.yaml', line: 16, column: 60 });
    expect(err.source?.what).toBe('/parties/0');
    expect(ctx.asked).toEqual([]);

    // the component separator counts too
    const bad2 = structuredClone(TENDER) as { stops: { references: { value: string }[] }[] };
    bad2.stops[0].references[0].value = 'PU>440912';
    const err2 = failure(() => mapping.render(bad2, frozen()));
    expect(err2.code).toBe('MAP_DELIMITER_IN_DATA');
    expect(err2.message).toContain('L1101');
    expect(err2.mapping?.line).toBe(31);
  });

  it('refuses a date its format cannot write: past the year 9999 in the partner zone, or outside 1950-2049 as YYMMDD', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    const late = structuredClone(TENDER) as { respondBy: string };
    late.respondBy = '9999-12-31T23:30:00-12:00'; // 10000-01-01 in Chicago
    const err = failure(() => mapping.render(late, frozen()));
    expect(err.code).toBe('MAP_BAD_DATE');
    expect(err.message).toMatch(/falls in the year 10000 in America\/Chicago/);
    const text = MAP_204.replace("2: { path: respondBy, format: date8 }", "2: { path: respondBy, format: date6 }");
    const m6 = compiled(text.replace('G62: { 1: { const: \'64\' }', 'G62: { 1: { const: \'64\' }'), 'x12', 'load.tender@1');
    const far = structuredClone(TENDER) as { respondBy: string };
    far.respondBy = '2051-03-04T12:00:00-06:00';
    const err6 = failure(() => m6.render(far, frozen()));
    expect(err6.code).toBe('MAP_BAD_DATE');
    expect(err6.message).toMatch(/outside 1950-2049/);
  });

  it('refuses a character outside the X12 character set (ASCII) in data, naming the element and the character', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    for (const [value, cp, offset] of [['CAFÉ', '00C9 "É"', 3], ['上海', '4E0A "上"', 0], ['BOX 📦', '1F4E6 "📦"', 4], ['A\u00a0B', '00A0 "\u00a0"', 1], ['A\u0085B', '0085', 1]] as const) {
      const bad = structuredClone(TENDER) as { parties: { name: string }[] };
      bad.parties[0].name = value;
      const err = failure(() => mapping.render(bad, frozen()));
      expect(err.code, value).toBe('MAP_VALUE_INVALID');
      expect(err.message, value).toBe(`N102: ${JSON.stringify(value)} holds U+${cp} at offset ${offset}, outside the X12 character set (ASCII)`);
      expect(err.source?.what, value).toBe('/parties/0');
    }
  });

  it('refuses a control character (a CR, which readers drop inside a segment) or half of a surrogate pair in data, naming the element', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    for (const [value, cp] of [['Midwest\rAxle', '000D'], ['Midwest\u0000Axle', '0000'], ['Midwest \ud800Axle', 'D800']] as const) {
      const bad = structuredClone(TENDER) as { parties: { name: string }[] };
      bad.parties[0].name = value;
      const ctx = frozen();
      const err = failure(() => mapping.render(bad, ctx));
      expect(err.code, cp).toBe('MAP_VALUE_INVALID');
      expect(err.message, cp).toContain(`N102: ${JSON.stringify(value)} holds U+${cp}, which X12 data cannot carry`);
      expect(err.mapping, cp).toEqual({ file: 'test.yaml', line: 16, column: 60 });
      expect(ctx.asked, cp).toEqual([]);
    }
    // A character outside the BMP, whole, is cut as one character (79 X and a truck are NTE02's 80), but
    // is outside the X12 character set: refused, naming it, rather than sent as four UTF-8 bytes.
    const emoji = structuredClone(TENDER) as { notes: string[] };
    emoji.notes = [`${'X'.repeat(79)}\u{1F69A} tail`];
    const err = failure(() => mapping.render(emoji, frozen()));
    expect(err.message).toBe(`NTE02: ${JSON.stringify(`${'X'.repeat(79)}\u{1F69A}`)} holds U+1F69A "\u{1F69A}" at offset 79, outside the X12 character set (ASCII)`);
  });

  it('suppresses an AN value\'s trailing spaces, and writes a value of spaces alone as no value', () => {
    const mapping = compiled(MAP_204, 'x12', 'load.tender@1');
    const padded = structuredClone(TENDER) as { parties: { name: string; address: { postalCode: string } }[] };
    padded.parties[0].name = 'Midwest Axle & Gear Co   ';
    padded.parties[0].address.postalCode = '   ';
    const text = mapping.render(padded, frozen()).text;
    expect(text).toContain('N1*SH*Midwest Axle & Gear Co*93*MAG-AUR-01~');
    expect(text).toContain('N4*Aurora*IL**US~');
  });

  it('fails a render with the mapping line when a required value is missing or a code is unmapped', () => {
    const text = MAP_204.replace('4: references.shipmentId,', '4: { path: references.loadId, required: true },');
    const err = failure(() => compiled(text, 'x12', 'load.tender@1').render(TENDER, frozen()));
    expect(err.code).toBe('MAP_REQUIRED_MISSING');
    expect(err.mapping).toMatchObject({ line: 4, column: 30 });

    const hooked = structuredClone(TENDER) as { stops: { reason: string }[] };
    hooked.stops[0].reason = 'hook_trailer';
    const err2 = failure(() => compiled(MAP_204, 'x12', 'load.tender@1').render(hooked, frozen()));
    expect(err2.code).toBe('MAP_UNMAPPED_CODE');
    expect(err2.message).toContain("'hook_trailer'");
    expect(err2.mapping).toMatchObject({ line: 26, column: 37 });
    expect(err2.source?.what).toBe('/stops/0');
  });

  it('checks values against the X12 element: lengths, numeric types, dates', () => {
    const long = structuredClone(TENDER) as { references: { shipmentId: string } };
    long.references.shipmentId = 'S'.repeat(31);
    const err = failure(() => compiled(MAP_204, 'x12', 'load.tender@1').render(long, frozen()));
    expect(err.code).toBe('MAP_VALUE_TOO_LONG');
    expect(err.message).toContain('B204');
    expect(err.mapping).toMatchObject({ line: 4, column: 30 });

    const noImplied = MAP_204.replace('5: { path: totalCharge.amount, format: implied2 }', '5: totalCharge.amount');
    const err2 = failure(() => compiled(noImplied, 'x12', 'load.tender@1').render(TENDER, frozen()));
    expect(err2.code).toBe('MAP_VALUE_INVALID');
    expect(err2.message).toContain('use format: implied2');
  });

  it('warns about enum values a code table cannot translate', () => {
    const { diagnostics } = compile(MAP_204, 'x12', 'load.tender@1');
    expect(diagnostics.map(brief)).toEqual([
      { code: 'MAP_TABLE_INCOMPLETE', line: 26, column: 37, severity: 'warning' },
    ]);
    expect(diagnostics[0].message).toContain("'hook_trailer', 'drop_trailer', 'other'");
  });
});

// ------------------------------------------------------------------------------------------------ 210

const MAP_210 = `source: freight.invoice@1
target: x12/210
segments:
  - B3:
      2: references.invoiceNumber
      3: references.bolNumber
      4: { path: paymentMethod, table: payment-method-out }
      6: { path: invoiceDate, format: date8 }
      7: { path: amountDue.amount, format: implied2 }
      9: { path: deliveredOn, format: date8 }
      10: { const: '035', when: { exists: deliveredOn } }
      11: carrierScac
  - C3: { 1: amountDue.currency }
  - N9: { 1: { const: CN }, 2: references.proNumber }
  - each: references.poNumbers
    segments:
      - N9: { 1: { const: PO }, 2: . }
  - G62: { 1: { const: '86' }, 2: { path: shippedOn, format: date8 } }
  - each: parties
    segments:
      - N1: { 1: { path: role, table: party-role-out }, 2: name, 3: 'ids[0].qualifier', 4: 'ids[0].value' }
      - N3: { 1: 'address.lines[0]' }
      - N4: { 1: address.city, 2: address.state, 3: address.postalCode, 4: address.country }
  - each: charges
    segments:
      - LX: { 1: $index }
      - L1:
          1: lineNumber
          2: rate
          3: { path: rateBasis, table: rate-basis-out, when: { exists: rate } }
          4: { path: amount.amount, format: implied2 }
          8: { path: code, table: charge-code-out }
          12: { path: description, truncate: true }
  - L3: { 5: { path: amountDue.amount, format: implied2 } }
`;

describe('outbound X12 210', () => {
  it('renders a freight invoice with implied-decimal amounts', () => {
    const mapping = compiled(MAP_210, 'x12', 'freight.invoice@1');
    const doc = mapping.render(INVOICE, frozen());
    expect(doc.text).toBe([
      'ISA*00*          *00*          *ZZ*WAYBILLDEMO    *02*ACMF           *240304*1515*U*00401*000000041*0*P*>',
      'GS*IM*WAYBILLDEMO*ACMF*20240304*1515*7*X*004010',
      'ST*210*0001',
      'B3**WB-INV-000512*BOL-ML-3391*TP**20240318*282030**20240315*035*WYBL',
      'C3*CAD',
      'N9*CN*WB-100512',
      'N9*PO*MR-77120',
      'G62*86*20240314',
      'N1*SH*Great Lakes Packaging Ltd',
      'N3*88 Industrial Pkwy N',
      'N4*Aurora*ON*L4G 4C4*CA',
      'N1*CN*Maple Retail DC Montreal',
      'N3*3100 Rue Industrielle',
      'N4*Laval*QC*H7L 4S3*CA',
      'N1*BT*Maple Retail Inc - Accounts Payable*92*VEND-20931',
      'N3*1 Yonge St',
      'N4*Toronto*ON*M5E 1E5*CA',
      'N1*RE*Waybill Demo Carrier Ltd',
      'N3*PO Box 300 Stn A',
      'N4*Toronto*ON*M5W 1C2*CA',
      'LX*1',
      'L1*1***215000****400****Linehaul Aurora ON - Lava',
      'LX*2',
      'L1*2*14*PE*30100****405',
      'LX*3',
      'L1*3*75.00*HR*15000****DET****Detention at delivery, 2',
      'LX*4',
      'L1*4***8500****LFT',
      'LX*5',
      'L1*5*5*PE*13430****GST****GST 5%',
      'L3*****282030',
      'SE*30*0001',
      'GE*1*7',
      'IEA*1*000000041',
    ].map((s) => `${s}~\n`).join(''));
    const report = inspectX12Sync(doc.text);
    expect(allIssues(report).filter((i) => i.severity === 'error')).toEqual([]);
    expect(report.valid).toBe(true);
  });

  it('refuses an amount with more than 2 decimals for implied2 rather than rounding', () => {
    const inv = structuredClone(INVOICE) as { charges: { amount: { amount: string } }[] };
    inv.charges[0].amount.amount = '2150.005';
    const err = failure(() => compiled(MAP_210, 'x12', 'freight.invoice@1').render(inv, frozen()));
    expect(err.code).toBe('MAP_BAD_DECIMAL');
    expect(err.message).toContain('cannot be written without rounding');
    expect(err.mapping).toMatchObject({ line: 31, column: 45 });
    expect(err.source?.what).toBe('/charges/0');
  });

  it('checks the mapping against the 005010 210 (N9 became L11)', () => {
    const { mapping, diagnostics } = compile(MAP_210, 'x12', 'freight.invoice@1', P5010());
    expect(mapping).toBeNull();
    expect(diagnostics.map(brief)).toEqual([
      { code: 'MAP_SEGMENT_NOT_IN_SET', line: 14, column: 5, severity: 'error', suggestion: 'N1' },
      { code: 'MAP_SEGMENT_NOT_IN_SET', line: 17, column: 9, severity: 'error', suggestion: 'N1' },
    ]);
    expect(diagnostics[0].message).toBe('segment N9 is not part of transaction set 210 (005010)');
  });
});

// ------------------------------------------------------------------------------------------------ CSV

const MAP_CSV = `source: load.tender@1
target: csv
each: stops
lineEnding: lf
columns:
  - { name: Shipment, value: /references.shipmentId }
  - { name: Stop, value: sequence }
  - { name: Type, value: { path: reason, table: stop-reason-out } }
  - { name: Location, value: { concat: [party.address.city, party.address.state], separator: ', ' } }
  - { name: Earliest, value: { path: requested.earliest, format: date8 } }
  - { name: Appointment, value: { path: appointment.start, format: time4, timezone: keep } }
  - { name: PO, value: 'references[qualifier=PO].value' }
  - { name: Notes, value: { all: notes, join: ' / ' } }
`;

describe('outbound CSV', () => {
  it('writes one row per stop with a header', () => {
    const doc = compiled(MAP_CSV, 'csv', 'load.tender@1').render(TENDER, frozen());
    expect(doc).toEqual({
      format: 'csv',
      text: [
        'Shipment,Stop,Type,Location,Earliest,Appointment,PO,Notes',
        'SHP-20240305-0042,1,CL,"Aurora, IL",20240306,0800,,',
        'SHP-20240305-0042,2,PU,"Joliet, IL",20240306,,PO-55107,Crossdock closes 16:00 CT; call 30 minutes out',
        'SHP-20240305-0042,3,CU,"Indianapolis, IN",,1300,PO-55102,',
        '',
      ].join('\n'),
    });
  });

  it('refuses a NUL or half of a surrogate pair at its column (CSV readers refuse the record, or read U+FFFD)', () => {
    const mapping = compiled(MAP_CSV, 'csv', 'load.tender@1');
    for (const [note, cp] of [['call\u0000ahead', '0000'], ['call \udc00ahead', 'DC00']] as const) {
      const bad = structuredClone(TENDER) as { stops: { notes?: string[] }[] };
      bad.stops[1].notes = [note];
      const err = failure(() => mapping.render(bad, frozen()));
      expect(err.code, cp).toBe('MAP_VALUE_INVALID');
      expect(err.message, cp).toMatch(new RegExp(`^column 'Notes': row \\d+ field 8 holds .* U\\+${cp}, which CSV text cannot carry$`));
      expect(err.mapping?.line, cp).toBe(13);
    }
    // Line breaks and tabs are quoted, not refused.
    const ok = structuredClone(TENDER) as { stops: { notes?: string[] }[] };
    ok.stops[1].notes = ['two\nlines\tand a tab'];
    expect(mapping.render(ok, frozen()).text).toContain('"two\nlines\tand a tab"');
  });

  it('writes a single row from the root without each, with options', () => {
    const text = `source: freight.invoice@1
target: csv
header: false
delimiter: ';'
fileName: { concat: [{ const: invoice }, references.invoiceNumber], separator: '-' }
columns:
  - { name: Invoice, value: references.invoiceNumber }
  - { name: Amount, value: amountDue.amount }
  - { name: Tax, value: 'charges[code=tax].amount.amount' }
  - { name: Date, value: { path: invoiceDate, format: date6 } }
`;
    const doc = compiled(text, 'csv', 'freight.invoice@1').render(INVOICE, frozen());
    expect(doc).toEqual({ format: 'csv', text: 'WB-INV-000512;2820.30;134.30;240318\r\n', fileName: 'invoice-WB-INV-000512' });
  });
});

// ------------------------------------------------------------------------------------------------ XML

const MAP_XML = `source: freight.invoice@1
target: xml
root: FreightInvoice
document:
  '@number': references.invoiceNumber
  '@purpose': purpose
  Carrier: { '@scac': carrierScac }
  InvoiceDate: invoiceDate
  ShippedOn: { path: shippedOn, format: date8 }
  PoNumber: { each: references.poNumbers, value: . }
  Parties:
    Party:
      each: parties
      content:
        '@role': role
        Name: name
        AccountId: 'ids[qualifier=92].value'
        City: address.city
        Country: address.country
  Charges:
    Charge:
      each: charges
      when: { not: { path: code, equals: tax } }
      content:
        '@line': lineNumber
        Code: code
        Description: description
        Amount: { '@currency': amount.currency, '#text': amount.amount }
  Tax: { path: 'charges[code=tax].amount.amount' }
  Discount:
    content: { '@currency': amountDue.currency, '#text': 'charges[code=discount].amount.amount' }
    when: { exists: 'charges[code=discount].amount.amount' }
  AmountDue: { content: { '@currency': amountDue.currency, '#text': amountDue.amount }, required: true }
`;

describe('outbound XML', () => {
  it('writes an element tree with attributes, repeated elements and omitted empty elements', () => {
    const doc = compiled(MAP_XML, 'xml', 'freight.invoice@1').render(INVOICE, frozen());
    expect(doc.format).toBe('xml');
    expect(doc.text).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<FreightInvoice number="WB-INV-000512" purpose="original">
  <Carrier scac="WYBL"></Carrier>
  <InvoiceDate>2024-03-18</InvoiceDate>
  <ShippedOn>20240314</ShippedOn>
  <PoNumber>MR-77120</PoNumber>
  <Parties>
    <Party role="shipper">
      <Name>Great Lakes Packaging Ltd</Name>
      <City>Aurora</City>
      <Country>CA</Country>
    </Party>
    <Party role="consignee">
      <Name>Maple Retail DC Montreal</Name>
      <City>Laval</City>
      <Country>CA</Country>
    </Party>
    <Party role="bill_to">
      <Name>Maple Retail Inc - Accounts Payable</Name>
      <AccountId>VEND-20931</AccountId>
      <City>Toronto</City>
      <Country>CA</Country>
    </Party>
    <Party role="remit_to">
      <Name>Waybill Demo Carrier Ltd</Name>
      <City>Toronto</City>
      <Country>CA</Country>
    </Party>
  </Parties>
  <Charges>
    <Charge line="1">
      <Code>linehaul</Code>
      <Description>Linehaul Aurora ON - Laval QC</Description>
      <Amount currency="CAD">2150.00</Amount>
    </Charge>
    <Charge line="2">
      <Code>fuel_surcharge</Code>
      <Amount currency="CAD">301.00</Amount>
    </Charge>
    <Charge line="3">
      <Code>detention</Code>
      <Description>Detention at delivery, 2 h after 2 h free</Description>
      <Amount currency="CAD">150.00</Amount>
    </Charge>
    <Charge line="4">
      <Code>liftgate</Code>
      <Amount currency="CAD">85.00</Amount>
    </Charge>
  </Charges>
  <Tax>134.30</Tax>
  <AmountDue currency="CAD">2820.30</AmountDue>
</FreightInvoice>
`);
  });

  it('escapes markup in values and fails a required element without data', () => {
    const inv = structuredClone(INVOICE) as { parties: { name: string }[]; amountDue: unknown };
    inv.parties[0].name = 'Lakes <&> "Packaging"';
    const mapping = compiled(MAP_XML, 'xml', 'freight.invoice@1');
    expect(mapping.render(inv, frozen()).text).toContain('<Name>Lakes &lt;&amp;&gt; &quot;Packaging&quot;</Name>');
    delete (inv as { amountDue?: unknown }).amountDue;
    const err = failure(() => mapping.render(inv, frozen()));
    expect(err.code).toBe('MAP_REQUIRED_MISSING');
    expect(err.mapping).toMatchObject({ line: 33, column: 14 });
  });
});

// ------------------------------------------------------------------------------------------------ compile diagnostics

describe('outbound compile diagnostics', () => {
  it('collects every problem with its position, code and suggestion', () => {
    const text = `source: load.tender@1
target: x12/204
segmants: []
segments:
  - B2: { 2: carrierSacc, 4: refrences.shipmentId, 6: { path: paymentMethod, table: payment-method-outt } }
  - B2A: { 1: { path: purpose, table: tender-purpose-out }, 5: { const: LT } }
  - NTX: { 2: notes }
  - N9: { 1: { const: BM } }
  - each: carrierScac
    segments:
      - L11: { 1: ., 2: { const: BM } }
  - G62: { 1: { const: '64' }, 2: { path: respondBy, format: date9 }, 4: { const: noon } }
  - each: stops
    when: { path: reason, equals: lod }
    segments:
      - S5: { 1: sequence, 2: { path: reason, table: stop-reason-out }, 3: weight }
      - ST: { 1: { const: '204' } }
`;
    const { mapping, diagnostics } = compile(text, 'x12', 'load.tender@1');
    expect(mapping).toBeNull();
    expect(diagnostics.map(brief)).toEqual([
      { code: 'MAP_UNKNOWN_KEY', line: 3, column: 1, severity: 'error', suggestion: 'segments' },
      { code: 'MAP_UNKNOWN_FIELD', line: 5, column: 14, severity: 'error', suggestion: 'carrierScac' },
      { code: 'MAP_UNKNOWN_FIELD', line: 5, column: 30, severity: 'error', suggestion: 'references' },
      { code: 'MAP_UNKNOWN_TABLE', line: 5, column: 85, severity: 'error', suggestion: 'payment-method-out' },
      { code: 'MAP_ELEMENT_OUT_OF_RANGE', line: 6, column: 61, severity: 'error' },
      { code: 'MAP_UNKNOWN_SEGMENT', line: 7, column: 5, severity: 'error', suggestion: 'NTE' },
      { code: 'MAP_SEGMENT_NOT_IN_SET', line: 8, column: 5, severity: 'error', suggestion: 'N1' },
      { code: 'MAP_NOT_A_LIST', line: 9, column: 11, severity: 'error' },
      { code: 'MAP_UNKNOWN_FORMAT', line: 12, column: 62, severity: 'error', suggestion: 'date8' },
      { code: 'MAP_VALUE_INVALID', line: 12, column: 83, severity: 'error' },
      { code: 'MAP_VALUE_NEVER_VALID', line: 14, column: 35, severity: 'error', suggestion: 'load' },
      { code: 'MAP_TABLE_INCOMPLETE', line: 16, column: 54, severity: 'warning' },
      { code: 'MAP_NOT_A_VALUE', line: 16, column: 76, severity: 'error' },
      { code: 'MAP_ENVELOPE_SEGMENT', line: 17, column: 9, severity: 'error' },
    ]);
    const text1 = diagnostics.map(formatDiagnostic);
    expect(text1).toContain("test.yaml:6:61 MAP_ELEMENT_OUT_OF_RANGE B2A has 2 elements in 004010 (1 to 2); there is no element 05");
    expect(text1).toContain("test.yaml:7:5 MAP_UNKNOWN_SEGMENT unknown segment 'NTX'; 204 (004010) uses B2 B2A L11 G62 MS3 AT5 PLD LH6 NTE N1 N2 N3 N4 G61 N7 N7A N7B MEA M7 S5 AT8 LAD L5 LH1 LH2 LH3 LFH LEP LH4 LHT OID L3 (did you mean 'NTE'?)");
    expect(text1).toContain("test.yaml:5:14 MAP_UNKNOWN_FIELD load.tender@1 has no field 'carrierSacc'; fields here: kind, id, type, partner, requestId, issuedAt, issuedBy, references, purpose, carrierScac, paymentMethod, respondBy, parties, equipment, stops, lineItems, totalWeight, totalQuantity, charges, totalCharge, notes (did you mean 'carrierScac'?)");
    expect(text1).toContain("test.yaml:5:85 MAP_UNKNOWN_TABLE no code table 'payment-method-outt' (did you mean 'payment-method-out'?)");
    expect(text1).toContain("test.yaml:16:76 MAP_NOT_A_VALUE 'weight' is an object, not a value; map one of its fields (value, unit, basis)");
  });

  it('checks paths inside each blocks against the item type', () => {
    const text = `source: load.tender@1
target: csv
each: stops
columns:
  - { name: City, value: party.adress.city }
  - { name: Shipment, value: references.shipmentId }
  - { name: Shipment, value: /references.shipmentId }
`;
    const { diagnostics } = compile(text, 'csv', 'load.tender@1');
    expect(diagnostics.map(brief)).toEqual([
      { code: 'MAP_UNKNOWN_FIELD', line: 5, column: 26, severity: 'error', suggestion: 'address' },
      { code: 'MAP_UNKNOWN_FIELD', line: 6, column: 30, severity: 'error', suggestion: '/references.shipmentId' },
      { code: 'MAP_DUPLICATE_COLUMN', line: 7, column: 13, severity: 'warning' },
    ]);
    expect(diagnostics[1].message).toContain("paths are relative to the item, '/references.shipmentId' starts at the command");
  });

  it('reports a wrong source, target and unknown keys of XML mappings', () => {
    const text = `source: load.tender@2
target: csv
root: Tender
document:
  Id: { path: references.shipmentId, format: upper, trim: yes }
  Stop: { each: stops, element: { Seq: sequence } }
`;
    const { mapping, diagnostics } = compile(text, 'xml', 'load.tender@1');
    expect(mapping).toBeNull();
    expect(diagnostics.map((d) => d.code)).toEqual([
      'MAP_SOURCE_MISMATCH', 'MAP_TARGET_MISMATCH', 'MAP_SPEC_INVALID', 'MAP_SPEC_INVALID', 'MAP_UNKNOWN_KEY',
    ]);
    expect(diagnostics[0].suggestion).toBe('load.tender@1');
  });

  it('needs the partner identities for X12', () => {
    const p = partnerSchema.parse({ id: 'no-x12', name: 'No X12' });
    const { mapping, diagnostics } = compile(MAP_204, 'x12', 'load.tender@1', p);
    expect(mapping).toBeNull();
    expect(diagnostics.find((d) => d.severity === 'error')).toMatchObject({ code: 'MAP_PARTNER_X12_MISSING', line: 2, column: 9 });
  });
});

describe('canonical JSON paths', () => {
  it('parses relative, root, self, special and bracketed paths', () => {
    expect(parseJsonPath('/references.shipmentId')).toMatchObject({ root: true, steps: [{ key: 'references' }, { key: 'shipmentId' }] });
    expect(parseJsonPath('.')).toMatchObject({ special: 'self' });
    expect(parseJsonPath('$index')).toMatchObject({ special: 'index' });
    expect(parseJsonPath('parties[role=shipper|consignee].ids[0].value').steps).toEqual([
      { key: 'parties', brackets: [{ filter: { field: ['role'], values: ['shipper', 'consignee'], negate: false } }] },
      { key: 'ids', brackets: [{ index: 0 }] },
      { key: 'value', brackets: [] },
    ]);
    expect(() => parseJsonPath('stops..sequence')).toThrow();
    expect(() => parseJsonPath('stops[')).toThrow();
  });
});
