// The dispatcher, the inbound worker and the recovery sweep (shared Redis with an own prefix, and an
// address where no Redis listens for the fallback).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, Worker as BullWorker, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeFile } from '../../src/pipeline/file-store.js';
import { intake } from '../../src/pipeline/intake.js';
import { QueueDispatcher, recoverySweep, startInboundWorker } from '../../src/queue/dispatcher.js';
import { INBOUND_QUEUE, closeWorker, createConnection, fileJobId } from '../../src/queue/queues.js';
import {
  SHARED_REDIS_URL, cleanRedis, expectedEventIds, freePort, generated214, inputs, memoryLogger, take, uniquePrefix, waitFor, workspace,
  allEventIds, type Workspace,
} from './support.js';

describe('dispatcher with Redis', () => {
  let ws: Workspace;
  let producer: Redis;
  let workerConnection: Redis;
  let prefix: string;
  let inbound: Queue;
  let dispatcher: QueueDispatcher;
  let worker: Worker | undefined;

  beforeEach(() => {
    ws = workspace();
    prefix = uniquePrefix('dispatch');
    producer = createConnection(SHARED_REDIS_URL);
    workerConnection = createConnection(SHARED_REDIS_URL, { role: 'worker' });
    inbound = new Queue(INBOUND_QUEUE, { connection: producer, prefix });
    dispatcher = new QueueDispatcher(ws.ctx, producer, { prefix });
    ws.ctx.dispatcher = dispatcher;
    worker = undefined;
  });

  afterEach(async () => {
    if (worker) await closeWorker(worker, { connection: workerConnection });
    await dispatcher.close();
    await inbound.close();
    await cleanRedis(SHARED_REDIS_URL, prefix);
    producer.disconnect();
    workerConnection.disconnect();
    await ws.close();
  });

  it('queues one job per file (job id = file id); the inbound worker translates it', async () => {
    const [input] = inputs(['status214']);
    const fileId = await take(ws.ctx, input);
    await take(ws.ctx, input); // the same bytes again: no second dispatch
    await dispatcher.dispatch(fileId); // and a duplicate dispatch adds nothing either
    expect(await inbound.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 1, active: 0, delayed: 0 });
    const job = await inbound.getJob(fileJobId(fileId));
    expect(job?.data).toEqual({ fileId });
    expect(dispatcher.localBacklog).toBe(0);

    worker = startInboundWorker(ws.ctx, workerConnection, { prefix, concurrency: 2, locks: dispatcher.locks });
    await waitFor('file translated', async () => (await ws.ctx.ledger.getFile(fileId))?.state === 'translated');
    expect(new Set(allEventIds(ws.ctx.ledger))).toEqual(await expectedEventIds([input]));
  });

  it('a failed file re-opened by a new arrival is queued again, though its first job completed', async () => {
    const [input] = inputs(['status214']);
    worker = startInboundWorker(ws.ctx, workerConnection, { prefix, concurrency: 1, locks: dispatcher.locks });
    // Through a partner folder that is no partner: refused (PARTNER_ACCOUNT_MISMATCH), the job completes.
    const first = await intake(ws.ctx, { input: input.data, transport: 'folder', originalName: input.name, partner: 'prairie_line' });
    await waitFor('file failed', async () => (await ws.ctx.ledger.getFile(first.fileId))?.state === 'failed');
    await waitFor('job completed', async () => (await inbound.getJob(fileJobId(first.fileId)))?.finishedOn !== undefined);
    // The same bytes the right way: re-opened, and a job with the same id runs again.
    const again = await intake(ws.ctx, { input: input.data, transport: 'folder', originalName: input.name });
    expect(again).toMatchObject({ created: false, reopened: true });
    await waitFor('file translated', async () => (await ws.ctx.ledger.getFile(first.fileId))?.state === 'translated');
    expect(new Set(allEventIds(ws.ctx.ledger))).toEqual(await expectedEventIds([input]));
  });

  it('retries a fault that can heal (a locked database)', async () => {
    const log = memoryLogger();
    const fileId = await take(ws.ctx, inputs(['invoice210'])[0]);
    let failures = 0;
    const flaky = new Proxy(ws.ctx.ledger, {
      get(target, prop, receiver) {
        if (prop === 'getFile' && failures === 0) {
          return async () => {
            failures++;
            throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    worker = startInboundWorker({ ...ws.ctx, ledger: flaky, log }, workerConnection, { prefix, locks: dispatcher.locks });
    await waitFor('file translated after a retry', async () => (await ws.ctx.ledger.getFile(fileId))?.state === 'translated');
    expect(failures).toBe(1);
    const retried = log.lines.filter((l) => l.msg === 'inbound job failed; BullMQ will retry');
    expect(retried).toHaveLength(1);
    // A catalogue code for log readers and alerts, the system's own code beside it.
    expect(retried[0].obj).toMatchObject({ code: 'PIPELINE_TRANSIENT_FAULT', cause: 'SQLITE_BUSY' });
  });

  it('marks a file that cannot be translated failed once, without retries', async () => {
    const fileId = await take(ws.ctx, { name: 'gone.edi', data: generated214(3, 41) });
    const file = await ws.ctx.ledger.getFile(fileId);
    rmSync(join(ws.ctx.dataDir, file!.storedPath)); // its stored bytes are gone: no retry can help
    worker = startInboundWorker(ws.ctx, workerConnection, { prefix, locks: dispatcher.locks });
    await waitFor('job failed', async () => (await inbound.getFailedCount()) === 1);
    const job = await inbound.getJob(fileJobId(fileId));
    expect(job?.attemptsMade).toBe(1);
    const after = await ws.ctx.ledger.getFile(fileId);
    expect(after?.state).toBe('failed');
    expect(after?.errors.map((e) => e.code)).toContain('PIPELINE_STORED_FILE_MISSING');
    // The sweep leaves it alone: it is no longer received/translating.
    expect((await recoverySweep(ws.ctx, dispatcher)).found).toBe(0);
  });

  it('the recovery sweep re-dispatches files left received or translating', async () => {
    const [a, b] = inputs(['status214', 'invoice210']);
    // Stored and recorded but never dispatched (the process died right after intake) ...
    delete ws.ctx.dispatcher;
    const idA = await take(ws.ctx, a);
    const idB = await take(ws.ctx, b);
    // ... and one that was mid-translation when it died.
    await ws.ctx.ledger.setFileState(idB, 'translating');
    // A file whose job failed for good on a fault that healed since: the sweep retries the job.
    const stored = await storeFile(ws.ctx.dataDir, generated214(5, 42));
    await ws.ctx.ledger.recordFile({ ...stored, transport: 'cli', originalName: 'c.edi', receivedAt: new Date().toISOString() });
    await inbound.add('translate', { fileId: stored.id }, { jobId: fileJobId(stored.id), attempts: 1 });
    const busy = new BullWorker(INBOUND_QUEUE, async () => { throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }); },
      { connection: workerConnection, prefix });
    await waitFor('job failed', async () => (await inbound.getFailedCount()) === 1);
    await busy.close();

    const result = await recoverySweep(ws.ctx, dispatcher);
    expect(result.found).toBe(3);
    expect(result.dispatched).toBe(3);
    worker = startInboundWorker(ws.ctx, workerConnection, { prefix, locks: dispatcher.locks });
    await waitFor('all three translated', async () =>
      (await Promise.all([idA, idB, stored.id].map((id) => ws.ctx.ledger.getFile(id)))).every((f) => f?.state === 'translated'));
    expect(await inbound.getFailedCount()).toBe(0);
  });

  it('gives up on a file that keeps crashing the translation', async () => {
    delete ws.ctx.dispatcher;
    const id = await take(ws.ctx, inputs(['weight214'])[0]);
    for (let i = 0; i < 3; i++) await ws.ctx.ledger.setFileState(id, 'translating');
    const result = await recoverySweep(ws.ctx, dispatcher, { maxAttempts: 3 });
    expect(result).toMatchObject({ found: 1, gaveUp: 1, dispatched: 0 });
    expect((await ws.ctx.ledger.getFile(id))?.errors.map((e) => e.code)).toContain('PIPELINE_TOO_MANY_ATTEMPTS');
  });
});

describe('dispatcher without Redis', () => {
  it('translates in-process when Redis is unreachable, and intake goes on', async () => {
    const log = memoryLogger();
    const ws = workspace(log);
    const connection = createConnection(`redis://127.0.0.1:${await freePort()}`); // nothing listens there
    const dispatcher = new QueueDispatcher(ws.ctx, connection, { prefix: uniquePrefix('nodispatch'), addTimeoutMs: 500 });
    ws.ctx.dispatcher = dispatcher;
    try {
      const list = [...inputs(['status214', 'invoice210']), { name: 'gen.edi', data: generated214(40, 43) }];
      const ids: string[] = [];
      for (const input of list) ids.push(await take(ws.ctx, input));
      await dispatcher.idle();
      for (const id of ids) expect((await ws.ctx.ledger.getFile(id))?.state).toBe('translated');
      expect(new Set(allEventIds(ws.ctx.ledger))).toEqual(await expectedEventIds(list));
      // Events wait in the outbox for the relay.
      expect((await ws.ctx.ledger.countEvents()).unpublished).toBeGreaterThan(0);
    } finally {
      await dispatcher.close();
      connection.disconnect();
      await ws.close();
    }
  });
});
