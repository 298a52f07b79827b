// Worker side of translateX12InWorkers (parallel.ts): reads the whole file, translates its share of the
// units (those starting in its blocks, see TranslateOptions.share) and posts them in batches, events already as JSON
// text (cheap to pass between threads, and what the ledger and the CLI want anyway). It posts at most
// `window` batches ahead of what the main thread has taken, so memory stays flat whatever the file size.
import { parentPort, workerData } from 'node:worker_threads';
import { PartnerRegistry } from './registry.js';
import { translateX12Batches, type TranslateOptions } from './translate.js';
import type { SerializedUnit, WorkerMessage, WorkerRequest } from './parallel.js';

export interface TranslateWorkerData {
  file: string;
  partnersDir: string;
  opts: TranslateOptions;
  batchSize: number;
  window: number;
}

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as TranslateWorkerData;
  let credits = data.window;
  let wake: (() => void) | null = null;
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'credit') {
      credits++;
      wake?.();
      wake = null;
    }
  });
  const send = async (units: SerializedUnit[]) => {
    while (credits === 0) await new Promise<void>((resolve) => { wake = resolve; });
    credits--;
    port.postMessage({ type: 'batch', units } satisfies WorkerMessage);
  };

  const { registry } = PartnerRegistry.load(data.partnersDir);
  let batch: SerializedUnit[] = [];
  for await (const units of translateX12Batches(data.file, registry, data.opts)) {
    for (const u of units) {
      const events: string[] = [];
      const eventIds: string[] = [];
      for (const e of u.events) {
        events.push(JSON.stringify(e));
        eventIds.push(e.id);
      }
      batch.push({ ...u, events, eventIds, ordinal: u.ordinal! });
      if (batch.length >= data.batchSize) {
        await send(batch);
        batch = [];
      }
    }
  }
  if (batch.length > 0) await send(batch);
  port.postMessage({ type: 'done' } satisfies WorkerMessage);
  port.close();
}

main().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  parentPort!.postMessage({ type: 'error', message: e.message, stack: e.stack } satisfies WorkerMessage);
});
