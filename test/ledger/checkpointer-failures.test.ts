// Background WAL checkpoints that keep failing (here: the database file may not grow, a file-size limit
// standing in for a full disk, and every checkpoint needs it to grow). Each failure used to be told, and the
// gateway logged a warning at every pass, five times a second for as long as the disk stayed full. A run of
// failures is now told once (then at most once per repeatMs, with the count). Deterministic: the WAL holds
// pages past the file-size limit, so every checkpoint fails, whatever the timing; the child waits for a
// number of failures, not for a time.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

const driver = createRequire(import.meta.url).resolve('better-sqlite3');
const checkpointerModule = fileURLToPath(new URL('../../src/ledger/checkpointer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wb-durability-audit-checkpointer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHILD = `
import Database from ${JSON.stringify(driver)};
import { WalCheckpointer } from ${JSON.stringify(checkpointerModule)};
const path = process.argv[2];
const ck = new WalCheckpointer(path, {
  intervalMs: 20, repeatMs: 3_600_000,
  onError: (message, info) => console.log('ERROR ' + JSON.stringify({ message, ...info })),
});
const db = new Database(path);
db.pragma('journal_mode = WAL');
db.pragma('wal_autocheckpoint = 0'); // only the checkpointer checkpoints
db.transaction(() => { for (let i = 0; i < 40; i++) db.prepare('INSERT INTO filler VALUES (?)').run(Buffer.alloc(8000, 7)); })();
const deadline = Date.now() + 60_000;
const wait = () => {
  // Stopped before exiting: process.exit while the thread is inside a failing checkpoint aborted the
  // process now and then (FATAL ERROR: v8::ToLocalChecked Empty MaybeLocal, in better-sqlite3's throw).
  if (ck.failures >= 5) { console.log('FAILURES ' + ck.failures); ck.stop().then(() => process.exit(0)); return; }
  if (Date.now() > deadline) { console.log('GAVE UP waiting for 5 failures'); process.exit(3); }
  setTimeout(wait, 20);
};
wait();
`;

describe('WalCheckpointer: checkpoints that keep failing', () => {
  it('are told once, not at every pass', async () => {
    // A database of about 1 MB, fully checkpointed (no WAL).
    const dbPath = join(dir, 'ledger.db');
    const db = new Database(dbPath);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE filler (x BLOB)');
    db.transaction(() => { for (let i = 0; i < 128; i++) db.prepare('INSERT INTO filler VALUES (?)').run(Buffer.alloc(8000, 1)); })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const size = statSync(dbPath).size;
    const child = join(dir, 'child.mts');
    writeFileSync(child, CHILD);
    // Files may grow to the database's size plus 64 KiB: the child's 320 KB of new rows fit in the WAL
    // (a new file), but the checkpoint that would copy them into the database may not grow it that far.
    const limitBlocks = Math.ceil(size / 1024) + 64;
    const proc = spawn('bash', ['-c', `ulimit -f ${limitBlocks}; exec "${process.execPath}" --import tsx "${child}" "${dbPath}"`],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += String(d); });
    proc.stderr.on('data', (d) => { out += String(d); });
    const code = await new Promise<number | null>((resolve) => proc.on('close', (c, signal) => { if (signal) out += `\nSIGNAL ${signal}`; resolve(c); }));
    expect(out).toMatch(/FAILURES \d+/);
    expect(code, out).toBe(0);
    const told = out.split('\n').filter((l) => l.startsWith('ERROR '));
    expect(told, out).toHaveLength(1);
    expect(JSON.parse(told[0].slice(6))).toMatchObject({ failures: 1 });
  }, 90_000);
});
