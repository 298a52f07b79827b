// The inbound pipeline without Redis: intake -> processFile -> ledger (units, outbox, acks).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
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
});
