// X12 translation on worker threads: one file, several workers, units back in file order.
//
// The file is cut into blocks of bytes dealt round-robin (TranslateOptions.share). Every worker reads the
// whole file, because the envelope (delimiters, partner, group and interchange counts) runs through it,
// but it cuts into elements and translates only the transaction sets that start in its own blocks: the
// others it skims, looking at segment ids only. Each unit comes back numbered with its position in the
// file, and the main thread merges by that number: the unit it needs next is at the head of exactly one
// worker's queue, so merging needs no sorting and no buffering beyond each worker's small window of
// batches. Events come back as JSON text:
// structured-cloning event objects costs the main thread more (~15 us per unit) than translating them
// did, while a string crosses threads as a copy.
//
// Workers also get a larger young generation than the default: translation allocates many short-lived
// objects, and with 64 MB semi-spaces the scavenger's share of the time falls by about a third.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { WaybillError } from '../errors/catalogue.js';
import { startModuleWorker } from '../runtime/module-worker.js';
import type { TranslatedUnit, TranslateOptions } from './translate.js';
import type { TranslateWorkerData } from './translate-worker.js';

/**
 * A translated unit whose events are JSON text (with their ids alongside, for the ledger), and its
 * position among the file's units.
 */
export type SerializedUnit = Omit<TranslatedUnit, 'events' | 'ordinal'> & { events: string[]; eventIds: string[]; ordinal: number };

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
  /** Batches a worker may send ahead of the consumer. Default 8. */
  window?: number;
  /**
   * Bytes per block of the file dealt to the workers in turn. Default 128 KiB: small enough that the
   * workers stay level with each other, large enough that a block holds hundreds of transaction sets.
   */
  blockBytes?: number;
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
      else this.failure = new WaybillError('TRANSLATION_WORKER_FAILED', `translation worker failed: ${m.message}`, { workerStack: m.stack });
      this.notify();
    });
    this.worker.on('error', (err) => {
      this.failure ??= new WaybillError('TRANSLATION_WORKER_FAILED', `translation worker failed: ${err.message}`, { workerStack: err.stack });
      this.notify();
    });
    this.worker.on('exit', (code) => {
      if (!this.done && !this.failure) this.failure = new WaybillError('TRANSLATION_WORKER_FAILED', `translation worker exited with code ${code} before finishing`, { exitCode: code });
      this.notify();
    });
  }

  private notify(): void {
    this.wake?.();
    this.wake = null;
  }

  /** The worker's next unit if it has arrived (without taking it). */
  buffered(): SerializedUnit | undefined {
    return this.batches.length > 0 ? this.batches[0][this.head] : undefined;
  }

  /** The worker's next unit without taking it (waiting for it), or undefined when it has no more. */
  async peek(): Promise<SerializedUnit | undefined> {
    for (;;) {
      if (this.batches.length > 0) return this.batches[0][this.head];
      if (this.failure) throw this.failure;
      if (this.done) return undefined;
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  /** Takes the unit peek() returned. */
  take(): SerializedUnit {
    const batch = this.batches[0];
    const unit = batch[this.head++];
    if (this.head === batch.length) {
      this.batches.shift();
      this.head = 0;
      this.worker.postMessage({ type: 'credit' } satisfies WorkerRequest);
    }
    return unit;
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
  const blockBytes = Math.max(1, options.blockBytes ?? 128 * 1024);
  const feeds = Array.from({ length: n }, (_, index) => new WorkerFeed({
    file, partnersDir, opts: { ...opts, share: { index, of: n, blockBytes } }, batchSize: options.batchSize ?? 256, window: options.window ?? 8,
  }, options.youngGenerationMb ?? 192));
  try {
    let current = 0; // the feed that gave the last unit: the next one is most likely its too (same block)
    for (let ordinal = 0; ; ordinal++) {
      let from = -1;
      let ahead = false;
      // Whoever already holds it; else wait on each worker in turn for its next unit (a worker that is
      // not the owner yields a later unit or ends, so no wait is forever).
      for (let k = 0; k < n && from < 0; k++) if (feeds[(current + k) % n].buffered()?.ordinal === ordinal) from = (current + k) % n;
      for (let k = 0; k < n && from < 0; k++) {
        const f = (current + k) % n;
        const head = await feeds[f].peek();
        if (head?.ordinal === ordinal) from = f;
        else if (head) ahead = true;
      }
      if (from < 0) {
        // Every unit belongs to exactly one worker: if none holds this one, all of them are done.
        if (ahead) throw new WaybillError('TRANSLATION_WORKER_FAILED', `translation workers disagree: no worker produced unit ${ordinal}`, { ordinal });
        return;
      }
      current = from;
      yield feeds[from].take();
    }
  } finally {
    await Promise.all(feeds.map((f) => f.stop()));
  }
}
