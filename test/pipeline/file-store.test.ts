// The raw file store on its own: what a killed run leaves in tmp/ and how start-up clears it.
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockDataDir, type DataDirLock } from '../../src/gateway/data-dir-lock.js';
import { removeStalePartials, tmpDirOf } from '../../src/pipeline/file-store.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  while (cleanup.length) cleanup.pop()!();
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wb-store-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function locked(dir: string): DataDirLock {
  const lock = lockDataDir(dir);
  cleanup.push(() => lock.release());
  return lock;
}

function folder(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}

/** A file last modified `agoMs` before now. */
function fileAged(path: string, agoMs: number): string {
  writeFileSync(path, 'partial bytes');
  const at = new Date(Date.now() - agoMs);
  utimesSync(path, at, at);
  return path;
}

describe('removeStalePartials', () => {
  it('deletes the *.part files modified before the start, in the folders named, and nothing else', async () => {
    const dir = dataDir();
    const tmp = tmpDirOf(dir);
    const remote = folder(join(tmp, 'remote'));
    const killedIntake = fileAged(join(tmp, '1764064000000-0a1b2c3d4e5f.part'), 60_000);
    const killedDownload = fileAged(join(remote, 'acme-0011223344556677.part'), 60_000);
    const notPartial = fileAged(join(tmp, 'notes.txt'), 60_000);
    const nested = fileAged(join(folder(join(tmp, 'other')), 'x.part'), 60_000); // a folder not named
    mkdirSync(join(tmp, 'folder.part'));
    const start = Date.now();
    const thisRun = fileAged(join(tmp, `${start}-ffffffffffff.part`), -1_000); // written after the start

    const removed = await removeStalePartials(locked(dir), [tmp, remote], start);
    expect(removed.sort()).toEqual([killedDownload, killedIntake].sort());
    for (const kept of [notPartial, nested, thisRun, join(tmp, 'folder.part')]) expect(existsSync(kept), kept).toBe(true);
  });

  it('refuses without the data folder lock held, and folders outside the data folder', async () => {
    const dir = dataDir();
    const stale = fileAged(join(folder(tmpDirOf(dir)), 'old.part'), 60_000);
    const lock = locked(dir);
    lock.release();
    await expect(removeStalePartials(lock, [tmpDirOf(dir)], Date.now())).rejects.toThrow(/lock on .* is not held/);
    expect(existsSync(stale)).toBe(true);
    const again = locked(dir);
    await expect(removeStalePartials(again, [join(dir, '..')], Date.now())).rejects.toThrow(/not inside the data folder/);
    expect(await removeStalePartials(again, [join(dir, 'missing')], Date.now())).toEqual([]); // no intake ever ran: nothing to clean
    expect(await removeStalePartials(again, [tmpDirOf(dir)], Date.now())).toEqual([stale]);
  });
});
