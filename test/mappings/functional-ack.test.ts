// Built-in translation of inbound 997/999/TA1 (src/mappings/functional-ack.ts, wired into translateX12):
// one functional.ack@1 event per acknowledgment, from partners that have no mapping for it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdFromSource, parseEvent } from '../../src/canonical/index.js';
import { adapterForDocument } from '../../src/mappings/adapters.js';
import { canonicalTarget, canonicalTypes } from '../../src/mappings/canonical-target.js';
import { compileInbound } from '../../src/mappings/inbound.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import { sharedTables } from '../../src/mappings/tables.js';
import { YamlSource } from '../../src/mappings/yaml-source.js';
import { translateX12, type TranslatedUnit } from '../../src/mappings/translate.js';
import { interchange, isaSegment, PIPE, STAR } from '../helpers/x12.js';
import { fixture } from './support.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// Partners named after the senders of the ack fixtures; none has a mapping for 997/999.
const FILES: Record<string, string> = {
  'tri-county/partner.yaml': 'id: tri-county\nname: Tri-County Hardware\ntimezone: America/Chicago\nx12:\n  isa: { qualifier: ZZ, id: TRICOUNTYHWS }\n',
  'keystone/partner.yaml': 'id: keystone\nname: Keystone Logistics\ntimezone: America/New_York\nx12:\n  isa: { qualifier: ZZ, id: KEYSTONELP }\n',
  'granite/partner.yaml': 'id: granite\nname: Granite Ridge Express\ntimezone: America/Denver\nx12:\n  isa: { qualifier: "02", id: GRXP }\n',
  // The test helper's sender (ZZ/SENDERID), with an explicit 997 route: its own mapping wins over the built-in.
  'own-997/partner.yaml': `id: own-997
name: Maps Its Own 997
timezone: UTC
x12:
  isa: { qualifier: ZZ, id: SENDERID }
inbound:
  - document: x12/997
    mapping: mappings/997.yaml
`,
  'own-997/mappings/997.yaml': `source: x12/997
target: functional.ack@1
fields:
  # optional for a 997/999 (TA1-only fields are not demanded of the 997/999 branch)
  interchangeControlNumber: { const: "000000041" }
  occurredAt: { const: "2025-01-01T00:00:00Z" }
  references: { const: {} }
  ackType: { const: "997" }
  group.functionalId: AK1.01
  group.controlNumber: AK1.02
  status: { const: rejected }
  rawStatusCode: { const: MAPPED }
  errors: { const: [] }
  transactions: { const: [] }
`,
};

let root: string;
let registry: PartnerRegistry;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'waybill-acks-'));
  for (const [rel, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  const loaded = PartnerRegistry.load(root);
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  registry = loaded.registry;
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const OPTS = { fileId: 'sha256-acks', receivedAt: '2025-05-07T03:00:00Z' };

async function units(source: string | Buffer, fileName?: string): Promise<TranslatedUnit[]> {
  const out: TranslatedUnit[] = [];
  for await (const u of translateX12(source, registry, { ...OPTS, ...(fileName && { fileName }) })) out.push(u);
  return out;
}

describe('inbound 997', () => {
  it('accepts a group (fixtures/edi/997/004010/accept-214-group.edi): one event, every AK2 listed', async () => {
    const us = await units(fixture('997/004010/accept-214-group.edi'), 'accept.edi');
    expect(us).toHaveLength(1);
    const [u] = us;
    expect(u).toMatchObject({ status: 'translated', partner: 'tri-county', errors: [] });
    expect(u.events).toHaveLength(1);
    const source = {
      format: 'x12', fileId: 'sha256-acks', fileName: 'accept.edi', index: 0, interchangeControlNumber: '000081204', groupControlNumber: '81204',
      transactionControlNumber: '812040001', transactionSetId: '997', version: '004010', line: 3,
    } as const;
    expect(u.events[0]).toEqual({
      kind: 'event',
      id: eventIdFromSource('tri-county', source),
      type: 'functional.ack@1',
      partner: 'tri-county',
      occurredAt: '2025-05-06T22:04:00-05:00', // GS04/GS05 in the partner's zone (CDT)
      receivedAt: '2025-05-07T03:00:00Z',
      source,
      references: {},
      ackType: '997',
      group: { functionalId: 'QM', controlNumber: '2297' },
      status: 'accepted',
      rawStatusCode: 'A',
      counts: { included: 3, received: 3, accepted: 3 },
      errors: [],
      transactions: ['0001', '0002', '0003'].map((c) => ({ transactionSetId: '214', controlNumber: c, status: 'accepted', rawStatusCode: 'A', errors: [] })),
    });
    expect(parseEvent(u.events[0]).ok).toBe(true);
  });

  it('rejects a 210 with AK3/AK4 (fixtures/edi/997/005010/reject-210-ak3-ak4.edi): segment, element and transaction errors', async () => {
    const [u] = await units(fixture('997/005010/reject-210-ak3-ak4.edi'));
    expect(u.status).toBe('translated');
    const ev = u.events[0] as Json;
    expect(ev).toMatchObject({
      partner: 'keystone', occurredAt: '2025-03-17T10:30:00-04:00', ackType: '997',
      group: { functionalId: 'IM', controlNumber: '3307', version: '005010' },
      status: 'partially_accepted', rawStatusCode: 'P', counts: { included: 2, received: 2, accepted: 1 }, errors: [],
    });
    expect(ev.transactions[0]).toEqual({ transactionSetId: '210', controlNumber: '0001', implementationReference: '005010', status: 'accepted', rawStatusCode: 'A', errors: [] });
    expect(ev.transactions[1]).toEqual({
      transactionSetId: '210', controlNumber: '0002', implementationReference: '005010', status: 'rejected', rawStatusCode: 'R',
      errors: [
        { level: 'segment', code: '8', description: 'Segment Has Data Element Errors', segmentId: 'B3', segmentPosition: 2 },
        { level: 'element', code: '8', description: 'Invalid Date', segmentId: 'B3', segmentPosition: 2, elementPosition: 6, elementReference: '373', badValue: '20250231' },
        { level: 'transaction', code: '5', description: 'One or More Segments in Error' },
      ],
    });
    expect(parseEvent(ev).ok).toBe(true);
  });

  it('a 997 the validator rejects (no AK9) gives no event', async () => {
    const text = readFileSync(fixture('997/004010/missing-ak9.edi'), 'latin1').replace(/\*ZZ\*[A-Z]+ *\*/, (m) => `*ZZ*${'TRICOUNTYHWS'.padEnd(15)}*`);
    const [u] = await units(Buffer.from(text, 'latin1'));
    expect(u.status).toBe('rejected');
    expect(u.events).toEqual([]);
    expect(u.errors.map((e) => e.code)).toContain('X12_SEGMENT_MANDATORY_MISSING');
  });

  it('a 997 that passes the schema but cannot be interpreted is rejected with X12_ACK_MALFORMED', async () => {
    // AK904 (3 accepted) exceeds AK903 (2 received).
    const x12 = interchange(STAR, [{ set: '997', control: '0001', body: ['AK1*SM*41', 'AK2*204*0001', 'AK5*A', 'AK9*A*2*2*3'] }], { functionalId: 'FA' });
    const [u] = await units(Buffer.from(x12.replace('ZZ*SENDERID       ', 'ZZ*TRICOUNTYHWS   ')));
    expect(u.status).toBe('rejected');
    expect(u.events).toEqual([]);
    // at AK904, the element at fault
    expect(u.errors).toContainEqual(expect.objectContaining({ code: 'X12_ACK_MALFORMED', severity: 'error', line: 7, column: 'AK9*A*2*2*'.length + 1, message: expect.stringMatching(/AK904/) }));
  });

  it('a 997 from an unknown sender is unidentified', async () => {
    const text = readFileSync(fixture('997/004010/accept-214-group.edi'), 'latin1').replace('ZZ*TRICOUNTYHWS   ', 'ZZ*TRICOUNTYHWZ   ');
    const [u] = await units(Buffer.from(text, 'latin1'));
    expect(u.status).toBe('unidentified');
    expect(u.errors[0].code).toBe('PARTNER_UNKNOWN_SENDER');
    expect(u.errors[0].message).toMatch(/^no partner sends as ISA ZZ\/TRICOUNTYHWZ; closest: '[a-z-]+' \(ISA ZZ\/TRICOUNTYHWS\); configured: /);
  });

  it('an explicit x12/997 route uses the partner mapping instead of the built-in', async () => {
    const x12 = interchange(STAR, [{ set: '997', control: '0001', body: ['AK1*SM*41', 'AK2*204*0001', 'AK5*A', 'AK9*A*1*1*1'] }], { functionalId: 'FA' });
    const [u] = await units(Buffer.from(x12));
    expect(u).toMatchObject({ status: 'translated', partner: 'own-997' });
    expect(u.events[0]).toMatchObject({ rawStatusCode: 'MAPPED', status: 'rejected', group: { functionalId: 'SM', controlNumber: '41' }, transactions: [] });
  });
});

// functional.ack@1 is a discriminated union (997/999 vs TA1). CanonicalTarget merges the shapes of a
// union's options with Object.assign, so the TA1 branch's required `interchangeControlNumber` overrides
// the group branch's optional one, and a complete 997 mapping is refused with
// MAP_REQUIRED_FIELD_UNASSIGNED "required field 'interchangeControlNumber' of functional.ack@1".
it('a mapping that fills the 997/999 branch of functional.ack@1 compiles without TA1-only fields', () => {
  const yaml = FILES['own-997/mappings/997.yaml'].replace(/^ {2}# optional.*\n^ {2}interchangeControlNumber.*\n/m, '');
  expect(yaml).not.toContain('interchangeControlNumber');
  const { diagnostics } = compileInbound({
    src: YamlSource.parse(yaml, '997.yaml'), adapter: adapterForDocument('x12/997', '004010'), tables: sharedTables().tables,
    canonical: (t) => canonicalTarget(t, 'inbound'), canonicalTypes,
  });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
});

describe('inbound 999', () => {
  it('partial acceptance (fixtures/edi/999/005010/partial-acceptance-204.edi): IK3/IK4/IK5 with loop ids', async () => {
    const [u] = await units(fixture('999/005010/partial-acceptance-204.edi'));
    expect(u.status).toBe('translated');
    const ev = u.events[0] as Json;
    expect(parseEvent(ev).ok).toBe(true);
    expect(ev).toMatchObject({
      partner: 'granite', ackType: '999', occurredAt: '2025-10-20T14:16:00-06:00',
      source: { transactionSetId: '999', version: '005010X231A1', groupControlNumber: '874' },
      group: { functionalId: 'SM', controlNumber: '868', version: '005010' }, status: 'partially_accepted', counts: { included: 3, received: 3, accepted: 1 },
    });
    expect(ev.transactions.map((t: Json) => [t.controlNumber, t.status, t.errors.length])).toEqual([['0001', 'accepted', 0], ['0002', 'rejected', 3], ['0003', 'rejected', 5]]);
    expect(ev.transactions[2].errors).toEqual([
      { level: 'segment', code: '8', description: 'Segment Has Data Element Errors', segmentId: 'N4', segmentPosition: 17, loopId: '0100' },
      { level: 'element', code: '7', description: 'Invalid Code Value', segmentId: 'N4', segmentPosition: 17, elementPosition: 2, elementReference: '156', badValue: 'QK' },
      { level: 'segment', code: '8', description: 'Segment Has Data Element Errors', segmentId: 'L3', segmentPosition: 37 },
      { level: 'element', code: '6', description: 'Invalid Character In Data Element', segmentId: 'L3', segmentPosition: 37, elementPosition: 5, elementReference: '58', badValue: '2650.OO' },
      { level: 'transaction', code: '5', description: 'One or More Segments in Error' },
    ]);
  });

  it('keeps CTX contexts verbatim on the segment and element errors they follow, with component and repetition positions', async () => {
    const x12 = interchange(PIPE, [{
      set: '999', control: '0001',
      body: [
        'AK1|HC|17|005010X222A1',
        'AK2|837|0001|005010X222A1',
        'IK3|NM1|8|2010|8',
        'CTX|SITUATIONAL TRIGGER|CLM|5||1',
        'IK4|9^1^2|66|7|XX',
        'CTX|CLM01^A37YH556',
        'IK5|R|5',
        'AK9|R|1|1|0',
      ],
    }], { functionalId: 'FA', version: '005010X231A1' });
    const [u] = await units(Buffer.from(x12.replace('ZZ|SENDERID       ', '02|GRXP           ')));
    expect(u.errors.filter((e) => e.severity === 'error')).toEqual([]);
    expect(u.status).toBe('translated');
    const ev = u.events[0] as Json;
    expect(parseEvent(ev).ok).toBe(true);
    expect(ev.status).toBe('rejected');
    expect(ev.transactions[0].errors).toEqual([
      { level: 'segment', code: '8', description: 'Segment Has Data Element Errors', segmentId: 'NM1', segmentPosition: 8, loopId: '2010',
        context: ['CTX|SITUATIONAL TRIGGER|CLM|5||1'] },
      { level: 'element', code: '7', description: 'Invalid Code Value', segmentId: 'NM1', segmentPosition: 8,
        elementPosition: 9, componentPosition: 1, repetitionPosition: 2, elementReference: '66', badValue: 'XX', context: ['CTX|CLM01^A37YH556'] },
      { level: 'transaction', code: '5', description: 'One or More Segments in Error' },
    ]);
  });
});

describe('inbound TA1', () => {
  const ta1File = (ta1s: string[], isaControl = '000000388') =>
    [isaSegment(STAR, isaControl).replace('ZZ*SENDERID       ', 'ZZ*KEYSTONELP     '), ...ta1s, `IEA*0*${isaControl}`].map((s) => `${s}~\n`).join('');

  it('a rejecting TA1 is one event with the TA105 note as an interchange error', async () => {
    const us = await units(Buffer.from(ta1File(['TA1*000001045*240311*0929*R*006'])), 'ta1.edi');
    expect(us).toHaveLength(1);
    const [u] = us;
    expect(u).toMatchObject({
      status: 'translated', partner: 'keystone', label: 'TA1 000001045 (interchange 000000388)', line: 2, errors: [],
      x12: { interchange: '000000388', group: '', setId: 'TA1', control: '000001045' },
    });
    const source = { format: 'x12', fileId: 'sha256-acks', fileName: 'ta1.edi', index: 0, interchangeControlNumber: '000000388', transactionSetId: 'TA1', line: 2 } as const;
    expect(u.events).toEqual([{
      kind: 'event', id: eventIdFromSource('keystone', source), type: 'functional.ack@1', partner: 'keystone',
      occurredAt: '2025-01-01T12:00:00-05:00', // ISA09/ISA10 of the carrying interchange, in the partner's zone
      receivedAt: '2025-05-07T03:00:00Z', source, references: {},
      ackType: 'TA1', interchangeControlNumber: '000001045', interchangeDate: '240311', interchangeTime: '0929',
      status: 'rejected', rawStatusCode: 'R',
      errors: [{ level: 'interchange', code: '006', description: 'Invalid Interchange Sender ID' }],
    }]);
    expect(parseEvent(u.events[0]).ok).toBe(true);
  });

  it('an accepting TA1 has no errors; two TA1s in one interchange get different ids', async () => {
    const us = await units(Buffer.from(ta1File(['TA1*000001045*240311*0929*A*000', 'TA1*000001046*240311*0931*E*022'])));
    expect(us.map((u) => [u.status, u.events.length])).toEqual([['translated', 1], ['translated', 1]]);
    const [a, e] = us.map((u) => u.events[0] as Json);
    expect(a).toMatchObject({ status: 'accepted', rawStatusCode: 'A', errors: [], source: { index: 0 } });
    expect(e).toMatchObject({ status: 'accepted_with_errors', rawStatusCode: 'E', source: { index: 1 } });
    expect(e.errors).toEqual([{ level: 'interchange', code: '022', description: expect.any(String) }]);
    expect(a.id).not.toBe(e.id);
  });

  it('a TA1 that cannot be read is rejected; one from an unknown sender is unidentified', async () => {
    const [bad] = await units(Buffer.from(ta1File(['TA1*1045*240311*0929*R*006'])));
    expect(bad.status).toBe('rejected');
    expect(bad.errors).toContainEqual(expect.objectContaining({ code: 'X12_ACK_MALFORMED', line: 2, column: 'TA1*'.length + 1, message: expect.stringMatching(/TA101/) }));
    const unknown = ta1File(['TA1*000001045*240311*0929*A*000']).replace('ZZ*KEYSTONELP     ', 'ZZ*NOBODY         ');
    const [u] = await units(Buffer.from(unknown));
    expect(u.status).toBe('unidentified');
    expect(u.errors[0].code).toBe('PARTNER_UNKNOWN_SENDER');
  });

  it('TA1 units come in file order with the transactions of the same file', async () => {
    const body = ['AK1*SM*41', 'AK2*204*0001', 'AK5*A', 'AK9*A*1*1*1'];
    const lines = interchange(STAR, [{ set: '997', control: '0001', body }], { functionalId: 'FA' }).split('\n');
    lines.splice(1, 0, 'TA1*000001045*240311*0929*A*000~');
    const text = lines.join('\n').replaceAll('ZZ*SENDERID       ', 'ZZ*KEYSTONELP     ');
    const us = await units(Buffer.from(text));
    expect(us.map((u) => [u.x12?.setId, u.status, (u.events[0] as Json | undefined)?.ackType])).toEqual([['TA1', 'translated', 'TA1'], ['997', 'translated', '997']]);
  });
});
