// Raw files, content-addressed by SHA-256 and fsynced before anything else happens to them.
// data/files/ab/cd/<sha256-hex>; written to data/tmp first, fsynced, renamed into place, and the folder
// fsynced (and the parent of every folder created for it), so a crash leaves either no file or the whole file.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';

export interface StoredFile {
  /** "sha256-<hex>" */
  id: string;
  size: number;
  /** Relative to the data directory. */
  storedPath: string;
}

export type FileInput = Buffer | Readable | AsyncIterable<Buffer | Uint8Array> | { path: string };

/** The id storeFile gives these bytes ("sha256-<hex>"), without storing them. */
export async function fileIdOf(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `sha256-${hash.digest('hex')}`;
}

export function storedPathFor(id: string): string {
  const hex = id.replace(/^sha256-/, '');
  return join('files', hex.slice(0, 2), hex.slice(2, 4), hex);
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = await open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** Where intake writes a file before it is fsynced and renamed into files/. */
export function tmpDirOf(dataDir: string): string {
  return join(dataDir, 'tmp');
}

/** Partial files are named *.part (intake here, remote downloads too): nothing complete has that name. */
const PARTIAL = /\.part$/;

/** The data folder's lock, held (gateway/data-dir-lock.ts): no other gateway writes into it. */
export interface HeldDataDir {
  readonly dataDir: string;
  held(): boolean;
}

/**
 * Deletes the partial files an earlier run left in `dirs` (folders of the data folder) when it was killed
 * while writing them: a run that ends normally removes its own. Only the holder of the data folder's lock
 * may do this, since only then is no other gateway writing there; and only files last modified before
 * `before` (this run's start) go, so nothing this run writes is touched. Returns the paths removed.
 */
export async function removeStalePartials(lock: HeldDataDir, dirs: readonly string[], before: number): Promise<string[]> {
  if (!lock.held()) throw new Error(`removeStalePartials: the lock on ${lock.dataDir} is not held`);
  const removed: string[] = [];
  for (const dir of dirs) {
    if (!isInside(lock.dataDir, dir)) throw new Error(`removeStalePartials: ${dir} is not inside the data folder ${lock.dataDir}`);
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isFile() || !PARTIAL.test(entry.name)) continue;
      const path = join(dir, entry.name);
      const st = await stat(path).catch(() => null);
      if (!st || st.mtimeMs >= before) continue;
      await rm(path, { force: true });
      removed.push(path);
    }
  }
  return removed;
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

export async function storeFile(dataDir: string, input: FileInput): Promise<StoredFile> {
  const tmpDir = tmpDirOf(dataDir);
  await mkdir(tmpDir, { recursive: true });
  const tmp = join(tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}.part`);
  const hash = createHash('sha256');
  let size = 0;
  const fd = await open(tmp, 'wx');
  try {
    const chunks: AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer> =
      Buffer.isBuffer(input) ? [input] : 'path' in input && typeof input.path === 'string' && !(Symbol.asyncIterator in input)
        // 1 MB reads: a 37 MB file in 37 awaited writes, not 570.
        ? createReadStream((input as { path: string }).path, { highWaterMark: 1 << 20 }) : (input as AsyncIterable<Buffer | Uint8Array>);
    for await (const chunk of chunks) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      hash.update(buf);
      size += buf.length;
      let off = 0;
      while (off < buf.length) off += (await fd.write(buf, off)).bytesWritten;
    }
    await fd.sync();
  } catch (err) {
    await fd.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fd.close();
  const id = `sha256-${hash.digest('hex')}`;
  const storedPath = storedPathFor(id);
  const target = join(dataDir, storedPath);
  if (existsSync(target) && (await stat(target)).size === size) {
    await rm(tmp, { force: true }); // the same bytes are already stored
    return { id, size, storedPath };
  }
  await mkdirDurable(dirname(target));
  await rename(tmp, target);
  await fsyncDir(dirname(target));
  return { id, size, storedPath };
}

/**
 * mkdir -p whose new folders survive a power loss: a folder's entry lives in its parent, so the parent of
 * each folder it created is fsynced. Without that, a stored file could vanish with its parent entry even
 * though the file and its own folder were fsynced.
 */
async function mkdirDurable(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true }); // the first folder it created, or undefined
  if (!created) return;
  const first = resolve(created);
  for (let d = resolve(dir); ; d = dirname(d)) {
    await fsyncDir(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
}
