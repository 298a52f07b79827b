// A small typed consumer for ERP teams on Node. Plain BullMQ works as well (queue `waybill-events`,
// job name = event type, job data = the event, job id = event id); this helper adds types and the
// contract below.

import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CanonicalMessage } from '../canonical/index.js';
import { DEFAULT_PREFIX, EVENTS_QUEUE, closeWorker, createConnection, redisUrlFrom } from './queues.js';

/** Every canonical event Waybill publishes; narrow on `type` ("shipment.status@1", ...). */
export type WaybillEvent = Extract<CanonicalMessage, { kind: 'event' }>;

export interface EventMeta {
  /** The event id (= `event.id` = the BullMQ job id): the key to deduplicate by. */
  id: string;
  /** `<type>@<version>`, e.g. "shipment.status@1" (= the BullMQ job name). */
  type: string;
  /** 1 on the first delivery of this job, 2 on its first retry, ... */
  attempt: number;
  /** Deliveries of this job before it is left in the failed set. */
  maxAttempts: number;
}

export interface ConsumeEventsOptions<E = WaybillEvent> {
  /**
   * A Redis URL, or an ioredis connection created with `maxRetriesPerRequest: null` (BullMQ requires it
   * for workers and duplicates the connection; yours stays yours to close). Unset (or an empty string):
   * `REDIS_URL`, else redis://127.0.0.1:6379, as for the gateway. The README's example passes
   * `process.env.REDIS_URL` as it is, which is undefined wherever the variable is not set; BullMQ would
   * then refuse to start with a bare "Worker requires a connection".
   */
  connection?: Redis | string | null;
  handler: (event: E, meta: EventMeta) => Promise<void>;
  /** Events handled at the same time. Default 1. Above 1, events are handled out of order. */
  concurrency?: number;
  /** The gateway's BullMQ key prefix, if it sets one. Default "bull". */
  prefix?: string;
  /** Told about each failed delivery (it will be retried unless attempt === maxAttempts). */
  onFailure?: (err: Error, meta: EventMeta) => void;
}

export interface EventConsumer {
  readonly worker: Worker;
  /** Lets handlers in progress finish, then disconnects (promptly also while Redis is down). */
  close(): Promise<void>;
}

/**
 * Consumes Waybill's canonical events from the `waybill-events` queue.
 *
 * Delivery contract:
 * - **At least once.** An event is delivered again when the handler throws (up to the job's attempts,
 *   with exponential backoff: 8 attempts by default, retried 5, 10, 20, ... 320 s after each failure,
 *   about 10.5 minutes from the first to the last), when this process dies
 *   mid-handler, and after Redis loses its data (the gateway then republishes everything it has not
 *   seen consumed). **Deduplicate by event id** (`event.id` = `meta.id`): record processed ids in the
 *   same database transaction as the handler's effect, and return without effect for a known id.
 * - An event id is stable: the same carrier fact always carries the same id, also when the carrier
 *   resends the file.
 * - **No ordering guarantee** across events (retries, concurrency, several consumers): order by the
 *   event's own times (`occurredAt`), not by arrival.
 * - The handler returning means "done": the job completes, and the gateway records the event consumed.
 *   Throwing means "try again later". After the last attempt the job stays in the queue's failed set
 *   (kept 30 days) for you to inspect and retry with BullMQ tools (`Job.retry()`); the gateway keeps the
 *   event unconsumed. `waybill dlq` does not list these: it covers webhook deliveries only.
 * - A handler that never settles keeps its job (BullMQ renews the job's lock while the handler runs) and
 *   one of the `concurrency` slots for good: with the default of 1 the consumer takes no further event.
 *   Put time limits on the handler's own I/O (and throw when one expires).
 */
export function consumeEvents<E = WaybillEvent>(opts: ConsumeEventsOptions<E>): EventConsumer {
  const given = opts.connection || null; // '' and undefined: not given (as redisUrlFrom treats an empty REDIS_URL)
  // A URL given explicitly is used as it is (REDIS_URL does not override it); none given: REDIS_URL or the default.
  const owned = given === null || typeof given === 'string'
    ? createConnection(given ?? redisUrlFrom(), { role: 'worker', name: 'waybill-erp-consumer' })
    : null;
  const meta = (job: Job): EventMeta => ({
    id: job.id ?? (job.data as { id?: string }).id ?? '',
    type: job.name,
    attempt: job.attemptsMade + 1,
    maxAttempts: job.opts.attempts ?? 1,
  });
  const worker = new Worker(
    EVENTS_QUEUE,
    async (job: Job) => {
      await opts.handler(job.data as E, meta(job));
      // No return value: nothing more to keep in Redis per completed event.
    },
    { connection: owned ?? (given as Redis), prefix: opts.prefix ?? DEFAULT_PREFIX, concurrency: opts.concurrency ?? 1 },
  );
  worker.on('failed', (job, err) => {
    // attemptsMade already counts the failed attempt here.
    if (job && opts.onFailure) opts.onFailure(err, { ...meta(job), attempt: job.attemptsMade });
  });
  worker.on('error', () => undefined); // connection trouble: BullMQ reconnects by itself
  return {
    worker,
    async close() {
      await closeWorker(worker, { connection: owned ?? (given as Redis) });
      owned?.disconnect();
    },
  };
}
