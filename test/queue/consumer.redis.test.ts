// The ERP consumer helper as the README shows it: `consumeEvents({ connection: process.env.REDIS_URL, ... })`.
// Wherever REDIS_URL is not set, that passes `undefined`: the helper must then fall back to the default
// Redis URL, as the gateway does, rather than fail inside BullMQ with "Worker requires a connection".
import { Queue } from 'bullmq';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { consumeEvents, type EventConsumer } from '../../src/queue/consumer.js';
import { EVENTS_QUEUE, createConnection } from '../../src/queue/queues.js';
import { SHARED_REDIS_URL, cleanRedis, uniquePrefix, waitFor } from './support.js';

const prefix = uniquePrefix('erp-audit-consumer');
const producer = createConnection(SHARED_REDIS_URL);

afterEach(() => {
  vi.unstubAllEnvs();
});

afterAll(async () => {
  await cleanRedis(SHARED_REDIS_URL, prefix);
  producer.disconnect();
});

it('consumes with no connection given (REDIS_URL unset in the README example): REDIS_URL, else the default URL', async () => {
  // The shared test Redis stands in for "the default": REDIS_URL names it when it is not the default one.
  vi.stubEnv('REDIS_URL', SHARED_REDIS_URL);
  const seen: string[] = [];
  let consumer: EventConsumer | undefined;
  const events = new Queue(EVENTS_QUEUE, { connection: producer, prefix });
  try {
    consumer = consumeEvents({ connection: process.env.UNSET_IN_THIS_TEST, prefix, handler: async (_event, meta) => { seen.push(meta.id); } });
    await events.add('shipment.status@1', { id: 'evt_erpauditnoconnection0000' }, { jobId: 'evt_erpauditnoconnection0000' });
    await waitFor('the event handled', () => seen.length === 1);
    expect(seen).toEqual(['evt_erpauditnoconnection0000']);
  } finally {
    await consumer?.close();
    await events.close();
  }
});
