// Getting stored files translated. Normally a file becomes a BullMQ job on `waybill-inbound` and an
// inbound worker (here or in another gateway process) runs processFile for it. When Redis is
// unreachable the gateway must keep translating, so the dispatcher falls back to a small serial runner in
// this process; the outbox keeps the events until the relay can publish them. Both paths, and the
// recovery sweep, are safe to overlap: processFile is idempotent and resumable, a file id is at most one
// BullMQ job, and a per-file lock keeps this process from translating one file twice at the same time.

import { UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { isKnownCode, type ErrorCode } from '../errors/catalogue.js';
import type { Dispatcher, PipelineContext } from '../pipeline/context.js';
import { processFile, type ProcessResult } from '../pipeline/process-file.js';
import { DEFAULT_PREFIX, INBOUND_QUEUE, QueueRef, fileJobId, waitForRedis, withTimeout } from './queues.js';

export interface InboundJobData {
  fileId: string;
}

/**
 * Inbound job options. Attempts cover faults that heal within minutes (a locked database, a full disk
 * being cleaned); what outlasts them is picked up again by the recovery sweep. Completed jobs are kept an
 * hour so a late duplicate dispatch is a no-op; failed ones a week, for inspection.
 */
export const INBOUND_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 86_400 },
};

/**
 * The ledger's commit thread died under a translation (LEDGER_COMMIT_THREAD_FAILED), taking the rows
 * staged for a batch with it (LEDGER_BATCH_INCOMPLETE), or a batch came after one that did not commit
 * (LEDGER_BATCH_GAP). Nothing past the file's checkpoint was committed and the ledger starts a new thread
 * on its next call, so the file can go on from its checkpoint at once.
 */
const COMMIT_THREAD_CODES = new Set(['LEDGER_COMMIT_THREAD_FAILED', 'LEDGER_BATCH_INCOMPLETE', 'LEDGER_BATCH_GAP']);
/**
 * How many times translate() runs a file again at once after a commit-thread fault. A thread that keeps
 * dying is then left to the ordinary transient path (BullMQ's attempts, the recovery sweep's limit).
 */
const COMMIT_THREAD_RETRIES = 3;

/**
 * Faults that can heal by themselves: busy or locked database, full or failing disk, too many open files,
 * a restarted ledger commit thread.
 */
const TRANSIENT_CODES = new Set([
  'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_PROTOCOL', 'SQLITE_CANTOPEN',
  'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ENOSPC', 'EDQUOT', 'EIO', 'ENOMEM', 'ETIMEDOUT',
  ...COMMIT_THREAD_CODES,
]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * What a log line says of a fault: its own code when it is one of the catalogue's, else the catalogue's
 * name for its kind, with the system's code (SQLITE_FULL, ENOSPC) as the cause. Log readers and alerts
 * match catalogue codes; the raw ones were not in it.
 */
function loggedCode(err: unknown): { code: ErrorCode; cause?: string } {
  const code = codeOf(err);
  if (code !== undefined && isKnownCode(code)) return { code };
  return { code: isTransientFault(err) ? 'PIPELINE_TRANSIENT_FAULT' : 'PIPELINE_TRANSLATION_FAULT', cause: code };
}

export function isTransientFault(err: unknown): boolean {
  const code = codeOf(err);
  if (code === undefined) return false;
  // better-sqlite3 reports extended codes such as SQLITE_BUSY_SNAPSHOT or SQLITE_IOERR_WRITE.
  return TRANSIENT_CODES.has(code) || TRANSIENT_CODES.has(code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1'));
}

/**
 * Records that a file cannot be translated (a fault retrying will not fix: its stored bytes are gone, a
 * bug throws on its content, ...) so that neither BullMQ nor the recovery sweep tries it again.
 */
export async function markUntranslatable(ctx: PipelineContext, fileId: string, code: string, message: string): Promise<void> {
  const file = await ctx.ledger.getFile(fileId);
  if (!file || file.state === 'translated' || file.state === 'failed' || file.state === 'duplicate') return;
  await ctx.ledger.setFileState(fileId, 'failed', { errors: [...file.errors, { code, message }] });
  await ctx.ledger.audit({ action: 'file.failed', fileId, details: { code, message } });
  ctx.log.error({ fileId, code, err: message }, 'file cannot be translated; marked failed');
}

/**
 * processFile with the retry policy: a commit-thread fault runs the file again at once (a few times),
 * other transient faults are rethrown (retry later), the rest end the file.
 */
/**
 * Attempts known to have ended in a transient fault whose taking back (Ledger.uncountAttempt) failed too
 * (the disk still full), per ledger and file. This process saw them end, so they are no crash: the
 * recovery sweep does not count them, and they are taken back before the file's next attempt.
 */
const ENDED_UNCOUNTED = new WeakMap<object, Map<string, number>>();

function endedUncounted(ctx: PipelineContext, fileId: string): number {
  return ENDED_UNCOUNTED.get(ctx.ledger)?.get(fileId) ?? 0;
}

function noteEndedUncounted(ctx: PipelineContext, fileId: string, delta: number): void {
  let m = ENDED_UNCOUNTED.get(ctx.ledger);
  if (!m) ENDED_UNCOUNTED.set(ctx.ledger, (m = new Map()));
  const n = (m.get(fileId) ?? 0) + delta;
  if (n > 0) m.set(fileId, n);
  else m.delete(fileId);
}

/** Takes back the attempts of this file noted in ENDED_UNCOUNTED, as far as the ledger lets it now. */
async function takeBackEnded(ctx: PipelineContext, fileId: string): Promise<void> {
  while (endedUncounted(ctx, fileId) > 0) {
    try {
      await ctx.ledger.uncountAttempt(fileId);
    } catch {
      return;
    }
    noteEndedUncounted(ctx, fileId, -1);
  }
}

async function translate(ctx: PipelineContext, fileId: string): Promise<ProcessResult> {
  await takeBackEnded(ctx, fileId);
  for (let retry = 1; ; retry++) {
    // The attempts counted before this run: see the transient case below.
    const before = (await ctx.ledger.getFile(fileId))?.attempts;
    try {
      return await processFile(ctx, fileId);
    } catch (err) {
      const code = codeOf(err);
      const message = (err as Error)?.message ?? String(err);
      if (code !== undefined && COMMIT_THREAD_CODES.has(code) && retry <= COMMIT_THREAD_RETRIES) {
        // processFile resumes from the checkpoint: committed units are skipped, rows committed again are
        // ignored (deterministic ids), and the acknowledgments come with the file's final commit only.
        // Not waiting for BullMQ's backoff, nor (without Redis) for the next recovery sweep, a minute away.
        ctx.log.warn({ fileId, code, retry, err: message }, 'the ledger commit thread restarted under the file; translating it again from its checkpoint');
        await ctx.ledger.audit({ action: 'file.retried', fileId, details: { code, message, retry } });
        continue;
      }
      if (isTransientFault(err)) {
        // This attempt ended, in a fault that heals by itself (a full disk, a busy database): it is not the
        // crash the recovery sweep's attempt limit (PIPELINE_TOO_MANY_ATTEMPTS) is there to catch. Counted,
        // a disk full for the length of the retries failed files for good that translate once space is
        // back. Taken back only if this run counted it (the fault may have come before the count); with the
        // disk still full that write may fail too: the attempt is then noted in this process, not counted
        // by the sweep, and taken back before the next one. A commit thread that keeps dying under the
        // file is a crash (of a thread: out of memory, say), and stays counted.
        const after = (await ctx.ledger.getFile(fileId).catch(() => null))?.attempts;
        if (before !== undefined && after !== undefined && after > before && !(code !== undefined && COMMIT_THREAD_CODES.has(code))) {
          await ctx.ledger.uncountAttempt(fileId).catch(() => noteEndedUncounted(ctx, fileId, 1));
        }
        throw err;
      }
      const e = err as NodeJS.ErrnoException;
      const failure = e.code === 'ENOENT' ? 'PIPELINE_STORED_FILE_MISSING' : 'PIPELINE_TRANSLATION_FAULT';
      await markUntranslatable(ctx, fileId, failure, message);
      throw new UnrecoverableError(message);
    }
  }
}

/** At most one translation of a given file at a time in this process; later callers wait their turn. */
export class FileLocks {
  private readonly tails = new Map<string, Promise<void>>();

  has(fileId: string): boolean {
    return this.tails.has(fileId);
  }

  async run<T>(fileId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(fileId) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail = result.then(() => undefined, () => undefined);
    this.tails.set(fileId, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(fileId) === tail) this.tails.delete(fileId);
    }
  }
}

/** The fallback: files translated one at a time, in arrival order, in this process. */
class LocalRunner {
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private running: Promise<void> | null = null;

  constructor(private readonly ctx: PipelineContext, private readonly locks: FileLocks) {}

  has(fileId: string): boolean {
    return this.queued.has(fileId);
  }

  get size(): number {
    return this.queued.size;
  }

  enqueue(fileId: string): void {
    if (this.queued.has(fileId)) return;
    this.queued.add(fileId);
    this.pending.push(fileId);
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    for (let fileId = this.pending.shift(); fileId !== undefined; fileId = this.pending.shift()) {
      const id = fileId;
      try {
        await this.locks.run(id, () => translate(this.ctx, id));
      } catch (err) {
        // Transient: the file stays received/translating and the recovery sweep retries it.
        if (!(err instanceof UnrecoverableError)) {
          this.ctx.log.warn({ fileId: id, ...loggedCode(err), err: (err as Error).message }, 'in-process translation failed; the recovery sweep will retry');
        }
      } finally {
        this.queued.delete(id);
      }
    }
  }
}

export interface QueueDispatcherOptions {
  /** BullMQ key prefix (tests and shared Redis deployments use their own). */
  prefix?: string;
  /** How long adding the job may take before the file is translated in-process instead. Default 1000 ms. */
  addTimeoutMs?: number;
}

export type DispatchOutcome = 'queued' | 'local' | 'busy';

export class QueueDispatcher implements Dispatcher {
  /** Files being translated in this process; pass it to startInboundWorker so worker and local runner never overlap. */
  readonly locks = new FileLocks();
  private readonly local: LocalRunner;
  private readonly queue: QueueRef;
  private readonly addTimeoutMs: number;
  private readonly startup: Promise<boolean>;
  private fallingBack = false;

  constructor(private readonly ctx: PipelineContext, private readonly connection: Redis, opts: QueueDispatcherOptions = {}) {
    this.local = new LocalRunner(ctx, this.locks);
    this.queue = new QueueRef(INBOUND_QUEUE, connection, opts.prefix ?? DEFAULT_PREFIX);
    this.addTimeoutMs = opts.addTimeoutMs ?? 1000;
    this.startup = waitForRedis(connection, this.addTimeoutMs);
  }

  async dispatch(fileId: string, options: { again?: boolean } = {}): Promise<void> {
    // Again (a re-opened file): its earlier job, completed or failed, is run again as the sweep does.
    await this.send(fileId, options.again === true);
  }

  /**
   * For the recovery sweep: like dispatch, but a job left failed (its attempts ran out on a fault that
   * may have healed since) or completed (while the ledger says the file is not done) is run again.
   */
  async redispatch(fileId: string): Promise<DispatchOutcome> {
    if (this.isBusy(fileId)) return 'busy';
    return this.send(fileId, true);
  }

  /** Queued for or running in this process's local runner, or held by this process's inbound worker. */
  isBusy(fileId: string): boolean {
    return this.local.has(fileId) || this.locks.has(fileId);
  }

  /** Files waiting for or in the local runner. */
  get localBacklog(): number {
    return this.local.size;
  }

  /** Resolves when the local runner has nothing left (tests; graceful shutdown). */
  idle(): Promise<void> {
    return this.local.idle();
  }

  /** For shutdown, after intake has stopped: lets the local runner finish, then lets go of the queue. */
  async close(): Promise<void> {
    await this.local.idle();
    await this.queue.close();
  }

  private async send(fileId: string, revive: boolean): Promise<DispatchOutcome> {
    const jobId = fileJobId(fileId);
    // At start-up the connection may still be connecting: give it one moment (once, not per file).
    // Afterwards a connection that is not ready means Redis is down: translate here at once rather
    // than fail, wait and log per file.
    await this.startup;
    if (this.connection.status === 'ready') {
      try {
        await withTimeout(this.enqueueJob(jobId, fileId, revive), this.addTimeoutMs,
          `adding the inbound job timed out after ${this.addTimeoutMs} ms`);
        this.fallingBack = false;
        return 'queued';
      } catch (err) {
        // If the add still lands later, the worker finds the file translated (or waits on the lock).
        this.ctx.log.warn({ fileId, err: (err as Error).message }, 'cannot queue the file; translating it in-process');
      }
    }
    if (!this.fallingBack) {
      this.fallingBack = true; // once per outage, not per file
      this.ctx.log.warn({ fileId, redis: this.connection.status }, 'Redis unreachable: translating files in-process until it is back');
    }
    this.local.enqueue(fileId);
    return 'local';
  }

  private async enqueueJob(jobId: string, fileId: string, revive: boolean): Promise<void> {
    const queue = this.queue.get();
    if (revive) {
      const job = await queue.getJob(jobId);
      if (job) {
        const state = await job.getState();
        if (state === 'failed') {
          await job.retry('failed');
          return;
        }
        if (state !== 'completed') return; // waiting, delayed, active: already on its way
        await job.remove();
      }
    }
    // Same id again while the job exists: BullMQ keeps the first job and adds nothing.
    await queue.add('translate', { fileId } satisfies InboundJobData, { ...INBOUND_JOB_OPTIONS, jobId });
  }
}

export interface InboundWorkerOptions {
  concurrency?: number;
  prefix?: string;
  /** The dispatcher's locks, so a file is never translated by the worker and the local runner at once. */
  locks?: FileLocks;
}

/**
 * The BullMQ worker for `waybill-inbound`. `connection` must allow blocking commands
 * (createConnection(url, { role: 'worker' })); BullMQ duplicates it and owns the copies.
 * Transient faults are rethrown so BullMQ retries with the job's backoff; any other fault marks the
 * file failed and ends the job without retries (UnrecoverableError).
 * Stop it with closeWorker(worker, { connection }) (queues.ts): plain worker.close() can wait for Redis
 * to come back when it is down.
 */
export function startInboundWorker(ctx: PipelineContext, connection: Redis, opts: InboundWorkerOptions = {}): Worker<InboundJobData, ProcessResult> {
  const locks = opts.locks ?? new FileLocks();
  const worker = new Worker<InboundJobData, ProcessResult>(
    INBOUND_QUEUE,
    async (job: Job<InboundJobData>) => locks.run(job.data.fileId, () => translate(ctx, job.data.fileId)),
    {
      connection, prefix: opts.prefix ?? DEFAULT_PREFIX, concurrency: opts.concurrency ?? 2,
      // A gateway killed mid-file leaves its job active; BullMQ's defaults (30 s lock, 30 s stalled check,
      // one stall allowed) kept a restarted gateway waiting 60-90 s before resuming it. The lock is renewed
      // every lockDuration/2 while translation runs, so shorter values cost a little Redis traffic only;
      // stalls are allowed several times because a stall here means a crash, not a poison file
      // (processFile resumes from its checkpoint, and the recovery sweep gives up on endless restarts).
      lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 5,
    },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    ctx.log.warn({ fileId: job.data.fileId, attempt: job.attemptsMade, final, ...loggedCode(err), err: err.message },
      final ? 'inbound job failed for good' : 'inbound job failed; BullMQ will retry');
  });
  // Connection trouble is reported here while BullMQ reconnects (without a listener it would throw);
  // the same message at most once a minute, not once per reconnect attempt.
  let last = { message: '', at: 0 };
  worker.on('error', (err) => {
    const now = Date.now();
    if (err.message === last.message && now - last.at < 60_000) return;
    last = { message: err.message, at: now };
    ctx.log.warn({ err: err.message }, 'inbound worker error');
  });
  return worker;
}

export interface RecoverableDispatcher extends Dispatcher {
  redispatch?(fileId: string): Promise<DispatchOutcome>;
  isBusy?(fileId: string): boolean;
}

export interface SweepOptions {
  /** Files looked at per sweep. Default 500. */
  limit?: number;
  /**
   * A file whose translation was started this many times is marked failed instead of being dispatched
   * again: it probably crashes the process (out of memory, ...) and would otherwise loop forever.
   * Default 25.
   */
  maxAttempts?: number;
}

export interface SweepResult {
  found: number;
  dispatched: number;
  busy: number;
  gaveUp: number;
}

/**
 * Re-dispatches files left `received` (the dispatch was lost: crash, Redis emptied) or `translating`
 * (a crash mid-translation; processFile resumes from its checkpoint). Run it at start and periodically
 * (startRecoverySweeps).
 */
export async function recoverySweep(ctx: PipelineContext, dispatcher: RecoverableDispatcher, opts: SweepOptions = {}): Promise<SweepResult> {
  const maxAttempts = opts.maxAttempts ?? 25;
  const files = await ctx.ledger.listFiles({ state: ['received', 'translating'], limit: opts.limit ?? 500 });
  const result: SweepResult = { found: files.length, dispatched: 0, busy: 0, gaveUp: 0 };
  for (const file of files) {
    if (dispatcher.isBusy?.(file.id)) {
      result.busy++;
      continue;
    }
    // Attempts this process saw end in a transient fault, not yet taken back in the ledger, are no crash.
    if (file.attempts - endedUncounted(ctx, file.id) >= maxAttempts) {
      await markUntranslatable(ctx, file.id, 'PIPELINE_TOO_MANY_ATTEMPTS',
        `translation was started ${file.attempts} times without finishing; giving up`);
      result.gaveUp++;
      continue;
    }
    const outcome = dispatcher.redispatch ? await dispatcher.redispatch(file.id) : (await dispatcher.dispatch(file.id), 'queued');
    if (outcome === 'busy') result.busy++;
    else result.dispatched++;
  }
  if (result.dispatched || result.gaveUp) ctx.log.info({ ...result }, 'recovery sweep');
  return result;
}

/** Runs recoverySweep now and then every `intervalMs` (default 60 s) until stopped. */
export function startRecoverySweeps(ctx: PipelineContext, dispatcher: RecoverableDispatcher,
  opts: SweepOptions & { intervalMs?: number } = {}): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = recoverySweep(ctx, dispatcher, opts)
      .catch((err) => ctx.log.warn({ err: (err as Error).message }, 'recovery sweep failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, opts.intervalMs ?? 60_000).unref();
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
