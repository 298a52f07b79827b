// The outbox relay against the shared Redis (own prefix per test; nothing here flushes or stops Redis).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processFile } from '../../src/pipeline/process-file.js';
import { consumeEvents } from '../../src/queue/consumer.js';
import { EVENTS_QUEUE, createConnection } from '../../src/queue/queues.js';
import { OutboxRelay, relayMarkerKey } from '../../src/queue/relay.js';
import {
  SHARED_REDIS_URL, allEventIds, cleanRedis, generated214, inputs, take, uniquePrefix, waitFor, workspace, type Input, type Workspace,
} from './support.js';

describe('outbox relay', () => {
  let ws: Workspace;
  let connection: Redis;
  let prefix: string;
  let events: Queue;
  const files: Input[] = [...inputs(['status214', 'invoice210', 'badTx214']), { name: 'gen.edi', data: generated214(120, 31) }];

  beforeEach(async () => {
    ws = workspace();
    prefix = uniquePrefix('relay');
    connection = createConnection(SHARED_REDIS_URL);
    events = new Queue(EVENTS_QUEUE, { connection, prefix });
    for (const f of files) await processFile(ws.ctx, await take(ws.ctx, f));
  });

  afterEach(async () => {
    await events.close();
    await cleanRedis(SHARED_REDIS_URL, prefix);
    connection.disconnect();
    await ws.close();
  });

  /** Passes until a pass publishes nothing (bounded). */
  async function drain(relay: OutboxRelay): Promise<number> {
    let published = 0;
    for (let i = 0; i < 1000; i++) {
      const pass = await relay.runOnce();
      published += pass.published;
      if (pass.published === 0) return published;
    }
    throw new Error('the relay never ran out of events');
  }

  it('publishes every outbox event once: job id = event id, name = event type, data = the event', async () => {
    const ids = allEventIds(ws.ctx.ledger);
    expect(ids.length).toBeGreaterThan(100);
    const relay = new OutboxRelay({ ledger: ws.ctx.ledger, connection, prefix, batchSize: 50 });

    expect(await drain(relay)).toBe(ids.length);
    expect((await ws.ctx.ledger.countEvents()).unpublished).toBe(0);
    expect(await events.getWaitingCount()).toBe(ids.length);
    for (const id of ids) {
      const row = await ws.ctx.ledger.getEvent(id);
      const job = await events.getJob(id);
      expect(job?.id).toBe(id);
      expect(job?.name).toBe(row?.type);
      expect(job?.data).toEqual(JSON.parse(row!.payload));
      expect(row?.publishedAt).not.toBeNull();
    }
  });

  it('goes on publishing while another process holds the ledger write lock; what it could not mark is marked before the pass ends', async () => {
    // A first pass publishes what is there (and writes the relay's first-start bookkeeping); then more.
    const relay = new OutboxRelay({ ledger: ws.ctx.ledger, connection, prefix, batchSize: 50 });
    const before = await drain(relay);
    await processFile(ws.ctx, await take(ws.ctx, { name: 'more.edi', data: generated214(150, 77, 7777) }));
    const fresh = (await ws.ctx.ledger.countEvents()).unpublished;
    expect(fresh).toBeGreaterThan(100);
    // Another process (as a batch of translation committing) holds the write lock, and lets it go only
    // once every event is in Redis (or after 20 s): it watches the queue itself, since this thread may be
    // blocked in SQLite while the relay's last mark waits for the lock.
    const expected = before + fresh;
    const holder = spawn(process.execPath, ['-e', `
      const [dbPath, url, key, expected] = process.argv.slice(1);
      const db = new (require('better-sqlite3'))(dbPath);
      const redis = new (require('ioredis'))(url);
      db.prepare('BEGIN IMMEDIATE').run();
      console.log('locked');
      const deadline = Date.now() + 20000;
      (async () => {
        let n = 0;
        while ((n = await redis.llen(key)) < Number(expected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        db.prepare('COMMIT').run();
        db.close();
        console.log('released with ' + n + ' jobs waiting');
        redis.disconnect();
      })();
    `, join(ws.ctx.dataDir, 'ledger.db'), SHARED_REDIS_URL, `${prefix}:${EVENTS_QUEUE}:wait`, String(expected)],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    holder.stdout.on('data', (c: Buffer) => { said += c.toString(); });
    const exited = new Promise<number | null>((resolve) => holder.once('exit', resolve));
    await waitFor('the lock holder to hold the lock', () => said.includes('locked') || holder.exitCode !== null, 20_000);
    expect(said).toContain('locked');
    expect((await relay.runOnce()).published).toBe(fresh);
    expect(await exited).toBe(0);
    // Every event reached Redis while the lock was held: marking did not block the relay's thread.
    expect(said).toContain(`released with ${expected} jobs waiting`);
    expect((await ws.ctx.ledger.countEvents()).unpublished).toBe(0);
    expect(await events.getWaitingCount()).toBe(expected);
  });

  it('does not duplicate when run again, by another relay, or after the ledger asks for a republish', async () => {
    const ids = allEventIds(ws.ctx.ledger);
    await drain(new OutboxRelay({ ledger: ws.ctx.ledger, connection, prefix }));
    expect(await drain(new OutboxRelay({ ledger: ws.ctx.ledger, connection, prefix }))).toBe(0);

    // A crash between addBulk and markPublished looks like this: rows unpublished, jobs already there.
    expect(await ws.ctx.ledger.republishUnconsumed()).toBe(ids.length);
    expect(await drain(new OutboxRelay({ ledger: ws.ctx.ledger, connection, prefix, batchSize: 7 }))).toBe(ids.length);
    expect(await events.getWaitingCount()).toBe(ids.length);
    expect(new Set(await events.getRanges(['wait'], 0, -1))).toEqual(new Set(ids));
  });

  it('treats a missing, replaced or rolled-back Redis marker as data loss and republishes what is unconsumed', async () => {
    const ids = allEventIds(ws.ctx.ledger);
    const epochFile = join(ws.dir, 'relay-epoch');
    const relay = new OutboxRelay({ ledger: ws.ctx.ledger, connection, prefix, epochFile });
    expect((await relay.runOnce()).dataLoss).toBe(false); // a first start on an empty Redis is no loss
    await drain(relay);
    const marker = relayMarkerKey(prefix);
    const epoch = await connection.hget(marker, 'epoch');
    expect(epoch).toMatch(/^[0-9a-f-]{36}$/);
    expect(readFileSync(epochFile, 'utf8').trim()).toBe(epoch);
    expect((await relay.runOnce()).dataLoss).toBe(false);

    const tamper: [string, () => Promise<unknown>][] = [
      ['older data (seq went back)', () => connection.hset(marker, 'seq', '0')],
      ['another epoch', () => connection.hset(marker, 'epoch', 'someone-else')],
      ['marker gone', () => connection.del(marker)],
    ];
    for (const [what, change] of tamper) {
      await change();
      const pass = await relay.runOnce();
      expect(pass.dataLoss, what).toBe(true);
      expect(await drain(relay), what).toBe(0); // republished in that pass; the existing jobs absorbed it
      expect((await ws.ctx.ledger.countEvents()).unpublished, what).toBe(0);
      expect(await events.getWaitingCount(), what).toBe(ids.length);
    }
    expect(relay.status()).toMatchObject({ dataLosses: 3, republished: 3 * ids.length });

    // A relay started later remembers the epoch through its file: a marker replaced meanwhile is noticed.
    await connection.hset(marker, 'epoch', 'replaced-while-we-were-down');
    const later = new OutboxRelay({ ledger: ws.ctx.ledger, connection, prefix, epochFile });
    expect((await later.runOnce()).dataLoss).toBe(true);
    // Without the file it could not know, and adopts the marker it finds.
    await connection.hset(marker, 'epoch', 'replaced-again');
    expect((await new OutboxRelay({ ledger: ws.ctx.ledger, connection, prefix }).runOnce()).dataLoss).toBe(false);
  });

  it('records consumption: completed jobs are marked consumed in the ledger and removed from Redis', async () => {
    const ids = allEventIds(ws.ctx.ledger);
    const relay = new OutboxRelay({ ledger: ws.ctx.ledger, connection, prefix, idleMs: 20 });
    relay.start();
    const seen: string[] = [];
    const consumer = consumeEvents({
      connection: SHARED_REDIS_URL, prefix, concurrency: 4,
      handler: async (event, meta) => {
        expect(meta.id).toBe(event.id);
        expect(meta.type).toBe(event.type);
        seen.push(meta.id);
      },
    });
    try {
      await waitFor('every event consumed in the ledger', async () => (await ws.ctx.ledger.countEvents()).consumed === ids.length);
      await waitFor('completed jobs removed', async () => (await events.getCompletedCount()) === 0);
    } finally {
      await consumer.close();
      await relay.stop();
    }
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen.length).toBe(ids.length);
    const status = relay.status();
    expect(status.state).toBe('stopped');
    expect(status.published).toBe(ids.length);
    expect(status.consumed).toBe(ids.length);
    expect(status.dataLosses).toBe(0);
    for (const id of ids) expect((await ws.ctx.ledger.getEvent(id))?.consumedAt).not.toBeNull();
  });
});
