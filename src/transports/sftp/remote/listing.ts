// Which remote files are ready to take: regular files matching the poll pattern, not temporary names,
// old enough, and unchanged between two listings (a writer that is still appending changes the size).
import type { RemoteConnection } from './connect.js';
import type { PollDirConfig } from './config.js';
import { matchesAny, remoteJoin } from './names.js';

export interface RemoteEntry {
  name: string;
  path: string;
  size: number;
  /** Milliseconds (the server reports whole seconds). */
  mtime: number;
}

export interface Listing {
  /** Every regular file in the directory, by name (for the crash-recovery sweep). */
  all: Map<string, RemoteEntry>;
  /** Regular files that match the pattern and are not temporary names. */
  wanted: RemoteEntry[];
  /** Wanted names that are not valid UTF-8 on the server: they cannot be asked for by name (see listDir). */
  unaddressable: RemoteEntry[];
  /** Paths of symlinks whose names match the pattern: never taken, but said (see listDir). */
  links: string[];
}

export async function listDir(conn: RemoteConnection, poll: PollDirConfig, tempPattern: readonly string[]): Promise<Listing> {
  const all = new Map<string, RemoteEntry>();
  const wanted: RemoteEntry[] = [];
  const unaddressable: RemoteEntry[] = [];
  const links: string[] = [];
  for (const f of await conn.sftp.list(poll.dir)) {
    // A symlink that would match is noted: partners that link files into the folder otherwise see nothing
    // fetched and no reason why. Following it is not safe: we would delete the link, not what it names.
    if (f.type === 'l' && !matchesAny(f.name, tempPattern) && matchesAny(f.name, poll.pattern)) links.push(remoteJoin(poll.dir, f.name));
    if (f.type !== '-') continue; // directories, symlinks, devices: never taken
    const e: RemoteEntry = { name: f.name, path: remoteJoin(poll.dir, f.name), size: f.size, mtime: f.modifyTime };
    all.set(f.name, e);
    if (matchesAny(f.name, tempPattern) || !matchesAny(f.name, poll.pattern)) continue;
    // ssh2 decodes names as UTF-8: a name in another encoding (Latin-1 from a Windows uploader) comes with
    // U+FFFD in it, and asking for that name finds nothing. Said once per poll with a code, instead of a
    // misleading 'gone' (or, before, an error with the library's ERR_BAD_PATH) on every poll.
    if (f.name.includes('\uFFFD')) unaddressable.push(e);
    else wanted.push(e);
  }
  wanted.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name));
  return { all, wanted, unaddressable, links };
}

export type SkipReason = 'changing' | 'young';

/** Splits the second listing into files ready to take and files to leave for a later poll. */
export function readyFiles(first: Listing, second: Listing, nowMs: number, minAgeSeconds: number): { ready: RemoteEntry[]; skipped: Array<RemoteEntry & { reason: SkipReason }> } {
  const ready: RemoteEntry[] = [];
  const skipped: Array<RemoteEntry & { reason: SkipReason }> = [];
  for (const e of second.wanted) {
    const before = first.all.get(e.name);
    if (!before || before.size !== e.size || before.mtime !== e.mtime) skipped.push({ ...e, reason: 'changing' });
    else if (nowMs - e.mtime < minAgeSeconds * 1000) skipped.push({ ...e, reason: 'young' });
    else ready.push(e);
  }
  return { ready, skipped };
}
