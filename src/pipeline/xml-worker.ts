// XML translation off the gateway's main thread. An XML document is parsed whole, by fast-xml-parser, in
// one synchronous call, then mapped: a 19.9 MB invoice took 3-4 s of CPU (after the reader's own fixes;
// 4-6 s before, 17.7 s on a slower host), and on the main thread that was seconds without HTTP answers
// (/healthz), partner reloads, SFTP sessions or BullMQ lock renewals (a job's lock is 10 s: a longer
// translation looked like a stalled job). So process-file.ts hands XML files of XML_WORKER_MIN_BYTES or
// more to a worker thread, one file per thread, and takes back the unit with its events as ledger rows.
//
// The thread compiles the partner from its folder (compiled partners cannot cross threads) and translates
// only when it got the partner the gateway has: same files as when the gateway compiled it
// (CompiledPartner.stamp). Otherwise (files edited and not reloaded yet, or broken and the gateway kept
// the previous version) the file is translated on the main thread as before: the answer is the same as
// without the worker, only not off the main thread.
//
// A worker that fails (a thrown error, a crash, a thread out of memory, an exit before answering) gives a
// TRANSLATION_WORKER_FAILED failure, which process-file.ts records as the file's failed unit and error.
// At most MAX_XML_WORKERS run at a time (each holds a document, its tree and its events: about 0.6 GB for
// a 20 MiB document); later files wait their turn without blocking anything.
import type { ResourceLimits } from 'node:worker_threads';
import { WaybillError } from '../errors/catalogue.js';
import type { CompiledPartner } from '../mappings/registry.js';
import type { TranslateOptions } from '../mappings/translate.js';
import { startModuleWorker } from '../runtime/module-worker.js';
import type { PreparedUnit } from './unit-rows.js';
import type { XmlWorkerData, XmlWorkerMessage } from './xml-worker-thread.js';

/**
 * XML files of at least this many bytes are translated on a worker thread. Below it, translation on the
 * main thread takes a fraction of a second (about 0.2 s per MiB on a slow host), less than starting the
 * thread and compiling the partner there.
 */
export const XML_WORKER_MIN_BYTES = 1024 * 1024;

/** XML worker threads running at once, at most. */
export const MAX_XML_WORKERS = 1;

export interface XmlWorkerOptions {
  /** The thread's heap limits (default: a 96 MB young generation, the main thread's; old generation as V8 sizes it). */
  resourceLimits?: ResourceLimits;
}

export type XmlWorkerOutcome =
  | { kind: 'unit'; unit: PreparedUnit }
  /** The thread's compile of the partner is not the gateway's partner: translate on this thread instead. */
  | { kind: 'partner-differs'; reason: string }
  | { kind: 'failed'; error: WaybillError };

let running = 0;
const waiting: (() => void)[] = [];

/** translateXmlFile on a worker thread, its events as ledger rows. Never rejects: a failure is an outcome. */
export async function translateXmlFileInWorker(
  path: string, partner: CompiledPartner, opts: TranslateOptions, options: XmlWorkerOptions = {},
): Promise<XmlWorkerOutcome> {
  while (running >= MAX_XML_WORKERS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await runWorker({ path, partnerDir: partner.dir, partnerId: partner.id, stamp: partner.stamp, opts }, options);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function failed(message: string, details: Record<string, unknown> = {}): XmlWorkerOutcome {
  return { kind: 'failed', error: new WaybillError('TRANSLATION_WORKER_FAILED', `XML translation worker failed: ${message}`, details) };
}

function runWorker(data: XmlWorkerData, options: XmlWorkerOptions): Promise<XmlWorkerOutcome> {
  return new Promise((resolve) => {
    let worker;
    try {
      worker = startModuleWorker(import.meta.url, 'xml-worker-thread', {
        workerData: data, resourceLimits: { maxYoungGenerationSizeMb: 96, ...options.resourceLimits },
      });
    } catch (err) {
      resolve(failed(`the thread could not start: ${(err as Error).message}`));
      return;
    }
    let settled = false;
    const settle = (outcome: XmlWorkerOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
      void worker.terminate();
    };
    worker.on('message', (m: XmlWorkerMessage) => {
      if (m.type === 'unit') settle({ kind: 'unit', unit: m.unit });
      else if (m.type === 'partner-differs') settle({ kind: 'partner-differs', reason: m.reason });
      else settle(failed(m.message, { workerStack: m.stack }));
    });
    worker.on('error', (err: Error & { code?: string }) => settle(failed(err.message, { workerStack: err.stack, errorCode: err.code })));
    worker.on('exit', (code) => settle(failed(`the thread exited with code ${code} before it answered`, { exitCode: code })));
  });
}
