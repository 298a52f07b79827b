// One gateway per data folder. Two on the same folder would both take the inbound folder's files, both
// relay the same outbox rows and both hand out control numbers from one ledger: each alone is safe, the
// two together are not.
//
// The lock is an SQLite database (`gateway.lock`) held in exclusive locking mode for as long as the
// gateway runs. SQLite locks with POSIX advisory locks, which the operating system drops when the
// process ends however it ends: a gateway killed with SIGKILL leaves no stale lock behind, and no
// process id is trusted (one may since belong to another process). Who holds the lock is written next
// to it (`gateway.lock.json`), only to say so in the refusal.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WaybillError } from '../errors/catalogue.js';

export interface DataDirLock {
  readonly dataDir: string;
  /** True until release(): what lets start-up clean what an earlier run left, knowing no other gateway runs. */
  held(): boolean;
  /** Releases the lock (idempotent). */
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, 'gateway.lock');
  const holderFile = `${file}.json`;
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in this locking mode it is kept after the commit, until
    // the connection closes (or the process ends).
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER, host TEXT, since TEXT); DELETE FROM holder;');
    db.prepare('INSERT INTO holder VALUES (?, ?, ?)').run(process.pid, hostname(), new Date().toISOString());
  } catch (err) {
    db?.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      const h = readHolder(holderFile);
      throw new WaybillError('GATEWAY_DATA_DIR_IN_USE',
        `another gateway is running on the data folder ${dataDir}${h ? ` (pid ${h.pid} on ${h.host}, since ${h.since})` : ''}; ` +
        'stop it first, or give this one a dataDir of its own', { dataDir, holder: h });
    }
    throw err;
  }
  writeFileSync(holderFile, `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies Holder)}\n`);
  const lockDb = db;
  let held = true;
  return {
    dataDir,
    held: () => held,
    release() {
      if (!held) return;
      held = false;
      rmSync(holderFile, { force: true });
      lockDb.close();
    },
  };
}

function readHolder(file: string): Holder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.since === 'string' ? (h as Holder) : null;
  } catch {
    return null;
  }
}
