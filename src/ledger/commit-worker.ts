// The commit thread's side (CommitThread, commit-thread.ts): its own connection to the ledger, running the
// calls it is sent one at a time, in order. The gateway's own connection runs the WAL checkpoints.
import { parentPort, workerData } from 'node:worker_threads';
import type { CommitReply, CommitRequest, CommitThreadData } from './commit-thread.js';
import { SqliteLedger } from './sqlite.js';

const port = parentPort;
if (!port) throw new Error('commit-worker.ts runs as a worker thread (CommitThread)');
const data = workerData as CommitThreadData;
const ledger = new SqliteLedger(data.path, { checkpointedElsewhere: true });

port.on('message', (m: CommitRequest) => {
  if (m.method === 'stop') {
    void ledger.close().finally(() => port.close());
    return;
  }
  if (m.method === 'stage') {
    ledger.stage(m.args[0]); // kept on this thread's heap until its commitBatch; no answer
    return;
  }
  // better-sqlite3 is synchronous: each call has committed (or failed) when its promise settles, before
  // the next message is read.
  const run = ledger[m.method] as (...args: unknown[]) => Promise<unknown>;
  run.apply(ledger, m.args).then(
    (result) => port.postMessage({ id: m.id, result } satisfies CommitReply),
    (err: unknown) => {
      const e = err as { message?: string; code?: unknown };
      port.postMessage({ id: m.id, error: { message: String(e?.message ?? err), ...(typeof e?.code === 'string' && { code: e.code }) } } satisfies CommitReply);
    },
  );
});
