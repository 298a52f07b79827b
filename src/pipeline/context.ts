// What the pipeline needs from the running gateway, as one object passed around (no globals).
import type { ResourceLimits } from 'node:worker_threads';
import type { Ledger } from '../ledger/ledger.js';
import type { PartnerRegistry } from '../mappings/registry.js';
import type { InFlightInterchanges } from './in-flight.js';

export interface Logger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  debug?(obj: Record<string, unknown>, msg?: string): void;
}

/** Hands a stored file to translation: a BullMQ job when Redis is there, in-process otherwise. */
export interface Dispatcher {
  /**
   * `again`: the file was dispatched before and has been re-opened (Ledger.recordFile): a finished job of
   * it must not swallow this one (a job id is the file id, and a completed job is kept a while).
   */
  dispatch(fileId: string, options?: { again?: boolean }): Promise<void>;
}

export interface DuplicatePolicy {
  /** How long an interchange control number is remembered per sender. */
  windowDays: number;
  /** What to do with the same sender + ISA13 again: skip it silently, or reject it with TA1 note 025. */
  interchange: 'ignore' | 'reject';
}

export interface PipelineContext {
  dataDir: string;
  ledger: Ledger;
  /** The current registry; reloads swap it, so always ask for it rather than keeping one. */
  registry: () => PartnerRegistry;
  log: Logger;
  duplicates: DuplicatePolicy;
  /**
   * The interchanges of the files translating now, shared by every translation of the process (the gateway
   * makes one): with more than one file at a time, what tells each about the others' interchanges before
   * they are in the ledger. Without it, files are taken to be translated one at a time.
   */
  inFlight?: InFlightInterchanges;
  /**
   * Units per SQLite transaction while translating. A file's first batches are smaller (FIRST_BATCH_UNITS,
   * doubling up to this), so its first events reach the outbox early.
   */
  batchSize: number;
  now?: () => Date;
  /** Told after a batch put new events in the outbox (the gateway wakes its relay instead of letting it idle). */
  onEvents?: () => void;
  /** Told when a file's translation is committed (metrics). */
  onProcessed?: (done: { fileId: string; state: string; units: number; newEvents: number; receivedAt: string }) => void;
  /**
   * XML files of at least `minBytes` (default XML_WORKER_MIN_BYTES, 1 MiB) are translated on a worker thread
   * (pipeline/xml-worker.ts), with the thread's `resourceLimits` if given. Tests lower the one and tighten the other.
   */
  xmlWorker?: { minBytes?: number; resourceLimits?: ResourceLimits };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
