import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/canonical/index.js';
import { compilePartner, PartnerRegistry } from '../../src/mappings/registry.js';
import { translateCsv, translateX12, translateX12Batches, translateXml, translateXmlFile, type TranslatedUnit } from '../../src/mappings/translate.js';
import { fixture, repoRoot } from './support.js';

// Only prairie-line, so other partners being added to partners/ do not change what these tests see.
const { partner: prairie, diagnostics } = compilePartner(join(repoRoot, 'partners/prairie-line'));
const registry = new PartnerRegistry();
if (prairie) registry.add(prairie);
const OPTS = { fileId: 'sha256-test', receivedAt: '2025-05-07T12:00:00Z' };

async function units(source: string | Buffer, opts: { partner?: string; fileName?: string } = {}, reg = registry): Promise<TranslatedUnit[]> {
  const out: TranslatedUnit[] = [];
  // A string source is a file path; hand-edited X12 text is passed as a Buffer.
  for await (const u of translateX12(source, reg, { ...OPTS, ...opts })) out.push(u);
  return out;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const MAPPING_214 = join(repoRoot, 'partners/prairie-line/mappings/214-status.yaml');

/** Line and column of the first occurrence of `needle` on the line that contains `lineNeedle`. */
function where(file: string, lineNeedle: string, needle: string): { line: number; column: number } {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(lineNeedle));
  if (i < 0) throw new Error(`${lineNeedle} not in ${file}`);
  return { line: i + 1, column: lines[i].indexOf(needle) + 1 };
}

describe('the prairie-line partner', () => {
  it('loads without diagnostics', () => {
    expect(diagnostics).toEqual([]);
    expect(registry.get('prairie-line')).toBeDefined();
  });

  it('214 (fixtures/edi/214/004010/ltl-multi-status.edi): one shipment.status@1 per AT7, identified by its ISA sender', async () => {
    const [u, ...rest] = await units(fixture('214/004010/ltl-multi-status.edi'), { fileName: 'ltl-multi-status.edi' });
    expect(rest).toEqual([]);
    expect(u).toMatchObject({ status: 'translated', partner: 'prairie-line', line: 3, errors: [],
      x12: { interchange: '000002291', group: '2291', setId: '214', control: '0001' } });
    const ev = u.events as Json[];
    expect(ev).toHaveLength(6);
    for (const e of ev) expect(parseEvent(e).ok).toBe(true);
    expect(ev.map((e) => e.status.milestone)).toEqual(['appointment_set', 'arrived_at_pickup', 'departed_pickup', 'in_transit', 'appointment_set', 'delivered']);
    expect(ev.map((e) => e.status.rawStatusCode)).toEqual(['AA', 'X3', 'AF', 'X6', 'AB', 'D1']);
    // April in Chicago (CT) is daylight time.
    expect(ev.map((e) => e.occurredAt)).toEqual([
      '2025-04-14T09:00:00-05:00', '2025-04-14T08:52:00-05:00', '2025-04-14T10:36:00-05:00',
      '2025-04-15T04:12:00-05:00', '2025-04-16T10:00:00-05:00', '2025-04-16T10:47:00-05:00',
    ]);
    expect(ev[0].appointment).toEqual({ start: '2025-04-14T09:00:00-05:00', kind: 'pickup' });
    expect(ev[4].appointment).toEqual({ start: '2025-04-16T10:00:00-05:00', kind: 'delivery' });
    expect(ev[1].appointment).toBeUndefined();
    // Equipment and weight come from their own LX only, never a sibling's.
    expect(ev.map((e) => e.equipment?.[0]?.number ?? null)).toEqual([null, '4417', '4417', null, null, '2209']);
    expect(ev.map((e) => e.weight?.value ?? null)).toEqual([null, null, '1820', null, null, '1820']);
    expect(ev[3].location).toEqual({ city: 'SAINT LOUIS', state: 'MO', country: 'US' });
    expect(ev[5].references).toEqual({ proNumber: '0048213377', bolNumber: 'TCH-BOL-40771', poNumbers: ['4500183327'] });
    expect(ev[5].parties.map((p: Json) => [p.role, p.address.city])).toEqual([['shipper', 'JOLIET'], ['consignee', 'SPRINGFIELD']]);
    expect(ev[2].source).toEqual({
      format: 'x12', fileId: 'sha256-test', fileName: 'ltl-multi-status.edi', index: 2, interchangeControlNumber: '000002291',
      groupControlNumber: '2291', transactionControlNumber: '0001', transactionSetId: '214', version: '004010', line: 3,
    });
    expect(new Set(ev.map((e) => e.id)).size).toBe(6);
    // Ids are deterministic: the same interchange translated again gives the same ids.
    const again = await units(fixture('214/004010/ltl-multi-status.edi'));
    expect(again[0].events.map((e) => e.id)).toEqual(ev.map((e) => e.id));
  });

  it('210 (fixtures/edi/210/004010/ltl-invoice-n9.edi): one freight.invoice@1 with exact amounts', async () => {
    const [u] = await units(fixture('210/004010/ltl-invoice-n9.edi'));
    expect(u.status).toBe('translated');
    expect(u.events).toHaveLength(1);
    const inv = u.events[0] as Json;
    expect(parseEvent(inv).ok).toBe(true);
    expect(inv).toMatchObject({
      type: 'freight.invoice@1', occurredAt: '2025-04-18T00:00:00-05:00', invoiceDate: '2025-04-18', deliveredOn: '2025-04-16',
      carrierScac: 'PRLF', paymentMethod: 'prepaid', amountDue: { amount: '626.34', currency: 'USD' },
      references: { invoiceNumber: '0048213377', proNumber: '0048213377', bolNumber: 'TCH-BOL-40771', poNumbers: ['4500183327'] },
      totalWeight: { value: '1820', unit: 'lb' },
    });
    expect(inv.charges.map((c: Json) => [c.lineNumber, c.code, c.description, c.amount.amount])).toEqual([
      [1, 'linehaul', 'HARDWARE NOI', '571.48'], [2, 'fuel_surcharge', 'FUEL SURCHARGE', '123.44'], [3, 'discount', 'CONTRACT DISCOUNT', '-68.58'],
    ]);
    expect(inv.parties.map((p: Json) => p.role)).toEqual(['shipper', 'consignee', 'bill_to']);
    expect(inv.parties[2].address.lines).toEqual(['ATTN FREIGHT PAYABLES', 'PO BOX 3317']);
  });

  it('a file of two groups (214s and 210s) yields a unit per transaction', async () => {
    const us = await units(fixture('envelope/multi-group-214-and-210.edi'));
    expect(us.map((u) => [u.x12?.setId, u.status, u.events.length])).toEqual([
      ['214', 'translated', 1], ['214', 'translated', 1], ['214', 'translated', 1], ['210', 'translated', 1], ['210', 'translated', 1],
    ]);
  });

  it('translateX12Batches yields the units of each chunk read as one array: the same units, in the same order, as translateX12', async () => {
    // 150 copies of a 5-transaction file (about 0.4 MB): several 64 KiB chunks, so several batches.
    const one = readFileSync(fixture('envelope/multi-group-214-and-210.edi'));
    const many = Buffer.concat(Array.from({ length: 150 }, () => one));
    const batches: TranslatedUnit[][] = [];
    for await (const b of translateX12Batches(many, registry, OPTS)) batches.push(b);
    expect(batches.length).toBeGreaterThan(3);
    for (const b of batches) expect(b.length).toBeGreaterThan(0);
    const flat = batches.flat();
    // 750 transactions, and each copy after the first repeats the interchange control number: an
    // envelope unit for each of those 149.
    expect(flat.filter((u) => u.x12)).toHaveLength(750);
    expect(flat.filter((u) => !u.x12).map((u) => [u.label, u.status, u.errors.map((e) => e.code)])).toEqual(
      Array.from({ length: 149 }, () => ['interchange 000002297', 'rejected', ['X12_DUPLICATE_INTERCHANGE_CONTROL']]));
    expect(JSON.stringify(flat)).toBe(JSON.stringify(await units(many)));
  });

  it('a transaction with an unmapped code fails alone; its siblings yield their events', async () => {
    const text = readFileSync(fixture('envelope/multi-group-214-and-210.edi'), 'latin1').replace('AT7*AF*NS***20250506*1544*CT', 'AT7*BO*NS***20250506*1544*CT');
    const us = await units(Buffer.from(text, 'latin1'));
    expect(us.map((u) => u.status)).toEqual(['translated', 'failed', 'translated', 'translated', 'translated']);
    expect(us.map((u) => u.events.length)).toEqual([1, 0, 1, 1, 1]);
    const failed = us[1];
    expect(failed.label).toBe('214 0002 (interchange 000002297, group 2297)');
    const atLine = text.split('\n').findIndex((l) => l.startsWith('AT7*BO')) + 1;
    expect(failed.errors).toEqual([{
      code: 'MAP_UNMAPPED_CODE', severity: 'error', message: "code 'BO' is not in table 'x12-shipment-status' (unmapped: error)",
      line: atLine, column: 'AT7*'.length + 1, offset: text.indexOf('AT7*BO') + 'AT7*'.length, // at AT701, the code read
      mapping: { file: MAPPING_214, ...where(MAPPING_214, 'milestone:', 'x12-shipment-status') },
    }]);
  });

  it('a file whose lines end in CR alone: the units, their errors and the events\' source lines are those of the LF file', async () => {
    const lf = readFileSync(fixture('envelope/multi-group-214-and-210.edi'), 'latin1').replace('AT7*AF*NS***20250506*1544*CT', 'AT7*BO*NS***20250506*1544*CT');
    // The same bytes but for each LF, so offsets match too.
    const cr = lf.replaceAll('\n', '\r');
    const want = await units(Buffer.from(lf, 'latin1'));
    expect(want.map((u) => u.line)).toEqual([3, 18, 33, 50, 78]);
    expect(want[1].errors[0]).toMatchObject({ code: 'MAP_UNMAPPED_CODE', line: 28 });
    expect(want[0].events.map((e) => (e as Json).source.line)).toEqual([3]);
    expect(JSON.stringify(await units(Buffer.from(cr, 'latin1')))).toBe(JSON.stringify(want));
  });

  it('data the validator rejects is rejected, not mapped', async () => {
    const [u] = await units(fixture('214/004010/at701-invalid-code.edi'));
    expect(u.status).toBe('rejected');
    expect(u.events).toEqual([]);
    expect(u.errors.map((e) => e.code)).toContain('X12_ELEMENT_INVALID_CODE');
  });

  it('an unknown sender is PARTNER_UNKNOWN_SENDER naming the ids seen and the closest partner', async () => {
    const text = readFileSync(fixture('214/004010/ltl-multi-status.edi'), 'latin1').replace('*02*PRLF           *', '*02*PRLX           *');
    const [u] = await units(Buffer.from(text, 'latin1'));
    expect(u.status).toBe('unidentified');
    expect(u.partner).toBeUndefined();
    expect(u.events).toEqual([]);
    expect(u.errors).toHaveLength(1);
    expect(u.errors[0]).toMatchObject({ code: 'PARTNER_UNKNOWN_SENDER', line: 1, column: 1 });
    expect(u.errors[0].message).toBe("no partner sends as ISA 02/PRLX; closest: 'prairie-line' (ISA 02/PRLF); configured: 'prairie-line' (ISA 02/PRLF)");
  });

  it('a group whose GS02 is not the partner\'s GS id is unidentified, with both ids in the message; a forced partner skips the check', async () => {
    const text = readFileSync(fixture('214/004010/ltl-multi-status.edi'), 'latin1').replace('GS*QM*PRLF*', 'GS*QM*BOGUS*');
    const us = await units(Buffer.from(text, 'latin1'));
    expect(us.length).toBeGreaterThan(0);
    for (const u of us) {
      expect(u.status).toBe('unidentified');
      expect(u.events).toEqual([]);
      expect(u.errors).toEqual([expect.objectContaining({
        code: 'PARTNER_UNKNOWN_SENDER', line: 2, column: 1,
        message: "interchange from ISA 02/PRLF is partner 'prairie-line', but its group's GS02 'BOGUS' is not that partner's GS id 'PRLF'",
      })]);
    }
    const forced = await units(Buffer.from(text, 'latin1'), { partner: 'prairie-line' });
    expect(forced.map((u) => u.status)).toEqual(us.map(() => 'translated'));
  });

  it('an interchange from a partner whose folder does not compile says so, rather than "no partner"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-broken-'));
    try {
      const copy = join(dir, 'prairie-line');
      mkdirSync(join(copy, 'mappings'), { recursive: true });
      writeFileSync(join(copy, 'partner.yaml'), readFileSync(join(repoRoot, 'partners/prairie-line/partner.yaml')));
      for (const m of ['214-status.yaml', '210-invoice.yaml']) {
        writeFileSync(join(copy, 'mappings', m), readFileSync(join(repoRoot, 'partners/prairie-line/mappings', m), 'utf8').replace(/B10\.01/g, 'B10.99'));
      }
      const { registry: reg, diagnostics: d } = PartnerRegistry.load(dir);
      expect(d.some((x) => x.severity === 'error')).toBe(true);
      const [u] = await units(fixture('214/004010/ltl-multi-status.edi'), {}, reg);
      expect(u.status).toBe('unidentified');
      expect(u.errors[0].message).toBe("ISA 02/PRLF is partner 'prairie-line', which has configuration errors (run waybill lint)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the sets of a group whose GS header has errors are rejected with it (the 997 rejects the group); the next group translates', async () => {
    // GS06 'X1' (and its GE02): X12_GS_CONTROL_INVALID. The events of such a group used to be published
    // while the 997 rejected the group (AK9 R, none accepted).
    const text = readFileSync(fixture('envelope/multi-group-214-and-210.edi'), 'latin1').replace('*2200*2297*X*', '*2200*X1*X*').replace('GE*3*2297~', 'GE*3*X1~');
    const us = await units(Buffer.from(text, 'latin1'));
    expect(us.map((u) => [u.label.split(' (')[0], u.status, u.events.length, u.errors.map((e) => e.code)])).toEqual([
      ['group X1', 'rejected', 0, ['X12_GS_CONTROL_INVALID']],
      ['214 0001', 'rejected', 0, ['X12_GROUP_REJECTED']],
      ['214 0002', 'rejected', 0, ['X12_GROUP_REJECTED']],
      ['214 0003', 'rejected', 0, ['X12_GROUP_REJECTED']],
      ['210 229800001', 'translated', 1, []],
      ['210 229800002', 'translated', 1, []],
    ]);
    expect(us[1].partner).toBe('prairie-line');
    expect(us[1].errors[0]).toMatchObject({ line: 2, column: 1, message: "rejected with its functional group: the GS header at line 2 has errors (X12_GS_CONTROL_INVALID: GS06 'X1' is not a 1-9 digit number)" });
  });

  it('the sets of an interchange whose ISA header has errors are rejected with it (the TA1 rejects it)', async () => {
    const text = readFileSync(fixture('envelope/multi-group-214-and-210.edi'), 'latin1').replace('*00401*000002297*', '*00401*00000ABCD*').replace('IEA*2*000002297', 'IEA*2*00000ABCD');
    const us = await units(Buffer.from(text, 'latin1'));
    expect(us.map((u) => [u.label.split(' (')[0], u.status, u.errors.map((e) => e.code)])).toEqual([
      ['interchange 00000ABCD', 'rejected', ['X12_ISA_CONTROL_INVALID']],
      ...['214 0001', '214 0002', '214 0003', '210 229800001', '210 229800002'].map((l) => [l, 'rejected', ['X12_INTERCHANGE_REJECTED']]),
    ]);
    expect(us.flatMap((u) => u.events)).toEqual([]);
  });

  it('envelope findings (no GE, no IEA, GS missing elements) are units of their own, rejected, with codes and lines', async () => {
    const lines = readFileSync(fixture('214/004010/ltl-multi-status.edi'), 'latin1').split(/~\r?\n?/).filter((l) => l !== '');
    const cut = lines.filter((l) => !l.startsWith('GE*') && !l.startsWith('IEA*')).map((l) => (l.startsWith('GS*') ? 'GS*QM*PRLF*TRICOUNTYHWS*20250416*1105' : l));
    const us = await units(Buffer.from(`${cut.join('~\n')}~\n`, 'latin1'));
    const envelope = us.filter((u) => !u.x12);
    expect(envelope.length).toBeGreaterThan(0);
    for (const u of envelope) {
      expect(u.status).toBe('rejected');
      expect(u.label).toMatch(/^(interchange|group) /);
      expect(u.events).toEqual([]);
    }
    const end = cut.length + 1; // the findings about missing trailers point at the end of the file (after its last line break)
    expect(envelope.map((u) => [u.label, u.errors.map((e) => [e.code, e.line])])).toEqual([
      ['group ? (interchange 000002291)', [['X12_GS_ELEMENT_MISSING', 2], ['X12_GS_ELEMENT_MISSING', 2], ['X12_GS_ELEMENT_MISSING', 2]]],
      ['group ? (interchange 000002291)', [['X12_GE_MISSING', end]]],
      ['interchange 000002291', [['X12_IEA_MISSING', end]]],
    ]);
    expect(envelope[1].errors[0].message).toBe('functional group (no GS06) has no GE trailer');
  });

  it('a forced partner skips identification; an unknown forced partner throws', async () => {
    const text = readFileSync(fixture('214/004010/ltl-multi-status.edi'), 'latin1').replace('*02*PRLF           *', '*02*PRLX           *');
    const [u] = await units(Buffer.from(text, 'latin1'), { partner: 'prairie-line' });
    expect(u.status).toBe('translated');
    await expect(units(Buffer.from(text, 'latin1'), { partner: 'prairie-lines' })).rejects.toThrow("unknown partner 'prairie-lines'");
  });

  it('data outside any interchange is a rejected file unit with its code and position; the interchanges around it still translate', async () => {
    expect(await units(Buffer.from('ISA*00*garbage~'))).toEqual([{
      format: 'x12', label: 'file', line: 1, status: 'rejected', events: [],
      errors: [expect.objectContaining({ code: 'X12_ISA_TRUNCATED', severity: 'error', line: 1, column: 1 })],
    }]);
    const good = readFileSync(fixture('214/004010/ltl-multi-status.edi'));
    const mixed = await units(Buffer.concat([good, Buffer.from('\nNOT X12 AT ALL~\n')]));
    expect(mixed.map((u) => [u.label, u.status])).toEqual([[expect.stringMatching(/^214 /), 'translated'], ['file', 'rejected']]);
    expect(mixed[0].events).toHaveLength(6);
    expect(mixed[1].errors[0].line).toBeGreaterThan(1);
  });

  it('a set the partner does not map is unmapped', async () => {
    const [u] = await units(fixture('990/004010/tender-accept.edi'), { partner: 'prairie-line' });
    expect(u.status).toBe('unmapped');
    // The fixture's sender is not prairie-line's: named all the same, it says so (a warning).
    expect(u.errors.map((e) => e.code)).toEqual(['MAP_NO_MAPPING', 'PARTNER_FORCED']);
  });
});

describe('CSV and XML through a temporary partner', () => {
  let root: string;
  let reg: PartnerRegistry;
  const FILES: Record<string, string> = {
    'flatfile/partner.yaml': `id: flatfile
name: Flat File Freight
timezone: America/Denver
inbound:
  - document: csv
    mapping: mappings/status-csv.yaml
    match: "status-*.csv"
  - document: xml
    mapping: mappings/status-xml.yaml
`,
    'flatfile/mappings/status-csv.yaml': `source: csv
target: shipment.status@1
fields:
  occurredAt: { datetime: { date: Date, time: Time } }
  references.proNumber: { path: PRO Number, required: true }
  status.milestone: { path: Status, table: x12-shipment-status }
  status.rawStatusCode: Status
  location.city: { path: "#5", trim: true, case: upper }
`,
    'flatfile/mappings/status-xml.yaml': `source: xml
target: shipment.status@1
foreach: Shipments/Shipment
fields:
  occurredAt: { datetime: { date: Event/Date, time: Event/Time, zone: Event/@zone } }
  carrierScac: /Shipments/@scac
  references.proNumber: "@pro"
  references.poNumbers: { all: Refs/PO }
  status.milestone: { path: Event/Code, table: x12-shipment-status }
  status.rawStatusCode: Event/Code
`,
  };
  const CSV = 'PRO Number,Status,Date,Time,City\r\nPRO1,D1,20250716,0930, denver \r\nPRO2,ZZ,20250716,1000,Boulder\r\n,X1,20250716,1100,Boulder\r\n';
  const XML = `<?xml version="1.0"?>
<Shipments scac="FLFF">
  <Shipment pro="P1"><Refs><PO>A1</PO><PO>A2</PO></Refs><Event zone="ET"><Code>X1</Code><Date>20250716</Date><Time>0930</Time></Event></Shipment>
  <Shipment pro="P2"><Event><Code>D1</Code><Date>20250717</Date><Time>1015</Time></Event></Shipment>
</Shipments>
`;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'waybill-translate-'));
    for (const [rel, text] of Object.entries(FILES)) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    }
    const loaded = PartnerRegistry.load(root);
    expect(loaded.diagnostics).toEqual([]);
    reg = loaded.registry;
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('CSV: one unit per record; a record that fails fails alone', async () => {
    const out: TranslatedUnit[] = [];
    for await (const u of translateCsv(Buffer.from(CSV), reg.get('flatfile')!, { ...OPTS, fileName: 'status-0716.csv' })) out.push(u);
    expect(out.map((u) => [u.label, u.line, u.status])).toEqual([['record 1', 2, 'translated'], ['record 2', 3, 'failed'], ['record 3', 4, 'failed']]);
    expect(out[0].events).toHaveLength(1);
    expect(out[0].events[0]).toMatchObject({
      type: 'shipment.status@1', partner: 'flatfile', occurredAt: '2025-07-16T09:30:00-06:00',
      references: { proNumber: 'PRO1' }, status: { milestone: 'delivered', rawStatusCode: 'D1' }, location: { city: 'DENVER' },
      source: { format: 'csv', fileId: 'sha256-test', fileName: 'status-0716.csv', line: 2, index: 0 },
    });
    expect(parseEvent(out[0].events[0]).ok).toBe(true);
    expect(out[1].errors.map((e) => [e.code, e.line])).toEqual([['MAP_UNMAPPED_CODE', 3]]);
    expect(out[2].errors.map((e) => [e.code, e.line])).toEqual([['MAP_REQUIRED_MISSING', 4]]);
    expect(out[2].errors[0].mapping).toMatchObject({ line: 5, column: 25 });
  });

  it('CSV: a file name no mapping matches is unmapped', async () => {
    const out: TranslatedUnit[] = [];
    for await (const u of translateCsv(Buffer.from(CSV), reg.get('flatfile')!, { ...OPTS, fileName: 'invoices.csv' })) out.push(u);
    expect(out.map((u) => u.status)).toEqual(['unmapped']);
    expect(out[0].errors[0].code).toBe('MAP_NO_MAPPING');
    expect(out[0].errors[0].message).toBe("partner 'flatfile' has no CSV mapping for 'invoices.csv': the file name matches none of its CSV routes' patterns (partner.yaml inbound)");
    // A partner with no CSV route at all: the message says why the file was taken for CSV, and what the partner maps.
    const none: TranslatedUnit[] = [];
    for await (const u of translateCsv(Buffer.from(CSV), prairie!, { ...OPTS, fileName: 'mailed.edi' })) none.push(u);
    expect(none[0].errors[0].message).toBe("partner 'prairie-line' has no CSV mapping for 'mailed.edi' (a file that starts with neither an X12 ISA header nor '<' is read as CSV): it maps x12/214, x12/210");
  });

  it('XML: one unit per document, one event per foreach node', () => {
    const u = translateXml(Buffer.from(XML), reg.get('flatfile')!, { ...OPTS, fileName: 'status.xml' });
    expect(u.status).toBe('translated');
    expect(u.events.map((e) => [(e as Json).references, (e as Json).occurredAt, (e as Json).status.milestone, (e as Json).carrierScac])).toEqual([
      [{ proNumber: 'P1', poNumbers: ['A1', 'A2'] }, '2025-07-16T09:30:00-04:00', 'arrived_at_delivery', 'FLFF'],
      [{ proNumber: 'P2' }, '2025-07-17T10:15:00-06:00', 'delivered', 'FLFF'],
    ]);
    for (const e of u.events) expect(parseEvent(e).ok).toBe(true);
    expect(new Set(u.events.map((e) => e.id)).size).toBe(2);
  });

  it('XML: a file over the size cap is rejected as XML_TOO_LARGE without being read (a sparse 3 GB file)', () => {
    const big = join(root, 'huge.xml');
    writeFileSync(big, '<Shipments>');
    truncateSync(big, 3 * 1024 ** 3); // readFileSync would fail on it (over 2 GB): the size is checked first
    try {
      const u = translateXmlFile(big, reg.get('flatfile')!, OPTS);
      expect(u).toMatchObject({ status: 'rejected', label: 'huge.xml', events: [] });
      expect(u.errors).toEqual([expect.objectContaining({ code: 'XML_TOO_LARGE', line: 1, column: 1, message: `the document is ${3 * 1024 ** 3} bytes, over the maximum of ${20 * 1024 * 1024}` })]);
    } finally {
      rmSync(big);
    }
  });

  it('XML: malformed XML is rejected; a mapping failure fails the document', () => {
    const bad = translateXml(Buffer.from('<Shipments><Shipment></Shipments>'), reg.get('flatfile')!, OPTS);
    expect(bad.status).toBe('rejected');
    const unmapped = translateXml(Buffer.from(XML.replace('<Code>D1</Code>', '<Code>QQ</Code>')), reg.get('flatfile')!, OPTS);
    expect(unmapped.status).toBe('failed');
    expect(unmapped.events).toEqual([]);
    expect(unmapped.errors.map((e) => e.code)).toEqual(['MAP_UNMAPPED_CODE']);
    // The message names the element the value came from; line and column are its start tag's.
    expect(unmapped.errors[0].message).toBe("code 'QQ' is not in table 'x12-shipment-status' (unmapped: error) (at /Shipments/Shipment[2]/Event/Code)");
    expect(unmapped.errors[0]).toMatchObject({ line: 4, column: 29 });
  });

  it('XML: a failure points at the line and column of the element it read, CR LF files too', () => {
    const at = (text: string, needle: string) => {
      const before = text.slice(0, text.indexOf(needle));
      return { line: before.split(/\r\n|\n/).length, column: before.length - Math.max(before.lastIndexOf('\n'), -1) };
    };
    for (const eol of ['\n', '\r\n']) {
      const text = XML.replace('<Date>20250717</Date>', '<Date>20251317</Date>').replace(/\n/g, eol);
      const u = translateXml(Buffer.from(text), reg.get('flatfile')!, OPTS);
      expect(u.status).toBe('failed');
      expect(u.errors.map((e) => [e.code, e.line, e.column])).toEqual([['MAP_BAD_DATE', ...Object.values(at(text, '<Date>20251317'))]]);
      expect(at(text, '<Date>20251317').line).toBe(4);
    }
  });
});

describe('CSV: lists of objects (items) and partner date layouts (format)', () => {
  let root: string;
  const PARTNER = `id: rowfreight
name: Row Freight
timezone: America/Chicago
inbound:
  - document: csv
    mapping: mappings/status.yaml
`;
  const MAPPING = `source: csv
target: shipment.status@1
fields:
  occurredAt: { datetime: { date: Date, time: Time }, format: { date: MM/DD/YYYY, time: "h:mm a" }, required: true }
  references.proNumber: { path: PRO, required: true }
  status.milestone: { path: Status, table: x12-shipment-status, required: true }
  status.rawStatusCode: Status
  parties:
    items:
      - role: { const: shipper, when: { exists: Shipper } }
        name: Shipper
        address.city: Shipper City
      - role: { const: consignee, when: { exists: Consignee } }
        name: Consignee
        address.city: Consignee City
`;
  const CSV = [
    'PRO,Status,Date,Time,Shipper,Shipper City,Consignee,Consignee City',
    'PRO1,D1,07/16/2025,2:05 PM,ACME,DENVER,BIG BOX,RENO',
    'PRO2,X1,07/17/2025,9:30 AM,,,BIG BOX,RENO',
    'PRO3,X1,2025-07-17,9:30 AM,ACME,DENVER,,',
    '',
  ].join('\r\n');

  function partnerWith(mapping: string) {
    root = mkdtempSync(join(tmpdir(), 'waybill-items-'));
    mkdirSync(join(root, 'rowfreight/mappings'), { recursive: true });
    writeFileSync(join(root, 'rowfreight/partner.yaml'), PARTNER);
    writeFileSync(join(root, 'rowfreight/mappings/status.yaml'), mapping);
    return compilePartner(join(root, 'rowfreight'));
  }

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('each item is an object of the list, in order; an item with no value is left out; events follow the canonical key order', async () => {
    const { partner, diagnostics } = partnerWith(MAPPING);
    expect(diagnostics).toEqual([]);
    const out: TranslatedUnit[] = [];
    for await (const u of translateCsv(Buffer.from(CSV), partner!, { ...OPTS, fileName: 'status.csv' })) out.push(u);
    expect(out.map((u) => u.status)).toEqual(['translated', 'translated', 'failed']);
    const [first, second] = out.map((u) => u.events[0] as Json);
    expect(first.occurredAt).toBe('2025-07-16T14:05:00-05:00');
    expect(first.parties).toEqual([
      { role: 'shipper', name: 'ACME', address: { city: 'DENVER' } },
      { role: 'consignee', name: 'BIG BOX', address: { city: 'RENO' } },
    ]);
    expect(second.parties).toEqual([{ role: 'consignee', name: 'BIG BOX', address: { city: 'RENO' } }]);
    expect(parseEvent(first).ok).toBe(true);
    // The same JSON zod's own output would give (key order included).
    const parsed = parseEvent(first);
    expect(JSON.stringify(parsed.ok && parsed.value)).toBe(JSON.stringify(first));
    // An ISO date where the partner's layout is MM/DD/YYYY fails that record alone.
    expect(out[2].errors.map((e) => [e.code, e.line, e.message])).toEqual([['MAP_BAD_DATE', 4, "'2025-07-17' does not match the date format 'MM/DD/YYYY' (column 'Date')"]]);
  });

  it('columns the mapping reads that the header lacks are warned about once, at the header, with a did-you-mean', async () => {
    const { partner } = partnerWith(MAPPING.replace('name: Shipper\n', 'name: Shippr\n'));
    const out: TranslatedUnit[] = [];
    for await (const u of translateCsv(Buffer.from(CSV), partner!, { ...OPTS, fileName: 'status.csv' })) out.push(u);
    expect(out[0]).toMatchObject({ label: 'header', line: 1, status: 'translated', events: [] });
    expect(out[0].errors.map((e) => `${e.severity} ${e.code} ${e.message}`)).toEqual([
      "warning MAP_CSV_COLUMN_MISSING the mapping reads column 'Shippr', which this file's header does not have (did you mean 'Shipper'?); " +
        'columns: PRO, Status, Date, Time, Shipper, Shipper City, Consignee, Consignee City',
    ]);
    expect(out.slice(1).map((u) => u.label)).toEqual(['record 1', 'record 2', 'record 3']);
    // A mapping whose columns are all there adds no unit.
    const clean: TranslatedUnit[] = [];
    for await (const u of translateCsv(Buffer.from(CSV), partnerWith(MAPPING).partner!, { ...OPTS, fileName: 'status.csv' })) clean.push(u);
    expect(clean.map((u) => u.label)).toEqual(['record 1', 'record 2', 'record 3']);
  });

  it('a header of one column holding another delimiter gets a hint, once: a \';\' export for a \',\' mapping', async () => {
    const out: TranslatedUnit[] = [];
    for await (const u of translateCsv(Buffer.from(CSV.replaceAll(',', ';')), partnerWith(MAPPING).partner!, { ...OPTS, fileName: 'status.csv' })) out.push(u);
    const messages = out[0].errors.map((e) => e.message);
    expect(messages.length).toBeGreaterThan(1);
    expect(messages[0]).toMatch(/; the header is one column holding ";": is the file ";"-delimited\? \(partner\.yaml csv: delimiter\)$/);
    expect(messages.slice(1).filter((m) => m.includes('delimited'))).toEqual([]);
  });

  it('a datetime failure names the part that failed: a bad time its column and its mapping position, not the date\'s', async () => {
    const { partner } = partnerWith(MAPPING);
    const csv = CSV.replace('2:05 PM', '25:05 PM');
    const out: TranslatedUnit[] = [];
    for await (const u of translateCsv(Buffer.from(csv), partner!, { ...OPTS, fileName: 'status.csv' })) out.push(u);
    const [e] = out[0].errors;
    expect(e.code).toBe('MAP_BAD_TIME');
    expect(e.message).toMatch(/\(column 'Time'\)$/);
    expect(e.mapping).toMatchObject({ line: 4, column: MAPPING.split('\n')[3].indexOf('time: Time') + 7 });
  });

  it('an item is checked against the list element schema: unknown fields, required fields never assigned, a target that is no list', () => {
    const { partner, diagnostics } = partnerWith(`source: csv
target: shipment.status@1
fields:
  occurredAt: { datetime: { date: Date } }
  references.proNumber: PRO
  status.milestone: { const: delivered }
  parties:
    items:
      - role: { const: shipper }
        nmae: Shipper
      - name: Consignee
  carrierScac:
    items:
      - name: Shipper
`);
    expect(partner).toBeNull();
    expect(diagnostics.map((d) => `${d.line} ${d.code}${d.suggestion ? ` ~${d.suggestion}` : ''}`)).toEqual([
      '10 MAP_UNKNOWN_FIELD ~name',
      '11 MAP_REQUIRED_FIELD_UNASSIGNED',
      '12 MAP_SPEC_INVALID',
    ]);
  });

  it('a required field left unassigned beside a misspelling of it is one error, at the misspelt key, with the fix', () => {
    const { partner, diagnostics } = partnerWith(`source: csv
target: shipment.status@1
fields:
  occuredAt: { datetime: { date: Date } }
  references.proNumber: PRO
  stat:
    milestone: { const: delivered }
    rawStatusCode: Code
  parties:
    items:
      - rloe: { const: shipper }
        name: Shipper
  carrierSca: { const: WBCR }
`);
    expect(partner).toBeNull();
    const sorted = [...diagnostics].sort((a, b) => a.line - b.line);
    expect(sorted.map((d) => `${d.line}:${d.column} ${d.code}${d.suggestion ? ` ~${d.suggestion}` : ''} ${d.message}`)).toEqual([
      "4:3 MAP_REQUIRED_FIELD_UNASSIGNED ~occurredAt required field 'occurredAt' of shipment.status@1 is never assigned; 'occuredAt' here is not one of its fields",
      // One error for the unknown object key, not one per field under it.
      "6:3 MAP_REQUIRED_FIELD_UNASSIGNED ~status required field 'status' of shipment.status@1 is never assigned; 'stat' here is not one of its fields",
      // Inside a list item the same holds.
      "11:9 MAP_REQUIRED_FIELD_UNASSIGNED ~role required field 'parties[].role' of shipment.status@1 is never assigned; 'rloe' here is not one of its fields",
      // carrierScac is optional: an unknown field, with its own did-you-mean.
      expect.stringMatching(/^13:3 MAP_UNKNOWN_FIELD ~carrierScac shipment.status@1 has no field 'carrierSca'/),
    ]);
  });
});

describe('what translation loads', () => {
  it('reading the partners and translating an X12 file loads neither the SSH, XML nor CSV library', async () => {
    // Each is loaded on first use (a partner's SFTP public keys to check, an XML or CSV file): together
    // they cost about 240 ms of start-up and 4.7 MB of heap that stays live, in every `waybill translate`
    // and `waybill lint`.
    const { execFileSync } = await import('node:child_process');
    // Modules loaded as ESM never enter require.cache: a resolve hook reports every module resolved.
    // zod is there to show that the hook sees what is loaded.
    const script = `
      import { register, createRequire } from 'node:module';
      import { MessageChannel } from 'node:worker_threads';
      const [root] = process.argv.slice(1);
      const { port1, port2 } = new MessageChannel();
      const seen = new Set();
      port1.on('message', (url) => seen.add(url));
      port1.unref();
      const hooks = 'let port; export function initialize(data) { port = data.port; }' +
        'export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }';
      register('data:text/javascript,' + encodeURIComponent(hooks), { data: { port: port2 }, transferList: [port2] });
      const { PartnerRegistry } = await import(root + 'src/mappings/registry.ts');
      const { translateX12 } = await import(root + 'src/mappings/translate.ts');
      const { registry } = PartnerRegistry.load(root + 'partners');
      let events = 0;
      for await (const u of translateX12(root + 'fixtures/edi/214/004010/ltl-multi-status.edi', registry, { fileId: 'f', receivedAt: '2025-01-01T00:00:00Z' })) events += u.events.length;
      await new Promise((r) => setTimeout(r, 100)); // the hook's last messages
      const loaded = [...seen, ...Object.keys(createRequire(import.meta.url).cache)];
      const has = (lib) => loaded.some((p) => p.includes('/node_modules/' + lib + '/'));
      console.log(JSON.stringify({ events, zod: has('zod'), ssh2: has('ssh2'), xml: has('fast-xml-parser'), csv: has('csv-parse') }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', repoRoot], { encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ events: 6, zod: true, ssh2: false, xml: false, csv: false });
  });
});

describe('a mapped transaction set whose version has no schema', () => {
  it('fails with MAP_VERSION_UNSUPPORTED instead of translating into no events; the same set under 004010 translates', async () => {
    const text = readFileSync(fixture('214/004010/ltl-multi-status.edi'), 'latin1');
    expect(text).toContain('*X*004010');
    const [good] = await units(Buffer.from(text, 'latin1'));
    expect(good).toMatchObject({ status: 'translated' });
    expect(good.events.length).toBeGreaterThan(0);
    for (const version of ['003050', '006020']) {
      const [u] = await units(Buffer.from(text.replace('*X*004010', `*X*${version}`), 'latin1'));
      expect(u, version).toMatchObject({ status: 'failed', events: [] });
      expect(u.errors, version).toEqual([expect.objectContaining({ code: 'MAP_VERSION_UNSUPPORTED', severity: 'error', line: u.line,
        message: expect.stringContaining(`x12/214 of version '${version}' (GS08) has no schema`) })]);
    }
  });
});

describe('a partner named for an interchange another partner (or none) sent', () => {
  it('translates it as the named partner with a PARTNER_FORCED warning on its units; its own interchanges carry none', async () => {
    const own = await units(fixture('214/004010/ltl-multi-status.edi'), { partner: 'prairie-line' });
    expect(own.flatMap((u) => u.errors.map((e) => e.code))).toEqual([]);
    const other = await units(join(repoRoot, 'partners/granite-ridge/samples/214-gps-BPL-88104301.edi'), { partner: 'prairie-line' });
    expect(other.length).toBeGreaterThan(0);
    for (const u of other) {
      expect(u.partner).toBe('prairie-line');
      expect(u.errors).toContainEqual(expect.objectContaining({ code: 'PARTNER_FORCED', severity: 'warning',
        message: "the ISA sender 02/GRXP is no partner; translated as 'prairie-line' because that partner was named" }));
    }
  });
});

describe('a value the canonical schema refuses is located where the source holds it', () => {
  it('X12: at the element (B1003), not at the ST; XML: at the element, its path in the message', async () => {
    const text = readFileSync(join(repoRoot, 'partners/prairie-line/samples/214-multi-status.edi'), 'latin1');
    const b10 = text.split('\n').findIndex((l) => l.startsWith('B10*')) + 1;
    const bad = text.replace(/^(B10\*[^*]*\*[^*]*\*)PRLF/m, '$1pr1f');
    const [u] = await units(Buffer.from(bad, 'latin1'));
    expect(u.status).toBe('failed');
    const scac = bad.split('\n')[b10 - 1].indexOf('pr1f') + 1;
    expect(u.errors).toEqual([expect.objectContaining({ code: 'MAP_CANONICAL_INVALID', line: b10, column: scac, offset: bad.indexOf('pr1f'), message: expect.stringContaining('carrierScac: must be a SCAC') })]);
    expect(u.line).toBeLessThan(b10);

    const { partner: svxp } = compilePartner(join(repoRoot, 'partners/sangamon-valley'));
    const xml = readFileSync(join(repoRoot, 'partners/sangamon-valley/samples/svxp_invoice_SVX-INV-0051877.xml'), 'utf8');
    const line = xml.split('\n').findIndex((l) => l.includes('<InvoiceDate>')) + 1;
    const x = translateXml(Buffer.from(xml.replace(/<InvoiceDate>[^<]*</, '<InvoiceDate>2025-13-45<')), svxp!, { ...OPTS, fileName: 'svxp_invoice_bad.xml' });
    expect(x.status).toBe('failed');
    expect(x.errors).toEqual([expect.objectContaining({ code: 'MAP_CANONICAL_INVALID', line, column: 3, message: expect.stringMatching(/invoiceDate: .*\(at \/Invoice\/InvoiceDate\)$/) })]);
  });
});

describe('an N1 with a name and no id (N103/N104 are optional)', () => {
  it('gives a party without ids, not an empty id that fails the transaction', async () => {
    const text = readFileSync(fixture('214/004010/ltl-multi-status.edi'), 'latin1');
    const n1 = /^N1\*CN\*([^*~]*)\*[^~]*~/m.exec(text);
    expect(n1).not.toBeNull();
    const [u] = await units(Buffer.from(text.replace(n1![0], `N1*CN*${n1![1]}~`), 'latin1'));
    expect(u.status).toBe('translated');
    const consignee = (u.events[0] as Json).parties.find((p: Json) => p.role === 'consignee');
    expect(consignee).toMatchObject({ name: n1![1] });
    expect(consignee.ids).toBeUndefined();
  });
});

describe('status codes that are estimates or hand-offs', () => {
  const withStatus = async (code: string) => {
    const text = readFileSync(fixture('214/004010/ltl-multi-status.edi'), 'latin1');
    const [u] = await units(Buffer.from(text.replace('AT7*X6*NS***20250415*0412*CT', `AT7*${code}*NS***20250415*0412*CT`), 'latin1'));
    return { u, event: u.events[3] as Json };
  };

  it('AG/X2 (estimated delivery) give estimatedAt, which that milestone needs: the transaction is translated', async () => {
    for (const code of ['AG', 'X2']) {
      const { u, event } = await withStatus(code);
      expect(u.status, code).toBe('translated');
      expect(event, code).toMatchObject({ status: { milestone: 'estimated_delivery', rawStatusCode: code }, estimatedAt: '2025-04-15T04:12:00-05:00' });
    }
    // Other statuses carry none.
    expect((await withStatus('X6')).event.estimatedAt).toBeUndefined();
  });

  it('B6/C1 (estimated arrival at or departure from a terminal) are no arrival or departure; J1 (to a connecting line) is no delivery', async () => {
    expect((await withStatus('B6')).event.status.milestone).toBe('other');
    expect((await withStatus('C1')).event.status.milestone).toBe('other');
    expect((await withStatus('J1')).event.status.milestone).toBe('in_transit');
  });
});

describe('weight units come from the file', () => {
  it('210: L312 (else B305) K is kg; XML: TotalWeight/@unit KG is kg, and a weight without a unit is in pounds', async () => {
    const text = readFileSync(join(repoRoot, 'partners/prairie-line/samples/210-linehaul-fuel-discount.edi'), 'latin1');
    const [kg] = await units(Buffer.from(text.replace(/^(L3\*[^~]*)~/m, '$1*K~'), 'latin1'));
    expect((kg.events[0] as Json).totalWeight).toEqual({ value: '1820', unit: 'kg' });
    const [b305] = await units(Buffer.from(text.replace('*PP*L*', '*PP*K*'), 'latin1'));
    expect((b305.events[0] as Json).totalWeight).toEqual({ value: '1820', unit: 'kg' });

    const { partner: svxp } = compilePartner(join(repoRoot, 'partners/sangamon-valley'));
    const xml = readFileSync(join(repoRoot, 'partners/sangamon-valley/samples/svxp_invoice_SVX-INV-0051877.xml'), 'utf8');
    const weight = (doc: string) => (translateXml(Buffer.from(doc), svxp!, { ...OPTS, fileName: 'svxp_invoice_x.xml' }).events[0] as Json).totalWeight;
    expect(weight(xml.replace('unit="LB"', 'unit="KG"'))).toEqual({ value: '2140', unit: 'kg' });
    expect(weight(xml.replace(' unit="LB"', ''))).toEqual({ value: '2140', unit: 'lb' });
  });
});

describe('example partners: codes in any case, and reasons only for declines', () => {
  it('sangamon-valley XML looks codes up trimmed and upper-cased; granite-ridge gives an accepting 990 no decline reason', async () => {
    const { partner: svxp } = compilePartner(join(repoRoot, 'partners/sangamon-valley'));
    const xml = readFileSync(join(repoRoot, 'partners/sangamon-valley/samples/svxp_invoice_SVX-INV-0051877.xml'), 'utf8');
    const [upper, lower] = [xml, xml.replace('code="FSC"', 'code=" fsc "').replace(/type="SHIPPER"/i, 'type="shipper"')]
      .map((doc) => translateXml(Buffer.from(doc), svxp!, { ...OPTS, fileName: 'svxp_invoice_x.xml' }).events[0] as Json);
    expect(lower.charges.map((c: Json) => c.code)).toEqual(upper.charges.map((c: Json) => c.code));
    expect(lower.parties.map((p: Json) => p.role)).toEqual(upper.parties.map((p: Json) => p.role));
    expect(upper.charges.map((c: Json) => c.code)).toContain('fuel_surcharge');

    const { partner: granite } = compilePartner(join(repoRoot, 'partners/granite-ridge'));
    const reg = new PartnerRegistry();
    reg.add(granite!);
    const text = readFileSync(join(repoRoot, 'partners/granite-ridge/samples/990-accept-BPL-88104301.edi'), 'latin1');
    const [u] = await units(Buffer.from(text.replace('*A*N~', '*A*N*CPU~'), 'latin1'), {}, reg);
    expect(u.status).toBe('translated');
    expect((u.events[0] as Json).decision).toBe('accepted');
    expect((u.events[0] as Json).declineReason).toBeUndefined();
  });
});

describe('references are trimmed in the example mappings', () => {
  it('a PRO padded with spaces is the same PRO (references correlate shipments)', async () => {
    const text = readFileSync(fixture('214/004010/ltl-multi-status.edi'), 'latin1');
    const pro = /^B10\*([^*]*)\*/m.exec(text)![1];
    const [u] = await units(Buffer.from(text.replace(`B10*${pro}*`, `B10*${pro}    *`), 'latin1'));
    expect(u.status).toBe('translated');
    expect(u.events.map((e) => (e as Json).references.proNumber)).toEqual(u.events.map(() => pro));
  });
});
