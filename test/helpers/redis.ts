// Cleaning up after a test that used its own BullMQ prefix: both Waybill queues and the relay's marker.
// Never FLUSHALL: Redis may be shared with other tests and developers.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { EVENTS_QUEUE, INBOUND_QUEUE } from '../../src/queue/queues.js';
import { relayMarkerKey } from '../../src/queue/relay.js';

export async function cleanRedisPrefix(url: string, prefix: string): Promise<void> {
  const connection = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  connection.on('error', () => undefined);
  try {
    await connection.connect();
    for (const name of [INBOUND_QUEUE, EVENTS_QUEUE]) {
      const q = new Queue(name, { connection, prefix });
      await q.obliterate({ force: true });
      await q.close();
    }
    await connection.del(relayMarkerKey(prefix));
  } catch {
    // nothing reachable (a private server already gone): nothing to clean
  } finally {
    connection.disconnect();
  }
}
