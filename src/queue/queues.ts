// Names, connections and job ids shared by everything that talks to BullMQ. Kept apart from the
// dispatcher, relay and consumer so that each of them (and the HTTP /readyz probe) agrees on the same
// queue names, key prefix and connection behaviour.

import { Redis, type RedisOptions } from 'ioredis';
import { Queue, type Worker } from 'bullmq';

/** Stored files waiting to be translated. Job id = file id, data = { fileId }. */
export const INBOUND_QUEUE = 'waybill-inbound';
/** Canonical events for the ERP. Job id = event id, name = event type, data = the event. */
export const EVENTS_QUEUE = 'waybill-events';
/**
 * BullMQ's own default key prefix. Keeping it means an ERP team can read `waybill-events` with a plain
 * BullMQ Worker and no extra option; deployments (and tests) that share a Redis pass their own.
 */
export const DEFAULT_PREFIX = 'bull';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** `REDIS_URL` wins over the configured URL, which wins over the local default. */
export function redisUrlFrom(configured?: string | null, env: NodeJS.ProcessEnv = process.env): string {
  return env.REDIS_URL || configured || DEFAULT_REDIS_URL;
}

/**
 * Reconnect forever (a gateway outlives Redis restarts), quickly at first, then at most every 5 s, with
 * jitter so several processes do not reconnect in lockstep.
 */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(100 * 2 ** Math.min(Math.max(attempt - 1, 0), 6), 5000);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * - `producer`: adds jobs and runs small commands (dispatcher, relay, probes). Commands fail fast while
 *   Redis is unreachable (no offline queue, one retry on a dropped connection) so callers can fall back
 *   (translate in-process) or back off (the relay) instead of hanging.
 * - `worker`: for BullMQ Workers, which require `maxRetriesPerRequest: null` and an offline queue; they
 *   wait for Redis to come back by design.
 */
export type ConnectionRole = 'producer' | 'worker';

export interface RedisConnectionOptions {
  role?: ConnectionRole;
  /** Shown by CLIENT LIST; helps when several gateways share a Redis. */
  name?: string;
  /** Called for connection errors (ECONNREFUSED, ...). Without it they are dropped: status() and
   * redisStatus() report the state, and ioredis would otherwise print every retry to stderr. */
  onError?: (err: Error) => void;
}

export function createConnection(url: string, opts: RedisConnectionOptions = {}): Redis {
  const role = opts.role ?? 'producer';
  const common: RedisOptions = {
    connectionName: opts.name,
    connectTimeout: 5000,
    retryStrategy: reconnectDelay,
    // After a failover the old primary answers READONLY: reconnect and resend instead of failing.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
  const roleOptions: RedisOptions = role === 'worker'
    ? { maxRetriesPerRequest: null, enableOfflineQueue: true }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 15_000 };
  const connection = withCleanDisconnect(new Redis(url, { ...common, ...roleOptions }));
  connection.on('error', opts.onError ?? (() => undefined));
  return connection;
}

/**
 * Works around an ioredis gap: disconnect() while the client waits to reconnect (Redis down or just
 * restarted) cancels the reconnect but leaves the status at 'reconnecting' and never emits 'end'.
 * BullMQ's Worker.close() waits for that 'end', so a shutdown during a Redis outage would hang. Here
 * the client ends as ioredis's own close handler would (queued commands fail, status 'end'). Copies
 * made by duplicate() — BullMQ workers make theirs that way — get the same fix.
 */
function withCleanDisconnect(client: Redis): Redis {
  const internals = client as unknown as { setStatus(status: string): void; flushQueue(err: Error): void };
  const disconnect = client.disconnect.bind(client);
  client.disconnect = (reconnect = false) => {
    const waiting = !reconnect && client.status === 'reconnecting';
    disconnect(reconnect);
    if (waiting && client.status === 'reconnecting') {
      internals.flushQueue(new Error('Connection is closed.'));
      internals.setStatus('end');
    }
  };
  const duplicate = client.duplicate.bind(client);
  client.duplicate = ((override?: Partial<RedisOptions>) => withCleanDisconnect(duplicate(override))) as Redis['duplicate'];
  return client;
}

/**
 * BullMQ rejects custom job ids containing ':' (its key separator) and all-digit ones (they collide
 * with its own numeric ids). Our ids never are (file ids are "sha256-<hex>", event ids "evt_<base32>"),
 * but an id from elsewhere must fail loudly here rather than deep inside BullMQ.
 */
export function assertJobId(id: string): string {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('a job id must be a non-empty string');
  if (id.includes(':')) throw new TypeError(`job id '${id}' contains ':', which BullMQ reserves as its key separator`);
  if (/^\d+$/.test(id)) throw new TypeError(`job id '${id}' is all digits, which BullMQ reserves for its own ids`);
  return id;
}

/** The inbound job for a stored file: its content-hash id, so one file is at most one job. */
export function fileJobId(fileId: string): string {
  return assertJobId(fileId);
}

/** The events-queue job for an event: the event id itself, which is what ERP consumers deduplicate by. */
export function eventJobId(eventId: string): string {
  return assertJobId(eventId);
}

export type RedisProbe =
  | { ok: true; latencyMs: number }
  | { ok: false; error: string };

/** For /readyz: PING with a deadline. Never throws and never waits longer than `timeoutMs`. */
export async function redisStatus(connection: Redis, timeoutMs = 1000): Promise<RedisProbe> {
  if (connection.status !== 'ready') return { ok: false, error: `redis connection is ${connection.status}` };
  const started = performance.now();
  try {
    await withTimeout(connection.ping(), timeoutMs, `redis PING timed out after ${timeoutMs} ms`);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/**
 * Waits until the connection is ready, at most `timeoutMs`; false when Redis did not answer by then.
 * For start-up: the gateway runs without Redis, but says so once (and the demo explains how to start one).
 */
export async function waitForRedis(connection: Redis, timeoutMs = 3000): Promise<boolean> {
  if (connection.status === 'ready') return true;
  return new Promise<boolean>((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      connection.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    connection.once('ready', onReady);
  });
}

/**
 * Closes a BullMQ Worker without hanging on a Redis outage. Worker.close() lets jobs in progress finish
 * (good), but its fetch loop also waits for a command queued on a connection that only Redis's return
 * would answer, so during an outage it never resolves. When `connection` (any connection to the same
 * Redis) is not ready, or after `graceMs`, the worker's connections are cut so the loop can end; jobs
 * whose completion was not recorded are found stalled later and run again (processFile and event
 * consumers are idempotent). Resolves true when the worker closed.
 */
export async function closeWorker(worker: Worker, opts: { connection?: Redis; graceMs?: number } = {}): Promise<boolean> {
  let closed = false;
  const closing = worker.close().then(() => { closed = true; }, () => { closed = true; });
  const deadline = Date.now() + (opts.graceMs ?? 30_000);
  while (!closed) {
    const redisDown = opts.connection !== undefined && opts.connection.status !== 'ready';
    if (redisDown || Date.now() >= deadline) {
      await worker.disconnect().catch(() => undefined);
      // Jobs in progress still finish (a translation does not need Redis) within what is left of the grace.
      await Promise.race([closing, delay(Math.max(5000, deadline - Date.now()))]);
      return closed;
    }
    await Promise.race([closing, delay(100)]);
  }
  return true;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects after `ms` (the operation itself is not cancelled: callers must tolerate it completing later). */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  promise.catch(() => undefined); // a late rejection after the timeout is not an unhandled one
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A BullMQ Queue on a shared producer connection, re-created if its one-time initialisation failed.
 * (BullMQ initialises a Queue once — wait for ready, load scripts, read the Redis version — and a Queue
 * whose initialisation failed, e.g. Redis died in that instant, stays broken for good.)
 */
export class QueueRef<Q extends Queue = Queue> {
  private queue: Q | null = null;
  private broken = false;

  /** `QueueClass`: a Queue subclass to use instead (the relay's RawJsonQueue). */
  constructor(private readonly name: string, private readonly connection: Redis, private readonly prefix = DEFAULT_PREFIX,
    private readonly QueueClass: new (name: string, opts: { connection: Redis; prefix: string }) => Q = Queue as never) {}

  get(): Q {
    if (this.queue && this.broken) {
      const old = this.queue;
      this.queue = null;
      old.close().catch(() => undefined);
    }
    if (!this.queue) {
      const queue = new this.QueueClass(this.name, { connection: this.connection, prefix: this.prefix });
      queue.on('error', () => undefined); // surfaced by the failing calls themselves
      this.broken = false;
      queue.waitUntilReady().catch(() => {
        if (this.queue === queue) this.broken = true;
      });
      this.queue = queue;
    }
    return this.queue;
  }

  async close(): Promise<void> {
    const q = this.queue;
    this.queue = null;
    if (q) await q.close().catch(() => undefined);
  }
}
