// The ledger: Waybill's source of truth for "already done". Every file, transaction, event, outbound
// document, control number and delivery is recorded here before anything is acknowledged to anyone.
// The interface is async so that a PostgreSQL ledger can implement it beside the embedded SQLite one;
// the SQLite implementation (sqlite.ts) is the only code that writes the database.

export type FileState = 'received' | 'translating' | 'translated' | 'failed' | 'duplicate';

export interface FileRecord {
  /** Content hash: "sha256-<hex>". The same bytes are the same file. */
  id: string;
  size: number;
  partner: string | null;
  /** "folder", "sftp", "sftp-poll", "as2", "cli", ... */
  transport: string;
  originalName: string;
  originalPath: string | null;
  /** Where the raw bytes are stored, relative to the data directory. */
  storedPath: string;
  receivedAt: string;
  state: FileState;
  /** Coded findings that concern the file as a whole. */
  errors: LedgerError[];
  /** Translation checkpoint: units (transactions/records) already committed. */
  unitsDone: number;
  /** How many times translation was started (crash recovery shows up here). */
  attempts: number;
}

export interface LedgerError {
  code: string;
  message: string;
  line?: number;
  column?: number;
}

export interface NewFile {
  id: string;
  size: number;
  partner?: string | null;
  transport: string;
  originalName: string;
  originalPath?: string | null;
  storedPath: string;
  receivedAt: string;
}

/**
 * What an arrival of a file's bytes did: `created` the file; `reopened` a failed one, to be translated
 * anew with this arrival (its partner, transport, name, time); `again`: nothing, the file is known and
 * not failed (translated, or on its way).
 */
export type ArrivalOutcome = 'created' | 'reopened' | 'again';

/** One arrival of a file's bytes, through whichever transport and account: the file's history of being sent. */
export interface FileArrival {
  fileId: string;
  receivedAt: string;
  partner: string | null;
  transport: string;
  originalName: string;
  originalPath: string | null;
  outcome: ArrivalOutcome;
}

export interface RecordFileResult {
  /** The file as recorded now: after a re-opening, with this arrival's partner, transport, name and time. */
  file: FileRecord;
  /** True when these bytes were never taken in before. */
  created: boolean;
  /** True when they had failed and were re-opened by this arrival (state received again, to be translated). */
  reopened: boolean;
  /** The record before it was re-opened (reopened only). */
  previous?: FileRecord;
}

export type UnitState = 'translated' | 'rejected' | 'failed' | 'unmapped' | 'unidentified' | 'duplicate';

/** One translated unit: an X12 transaction set, a CSV record, an XML document. */
export interface UnitRecord {
  /** Deterministic: file id + unit index. */
  id: string;
  fileId: string;
  /** 0-based position of the unit in the file. */
  index: number;
  partner: string | null;
  label: string;
  setId?: string;
  control?: string;
  interchangeControl?: string;
  groupControl?: string;
  state: UnitState;
  errors: LedgerError[];
  /** Business references of the unit's events, for search (BOL, PRO, PO, invoice, shipment). */
  references: Record<string, unknown>;
}

export interface OutboxEvent {
  /** The canonical event id (deterministic); also the BullMQ job id. */
  id: string;
  fileId: string;
  unitId: string;
  type: string;
  partner: string;
  /** The canonical event as JSON text. */
  payload: string;
  /**
   * Business-fact key (same shipment, status and time): an event whose fact is already in the ledger
   * under another id is flagged as a duplicate fact and not published.
   */
  factKey?: string;
}

export interface OutboxRow extends OutboxEvent {
  /** Position in the outbox: commit order, increasing, never reused. */
  seq: number;
  createdAt: string;
  publishedAt: string | null;
  consumedAt: string | null;
}

/** Rows of a file's next batch: what commitBatch takes, or what Ledger.stage hands over ahead of it. */
export interface BatchPart {
  fileId: string;
  units: UnitRecord[];
  events: OutboxEvent[];
  /**
   * Interchange headers read since the previous batch (see priorInterchange), recorded in the same
   * commit. Recording one again (a batch retried after a crash) changes nothing.
   */
  interchanges?: InterchangeSeen[];
}

/** An outbox event as the relay publishes it (Ledger.publishable). */
export type PublishableEvent = Pick<OutboxRow, 'seq' | 'id' | 'type' | 'payload'>;

export interface UnitBatch extends BatchPart {
  /**
   * The file's checkpoint after this batch. A batch continues the units already committed: its first
   * unit (without units: this checkpoint) is at most the file's checkpoint. One that starts past it
   * follows a batch that did not commit (lost with the commit thread, or failed while this one was on its
   * way); committing it would move the checkpoint over units never committed, which a resumed run would
   * then skip for good. It is refused whole (LEDGER_BATCH_GAP).
   */
  unitsDone: number;
  /**
   * How many parts of this batch were staged ahead of it (Ledger.stage): the file's last `staged` parts.
   * They commit with it, first, in the order staged; if the ledger holds fewer (its commit thread
   * restarted), the batch fails (LEDGER_BATCH_INCOMPLETE) and nothing of it is committed. Older parts
   * (from an attempt at the file that failed before its batch committed) are dropped. Default 0.
   */
  staged?: number;
}

export interface BatchResult {
  /** Events inserted into the outbox by this batch (already present ones are not counted). */
  newEvents: number;
  /** Event ids not published because their business fact was already recorded under another id. */
  duplicateFacts: string[];
  /**
   * Events of this batch whose id the outbox already holds from another file (present only when there are
   * any). With other content (sameEventContent) the event is not recorded: its unit is marked `failed`
   * with LEDGER_EVENT_ID_TAKEN in the same commit, so the loss is on record. With the same content it is a
   * resend that both files took in at the same moment, recorded once as intended.
   */
  eventIdCollisions?: EventIdCollision[];
}

export interface EventIdCollision {
  eventId: string;
  unitId: string;
  /** The file whose event holds the id. */
  otherFileId: string;
  sameContent: boolean;
}

/**
 * Whether two events (payload JSON) say the same thing: equal but for where and when they were read
 * (`source`: file id, name, line; `receivedAt`). Two files that carry one interchange give such events
 * under one id. Both ledgers use this to tell a resend from a collision (BatchResult.eventIdCollisions).
 */
export function sameEventContent(a: string, b: string): boolean {
  const strip = (payload: string) => {
    const { source: _source, receivedAt: _receivedAt, ...rest } = JSON.parse(payload) as Record<string, unknown>;
    return JSON.stringify(rest);
  };
  return strip(a) === strip(b);
}

export type OutboundKind = 'TA1' | '997' | '999' | '204' | '210' | 'csv' | 'xml' | string;

export interface NewOutboundDocument {
  /** Deterministic id, e.g. "ack-<fileId>-<interchange control>". */
  id: string;
  partner: string | null;
  kind: OutboundKind;
  /** Why it exists: the inbound file it answers, or the command it renders. */
  relatedFileId?: string | null;
  relatedCommandId?: string | null;
  content: string;
  controls?: { interchange?: string; group?: string; transaction?: string };
}

export interface OutboundDocument extends NewOutboundDocument {
  createdAt: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
}

export interface InterchangeSeen {
  senderQualifier: string;
  senderId: string;
  control: string;
  fileId: string;
  receivedAt: string;
  /** The partner its ISA sender identified (null: none); what tells later interchanges whose control numbers it used. */
  partner?: string | null;
  /**
   * The extra event-id part its events were given because it reuses the control numbers of an earlier
   * interchange of the same partner (eventIdFromSource); null: the frozen recipe. Recorded so that the
   * file, translated again, gives the same ids whatever was recorded since.
   */
  interchangeReuse?: string | null;
}

/** An interchange as the ledger recorded it (interchangesWithControl). */
export interface InterchangeRecord extends InterchangeSeen {
  /** The partner recorded with it; null: none identified; undefined: recorded before the ledger kept it (SQLite migration 6). */
  partner?: string | null;
  interchangeReuse: string | null;
}

export type ControlKind = 'interchange' | 'group' | 'transaction';

export interface DeliveryState {
  eventId: string;
  attempts: number;
  state: 'pending' | 'delivered' | 'dead';
  lastError: string | null;
  lastStatus: number | null;
  updatedAt: string;
}

// ---- remote SFTP files and outbound transfers (migration 2) ----

/** A file on a partner's SFTP server, identified as listed: the same path with another size or mtime is another file. */
export interface RemoteFileKey {
  partner: string;
  /** Absolute path on the partner's server. */
  path: string;
  size: number;
  /** Modification time as listed by the server, in milliseconds. */
  mtime: number;
}

/** 'taken': intake stored it, the remote delete/move is still to do; 'done': removed/moved remotely too. */
export type RemoteFileState = 'taken' | 'done';

export interface RemoteFileRecord extends RemoteFileKey {
  /** The file id intake returned ("sha256-<hex>"). */
  sha256: string;
  state: RemoteFileState;
  takenAt: string;
  updatedAt: string;
}

/**
 * Where an outbound document is being placed: written before the final rename, so that after a crash the
 * deliverer can tell "renamed already" (temp gone) from "never placed" without delivering twice.
 */
export interface OutboundTransfer {
  docId: string;
  /** 'hosted', or 'remote <user>@<host>:<port>' (the server the temp file is on; older notes: 'remote'). */
  transport: string;
  /** Final path (remote server path, or local path in the hosted outbound folder). */
  target: string;
  temp: string;
  stage: 'placing';
  updatedAt: string;
}

export interface AuditEntry {
  action: string;
  correlationId?: string;
  fileId?: string;
  eventId?: string;
  details?: Record<string, unknown>;
}

/**
 * Where a ledger is, as plain data: what a worker thread (the relay's) or another process is given to open
 * its own connection to the same ledger (openLedger, open.ts). A second database adds its kind here.
 */
export type LedgerLocation = { kind: 'sqlite'; path: string };

export interface Ledger {
  /** Where other threads and processes open this same ledger. */
  readonly location: LedgerLocation;
  /**
   * Records an arrival of a stored file, durably (synchronous=FULL) before returning, in one transaction:
   * the arrival itself (arrivals), and the file when new. The same bytes again (created=false) re-open a
   * file that `failed`: it takes this arrival's partner, transport, name, path and time, its findings and
   * units are cleared and its checkpoint reset, and it is `received` again, to be translated anew (its ids
   * are deterministic, so whatever it committed before is not duplicated). Any other state is left as it
   * is: a translated file's events and acknowledgments went out, and the same bytes must produce nothing new.
   */
  recordFile(file: NewFile): Promise<RecordFileResult>;
  /** Every arrival of a file's bytes, oldest first. */
  arrivals(fileId: string): Promise<FileArrival[]>;
  getFile(id: string): Promise<FileRecord | null>;
  listFiles(filter?: { state?: FileState | FileState[]; limit?: number }): Promise<FileRecord[]>;
  /** Sets a file's state (and partner/errors when given). `translating` also counts an attempt. */
  setFileState(id: string, state: FileState, extra?: { partner?: string | null; errors?: LedgerError[] }): Promise<void>;
  /**
   * Takes back one attempt counted by setFileState('translating') of a file still received/translating:
   * for an attempt known to have ended (in a transient fault such as a full disk), which is not the crash
   * the recovery sweep's attempt limit is there to catch.
   */
  uncountAttempt(id: string): Promise<void>;

  /**
   * One atomic batch: unit rows, their outbox events, the checkpoint. An event already present from the
   * same file (a batch again after a crash) is ignored; one present from another file is reported
   * (BatchResult.eventIdCollisions) and, with other content, recorded on its unit.
   */
  commitBatch(batch: UnitBatch): Promise<BatchResult>;
  /**
   * Hands over rows of the file's next commitBatch ahead of it; nothing is committed until that call
   * (UnitBatch.staged counts the parts). Why: translation fills a batch for tens of milliseconds, and rows
   * the translating thread holds that long are copied by every young-generation GC on the way. A ledger
   * that commits on its own thread takes them off the translating thread's heap at once.
   */
  stage(part: BatchPart): void;
  /**
   * Finishes a file in one atomic, durable commit: its final state, its errors (when given: the
   * file-level findings, replacing any recorded before) and the acknowledgments to send.
   * Acknowledgments already recorded for the file (a crash after this commit) are not duplicated.
   */
  finishFile(fileId: string, state: FileState, acks: NewOutboundDocument[], errors?: LedgerError[]): Promise<void>;
  units(fileId: string): Promise<UnitRecord[]>;

  /**
   * The earlier file that carried the same sender + ISA13 within the window, if any: a read that never
   * waits for the commits in flight (the header itself is recorded with the file's next batch,
   * UnitBatch.interchanges). Two files carrying the same interchange and translated at the same moment
   * may both find none; their events then have the same ids, so the outbox keeps one of each.
   */
  priorInterchange(seen: InterchangeSeen, windowDays: number): Promise<{ duplicateOf: string | null }>;
  /**
   * Every interchange recorded with this ISA13, whichever its sender, file or time, oldest first: what
   * tells whether an interchange reuses the control numbers of another of its partner's, and what the
   * file's own earlier translation decided (InterchangeSeen.interchangeReuse). Like priorInterchange, a
   * read that never waits for the commits in flight.
   */
  interchangesWithControl(control: string): Promise<InterchangeRecord[]>;

  /**
   * Events not yet published to the queue, oldest first; only those after `afterSeq` when given (a relay
   * reading its next batch while the previous one is still being published).
   */
  unpublished(limit: number, afterSeq?: number): Promise<OutboxRow[]>;
  /**
   * unpublished(), with only what publishing needs. The relay holds each batch until Redis has answered
   * its addBulk, and every column more (file and unit ids, times) was copied by each young-generation GC
   * of the relay's thread meanwhile.
   */
  publishable(limit: number, afterSeq?: number): Promise<PublishableEvent[]>;
  markPublished(ids: string[], at: string): Promise<void>;
  /**
   * Marks published every unpublished event with firstSeq <= seq <= lastSeq: batches as unpublished()
   * returned them (it returns every unpublished event of that range, and new events only ever come after
   * it). With `wait: false` it does not wait for another writer (a batch committing): it returns false
   * and marks nothing when it would have to; the relay then marks the range later, with the next one.
   */
  markBatchPublished(firstSeq: number, lastSeq: number, at: string, options?: { wait?: boolean }): Promise<boolean>;
  markConsumed(ids: string[], at: string): Promise<void>;
  /** After the queue lost its data: published-but-not-consumed events become unpublished again. */
  republishUnconsumed(): Promise<number>;
  getEvent(id: string): Promise<OutboxRow | null>;
  countEvents(): Promise<{ total: number; unpublished: number; published: number; consumed: number }>;

  /** Allocates `count` consecutive control numbers; never reuses one, safe across processes and crashes. */
  nextControlNumbers(partner: string, kind: ControlKind, count?: number): Promise<number[]>;

  addOutboundDocument(doc: NewOutboundDocument): Promise<{ created: boolean }>;
  /** partner: null lists the documents without a partner. */
  listOutboundDocuments(filter?: { partner?: string | null; relatedFileId?: string; state?: OutboundDocument['state']; limit?: number }): Promise<OutboundDocument[]>;
  /** The partners (null: documents without one) that have outbound documents pending. */
  pendingOutboundPartners(): Promise<Array<string | null>>;
  setOutboundState(id: string, state: OutboundDocument['state'], error?: string | null): Promise<void>;

  recordDelivery(eventId: string, result: { ok: boolean; status?: number | null; error?: string | null; dead?: boolean }): Promise<DeliveryState>;
  deliveries(filter?: { state?: DeliveryState['state']; limit?: number }): Promise<DeliveryState[]>;
  /** Makes a dead delivery pending again (attempts reset); returns whether it was dead. */
  reviveDelivery(eventId: string): Promise<boolean>;

  // ---- remote SFTP files and outbound transfers (migration 2) ----
  /** The row for a listed file, in any state: a 'done' row describes a file already gone from the server. */
  getRemoteFile(key: RemoteFileKey): Promise<RemoteFileRecord | null>;
  /**
   * Records a remote file as taken in (state 'taken'), durably: the remote delete/move follows it. A 'done'
   * row with the same key (an earlier file with the same path, size and mtime) is replaced; created is false
   * only when a 'taken' row is there.
   */
  recordRemoteFile(file: RemoteFileKey & { sha256: string }): Promise<{ created: boolean }>;
  setRemoteFileState(key: RemoteFileKey, state: RemoteFileState): Promise<void>;
  listRemoteFiles(filter?: { partner?: string; state?: RemoteFileState; limit?: number }): Promise<RemoteFileRecord[]>;
  getOutboundTransfer(docId: string): Promise<OutboundTransfer | null>;
  /** Durably notes the final rename about to happen (or clears the note with null). */
  setOutboundTransfer(docId: string, transfer: Omit<OutboundTransfer, 'docId' | 'updatedAt' | 'stage'> | null): Promise<void>;

  audit(entry: AuditEntry): Promise<void>;
  /** Totals for metrics and the operations console. */
  stats(): Promise<LedgerStats>;
  close(): Promise<void>;
}

export interface LedgerStats {
  files: Record<string, number>;
  units: Record<string, number>;
  events: { total: number; unpublished: number; published: number; consumed: number; duplicateFacts: number };
  /**
   * Errors by code: those recorded on units, and the file-level ones (FileRecord.errors) no unit of the file
   * carries, such as the reason a file failed as a whole (PARTNER_UNKNOWN). Each finding is counted once.
   */
  errors: Record<string, number>;
  deliveries: Record<string, number>;
  /** Outbound documents (acknowledgments, ...) by state: pending, delivered. */
  outbound: Record<string, number>;
  /** Pending outbound documents whose last delivery attempt failed, by the code of that failure. */
  outboundFailing: Record<string, number>;
}

/**
 * Ledger problems with a code of their own. Most are not healed by retrying (a schema newer than this
 * code, ...); those of the commit thread are (LEDGER_COMMIT_THREAD_FAILED, LEDGER_BATCH_INCOMPLETE,
 * LEDGER_BATCH_GAP: the file is translated again from its checkpoint, src/queue/dispatcher.ts).
 */
export class LedgerFault extends Error {
  constructor(readonly code: 'LEDGER_SCHEMA_TOO_NEW' | 'LEDGER_OPEN_FAILED' | 'LEDGER_CONTROL_EXHAUSTED' | 'LEDGER_BATCH_INCOMPLETE'
    | 'LEDGER_BATCH_GAP' | 'LEDGER_COMMIT_THREAD_FAILED', message: string) {
    super(message);
    this.name = 'LedgerFault';
  }
}
