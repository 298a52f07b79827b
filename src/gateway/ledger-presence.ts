// A data folder whose ledger is gone. SQLite opens a missing or empty (0-byte) database file as a new,
// empty database, so a ledger.db deleted, moved aside or truncated to nothing (a failed restore, a full
// disk during a copy) made the gateway start as if for the first time: every file it had taken in, every
// event, acknowledgment and remote-file record forgotten, the stored files under files/ orphaned (a file
// taken in and not yet translated was never translated), and the partners' control numbers counting from
// 1 again (997s with ISA13s the partners had already seen). All of it silently. The files under files/
// say that this data folder had a ledger; without one, the start is refused with LEDGER_MISSING.
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WaybillError } from '../errors/catalogue.js';

/** Smaller than this, a file holds no SQLite database (its header alone is 100 bytes, its first page 512+). */
const SMALLEST_DATABASE = 512;

/**
 * The mark of a clean stop: written after the ledger closed at the end of a run, removed when the next run
 * has opened it. Without it, the last run was killed (or crashed, or this is a first start), and the
 * gateway checks the whole ledger before using it.
 */
const CLEAN_STOP = 'ledger.clean-stop';

export function cleanStopNoted(dataDir: string): boolean {
  return existsSync(join(dataDir, CLEAN_STOP));
}

export function noteCleanStop(dataDir: string): void {
  writeFileSync(join(dataDir, CLEAN_STOP), `${new Date().toISOString()}\n`);
}

export function forgetCleanStop(dataDir: string): void {
  rmSync(join(dataDir, CLEAN_STOP), { force: true });
}

/** Throws LEDGER_MISSING when `ledgerFile` is missing or empty while `<dataDir>/files/` holds a stored file. */
export function assertLedgerNotLost(dataDir: string, ledgerFile: string): void {
  const size = existsSync(ledgerFile) ? statSync(ledgerFile).size : null;
  if (size !== null && size >= SMALLEST_DATABASE) return;
  const stored = firstStoredFile(join(dataDir, 'files'));
  if (stored === null) return; // a data folder without history: a first start (or one killed before its first intake)
  const what = size === null ? 'missing' : `empty (${size} bytes)`;
  throw new WaybillError('LEDGER_MISSING',
    `the ledger ${ledgerFile} is ${what}, but the data folder ${dataDir} holds files taken in (such as ${stored}): ` +
    'starting on a new, empty ledger would forget every file, event, acknowledgment and control number. ' +
    'Restore the ledger from a backup; to start anew on purpose, move the files/ folder aside as well',
    { dataDir, ledgerFile, ledgerSize: size, storedFile: stored });
}

/** A regular file anywhere under `dir` (files/ab/cd/<hash>), or null; stops at the first one. */
function firstStoredFile(dir: string): string | null {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return null;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isFile()) return path;
    if (e.isDirectory()) {
      const found = firstStoredFile(path);
      if (found !== null) return found;
    }
  }
  return null;
}
