// SqliteLedger with commitThread: the translation writes (commitBatch, finishFile) run on
// a worker thread's connection, in the order asked, and what they commit is what the ledger's own
// connection reads afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { openLedger } from '../../src/ledger/open.js';
import type { OutboxEvent, UnitRecord } from '../../src/ledger/ledger.js';

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function threaded(): SqliteLedger {
  const dir = mkdtempSync(join(tmpdir(), 'wb-commit-thread-'));
  const ledger = new SqliteLedger(join(dir, 'ledger.db'), { commitThread: true });
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanup.push(() => ledger.close());
  return ledger;
}

const FILE_ID = 'sha256-cccc';
const unit = (i: number): UnitRecord => ({
  id: `${FILE_ID}-u${i}`, fileId: FILE_ID, index: i, partner: 'acme', label: `214 #${i}`, state: 'translated', errors: [], references: { pro: `PRO${i}` },
});
const event = (i: number, factKey?: string): OutboxEvent => ({
  id: `evt_${i}`, fileId: FILE_ID, unitId: `${FILE_ID}-u${i}`, type: 'shipment.status@1', partner: 'acme', payload: JSON.stringify({ n: i }), factKey,
});

describe('SqliteLedger commitThread', () => {
  it('commits batches asked for without waiting, in order; results and rows are those of an in-thread commit', async () => {
    const ledger = threaded();
    await ledger.recordFile({ id: FILE_ID, size: 1, transport: 'folder', originalName: 'a.edi', storedPath: 'files/a', receivedAt: '2025-01-01T00:00:00.000Z' });
    // Four batches handed over at once (as the pipeline does while it translates the next ones).
    const results = await Promise.all([0, 1, 2, 3].map((b) => ledger.commitBatch({
      fileId: FILE_ID, units: [unit(2 * b), unit(2 * b + 1)], events: [event(2 * b, `fact-${b}`), event(2 * b + 1, `fact-${b}`)], unitsDone: 2 * b + 2,
    })));
    // Within each batch the second event repeats the first one's business fact.
    expect(results).toEqual([0, 1, 2, 3].map((b) => ({ newEvents: 1, duplicateFacts: [`evt_${2 * b + 1}`] })));
    expect((await ledger.unpublished(10)).map((e) => [e.id, e.seq])).toEqual([['evt_0', 1], ['evt_2', 2], ['evt_4', 3], ['evt_6', 4]]);
    expect((await ledger.getFile(FILE_ID))?.unitsDone).toBe(8);
    expect((await ledger.units(FILE_ID)).map((u) => u.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

    // An interchange header recorded with a batch on the thread is what priorInterchange (this thread's
    // connection) finds for another file.
    const seen = { senderQualifier: 'ZZ', senderId: 'ACME', control: '000000001', fileId: FILE_ID, receivedAt: '2025-01-01T00:00:00.000Z' };
    expect(await ledger.priorInterchange(seen, 30)).toEqual({ duplicateOf: null });
    await ledger.commitBatch({ fileId: FILE_ID, units: [], events: [], unitsDone: 8, interchanges: [seen] });
    expect(await ledger.priorInterchange({ ...seen, fileId: 'sha256-other', receivedAt: '2025-01-01T01:00:00.000Z' }, 30))
      .toEqual({ duplicateOf: FILE_ID });
    const errors = [{ code: 'X12_IEA_MISSING', message: 'no IEA', line: 9, column: 1 }];
    await ledger.finishFile(FILE_ID, 'translated', [{ id: `ack-${FILE_ID}-0`, partner: 'acme', kind: '997', relatedFileId: FILE_ID, content: 'ISA*...~' }], errors);
    expect(await ledger.getFile(FILE_ID)).toMatchObject({ state: 'translated', errors });
  });

  it('a call that fails on the thread rejects with its message; the thread goes on with the next', async () => {
    const ledger = threaded();
    await expect(ledger.commitBatch({ fileId: FILE_ID, units: null as unknown as UnitRecord[], events: [], unitsDone: 0 }))
      .rejects.toThrow(/units|iterable|null/);
    await ledger.recordFile({ id: FILE_ID, size: 1, transport: 'folder', originalName: 'a.edi', storedPath: 'files/a', receivedAt: '2025-01-01T00:00:00.000Z' });
    expect(await ledger.commitBatch({ fileId: FILE_ID, units: [unit(0)], events: [event(0)], unitsDone: 1 })).toEqual({ newEvents: 1, duplicateFacts: [] });
  });

  it('rows staged ahead of a batch wait on the thread and commit with it; parts lost with a restarted thread fail the batch', async () => {
    const ledger = threaded();
    await ledger.recordFile({ id: FILE_ID, size: 1, transport: 'folder', originalName: 'a.edi', storedPath: 'files/a', receivedAt: '2025-01-01T00:00:00.000Z' });
    ledger.stage({ fileId: FILE_ID, units: [unit(0)], events: [event(0)] });
    ledger.stage({ fileId: FILE_ID, units: [unit(1)], events: [event(1)] });
    expect(await ledger.commitBatch({ fileId: FILE_ID, units: [unit(2)], events: [event(2)], unitsDone: 3, staged: 2 }))
      .toEqual({ newEvents: 3, duplicateFacts: [] });
    expect((await ledger.unpublished(10)).map((e) => [e.id, e.seq])).toEqual([['evt_0', 1], ['evt_1', 2], ['evt_2', 3]]);

    // The thread dies with a part staged on it: the next batch, started on a new thread, is refused whole.
    ledger.stage({ fileId: FILE_ID, units: [unit(3)], events: [event(3)] });
    const thread = (ledger as unknown as { commits: { worker: { terminate(): Promise<number> } | null } }).commits;
    await thread.worker!.terminate();
    await expect(ledger.commitBatch({ fileId: FILE_ID, units: [unit(4)], events: [event(4)], unitsDone: 5, staged: 1 }))
      .rejects.toThrow(/expected 1 staged part\(s\) and the ledger holds 0/);
    expect((await ledger.countEvents()).total).toBe(3);
    expect((await ledger.getFile(FILE_ID))?.unitsDone).toBe(3);
    // Translated again from the checkpoint, the same units commit.
    expect(await ledger.commitBatch({ fileId: FILE_ID, units: [unit(3), unit(4)], events: [event(3), event(4)], unitsDone: 5 }))
      .toEqual({ newEvents: 2, duplicateFacts: [] });
  });

  it('a thread that dies fails the calls it had with LEDGER_COMMIT_THREAD_FAILED; a later batch on the new thread does not pass the lost one', async () => {
    const ledger = threaded();
    await ledger.recordFile({ id: FILE_ID, size: 1, transport: 'folder', originalName: 'a.edi', storedPath: 'files/a', receivedAt: '2025-01-01T00:00:00.000Z' });
    await ledger.commitBatch({ fileId: FILE_ID, units: [unit(0)], events: [event(0)], unitsDone: 1 });
    const thread = (ledger as unknown as { commits: { worker: { terminate(): Promise<number> } | null } }).commits;
    const dying = thread.worker!.terminate();
    // Asked for once the thread is ending and before its exit is seen: it goes to that thread and is lost.
    const lost = ledger.commitBatch({ fileId: FILE_ID, units: [unit(1)], events: [event(1)], unitsDone: 2 });
    await expect(lost).rejects.toMatchObject({ code: 'LEDGER_COMMIT_THREAD_FAILED', message: expect.stringMatching(/commit thread exited/) });
    await dying;
    // The next batch of the file (already on its way in the pipeline) goes to a new thread: refused, or
    // the checkpoint would pass unit 1, which a run resumed from it would never translate.
    await expect(ledger.commitBatch({ fileId: FILE_ID, units: [unit(2)], events: [event(2)], unitsDone: 3 }))
      .rejects.toMatchObject({ code: 'LEDGER_BATCH_GAP' });
    expect((await ledger.getFile(FILE_ID))?.unitsDone).toBe(1);
    expect((await ledger.countEvents()).total).toBe(1);
    // From the checkpoint, on the new thread, the file goes on.
    expect(await ledger.commitBatch({ fileId: FILE_ID, units: [unit(1), unit(2)], events: [event(1), event(2)], unitsDone: 3 }))
      .toEqual({ newEvents: 2, duplicateFacts: [] });
    expect((await ledger.unpublished(10)).map((e) => e.id)).toEqual(['evt_0', 'evt_1', 'evt_2']);
  });

  it('close() lets the calls already asked for commit first', async () => {
    const ledger = threaded();
    await ledger.recordFile({ id: FILE_ID, size: 1, transport: 'folder', originalName: 'a.edi', storedPath: 'files/a', receivedAt: '2025-01-01T00:00:00.000Z' });
    const pending = ledger.commitBatch({ fileId: FILE_ID, units: [unit(0)], events: [event(0)], unitsDone: 1 });
    await ledger.close();
    expect(await pending).toEqual({ newEvents: 1, duplicateFacts: [] });
    const again = new SqliteLedger(ledger.path);
    try {
      expect((await again.unpublished(10)).map((e) => e.id)).toEqual(['evt_0']);
    } finally {
      await again.close();
    }
  });
});

describe('Ledger.location and openLedger', () => {
  it('a connection opened from a ledger\'s location (as the relay thread opens one) sees the same data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-location-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const ledger = new SqliteLedger(join(dir, 'ledger.db'));
    cleanup.push(() => ledger.close());
    expect(ledger.location).toEqual({ kind: 'sqlite', path: join(dir, 'ledger.db') });
    // Plain data: it crosses threads as it is.
    expect(structuredClone(ledger.location)).toEqual(ledger.location);
    await ledger.recordFile({ id: FILE_ID, size: 1, transport: 'folder', originalName: 'a.edi', storedPath: 'files/a', receivedAt: '2025-01-01T00:00:00.000Z' });
    const other = openLedger(ledger.location, { secondary: true });
    cleanup.push(() => other.close());
    expect((await other.getFile(FILE_ID))?.originalName).toBe('a.edi');
  });
});
