// The inbound pipeline without Redis: intake -> processFile -> ledger (units, outbox, acks).
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import { binaryKind } from '../../src/mappings/translate.js';
import type { PipelineContext } from '../../src/pipeline/context.js';
import { silentLogger } from '../../src/pipeline/context.js';
import { intake } from '../../src/pipeline/intake.js';
import { processFile } from '../../src/pipeline/process-file.js';
import { readX12Sync } from '../../src/translators/x12/reader.js';

const { registry } = PartnerRegistry.load(new URL('../../partners', import.meta.url).pathname);
const fixture = (rel: string) => readFileSync(new URL(`../../fixtures/edi/${rel}`, import.meta.url));
const multiStatus = fixture('214/004010/ltl-multi-status.edi'); // prairie-line, 1 transaction, 6 statuses

function setup(duplicates: PipelineContext['duplicates'] = { windowDays: 30, interchange: 'ignore' }, batchSize = 500) {
  const dataDir = mkdtempSync(join(tmpdir(), 'wb-pipe-'));
  const ledger = new SqliteLedger(join(dataDir, 'ledger.db'));
  const ctx: PipelineContext = { dataDir, ledger, registry: () => registry, log: silentLogger, duplicates, batchSize };
  const take = async (bytes: Buffer, name = 'in.edi', partner?: string) => {
    const r = await intake(ctx, { input: bytes, transport: 'test', originalName: name, partner });
    return { ...r, result: await processFile(ctx, r.fileId) };
  };
  return { ctx, ledger, take };
}

/** Same interchange, different bytes (so a different file): the ISA is unchanged. */
function resentWithOtherBytes(buf: Buffer): Buffer {
  return Buffer.concat([buf, Buffer.from('\n\n')]);
}

/** Same content under a new ISA13/IEA02 (a different interchange carrying the same business facts). */
function withIsa13(buf: Buffer, control: string): Buffer {
  const text = buf.toString('latin1');
  const isa = [...readX12Sync(buf)].find((e) => e.type === 'interchange-start');
  if (isa?.type !== 'interchange-start') throw new Error('no ISA');
  const old = isa.header.control;
  return Buffer.from(text.replace(`*${old}*`, `*${control}*`).replace(`IEA*1*${old}`, `IEA*1*${control}`), 'latin1');
}

describe('inbound pipeline', () => {
  it('translates a file into outbox events, unit rows and exactly one 997', async () => {
    const { ledger, take } = setup();
    const { fileId, result } = await take(multiStatus);
    expect(result).toMatchObject({ state: 'translated', units: 1, newEvents: 6, acks: 1 });
    expect((await ledger.getFile(fileId))?.state).toBe('translated');
    expect(await ledger.countEvents()).toMatchObject({ total: 6, unpublished: 6 });
    const units = await ledger.units(fileId);
    expect(units.map((u) => [u.setId, u.control, u.state])).toEqual([['214', '0001', 'translated']]);
    expect(units[0].references).toMatchObject({ proNumber: '0048213377', bolNumber: 'TCH-BOL-40771' });
    const acks = await ledger.listOutboundDocuments({ relatedFileId: fileId });
    expect(acks).toHaveLength(1);
    expect(acks[0].kind).toBe('997');
    expect(acks[0].content).toMatch(/AK1\*QM\*2291~/);
    expect(acks[0].content).toMatch(/AK9\*A\*1\*1\*1~/);
  });

  it('writes the 997\'s dates and times in the partner\'s time zone, the zone its own acknowledgments are read in', async () => {
    const { ctx, ledger, take } = setup();
    ctx.now = () => new Date('2025-01-15T18:05:00Z'); // prairie-line: America/Chicago, UTC-6 in January
    const { fileId } = await take(multiStatus);
    const [ack] = await ledger.listOutboundDocuments({ relatedFileId: fileId });
    expect(ack.content).toMatch(/^ISA(\*[^*]*){8}\*250115\*1205\*/);
    expect(ack.content).toMatch(/GS\*FA\*[^*]*\*[^*]*\*20250115\*1205\*/);
  });

  it('records every interchange of a multi-interchange file (one without transactions too), with the ledger committing on its own thread', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wb-pipe-'));
    const ledger = new SqliteLedger(join(dataDir, 'ledger.db'), { commitThread: true });
    try {
      const ctx: PipelineContext = { dataDir, ledger, registry: () => registry, log: silentLogger, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 500 };
      const take = async (bytes: Buffer, name: string) => {
        const r = await intake(ctx, { input: bytes, transport: 'test', originalName: name });
        return { ...r, result: await processFile(ctx, r.fileId) };
      };
      const text = multiStatus.toString('latin1');
      const isa = text.slice(0, text.indexOf('GS'));
      const empty = `${isa.replace(/\*\d{9}\*/, '*000000777*')}IEA*0*000000777~\n`;
      const file = Buffer.concat([withIsa13(multiStatus, '000000701'), withIsa13(multiStatus, '000000702'), Buffer.from(empty, 'latin1')]);
      const first = await take(file, 'three.edi');
      expect(first.result).toMatchObject({ state: 'translated', units: 2, newEvents: 6 });
      // Each interchange, alone in a later file, is a duplicate of the first file's.
      for (const control of ['000000701', '000000702']) {
        const later = await take(resentWithOtherBytes(withIsa13(multiStatus, control)), `again-${control}.edi`);
        expect((await ledger.units(later.fileId)).map((u) => u.state)).toEqual(['duplicate']);
      }
      // The interchange without transactions was recorded too (it made no batch of units of its own).
      const header = [...readX12Sync(multiStatus)].find((e) => e.type === 'interchange-start');
      if (header?.type !== 'interchange-start') throw new Error('no ISA');
      const { senderQualifier, senderId } = header.header;
      expect(await ledger.priorInterchange({ senderQualifier, senderId, control: '000000777', fileId: 'sha256-other', receivedAt: new Date().toISOString() }, 30))
        .toEqual({ duplicateOf: first.fileId });
    } finally {
      await ledger.close();
    }
  });

  it('the same bytes again produce no new events and no second acknowledgment', async () => {
    const { ledger, take } = setup();
    await take(multiStatus);
    const again = await take(multiStatus);
    expect(again.created).toBe(false);
    expect(again.result.state).toBe('skipped');
    expect((await ledger.countEvents()).total).toBe(6);
    expect(await ledger.listOutboundDocuments()).toHaveLength(1);
  });

  it('the same sender + ISA13 in another file is skipped under policy ignore', async () => {
    const { ledger, take } = setup({ windowDays: 30, interchange: 'ignore' });
    await take(multiStatus);
    const dup = await take(resentWithOtherBytes(multiStatus), 'resent.edi');
    expect(dup.created).toBe(true);
    expect(dup.result).toMatchObject({ state: 'translated', newEvents: 0, acks: 0 });
    const units = await ledger.units(dup.fileId);
    expect(units.map((u) => u.state)).toEqual(['duplicate']);
    expect(units[0].errors[0].code).toBe('X12_DUPLICATE_INTERCHANGE_CONTROL');
    expect((await ledger.countEvents()).total).toBe(6);
  });

  it('the same sender + ISA13 in another file is rejected with TA1 note 025 under policy reject', async () => {
    const { ledger, take } = setup({ windowDays: 30, interchange: 'reject' });
    await take(multiStatus);
    const dup = await take(resentWithOtherBytes(multiStatus), 'resent.edi');
    expect(dup.result.newEvents).toBe(0);
    const acks = await ledger.listOutboundDocuments({ relatedFileId: dup.fileId });
    expect(acks).toHaveLength(1);
    expect(acks[0].content).toMatch(/TA1\*000002291\*\d{6}\*\d{4}\*R\*025~/);
    expect(acks[0].content).not.toMatch(/ST\*997/);
  });

  it('outside the window the same ISA13 is a new interchange', async () => {
    const { ledger, take } = setup({ windowDays: 0, interchange: 'reject' });
    await take(multiStatus);
    await new Promise((r) => setTimeout(r, 5));
    const later = await take(resentWithOtherBytes(multiStatus), 'resent.edi');
    expect(later.result.acks).toBe(1);
    expect((await ledger.listOutboundDocuments({ relatedFileId: later.fileId }))[0].content).toMatch(/ST\*997/);
  });

  it('the same business fact under another interchange is flagged, not emitted twice', async () => {
    const { ledger, take } = setup();
    await take(multiStatus);
    const other = await take(withIsa13(multiStatus, '000009999'), 'other.edi');
    expect(other.result).toMatchObject({ state: 'translated', newEvents: 0, duplicateFacts: 6, acks: 1 });
    expect((await ledger.countEvents()).total).toBe(6);
    expect((await ledger.stats()).events.duplicateFacts).toBe(6);
  });

  it("a partner's 997 sent again under another interchange is the same fact; another verdict on the group is not", async () => {
    const { ledger, take } = setup();
    const ack = (verdict: 'A' | 'R') => Buffer.from([
      'ISA*00*          *00*          *02*PRLF           *ZZ*TRICOUNTYHWS   *250416*1105*U*00401*000003001*0*P*>',
      'GS*FA*PRLF*TRICOUNTYHWS*20250416*1105*3001*X*004010', 'ST*997*0001', 'AK1*SM*512', 'AK2*204*0001',
      verdict === 'A' ? 'AK5*A' : 'AK5*R*5', `AK9*${verdict}*1*1*${verdict === 'A' ? 1 : 0}`, 'SE*6*0001', 'GE*1*3001', 'IEA*1*000003001',
    ].join('~\n') + '~\n', 'latin1');
    const first = await take(ack('A'), 'ack.edi');
    expect(first.result).toMatchObject({ state: 'translated', newEvents: 1 });
    const again = await take(withIsa13(ack('A'), '000003002'), 'ack-again.edi');
    expect(again.result).toMatchObject({ state: 'translated', newEvents: 0, duplicateFacts: 1 });
    const rejected = await take(withIsa13(ack('R'), '000003003'), 'ack-rejected.edi');
    expect(rejected.result).toMatchObject({ state: 'translated', newEvents: 1 });
    expect((await ledger.countEvents()).total).toBe(2);
  });

  it('resumes a crashed translation without duplicating events or acknowledgments', async () => {
    const { ctx, ledger, take } = setup(undefined, 1);
    const file = fixture('envelope/multi-group-214-and-210.edi');
    const first = await take(file, 'multi.edi');
    const total = (await ledger.countEvents()).total;
    expect(first.result.units).toBe(5);
    // As if the process died before finishing: state back to translating, checkpoint half way.
    await ledger.setFileState(first.fileId, 'translating');
    const db = (ledger as unknown as { db: { prepare(s: string): { run(...a: unknown[]): void } } }).db;
    db.prepare('UPDATE files SET units_done = 2 WHERE id = ?').run(first.fileId);
    const again = await processFile(ctx, first.fileId);
    expect(again.state).toBe('translated');
    expect(again.newEvents).toBe(0);
    expect((await ledger.countEvents()).total).toBe(total);
    expect(await ledger.listOutboundDocuments({ relatedFileId: first.fileId })).toHaveLength(1);
    expect(await ledger.units(first.fileId)).toHaveLength(5);
  });

  it('a group whose GS02 is not its partner\'s GS id yields no events: its transactions are unidentified; the 997 still goes out', async () => {
    const { ledger, take } = setup();
    const bogus = Buffer.from(multiStatus.toString('latin1').replace('GS*QM*PRLF*', 'GS*QM*BOGUS*'), 'latin1');
    const { fileId, result } = await take(bogus);
    expect(result).toMatchObject({ newEvents: 0, acks: 1 });
    expect(await ledger.countEvents()).toMatchObject({ total: 0 });
    const units = await ledger.units(fileId);
    expect(units.map((u) => [u.setId, u.control, u.state])).toEqual([['214', '0001', 'unidentified']]);
  });

  it('a group whose GS header has errors yields no events; its sets are rejected with it, and the ack says so', async () => {
    const { ledger, take } = setup();
    const badGs = Buffer.from(multiStatus.toString('latin1').replace('*1105*2291*X*', '*1105*X1*X*').replace('GE*1*2291~', 'GE*1*X1~'), 'latin1');
    const { fileId, result } = await take(badGs);
    expect(result).toMatchObject({ newEvents: 0, acks: 1 });
    expect(await ledger.countEvents()).toMatchObject({ total: 0 });
    const units = await ledger.units(fileId);
    expect(units.map((u) => [u.setId ?? u.label, u.state, u.errors.map((e) => e.code)])).toEqual([
      ['group X1 (interchange 000002291)', 'rejected', ['X12_GS_CONTROL_INVALID']],
      ['214', 'rejected', ['X12_GROUP_REJECTED']],
    ]);
    // GS06 'X1' is no number, so no AK1 can name the group (AK102 is N0): no 997, but a TA1 saying the
    // interchange holds an invalid GS (E, 024). A GS06 the 997 can name gets AK9 R (see the next test).
    const [ack] = await ledger.listOutboundDocuments({ relatedFileId: fileId });
    expect(ack.kind).toBe('TA1');
    expect(ack.content).toMatch(/\nTA1\*000002291\*\d{6}\*\d{4}\*E\*024~/);
    expect(ack.content).not.toMatch(/ST\*997/);
  });

  it('a group whose GS06 the 997 can name but whose header has an error: AK9 R with the group\'s code, and its sets AK5 R, as their units', async () => {
    const { ledger, take } = setup();
    // the same group twice: the second one's GS06 is not unique in the interchange (716 code 6 in a 004010 997)
    const text = multiStatus.toString('latin1');
    const groupText = text.slice(text.indexOf('GS*'), text.indexOf('IEA*'));
    const twice = Buffer.from(text.replace(groupText, groupText + groupText).replace(/IEA\*1\*/, 'IEA*2*'), 'latin1');
    const { fileId } = await take(twice);
    const units = await ledger.units(fileId);
    expect(units.filter((u) => u.setId === '214').map((u) => [u.state, u.errors.map((e) => e.code)])).toEqual([
      ['translated', []],
      ['rejected', ['X12_GROUP_REJECTED']],
    ]);
    const [ack] = await ledger.listOutboundDocuments({ relatedFileId: fileId });
    expect(ack.content).toMatch(/AK5\*A~\r?\nAK9\*A\*1\*1\*1~/);
    expect(ack.content).toMatch(/AK5\*R~\r?\nAK9\*R\*1\*1\*0\*6~/);
  });

  it('an interchange whose ISA header has errors yields no events (the TA1 rejects it)', async () => {
    const { ledger, take } = setup();
    const { fileId, result } = await take(withIsa13(multiStatus, '00000ABCD'));
    expect(result).toMatchObject({ newEvents: 0 });
    expect(await ledger.countEvents()).toMatchObject({ total: 0 });
    const units = await ledger.units(fileId);
    expect(units.map((u) => [u.setId ?? u.label, u.state, u.errors.map((e) => e.code)])).toEqual([
      ['interchange 00000ABCD', 'rejected', ['X12_ISA_CONTROL_INVALID']],
      ['214', 'rejected', ['X12_INTERCHANGE_REJECTED']],
    ]);
    const [ack] = await ledger.listOutboundDocuments({ relatedFileId: fileId });
    // TA105 018: invalid interchange control number value
    expect(ack.content).toMatch(/TA1\*00000ABCD\*[0-9]+\*[0-9]+\*R\*018~/);
  });

  it('a CSV file without a known partner fails with a coded error and nothing is lost', async () => {
    const { ledger, take } = setup();
    const csv = readFileSync(new URL('../../partners/sangamon-valley/samples/svxp_status_20250513_1100.csv', import.meta.url));
    const r = await take(csv, 'status.csv');
    expect(r.result.state).toBe('failed');
    const f = await ledger.getFile(r.fileId);
    expect(f?.state).toBe('failed');
    expect(f?.errors[0].code).toBe('PARTNER_UNKNOWN');
    expect(readFileSync(join((ledger as unknown as { path: string }).path, '..', f!.storedPath))).toEqual(csv);
    const ok = await take(Buffer.concat([csv, Buffer.from('\n')]), 'svxp_status_20250513_1101.csv', 'sangamon-valley');
    expect(ok.result.state).toBe('translated');
    expect(ok.result.newEvents).toBeGreaterThan(0);
  });

  it('a CSV record with a stray quote fails alone: the records on the lines it ran over are committed', async () => {
    const { ledger, take } = setup();
    const header = 'PRO,BOL,PO,Status,Event Date,Event Time,Time Zone,City,State,Zip,Pieces,Weight,Remarks';
    const row = (pro: string, remark = '') => `${pro},TCH-BOL-41188,4500186120,PICKED UP,20250512,1405,CDT,JOLIET,IL,60436,4,2140,${remark}`;
    // a stray quote in record 1's Remarks, and a CRLF file: the quote's field ran to the end of the file
    const text = [header, row('SVX1', '"stray remark'), row('SVX2'), row('SVX3'), `${row('SVX4')},extra`, ''].join('\r\n');
    const r = await take(Buffer.from(text), 'svxp_status_20250513_1102.csv', 'sangamon-valley');
    expect(r.result.state).toBe('translated');
    const units = await ledger.units(r.fileId);
    expect(units.map((u) => [u.state, u.errors.map((e) => `${e.code}@${e.line}:${e.column}`)])).toEqual([
      ['rejected', [`CSV_QUOTE_NOT_CLOSED@2:${row('SVX1').length + 1}`]],
      ['translated', []],
      ['translated', []],
      ['rejected', [`CSV_FIELD_COUNT@5:${row('SVX4').length + 2}`]],
    ]);
    expect(r.result.newEvents).toBe(2);
  });
});

describe('inbound pipeline: an interchange whose acknowledgment cannot be written', () => {
  it('goes unacknowledged with the writer\'s code in the file\'s errors; the file finishes and its other interchange is answered', async () => {
    // prairie-line without `ours:`: its answers echo the ISA08 they answer as their ISA06, and one of 18
    // characters (an ISA that is not fixed-width) cannot be written. The file stayed 'translating' for ever.
    const root = mkdtempSync(join(tmpdir(), 'wb-pipe-partners-'));
    cpSync(new URL('../../partners', import.meta.url).pathname, root, { recursive: true });
    const yamlPath = join(root, 'prairie-line', 'partner.yaml');
    writeFileSync(yamlPath, readFileSync(yamlPath, 'utf8').replace(/^ours:\n(  .*\n)+/m, ''));
    const loaded = PartnerRegistry.load(root);
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const dataDir = mkdtempSync(join(tmpdir(), 'wb-pipe-'));
    const ledger = new SqliteLedger(join(dataDir, 'ledger.db'));
    const ctx: PipelineContext = { dataDir, ledger, registry: () => loaded.registry, log: silentLogger, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 500 };
    const text = multiStatus.toString('latin1');
    const longReceiver = text.replace(/^(ISA(?:\*[^*]*){7}\*)[^*]*/, '$1TRICOUNTYHWSLONGID').replaceAll('000002291', '000002292');
    expect(longReceiver).toContain('*TRICOUNTYHWSLONGID*');
    const r = await intake(ctx, { input: Buffer.from(text + longReceiver, 'latin1'), transport: 'test', originalName: 'two.edi' });
    const result = await processFile(ctx, r.fileId);
    expect(result).toMatchObject({ state: 'translated', acks: 1 });
    const file = await ledger.getFile(r.fileId);
    expect(file?.state).toBe('translated');
    expect(file?.errors.map((e) => [e.code, e.message])).toEqual([
      ['X12_WRITE_VALUE_TOO_LONG', expect.stringMatching(/^interchange 000002292 is not acknowledged: ISA06 "TRICOUNTYHWSLONGID" is longer than its 15 characters/)],
    ]);
    const acks = await ledger.listOutboundDocuments({ relatedFileId: r.fileId });
    expect(acks.map((a) => a.content.match(/AK1\*QM\*\d+/)?.[0])).toEqual(['AK1*QM*2291']);
  });
});

describe('inbound pipeline: who an X12 interchange is from, when it came through a partner\'s folder/account', () => {
  const granite = readFileSync(new URL('../../partners/granite-ridge/samples/214-delivered-BPL-88104301.edi', import.meta.url)); // ISA 02/GRXP

  it('another partner\'s interchange uploaded through prairie-line\'s account is refused: no events, no acknowledgment to anyone, the file fails with the code', async () => {
    const { ledger, take } = setup();
    const { fileId, result } = await take(granite, '214.edi', 'prairie-line');
    expect(result).toMatchObject({ state: 'failed', newEvents: 0, acks: 0 });
    expect(await ledger.countEvents()).toMatchObject({ total: 0 });
    expect(await ledger.listOutboundDocuments()).toEqual([]);
    const units = await ledger.units(fileId);
    expect(units.map((u) => [u.setId, u.state, u.partner, u.errors.map((e) => e.code)])).toEqual([['214', 'unidentified', null, ['PARTNER_ACCOUNT_MISMATCH']]]);
    const message = "interchange 000000942 from ISA 02/GRXP (partner 'granite-ridge') arrived through the folder/account of partner 'prairie-line'";
    expect(units[0].errors[0].message).toContain(message);
    const file = await ledger.getFile(fileId);
    expect(file?.state).toBe('failed');
    expect(file?.errors).toEqual([expect.objectContaining({ code: 'PARTNER_ACCOUNT_MISMATCH', line: 1, column: 1 })]);
    // Not recorded as received: the same interchange sent the right way is translated, and answered to granite-ridge.
    const right = await take(resentWithOtherBytes(granite), 'right.edi');
    expect(right.result).toMatchObject({ state: 'translated', newEvents: 3, acks: 1 });
    expect((await ledger.listOutboundDocuments()).map((d) => [d.partner, d.kind])).toEqual([['granite-ridge', '997']]);
  });

  it('an interchange of an unknown sender through a partner\'s account is refused the same way', async () => {
    const { ledger, take } = setup();
    const unknown = Buffer.from(multiStatus.toString('latin1').replace('*02*PRLF           *', '*02*PRLX           *'), 'latin1');
    const { fileId, result } = await take(unknown, '214.edi', 'prairie-line');
    expect(result).toMatchObject({ state: 'failed', newEvents: 0, acks: 0 });
    const [unit] = await ledger.units(fileId);
    expect(unit.state).toBe('unidentified');
    expect(unit.errors[0]).toMatchObject({ code: 'PARTNER_ACCOUNT_MISMATCH' });
    expect(unit.errors[0].message).toContain("ISA 02/PRLX (no configured partner) arrived through the folder/account of partner 'prairie-line'");
  });

  it('an unknown sender through a partner\'s account is named with the closest configured id, as at the inbound root (lower case, another qualifier)', async () => {
    const { ledger, take } = setup();
    for (const [from, seen] of [['*02*prlf           *', '02/prlf'], ['*ZZ*PRLF           *', 'ZZ/PRLF']]) {
      const bytes = Buffer.from(multiStatus.toString('latin1').replace('*02*PRLF           *', from), 'latin1');
      const { fileId } = await take(bytes, '214.edi', 'prairie-line');
      const [error] = (await ledger.getFile(fileId))!.errors;
      expect(error.code).toBe('PARTNER_ACCOUNT_MISMATCH');
      expect(error.message).toContain(`ISA ${seen} (no configured partner) arrived through the folder/account of partner 'prairie-line'`);
      expect(error.message).toContain(`no partner sends as ISA ${seen}; closest: 'prairie-line' (ISA 02/PRLF)`);
    }
  });

  it('in a file with both, the partner\'s own interchange is translated and acknowledged to it alone; the other is refused', async () => {
    const { ledger, take } = setup();
    const { fileId, result } = await take(Buffer.concat([multiStatus, granite]), 'both.edi', 'prairie-line');
    expect(result).toMatchObject({ state: 'translated', newEvents: 6, acks: 1 });
    expect((await ledger.units(fileId)).map((u) => [u.interchangeControl, u.state, u.partner, u.errors.map((e) => e.code)])).toEqual([
      ['000002291', 'translated', 'prairie-line', []],
      ['000000942', 'unidentified', null, ['PARTNER_ACCOUNT_MISMATCH']],
    ]);
    const acks = await ledger.listOutboundDocuments({ relatedFileId: fileId });
    expect(acks.map((d) => [d.partner, d.kind])).toEqual([['prairie-line', '997']]);
    expect(acks[0].content).toMatch(/AK1\*QM\*2291~/);
    expect(acks[0].content).not.toMatch(/GRXP|AK1\*QM\*942/);
    expect((await ledger.getFile(fileId))?.errors.map((e) => e.code)).toEqual(['PARTNER_ACCOUNT_MISMATCH']);
    const events = (await ledger.unpublished(100)).map((e) => JSON.parse(e.payload) as { partner: string });
    expect(new Set(events.map((e) => e.partner))).toEqual(new Set(['prairie-line']));
  });

  it('the partner\'s own interchange through its account is translated as before, and its groups\' GS02 is checked too', async () => {
    const { ledger, take } = setup();
    const own = await take(multiStatus, '214.edi', 'prairie-line');
    expect(own.result).toMatchObject({ state: 'translated', newEvents: 6, acks: 1 });
    const bogus = Buffer.from(withIsa13(multiStatus, '000000555').toString('latin1').replace('GS*QM*PRLF*', 'GS*QM*BOGUS*'), 'latin1');
    const { fileId, result } = await take(bogus, 'gs.edi', 'prairie-line');
    expect(result).toMatchObject({ state: 'translated', newEvents: 0, acks: 1 });
    const [unit] = await ledger.units(fileId);
    expect([unit.state, unit.errors.map((e) => e.code)]).toEqual(['unidentified', ['PARTNER_UNKNOWN_SENDER']]);
    expect((await ledger.listOutboundDocuments({ relatedFileId: fileId })).map((d) => d.partner)).toEqual(['prairie-line']);
  });
});

describe('inbound pipeline: findings outside any transaction are recorded', () => {
  it('data outside any interchange is a rejected file unit, and the failed file\'s error', async () => {
    const { ledger, take } = setup();
    const { fileId, result } = await take(Buffer.from('ISA*00*junk'), 'junk.edi');
    expect(result).toMatchObject({ state: 'failed', units: 1, acks: 0 });
    const file = await ledger.getFile(fileId);
    expect(file?.state).toBe('failed');
    expect(file?.errors).toEqual([expect.objectContaining({ code: 'X12_ISA_TRUNCATED', line: 1, column: 1 })]);
    expect((await ledger.units(fileId)).map((u) => [u.label, u.state, u.errors.map((e) => [e.code, e.line, e.column])]))
      .toEqual([['file', 'rejected', [['X12_ISA_TRUNCATED', 1, 1]]]]);
  });

  it('text named .edi without an X12 header, through an account with no CSV route, is read as the X12 it claims to be (as waybill translate reads it)', async () => {
    const { ledger, take } = setup();
    const text = Buffer.from('hello,world\nfoo,bar\n');
    const { fileId, result } = await take(text, 'status.edi', 'prairie-line');
    expect(result).toMatchObject({ state: 'failed', units: 1, acks: 0 });
    // Not MAP_NO_MAPPING ("no CSV mapping"): the file says it is X12, so what is wrong with it is said as X12.
    expect((await ledger.getFile(fileId))?.errors.map((e) => [e.code, e.line, e.column])).toEqual([['X12_UNEXPECTED_DATA', 1, 1]]);
    // Through an account with a CSV route, the same text is still read as CSV: the routes say which of its files they take.
    const csv = await take(Buffer.from('hello,world\nfoo,baz\n'), 'status.edi', 'sangamon-valley');
    expect((await ledger.units(csv.fileId)).flatMap((u) => u.errors.map((e) => e.code))).toEqual(['MAP_NO_MAPPING']);
  });

  it('garbage after a good interchange: the interchange translates, the garbage is a file unit and a file error', async () => {
    const { ledger, take } = setup();
    const { fileId, result } = await take(Buffer.concat([multiStatus, Buffer.from('\nNOT X12 AT ALL~\n')]), 'tail.edi');
    expect(result).toMatchObject({ state: 'translated', units: 2, newEvents: 6, acks: 1 });
    const units = await ledger.units(fileId);
    expect(units.map((u) => [u.label, u.state])).toEqual([['214 0001 (interchange 000002291, group 2291)', 'translated'], ['file', 'rejected']]);
    expect(units[1].errors[0]).toMatchObject({ code: 'X12_UNEXPECTED_DATA' });
    expect(units[1].errors[0].line).toBeGreaterThan(1);
    expect((await ledger.getFile(fileId))?.errors.map((e) => e.code)).toEqual(['X12_UNEXPECTED_DATA']);
  });

  it('a group after the IEA, without an ISA: the interchange translates; the group is a file error, and the TA1 notes it (E*024)', async () => {
    const { ledger, take } = setup();
    const text = multiStatus.toString('latin1');
    const group = text.slice(text.indexOf('GS*'), text.indexOf('IEA*')).replaceAll('*2291*', '*2292*').replace(/GE\*1\*2291/, 'GE*1*2292');
    const { fileId, result } = await take(Buffer.concat([multiStatus, Buffer.from(group, 'latin1')]), 'after-iea.edi');
    expect(result).toMatchObject({ state: 'translated', newEvents: 6, acks: 1 });
    expect((await ledger.getFile(fileId))?.errors.map((e) => e.code)).toEqual(['X12_BARE_TRANSACTION']);
    const [ack] = await ledger.listOutboundDocuments({ relatedFileId: fileId });
    // Before, TA1 A*000 (or none) while group 2292 was neither acknowledged nor rejected.
    expect(ack.content).toMatch(/TA1\*000002291\*\d+\*\d+\*E\*024~/);
    expect(ack.content).toMatch(/AK1\*QM\*2291~/);
    expect(ack.content).not.toMatch(/AK1\*QM\*2292/);
  });

  it('X12 behind a mail header: the interchange translates and is acknowledged, the header is a file unit and a file error', async () => {
    const { ledger, take } = setup();
    const header = 'From: edi@prlf.example\r\nSubject: 214 batch\r\n\r\n';
    const { fileId, result } = await take(Buffer.concat([Buffer.from(header), multiStatus]), 'mailed.edi');
    expect(result).toMatchObject({ state: 'translated', units: 2, newEvents: 6, acks: 1 });
    const units = await ledger.units(fileId);
    expect(units.map((u) => [u.label, u.state, u.errors.map((e) => [e.code, e.line, e.column])])).toEqual([
      ['file', 'rejected', [['X12_UNEXPECTED_DATA', 1, 1]]],
      ['214 0001 (interchange 000002291, group 2291)', 'translated', []],
    ]);
  });

  it('a UTF-16 X12 file (a Notepad "Unicode" save) translates like its UTF-8 form, with a warning; a Ctrl-Z end mark is passed over', async () => {
    const { ledger, take } = setup();
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(multiStatus.toString('latin1'), 'utf16le')]);
    const { fileId, result } = await take(utf16, 'unicode.edi');
    expect(result).toMatchObject({ state: 'translated', units: 2, newEvents: 6, acks: 1 });
    const units = await ledger.units(fileId);
    expect(units.map((u) => [u.label, u.state, u.errors.map((e) => e.code)])).toEqual([
      ['file', 'translated', ['X12_UTF16_TEXT']],
      ['214 0001 (interchange 000002291, group 2291)', 'translated', []],
    ]);
    const acks = await ledger.listOutboundDocuments({ relatedFileId: fileId });
    expect(acks.map((a) => a.kind)).toEqual(['997']);
    expect(acks[0].content).toMatch(/AK9\*A\*1\*1\*1~/);

    const other = setup();
    const ended = await other.take(Buffer.concat([multiStatus, Buffer.from('\r\n\x1a', 'latin1')]), 'dos.edi');
    expect(ended.result).toMatchObject({ state: 'translated', units: 1, newEvents: 6, acks: 1 });
    expect((await other.ledger.getFile(ended.fileId))?.errors ?? []).toEqual([]);
  });

  it('a UTF-16 XML invoice with a BOM is read as XML (it was taken for a CSV)', async () => {
    const { take } = setup();
    const xml = readFileSync(new URL('../../partners/sangamon-valley/samples/svxp_invoice_SVX-INV-0051877.xml', import.meta.url), 'utf8')
      .replace(/encoding="[^"]*"/, 'encoding="UTF-16"');
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    const { result } = await take(bytes, 'svxp_invoice_SVX-INV-0051877.xml', 'sangamon-valley');
    expect(result).toMatchObject({ state: 'translated', units: 1, newEvents: 1 });
  });

  it('envelope findings (a missing IEA) are units labelled like waybill translate\'s', async () => {
    const { ledger, take } = setup();
    const noIea = Buffer.from(multiStatus.toString('latin1').replace(/IEA\*[^~]*~\r?\n?/, ''), 'latin1');
    const { fileId, result } = await take(noIea, 'no-iea.edi');
    expect(result).toMatchObject({ state: 'translated', units: 2 });
    const units = await ledger.units(fileId);
    expect(units.map((u) => [u.label, u.state, u.partner, u.errors.map((e) => e.code)])).toEqual([
      ['214 0001 (interchange 000002291, group 2291)', 'translated', 'prairie-line', []],
      ['interchange 000002291', 'rejected', 'prairie-line', ['X12_IEA_MISSING']],
    ]);
  });

  it('an empty or blank file fails with PIPELINE_EMPTY_FILE, not as a CSV without partner or mapping', async () => {
    const { ledger, take } = setup();
    for (const [bytes, partner] of [[Buffer.alloc(0), undefined], [Buffer.from(' \r\n\t\n'), undefined], [Buffer.from('\ufeff\n\n'), 'sangamon-valley'], [Buffer.from('\n'), 'prairie-line'], [Buffer.from('\x1a'), undefined], [Buffer.from('\r\n\x1a'), 'sangamon-valley']] as const) {
      const { fileId, result } = await take(bytes, 'empty.csv', partner);
      expect(result.state).toBe('failed');
      expect((await ledger.getFile(fileId))?.errors.map((e) => e.code)).toEqual(['PIPELINE_EMPTY_FILE']);
      expect((await ledger.units(fileId)).map((u) => [u.label, u.state, u.errors.map((e) => e.code)])).toEqual([['file', 'rejected', ['PIPELINE_EMPTY_FILE']]]);
    }
  });

  it('a binary file fails with PIPELINE_NOT_TEXT naming what it is, not as a CSV without partner; UTF-16 text with NULs is not binary', async () => {
    const { ledger, take } = setup();
    for (const [bytes, partner, what] of [
      [Buffer.from('PK\x03\x04rest of a zip', 'latin1'), 'sangamon-valley', 'a ZIP archive (also .xlsx and .docx files)'],
      [Buffer.from('\x1f\x8b\x08\x00', 'latin1'), undefined, 'gzip-compressed data'],
      [Buffer.from(`ID,Code\n1,${'\x00'.repeat(16)}\n`, 'latin1'), 'sangamon-valley', 'binary data (it holds NUL bytes)'],
    ] as const) {
      const { fileId, result } = await take(bytes, 'status.csv', partner);
      expect(result.state).toBe('failed');
      const units = await ledger.units(fileId);
      expect(units.map((u) => [u.label, u.state, u.errors.map((e) => `${e.code} ${e.message}`)])).toEqual([
        ['file', 'rejected', [`PIPELINE_NOT_TEXT the file is ${what}, not X12, CSV or XML text`]],
      ]);
      expect((await ledger.getFile(fileId))?.errors.map((e) => e.code)).toEqual(['PIPELINE_NOT_TEXT']);
    }
    expect(binaryKind(Buffer.from('\ufeffID,Code\n', 'utf16le'))).toBe(null);
    expect(binaryKind(Buffer.from([0xff, 0xfe, 0x49, 0x00, 0x44, 0x00]))).toBe(null);
    // X12 may take control characters as delimiters.
    expect(binaryKind(Buffer.from(multiStatus.toString('latin1').replace(/\*/g, '\x1d').replace(/~/g, '\x1c'), 'latin1'))).toBe(null);
  });

  it('a resumed run numbers the findings\' units as the first did, and the file\'s errors stay complete', async () => {
    const { ctx, ledger, take } = setup(undefined, 1);
    const multi = fixture('envelope/multi-group-214-and-210.edi').toString('latin1');
    const file = Buffer.from(`${withIsa13(multiStatus, '000000801').toString('latin1')}NOT X12~\n${multi.replace(/IEA\*[^~]*~\r?\n?$/, '')}`, 'latin1');
    const first = await take(file, 'findings.edi');
    const before = await ledger.units(first.fileId);
    expect(before.map((u) => u.label)).toEqual([
      '214 0001 (interchange 000000801, group 2291)', 'file',
      ...before.slice(2, -1).map((u) => u.label), 'interchange 000002297',
    ]);
    expect(before.slice(2, -1).every((u) => u.setId)).toBe(true);
    const errors = (await ledger.getFile(first.fileId))?.errors;
    expect(errors?.map((e) => e.code)).toEqual(['X12_UNEXPECTED_DATA']);
    // As if the process died half way: state back to translating, no errors, checkpoint past the file unit.
    await ledger.setFileState(first.fileId, 'translating', { errors: [] });
    const db = (ledger as unknown as { db: { prepare(s: string): { run(...a: unknown[]): void } } }).db;
    db.prepare('UPDATE files SET units_done = 3 WHERE id = ?').run(first.fileId);
    const again = await processFile(ctx, first.fileId);
    expect(again).toMatchObject({ state: 'translated', units: before.length, newEvents: 0 });
    expect(await ledger.units(first.fileId)).toEqual(before);
    expect((await ledger.getFile(first.fileId))?.errors).toEqual(errors);
  });
});
