// The same bytes arriving again. A file refused because of where it arrived (a mistyped folder, no
// partner folder for a CSV) is failed; sent again the right way it must be translated, with its new
// arrival. A translated file sent again produces nothing new, through whichever account; through another
// partner's account that is said, not silent. Every arrival is kept. intake -> processFile -> ledger, no Redis.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import type { Dispatcher, PipelineContext } from '../../src/pipeline/context.js';
import { intake } from '../../src/pipeline/intake.js';
import { processFile } from '../../src/pipeline/process-file.js';
import { captureLog } from '../helpers/log.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const { registry } = PartnerRegistry.load(join(ROOT, 'partners'));
const x12 = readFileSync(join(ROOT, 'partners/prairie-line/samples/214-multi-status.edi')); // ISA 02/PRLF, 6 status events
const csv = readFileSync(join(ROOT, 'partners/sangamon-valley/samples/svxp_status_20250513_1100.csv'));
/** The name sangamon-valley's CSV route matches (svxp_status_*.csv). */
const CSV_NAME = 'svxp_status_20250513_1100.csv';

function setup(dispatcher?: Dispatcher) {
  const dataDir = mkdtempSync(join(tmpdir(), 'wb-resubmit-'));
  const ledger = new SqliteLedger(join(dataDir, 'ledger.db'));
  const log = captureLog();
  const ctx: PipelineContext & { dispatcher?: Dispatcher } = {
    dataDir, ledger, registry: () => registry, log, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 500, dispatcher,
  };
  let clock = Date.parse('2025-05-13T11:00:00.000Z');
  ctx.now = () => new Date((clock += 60_000));
  /** intake, then processFile as the dispatcher would (only when intake says there is something to translate). */
  const arrive = async (bytes: Buffer, name: string, partner?: string, transport = 'folder') => {
    const r = await intake(ctx, { input: bytes, transport, originalName: name, originalPath: `/inbound/${partner ? `${partner}/` : ''}${name}`, partner });
    return { ...r, result: await processFile(ctx, r.fileId) };
  };
  const audit = () => {
    const db = (ledger as unknown as { db: { prepare(s: string): { all(): unknown[] } } }).db;
    return (db.prepare('SELECT action, file_id, details FROM audit ORDER BY id').all() as Array<{ action: string; file_id: string; details: string }>)
      .map((a) => ({ action: a.action, fileId: a.file_id, details: JSON.parse(a.details) as Record<string, unknown> }));
  };
  return { ctx, ledger, log, arrive, audit };
}

describe('a failed file arriving again', () => {
  it('an X12 file refused in a mistyped partner folder (PARTNER_ACCOUNT_MISMATCH) is translated when it arrives again at the inbound root', async () => {
    const { ledger, log, arrive, audit } = setup();
    const typo = await arrive(x12, '214.edi', 'prairie_line');
    expect(typo.result).toMatchObject({ state: 'failed', newEvents: 0, acks: 0 });
    expect((await ledger.getFile(typo.fileId))?.errors.map((e) => e.code)).toEqual(['PARTNER_ACCOUNT_MISMATCH']);

    const right = await arrive(x12, '214.edi');
    expect(right).toMatchObject({ fileId: typo.fileId, created: false, reopened: true });
    expect(right.result).toMatchObject({ state: 'translated', units: 1, newEvents: 6, acks: 1 });
    const file = await ledger.getFile(right.fileId);
    expect(file).toMatchObject({ state: 'translated', partner: null, errors: [], originalPath: '/inbound/214.edi' });
    // The failed run's unit is gone with it; the new run's stands.
    expect((await ledger.units(right.fileId)).map((u) => [u.state, u.partner, u.errors])).toEqual([['translated', 'prairie-line', []]]);
    expect((await ledger.listOutboundDocuments()).map((d) => [d.partner, d.kind])).toEqual([['prairie-line', '997']]);
    // Both arrivals are kept, and why the file was taken again.
    expect((await ledger.arrivals(right.fileId)).map((a) => [a.outcome, a.partner, a.originalPath])).toEqual([
      ['created', 'prairie_line', '/inbound/prairie_line/214.edi'], ['reopened', null, '/inbound/214.edi'],
    ]);
    expect(audit().map((a) => a.action)).toEqual(['file.received', 'file.reopened']);
    expect(audit()[1].details).toMatchObject({ partner: null, previous: { state: 'failed', partner: 'prairie_line', errors: ['PARTNER_ACCOUNT_MISMATCH'] } });
    expect(log.entries.find((e) => e.msg?.startsWith('failed file taken in again'))?.obj).toMatchObject({ fileId: right.fileId, previousErrors: ['PARTNER_ACCOUNT_MISMATCH'] });

    // And once translated, the same bytes again produce nothing new.
    const third = await arrive(x12, '214-again.edi');
    expect(third).toMatchObject({ created: false, reopened: false });
    expect(third.result.state).toBe('skipped');
    expect(await ledger.countEvents()).toMatchObject({ total: 6 });
    expect(await ledger.listOutboundDocuments()).toHaveLength(1);
    expect((await ledger.arrivals(right.fileId)).map((a) => a.outcome)).toEqual(['created', 'reopened', 'again']);
  });

  it('a CSV file refused at the inbound root (PARTNER_UNKNOWN) is translated when it arrives again in its partner\'s folder', async () => {
    const { ledger, arrive } = setup();
    const root = await arrive(csv, CSV_NAME);
    expect(root.result.state).toBe('failed');
    expect((await ledger.getFile(root.fileId))?.errors.map((e) => e.code)).toEqual(['PARTNER_UNKNOWN']);
    // Which partner's route takes the name is said: the folder it belongs in.
    expect((await ledger.getFile(root.fileId))?.errors[0].message)
      .toContain("it arrived outside any partner's folder or account; the CSV routes of 'sangamon-valley' take its name");
    const right = await arrive(csv, CSV_NAME, 'sangamon-valley');
    expect(right).toMatchObject({ created: false, reopened: true });
    expect(right.result.state).toBe('translated');
    expect(right.result.newEvents).toBeGreaterThan(0);
    expect(await ledger.getFile(right.fileId)).toMatchObject({ state: 'translated', partner: 'sangamon-valley', errors: [] });
    const events = await ledger.unpublished(100);
    expect(events.every((e) => e.partner === 'sangamon-valley' && e.fileId === right.fileId)).toBe(true);
  });

  it('a CSV uploaded through another partner\'s account, where no mapping takes it, fails (MAP_NO_MAPPING) and is translated when it arrives through its own partner\'s', async () => {
    // prairie-line maps only X12: nothing of the file was translated. Recorded as 'translated' (its one
    // unit 'unmapped'), the same bytes through sangamon-valley's account were PIPELINE_FILE_OTHER_PARTNER
    // and never translated: the data could not be routed by any resend.
    const { ledger, log, arrive } = setup();
    const wrong = await arrive(csv, CSV_NAME, 'prairie-line', 'sftp');
    expect(wrong.result).toMatchObject({ state: 'failed', newEvents: 0 });
    const failed = await ledger.getFile(wrong.fileId);
    expect(failed).toMatchObject({ state: 'failed', partner: 'prairie-line' });
    expect(failed?.errors.map((e) => e.code)).toEqual(['MAP_NO_MAPPING']);
    expect(failed?.errors[0].message).toContain(`partner 'prairie-line' has no CSV mapping for '${CSV_NAME}'`);
    expect((await ledger.units(wrong.fileId)).map((u) => [u.state, u.errors.map((e) => e.code)])).toEqual([['unmapped', ['MAP_NO_MAPPING']]]);
    expect(log.entries.find((e) => e.level === 'warn' && e.obj.code === 'MAP_NO_MAPPING')?.obj).toMatchObject({ fileId: wrong.fileId, partner: 'prairie-line' });

    const right = await arrive(csv, CSV_NAME, 'sangamon-valley', 'sftp');
    expect(right).toMatchObject({ fileId: wrong.fileId, created: false, reopened: true });
    expect(right.result.state).toBe('translated');
    expect(right.result.newEvents).toBeGreaterThan(0);
    expect(await ledger.getFile(right.fileId)).toMatchObject({ state: 'translated', partner: 'sangamon-valley', errors: [] });
    expect(log.entries.some((e) => e.obj.code === 'PIPELINE_FILE_OTHER_PARTNER')).toBe(false);
  });

  it('an XML file under a name no XML route of its partner matches fails (MAP_NO_MAPPING), and is translated when sent again under a matching name', async () => {
    const xml = readFileSync(join(ROOT, 'partners/sangamon-valley/samples/svxp_invoice_SVX-INV-0051877.xml'));
    const { ledger, arrive } = setup();
    const wrong = await arrive(xml, 'invoice.xml', 'sangamon-valley');
    expect(wrong.result.state).toBe('failed');
    expect((await ledger.getFile(wrong.fileId))?.errors.map((e) => e.code)).toEqual(['MAP_NO_MAPPING']);
    const right = await arrive(xml, 'svxp_invoice_SVX-INV-0051877.xml', 'sangamon-valley');
    expect(right).toMatchObject({ reopened: true, result: { state: 'translated' } });
    expect(right.result.newEvents).toBeGreaterThan(0);
  });

  it('an interchange of a sender no partner answers to fails the file (PARTNER_UNKNOWN_SENDER) and is not recorded: once the sender is configured, it is translated when sent again', async () => {
    // Recorded as 'translated' and as a seen interchange, the same bytes sent again were 'again' (nothing),
    // and the file made anew under the same ISA13 a duplicate: the interchange could never be translated.
    const unknown = Buffer.from(x12.toString('latin1').replace('*02*PRLF           *', '*02*PRLQ           *'), 'latin1');
    const { ctx, ledger, arrive } = setup();
    const first = await arrive(unknown, '214.edi');
    expect(first.result).toMatchObject({ state: 'failed', newEvents: 0, acks: 0 });
    const failed = await ledger.getFile(first.fileId);
    expect(failed?.errors.map((e) => e.code)).toEqual(['PARTNER_UNKNOWN_SENDER']);
    expect(failed?.errors[0].message).toContain("no partner sends as ISA 02/PRLQ; closest: 'prairie-line' (ISA 02/PRLF)");

    // The analyst adds the sender id as an alias of prairie-line.
    const root = mkdtempSync(join(tmpdir(), 'wb-resubmit-alias-'));
    cpSync(join(ROOT, 'partners/prairie-line'), join(root, 'prairie-line'), { recursive: true });
    const yaml = join(root, 'prairie-line/partner.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('  gs: PRLF\n', '  gs: PRLF\n  aliases: [{ qualifier: "02", id: PRLQ }]\n'));
    const withAlias = PartnerRegistry.load(root).registry;
    expect(withAlias.partnerIdForSender('02', 'PRLQ')).toBe('prairie-line');
    ctx.registry = () => withAlias;

    // A file made anew with the same interchange (other bytes, same ISA13) is no duplicate...
    const anew = await arrive(Buffer.concat([unknown, Buffer.from('\n')]), '214-anew.edi');
    expect(anew.result).toMatchObject({ state: 'translated', newEvents: 6, acks: 1 });
    expect((await ledger.units(anew.fileId)).map((u) => u.state)).toEqual(['translated']);
    // ...and the same bytes again re-open the failed file (now a duplicate of that interchange: nothing is published twice).
    const again = await arrive(unknown, '214.edi');
    expect(again).toMatchObject({ fileId: first.fileId, reopened: true });
    expect(again.result.state).toBe('translated');
    expect(await ledger.getFile(first.fileId)).toMatchObject({ state: 'translated', errors: [] });
  });

  it('failing again keeps it open to a further arrival; each translation uses the arrival that brought it', async () => {
    const { ledger, arrive } = setup();
    await arrive(csv, 'svxp_status_a.csv');
    const again = await arrive(csv, 'svxp_status_b.csv');
    expect(again).toMatchObject({ reopened: true, result: { state: 'failed' } });
    const file = await ledger.getFile(again.fileId);
    expect(file).toMatchObject({ originalName: 'svxp_status_b.csv', errors: [expect.objectContaining({ code: 'PARTNER_UNKNOWN' })] });
    const other = await arrive(Buffer.from('a,b\n1,2\n'), 'status.csv');
    expect((await ledger.getFile(other.fileId))?.errors[0].message).toContain("no partner's CSV route takes the name 'status.csv'");
    expect(file?.errors).toHaveLength(1); // the findings of the new run only
    const third = await arrive(csv, 'svxp_status_c.csv', 'sangamon-valley');
    expect(third).toMatchObject({ reopened: true, result: { state: 'translated' } });
    expect(third.result.newEvents).toBeGreaterThan(0);
    expect((await ledger.getFile(third.fileId))?.receivedAt).toBe((await ledger.arrivals(third.fileId))[2].receivedAt);
  });

  it('is queued again: the dispatcher is told the file was dispatched before', async () => {
    const calls: Array<[string, unknown]> = [];
    const { ledger, ctx } = setup({ dispatch: async (fileId: string, options?: { again?: boolean }) => { calls.push([fileId, options]); } });
    const first = await intake(ctx, { input: csv, transport: 'folder', originalName: CSV_NAME });
    await processFile(ctx, first.fileId);
    expect((await ledger.getFile(first.fileId))?.state).toBe('failed');
    await intake(ctx, { input: csv, transport: 'folder', originalName: CSV_NAME, partner: 'sangamon-valley' });
    await processFile(ctx, first.fileId);
    expect((await ledger.getFile(first.fileId))?.state).toBe('translated');
    await intake(ctx, { input: csv, transport: 'folder', originalName: CSV_NAME, partner: 'sangamon-valley' }); // translated: nothing to do
    expect(calls).toEqual([[first.fileId, undefined], [first.fileId, { again: true }]]);
  });

  it('a CSV through the folder of a partner whose files do not compile says so, and what to do (not "send it through its folder")', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-resubmit-broken-'));
    cpSync(join(ROOT, 'partners/sangamon-valley'), join(root, 'sangamon-valley'), { recursive: true });
    cpSync(join(ROOT, 'partners/prairie-line'), join(root, 'prairie-line'), { recursive: true });
    const map = join(root, 'sangamon-valley/mappings/status-csv.yaml');
    writeFileSync(map, readFileSync(map, 'utf8').replace(/^source:/m, 'sourcee:'));
    const broken = PartnerRegistry.load(root).registry;
    const { ctx, ledger, arrive } = setup();
    ctx.registry = () => broken;
    const r = await arrive(csv, CSV_NAME, 'sangamon-valley');
    expect(r.result.state).toBe('failed');
    const [error] = (await ledger.getFile(r.fileId))!.errors;
    expect(error.code).toBe('PARTNER_UNKNOWN');
    expect(error.message).toContain("partner folder 'sangamon-valley' has configuration errors");
    expect(error.message).toContain('waybill lint');
    // A folder with no partner at all: named as such, with the closest one.
    const typo = await arrive(Buffer.concat([csv, Buffer.from('\n')]), CSV_NAME, 'prairie-lin');
    expect((await ledger.getFile(typo.fileId))!.errors[0].message).toContain("there is no partner 'prairie-lin'");
    expect((await ledger.getFile(typo.fileId))!.errors[0].message).toContain("did you mean 'prairie-line'?");
  });
});

describe('a translated file arriving again', () => {
  it('through another partner\'s account: nothing new, said with a code; the arrival is kept', async () => {
    const { ledger, log, arrive, audit } = setup();
    const first = await arrive(csv, CSV_NAME, 'sangamon-valley');
    const events = (await ledger.countEvents()).total;
    expect(events).toBeGreaterThan(0);
    const other = await arrive(csv, CSV_NAME, 'prairie-line');
    expect(other).toMatchObject({ created: false, reopened: false });
    expect(other.result.state).toBe('skipped');
    expect((await ledger.countEvents()).total).toBe(events);
    expect(await ledger.getFile(first.fileId)).toMatchObject({ state: 'translated', partner: 'sangamon-valley' });
    const warning = log.entries.find((e) => e.level === 'warn' && e.obj.code === 'PIPELINE_FILE_OTHER_PARTNER');
    expect(warning?.obj).toMatchObject({ fileId: first.fileId, partner: 'prairie-line', recordedPartner: 'sangamon-valley', state: 'translated' });
    expect((await ledger.arrivals(first.fileId)).map((a) => [a.outcome, a.partner])).toEqual([['created', 'sangamon-valley'], ['again', 'prairie-line']]);
    expect(audit().at(-1)).toMatchObject({ action: 'file.received-again', details: { partner: 'prairie-line', code: 'PIPELINE_FILE_OTHER_PARTNER' } });
  });

  it('through the same account or the inbound root: nothing new, no warning', async () => {
    const { ledger, log, arrive } = setup();
    await arrive(x12, '214.edi', 'prairie-line');
    const again = await arrive(x12, '214.edi');
    expect(again).toMatchObject({ created: false, reopened: false, result: { state: 'skipped' } });
    expect(log.entries.filter((e) => e.level === 'warn')).toEqual([]);
    expect(await ledger.countEvents()).toMatchObject({ total: 6 });
  });
});
