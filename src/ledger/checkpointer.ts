// WAL checkpoints on a worker thread. A checkpoint copies the WAL into the database file and fsyncs it;
// run by SQLite's auto-checkpoint it happens inside whichever commit crosses the threshold, on the
// thread that commits, which for the gateway is the one translating files and running the relay
// (bench/gateway.mjs: about 1.5 s of a 100,000-event file spent waiting for those fsyncs). Here a second
// connection runs PASSIVE checkpoints (they never block the writer or readers) every `intervalMs`, and
// the ledger's own connection keeps a much larger auto-checkpoint threshold as a safety net, should this
// thread stop or fall behind.
//
// The worker is plain CommonJS evaluated from a string and loads better-sqlite3 by its resolved path,
// so it runs the same from dist/ and from the TypeScript sources under tests.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
let failing = false;
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    if (failing) parentPort.postMessage({ ok: true });
    failing = false;
  } catch (err) {
    failing = true;
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (msg) => {
  if (msg !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

export interface CheckpointerOptions {
  /** Time between checkpoints. Default 200 ms. */
  intervalMs?: number;
  /**
   * Told about failed checkpoints (the writer's auto-checkpoint still bounds the WAL): the first of a run
   * of failures, a failure with another message, and then at most once per `repeatMs` while they go on,
   * with the number of failures since the last time it was told.
   */
  onError?: (message: string, info: { failures: number }) => void;
  /** Told when a checkpoint works again after failures (with how many there were in that run). */
  onRecovered?: (info: { failures: number }) => void;
  /** Least time between two reports of the same failure. Default 60 s. */
  repeatMs?: number;
}

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private failureCount = 0;
  /** The run of failures under way: its message, when it was last reported, failures since then, in all. */
  private run: { message: string; reportedAt: number; unreported: number; total: number } | null = null;

  constructor(dbPath: string, private readonly opts: CheckpointerOptions = {}) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path: dbPath, intervalMs: opts.intervalMs ?? 200 } });
    this.worker.unref(); // never what keeps a process alive
    this.worker.on('message', (m: { error?: string; ok?: boolean }) => {
      if (m.error) this.failed(m.error);
      else if (m.ok) this.recovered();
    });
    this.worker.on('error', (err) => this.failed(err.message));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Checkpoints that failed since this checkpointer started. */
  get failures(): number {
    return this.failureCount;
  }

  /**
   * A checkpoint keeps failing as long as its cause lasts (a full disk: every pass, five times a second),
   * and each failure was told, so the gateway logged a warning five times a second for as long as the
   * disk stayed full, burying every other line. Now a run of failures is told once, again when the
   * message changes or every `repeatMs` (with the count), and its end is told too.
   */
  private failed(message: string): void {
    this.failureCount++;
    const now = Date.now();
    const run = this.run;
    if (run && run.message === message && now - run.reportedAt < (this.opts.repeatMs ?? 60_000)) {
      run.unreported++;
      run.total++;
      return;
    }
    const failures = (run && run.message === message ? run.unreported : 0) + 1;
    this.run = { message, reportedAt: now, unreported: 0, total: (run?.total ?? 0) + 1 };
    this.opts.onError?.(message, { failures });
  }

  private recovered(): void {
    const run = this.run;
    this.run = null;
    if (run) this.opts.onRecovered?.({ failures: run.total });
  }

  /** Runs a last checkpoint and ends the thread. */
  async stop(): Promise<void> {
    this.worker.ref(); // waited for now: an unref'd worker would let an otherwise idle process exit first
    this.worker.postMessage('stop');
    await this.exited;
  }
}
