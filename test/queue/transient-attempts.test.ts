// A full disk (or a busy database) while a file is translated is a transient fault: the file stays
// `translating` and is tried again. The recovery sweep gives up on a file whose translation was started
// `maxAttempts` times without finishing (PIPELINE_TOO_MANY_ATTEMPTS: meant for a file that crashes the
// process, out of memory say). Attempts that ended in a transient fault are no such crash: they used to
// count all the same, so a disk that stayed full for the length of those attempts (5 BullMQ tries, then
// one per sweep: about 10 minutes in the gateway) failed the file for good, though it was taken in and
// acknowledged and would have translated once space was back. No Redis: the dispatcher translates in-process.
import { describe, expect, it } from 'vitest';
import type { UnitBatch } from '../../src/ledger/ledger.js';
import { QueueDispatcher, recoverySweep } from '../../src/queue/dispatcher.js';
import { createConnection } from '../../src/queue/queues.js';
import { freePort, inputs, memoryLogger, take, workspace } from './support.js';

describe('transient faults during translation', () => {
  it('do not count towards the sweep\'s give-up: the file translates once the fault is gone', async () => {
    const log = memoryLogger();
    const ws = workspace(log);
    const connection = createConnection(`redis://127.0.0.1:${await freePort()}`); // nothing listens there
    const dispatcher = new QueueDispatcher(ws.ctx, connection, { addTimeoutMs: 200 });
    try {
      const id = await take(ws.ctx, inputs(['status214'])[0]);
      // The disk is full: every batch commit fails as SQLite says so (the small state update before it works).
      const real = ws.ctx.ledger;
      let full = true;
      ws.ctx.ledger = new Proxy(real, {
        get(target, prop, receiver) {
          if (prop === 'commitBatch') {
            return async (batch: UnitBatch) => {
              if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
              return target.commitBatch(batch);
            };
          }
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as typeof real;
      const maxAttempts = 3;
      for (let i = 0; i < maxAttempts + 2; i++) {
        const r = await recoverySweep(ws.ctx, dispatcher, { maxAttempts });
        expect(r.gaveUp).toBe(0);
        await dispatcher.idle();
        expect((await real.getFile(id))?.state).toBe('translating');
      }
      expect(log.lines.filter((l) => l.obj.code === 'PIPELINE_TRANSIENT_FAULT' && l.obj.cause === 'SQLITE_FULL').length).toBe(maxAttempts + 2);

      full = false; // space is back
      const r = await recoverySweep(ws.ctx, dispatcher, { maxAttempts });
      expect(r).toMatchObject({ gaveUp: 0, dispatched: 1 });
      await dispatcher.idle();
      const file = await real.getFile(id);
      expect(file?.state).toBe('translated');
      expect(file?.errors).toEqual([]);
    } finally {
      await dispatcher.close();
      connection.disconnect();
      await ws.close();
    }
  });

  it('do not count either when taking the attempt back fails too (the disk still full): noted in the process, taken back later', async () => {
    const ws = workspace();
    const connection = createConnection(`redis://127.0.0.1:${await freePort()}`);
    const dispatcher = new QueueDispatcher(ws.ctx, connection, { addTimeoutMs: 200 });
    try {
      const id = await take(ws.ctx, inputs(['status214'])[0]);
      const real = ws.ctx.ledger;
      let full = true;
      const diskFull = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      ws.ctx.ledger = new Proxy(real, {
        get(target, prop, receiver) {
          // The state update that counts an attempt still fits; the batch and the taking back do not.
          if (prop === 'commitBatch') return async (batch: UnitBatch) => { if (full) throw diskFull(); return target.commitBatch(batch); };
          if (prop === 'uncountAttempt') return async (fileId: string) => { if (full) throw diskFull(); return target.uncountAttempt(fileId); };
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as typeof real;
      const maxAttempts = 3;
      for (let i = 0; i < maxAttempts + 2; i++) {
        expect((await recoverySweep(ws.ctx, dispatcher, { maxAttempts })).gaveUp).toBe(0);
        await dispatcher.idle();
        expect((await real.getFile(id))?.state).toBe('translating');
      }
      full = false;
      expect(await recoverySweep(ws.ctx, dispatcher, { maxAttempts })).toMatchObject({ gaveUp: 0, dispatched: 1 });
      await dispatcher.idle();
      // Translated; the attempts that ended in the fault were taken back once the ledger could be written.
      expect(await real.getFile(id)).toMatchObject({ state: 'translated', errors: [], attempts: 1 });
    } finally {
      await dispatcher.close();
      connection.disconnect();
      await ws.close();
    }
  });

  it('a translation that never ended (a crash) still counts: the sweep gives up on it', async () => {
    const ws = workspace();
    const connection = createConnection(`redis://127.0.0.1:${await freePort()}`);
    const dispatcher = new QueueDispatcher(ws.ctx, connection, { addTimeoutMs: 200 });
    try {
      const id = await take(ws.ctx, inputs(['weight214'])[0]);
      for (let i = 0; i < 3; i++) await ws.ctx.ledger.setFileState(id, 'translating'); // three starts, no end
      expect(await recoverySweep(ws.ctx, dispatcher, { maxAttempts: 3 })).toMatchObject({ gaveUp: 1 });
      expect((await ws.ctx.ledger.getFile(id))?.errors.map((e) => e.code)).toContain('PIPELINE_TOO_MANY_ATTEMPTS');
    } finally {
      await dispatcher.close();
      connection.disconnect();
      await ws.close();
    }
  });
});
