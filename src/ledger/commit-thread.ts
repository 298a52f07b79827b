// The translation writes of a SQLite ledger on a thread of their own. A batch commit (units, outbox
// events, business facts, the file's checkpoint) costs the gateway's thread about 40 us per unit, and while
// the relay's thread holds the write lock the committing thread sleeps in SQLite's busy handler: both were
// time taken from translation, which runs on that same thread (bench/gateway.mjs). Here a second connection
// on a worker thread runs them, one at a time, in the order they were asked for; the caller keeps
// translating while its previous batch commits.
//
// Only the writes a file's translation makes go through the thread (commitBatch, finishFile, and the rows
// staged ahead of a commitBatch), so they stay in order with one another. (Interchange headers ride with
// the batches: a call of their own waited behind the commits in flight, once per interchange.) Nothing
// changes for durability: each call is still one SQLite transaction, and its promise resolves only after
// the commit; staged rows are committed by the commitBatch they belong to, never before.
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../runtime/module-worker.js';
import { LedgerFault, type BatchPart } from './ledger.js';

/** The ledger methods that run on the commit thread. */
export type ThreadedMethod = 'commitBatch' | 'finishFile';

export type CommitRequest =
  | { id: number; method: ThreadedMethod; args: unknown[] }
  | { id: number; method: 'stage'; args: [BatchPart] }
  | { id: number; method: 'stop' };
export type CommitReply = { id: number; result: unknown } | { id: number; error: { message: string; code?: string } };

export interface CommitThreadData {
  path: string;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class CommitThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly path: string) {}

  /** Starts the thread now, so that the first file does not wait for it (module loading, opening the ledger). */
  warm(): void {
    if (!this.worker) this.start();
  }

  /** Runs `method` on the thread's connection; started (or restarted, after a crash) on first use. */
  call<T>(method: ThreadedMethod, args: unknown[]): Promise<T> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args } satisfies CommitRequest);
    });
  }

  /**
   * Hands rows of a coming commitBatch to the thread (Ledger.stage); no answer. A thread that dies
   * before that commitBatch takes its staged parts with it, and the batch then fails as incomplete.
   */
  stage(part: BatchPart): void {
    (this.worker ?? this.start()).postMessage({ id: 0, method: 'stage', args: [part] } satisfies CommitRequest);
  }

  private start(): Worker {
    const worker = startModuleWorker(import.meta.url, 'commit-worker', { workerData: { path: this.path } satisfies CommitThreadData });
    worker.unref(); // pending calls are what the caller waits for; the thread itself keeps nothing alive
    worker.on('message', (m: CommitReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      // The error as thrown on the thread: its message, and its code (a LedgerFault's, or SQLite's such as SQLITE_BUSY).
      if ('error' in m) p.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
      else p.resolve(m.result);
    });
    // A call that was running may or may not have committed, and the rows staged on the thread are gone;
    // the caller translates the file again from its checkpoint (every write is idempotent). The code is
    // what tells it so (the dispatcher retries on it): a plain Error failed the file for good.
    const fail = (what: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const err = new LedgerFault('LEDGER_COMMIT_THREAD_FAILED', `ledger commit thread ${what}; the next call starts a new one`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(`failed: ${err.message}`));
    worker.on('exit', (code) => fail(`exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  /** Waits for the calls already asked for, then ends the thread. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ id: 0, method: 'stop' } satisfies CommitRequest);
    await exited;
  }
}
