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
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
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
  /** Told about a failed checkpoint (the writer's auto-checkpoint still bounds the WAL). */
  onError?: (message: string) => void;
}

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(dbPath: string, opts: CheckpointerOptions = {}) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path: dbPath, intervalMs: opts.intervalMs ?? 200 } });
    this.worker.unref(); // never what keeps a process alive
    this.worker.on('message', (m: { error?: string }) => { if (m.error) opts.onError?.(m.error); });
    this.worker.on('error', (err) => opts.onError?.(err.message));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Runs a last checkpoint and ends the thread. */
  async stop(): Promise<void> {
    this.worker.ref(); // waited for now: an unref'd worker would let an otherwise idle process exit first
    this.worker.postMessage('stop');
    await this.exited;
  }
}
