// The raw file store on its own: which folders a store makes durable (watched with strace), and what a
// killed run leaves in tmp/ and how start-up clears it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { lockDataDir, type DataDirLock } from '../../src/gateway/data-dir-lock.js';
import { removeStalePartials, storedPathFor, tmpDirOf } from '../../src/pipeline/file-store.js';

const STRACE = '/usr/bin/strace';
if (!existsSync(STRACE)) console.warn('the storeFile fsync test is skipped: it needs strace (.ci/run installs it)');

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

describe.skipIf(!existsSync(STRACE))('storeFile durability (strace)', () => {
  /** The folders fsynced while a child process stores `contents` one after the other into `dir`. */
  async function fsyncedFolders(dir: string, contents: string[]): Promise<string[]> {
    const script = join(dir, 'store.mts');
    const fileStore = pathToFileURL(fileURLToPath(new URL('../../src/pipeline/file-store.ts', import.meta.url))).href;
    writeFileSync(script, `import { storeFile } from ${JSON.stringify(fileStore)};\n`
      + `for (const c of ${JSON.stringify(contents)}) await storeFile(${JSON.stringify(join(dir, 'data'))}, Buffer.from(c));\n`);
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const trace = join(dir, 'trace');
    // -f: libuv runs fsync on its thread pool; -y: each fd printed with its path.
    await new Promise<void>((resolve, reject) => execFile(STRACE, ['-f', '-y', '-qq', '-e', 'trace=fsync,fdatasync', '-o', trace, process.execPath, '--import', tsx, script],
      { timeout: 60_000 }, (err, _out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve())));
    const paths = [...readFileSync(trace, 'utf8').matchAll(/f(?:data)?sync\(\d+<([^>]+)>\) = 0/g)].map((m) => m[1]);
    return [...new Set(paths.filter((p) => !p.endsWith('.part')))];
  }

  it('fsyncs the parent of every folder it creates, not only the file\'s own folder', async () => {
    const dir = dataDir();
    const data = join(dir, 'data');
    mkdirSync(data);
    const [a, b] = ['first file', 'second file'];
    const folderOf = (c: string) => dirname(join(data, storedPathFor(`sha256-${createHash('sha256').update(c).digest('hex')}`))); // data/files/xx/yy
    const [fa, fb] = [folderOf(a), folderOf(b)];
    expect(dirname(fa)).not.toBe(dirname(fb)); // the second needs two new folders under files/, not one
    const synced = await fsyncedFolders(dir, [a, b]);
    // First store: files/, files/xx/ and files/xx/yy/ are new, so data/, files/ and files/xx/ hold new entries,
    // and files/xx/yy/ the stored file. Second store: files/ exists; files/zz/ and files/zz/ww/ are new.
    expect(synced.sort()).toEqual([data, join(data, 'files'), dirname(fa), fa, dirname(fb), fb].sort());
  });
});
