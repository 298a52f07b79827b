// The embedded ledger on better-sqlite3. WAL mode, a busy timeout so several processes can share the
// file, versioned migrations, and synchronous=FULL for the commits that precede an acknowledgment.

import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  LedgerFault, sameEventContent, type ArrivalOutcome, type AuditEntry, type FileArrival, type RecordFileResult, type BatchResult, type EventIdCollision, type InterchangeRecord, type ControlKind, type DeliveryState, type FileRecord, type FileState,
  type InterchangeSeen, type Ledger, type LedgerError, type LedgerStats, type NewFile, type NewOutboundDocument, type OutboundDocument,
  type OutboxEvent, type OutboxRow, type BatchPart, type PublishableEvent, type UnitBatch, type UnitRecord,
  type OutboundTransfer, type RemoteFileKey, type RemoteFileRecord, type RemoteFileState,
  type LedgerLocation,
} from './ledger.js';
import { WalCheckpointer } from './checkpointer.js';
import { CommitThread } from './commit-thread.js';

/** Ordered schema migrations. Append only: a released migration never changes. */
const MIGRATIONS: string[] = [
  `CREATE TABLE files (
     id TEXT PRIMARY KEY, size INTEGER NOT NULL, partner TEXT, transport TEXT NOT NULL,
     original_name TEXT NOT NULL, original_path TEXT, stored_path TEXT NOT NULL, received_at TEXT NOT NULL,
     state TEXT NOT NULL, errors TEXT NOT NULL DEFAULT '[]', units_done INTEGER NOT NULL DEFAULT 0,
     attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL);
   CREATE INDEX files_state ON files(state);
   CREATE TABLE interchanges (
     sender_qualifier TEXT NOT NULL, sender_id TEXT NOT NULL, control TEXT NOT NULL, file_id TEXT NOT NULL,
     received_at TEXT NOT NULL, PRIMARY KEY (sender_qualifier, sender_id, control, file_id));
   CREATE INDEX interchanges_seen ON interchanges(sender_qualifier, sender_id, control, received_at);
   CREATE TABLE units (
     id TEXT PRIMARY KEY, file_id TEXT NOT NULL, idx INTEGER NOT NULL, partner TEXT, label TEXT NOT NULL,
     set_id TEXT, control TEXT, interchange_control TEXT, group_control TEXT, state TEXT NOT NULL,
     errors TEXT NOT NULL, refs TEXT NOT NULL);
   CREATE INDEX units_file ON units(file_id, idx);
   CREATE TABLE outbox (
     id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, file_id TEXT NOT NULL, unit_id TEXT NOT NULL,
     type TEXT NOT NULL, partner TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL,
     published_at TEXT, consumed_at TEXT);
   CREATE INDEX outbox_unpublished ON outbox(published_at, seq);
   CREATE TABLE facts (key TEXT PRIMARY KEY, event_id TEXT NOT NULL);
   CREATE TABLE duplicate_facts (event_id TEXT PRIMARY KEY, fact_key TEXT NOT NULL, original_event_id TEXT NOT NULL, file_id TEXT NOT NULL);
   CREATE TABLE control_numbers (partner TEXT NOT NULL, kind TEXT NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (partner, kind));
   CREATE TABLE outbound_documents (
     id TEXT PRIMARY KEY, partner TEXT, kind TEXT NOT NULL, related_file_id TEXT, related_command_id TEXT,
     content TEXT NOT NULL, controls TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL,
     state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
   CREATE INDEX outbound_related ON outbound_documents(related_file_id);
   CREATE TABLE deliveries (
     event_id TEXT PRIMARY KEY, attempts INTEGER NOT NULL, state TEXT NOT NULL, last_error TEXT,
     last_status INTEGER, updated_at TEXT NOT NULL);
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, action TEXT NOT NULL, correlation_id TEXT,
     file_id TEXT, event_id TEXT, details TEXT NOT NULL DEFAULT '{}');`,
  // 2: remote SFTP files taken in (so a crash between intake and the remote delete never takes a file
  // twice), and outbound transfers (the final rename noted before it happens, so nothing is sent twice).
  `CREATE TABLE remote_files (
     partner TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL, sha256 TEXT NOT NULL,
     state TEXT NOT NULL, taken_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (partner, path, size, mtime));
   CREATE INDEX remote_files_state ON remote_files(partner, state);
   CREATE TABLE outbound_transfers (
     doc_id TEXT PRIMARY KEY, transport TEXT NOT NULL, target TEXT NOT NULL, temp TEXT NOT NULL, stage TEXT NOT NULL,
     updated_at TEXT NOT NULL);`,
  // 3: the translation and relay hot path (bench/gateway.mjs). The outbox is keyed by its sequence, so rows
  // are stored in publishing order and both the appends and the relay's scan are sequential; only
  // unpublished rows are indexed (the (published_at, seq) index made SQLite scan every unpublished row
  // for each markPublished of a few hundred ids, and grew and shrank with every publish). Business-fact
  // keys become 32-byte BLOBs in a WITHOUT ROWID table: one B-tree with half the key size instead of a
  // table plus an index on 64 hex characters, so each batch of random keys dirties fewer pages.
  // waybill_fact_key() is the JS function factKeyBytes(), registered on the connection before migrating.
  `CREATE TABLE outbox_v3 (
     seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, file_id TEXT NOT NULL, unit_id TEXT NOT NULL,
     type TEXT NOT NULL, partner TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL,
     published_at TEXT, consumed_at TEXT);
   INSERT INTO outbox_v3 (seq, id, file_id, unit_id, type, partner, payload, created_at, published_at, consumed_at)
     SELECT seq, id, file_id, unit_id, type, partner, payload, created_at, published_at, consumed_at FROM outbox ORDER BY seq;
   DROP TABLE outbox;
   ALTER TABLE outbox_v3 RENAME TO outbox;
   CREATE INDEX outbox_unpublished ON outbox(seq) WHERE published_at IS NULL;
   CREATE TABLE facts_v3 (key BLOB PRIMARY KEY, event_id TEXT NOT NULL) WITHOUT ROWID;
   INSERT OR IGNORE INTO facts_v3 (key, event_id) SELECT waybill_fact_key(key), event_id FROM facts;
   DROP TABLE facts;
   ALTER TABLE facts_v3 RENAME TO facts;`,
  // 4: counts without scans. /readyz and /metrics read the outbox counts and the unit statistics on every
  // call; counting published/consumed rows read the whole outbox (about 200 MB per 100,000 events), on the
  // gateway's thread. The outbox counts are kept by triggers, in the same transaction as the change,
  // whichever statement makes it; units by state come from an index, and error codes only from the units
  // that have errors (a partial index).
  `CREATE TABLE outbox_counts (
     id INTEGER PRIMARY KEY CHECK (id = 1), total INTEGER NOT NULL, published INTEGER NOT NULL, consumed INTEGER NOT NULL);
   INSERT INTO outbox_counts (id, total, published, consumed)
     SELECT 1, COUNT(*), TOTAL(published_at IS NOT NULL), TOTAL(consumed_at IS NOT NULL) FROM outbox;
   CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox BEGIN
     UPDATE outbox_counts SET total = total + 1, published = published + (NEW.published_at IS NOT NULL),
       consumed = consumed + (NEW.consumed_at IS NOT NULL) WHERE id = 1;
   END;
   CREATE TRIGGER outbox_counts_update AFTER UPDATE OF published_at, consumed_at ON outbox BEGIN
     UPDATE outbox_counts SET published = published + (NEW.published_at IS NOT NULL) - (OLD.published_at IS NOT NULL),
       consumed = consumed + (NEW.consumed_at IS NOT NULL) - (OLD.consumed_at IS NOT NULL) WHERE id = 1;
   END;
   CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox BEGIN
     UPDATE outbox_counts SET total = total - 1, published = published - (OLD.published_at IS NOT NULL),
       consumed = consumed - (OLD.consumed_at IS NOT NULL) WHERE id = 1;
   END;
   CREATE INDEX units_state ON units(state);
   CREATE INDEX units_with_errors ON units(id) WHERE errors <> '[]';`,
  // 5: payloads apart from the outbox rows. Marking a batch published rewrote each event's row, payload
  // included (about 1 KB of a 214's event, 3 rows to a page): the whole outbox went through the WAL, and the
  // checkpoints, a second time. The rows the relay updates are now about a tenth of that size, and the
  // payloads are written once.
  `CREATE TABLE outbox_payloads (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL);
   INSERT INTO outbox_payloads (seq, payload) SELECT seq, payload FROM outbox ORDER BY seq;
   ALTER TABLE outbox DROP COLUMN payload;`,
  // 6: interchanges that reuse control numbers. Event ids of X12 are partner + ISA13 + GS06 + ST02 + index,
  // so a new interchange under an earlier one's control numbers (another sender id of the partner, the same
  // sender after the duplicate window) had its events dropped as already present. Each interchange now
  // records the partner its sender identified ('' for none; NULL stays on the rows recorded before) and the
  // extra id part its events were given, if any (eventIdFromSource); interchanges are looked up by ISA13
  // alone, across senders.
  `ALTER TABLE interchanges ADD COLUMN partner TEXT;
   ALTER TABLE interchanges ADD COLUMN interchange_reuse TEXT;
   CREATE INDEX interchanges_control ON interchanges(control);`,
  // 7: every arrival of a file's bytes. The file id is a content hash, so a file sent again was only an
  // audit line: a file refused for where it arrived (a mistyped folder, a CSV without its partner's folder)
  // could never be sent again the right way. Arrivals are kept with their partner, transport and name (the
  // files' own rows as their first), and a failed file is re-opened by the next one (Ledger.recordFile).
  `CREATE TABLE file_arrivals (
     id INTEGER PRIMARY KEY AUTOINCREMENT, file_id TEXT NOT NULL, received_at TEXT NOT NULL, partner TEXT, transport TEXT NOT NULL,
     original_name TEXT NOT NULL, original_path TEXT, outcome TEXT NOT NULL);
   CREATE INDEX file_arrivals_file ON file_arrivals(file_id, id);
   INSERT INTO file_arrivals (file_id, received_at, partner, transport, original_name, original_path, outcome)
     SELECT id, received_at, partner, transport, original_name, original_path, 'created' FROM files ORDER BY received_at, id;`,
  // 8: error codes of files, for the metrics (stats().errors): a file that failed as a whole (PARTNER_UNKNOWN,
  // an acknowledgment that could not be written, ...) has its reason only in files.errors. Read, like the
  // units' (migration 4), from the few rows that have errors; a file's error is counted unless one of its
  // units carries it, so the units with errors are indexed by file (a file of 100,000 sets is not read
  // for it), which still serves the scan of every unit with errors.
  `DROP INDEX units_with_errors;
   CREATE INDEX units_with_errors ON units(file_id) WHERE errors <> '[]';
   CREATE INDEX files_with_errors ON files(id) WHERE errors <> '[]';`,
];

export const LEDGER_SCHEMA_VERSION = MIGRATIONS.length;
/** The migrations' SQL, for tests that build a ledger of an older version. */
export const LEDGER_MIGRATIONS: readonly string[] = MIGRATIONS;

/** Largest control number per kind (ISA13/GS06: 9 digits; ST02 is 4-9 characters). */
const CONTROL_MAX: Record<ControlKind, number> = { interchange: 999_999_999, group: 999_999_999, transaction: 999_999_999 };

const now = () => new Date().toISOString();
/** How long a write waits for another connection's write lock (several processes may share the file). */
const BUSY_TIMEOUT_MS = 10_000;

const HEX_DIGEST = /^[0-9a-f]{64}$/;

/**
 * How a business-fact key is stored: a SHA-256 hex digest (what the pipeline's factKey() produces) as its
 * 32 bytes, any other string as the SHA-256 of its UTF-8 text (also 32 bytes). Two different keys only
 * meet if a hex key is the digest of another key, which would make them the same fact anyway.
 */
export function factKeyBytes(key: string): Buffer {
  return HEX_DIGEST.test(key) ? Buffer.from(key, 'hex') : createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Page cache per connection (negative: KiB). SQLite's default 2 MB cannot hold the random-key indexes
 * (event ids, fact keys) of one large file, so every batch re-read their pages from the OS.
 */
const CACHE_KIB = 32 * 1024;
/**
 * WAL pages before the committing connection checkpoints by itself (SQLite's default is 1000). Each
 * checkpoint copies the WAL into the database and fsyncs it, on the committing thread: larger intervals
 * mean fewer fsyncs and each index page copied once for several batches. With background checkpoints
 * (WalCheckpointer) this is only the safety net should that thread stop or fall behind.
 */
const WAL_AUTOCHECKPOINT_PAGES = 4000;
const WAL_AUTOCHECKPOINT_PAGES_WITH_BACKGROUND = 25_000;
/** A WAL file grown past this (a long write burst) is truncated back to it once checkpointed. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export interface SqliteLedgerOptions {
  /**
   * Run WAL checkpoints on a worker thread instead of inside commits (long-running processes that
   * write a lot: the gateway). Default false.
   */
  backgroundCheckpoints?: boolean;
  /**
   * Another connection of this process runs the background checkpoints (the relay's thread): this one
   * only keeps the safety-net threshold. Default false.
   */
  checkpointedElsewhere?: boolean;
  /** Told when background checkpoints fail (once per run of failures, then at most once a minute: WalCheckpointer). */
  onCheckpointError?: (message: string, info: { failures: number }) => void;
  /** Told when background checkpoints work again after failing. */
  onCheckpointRecovered?: (info: { failures: number }) => void;
  /**
   * Run the writes of file translation (commitBatch, finishFile) on a thread of their
   * own (CommitThread), so that the calling thread goes on translating while a batch commits. Default false.
   */
  commitThread?: boolean;
  /**
   * Check every page of the database at open (PRAGMA quick_check) and refuse a damaged one with
   * LEDGER_OPEN_FAILED. SQLite reads a page only when it needs it, so a ledger damaged in the middle
   * opened, and the damage surfaced later, at the first intake that touched it (refused, retried for
   * ever) or in a translation (the file failed for it). It reads the whole file (seconds per GB): the
   * gateway asks for it after a run that did not stop cleanly. Default false.
   */
  checkIntegrity?: boolean;
}

interface FileRow {
  id: string; size: number; partner: string | null; transport: string; original_name: string; original_path: string | null;
  stored_path: string; received_at: string; state: FileState; errors: string; units_done: number; attempts: number;
}

function toFile(r: FileRow): FileRecord {
  return {
    id: r.id, size: r.size, partner: r.partner, transport: r.transport, originalName: r.original_name,
    originalPath: r.original_path, storedPath: r.stored_path, receivedAt: r.received_at, state: r.state,
    errors: JSON.parse(r.errors) as LedgerError[], unitsDone: r.units_done, attempts: r.attempts,
  };
}

interface OutboxDbRow {
  seq: number; id: string; file_id: string; unit_id: string; type: string; partner: string; payload: string;
  created_at: string; published_at: string | null; consumed_at: string | null;
}

function toOutbox(r: OutboxDbRow): OutboxRow {
  return {
    seq: r.seq, id: r.id, fileId: r.file_id, unitId: r.unit_id, type: r.type, partner: r.partner, payload: r.payload,
    createdAt: r.created_at, publishedAt: r.published_at, consumedAt: r.consumed_at,
  };
}

interface RemoteFileRow {
  partner: string; path: string; size: number; mtime: number; sha256: string; state: RemoteFileState; taken_at: string; updated_at: string;
}

function toRemoteFile(r: RemoteFileRow): RemoteFileRecord {
  return { partner: r.partner, path: r.path, size: r.size, mtime: r.mtime, sha256: r.sha256, state: r.state, takenAt: r.taken_at, updatedAt: r.updated_at };
}

/**
 * What a failed open reports: a LedgerFault as it is (a newer schema), SQLite's own errors as
 * LEDGER_OPEN_FAILED naming the file, with what to do when the file is not a usable database.
 */
function openFailure(path: string, err: unknown): Error {
  if (err instanceof LedgerFault) return err;
  const e = err as Error & { code?: string };
  const damaged = e.code === 'SQLITE_NOTADB' || e.code === 'SQLITE_CORRUPT';
  return new LedgerFault('LEDGER_OPEN_FAILED', `cannot open ledger ${path}: ${e.message}${e.code ? ` (${e.code})` : ''}${damaged
    ? '; the file is damaged or is not a Waybill ledger: restore it from a backup, or move it aside to start with an empty ledger'
    : ''}`);
}

/** Throws LEDGER_OPEN_FAILED when PRAGMA quick_check finds the database damaged (its first findings named). */
function checkIntegrity(db: Database.Database, path: string): void {
  const rows = db.pragma('quick_check(5)', { simple: false }) as { quick_check: string }[];
  const found = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  if (found.length === 0) return;
  throw new LedgerFault('LEDGER_OPEN_FAILED', `cannot open ledger ${path}: its integrity check found damage (${found.join('; ')}); ` +
    'restore it from a backup (every stored file is under files/, and a file taken in again is recognised by its content)');
}

/** Unpublished outbox events after a seq, in order, with their payload: `columns` says what is read. */
function unpublishedQuery(db: Database.Database, columns: string): Database.Statement {
  return db.prepare(`SELECT ${columns} FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq
    WHERE o.published_at IS NULL AND o.seq > ? ORDER BY o.seq LIMIT ?`);
}

export class SqliteLedger implements Ledger {
  private readonly db: Database.Database;
  private readonly stmts;
  /** The hot-path transactions, wrapped once (better-sqlite3 transaction functions). */
  private readonly txs;

  private checkpointer: WalCheckpointer | null = null;
  private commits: CommitThread | null = null;
  /** Parts staged per file for its next commitBatch (Ledger.stage), on a ledger without a commit thread. */
  private readonly staged = new Map<string, BatchPart[]>();

  get location(): LedgerLocation {
    return { kind: 'sqlite', path: this.path };
  }

  constructor(readonly path: string, opts: SqliteLedgerOptions = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
    } catch (err) {
      throw openFailure(path, err);
    }
    const background = opts.backgroundCheckpoints === true && path !== ':memory:';
    try {
      // SQLite reads the file only now (new Database succeeds on any file): a file that is not a
      // database, or whose first pages are damaged, fails here or in the migrations.
      // The busy timeout first: switching a new database to WAL takes its lock, which another process
      // creating the same ledger at that moment may hold.
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma(`cache_size = -${CACHE_KIB}`);
      const threshold = background || opts.checkpointedElsewhere ? WAL_AUTOCHECKPOINT_PAGES_WITH_BACKGROUND : WAL_AUTOCHECKPOINT_PAGES;
      this.db.pragma(`wal_autocheckpoint = ${threshold}`);
      this.db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      this.db.function('waybill_fact_key', { deterministic: true }, (key: unknown) => factKeyBytes(String(key)));
      if (opts.checkIntegrity) checkIntegrity(this.db, path);
      this.migrate();
    } catch (err) {
      this.db.close();
      throw openFailure(path, err);
    }
    const db = this.db;
    this.stmts = {
      getFile: db.prepare('SELECT * FROM files WHERE id = ?'),
      insertFile: db.prepare(`INSERT OR IGNORE INTO files (id, size, partner, transport, original_name, original_path, stored_path, received_at, state, updated_at)
        VALUES (@id, @size, @partner, @transport, @originalName, @originalPath, @storedPath, @receivedAt, 'received', @receivedAt)`),
      insertArrival: db.prepare(`INSERT INTO file_arrivals (file_id, received_at, partner, transport, original_name, original_path, outcome)
        VALUES (@id, @receivedAt, @partner, @transport, @originalName, @originalPath, @outcome)`),
      reopenFile: db.prepare(`UPDATE files SET partner = @partner, transport = @transport, original_name = @originalName,
        original_path = @originalPath, received_at = @receivedAt, state = 'received', errors = '[]', units_done = 0, updated_at = @receivedAt
        WHERE id = @id AND state = 'failed'`),
      deleteUnits: db.prepare('DELETE FROM units WHERE file_id = ?'),
      // Positional parameters on the per-row statements: no parameter object built per row.
      insertUnit: db.prepare(`INSERT OR REPLACE INTO units (id, file_id, idx, partner, label, set_id, control, interchange_control, group_control, state, errors, refs)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      // seq is the rowid: SQLite gives the next one (largest + 1), so the outbox order is commit order.
      insertEvent: db.prepare(`INSERT OR IGNORE INTO outbox (id, file_id, unit_id, type, partner, created_at)
        VALUES (?, ?, ?, ?, ?, ?)`),
      insertPayload: db.prepare('INSERT INTO outbox_payloads (seq, payload) VALUES (?, ?)'),
      insertFact: db.prepare('INSERT OR IGNORE INTO facts (key, event_id) VALUES (?, ?)'),
      getFact: db.prepare('SELECT event_id FROM facts WHERE key = ?').pluck(),
      insertDupFact: db.prepare('INSERT OR IGNORE INTO duplicate_facts (event_id, fact_key, original_event_id, file_id) VALUES (?, ?, ?, ?)'),
      checkpoint: db.prepare('UPDATE files SET units_done = MAX(units_done, ?), updated_at = ? WHERE id = ?'),
      unitsDone: db.prepare('SELECT units_done FROM files WHERE id = ?').pluck(),
      priorInterchange: db.prepare(`SELECT file_id FROM interchanges WHERE sender_qualifier = ? AND sender_id = ? AND control = ?
        AND file_id <> ? AND received_at >= ? ORDER BY received_at LIMIT 1`),
      insertInterchange: db.prepare(`INSERT OR IGNORE INTO interchanges (sender_qualifier, sender_id, control, file_id, received_at, partner, interchange_reuse)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      interchangesWithControl: db.prepare(`SELECT sender_qualifier, sender_id, control, file_id, received_at, partner, interchange_reuse
        FROM interchanges WHERE control = ? ORDER BY received_at, file_id`),
      // The owner of an event id already in the outbox, and what it says (BatchResult.eventIdCollisions).
      eventOwner: db.prepare('SELECT o.file_id, p.payload FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq WHERE o.id = ?'),
      deleteFact: db.prepare('DELETE FROM facts WHERE key = ? AND event_id = ?'),
      // The unit of an event that could not be recorded: failed, with the finding added to its own.
      unitEventLost: db.prepare(`UPDATE units SET state = 'failed', errors = json_insert(errors, '$[#]', json(?)) WHERE id = ?`),
      insertDoc: db.prepare(`INSERT OR IGNORE INTO outbound_documents (id, partner, kind, related_file_id, related_command_id, content, controls, created_at)
        VALUES (@id, @partner, @kind, @relatedFileId, @relatedCommandId, @content, @controls, @createdAt)`),
      unpublished: unpublishedQuery(db, 'o.*, p.payload'),
      publishable: unpublishedQuery(db, 'o.seq, o.id, o.type, p.payload'),
      markPublished: db.prepare('UPDATE outbox SET published_at = ? WHERE id = ? AND published_at IS NULL'),
      markSeqsPublished: db.prepare('UPDATE outbox SET published_at = ? WHERE seq BETWEEN ? AND ? AND published_at IS NULL'),
      markConsumed: db.prepare('UPDATE outbox SET consumed_at = ?, published_at = COALESCE(published_at, ?) WHERE id = ? AND consumed_at IS NULL'),
      control: db.prepare('SELECT last FROM control_numbers WHERE partner = ? AND kind = ?'),
      upsertControl: db.prepare(`INSERT INTO control_numbers (partner, kind, last) VALUES (?, ?, ?)
        ON CONFLICT (partner, kind) DO UPDATE SET last = excluded.last`),
      getDelivery: db.prepare('SELECT * FROM deliveries WHERE event_id = ?'),
    };
    if (background) this.checkpointer = new WalCheckpointer(path, { onError: opts.onCheckpointError, onRecovered: opts.onCheckpointRecovered });
    if (opts.commitThread === true && path !== ':memory:') {
      this.commits = new CommitThread(path);
      this.commits.warm();
    }
    const stmts = this.stmts;
    this.txs = {
      commitBatch: db.transaction((batch: UnitBatch) => this.commitBatchRows(batch)),
      markPublished: db.transaction((ids: string[], at: string) => {
        for (const id of ids) stmts.markPublished.run(at, id);
      }),
      markConsumed: db.transaction((ids: string[], at: string) => {
        for (const id of ids) stmts.markConsumed.run(at, at, id);
      }),
    };
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const current = (this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
    if (current > MIGRATIONS.length) {
      throw new LedgerFault('LEDGER_SCHEMA_TOO_NEW',
        `the ledger ${this.path} has schema version ${current}, newer than this Waybill knows (${MIGRATIONS.length}); upgrade Waybill before starting it on this data`);
    }
    for (let v = current + 1; v <= MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        if ((this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v >= v) return; // another process migrated first
        this.db.exec(MIGRATIONS[v - 1]);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v, now());
      }).immediate();
    }
  }

  /** Runs a write transaction whose commit precedes an acknowledgment: fsync on commit (synchronous=FULL). */
  private durable<T>(fn: () => T): T {
    this.db.pragma('synchronous = FULL');
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  async recordFile(file: NewFile): Promise<RecordFileResult> {
    const row = { ...file, partner: file.partner ?? null, originalPath: file.originalPath ?? null };
    return this.durable((): RecordFileResult => {
      const get = () => toFile(this.stmts.getFile.get(file.id) as FileRow);
      if (this.stmts.insertFile.run(row).changes === 1) {
        this.stmts.insertArrival.run({ ...row, outcome: 'created' });
        return { file: get(), created: true, reopened: false };
      }
      const previous = get();
      if (this.stmts.reopenFile.run(row).changes === 1) {
        // Its units were the failed run's: the new run writes its own (they may number differently, e.g. a
        // CSV read with another partner's settings). Interchanges stay: they hold its id decisions.
        this.stmts.deleteUnits.run(file.id);
        this.stmts.insertArrival.run({ ...row, outcome: 'reopened' });
        return { file: get(), created: false, reopened: true, previous };
      }
      this.stmts.insertArrival.run({ ...row, outcome: 'again' });
      return { file: previous, created: false, reopened: false };
    });
  }

  async arrivals(fileId: string): Promise<FileArrival[]> {
    const rows = this.db.prepare('SELECT * FROM file_arrivals WHERE file_id = ? ORDER BY id').all(fileId) as Array<{
      file_id: string; received_at: string; partner: string | null; transport: string; original_name: string; original_path: string | null; outcome: ArrivalOutcome;
    }>;
    return rows.map((r) => ({
      fileId: r.file_id, receivedAt: r.received_at, partner: r.partner, transport: r.transport, originalName: r.original_name,
      originalPath: r.original_path, outcome: r.outcome,
    }));
  }

  async getFile(id: string): Promise<FileRecord | null> {
    const r = this.stmts.getFile.get(id) as FileRow | undefined;
    return r ? toFile(r) : null;
  }

  async listFiles(filter: { state?: FileState | FileState[]; limit?: number } = {}): Promise<FileRecord[]> {
    const states = filter.state === undefined ? null : Array.isArray(filter.state) ? filter.state : [filter.state];
    const where = states ? `WHERE state IN (${states.map(() => '?').join(',')})` : '';
    const rows = this.db.prepare(`SELECT * FROM files ${where} ORDER BY received_at, id LIMIT ?`).all(...(states ?? []), filter.limit ?? 1000) as FileRow[];
    return rows.map(toFile);
  }

  async setFileState(id: string, state: FileState, extra: { partner?: string | null; errors?: LedgerError[] } = {}): Promise<void> {
    const sets = ['state = @state', 'updated_at = @at'];
    if (state === 'translating') sets.push('attempts = attempts + 1');
    if (extra.partner !== undefined) sets.push('partner = @partner');
    if (extra.errors !== undefined) sets.push('errors = @errors');
    this.db.prepare(`UPDATE files SET ${sets.join(', ')} WHERE id = @id`).run({
      id, state, at: now(), partner: extra.partner ?? null, errors: JSON.stringify(extra.errors ?? []),
    });
  }

  async uncountAttempt(id: string): Promise<void> {
    this.db.prepare(`UPDATE files SET attempts = attempts - 1 WHERE id = ? AND attempts > 0 AND state IN ('received', 'translating')`).run(id);
  }

  async commitBatch(batch: UnitBatch): Promise<BatchResult> {
    if (this.commits) return this.commits.call('commitBatch', [batch]);
    return this.txs.commitBatch.immediate(this.withStaged(batch));
  }

  stage(part: BatchPart): void {
    // On the commit thread's connection, the parts wait on that thread's heap (its own stage()).
    if (this.commits) {
      this.commits.stage(part);
      return;
    }
    const parts = this.staged.get(part.fileId);
    if (parts) parts.push(part);
    else this.staged.set(part.fileId, [part]);
  }

  /**
   * The batch with the parts staged ahead of it, staged rows first; all of them, or a LEDGER_BATCH_INCOMPLETE.
   * Parts staged before those (an earlier attempt at the file that failed before its batch committed) are
   * dropped: the file goes on from its checkpoint, and their rows come again.
   */
  private withStaged(batch: UnitBatch): UnitBatch {
    const held = this.staged.get(batch.fileId) ?? [];
    this.staged.delete(batch.fileId);
    const expected = batch.staged ?? 0;
    if (held.length < expected) {
      throw new LedgerFault('LEDGER_BATCH_INCOMPLETE',
        `a batch of file ${batch.fileId} expected ${expected} staged part(s) and the ledger holds ${held.length} (its commit thread restarted?); nothing of the batch was committed`);
    }
    if (expected === 0) return batch;
    const parts = held.slice(held.length - expected);
    const units: UnitRecord[] = [];
    const events: OutboxEvent[] = [];
    const interchanges: InterchangeSeen[] = [];
    for (const p of [...parts, batch]) {
      for (const u of p.units) units.push(u);
      for (const e of p.events) events.push(e);
      if (p.interchanges) for (const i of p.interchanges) interchanges.push(i);
    }
    return { ...batch, units, events, interchanges };
  }

  private commitBatchRows(batch: UnitBatch): BatchResult {
    const { insertUnit, insertFact, getFact, insertDupFact, insertEvent, insertPayload, checkpoint } = this.stmts;
    // Read inside this write transaction, so no other commit moves the checkpoint in between.
    const done = this.stmts.unitsDone.get(batch.fileId) as number | undefined;
    const start = batch.units.length > 0 ? batch.units[0].index : batch.unitsDone;
    if (done !== undefined && start > done) {
      // A batch of the file before this one did not commit (UnitBatch.unitsDone): the pipeline keeps
      // committing the batches already on their way until it awaits the failed one, and this one must not
      // move the checkpoint over the units that failed.
      throw new LedgerFault('LEDGER_BATCH_GAP',
        `a batch of file ${batch.fileId} starts at unit ${start} and the file's checkpoint is ${done} (a batch before it did not commit); nothing of the batch was committed`);
    }
    for (const u of batch.units) {
      insertUnit.run(u.id, u.fileId, u.index, u.partner, u.label, u.setId ?? null, u.control ?? null, u.interchangeControl ?? null,
        u.groupControl ?? null, u.state, JSON.stringify(u.errors), JSON.stringify(u.references));
    }
    for (const i of batch.interchanges ?? []) {
      // '' for "no partner identified": NULL is left to the rows recorded before migration 6.
      this.stmts.insertInterchange.run(i.senderQualifier, i.senderId, i.control, i.fileId, i.receivedAt, i.partner ?? '', i.interchangeReuse ?? null);
    }
    let newEvents = 0;
    const duplicateFacts: string[] = [];
    let collisions: EventIdCollision[] | undefined;
    const createdAt = now();
    for (const e of batch.events) {
      let factAdded: Buffer | undefined;
      if (e.factKey) {
        const key = factKeyBytes(e.factKey);
        // A new fact takes one INSERT; the owner is read only when the key was there already (a duplicate
        // fact, or this very event committed again after a crash).
        if (insertFact.run(key, e.id).changes === 0) {
          const owner = getFact.get(key) as string;
          if (owner !== e.id) {
            insertDupFact.run(e.id, e.factKey, owner, e.fileId);
            duplicateFacts.push(e.id);
            continue;
          }
        } else factAdded = key;
      }
      const inserted = insertEvent.run(e.id, e.fileId, e.unitId, e.type, e.partner, createdAt);
      if (inserted.changes === 0) {
        // Committed before: by this file (a batch again after a crash: nothing to do), or by another.
        const collision = this.eventIdTaken(e);
        if (collision) {
          // The fact just added is not the owner's: it must not make a later event carrying it a duplicate.
          if (factAdded && !collision.sameContent) this.stmts.deleteFact.run(factAdded, e.id);
          (collisions ??= []).push(collision);
        }
        continue;
      }
      insertPayload.run(inserted.lastInsertRowid, e.payload);
      newEvents++;
    }
    if (collisions) this.recordLostEvents(collisions);
    checkpoint.run(batch.unitsDone, createdAt, batch.fileId);
    return collisions ? { newEvents, duplicateFacts, eventIdCollisions: collisions } : { newEvents, duplicateFacts };
  }

  /** An event whose id the outbox holds already: null when its own file put it there, else the collision. */
  private eventIdTaken(e: OutboxEvent): EventIdCollision | null {
    const owner = this.stmts.eventOwner.get(e.id) as { file_id: string; payload: string };
    if (owner.file_id === e.fileId) return null;
    return { eventId: e.id, unitId: e.unitId, otherFileId: owner.file_id, sameContent: sameEventContent(owner.payload, e.payload) };
  }

  /**
   * Events of other content than the owners of their ids are lost: their units say so in this same commit
   * (a crash cannot leave the loss unrecorded), state failed and one LEDGER_EVENT_ID_TAKEN each.
   */
  private recordLostEvents(collisions: EventIdCollision[]): void {
    const byUnit = new Map<string, EventIdCollision[]>();
    for (const c of collisions) if (!c.sameContent) byUnit.set(c.unitId, [...(byUnit.get(c.unitId) ?? []), c]);
    for (const [unitId, lost] of byUnit) {
      const files = [...new Set(lost.map((c) => c.otherFileId))].join(', ');
      const finding: LedgerError = {
        code: 'LEDGER_EVENT_ID_TAKEN',
        message: `${lost.length} event(s) not recorded (${lost.map((c) => c.eventId).join(', ')}): file ${files} already gave events with these ids and other content (an interchange reusing the same control numbers, translated at the same moment)`,
      };
      this.stmts.unitEventLost.run(JSON.stringify(finding), unitId);
    }
  }

  async finishFile(fileId: string, state: FileState, acks: NewOutboundDocument[], errors?: LedgerError[]): Promise<void> {
    if (this.commits) return this.commits.call('finishFile', [fileId, state, acks, errors]);
    this.staged.delete(fileId); // left by an attempt that failed before its batch committed
    this.durable(() => {
      for (const a of acks) this.insertDoc(a);
      if (errors === undefined) this.db.prepare('UPDATE files SET state = ?, updated_at = ? WHERE id = ?').run(state, now(), fileId);
      else this.db.prepare('UPDATE files SET state = ?, errors = ?, updated_at = ? WHERE id = ?').run(state, JSON.stringify(errors), now(), fileId);
    });
  }

  async units(fileId: string): Promise<UnitRecord[]> {
    const rows = this.db.prepare('SELECT * FROM units WHERE file_id = ? ORDER BY idx').all(fileId) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r.id as string, fileId: r.file_id as string, index: r.idx as number, partner: r.partner as string | null,
      label: r.label as string, setId: (r.set_id as string) ?? undefined, control: (r.control as string) ?? undefined,
      interchangeControl: (r.interchange_control as string) ?? undefined, groupControl: (r.group_control as string) ?? undefined,
      state: r.state as UnitRecord['state'], errors: JSON.parse(r.errors as string) as LedgerError[],
      references: JSON.parse(r.refs as string) as Record<string, unknown>,
    }));
  }

  async priorInterchange(seen: InterchangeSeen, windowDays: number): Promise<{ duplicateOf: string | null }> {
    // On this connection even with a commit thread: a read in WAL mode does not wait for its commits.
    const since = new Date(Date.parse(seen.receivedAt) - windowDays * 86_400_000).toISOString();
    const prior = this.stmts.priorInterchange.get(seen.senderQualifier, seen.senderId, seen.control, seen.fileId, since) as { file_id: string } | undefined;
    return { duplicateOf: prior?.file_id ?? null };
  }

  async interchangesWithControl(control: string): Promise<InterchangeRecord[]> {
    const rows = this.stmts.interchangesWithControl.all(control) as Array<{
      sender_qualifier: string; sender_id: string; control: string; file_id: string; received_at: string; partner: string | null; interchange_reuse: string | null;
    }>;
    return rows.map((r) => ({
      senderQualifier: r.sender_qualifier, senderId: r.sender_id, control: r.control, fileId: r.file_id, receivedAt: r.received_at,
      ...(r.partner !== null && { partner: r.partner === '' ? null : r.partner }), interchangeReuse: r.interchange_reuse,
    }));
  }

  async unpublished(limit: number, afterSeq = 0): Promise<OutboxRow[]> {
    return (this.stmts.unpublished.all(afterSeq, limit) as OutboxDbRow[]).map(toOutbox);
  }

  async publishable(limit: number, afterSeq = 0): Promise<PublishableEvent[]> {
    return this.stmts.publishable.all(afterSeq, limit) as PublishableEvent[];
  }

  async markPublished(ids: string[], at: string): Promise<void> {
    // One prepared statement run per id, each a lookup in the id index. (A single `id IN (...)` of
    // hundreds of ids made SQLite's planner prefer the unpublished index and scan all of it, per call.)
    this.txs.markPublished.immediate(ids, at);
  }

  async markBatchPublished(firstSeq: number, lastSeq: number, at: string, options: { wait?: boolean } = {}): Promise<boolean> {
    // One statement walking the rows in seq order, instead of an index lookup per id.
    if (options.wait !== false) {
      this.stmts.markSeqsPublished.run(at, firstSeq, lastSeq);
      return true;
    }
    // Not waiting: with no busy timeout SQLite answers SQLITE_BUSY at once while another connection
    // holds the write lock (better-sqlite3 would otherwise block this thread in SQLite's busy handler).
    this.db.pragma('busy_timeout = 0');
    try {
      this.stmts.markSeqsPublished.run(at, firstSeq, lastSeq);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return false;
      throw err;
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  async markConsumed(ids: string[], at: string): Promise<void> {
    this.txs.markConsumed.immediate(ids, at);
  }

  async republishUnconsumed(): Promise<number> {
    // Dead letters stay dead: they are replayed on purpose (waybill dlq replay), not by a Redis flush.
    return this.db.prepare(`UPDATE outbox SET published_at = NULL WHERE published_at IS NOT NULL AND consumed_at IS NULL
      AND id NOT IN (SELECT event_id FROM deliveries WHERE state = 'dead')`).run().changes;
  }

  async getEvent(id: string): Promise<OutboxRow | null> {
    const r = this.db.prepare('SELECT o.*, p.payload FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq WHERE o.id = ?').get(id) as OutboxDbRow | undefined;
    return r ? toOutbox(r) : null;
  }

  async countEvents(): Promise<{ total: number; unpublished: number; published: number; consumed: number }> {
    // Kept by triggers (migration 4): one row read, whatever the size of the outbox.
    const c = this.db.prepare('SELECT total, published, consumed FROM outbox_counts WHERE id = 1').get() as
      { total: number; published: number; consumed: number };
    return { total: c.total, unpublished: c.total - c.published, published: c.published, consumed: c.consumed };
  }

  async nextControlNumbers(partner: string, kind: ControlKind, count = 1): Promise<number[]> {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`control number count must be a whole number >= 0, got ${count}`);
    return this.durable(() => {
      const last = (this.stmts.control.get(partner, kind) as { last: number } | undefined)?.last ?? 0;
      const end = last + count;
      if (end > CONTROL_MAX[kind]) {
        throw new LedgerFault('LEDGER_CONTROL_EXHAUSTED', `${kind} control numbers for '${partner}' are exhausted at ${last}`);
      }
      this.stmts.upsertControl.run(partner, kind, end);
      return Array.from({ length: count }, (_, i) => last + 1 + i);
    });
  }

  private insertDoc(doc: NewOutboundDocument): boolean {
    return this.stmts.insertDoc.run({
      id: doc.id, partner: doc.partner, kind: doc.kind, relatedFileId: doc.relatedFileId ?? null,
      relatedCommandId: doc.relatedCommandId ?? null, content: doc.content, controls: JSON.stringify(doc.controls ?? {}), createdAt: now(),
    }).changes === 1;
  }

  async addOutboundDocument(doc: NewOutboundDocument): Promise<{ created: boolean }> {
    return this.durable(() => ({ created: this.insertDoc(doc) }));
  }

  async listOutboundDocuments(filter: { partner?: string | null; relatedFileId?: string; state?: OutboundDocument['state']; limit?: number } = {}): Promise<OutboundDocument[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.partner) { where.push('partner = ?'); args.push(filter.partner); }
    if (filter.partner === null) where.push('partner IS NULL');
    if (filter.relatedFileId) { where.push('related_file_id = ?'); args.push(filter.relatedFileId); }
    if (filter.state) { where.push('state = ?'); args.push(filter.state); }
    const rows = this.db.prepare(`SELECT * FROM outbound_documents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT ?`)
      .all(...args, filter.limit ?? 1000) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r.id as string, partner: r.partner as string | null, kind: r.kind as string, relatedFileId: r.related_file_id as string | null,
      relatedCommandId: r.related_command_id as string | null, content: r.content as string,
      controls: JSON.parse(r.controls as string) as OutboundDocument['controls'], createdAt: r.created_at as string,
      state: r.state as OutboundDocument['state'], attempts: r.attempts as number, lastError: r.last_error as string | null,
    }));
  }

  async pendingOutboundPartners(): Promise<Array<string | null>> {
    return (this.db.prepare(`SELECT DISTINCT partner FROM outbound_documents WHERE state = 'pending' ORDER BY partner`).all() as { partner: string | null }[])
      .map((r) => r.partner);
  }

  async setOutboundState(id: string, state: OutboundDocument['state'], error: string | null = null): Promise<void> {
    this.durable(() => {
      this.db.prepare('UPDATE outbound_documents SET state = ?, attempts = attempts + 1, last_error = ? WHERE id = ?').run(state, error, id);
    });
  }

  async recordDelivery(eventId: string, result: { ok: boolean; status?: number | null; error?: string | null; dead?: boolean }): Promise<DeliveryState> {
    return this.db.transaction((): DeliveryState => {
      const prev = this.stmts.getDelivery.get(eventId) as Record<string, unknown> | undefined;
      const attempts = ((prev?.attempts as number) ?? 0) + 1;
      const state: DeliveryState['state'] = result.ok ? 'delivered' : result.dead ? 'dead' : 'pending';
      const updatedAt = now();
      this.db.prepare(`INSERT INTO deliveries (event_id, attempts, state, last_error, last_status, updated_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (event_id) DO UPDATE SET attempts = excluded.attempts, state = excluded.state, last_error = excluded.last_error,
        last_status = excluded.last_status, updated_at = excluded.updated_at`)
        .run(eventId, attempts, state, result.error ?? null, result.status ?? null, updatedAt);
      return { eventId, attempts, state, lastError: result.error ?? null, lastStatus: result.status ?? null, updatedAt };
    }).immediate();
  }

  async deliveries(filter: { state?: DeliveryState['state']; limit?: number } = {}): Promise<DeliveryState[]> {
    const rows = this.db.prepare(`SELECT * FROM deliveries ${filter.state ? 'WHERE state = ?' : ''} ORDER BY updated_at, event_id LIMIT ?`)
      .all(...(filter.state ? [filter.state] : []), filter.limit ?? 1000) as Record<string, unknown>[];
    return rows.map((r) => ({
      eventId: r.event_id as string, attempts: r.attempts as number, state: r.state as DeliveryState['state'],
      lastError: r.last_error as string | null, lastStatus: r.last_status as number | null, updatedAt: r.updated_at as string,
    }));
  }

  async reviveDelivery(eventId: string): Promise<boolean> {
    return this.db.prepare(`UPDATE deliveries SET state = 'pending', attempts = 0, updated_at = ? WHERE event_id = ? AND state = 'dead'`)
      .run(now(), eventId).changes === 1;
  }

  // ---- remote SFTP files and outbound transfers (migration 2) ----

  async getRemoteFile(key: RemoteFileKey): Promise<RemoteFileRecord | null> {
    const r = this.db.prepare('SELECT * FROM remote_files WHERE partner = ? AND path = ? AND size = ? AND mtime = ?')
      .get(key.partner, key.path, key.size, key.mtime) as RemoteFileRow | undefined;
    return r ? toRemoteFile(r) : null;
  }

  async recordRemoteFile(file: RemoteFileKey & { sha256: string }): Promise<{ created: boolean }> {
    // Durable: the remote delete/move that follows must never happen before this commit is on disk.
    // A 'done' row under the same key describes a file that has left the server: the one recorded now is
    // another file listed with the same path, size and mtime, and takes the row over. A 'taken' row is kept.
    return this.durable(() => {
      const at = now();
      const r = this.db.prepare(`INSERT INTO remote_files (partner, path, size, mtime, sha256, state, taken_at, updated_at)
        VALUES (?, ?, ?, ?, ?, 'taken', ?, ?)
        ON CONFLICT (partner, path, size, mtime) DO UPDATE SET sha256 = excluded.sha256, state = 'taken', taken_at = excluded.taken_at,
          updated_at = excluded.updated_at WHERE remote_files.state = 'done'`).run(file.partner, file.path, file.size, file.mtime, file.sha256, at, at);
      return { created: r.changes === 1 };
    });
  }

  async setRemoteFileState(key: RemoteFileKey, state: RemoteFileState): Promise<void> {
    this.db.prepare('UPDATE remote_files SET state = ?, updated_at = ? WHERE partner = ? AND path = ? AND size = ? AND mtime = ?')
      .run(state, now(), key.partner, key.path, key.size, key.mtime);
  }

  async listRemoteFiles(filter: { partner?: string; state?: RemoteFileState; limit?: number } = {}): Promise<RemoteFileRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.partner) { where.push('partner = ?'); args.push(filter.partner); }
    if (filter.state) { where.push('state = ?'); args.push(filter.state); }
    const rows = this.db.prepare(`SELECT * FROM remote_files ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY taken_at, path LIMIT ?`)
      .all(...args, filter.limit ?? 1000) as RemoteFileRow[];
    return rows.map(toRemoteFile);
  }

  async getOutboundTransfer(docId: string): Promise<OutboundTransfer | null> {
    const r = this.db.prepare('SELECT * FROM outbound_transfers WHERE doc_id = ?').get(docId) as Record<string, string> | undefined;
    return r ? { docId: r.doc_id, transport: r.transport, target: r.target, temp: r.temp, stage: 'placing', updatedAt: r.updated_at } : null;
  }

  async setOutboundTransfer(docId: string, transfer: Omit<OutboundTransfer, 'docId' | 'updatedAt' | 'stage'> | null): Promise<void> {
    // Durable: the rename it announces follows, and a crash right after must still find the note.
    this.durable(() => {
      if (!transfer) this.db.prepare('DELETE FROM outbound_transfers WHERE doc_id = ?').run(docId);
      else {
        this.db.prepare(`INSERT INTO outbound_transfers (doc_id, transport, target, temp, stage, updated_at) VALUES (?, ?, ?, ?, 'placing', ?)
          ON CONFLICT (doc_id) DO UPDATE SET transport = excluded.transport, target = excluded.target, temp = excluded.temp,
          stage = excluded.stage, updated_at = excluded.updated_at`).run(docId, transfer.transport, transfer.target, transfer.temp, now());
      }
    });
  }

  async audit(entry: AuditEntry): Promise<void> {
    this.db.prepare('INSERT INTO audit (at, action, correlation_id, file_id, event_id, details) VALUES (?, ?, ?, ?, ?, ?)')
      .run(now(), entry.action, entry.correlationId ?? null, entry.fileId ?? null, entry.eventId ?? null, JSON.stringify(entry.details ?? {}));
  }

  async stats(): Promise<LedgerStats> {
    const groups = (sql: string) =>
      Object.fromEntries((this.db.prepare(sql).all() as { k: string; n: number }[]).map((r) => [r.k, r.n]));
    const ev = await this.countEvents();
    return {
      files: groups('SELECT state AS k, COUNT(*) AS n FROM files GROUP BY state'),
      units: groups('SELECT state AS k, COUNT(*) AS n FROM units GROUP BY state'),
      events: {
        total: ev.total ?? 0, unpublished: ev.unpublished ?? 0, published: ev.published ?? 0, consumed: ev.consumed ?? 0,
        duplicateFacts: (this.db.prepare('SELECT COUNT(*) AS n FROM duplicate_facts').get() as { n: number }).n,
      },
      errors: this.errorCounts(),
      deliveries: groups('SELECT state AS k, COUNT(*) AS n FROM deliveries GROUP BY state'),
      outbound: groups('SELECT state AS k, COUNT(*) AS n FROM outbound_documents GROUP BY state'),
      // last_error is "CODE: message" (OutboundDelivery.recordFailure).
      outboundFailing: groups(`SELECT CASE WHEN instr(last_error, ':') > 0 THEN substr(last_error, 1, instr(last_error, ':') - 1) ELSE 'DELIVERY_FAILED' END AS k,
        COUNT(*) AS n FROM outbound_documents WHERE state = 'pending' AND last_error IS NOT NULL GROUP BY k`),
    };
  }

  /**
   * Errors by code: every error recorded on a unit, and every error of a file (files.errors) that no unit
   * of that file carries. A file that failed as a whole (PARTNER_UNKNOWN, PIPELINE_STORED_FILE_MISSING, an
   * acknowledgment that could not be written) has its reason there alone; a file-level finding that is also
   * a unit of its own (PIPELINE_NOT_TEXT, data outside any interchange) or is on the units it concerns
   * (PARTNER_ACCOUNT_MISMATCH on each refused set) is the same error, counted with the units. Only units and
   * files with errors are read (units_with_errors, files_with_errors: partial indexes, the units' by file).
   */
  private errorCounts(): Record<string, number> {
    const rows = this.db.prepare(`
      SELECT json_extract(e.value, '$.code') AS k, COUNT(*) AS n
        FROM units INDEXED BY units_with_errors, json_each(units.errors) AS e WHERE units.errors <> '[]' GROUP BY k
      UNION ALL
      SELECT json_extract(e.value, '$.code') AS k, COUNT(*) AS n
        FROM files INDEXED BY files_with_errors, json_each(files.errors) AS e
        WHERE files.errors <> '[]' AND NOT EXISTS (
          SELECT 1 FROM units AS u INDEXED BY units_with_errors, json_each(u.errors) AS ue
          -- instr: the units' errors that do not name the code are not parsed (codes are A-Z, 0-9, _).
          WHERE u.file_id = files.id AND u.errors <> '[]' AND instr(u.errors, '"' || json_extract(e.value, '$.code') || '"') > 0
            AND json_extract(ue.value, '$.code') = json_extract(e.value, '$.code')
            AND json_extract(ue.value, '$.message') IS json_extract(e.value, '$.message')
            AND json_extract(ue.value, '$.line') IS json_extract(e.value, '$.line')
            AND json_extract(ue.value, '$.column') IS json_extract(e.value, '$.column'))
        GROUP BY k`).all() as { k: string; n: number }[];
    const counts: Record<string, number> = {};
    for (const r of rows) counts[r.k] = (counts[r.k] ?? 0) + r.n;
    return counts;
  }

  async close(): Promise<void> {
    const commits = this.commits;
    this.commits = null;
    await commits?.stop();
    const checkpointer = this.checkpointer;
    this.checkpointer = null;
    await checkpointer?.stop();
    if (this.db.open) this.db.close();
  }
}
