// X12 translation on worker threads: one file, several workers, units back in file order.
//
// Every worker reads the whole file (reading is the cheap part: the reader runs at 50-100 MB/s) and
// translates every n-th unit; the main thread takes unit k from worker k mod n, so merging needs no
// sorting and no buffering beyond each worker's small window of batches. Events come back as JSON text:
// structured-cloning event objects costs the main thread more (~15 us per unit) than translating them
// did, while a string crosses threads as a copy.
//
// Workers also get a larger young generation than the default: translation allocates many short-lived
// objects, and with 64 MB semi-spaces the scavenger's share of the time falls by about a third.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../runtime/module-worker.js';
import type { TranslatedUnit, TranslateOptions } from './translate.js';
import type { TranslateWorkerData } from './translate-worker.js';

/** A translated unit whose events are JSON text (with their ids alongside, for the ledger). */
export type SerializedUnit = Omit<TranslatedUnit, 'events'> & { events: string[]; eventIds: string[] };

export type WorkerMessage =
  | { type: 'batch'; units: SerializedUnit[] }
  | { type: 'done' }
  | { type: 'error'; message: string; stack?: string };
export type WorkerRequest = { type: 'credit' };

export interface WorkerOptions {
  /** Number of workers; default: the machine's parallelism, at most 4. */
  workers?: number;
  /** Units per message. Default 256. */
  batchSize?: number;
  /** Batches a worker may send ahead of the consumer. Default 4. */
  window?: number;
  /** Young generation per worker, MB. Default 192 (64 MB semi-spaces). */
  youngGenerationMb?: number;
}

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

class WorkerFeed {
  private readonly worker: Worker;
  private readonly batches: SerializedUnit[][] = [];
  private head = 0; // next unit in batches[0]
  private done = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(data: TranslateWorkerData, youngGenerationMb: number) {
    this.worker = startModuleWorker(import.meta.url, 'translate-worker', { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb } });
    this.worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'batch') this.batches.push(m.units);
      else if (m.type === 'done') this.done = true;
      else this.failure = Object.assign(new Error(`translation worker failed: ${m.message}`), { stack: m.stack });
      this.notify();
    });
    this.worker.on('error', (err) => {
      this.failure ??= err;
      this.notify();
    });
    this.worker.on('exit', (code) => {
      if (!this.done && !this.failure) this.failure = new Error(`translation worker exited with code ${code} before finishing`);
      this.notify();
    });
  }

  private notify(): void {
    this.wake?.();
    this.wake = null;
  }

  /** The worker's next unit, or undefined when it has no more. */
  async next(): Promise<SerializedUnit | undefined> {
    for (;;) {
      if (this.batches.length > 0) {
        const batch = this.batches[0];
        const unit = batch[this.head++];
        if (this.head === batch.length) {
          this.batches.shift();
          this.head = 0;
          this.worker.postMessage({ type: 'credit' } satisfies WorkerRequest);
        }
        return unit;
      }
      if (this.failure) throw this.failure;
      if (this.done) return undefined;
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * translateX12 on `workers` threads for a file on disk: the same units in the same order, with events as
 * JSON text. `partnersDir` is loaded by each worker (compiled partners cannot cross threads).
 */
export async function* translateX12InWorkers(
  file: string, partnersDir: string, opts: Omit<TranslateOptions, 'share'>, options: WorkerOptions = {},
): AsyncGenerator<SerializedUnit> {
  const n = Math.max(1, options.workers ?? defaultWorkerCount());
  const feeds = Array.from({ length: n }, (_, index) => new WorkerFeed({
    file, partnersDir, opts: { ...opts, share: { index, of: n } }, batchSize: options.batchSize ?? 256, window: options.window ?? 4,
  }, options.youngGenerationMb ?? 192));
  try {
    for (let ordinal = 0; ; ordinal++) {
      const unit = await feeds[ordinal % n].next();
      // Units are dealt round-robin, so the first worker to run dry marks the end of the file.
      if (unit === undefined) return;
      yield unit;
    }
  } finally {
    await Promise.all(feeds.map((f) => f.stop()));
  }
}
