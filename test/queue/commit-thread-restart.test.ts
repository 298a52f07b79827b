// A restart of the ledger's commit thread in the middle of a file, as the gateway runs it: the dispatcher
// (here its in-process runner, Redis being unreachable) translating into a SqliteLedger that commits on its
// own thread. The thread dies after the file's first batch, taking rows staged for the next one with it.
// The file must go on from its checkpoint and end as if nothing had happened: every unit once, every event
// once and in file order, one 997. (In the audit, a file of 20,000 transactions ended failed with
// PIPELINE_TRANSLATION_FAULT, 18,250 of them never translated, its checkpoint past 500 units never committed.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { generate214String } from '../../bench/gen-214.mjs';
import type { BatchPart } from '../../src/ledger/ledger.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import { silentLogger, type Logger, type PipelineContext } from '../../src/pipeline/context.js';
import { intake } from '../../src/pipeline/intake.js';
import { processFile } from '../../src/pipeline/process-file.js';
import { QueueDispatcher, recoverySweep } from '../../src/queue/dispatcher.js';
import { createConnection } from '../../src/queue/queues.js';
import { allEventIds, freePort, memoryLogger, partnersRoot, uniquePrefix } from './support.js';

// Fewer than the audit's 20,000 (the test translates the file twice): with batches of 250, 500, 1000,
// 2000, ... there are still batches in flight and parts staged when the thread dies.
const TRANSACTIONS = 6_000;
// One interchange with one group: one 997.
const FILE = Buffer.from(generate214String(TRANSACTIONS, { seed: 214, perGroup: TRANSACTIONS, groupsPerInterchange: 1 }));

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function context(ledgerOptions: { commitThread?: boolean }, log: Logger = silentLogger): PipelineContext & { ledger: SqliteLedger } {
  const dir = mkdtempSync(join(tmpdir(), 'wb-ct-restart-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const { registry } = PartnerRegistry.load(partnersRoot(dir));
  const ledger = new SqliteLedger(join(dir, 'data', 'ledger.db'), ledgerOptions);
  cleanup.push(() => ledger.close());
  return { dataDir: join(dir, 'data'), ledger, registry: () => registry, log, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 2000 };
}

/** What a file left in the ledger, for comparing two runs. */
async function outcome(ledger: SqliteLedger, fileId: string) {
  const file = await ledger.getFile(fileId);
  const acks = await ledger.listOutboundDocuments({ relatedFileId: fileId });
  return {
    state: file?.state, unitsDone: file?.unitsDone, errors: file?.errors,
    units: (await ledger.units(fileId)).map((u) => `${u.index} ${u.label} ${u.state}`),
    // In outbox (commit) order: file order, each event once.
    events: allEventIds(ledger),
    duplicateFacts: (await ledger.stats()).events.duplicateFacts,
    acks: acks.map((a) => ({ kind: a.kind, ak9: a.content.match(/AK9\*[^~]*/)?.[0] })),
  };
}

/** A dispatcher whose Redis is unreachable: files are translated by its in-process runner, as in the audit. */
async function localDispatcher(ctx: PipelineContext): Promise<QueueDispatcher> {
  const connection = createConnection(`redis://127.0.0.1:${await freePort()}`, { onError: () => {} }); // nothing listens there
  const dispatcher = new QueueDispatcher(ctx, connection, { prefix: uniquePrefix('ctrestart'), addTimeoutMs: 200 });
  cleanup.push(() => connection.disconnect());
  cleanup.push(() => dispatcher.close());
  return dispatcher;
}

/** Ends the ledger's commit thread (as a crash would) right after a part is staged on it, when `when()` says so. */
function killThreadOnStage(ledger: SqliteLedger, when: () => boolean): void {
  const stage = ledger.stage.bind(ledger);
  ledger.stage = (part: BatchPart) => {
    stage(part);
    if (when()) void (ledger as unknown as { commits: { worker: { terminate(): Promise<number> } } }).commits.worker.terminate();
  };
}

describe('a restart of the ledger commit thread under a file', () => {
  it('translates the file again from its checkpoint: every unit and event once, in file order, one 997', async () => {
    // The same bytes translated without any restart, on a ledger without a commit thread.
    const clean = context({});
    const cleanId = (await intake(clean, { input: FILE, transport: 'test', originalName: 'big.edi' })).fileId;
    await processFile(clean, cleanId);
    const expected = await outcome(clean.ledger, cleanId);
    expect(expected).toMatchObject({ state: 'translated', unitsDone: TRANSACTIONS, errors: [] });
    expect(expected.units).toHaveLength(TRANSACTIONS);
    expect(expected.acks).toEqual([{ kind: '997', ak9: `AK9*A*${TRANSACTIONS}*${TRANSACTIONS}*${TRANSACTIONS}` }]);

    const log = memoryLogger();
    const ctx = context({ commitThread: true }, log);
    const ledger = ctx.ledger;
    // After the first batch has committed, the thread is ended right after the next part is staged on it:
    // that part is on no other heap, so the batch it belongs to cannot commit, whatever the timing.
    let armed = false;
    let killed = 0;
    ctx.onEvents = () => {
      if (killed === 0) armed = true;
    };
    killThreadOnStage(ledger, () => {
      if (!armed) return false;
      armed = false;
      killed++;
      return true;
    });
    const dispatcher = await localDispatcher(ctx);

    const { fileId } = await intake({ ...ctx, dispatcher }, { input: FILE, transport: 'test', originalName: 'big.edi' });
    expect(fileId).toBe(cleanId);
    await dispatcher.idle();

    expect(killed).toBe(1);
    const got = await outcome(ledger, fileId);
    // Counts first, for a readable failure when units or events are missing or doubled; then everything.
    const counts = (o: typeof got) => ({ state: o.state, unitsDone: o.unitsDone, units: o.units.length, events: o.events.length, acks: o.acks.length });
    expect(counts(got)).toEqual(counts(expected));
    expect(got).toEqual(expected);
    // One retry, at once, logged and audited with the fault's code.
    const retries = log.lines.filter((l) => l.msg?.includes('translating it again from its checkpoint'));
    expect(retries).toHaveLength(1);
    expect(['LEDGER_COMMIT_THREAD_FAILED', 'LEDGER_BATCH_INCOMPLETE']).toContain(retries[0].obj.code);
    expect((await ledger.getFile(fileId))?.attempts).toBe(2);
    const db = new Database(ledger.path, { readonly: true });
    try {
      const audited = db.prepare("SELECT details FROM audit WHERE file_id = ? AND action = 'file.retried'").pluck().all(fileId) as string[];
      expect(audited.map((d) => JSON.parse(d))).toEqual([expect.objectContaining({ code: retries[0].obj.code, retry: 1 })]);
    } finally {
      db.close();
    }
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('runs the file again at once only a few times; a thread that keeps dying leaves it to the recovery sweep, not failed', async () => {
    const log = memoryLogger();
    const ctx = context({ commitThread: true }, log);
    const ledger = ctx.ledger;
    const small = Buffer.from(generate214String(3000, { seed: 215, perGroup: 3000, groupsPerInterchange: 1 }));
    let dying = true; // every part staged dies with its thread: no attempt gets past its first staged part
    killThreadOnStage(ledger, () => dying);
    const dispatcher = await localDispatcher(ctx);
    const { fileId } = await intake({ ...ctx, dispatcher }, { input: small, transport: 'test', originalName: 'small.edi' });
    await dispatcher.idle();

    // The first run and three more at once, each logged with its code; then the fault goes the transient
    // way (here: the recovery sweep; with Redis, BullMQ's attempts first), and the file stays translating.
    const codes = ['LEDGER_COMMIT_THREAD_FAILED', 'LEDGER_BATCH_INCOMPLETE'];
    const retries = log.lines.filter((l) => l.msg?.includes('translating it again from its checkpoint'));
    expect(retries.map((l) => l.obj.retry)).toEqual([1, 2, 3]);
    for (const l of retries) expect(codes).toContain(l.obj.code);
    const left = log.lines.filter((l) => l.msg === 'in-process translation failed; the recovery sweep will retry');
    expect(left).toHaveLength(1);
    expect(codes).toContain(left[0].obj.code);
    const file = await ledger.getFile(fileId);
    expect(file).toMatchObject({ state: 'translating', attempts: 4, errors: [] });
    expect(file!.unitsDone).toBeLessThan(3000);

    // Once the thread stays up, the sweep's next pass finishes the file from its checkpoint.
    dying = false;
    expect(await recoverySweep(ctx, dispatcher)).toMatchObject({ found: 1, dispatched: 1 });
    await dispatcher.idle();
    expect(await ledger.getFile(fileId)).toMatchObject({ state: 'translated', unitsDone: 3000, attempts: 5 });
    expect((await ledger.units(fileId)).map((u) => u.index)).toEqual([...Array(3000).keys()]);
    const acks = await ledger.listOutboundDocuments({ relatedFileId: fileId });
    expect(acks.map((a) => a.content.match(/AK9\*[^~]*/)?.[0])).toEqual(['AK9*A*3000*3000*3000']);
  });
});
