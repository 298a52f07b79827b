// The outbox relay: moves events from the ledger's outbox to the BullMQ `waybill-events` queue and
// records what the ERP has consumed. The ledger, not Redis, is the source of truth:
// - publish: addBulk with jobId = event id, then markPublished. A crash between the two re-adds the same
//   ids, which BullMQ ignores while the jobs exist (they do until the relay saw them consumed).
//   Batches are pipelined: while Redis runs one addBulk, the next batch is read and serialized (two in
//   flight by default), and each is marked published, in order, once its addBulk has answered. The job
//   data is the outbox's JSON text as it is (RawJsonQueue), never parsed and serialized again.
// - Redis down: every pass fails fast, the relay backs off, events wait in the outbox; the pass that
//   works again drains them. status() says which (for /readyz).
// - consumption: the relay reads the queue's `completed` set (oldest first), marks those events
//   consumed in the ledger, then removes the jobs. Chosen over QueueEvents 'completed': that stream is
//   trimmed (10,000 entries by default, a few seconds at full speed), only reaches a listener that is
//   connected at the time, and needs a blocking connection; the completed set holds every completion
//   until the relay has recorded it, whoever consumed it and whenever the relay runs. It is one ZRANGE
//   per pass, batched.
// - Redis data loss (FLUSHALL, a restart without persistence, a restore of an older snapshot): detected
//   by a marker hash the relay keeps in Redis, {epoch, seq}. epoch is a random id written once; seq is
//   incremented after every published batch. A missing marker, another epoch than the one this relay
//   knows (also across restarts, via epochFile), or a seq lower than the one it last wrote means Redis
//   lost data; the relay then calls ledger.republishUnconsumed(), so everything not yet consumed is
//   published again (and deduplicated by the ERP by event id: delivery is at-least-once).

import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Ledger, PublishableEvent } from '../ledger/ledger.js';
import { silentLogger, type Logger } from '../pipeline/context.js';
import { DEFAULT_PREFIX, EVENTS_QUEUE, QueueRef, eventJobId, waitForRedis } from './queues.js';
import { RawJsonQueue } from './raw-json.js';

/**
 * Options of every event job. They govern the ERP consumer's retries, so they are set here, by the
 * producer:
 * - attempts/backoff: a handler that throws (ERP down) gets 8 attempts in all: 7 retries, 5 s after the
 *   first failure and doubling (BullMQ's exponential backoff: 5, 10, 20, ... 320 s), about 10.5 minutes.
 * - removeOnComplete: the relay removes a completed job itself once the ledger records it consumed (the
 *   ledger then never republishes it, so BullMQ's jobId dedupe is no longer needed). The age/count
 *   limits are only a safety net that bounds Redis memory if the relay stops for long; a job trimmed
 *   before the relay saw it stays "published, not consumed" in the ledger and may be delivered again
 *   after a Redis data loss, which the consumer's dedupe absorbs.
 * - removeOnFail: an event whose attempts ran out stays in the failed set for 30 days for the ERP team to
 *   inspect and retry with BullMQ tools; the ledger keeps it unconsumed (republished after a data loss).
 */
export const EVENT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { age: 86_400, count: 100_000 },
  removeOnFail: { age: 30 * 86_400 },
};

/** The marker hash, outside the queue's own key space so BullMQ's housekeeping never touches it. */
export function relayMarkerKey(prefix = DEFAULT_PREFIX): string {
  return `${prefix}:waybill-relay:${EVENTS_QUEUE}`;
}

export interface OutboxRelayOptions {
  ledger: Ledger;
  /** A producer connection (createConnection(url)): commands fail fast while Redis is unreachable. */
  connection: Redis;
  prefix?: string;
  /** Events per addBulk. Default 1000 (BullMQ's addBulk rate is flat from 100 to 1000). */
  batchSize?: number;
  /**
   * addBulk calls in flight at once. Default 2: Redis runs one batch's scripts while this process reads
   * and serializes the next, instead of each waiting for the other.
   */
  inFlight?: number;
  /** Batches published per pass before the marker and consumption are looked at again. Default 10. */
  batchesPerPass?: number;
  /** Completed jobs recorded per pass. Default 2000. */
  consumedBatchSize?: number;
  /** Pause when there is nothing to do (new events are picked up at most this late unless wake()). Default 100 ms. */
  idleMs?: number;
  /** Back-off while Redis is unreachable: starts at 250 ms, doubles up to this. Default 5000 ms. */
  maxBackoffMs?: number;
  /**
   * Where the relay remembers the Redis epoch it last saw, so a data loss that happened while the
   * gateway was down is noticed even if another relay re-created the marker meanwhile. Optional.
   */
  epochFile?: string;
  jobOptions?: JobsOptions;
  log?: Logger;
}

export type RelayState = 'stopped' | 'running' | 'waiting-for-redis' | 'error';

export interface RelayStatus {
  state: RelayState;
  /** False while Redis is unreachable: events wait in the outbox and drain when it is back. */
  redisReachable: boolean;
  /** When the current state began. */
  since: string | null;
  lastError: string | null;
  epoch: string | null;
  /** Counters since start(). */
  published: number;
  consumed: number;
  /** Events made unpublished again after Redis lost data, and how many times that happened. */
  republished: number;
  dataLosses: number;
  lastPublishedAt: string | null;
}

export interface RelayPass {
  published: number;
  consumed: number;
  /** Redis was found to have lost data in this pass (everything unconsumed is queued for publishing). */
  dataLoss: boolean;
}

export class OutboxRelay {
  private readonly ledger: Ledger;
  private readonly connection: Redis;
  private readonly queue: QueueRef<RawJsonQueue>;
  private readonly markerKey: string;
  private readonly batchSize: number;
  private readonly inFlight: number;
  private readonly batchesPerPass: number;
  private readonly consumedBatchSize: number;
  private readonly idleMs: number;
  private readonly maxBackoffMs: number;
  private readonly jobOptions: JobsOptions;
  private readonly log: Logger;
  private readonly epochFile?: string;

  private loop: Promise<void> | null = null;
  private stopping = false;
  private wakeUp: (() => void) | null = null;
  private epoch: string | null = null;
  /** Highest marker seq this relay wrote or adopted: a lower one in Redis means lost writes. */
  private seq = 0;
  private readonly onReady = () => this.wake();
  private current: RelayStatus = {
    state: 'stopped', redisReachable: false, since: null, lastError: null, epoch: null,
    published: 0, consumed: 0, republished: 0, dataLosses: 0, lastPublishedAt: null,
  };

  constructor(opts: OutboxRelayOptions) {
    this.ledger = opts.ledger;
    this.connection = opts.connection;
    this.queue = new QueueRef(EVENTS_QUEUE, opts.connection, opts.prefix ?? DEFAULT_PREFIX, RawJsonQueue);
    this.markerKey = relayMarkerKey(opts.prefix ?? DEFAULT_PREFIX);
    this.batchSize = opts.batchSize ?? 1000;
    this.inFlight = Math.max(1, opts.inFlight ?? 2);
    this.batchesPerPass = Math.max(1, opts.batchesPerPass ?? 10);
    this.consumedBatchSize = opts.consumedBatchSize ?? 2000;
    this.idleMs = opts.idleMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
    this.jobOptions = { ...EVENT_JOB_OPTIONS, ...opts.jobOptions };
    this.log = opts.log ?? silentLogger;
    this.epochFile = opts.epochFile;
    this.epoch = this.readEpochFile();
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.connection.on('ready', this.onReady);
    this.setState('running', null);
    this.loop = this.run();
  }

  /** Finishes the pass in progress (a published batch is always marked), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
    this.loop = null;
    this.connection.off('ready', this.onReady);
    await this.queue.close();
    this.setState('stopped', null);
  }

  /** New events are in the outbox: do not wait for the idle pause. */
  wake(): void {
    this.wakeUp?.();
  }

  status(): RelayStatus {
    return { ...this.current, redisReachable: this.current.redisReachable && this.connection.status === 'ready', epoch: this.epoch };
  }

  /**
   * One pass: data-loss check, consumption, then publishing until the outbox is drained (at most
   * batchesPerPass batches). Throws when Redis is unreachable.
   */
  async runOnce(): Promise<RelayPass> {
    // Right after start the connection may still be connecting: give it a moment instead of failing.
    if (this.connection.status !== 'ready' && !(await waitForRedis(this.connection, 1000))) {
      throw new Error(`Redis is unreachable (connection ${this.connection.status})`);
    }
    const dataLoss = await this.checkMarker();
    const consumed = await this.recordConsumed();
    const published = await this.publish();
    this.current.redisReachable = true;
    return { published, consumed, dataLoss };
  }

  private async run(): Promise<void> {
    let backoff = 0;
    while (!this.stopping) {
      try {
        const pass = await this.runOnce();
        backoff = 0;
        if (this.current.state !== 'running') {
          this.log.info({ published: pass.published, was: this.current.state }, 'outbox relay running again; draining the outbox');
          this.setState('running', null);
        }
        if (pass.published < this.batchSize && pass.consumed < this.consumedBatchSize) await this.sleep(this.idleMs);
      } catch (err) {
        backoff = backoff === 0 ? 250 : Math.min(backoff * 2, this.maxBackoffMs);
        const redisDown = this.connection.status !== 'ready' || isConnectionError(err);
        const state: RelayState = redisDown ? 'waiting-for-redis' : 'error';
        if (state !== this.current.state) {
          this.log.warn({ err: (err as Error).message, state },
            redisDown ? 'outbox relay: Redis unreachable; events wait in the outbox' : 'outbox relay pass failed');
        }
        this.current.redisReachable = !redisDown;
        this.setState(state, (err as Error).message);
        await this.sleep(backoff);
      }
    }
  }

  private async checkMarker(): Promise<boolean> {
    const [epoch, seqText] = await this.connection.hmget(this.markerKey, 'epoch', 'seq');
    const seq = Number(seqText ?? 0);
    if (epoch === null) {
      return this.recover(this.epoch === null ? null : 'the relay marker is gone from Redis (FLUSHALL, or a restart without persistence)');
    }
    if (this.epoch !== null && epoch !== this.epoch) {
      return this.recover(`Redis holds another epoch (${epoch}, expected ${this.epoch}): it lost its data and another relay noticed first`);
    }
    if (this.epoch !== null && seq < this.seq) {
      return this.recover(`Redis went back in time (marker seq ${seq} < ${this.seq}): it lost its latest writes`);
    }
    if (this.epoch === null) this.adopt(epoch, seq);
    return false;
  }

  /** Everything not consumed is published again; then the marker is (re)created (in that order: a crash
   * in between leaves the marker missing, so the next pass recovers again). True when data was lost. */
  private async recover(reason: string | null): Promise<boolean> {
    const republished = await this.ledger.republishUnconsumed();
    await this.connection.hsetnx(this.markerKey, 'epoch', randomUUID());
    const [epoch, seqText] = await this.connection.hmget(this.markerKey, 'epoch', 'seq');
    this.adopt(epoch ?? randomUUID(), Number(seqText ?? 0));
    // Without a known earlier epoch and nothing to republish this is simply a first start.
    if (reason === null && republished === 0) return false;
    this.current.dataLosses++;
    this.current.republished += republished;
    this.log.warn({ reason: reason ?? 'no relay marker in Redis', republished, epoch }, 'outbox relay: Redis lost data; republishing everything not yet consumed');
    return true;
  }

  private adopt(epoch: string, seq: number): void {
    this.seq = seq;
    if (epoch === this.epoch) return;
    this.epoch = epoch;
    this.writeEpochFile(epoch);
  }

  private async recordConsumed(): Promise<number> {
    const queue = this.queue.get();
    const ids = await queue.getRanges(['completed'], 0, this.consumedBatchSize - 1, true);
    if (ids.length === 0) return 0;
    await this.ledger.markConsumed(ids, new Date().toISOString());
    // Only after the ledger knows: a crash in between finds the same completed jobs again.
    await Promise.all(ids.map((id) => queue.remove(id)));
    this.current.consumed += ids.length;
    return ids.length;
  }

  /**
   * Publishes unpublished events in outbox order, up to `inFlight` addBulk calls at a time. A batch is
   * marked published only after its own addBulk answered and every earlier batch was marked; when one
   * fails, the batches after it are left unpublished (they are published again, and BullMQ ignores the
   * job ids it already has) and the error is thrown once nothing is in flight any more.
   *
   * Marks do not wait for the ledger's write lock while a batch of translation commits there (that
   * stalled this thread's whole event loop, publishing included, for as long as the commit took): a
   * range that could not be marked at once is marked with the next one, and whatever is left is marked,
   * waiting, before the pass ends. Within a pass the read cursor (afterSeq) never returns to it.
   */
  private async publish(): Promise<number> {
    const pending: { rows: PublishableEvent[]; added: Promise<unknown> }[] = [];
    let afterSeq = 0;
    let sent = 0;
    let drained = false;
    let published = 0;
    let failed = false;
    try {
      for (;;) {
        while (!drained && !this.stopping && pending.length < this.inFlight && sent < this.batchesPerPass) {
          const rows = await this.ledger.publishable(this.batchSize, afterSeq);
          drained = rows.length < this.batchSize;
          if (rows.length === 0) break;
          afterSeq = rows[rows.length - 1].seq;
          const added = this.queue.get().addBulk(rows.map((row) => ({
            name: row.type, data: row.payload, opts: { ...this.jobOptions, jobId: eventJobId(row.id) },
          })));
          added.catch(() => undefined); // awaited in order below; this one may be skipped after a failure
          pending.push({ rows, added });
          sent++;
        }
        const next = pending.shift();
        if (!next) break;
        await next.added;
        await this.markPublished(next.rows);
        published += next.rows.length;
      }
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      // After a failure: let the batches still in flight settle before the next pass sends them again.
      await Promise.allSettled(pending.map((p) => p.added));
      // What was published is marked before the pass ends (after a failure too: those jobs are in Redis).
      if (this.unmarked) {
        const { first, last } = this.unmarked;
        this.unmarked = null;
        // Left unmarked, those events are simply published again next pass (BullMQ keeps one job per id).
        await this.ledger.markBatchPublished(first, last, new Date().toISOString()).catch((err: unknown) => {
          if (!failed) throw err;
        });
      }
    }
    return published;
  }

  /** Published (in Redis) but not yet marked in the ledger: the write lock was busy (see publish). */
  private unmarked: { first: number; last: number } | null = null;

  private async markPublished(rows: PublishableEvent[]): Promise<void> {
    // After the jobs, so losing the jobs (a rollback to older data) also loses this increment.
    this.seq = Math.max(this.seq, await this.connection.hincrby(this.markerKey, 'seq', 1));
    const at = new Date().toISOString();
    const range = { first: this.unmarked?.first ?? rows[0].seq, last: rows[rows.length - 1].seq };
    this.unmarked = (await this.ledger.markBatchPublished(range.first, range.last, at, { wait: false })) ? null : range;
    this.current.published += rows.length;
    this.current.lastPublishedAt = at;
  }

  private setState(state: RelayState, error: string | null): void {
    if (state !== this.current.state) this.current.since = new Date().toISOString();
    this.current.state = state;
    this.current.lastError = error;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private readEpochFile(): string | null {
    if (!this.epochFile) return null;
    try {
      return readFileSync(this.epochFile, 'utf8').trim() || null;
    } catch {
      return null;
    }
  }

  private writeEpochFile(epoch: string): void {
    if (!this.epochFile) return;
    try {
      mkdirSync(dirname(this.epochFile), { recursive: true });
      writeFileSync(`${this.epochFile}.tmp`, `${epoch}\n`);
      renameSync(`${this.epochFile}.tmp`, this.epochFile);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, file: this.epochFile }, 'outbox relay: cannot remember the Redis epoch');
    }
  }
}

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; name?: string };
  return e?.name === 'MaxRetriesPerRequestError' || /unreachable|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection is closed|Stream isn't writeable|Command timed out|enableOfflineQueue/i.test(`${e?.code ?? ''} ${e?.message ?? ''}`);
}
