// Redis emptied (FLUSHALL) while events are pending: the relay notices and republishes everything not
// yet consumed; the consumer ends up with every event id; the ledger holds each event once. Runs on a
// private redis-server: FLUSHALL on the shared one would wipe other tests.
import { Queue, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { consumeEvents, type EventConsumer } from '../../src/queue/consumer.js';
import { QueueDispatcher, recoverySweep, startInboundWorker } from '../../src/queue/dispatcher.js';
import { EVENTS_QUEUE, INBOUND_QUEUE, closeWorker, createConnection } from '../../src/queue/queues.js';
import { OutboxRelay } from '../../src/queue/relay.js';
import {
  PrivateRedis, allEventIds, cleanRedis, expectedEventIds, generated214, inputs, memoryLogger, take, uniquePrefix, waitFor, workspace,
  type Input, type Workspace,
} from './support.js';

let redis: PrivateRedis;
let ws: Workspace;
let producer: Redis;
let workerConnection: Redis;
const prefix = uniquePrefix('flush');

beforeAll(async () => {
  redis = await PrivateRedis.start();
  ws = workspace(memoryLogger());
  producer = createConnection(redis.url);
  workerConnection = createConnection(redis.url, { role: 'worker' });
});

afterAll(async () => {
  await cleanRedis(redis.url, prefix);
  producer.disconnect();
  workerConnection.disconnect();
  await redis.stop();
  await ws.close();
});

it('republishes everything not yet consumed after FLUSHALL; the consumer sees every id, the ledger has no duplicates', async () => {
  const before: Input[] = [...inputs(['status214', 'invoice210']), { name: 'gen-a.edi', data: generated214(150, 51, 1) }];
  const during: Input = { name: 'gen-b.edi', data: generated214(60, 52, 2) };
  const expected = await expectedEventIds([...before, during]);

  const dispatcher = new QueueDispatcher(ws.ctx, producer, { prefix });
  ws.ctx.dispatcher = dispatcher;
  const worker: Worker = startInboundWorker(ws.ctx, workerConnection, { prefix, locks: dispatcher.locks });
  const log = memoryLogger();
  const relay = new OutboxRelay({ ledger: ws.ctx.ledger, connection: producer, prefix, batchSize: 100, idleMs: 20, log });
  relay.start();
  const events = new Queue(EVENTS_QUEUE, { connection: producer, prefix });
  const inbound = new Queue(INBOUND_QUEUE, { connection: producer, prefix });
  const delivered: string[] = [];
  let consumer: EventConsumer | undefined;

  try {
    // 1. Files translated through the queue, their events published.
    const ids: string[] = [];
    for (const f of before) ids.push(await take(ws.ctx, f));
    await waitFor('files translated', async () => (await Promise.all(ids.map((id) => ws.ctx.ledger.getFile(id)))).every((f) => f?.state === 'translated'));
    const total = allEventIds(ws.ctx.ledger).length;
    await waitFor('all events published', async () => (await ws.ctx.ledger.countEvents()).unpublished === 0 && (await events.getWaitingCount()) === total);

    // 2. The ERP consumes about a third, then stops; the relay records those as consumed.
    const third = Math.floor(total / 3);
    let stopAsked = false;
    consumer = consumeEvents({
      connection: workerConnection, prefix,
      handler: async (event) => {
        delivered.push(event.id);
        if (delivered.length >= third && !stopAsked) {
          stopAsked = true;
          void consumer!.worker.pause(true);
        }
      },
    });
    await waitFor('a third consumed', () => stopAsked);
    await consumer.close();
    consumer = undefined;
    const firstRound = new Set(delivered);
    await waitFor('consumption recorded', async () => (await ws.ctx.ledger.countEvents()).consumed === firstRound.size);
    expect(firstRound.size).toBeLessThan(total);

    // 3. A file is waiting in the inbound queue when Redis is emptied.
    await worker.pause();
    const lateId = await take(ws.ctx, during);
    expect(await inbound.getWaitingCount()).toBe(1);
    await producer.flushall();
    worker.resume();

    // 4. The relay notices and republishes what was not consumed; the sweep re-dispatches the lost file.
    await waitFor('data loss detected', () => relay.status().dataLosses === 1);
    expect(log.lines.some((l) => l.level === 'warn' && /lost data/.test(l.msg ?? ''))).toBe(true);
    expect(await recoverySweep(ws.ctx, dispatcher)).toMatchObject({ found: 1, dispatched: 1 });
    await waitFor('late file translated', async () => (await ws.ctx.ledger.getFile(lateId))?.state === 'translated');
    const all = allEventIds(ws.ctx.ledger);
    await waitFor('everything unconsumed republished', async () =>
      (await ws.ctx.ledger.countEvents()).unpublished === 0 && (await events.getWaitingCount()) === all.length - firstRound.size);

    // 5. The ERP comes back and receives the rest.
    consumer = consumeEvents({ connection: workerConnection, prefix, concurrency: 4, handler: async (event) => { delivered.push(event.id); } });
    await waitFor('every event consumed', async () => (await ws.ctx.ledger.countEvents()).consumed === all.length);

    // Every id reached the consumer; events consumed before the flush were not sent again.
    expect(new Set(delivered)).toEqual(expected);
    expect(delivered.length).toBe(expected.size);
    // The ledger holds each expected event exactly once.
    expect(all.length).toBe(expected.size);
    expect(new Set(all)).toEqual(expected);
    expect(relay.status()).toMatchObject({ dataLosses: 1, redisReachable: true, state: 'running' });
  } finally {
    await consumer?.close();
    await relay.stop();
    await closeWorker(worker, { connection: workerConnection });
    await dispatcher.close();
    await events.close();
    await inbound.close();
  }
});
