// The embedded SQLite ledger on its own: migrations, idempotent writes, the outbox life cycle,
// deliveries, control numbers.
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEDGER_MIGRATIONS, LEDGER_SCHEMA_VERSION, SqliteLedger, factKeyBytes } from '../../src/ledger/sqlite.js';
import { LedgerFault, type NewFile, type NewOutboundDocument, type OutboxEvent, type UnitRecord } from '../../src/ledger/ledger.js';

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wb-ledger-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(path: string): SqliteLedger {
  const ledger = new SqliteLedger(path);
  cleanup.push(() => ledger.close());
  return ledger;
}

function fresh(): { ledger: SqliteLedger; path: string } {
  const path = join(tempDir(), 'ledger.db');
  return { ledger: open(path), path };
}

const FILE: NewFile = {
  id: 'sha256-aaaa', size: 120, partner: 'acme-freight', transport: 'folder', originalName: 'in.edi',
  originalPath: '/inbound/in.edi', storedPath: 'files/sha256-aaaa', receivedAt: '2025-01-01T00:00:00.000Z',
};

function unit(i: number, fileId = FILE.id): UnitRecord {
  return {
    id: `${fileId}-u${i}`, fileId, index: i, partner: 'acme-freight', label: `214 #${i}`, setId: '214', control: String(1000 + i),
    state: 'translated', errors: [], references: { pro: `PRO${i}` },
  };
}

function event(i: number, extra: Partial<OutboxEvent> = {}): OutboxEvent {
  return {
    id: `evt_${String(i).padStart(4, '0')}`, fileId: FILE.id, unitId: `${FILE.id}-u${i}`, type: 'shipment.status@1', partner: 'acme-freight',
    payload: JSON.stringify({ id: `evt_${i}`, n: i }), ...extra,
  };
}

describe('migrations', () => {
  it('a new ledger gets every migration once, in WAL mode; reopening applies nothing again', async () => {
    const { ledger, path } = fresh();
    await ledger.close();
    const db = new Database(path, { readonly: true });
    try {
      const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
      expect(versions.map((v) => v.version)).toEqual(Array.from({ length: LEDGER_SCHEMA_VERSION }, (_, i) => i + 1));
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
      expect(tables).toEqual(expect.arrayContaining(['files', 'units', 'outbox', 'interchanges', 'facts', 'duplicate_facts',
        'control_numbers', 'outbound_documents', 'deliveries', 'audit']));
    } finally {
      db.close();
    }
    const again = open(path);
    expect((await again.recordFile(FILE)).created).toBe(true);
    await again.close();
    const db2 = new Database(path, { readonly: true });
    expect((db2.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(LEDGER_SCHEMA_VERSION);
    db2.close();
    // The data survived the reopen.
    expect((await open(path).getFile(FILE.id))?.originalName).toBe('in.edi');
  });

  /** The LedgerFault `new SqliteLedger(path)` throws (the test fails when it opens). */
  function openFault(path: string): LedgerFault {
    try {
      open(path);
    } catch (e) {
      expect(e).toBeInstanceOf(LedgerFault);
      return e as LedgerFault;
    }
    throw new Error(`the ledger ${path} opened`);
  }

  it('a file that is not a database: LEDGER_OPEN_FAILED naming the file and SQLITE_NOTADB, and the file is left as it was', () => {
    const path = join(tempDir(), 'ledger.db');
    const junk = Buffer.from('this is no SQLite database, only text that happens to sit where the ledger belongs\n'.repeat(100));
    writeFileSync(path, junk);
    const fault = openFault(path);
    expect(fault.code).toBe('LEDGER_OPEN_FAILED');
    expect(fault.message).toBe(`cannot open ledger ${path}: file is not a database (SQLITE_NOTADB); the file is damaged or is not a Waybill ledger: `
      + 'restore it from a backup, or move it aside to start with an empty ledger');
    expect(readFileSync(path).equals(junk)).toBe(true);
  });

  it('a ledger whose schema page is damaged: LEDGER_OPEN_FAILED with SQLITE_CORRUPT', async () => {
    const { ledger, path } = fresh();
    await ledger.recordFile(FILE);
    await ledger.close();
    // Page 1 past SQLite's 100-byte header holds the schema table's b-tree: overwritten, no table can be found.
    const bytes = readFileSync(path);
    bytes.fill(0xa5, 100, 4096);
    writeFileSync(path, bytes);
    const fault = openFault(path);
    expect(fault.code).toBe('LEDGER_OPEN_FAILED');
    expect(fault.message).toMatch(new RegExp(`^cannot open ledger ${path}: .* \\(SQLITE_CORRUPT\\); the file is damaged or is not a Waybill ledger`));
  });

  it('refuses a ledger with a newer schema (LEDGER_SCHEMA_TOO_NEW) and leaves it untouched', async () => {
    const { ledger, path } = fresh();
    await ledger.recordFile(FILE);
    await ledger.close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(LEDGER_SCHEMA_VERSION + 1, new Date().toISOString());
    db.close();
    let err: unknown;
    try {
      open(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LedgerFault);
    expect((err as LedgerFault).code).toBe('LEDGER_SCHEMA_TOO_NEW');
    expect((err as Error).message).toMatch(new RegExp(`schema version ${LEDGER_SCHEMA_VERSION + 1}, newer than this Waybill knows \\(${LEDGER_SCHEMA_VERSION}\\)`));
    const check = new Database(path, { readonly: true });
    expect((check.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(LEDGER_SCHEMA_VERSION + 1);
    expect((check.prepare('SELECT COUNT(*) AS n FROM files').get() as { n: number }).n).toBe(1);
    check.close();
  });

  it('migration 3 keeps a version-2 ledger\'s outbox (order, publication, consumption) and its business facts', async () => {
    const path = join(tempDir(), 'ledger.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    for (const [i, sql] of LEDGER_MIGRATIONS.slice(0, 2).entries()) {
      old.exec(sql);
      old.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(i + 1, '2025-01-01T00:00:00.000Z');
    }
    const hexKey = 'ab'.repeat(32); // what the pipeline's factKey() writes
    const insert = old.prepare(`INSERT INTO outbox (id, seq, file_id, unit_id, type, partner, payload, created_at, published_at, consumed_at)
      VALUES (?, ?, ?, ?, 'shipment.status@1', 'acme-freight', ?, '2025-01-01T00:00:00.000Z', ?, ?)`);
    // Stored out of seq order on purpose: the outbox order is seq, not insertion order.
    insert.run('evt_0002', 7, FILE.id, `${FILE.id}-u2`, event(2).payload, null, null);
    insert.run('evt_0000', 3, FILE.id, `${FILE.id}-u0`, event(0).payload, '2025-01-01T00:00:01.000Z', '2025-01-01T00:00:02.000Z');
    insert.run('evt_0001', 5, FILE.id, `${FILE.id}-u1`, event(1).payload, '2025-01-01T00:00:01.000Z', null);
    old.prepare('INSERT INTO facts (key, event_id) VALUES (?, ?)').run(hexKey, 'evt_0000');
    old.prepare('INSERT INTO facts (key, event_id) VALUES (?, ?)').run('PRO1|D1|2025-01-01T10:00Z', 'evt_0001');
    old.close();

    const ledger = open(path);
    expect((await ledger.unpublished(10)).map((e) => [e.id, e.seq])).toEqual([['evt_0002', 7]]);
    expect(await ledger.getEvent('evt_0000')).toMatchObject({ seq: 3, publishedAt: '2025-01-01T00:00:01.000Z', consumedAt: '2025-01-01T00:00:02.000Z', payload: event(0).payload });
    // Migration 5 moved every payload beside its row.
    expect((await ledger.unpublished(10))[0].payload).toBe(event(2).payload);
    expect((await ledger.getEvent('evt_0001'))?.payload).toBe(event(1).payload);
    expect(await ledger.countEvents()).toEqual({ total: 3, unpublished: 1, published: 2, consumed: 1 });
    expect(await ledger.republishUnconsumed()).toBe(1);
    expect((await ledger.unpublished(10)).map((e) => e.id)).toEqual(['evt_0001', 'evt_0002']);
    // The migrated facts still recognise the same business fact under another event id (both key forms).
    await ledger.recordFile(FILE);
    expect(await ledger.commitBatch({ fileId: FILE.id, units: [unit(0), unit(1)],
      events: [event(8, { factKey: hexKey }), event(9, { factKey: 'PRO1|D1|2025-01-01T10:00Z' })], unitsDone: 2 }))
      .toEqual({ newEvents: 0, duplicateFacts: ['evt_0008', 'evt_0009'] });
    // New events go after the migrated ones.
    await ledger.commitBatch({ fileId: FILE.id, units: [unit(2)], events: [event(10)], unitsDone: 3 });
    expect((await ledger.unpublished(10)).map((e) => [e.id, e.seq])).toEqual([['evt_0001', 5], ['evt_0002', 7], ['evt_0010', 8]]);
    await ledger.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT hex(key) AS k FROM facts ORDER BY event_id').pluck().all()).toEqual(
      [factKeyBytes(hexKey).toString('hex').toUpperCase(), factKeyBytes('PRO1|D1|2025-01-01T10:00Z').toString('hex').toUpperCase()]);
    expect(db.prepare("SELECT COUNT(*) FROM pragma_table_info('outbox') WHERE name = 'payload'").pluck().get()).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM outbox_payloads').pluck().get()).toBe(4);
    db.close();
  });

  it('migration 6 keeps a version-5 ledger\'s interchanges, as recorded without partner or id part', async () => {
    const path = join(tempDir(), 'ledger.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    old.function('waybill_fact_key', { deterministic: true }, (key: unknown) => factKeyBytes(String(key)));
    for (const [i, sql] of LEDGER_MIGRATIONS.slice(0, 5).entries()) {
      old.exec(sql);
      old.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(i + 1, '2025-01-01T00:00:00.000Z');
    }
    old.prepare('INSERT INTO interchanges (sender_qualifier, sender_id, control, file_id, received_at) VALUES (?, ?, ?, ?, ?)')
      .run('02', 'PRLF', '000005501', 'sha256-old', '2025-01-01T00:00:00.000Z');
    old.close();
    const ledger = open(path);
    expect(await ledger.interchangesWithControl('000005501')).toEqual([
      { senderQualifier: '02', senderId: 'PRLF', control: '000005501', fileId: 'sha256-old', receivedAt: '2025-01-01T00:00:00.000Z', interchangeReuse: null },
    ]);
  });

  it('migration 7 gives every file of a version-6 ledger its first arrival', async () => {
    const path = join(tempDir(), 'ledger.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    old.function('waybill_fact_key', { deterministic: true }, (key: unknown) => factKeyBytes(String(key)));
    for (const [i, sql] of LEDGER_MIGRATIONS.slice(0, 6).entries()) {
      old.exec(sql);
      old.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(i + 1, '2025-01-01T00:00:00.000Z');
    }
    old.prepare(`INSERT INTO files (id, size, partner, transport, original_name, original_path, stored_path, received_at, state, updated_at)
      VALUES (?, 1, ?, 'folder', 'in.csv', '/inbound/in.csv', 'files/x', '2025-01-01T00:00:00.000Z', 'failed', '2025-01-01T00:00:00.000Z')`).run(FILE.id, null);
    old.close();
    const ledger = open(path);
    expect(await ledger.arrivals(FILE.id)).toEqual([{ fileId: FILE.id, receivedAt: '2025-01-01T00:00:00.000Z', partner: null, transport: 'folder',
      originalName: 'in.csv', originalPath: '/inbound/in.csv', outcome: 'created' }]);
    // A file failed before the migration is re-opened by its next arrival too.
    expect((await ledger.recordFile({ ...FILE, receivedAt: '2025-02-01T00:00:00.000Z' })).reopened).toBe(true);
  });

  it('migration 8 indexes a version-7 ledger\'s files and units with errors: the files that failed before it are counted by code', async () => {
    const path = join(tempDir(), 'ledger.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    old.function('waybill_fact_key', { deterministic: true }, (key: unknown) => factKeyBytes(String(key)));
    for (const [i, sql] of LEDGER_MIGRATIONS.slice(0, 7).entries()) {
      old.exec(sql);
      old.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(i + 1, '2025-01-01T00:00:00.000Z');
    }
    const insertFile = old.prepare(`INSERT INTO files (id, size, partner, transport, original_name, stored_path, received_at, state, errors, updated_at)
      VALUES (?, 1, NULL, 'folder', 'in.csv', 'files/x', '2025-01-01T00:00:00.000Z', 'failed', ?, '2025-01-01T00:00:00.000Z')`);
    insertFile.run('sha256-csv', JSON.stringify([{ code: 'PARTNER_UNKNOWN', message: 'no partner' }]));
    const empty = { code: 'PIPELINE_EMPTY_FILE', message: 'the file is empty', line: 1, column: 1 };
    insertFile.run('sha256-empty', JSON.stringify([empty]));
    old.prepare(`INSERT INTO units (id, file_id, idx, partner, label, state, errors, refs) VALUES ('sha256-empty-u0', 'sha256-empty', 0, NULL, 'file', 'rejected', ?, '{}')`)
      .run(JSON.stringify([empty]));
    old.close();
    const ledger = open(path);
    expect((await ledger.stats()).errors).toEqual({ PARTNER_UNKNOWN: 1, PIPELINE_EMPTY_FILE: 1 });
  });

  it('two processes migrating a new ledger at once: both open it (the version is re-read under the write lock)', async () => {
    // Deterministic: this process holds the write lock while two children open the ledger. Both read
    // "version 0" and wait for the lock; when it is released, one migrates, and the other must see that
    // instead of running migration 1 again ("table files already exists").
    const dir = tempDir();
    const path = join(dir, 'ledger.db');
    const holder = new Database(path);
    holder.pragma('journal_mode = WAL');
    holder.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    holder.exec('BEGIN IMMEDIATE');
    const script = fileURLToPath(new URL('./allocate-control.ts', import.meta.url));
    const children = [0, 1].map(() => {
      const proc = spawn(process.execPath, ['--import', 'tsx', script, path, 'acme', '1', '7'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } });
      let out = '';
      let err = '';
      proc.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      proc.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
      const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
      return { proc, exit, out: () => out, err: () => err };
    });
    try {
      // Both are about to open the ledger (bounded wait) ...
      for (let i = 0; i < 400 && !children.every((c) => c.out().includes('OPENING')); i++) await new Promise((r) => setTimeout(r, 25));
      expect(children.every((c) => c.out().includes('OPENING'))).toBe(true);
      // ... give them a moment to read the version and queue on the lock (busy_timeout is 10 s).
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      holder.exec('COMMIT');
      holder.close();
    }
    const codes = await Promise.all(children.map((c) => c.exit));
    for (const [i, c] of children.entries()) expect({ code: codes[i], stderr: c.err().split('\n').find((l) => /Error|error/.test(l)) ?? '' }).toEqual({ code: 0, stderr: '' });
    const check = new Database(path, { readonly: true });
    expect((check.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(LEDGER_SCHEMA_VERSION);
    check.close();
  }, 60_000);
});

describe('files', () => {
  it('recordFile is idempotent: the same id again keeps the first record and says created=false', async () => {
    const { ledger } = fresh();
    const first = await ledger.recordFile(FILE);
    expect(first.created).toBe(true);
    expect(first.file).toMatchObject({ id: FILE.id, state: 'received', attempts: 0, unitsDone: 0, errors: [], partner: 'acme-freight' });
    const second = await ledger.recordFile({ ...FILE, originalName: 'again.edi', receivedAt: '2025-02-01T00:00:00.000Z', transport: 'sftp' });
    expect(second).toMatchObject({ created: false, reopened: false });
    expect(second.file).toEqual(first.file);
    expect(await ledger.listFiles()).toHaveLength(1);
  });

  it('recordFile keeps every arrival; one that finds the file failed re-opens it with its own partner, transport, name and time, in the same commit', async () => {
    const { ledger, path } = fresh();
    await ledger.recordFile({ ...FILE, partner: 'prairie_line' });
    await ledger.setFileState(FILE.id, 'translating');
    await ledger.commitBatch({ fileId: FILE.id, units: [unit(0), unit(1)], events: [], unitsDone: 2 });
    await ledger.finishFile(FILE.id, 'failed', [], [{ code: 'PARTNER_ACCOUNT_MISMATCH', message: 'not yours' }]);
    const failed = await ledger.getFile(FILE.id);
    const arrival = { ...FILE, partner: null, transport: 'sftp', originalName: 'again.edi', originalPath: '/in/again.edi', receivedAt: '2025-02-01T00:00:00.000Z' };
    const r = await ledger.recordFile(arrival);
    expect(r).toEqual({
      created: false, reopened: true, previous: failed,
      file: { ...failed, partner: null, transport: 'sftp', originalName: 'again.edi', originalPath: '/in/again.edi', receivedAt: '2025-02-01T00:00:00.000Z',
        state: 'received', errors: [], unitsDone: 0, attempts: 1 },
    });
    expect(await ledger.units(FILE.id)).toEqual([]);
    // Not failed (received, translating, translated): nothing changes but the arrival being kept.
    const again = await ledger.recordFile({ ...arrival, partner: 'acme-freight', receivedAt: '2025-03-01T00:00:00.000Z' });
    expect(again).toEqual({ created: false, reopened: false, file: r.file });
    expect((await ledger.arrivals(FILE.id)).map((a) => [a.outcome, a.partner, a.transport, a.originalName, a.receivedAt])).toEqual([
      ['created', 'prairie_line', 'folder', 'in.edi', '2025-01-01T00:00:00.000Z'],
      ['reopened', null, 'sftp', 'again.edi', '2025-02-01T00:00:00.000Z'],
      ['again', 'acme-freight', 'sftp', 'again.edi', '2025-03-01T00:00:00.000Z'],
    ]);
    expect(await ledger.arrivals('sha256-none')).toEqual([]);
    // Durable: another connection sees all of it.
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM file_arrivals').pluck().get()).toBe(3);
    db.close();
  });

  it('setFileState counts translation attempts and keeps errors and partner', async () => {
    const { ledger } = fresh();
    await ledger.recordFile({ ...FILE, partner: null });
    await ledger.setFileState(FILE.id, 'translating');
    await ledger.setFileState(FILE.id, 'translating', { partner: 'acme-freight' });
    await ledger.setFileState(FILE.id, 'failed', { errors: [{ code: 'X12_NO_ISA', message: 'no ISA', line: 1, column: 1 }] });
    expect(await ledger.getFile(FILE.id)).toMatchObject({
      attempts: 2, state: 'failed', partner: 'acme-freight', errors: [{ code: 'X12_NO_ISA', message: 'no ISA', line: 1, column: 1 }],
    });
    expect(await ledger.listFiles({ state: 'failed' })).toHaveLength(1);
    expect(await ledger.listFiles({ state: ['received', 'translated'] })).toHaveLength(0);
    expect(await ledger.getFile('sha256-none')).toBeNull();
  });
});

describe('commitBatch and finishFile', () => {
  it('ignores events already in the outbox (a batch committed again after a crash)', async () => {
    const { ledger } = fresh();
    await ledger.recordFile(FILE);
    const batch = { fileId: FILE.id, units: [unit(0), unit(1)], events: [event(0), event(1)], unitsDone: 2 };
    expect(await ledger.commitBatch(batch)).toEqual({ newEvents: 2, duplicateFacts: [] });
    expect(await ledger.commitBatch(batch)).toEqual({ newEvents: 0, duplicateFacts: [] });
    expect(await ledger.commitBatch({ fileId: FILE.id, units: [unit(1), unit(2)], events: [event(1), event(2)], unitsDone: 3 }))
      .toEqual({ newEvents: 1, duplicateFacts: [] });
    expect((await ledger.countEvents()).total).toBe(3);
    expect((await ledger.units(FILE.id)).map((u) => u.index)).toEqual([0, 1, 2]);
    expect((await ledger.units(FILE.id))[0]).toEqual(unit(0));
    expect((await ledger.getFile(FILE.id))?.unitsDone).toBe(3);
    // The checkpoint never goes back.
    await ledger.commitBatch({ fileId: FILE.id, units: [], events: [], unitsDone: 1 });
    expect((await ledger.getFile(FILE.id))?.unitsDone).toBe(3);
    // Outbox order is commit order.
    expect((await ledger.unpublished(10)).map((e) => e.id)).toEqual(['evt_0000', 'evt_0001', 'evt_0002']);
  });

  it('commits rows staged ahead of a batch with it, staged rows first; a batch missing staged parts commits nothing', async () => {
    const { ledger } = fresh();
    await ledger.recordFile(FILE);
    const seen = { senderQualifier: 'ZZ', senderId: 'ACME', control: '000000001', fileId: FILE.id, receivedAt: '2025-01-01T00:00:00.000Z' };
    ledger.stage({ fileId: FILE.id, units: [unit(0), unit(1)], events: [event(0), event(1)], interchanges: [seen] });
    ledger.stage({ fileId: FILE.id, units: [unit(2)], events: [event(2)] });
    // Staged rows are not committed (nor visible) before their batch.
    expect((await ledger.countEvents()).total).toBe(0);
    expect(await ledger.commitBatch({ fileId: FILE.id, units: [unit(3)], events: [event(3)], unitsDone: 4, staged: 2 }))
      .toEqual({ newEvents: 4, duplicateFacts: [] });
    expect((await ledger.unpublished(10)).map((e) => [e.id, e.seq])).toEqual([['evt_0000', 1], ['evt_0001', 2], ['evt_0002', 3], ['evt_0003', 4]]);
    expect((await ledger.units(FILE.id)).map((u) => u.index)).toEqual([0, 1, 2, 3]);
    expect(await ledger.priorInterchange({ ...seen, fileId: 'sha256-other' }, 30)).toEqual({ duplicateOf: FILE.id });
    expect((await ledger.getFile(FILE.id))?.unitsDone).toBe(4);

    // One part staged, two announced (a part lost on the way): nothing of the batch is committed, and the
    // part that was there is dropped with it (the file is translated again from its checkpoint).
    ledger.stage({ fileId: FILE.id, units: [unit(4)], events: [event(4)] });
    const err = await ledger.commitBatch({ fileId: FILE.id, units: [unit(5)], events: [event(5)], unitsDone: 6, staged: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerFault);
    expect((err as LedgerFault).code).toBe('LEDGER_BATCH_INCOMPLETE');
    expect((err as Error).message).toContain('expected 2 staged part(s) and the ledger holds 1');
    expect((await ledger.countEvents()).total).toBe(4);
    expect((await ledger.getFile(FILE.id))?.unitsDone).toBe(4);
    // A part left by an attempt that failed before its batch committed is dropped by the next batch of
    // the file, which takes only the parts it announces (the last ones staged), and never committed later.
    ledger.stage({ fileId: FILE.id, units: [unit(9)], events: [event(9)] });
    ledger.stage({ fileId: FILE.id, units: [unit(4)], events: [event(4)] });
    expect(await ledger.commitBatch({ fileId: FILE.id, units: [unit(5)], events: [event(5)], unitsDone: 6, staged: 1 }))
      .toEqual({ newEvents: 2, duplicateFacts: [] });
    ledger.stage({ fileId: FILE.id, units: [unit(9)], events: [event(9)] });
    expect(await ledger.commitBatch({ fileId: FILE.id, units: [unit(6)], events: [event(6)], unitsDone: 7 }))
      .toEqual({ newEvents: 1, duplicateFacts: [] });
    // finishFile drops what is left too.
    ledger.stage({ fileId: FILE.id, units: [unit(9)], events: [event(9)] });
    await ledger.finishFile(FILE.id, 'translated', []);
    expect(await ledger.commitBatch({ fileId: FILE.id, units: [], events: [], unitsDone: 7 })).toEqual({ newEvents: 0, duplicateFacts: [] });
    expect((await ledger.unpublished(10)).map((e) => e.id)).toEqual(['evt_0000', 'evt_0001', 'evt_0002', 'evt_0003', 'evt_0004', 'evt_0005', 'evt_0006']);
  });

  it('refuses a batch that starts past the checkpoint (one before it did not commit): LEDGER_BATCH_GAP, nothing committed', async () => {
    const { ledger } = fresh();
    await ledger.recordFile(FILE);
    const seen = { senderQualifier: 'ZZ', senderId: 'ACME', control: '000000009', fileId: FILE.id, receivedAt: '2025-01-01T00:00:00.000Z' };
    await ledger.commitBatch({ fileId: FILE.id, units: [unit(0), unit(1)], events: [event(0), event(1)], unitsDone: 2 });
    // The next batch fails (its staged part is missing) while the one after it is already on its way, as
    // the pipeline hands them over: that one must not commit, or the checkpoint would pass units 2-3.
    await expect(ledger.commitBatch({ fileId: FILE.id, units: [unit(3)], events: [event(3)], unitsDone: 4, staged: 1 }))
      .rejects.toMatchObject({ code: 'LEDGER_BATCH_INCOMPLETE' });
    const gap = await ledger.commitBatch({ fileId: FILE.id, units: [unit(4), unit(5)], events: [event(4), event(5)], unitsDone: 6, interchanges: [seen] })
      .catch((e: unknown) => e);
    expect(gap).toBeInstanceOf(LedgerFault);
    expect(gap).toMatchObject({ code: 'LEDGER_BATCH_GAP', message: expect.stringContaining('starts at unit 4 and the file\'s checkpoint is 2') });
    // A batch without units may not move the checkpoint over them either.
    await expect(ledger.commitBatch({ fileId: FILE.id, units: [], events: [], unitsDone: 6, interchanges: [seen] }))
      .rejects.toMatchObject({ code: 'LEDGER_BATCH_GAP' });
    expect((await ledger.getFile(FILE.id))?.unitsDone).toBe(2);
    expect((await ledger.units(FILE.id)).map((u) => u.index)).toEqual([0, 1]);
    expect((await ledger.countEvents()).total).toBe(2);
    expect(await ledger.priorInterchange({ ...seen, fileId: 'sha256-other' }, 30)).toEqual({ duplicateOf: null });
    // From the checkpoint, the file goes on; a batch committed again below it is still accepted.
    expect(await ledger.commitBatch({ fileId: FILE.id, units: [unit(2), unit(3), unit(4), unit(5)], events: [event(2), event(3), event(4), event(5)], unitsDone: 6 }))
      .toEqual({ newEvents: 4, duplicateFacts: [] });
    expect(await ledger.commitBatch({ fileId: FILE.id, units: [unit(1)], events: [event(1)], unitsDone: 2 })).toEqual({ newEvents: 0, duplicateFacts: [] });
    expect((await ledger.unpublished(10)).map((e) => e.id)).toEqual(['evt_0000', 'evt_0001', 'evt_0002', 'evt_0003', 'evt_0004', 'evt_0005']);
    expect((await ledger.getFile(FILE.id))?.unitsDone).toBe(6);
  });

  it('publishable() reads what the relay publishes, in outbox order, after a given seq', async () => {
    const { ledger } = fresh();
    await ledger.recordFile(FILE);
    await ledger.commitBatch({ fileId: FILE.id, units: [unit(0), unit(1), unit(2)], events: [event(0), event(1), event(2)], unitsDone: 3 });
    await ledger.markBatchPublished(1, 1, '2025-01-01T00:00:01.000Z');
    expect(await ledger.publishable(10)).toEqual([
      { seq: 2, id: 'evt_0001', type: event(1).type, payload: event(1).payload },
      { seq: 3, id: 'evt_0002', type: event(2).type, payload: event(2).payload },
    ]);
    expect((await ledger.publishable(10, 2)).map((e) => e.id)).toEqual(['evt_0002']);
    expect((await ledger.publishable(1)).map((e) => e.id)).toEqual(['evt_0001']);
  });

  it('flags an event whose business fact is already recorded under another id, and does not publish it', async () => {
    const { ledger } = fresh();
    await ledger.recordFile(FILE);
    const r1 = await ledger.commitBatch({ fileId: FILE.id, units: [unit(0)], events: [event(0, { factKey: 'PRO0|D1|2025-01-01T10:00Z' })], unitsDone: 1 });
    expect(r1).toEqual({ newEvents: 1, duplicateFacts: [] });
    // The same fact again, from another transaction (another id): flagged, not in the outbox.
    const r2 = await ledger.commitBatch({
      fileId: FILE.id, units: [unit(1)],
      events: [event(1, { factKey: 'PRO0|D1|2025-01-01T10:00Z' }), event(2, { factKey: 'PRO2|D1|2025-01-01T10:00Z' })], unitsDone: 2,
    });
    expect(r2).toEqual({ newEvents: 1, duplicateFacts: ['evt_0001'] });
    expect(await ledger.getEvent('evt_0001')).toBeNull();
    // The original event committed again (crash replay) is not a duplicate of itself.
    expect(await ledger.commitBatch({ fileId: FILE.id, units: [unit(0)], events: [event(0, { factKey: 'PRO0|D1|2025-01-01T10:00Z' })], unitsDone: 1 }))
      .toEqual({ newEvents: 0, duplicateFacts: [] });
    expect((await ledger.unpublished(10)).map((e) => e.id)).toEqual(['evt_0000', 'evt_0002']);
  });

  it('an event whose id another file\'s event holds, with other content: not recorded, its unit failed with LEDGER_EVENT_ID_TAKEN in the same commit, its fact not kept', async () => {
    const { ledger } = fresh();
    const other = { ...FILE, id: 'sha256-bbbb', storedPath: 'files/sha256-bbbb' };
    await ledger.recordFile(FILE);
    await ledger.recordFile(other);
    const payload = (pro: string, fileId: string) => JSON.stringify({ id: 'evt_0000', type: 'shipment.status@1', references: { proNumber: pro }, receivedAt: fileId, source: { fileId } });
    await ledger.commitBatch({ fileId: FILE.id, units: [unit(0)], events: [event(0, { payload: payload('PRO-A', FILE.id), factKey: 'PRO-A|D1' })], unitsDone: 1 });
    const theirs = { id: 'evt_0000', fileId: other.id, unitId: `${other.id}-u0`, type: 'shipment.status@1', partner: 'acme-freight' };
    const r = await ledger.commitBatch({ fileId: other.id, units: [unit(0, other.id)], unitsDone: 1,
      events: [{ ...theirs, payload: payload('PRO-B', other.id), factKey: 'PRO-B|D1' }] });
    expect(r).toEqual({ newEvents: 0, duplicateFacts: [], eventIdCollisions: [{ eventId: 'evt_0000', unitId: `${other.id}-u0`, otherFileId: FILE.id, sameContent: false }] });
    const [u] = await ledger.units(other.id);
    expect(u.state).toBe('failed');
    expect(u.errors).toEqual([{ code: 'LEDGER_EVENT_ID_TAKEN', message: expect.stringContaining(`file ${FILE.id} already gave events with these ids`) }]);
    expect((await ledger.stats()).errors).toEqual({ LEDGER_EVENT_ID_TAKEN: 1 });
    expect((await ledger.getEvent('evt_0000'))?.fileId).toBe(FILE.id);
    // PRO-B's fact was not kept under an event that does not carry it: a later event with it is no duplicate.
    expect(await ledger.commitBatch({ fileId: other.id, units: [unit(1, other.id)], unitsDone: 2,
      events: [{ ...theirs, id: 'evt_0009', unitId: `${other.id}-u1`, payload: payload('PRO-B', other.id), factKey: 'PRO-B|D1' }] }))
      .toEqual({ newEvents: 1, duplicateFacts: [] });
    // The batch committed again (a crash before the file finished): the unit says it once.
    await ledger.commitBatch({ fileId: other.id, units: [unit(0, other.id)], unitsDone: 1, events: [{ ...theirs, payload: payload('PRO-B', other.id) }] });
    expect((await ledger.units(other.id))[0].errors).toHaveLength(1);
  });

  it('an event whose id another file\'s event holds with the same content (but where and when it was read) is reported, and nothing is marked', async () => {
    const { ledger } = fresh();
    const other = { ...FILE, id: 'sha256-bbbb', storedPath: 'files/sha256-bbbb' };
    await ledger.recordFile(FILE);
    await ledger.recordFile(other);
    const payload = (fileId: string, at: string) => JSON.stringify({ id: 'evt_0000', references: { proNumber: 'PRO-A' }, receivedAt: at, source: { fileId, line: 3 } });
    await ledger.commitBatch({ fileId: FILE.id, units: [unit(0)], events: [event(0, { payload: payload(FILE.id, '2025-01-01') })], unitsDone: 1 });
    const r = await ledger.commitBatch({ fileId: other.id, units: [unit(0, other.id)], unitsDone: 1,
      events: [{ id: 'evt_0000', fileId: other.id, unitId: `${other.id}-u0`, type: 'shipment.status@1', partner: 'acme-freight', payload: payload(other.id, '2025-02-01') }] });
    expect(r.eventIdCollisions).toEqual([{ eventId: 'evt_0000', unitId: `${other.id}-u0`, otherFileId: FILE.id, sameContent: true }]);
    expect((await ledger.units(other.id)).map((x) => [x.state, x.errors])).toEqual([['translated', []]]);
  });

  it('finishFile writes the file\'s errors with its state and acknowledgments, in one commit; without errors it keeps those recorded', async () => {
    const { ledger } = fresh();
    await ledger.recordFile(FILE);
    const errors = [{ code: 'X12_IEA_MISSING', message: 'interchange 000000001 has no IEA trailer', line: 9, column: 1 }];
    await ledger.finishFile(FILE.id, 'translated', [], errors);
    expect(await ledger.getFile(FILE.id)).toMatchObject({ state: 'translated', errors });
    await ledger.finishFile(FILE.id, 'translated', []);
    expect((await ledger.getFile(FILE.id))?.errors).toEqual(errors);
  });

  it('stats() counts errors by code: every error on a unit, and each file-level error no unit of its file carries', async () => {
    const { ledger } = fresh();
    const file = (id: string): NewFile => ({ ...FILE, id, storedPath: `files/${id}` });
    // A CSV without its partner: failed as a whole, with no unit at all.
    await ledger.recordFile(file('sha256-csv'));
    await ledger.finishFile('sha256-csv', 'failed', [], [{ code: 'PARTNER_UNKNOWN', message: "a CSV file needs a known partner; got 'none'" }]);
    // An empty file: its finding is a unit of its own and the file's error, the same error twice: counted once.
    const empty = { code: 'PIPELINE_EMPTY_FILE', message: 'the file is empty', line: 1, column: 1 };
    await ledger.recordFile(file('sha256-empty'));
    await ledger.commitBatch({ fileId: 'sha256-empty', units: [{ ...unit(0, 'sha256-empty'), label: 'file', state: 'rejected', errors: [empty] }], events: [], unitsDone: 1 });
    await ledger.finishFile('sha256-empty', 'failed', [], [empty]);
    // Two interchanges through another partner's folder: the first one's two sets carry its refusal, the
    // second has no set, so only the file says it. And one set's own error; an acknowledgment that could
    // not be written, which no unit carries.
    const refused = (control: string) => ({ code: 'PARTNER_ACCOUNT_MISMATCH', message: `interchange ${control} arrived through the folder of partner 'x'`, line: 1, column: 1 });
    const mixed = 'sha256-mixed';
    await ledger.recordFile(file(mixed));
    await ledger.commitBatch({
      fileId: mixed, unitsDone: 3, events: [], units: [
        { ...unit(0, mixed), state: 'unidentified', errors: [refused('000000001')] },
        { ...unit(1, mixed), state: 'unidentified', errors: [refused('000000001'), { code: 'X12_SE_COUNT_MISMATCH', message: 'SE01 says 9', line: 12, column: 4 }] },
        { ...unit(2, mixed), state: 'translated', errors: [] },
      ],
    });
    await ledger.finishFile(mixed, 'failed', [], [refused('000000001'), refused('000000002'),
      { code: 'X12_WRITE_VALUE_TOO_LONG', message: 'interchange 000000003 is not acknowledged: ISA08 too long', line: 30, column: 1 }]);
    // A file that failed for a fault (dispatcher.markUntranslatable), after translating some units.
    await ledger.recordFile(file('sha256-fault'));
    await ledger.commitBatch({ fileId: 'sha256-fault', units: [{ ...unit(0, 'sha256-fault'), state: 'failed', errors: [{ code: 'MAP_BAD_DATE', message: 'bad date' }] }], events: [], unitsDone: 1 });
    await ledger.setFileState('sha256-fault', 'failed', { errors: [{ code: 'PIPELINE_TRANSLATION_FAULT', message: 'boom' }] });

    expect((await ledger.stats()).errors).toEqual({
      PARTNER_UNKNOWN: 1, PIPELINE_EMPTY_FILE: 1, PARTNER_ACCOUNT_MISMATCH: 3, X12_SE_COUNT_MISMATCH: 1, X12_WRITE_VALUE_TOO_LONG: 1,
      MAP_BAD_DATE: 1, PIPELINE_TRANSLATION_FAULT: 1,
    });
    // A failed file taken in again starts over: its file-level errors go with its units.
    await ledger.recordFile({ ...file('sha256-csv'), partner: 'sangamon-valley', receivedAt: '2025-02-01T00:00:00.000Z' });
    expect((await ledger.stats()).errors).not.toHaveProperty('PARTNER_UNKNOWN');
  });

  it('finishFile records acknowledgments once, also when the file is finished again after a crash', async () => {
    const { ledger } = fresh();
    await ledger.recordFile(FILE);
    const ack: NewOutboundDocument = {
      id: `ack-${FILE.id}-000000001`, partner: 'acme-freight', kind: '997', relatedFileId: FILE.id, content: 'ISA*...~', controls: { interchange: '7', group: '7', transaction: '0001' },
    };
    await ledger.finishFile(FILE.id, 'translated', [ack]);
    await ledger.finishFile(FILE.id, 'translated', [{ ...ack, content: 'ISA*different~' }]);
    const docs = await ledger.listOutboundDocuments({ relatedFileId: FILE.id });
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ id: ack.id, kind: '997', content: 'ISA*...~', state: 'pending', attempts: 0, controls: ack.controls });
    expect((await ledger.getFile(FILE.id))?.state).toBe('translated');
    await ledger.setOutboundState(ack.id, 'delivered');
    expect((await ledger.listOutboundDocuments({ state: 'delivered' }))[0]).toMatchObject({ id: ack.id, attempts: 1, lastError: null });
    expect(await ledger.addOutboundDocument(ack)).toEqual({ created: false });
  });
});

describe('outbox life cycle', () => {
  async function withEvents(n: number) {
    const { ledger } = fresh();
    await ledger.recordFile(FILE);
    // Events without units: the file's checkpoint stays at 0 (a batch never claims units it does not carry).
    await ledger.commitBatch({ fileId: FILE.id, units: [], events: Array.from({ length: n }, (_, i) => event(i)), unitsDone: 0 });
    return ledger;
  }

  it('countEvents (kept by triggers) always equals a count of the rows, through every kind of change', async () => {
    const ledger = await withEvents(6);
    const scan = () => {
      const db = new Database(ledger.path, { readonly: true });
      try {
        return db.prepare(`SELECT COUNT(*) AS total, TOTAL(published_at IS NULL) AS unpublished,
          TOTAL(published_at IS NOT NULL) AS published, TOTAL(consumed_at IS NOT NULL) AS consumed FROM outbox`).get();
      } finally {
        db.close();
      }
    };
    const t = '2025-01-01T00:00:01.000Z';
    const steps: [string, () => Promise<unknown>][] = [
      ['committed', async () => undefined],
      ['the same batch again (ignored)', () => ledger.commitBatch({ fileId: FILE.id, units: [], events: [event(0), event(1)], unitsDone: 0 })],
      ['published', () => ledger.markPublished(['evt_0000', 'evt_0001', 'evt_0002', 'evt_0003', 'evt_0003'], t)],
      ['consumed (one never published)', () => ledger.markConsumed(['evt_0000', 'evt_0005', 'evt_0005'], t)],
      ['a batch published by seq range', () => ledger.markBatchPublished(4, 6, t)],
      ['republished', () => ledger.republishUnconsumed()],
      ['more events', () => ledger.commitBatch({ fileId: FILE.id, units: [], events: [event(6), event(7)], unitsDone: 0 })],
    ];
    for (const [what, step] of steps) {
      await step();
      expect(await ledger.countEvents(), what).toEqual(scan());
    }
    expect(await ledger.countEvents()).toEqual({ total: 8, unpublished: 6, published: 2, consumed: 2 });
  });

  it('markBatchPublished marks the unpublished events of a seq range (what one unpublished() call returned), nothing else', async () => {
    const ledger = await withEvents(6); // seq 1..6
    const t0 = '2025-01-01T00:00:01.000Z';
    await ledger.markPublished(['evt_0002'], t0);
    const batch = await ledger.unpublished(3); // evt_0000, evt_0001, evt_0003: seq 1..4
    expect(batch.map((e) => [e.id, e.seq])).toEqual([['evt_0000', 1], ['evt_0001', 2], ['evt_0003', 4]]);
    const t1 = '2025-01-01T00:00:02.000Z';
    await ledger.markBatchPublished(batch[0].seq, batch[batch.length - 1].seq, t1);
    expect((await ledger.unpublished(10)).map((e) => e.id)).toEqual(['evt_0004', 'evt_0005']);
    expect((await ledger.getEvent('evt_0000'))?.publishedAt).toBe(t1);
    expect((await ledger.getEvent('evt_0002'))?.publishedAt).toBe(t0); // published before: its time stays
    expect((await ledger.getEvent('evt_0004'))?.publishedAt).toBeNull();
    expect(await ledger.countEvents()).toEqual({ total: 6, unpublished: 2, published: 4, consumed: 0 });
  });

  it('unpublished -> markPublished -> markConsumed; republishUnconsumed brings back only what was not consumed', async () => {
    const ledger = await withEvents(5);
    expect((await ledger.unpublished(2)).map((e) => e.id)).toEqual(['evt_0000', 'evt_0001']);
    const t1 = '2025-01-01T00:00:01.000Z';
    await ledger.markPublished(['evt_0000', 'evt_0001', 'evt_0002', 'evt_0003'], t1);
    expect((await ledger.unpublished(10)).map((e) => e.id)).toEqual(['evt_0004']);
    // Published again later: the first time stays.
    await ledger.markPublished(['evt_0000'], '2025-01-01T00:09:00.000Z');
    expect((await ledger.getEvent('evt_0000'))?.publishedAt).toBe(t1);

    const t2 = '2025-01-01T00:00:02.000Z';
    await ledger.markConsumed(['evt_0000', 'evt_0001'], t2);
    // Consumed without a recorded publish (a consumer faster than the relay's markPublished): both set.
    await ledger.markConsumed(['evt_0004'], t2);
    expect(await ledger.getEvent('evt_0004')).toMatchObject({ publishedAt: t2, consumedAt: t2 });
    await ledger.markConsumed(['evt_0000'], '2025-01-01T00:09:00.000Z');
    expect((await ledger.getEvent('evt_0000'))?.consumedAt).toBe(t2);
    expect(await ledger.countEvents()).toEqual({ total: 5, unpublished: 0, published: 5, consumed: 3 });

    // Redis lost its data: published but not consumed (2 and 3) are unpublished again, the rest stays.
    expect(await ledger.republishUnconsumed()).toBe(2);
    expect((await ledger.unpublished(10)).map((e) => e.id)).toEqual(['evt_0002', 'evt_0003']);
    expect(await ledger.countEvents()).toEqual({ total: 5, unpublished: 2, published: 3, consumed: 3 });
    expect(await ledger.republishUnconsumed()).toBe(0);
    expect(await ledger.getEvent('evt_0000')).toMatchObject({ fileId: FILE.id, type: 'shipment.status@1', partner: 'acme-freight', payload: event(0).payload });
    expect(await ledger.getEvent('evt_none')).toBeNull();
  });

  it('countEvents on an empty outbox is all zeros', async () => {
    const { ledger } = fresh();
    expect(await ledger.countEvents()).toEqual({ total: 0, unpublished: 0, published: 0, consumed: 0 });
  });
});

describe('deliveries', () => {
  it('counts attempts, goes dead when told, lists by state, and revives only dead deliveries', async () => {
    const { ledger } = fresh();
    expect(await ledger.recordDelivery('evt_a', { ok: false, status: 503, error: 'HTTP 503' })).toMatchObject({ eventId: 'evt_a', attempts: 1, state: 'pending', lastStatus: 503 });
    expect(await ledger.recordDelivery('evt_a', { ok: false, status: null, error: 'timeout' })).toMatchObject({ attempts: 2, state: 'pending', lastStatus: null, lastError: 'timeout' });
    expect(await ledger.recordDelivery('evt_a', { ok: false, status: 500, error: 'HTTP 500', dead: true })).toMatchObject({ attempts: 3, state: 'dead' });
    expect(await ledger.recordDelivery('evt_b', { ok: true, status: 200 })).toMatchObject({ attempts: 1, state: 'delivered', lastError: null });
    await ledger.recordDelivery('evt_c', { ok: false, status: 400, error: 'HTTP 400', dead: true });

    expect((await ledger.deliveries({ state: 'dead' })).map((d) => d.eventId).sort()).toEqual(['evt_a', 'evt_c']);
    expect((await ledger.deliveries({ state: 'delivered' })).map((d) => d.eventId)).toEqual(['evt_b']);
    expect(await ledger.deliveries()).toHaveLength(3);
    expect(await ledger.deliveries({ limit: 2 })).toHaveLength(2);
    expect((await ledger.deliveries({ state: 'dead' })).find((d) => d.eventId === 'evt_a')).toMatchObject({ attempts: 3, lastStatus: 500, lastError: 'HTTP 500' });

    expect(await ledger.reviveDelivery('evt_a')).toBe(true);
    expect(await ledger.reviveDelivery('evt_a')).toBe(false);
    expect(await ledger.reviveDelivery('evt_b')).toBe(false);
    expect(await ledger.reviveDelivery('evt_unknown')).toBe(false);
    expect((await ledger.deliveries({ state: 'pending' }))[0]).toMatchObject({ eventId: 'evt_a', attempts: 0 });
    // After a revive the attempts count from 1 again.
    expect(await ledger.recordDelivery('evt_a', { ok: true, status: 204 })).toMatchObject({ attempts: 1, state: 'delivered', lastStatus: 204 });
    expect((await ledger.deliveries({ state: 'dead' })).map((d) => d.eventId)).toEqual(['evt_c']);
  });
});

describe('control numbers and interchanges', () => {
  it('allocates consecutive numbers per partner and kind, across reopening', async () => {
    const { ledger, path } = fresh();
    expect(await ledger.nextControlNumbers('acme', 'interchange')).toEqual([1]);
    expect(await ledger.nextControlNumbers('acme', 'interchange', 3)).toEqual([2, 3, 4]);
    expect(await ledger.nextControlNumbers('acme', 'group', 2)).toEqual([1, 2]);
    expect(await ledger.nextControlNumbers('other', 'interchange')).toEqual([1]);
    await ledger.close();
    expect(await open(path).nextControlNumbers('acme', 'interchange')).toEqual([5]);
  });

  it('throws LEDGER_CONTROL_EXHAUSTED at the 9-digit limit without allocating anything', async () => {
    const { ledger, path } = fresh();
    await ledger.nextControlNumbers('acme', 'interchange');
    const db = new Database(path);
    db.prepare("UPDATE control_numbers SET last = 999999997 WHERE partner = 'acme'").run();
    db.close();
    await expect(ledger.nextControlNumbers('acme', 'interchange', 3)).rejects.toMatchObject({ name: 'LedgerFault', code: 'LEDGER_CONTROL_EXHAUSTED' });
    expect(await ledger.nextControlNumbers('acme', 'interchange', 2)).toEqual([999999998, 999999999]);
    await expect(ledger.nextControlNumbers('acme', 'interchange')).rejects.toBeInstanceOf(LedgerFault);
  });

  it('refuses a count that is not a whole number >= 0 (a negative count would hand out numbers again)', async () => {
    const { ledger } = fresh();
    expect(await ledger.nextControlNumbers('acme', 'group', 3)).toEqual([1, 2, 3]);
    for (const bad of [-2, 1.5, Number.NaN]) await expect(ledger.nextControlNumbers('acme', 'group', bad)).rejects.toThrow(RangeError);
    expect(await ledger.nextControlNumbers('acme', 'group', 0)).toEqual([]);
    expect(await ledger.nextControlNumbers('acme', 'group')).toEqual([4]);
  });

  it('priorInterchange finds the same sender + ISA13 recorded by another file within the window only', async () => {
    const { ledger } = fresh();
    const seen = { senderQualifier: 'ZZ', senderId: 'ACME', control: '000000101', fileId: 'sha256-1', receivedAt: '2025-01-10T00:00:00.000Z' };
    expect(await ledger.priorInterchange(seen, 30)).toEqual({ duplicateOf: null });
    // Recorded with a batch (one without units too); a batch retried after a crash records nothing new.
    await ledger.recordFile({ id: 'sha256-1', size: 1, transport: 'folder', originalName: 'a.edi', storedPath: 'files/a', receivedAt: seen.receivedAt });
    for (let i = 0; i < 2; i++) await ledger.commitBatch({ fileId: 'sha256-1', units: [], events: [], unitsDone: 0, interchanges: [seen] });
    // The same file again (crash replay) is not a duplicate of itself.
    expect(await ledger.priorInterchange(seen, 30)).toEqual({ duplicateOf: null });
    expect(await ledger.priorInterchange({ ...seen, fileId: 'sha256-2', receivedAt: '2025-01-20T00:00:00.000Z' }, 30)).toEqual({ duplicateOf: 'sha256-1' });
    expect(await ledger.priorInterchange({ ...seen, fileId: 'sha256-3', receivedAt: '2025-03-20T00:00:00.000Z' }, 30)).toEqual({ duplicateOf: null });
    expect(await ledger.priorInterchange({ ...seen, senderId: 'OTHER', fileId: 'sha256-4' }, 30)).toEqual({ duplicateOf: null });
    expect(await ledger.priorInterchange({ ...seen, control: '000000102', fileId: 'sha256-5' }, 30)).toEqual({ duplicateOf: null });
  });
  it('interchangesWithControl lists the interchanges of one ISA13 across senders and files, with their partner and id part', async () => {
    const { ledger } = fresh();
    const base = { control: '000005501', receivedAt: '2025-01-10T00:00:00.000Z' };
    await ledger.recordFile({ ...FILE, id: 'sha256-1' });
    await ledger.recordFile({ ...FILE, id: 'sha256-2' });
    await ledger.commitBatch({ fileId: 'sha256-1', units: [], events: [], unitsDone: 0, interchanges: [
      { ...base, senderQualifier: '02', senderId: 'PRLF', fileId: 'sha256-1', partner: 'prairie-line' },
      { ...base, senderQualifier: 'ZZ', senderId: 'STRANGER', fileId: 'sha256-1', partner: null },
    ] });
    await ledger.commitBatch({ fileId: 'sha256-2', units: [], events: [], unitsDone: 0, interchanges: [
      { ...base, senderQualifier: 'ZZ', senderId: 'PRLFWEST', fileId: 'sha256-2', receivedAt: '2025-01-11T00:00:00.000Z', partner: 'prairie-line', interchangeReuse: 'sha256-2#0' },
      { ...base, control: '000005502', senderQualifier: '02', senderId: 'PRLF', fileId: 'sha256-2', partner: 'prairie-line' },
    ] });
    expect(await ledger.interchangesWithControl('000005501')).toEqual([
      { ...base, senderQualifier: '02', senderId: 'PRLF', fileId: 'sha256-1', partner: 'prairie-line', interchangeReuse: null },
      { ...base, senderQualifier: 'ZZ', senderId: 'STRANGER', fileId: 'sha256-1', partner: null, interchangeReuse: null },
      { ...base, senderQualifier: 'ZZ', senderId: 'PRLFWEST', fileId: 'sha256-2', receivedAt: '2025-01-11T00:00:00.000Z', partner: 'prairie-line', interchangeReuse: 'sha256-2#0' },
    ]);
    expect(await ledger.interchangesWithControl('000009999')).toEqual([]);
  });
});

describe('remote files', () => {
  const key = { partner: 'acme', path: '/out/status.edi', size: 908, mtime: 1748779200000 };

  it('a file recorded under the key of one already done replaces it; a row still taken is kept', async () => {
    const { ledger } = fresh();
    expect(await ledger.recordRemoteFile({ ...key, sha256: 'sha256-first' })).toEqual({ created: true });
    // Still 'taken' (its remote step is pending): nothing may replace it.
    expect(await ledger.recordRemoteFile({ ...key, sha256: 'sha256-other' })).toEqual({ created: false });
    expect(await ledger.getRemoteFile(key)).toMatchObject({ state: 'taken', sha256: 'sha256-first' });
    // Once done, the file it described has left the server: another file with the same path, size and mtime takes the row.
    await ledger.setRemoteFileState(key, 'done');
    expect(await ledger.recordRemoteFile({ ...key, sha256: 'sha256-second' })).toEqual({ created: true });
    expect(await ledger.listRemoteFiles({ partner: 'acme' })).toEqual([expect.objectContaining({ ...key, state: 'taken', sha256: 'sha256-second' })]);
  });
});
