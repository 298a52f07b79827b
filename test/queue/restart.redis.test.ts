// Redis stopped mid-run (kill -9, no persistence) and restarted on the same port: intake and translation
// go on meanwhile (the dispatcher translates in-process), events wait in the outbox, and after the
// restart everything drains: no event lost, none duplicated in the ledger. Private redis-server.
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { consumeEvents, type EventConsumer } from '../../src/queue/consumer.js';
import { QueueDispatcher, startInboundWorker, startRecoverySweeps } from '../../src/queue/dispatcher.js';
import { closeWorker, createConnection, redisStatus } from '../../src/queue/queues.js';
import { OutboxRelay } from '../../src/queue/relay.js';
import {
  PrivateRedis, allEventIds, cleanRedis, expectedEventIds, generated214, inputs, take, uniquePrefix, waitFor, workspace,
  type Input, type Workspace,
} from './support.js';

let redis: PrivateRedis;
let ws: Workspace;
let producer: Redis;
let workerConnection: Redis;
const prefix = uniquePrefix('restart');

beforeAll(async () => {
  redis = await PrivateRedis.start();
  ws = workspace();
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

it('keeps taking files in and translating them while Redis is down; everything drains after the restart', async () => {
  const beforeCrash: Input[] = [{ name: 'gen-a.edi', data: generated214(150, 61, 1) }, ...inputs(['status214'])];
  const whileDown: Input[] = [...inputs(['invoice210', 'weight214', 'badTx214']), { name: 'gen-b.edi', data: generated214(80, 62, 2) }];
  const expected = await expectedEventIds([...beforeCrash, ...whileDown]);

  const dispatcher = new QueueDispatcher(ws.ctx, producer, { prefix, addTimeoutMs: 500 });
  ws.ctx.dispatcher = dispatcher;
  const worker: Worker = startInboundWorker(ws.ctx, workerConnection, { prefix, locks: dispatcher.locks });
  const sweeps = startRecoverySweeps(ws.ctx, dispatcher, { intervalMs: 500 });
  const relay = new OutboxRelay({ ledger: ws.ctx.ledger, connection: producer, prefix, batchSize: 100, idleMs: 20, maxBackoffMs: 500 });
  relay.start();
  let consumer: EventConsumer | undefined;
  const delivered: string[] = [];

  try {
    // 1. Normal running: files go through the inbound queue, events are published (nobody consumes yet).
    const first: string[] = [];
    for (const f of beforeCrash) first.push(await take(ws.ctx, f));
    await waitFor('first files translated', async () => (await Promise.all(first.map((id) => ws.ctx.ledger.getFile(id)))).every((f) => f?.state === 'translated'));
    await waitFor('first events published', async () => (await ws.ctx.ledger.countEvents()).unpublished === 0);
    const publishedBeforeCrash = allEventIds(ws.ctx.ledger).length;
    expect(publishedBeforeCrash).toBeGreaterThan(0);

    // 2. Redis dies with everything in it.
    await redis.kill();
    await waitFor('relay reports Redis down', () => !relay.status().redisReachable && relay.status().state === 'waiting-for-redis');
    expect((await redisStatus(producer, 500)).ok).toBe(false);

    // 3. Intake and translation go on in-process; the events wait in the outbox.
    const second: string[] = [];
    for (const f of whileDown) second.push(await take(ws.ctx, f));
    await dispatcher.idle();
    for (const id of second) expect((await ws.ctx.ledger.getFile(id))?.state).toBe('translated');
    const counts = await ws.ctx.ledger.countEvents();
    expect(counts.unpublished).toBe(counts.total - publishedBeforeCrash);
    expect(relay.status().redisReachable).toBe(false);

    // 4. Redis comes back empty on the same port; the relay republishes what was lost and drains the outbox.
    await redis.launch();
    consumer = consumeEvents({ connection: redis.url, prefix, concurrency: 4, handler: async (event) => { delivered.push(event.id); } });
    await waitFor('every event consumed', async () => (await ws.ctx.ledger.countEvents()).consumed === expected.size, 45_000);
    expect(relay.status()).toMatchObject({ state: 'running', redisReachable: true, dataLosses: 1 });
    expect((await redisStatus(producer, 1000)).ok).toBe(true);

    // No event lost (the consumer saw every id), none duplicated in the ledger.
    expect(new Set(delivered)).toEqual(expected);
    const all = allEventIds(ws.ctx.ledger);
    expect(all.length).toBe(expected.size);
    expect(new Set(all)).toEqual(expected);
    expect(await ws.ctx.ledger.listFiles({ state: ['received', 'translating'] })).toEqual([]);
  } finally {
    await consumer?.close();
    await relay.stop();
    await sweeps.stop();
    await closeWorker(worker, { connection: workerConnection });
    await dispatcher.close();
  }
});

it('closes the inbound worker and the ERP consumer cleanly while Redis is down (shutdown during an outage)', async () => {
  const connection = createConnection(redis.url, { role: 'worker' });
  const worker = startInboundWorker(ws.ctx, connection, { prefix });
  const consumer = consumeEvents({ connection: redis.url, prefix, handler: async () => undefined });
  try {
    await worker.waitUntilReady();
    await consumer.worker.waitUntilReady();
    await redis.kill();
    await waitFor('connections waiting to reconnect', () => connection.status === 'reconnecting');
    // Plain close() waits for Redis (the fetch loop's command is queued until it is back), and ioredis
    // never ended a client that was waiting to reconnect: both used to hang here.
    const [workerClosed] = await Promise.all([closeWorker(worker, { connection }), consumer.close()]);
    expect(workerClosed).toBe(true);
  } finally {
    connection.disconnect();
    await redis.launch(); // for afterAll's cleanup
  }
});
