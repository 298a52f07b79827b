// Canonical values in inbound mappings. At compile time: every value a mapping gives whatever the input
// (constants, defaults, code-table values, under `each`/`items` and in nested objects too) is checked
// against the target field's schema (MAP_VALUE_NEVER_VALID, at the constant's or the table entry's own
// line), and a condition comparing an X12 element that has a closed code list with a code outside it is
// MAP_QUALIFIER_NEVER_VALID. At run time: an event the schema refuses (MAP_CANONICAL_INVALID) points at
// the mapping line of the refused field, not at 1:1.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adapterForDocument } from '../../src/mappings/adapters.js';
import { canonicalTarget, canonicalTypes } from '../../src/mappings/canonical-target.js';
import type { Diagnostic } from '../../src/mappings/diagnostics.js';
import { compileInbound } from '../../src/mappings/inbound.js';
import { compilePartner, type CompiledPartner } from '../../src/mappings/registry.js';
import { sharedTables, type CodeTables } from '../../src/mappings/tables.js';
import { translateXml } from '../../src/mappings/translate.js';
import { YamlSource } from '../../src/mappings/yaml-source.js';
import { repoRoot } from './support.js';

/** Where `needle` first occurs in `text` (1-based), independent of the compiler's own bookkeeping. */
function pos(text: string, needle: string): { line: number; column: number } {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`${needle} not in text`);
  const before = text.slice(0, i).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

let dir: string;
let tables: CodeTables;

// Code tables as partner files: positions in them are what a bad value is reported at.
const TABLES: Record<string, string> = {
  'st-typo.yaml': 'unmapped: error\nvalues:\n  X1: arrived_at_delivery\n  D1: deliverd\n',
  'st-bad-default.yaml': 'unmapped: error\ndefault: exceptoin\nvalues:\n  X1: arrived_at_delivery\n',
  // Pass-through: raw codes may come through at run time, but only the listed values are checked.
  'st-pass.yaml': 'unmapped: pass-through\nvalues:\n  X1: arrived_at_delivery\n',
  'role-typo.yaml': 'unmapped: error\nvalues:\n  SH: shipper\n  CN: consigne\n',
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'waybill-canonical-values-'));
  for (const [name, text] of Object.entries(TABLES)) writeFileSync(join(dir, name), text);
  tables = sharedTables().tables.clone();
  expect(tables.loadDir(dir)).toEqual([]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Compiles an inbound mapping (X12 214 unless the YAML says otherwise) and returns its diagnostics. */
function lint(yaml: string, document = 'x12/214'): Diagnostic[] {
  const { diagnostics } = compileInbound({
    src: YamlSource.parse(yaml, 'map.yaml'), adapter: adapterForDocument(document, '004010'), tables,
    canonical: (t) => canonicalTarget(t, 'inbound'), canonicalTypes,
  });
  return diagnostics;
}

const errors = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'error');

/** A complete shipment.status@1 mapping of a 214 with `extra` lines added under fields. */
function status214(extra: string[], opts: { when?: string; milestone?: string } = {}): string {
  return [
    'source: x12/214',
    'target: shipment.status@1',
    'foreach: LX/AT7',
    ...(opts.when ? [`when: ${opts.when}`] : []),
    'fields:',
    '  occurredAt: { datetime: { date: AT7.05, time: AT7.06, zone: AT7.07 } }',
    '  references.proNumber: B10.01',
    `  status.milestone: ${opts.milestone ?? '{ path: AT7.01, table: x12-shipment-status }'}`,
    ...extra.map((l) => `  ${l}`),
    '',
  ].join('\n');
}

describe('compile time: values the mapping gives whatever the input', () => {
  it('a valid mapping has no MAP_VALUE_NEVER_VALID (constants, shared tables, defaults, modifiers)', () => {
    const yaml = status214([
      'carrierScac: { const: svxp, case: upper }', //  upper-cased before it is checked
      "location.country: { path: MS1.03, default: US }",
      'quantity: { value: { const: "4" }, packaging: { const: piece } }',
      'notes: { list: [{ const: first }, K1.01] }',
      'stopSequence: { const: 1 }',
    ]);
    expect(errors(lint(yaml))).toEqual([]);
  });

  it('a constant outside an enum: at the constant, with the allowed values and a did-you-mean', () => {
    const yaml = status214(['quantity: { value: { const: "4" }, packaging: { const: pieces } }']);
    expect(errors(lint(yaml))).toEqual([{
      code: 'MAP_VALUE_NEVER_VALID', severity: 'error', file: 'map.yaml', ...pos(yaml, 'pieces'),
      message: expect.stringMatching(/^constant 'pieces' is never a valid quantity\.packaging of shipment\.status@1; allowed: pallet, .*piece,/),
      suggestion: 'piece',
    }]);
  });

  it('a constant that fails a pattern or a type says what is expected', () => {
    const yaml = status214(['carrierScac: { const: svxp }', 'location.country: { const: USA }', 'stopSequence: { const: "1" }']);
    const ds = errors(lint(yaml));
    expect(ds.map((d) => [d.code, d.line, d.column, d.message])).toEqual([
      ['MAP_VALUE_NEVER_VALID', pos(yaml, 'svxp').line, pos(yaml, 'svxp').column,
        "constant 'svxp' is never a valid carrierScac of shipment.status@1; must be a SCAC: 2 to 4 upper-case letters or digits"],
      ['MAP_VALUE_NEVER_VALID', pos(yaml, 'USA').line, pos(yaml, 'USA').column,
        `constant 'USA' is never a valid location.country of shipment.status@1; must be an ISO 3166-1 alpha-2 country code such as "US"`],
      ['MAP_VALUE_NEVER_VALID', pos(yaml, '"1"').line, pos(yaml, '"1"').column,
        expect.stringMatching(/^constant '1' is never a valid stopSequence of shipment\.status@1; .*expected number/i)],
    ]);
  });

  it('a default, and the constants of first: and list:, are checked where they are written', () => {
    const yaml = status214([
      'location.country: { path: MS1.03, default: usa }',
      'carrierScac: { first: [B10.03, { const: not a scac }] }',
      'notes: { list: [K1.01, { const: "" }, { const: 12345 }] }',
    ]);
    expect(errors(lint(yaml)).map((d) => [d.line, d.column, d.message.split(';')[0]])).toEqual([
      [pos(yaml, 'usa').line, pos(yaml, 'usa').column, "default 'usa' is never a valid location.country of shipment.status@1"],
      [pos(yaml, 'not a scac').line, pos(yaml, 'not a scac').column, "constant 'not a scac' is never a valid carrierScac of shipment.status@1"],
      // list: leaves empty values out, so "" is fine; a number is not a note (notes are text)
      [pos(yaml, '12345').line, pos(yaml, '12345').column, 'constant 12345 is never a valid notes of shipment.status@1'],
    ]);
  });

  it("a code table's value or default is reported at its entry in the table file, naming the mapping line that uses it", () => {
    const yaml = status214([], { milestone: '{ path: AT7.01, table: st-typo }' });
    const table = join(dir, 'st-typo.yaml');
    expect(errors(lint(yaml))).toEqual([{
      code: 'MAP_VALUE_NEVER_VALID', severity: 'error', file: table, ...pos(TABLES['st-typo.yaml'], 'deliverd'),
      message: expect.stringMatching(new RegExp(`^'deliverd', the value of table 'st-typo' for 'D1', is never a valid status\\.milestone of shipment\\.status@1 \\(the table is used at map\\.yaml:${pos(yaml, '{ path: AT7.01').line}:${pos(yaml, '{ path: AT7.01').column}\\); allowed: `)),
      suggestion: 'delivered',
    }]);
    const withDefault = status214([], { milestone: '{ path: AT7.01, table: st-bad-default }' });
    expect(errors(lint(withDefault)).map((d) => [d.file, d.line, d.column, d.message.split(' (')[0], d.suggestion])).toEqual([
      [join(dir, 'st-bad-default.yaml'), 2, 10, "'exceptoin', the default of table 'st-bad-default', is never a valid status.milestone of shipment.status@1", 'exception'],
    ]);
  });

  it('pass-through tables: only the listed values are checked; a constant passed through is checked as itself', () => {
    expect(errors(lint(status214([], { milestone: '{ path: AT7.01, table: st-pass }' })))).toEqual([]);
    const passed = status214([], { milestone: '{ const: ZZ, table: st-pass }' });
    expect(errors(lint(passed)).map((d) => [d.line, d.column, d.message.split(';')[0]])).toEqual([
      [pos(passed, 'ZZ').line, pos(passed, 'ZZ').column, "constant 'ZZ' is never a valid status.milestone of shipment.status@1"],
    ]);
    // A constant the table maps gives the table's value, which is fine.
    expect(errors(lint(status214([], { milestone: '{ const: X1, table: st-pass }' })))).toEqual([]);
  });

  it('tables and constants under each: and items:, and in nested objects', () => {
    const yaml = status214([
      'parties:',
      '  each: /N1',
      '  fields:',
      '    role: { path: N1.01, table: role-typo }',
      '    address: { city: N4.01, country: { const: United States } }',
    ]);
    const ds = errors(lint(yaml));
    expect(ds.map((d) => [d.file, d.line, d.column, d.message.split(/ \(|;/)[0], d.suggestion])).toEqual([
      [join(dir, 'role-typo.yaml'), 4, 7, "'consigne', the value of table 'role-typo' for 'CN', is never a valid parties[].role of shipment.status@1", 'consignee'],
      ['map.yaml', pos(yaml, 'United').line, pos(yaml, 'United').column, "constant 'United States' is never a valid parties[].address.country of shipment.status@1", undefined],
    ]);
    const csv = [
      'source: csv',
      'target: shipment.status@1',
      'fields:',
      '  occurredAt: { datetime: { date: Date, time: Time } }',
      '  references.proNumber: PRO',
      '  status.milestone: { const: delivered }',
      '  parties:',
      '    items:',
      '      - { role: { const: shipper, when: { exists: Shipper } }, name: Shipper }',
      '      - { role: { const: consignor, when: { exists: Consignee } }, name: Consignee }',
      '',
    ].join('\n');
    expect(errors(lint(csv, 'csv')).map((d) => [d.line, d.column, d.message.split(';')[0], d.suggestion])).toEqual([
      [pos(csv, 'consignor').line, pos(csv, 'consignor').column, "constant 'consignor' is never a valid parties[].role of shipment.status@1", 'consignee'],
    ]);
  });

  it('nothing is decided for transforms (date, decimal, concat, datetime) of constants', () => {
    expect(errors(lint(status214([
      'location.city: { concat: [{ const: "" }, { const: "" }] }',
      'weight: { value: { decimal: { const: abc } }, unit: { const: lb } }',
      'estimatedAt: { datetime: { date: { const: "20250101" } } }',
    ])))).toEqual([]);
  });

  it('a union target judges a value by every option (functional.ack@1: 997/999 vs TA1)', () => {
    const ack = (ackType: string, status: string) => [
      'source: x12/997',
      'target: functional.ack@1',
      'fields:',
      '  occurredAt: { const: "2025-01-01T00:00:00Z" }',
      `  ackType: { const: "${ackType}" }`,
      `  status: { const: ${status} }`,
      '  rawStatusCode: AK9.01',
      '  group: { functionalId: AK1.01, controlNumber: AK1.02 }',
      '  errors: { const: [] }',
      '  transactions: { each: AK2, fields: { transactionSetId: AK2.01, controlNumber: AK2.02, status: { const: accepted }, rawStatusCode: AK5.01 } }',
      '',
    ].join('\n');
    const codes = (yaml: string) => lint(yaml, 'x12/997').filter((d) => d.code === 'MAP_VALUE_NEVER_VALID');
    // 997 is the group option's, partially_accepted is not a TA1 status: each is valid in one option.
    expect(codes(ack('997', 'partially_accepted'))).toEqual([]);
    expect(codes(ack('TA1', 'accepted'))).toEqual([]);
    expect(codes(ack('998', 'accepted')).map((d) => [d.message.split('; ')[1], d.suggestion])).toEqual([['allowed: 997, 999, TA1', '997']]);
  });
});

describe('compile time: X12 condition values outside a closed code list', () => {
  it('equals: and in: values not in AT701 are MAP_QUALIFIER_NEVER_VALID at the value', () => {
    const yaml = status214(['status.rawStatusCode: { path: AT7.01, when: { path: AT7.01, equals: QQQ } }'], { when: '{ path: AT7.01, in: [X1, D11] }' });
    const ds = errors(lint(yaml));
    expect(ds.map((d) => [d.code, d.line, d.column, d.message, d.suggestion])).toEqual([
      ['MAP_QUALIFIER_NEVER_VALID', pos(yaml, 'D11').line, pos(yaml, 'D11').column, "'D11' is never a value of AT7.01, so this comparison never matches", 'D1'],
      ['MAP_QUALIFIER_NEVER_VALID', pos(yaml, 'QQQ').line, pos(yaml, 'QQQ').column, "'QQQ' is never a value of AT7.01, so this comparison never matches", undefined],
    ]);
  });

  it('valid codes, elements without a closed list, and compared values through a table pass', () => {
    const yaml = status214([
      'status.rawStatusCode: { path: AT7.01, when: { all: [{ path: AT7.01, in: [X1, D1] }, { not: { path: AT7.02, equals: NS } }] } }',
      'location.city: { path: MS1.01, when: { path: N1.01, equals: NOT-A-CODE } }', // N101 has no closed list here
      'status.description: { const: seen, when: { path: { path: AT7.01, table: x12-shipment-status }, equals: delivered } }',
    ]);
    expect(errors(lint(yaml))).toEqual([]);
  });
});

describe('compile time: the audit case (a copy of partners/sangamon-valley)', () => {
  let copy: string;

  beforeAll(() => {
    copy = join(dir, 'sangamon-valley');
    cpSync(join(repoRoot, 'partners/sangamon-valley'), copy, { recursive: true });
    const edit = (rel: string, from: string, to: string) => {
      const file = join(copy, rel);
      const text = readFileSync(file, 'utf8');
      expect(text).toContain(from);
      writeFileSync(file, text.replace(from, to));
    };
    edit('mappings/invoice-xml.yaml', 'purpose: { const: original }', 'purpose: { const: orignal }');
    edit('mappings/status-csv.yaml', 'packaging: { const: piece,', 'packaging: { const: pieces,');
    edit('tables/svxp-status.yaml', 'DELIVERED: delivered', 'DELIVERED: deliverd');
  });

  it('the unmodified partner compiles clean', () => {
    expect(errors(compilePartner(join(repoRoot, 'partners/sangamon-valley')).diagnostics)).toEqual([]);
  });

  it('each of the three mistakes is an error at its own file:line:column', () => {
    const { partner, diagnostics } = compilePartner(copy);
    expect(partner).toBeNull();
    const text = (rel: string) => readFileSync(join(copy, rel), 'utf8');
    expect(errors(diagnostics).map((d) => [d.code, d.file, d.line, d.column, d.suggestion])).toEqual([
      ['MAP_VALUE_NEVER_VALID', join(copy, 'tables/svxp-status.yaml'), pos(text('tables/svxp-status.yaml'), 'deliverd').line, pos(text('tables/svxp-status.yaml'), 'deliverd').column, 'delivered'],
      ['MAP_VALUE_NEVER_VALID', join(copy, 'mappings/status-csv.yaml'), pos(text('mappings/status-csv.yaml'), 'pieces').line, pos(text('mappings/status-csv.yaml'), 'pieces').column, 'piece'],
      ['MAP_VALUE_NEVER_VALID', join(copy, 'mappings/invoice-xml.yaml'), pos(text('mappings/invoice-xml.yaml'), 'orignal').line, pos(text('mappings/invoice-xml.yaml'), 'orignal').column, 'original'],
    ]);
  });
});

describe('run time: MAP_CANONICAL_INVALID points at the refused field', () => {
  // Pass-through tables let codes the canonical schema does not know reach the event at run time.
  const MAPPING = [
    'source: xml',
    'target: shipment.status@1',
    'fields:',
    '  occurredAt: Status/@at',
    '  references.proNumber: Status/Pro',
    '  status:',
    '    milestone: { path: Status/Code, table: xs-status }',
    '    rawStatusCode: Status/Code',
    '  location:',
    '    city: Status/City',
    '    state: Status/State',
    '  parties:',
    '    each: Status/Party',
    '    fields:',
    '      role: { path: "@role", table: xs-role }',
    '      name: Name',
    '',
  ].join('\n');
  const FILES: Record<string, string> = {
    'partner.yaml': [
      'id: xml-status', 'name: XML Status', 'timezone: America/Chicago', 'acknowledgments: { ta1: never, functional: none }',
      'inbound:', '  - document: xml', '    mapping: mappings/status.yaml', '',
    ].join('\n'),
    'mappings/status.yaml': MAPPING,
    'tables/xs-status.yaml': 'unmapped: pass-through\nvalues: { DEL: delivered, APPT: appointment_set }\n',
    'tables/xs-role.yaml': 'unmapped: pass-through\nvalues: { SH: shipper, CN: consignee }\n',
  };
  let partner: CompiledPartner;
  let file: string;

  beforeAll(() => {
    const partnerDir = join(dir, 'partners', 'xml-status');
    for (const [rel, text] of Object.entries(FILES)) {
      mkdirSync(dirname(join(partnerDir, rel)), { recursive: true });
      writeFileSync(join(partnerDir, rel), text);
    }
    const compiled = compilePartner(partnerDir);
    expect(compiled.diagnostics).toEqual([]);
    partner = compiled.partner!;
    file = join(partnerDir, 'mappings/status.yaml');
  });

  const doc = (o: { code?: string; state?: string; roles?: string[] } = {}) => `<Status at="2025-05-13T11:00:00-05:00">
  <Pro>P1</Pro><Code>${o.code ?? 'DEL'}</Code><City>JOLIET</City><State>${o.state ?? 'IL'}</State>
  ${(o.roles ?? ['SH', 'CN']).map((r, i) => `<Party role="${r}"><Name>N${i}</Name></Party>`).join('')}
</Status>`;
  const translate = (xml: string) => translateXml(xml, partner, { fileId: 'f', fileName: 'status.xml', receivedAt: '2025-05-13T12:00:00Z' });
  const failed = (xml: string) => {
    const u = translate(xml);
    expect(u.status).toBe('failed');
    expect(u.errors).toHaveLength(1);
    expect(u.errors[0].code).toBe('MAP_CANONICAL_INVALID');
    return u.errors[0];
  };

  it('a valid document translates', () => {
    expect(translate(doc())).toMatchObject({ status: 'translated', errors: [] });
  });

  it('status.milestone -> the spec of status.milestone', () => {
    const e = failed(doc({ code: 'ZZ' }));
    expect(e.message).toMatch(/status\.milestone: /);
    expect(e.mapping).toEqual({ file, ...pos(MAPPING, '{ path: Status/Code') });
  });

  it('location.state -> its spec', () => {
    expect(failed(doc({ state: 'Illinois' })).mapping).toEqual({ file, ...pos(MAPPING, 'Status/State') });
  });

  it('parties[1].role -> the spec of role inside each: fields', () => {
    const e = failed(doc({ roles: ['SH', 'XX'] }));
    expect(e.message).toMatch(/parties\[1\]\.role: /);
    expect(e.mapping).toEqual({ file, ...pos(MAPPING, '{ path: "@role"') });
  });

  it('a rule no field of the mapping answers for (appointment for appointment_set) -> 1:1', () => {
    const e = failed(doc({ code: 'APPT' }));
    expect(e.message).toMatch(/appointment: milestone appointment_set needs the appointment/);
    expect(e.mapping).toEqual({ file, line: 1, column: 1 });
  });

  it('the issue path is mapped to a position only for an invalid event', () => {
    const route = partner.inbound[0];
    const spy = vi.fn(route.mapping.fieldPosition);
    const original = route.mapping;
    route.mapping = { ...original, fieldPosition: spy };
    try {
      expect(translate(doc()).status).toBe('translated');
      expect(spy).not.toHaveBeenCalled();
      expect(failed(doc({ code: 'ZZ' })).mapping).toEqual({ file, ...pos(MAPPING, '{ path: Status/Code') });
      expect(spy).toHaveBeenCalledWith(['status', 'milestone']);
    } finally {
      route.mapping = original;
    }
  });
});

describe('compile time: a spec whose shape cannot fill its field', () => {
  const brief = (ds: Diagnostic[]) => errors(ds).map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);

  it('one value into a list, a list into one value, one value into an object: MAP_SPEC_INVALID at the spec', () => {
    expect(brief(lint(status214(['equipment: MS2.02', 'carrierScac: { all: B10.03 }', 'location: { first: [N4.01, N4.02] }'])))).toEqual([
      "8:14 MAP_SPEC_INVALID 'equipment' holds a list, but this spec gives one value: use 'each' (an item per loop iteration), 'items' (items written out), or 'all'/'list' (a list of values)",
      "9:16 MAP_SPEC_INVALID 'carrierScac' holds one value, but this spec gives a list: use 'path' (the first value) or 'concat' (the values joined)",
      "10:13 MAP_SPEC_INVALID 'location' holds an object, but this spec gives one value: assign its fields instead (location.<field>: ..., or location: { <field>: ... })",
    ]);
    // A constant of the wrong shape is reported once, by its value.
    expect(brief(lint(status214(['location: { const: CHICAGO }'])))).toEqual([
      "8:22 MAP_VALUE_NEVER_VALID constant 'CHICAGO' is never a valid location of shipment.status@1; Invalid input: expected object, received string",
    ]);
  });

  it('shapes that fit, or that only the input decides, pass', () => {
    expect(brief(lint(status214([
      'carrierScac: { first: [B10.03, { const: SVXP }] }',
      'equipment: { each: MS2, fields: { number: MS2.02 } }',
      'location.city: { concat: [N4.01, N4.02] }',
      // A first of mixed shapes: the input decides, so lint does not.
      'references.bolNumber: { first: [{ all: L11.01 }, B10.01] }',
    ])))).toEqual([]);
  });
});
