// The gateway's outbox relay on a worker thread. Publishing costs this process about as much CPU as the
// events' translation and ledger commits together (reading the outbox, BullMQ's per-job work, ioredis
// writing the commands: bench/gateway.mjs); on one thread the two take turns, on two threads the relay
// publishes one batch while the next ones are translated and committed. The relay itself is unchanged
// (OutboxRelay, relay.ts): the thread opens its own ledger connection and Redis connection, so the
// ledger stays the only link between translation and publishing, and every guarantee (exactly one job
// per event id, markPublished after addBulk, data-loss detection and republishing) is the same.
//
// Seen from the gateway it is what an OutboxRelay is to it: start, stop, wake, status (the latest
// status the thread reported, so /readyz answers without a round trip).

import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../runtime/module-worker.js';
import type { LedgerLocation } from '../ledger/ledger.js';
import { silentLogger, type Logger } from '../pipeline/context.js';
import type { OutboxRelayOptions, RelayStatus } from './relay.js';

/** What the gateway needs of a relay, in its thread or in another. */
export interface RelayControl {
  start(): void;
  stop(): Promise<void>;
  wake(): void;
  status(): RelayStatus;
}

export interface RelayThreadData {
  /** The gateway's ledger (Ledger.location): the thread opens its own connection to it. */
  ledger: LedgerLocation;
  redisUrl: string;
  options: Omit<OutboxRelayOptions, 'ledger' | 'connection' | 'log'>;
}

export type RelayThreadCommand = { type: 'wake' } | { type: 'stop' };

export type RelayThreadMessage =
  | { type: 'status'; status: RelayStatus }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg?: string }
  | { type: 'stopped' };

/** A thread that ended unexpectedly (a bug) is started again after this long. */
const RESTART_DELAY_MS = 1000;

/** The worker's entry: relay-worker.js next to this module (relay-worker.ts under the sources). */
function createWorker(data: RelayThreadData): Worker {
  return startModuleWorker(import.meta.url, 'relay-worker', { workerData: data });
}

export class RelayThread implements RelayControl {
  private worker: Worker | null = null;
  private stopping: Promise<void> | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private current: RelayStatus = {
    state: 'stopped', redisReachable: false, since: null, lastError: null, epoch: null,
    published: 0, consumed: 0, republished: 0, dataLosses: 0, lastPublishedAt: null,
  };

  constructor(private readonly data: RelayThreadData, private readonly log: Logger = silentLogger) {}

  start(): void {
    if (this.worker || this.stopping) return;
    const worker = createWorker(this.data);
    this.worker = worker;
    worker.on('message', (m: RelayThreadMessage) => {
      if (m.type === 'status') this.current = m.status;
      else if (m.type === 'log') this.log[m.level](m.obj, m.msg);
    });
    worker.on('error', (err) => this.log.error({ err: err.message }, 'outbox relay thread failed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      if (this.stopping) return;
      // Not asked to stop: a bug ended the thread. Events wait in the outbox; start it again.
      this.current = { ...this.current, state: 'error', redisReachable: false, lastError: `relay thread exited (code ${code})` };
      this.log.error({ code }, 'outbox relay thread exited; starting it again');
      this.restartTimer = setTimeout(() => { this.restartTimer = null; this.start(); }, RESTART_DELAY_MS);
    });
  }

  /** Lets the thread finish its pass (a published batch is always marked), then ends it. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.restartTimer) clearTimeout(this.restartTimer);
      const worker = this.worker;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'stop' } satisfies RelayThreadCommand);
      await exited;
      this.worker = null;
      this.current = { ...this.current, state: 'stopped' };
    })();
    return this.stopping;
  }

  wake(): void {
    this.worker?.postMessage({ type: 'wake' } satisfies RelayThreadCommand);
  }

  status(): RelayStatus {
    return { ...this.current };
  }
}
