// The virtual filesystem an account sees:
//
//   /            read-only, lists only the two folders below
//   /inbound     the account uploads here   -> <dataDir>/sftp/<partner>/inbound
//   /outbound    we deliver here; the account reads and deletes -> <dataDir>/sftp/<partner>/outbound
//
// Every path a client sends goes through resolve(): relative paths start at `/`, `.` and `..` are
// folded, a `..` that would climb above `/` is refused, and whatever is left must be `/`, one of the
// two folders, or a plain file name directly inside one. Nothing else exists, so absolute paths of the
// real machine (/etc/passwd) are simply not found, and no symlink can be created or followed (files are
// lstat'ed and opened with O_NOFOLLOW; only regular files are ever shown or opened).
import { constants, type Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Attributes, FileEntry } from 'ssh2';
import type { ErrorCode } from '../../../errors/catalogue.js';
import { sftpDataRoot } from '../config.js';

export const STATUS = ssh2.utils.sftp.STATUS_CODE;
export const OPEN_MODE = ssh2.utils.sftp.OPEN_MODE;

export const AREAS = ['inbound', 'outbound'] as const;
export type Area = (typeof AREAS)[number];

/** A request refused with an SFTP status; `message` goes to the client, `code` (catalogue) to the log. */
export class SftpError extends Error {
  constructor(readonly status: number, message: string, readonly code?: ErrorCode) {
    super(message);
    this.name = 'SftpError';
  }
}

export interface PartnerDirs {
  root: string;
  inbound: string;
  outbound: string;
  /** Outside the virtual root: where afterIntake 'archive' moves what was taken in. */
  archive: string;
}

/** The real folders behind a partner's mailbox (the outbound delivery writes into `outbound`). */
export function partnerDirs(dataDir: string, partner: string): PartnerDirs {
  // Partner ids are validated in partner.yaml; checked again here because they become a path.
  if (!/^[a-z0-9][a-z0-9-]*$/.test(partner)) throw new Error(`sftp: '${partner}' is not a valid partner id`);
  const root = join(sftpDataRoot(dataDir), partner);
  return { root, inbound: join(root, 'inbound'), outbound: join(root, 'outbound'), archive: join(root, 'archive') };
}

export type Resolved =
  | { kind: 'root'; vpath: string }
  | { kind: 'area'; area: Area; vpath: string; real: string }
  | { kind: 'file'; area: Area; name: string; vpath: string; real: string };

/**
 * Refused in file names: C0 and C1 control characters (U+0085 is a line break to many readers), DEL,
 * the Unicode line and paragraph separators, the bidirectional overrides and isolates (which make a
 * name read differently from what it is, "x\u202Eide.tmp" shows as "xpmt.edi"), and backslashes.
 */
const BAD_NAME = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/;
const MAX_NAME_BYTES = 255;

/** Folds a client path into segments inside the virtual root, or refuses it. */
export function normalise(path: string): string[] {
  if (path.includes('\0')) throw new SftpError(STATUS.BAD_MESSAGE, 'NUL in path', 'SFTP_PATH_REFUSED');
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) throw new SftpError(STATUS.PERMISSION_DENIED, 'path leaves the mailbox root', 'SFTP_PATH_REFUSED');
      out.pop();
    } else out.push(seg);
  }
  return out;
}

export class VirtualFs {
  constructor(readonly dirs: PartnerDirs) {}

  resolve(path: string): Resolved {
    const segs = normalise(path);
    const vpath = `/${segs.join('/')}`;
    if (segs.length === 0) return { kind: 'root', vpath };
    const area = segs[0] as Area;
    if (!AREAS.includes(area)) throw new SftpError(STATUS.NO_SUCH_FILE, `no such file or folder: ${vpath}`);
    if (segs.length === 1) return { kind: 'area', area, vpath, real: this.dirs[area] };
    const name = segs[1];
    if (segs.length > 2) throw new SftpError(STATUS.NO_SUCH_FILE, `no such file or folder: ${vpath} (the mailbox has no subfolders)`);
    if (BAD_NAME.test(name)) {
      throw new SftpError(STATUS.PERMISSION_DENIED, 'file names may not contain control characters, line separators, bidirectional controls or backslashes', 'SFTP_PATH_REFUSED');
    }
    if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
      throw new SftpError(STATUS.PERMISSION_DENIED, `file names may be at most ${MAX_NAME_BYTES} bytes long (UTF-8)`, 'SFTP_PATH_REFUSED');
    }
    return { kind: 'file', area, name, vpath, real: join(this.dirs[area], name) };
  }

  resolveFile(path: string): Extract<Resolved, { kind: 'file' }> {
    const r = this.resolve(path);
    if (r.kind !== 'file') throw new SftpError(STATUS.FAILURE, `${r.vpath} is a folder`);
    return r;
  }

  /**
   * A file about to be created, written or renamed. A name directly in `/` is refused with
   * PERMISSION_DENIED: that folder exists and is read-only (saying "no such file" would send the partner
   * looking for a typo). In folders that do not exist a path stays NO_SUCH_FILE, as for reading.
   */
  resolveWritable(path: string): Extract<Resolved, { kind: 'file' }> {
    const segs = normalise(path);
    if (segs.length === 1 && !AREAS.includes(segs[0] as Area)) {
      throw new SftpError(STATUS.PERMISSION_DENIED, '/ is read-only; upload into /inbound', 'SFTP_OPERATION_REFUSED');
    }
    return this.resolveFile(path);
  }

  /** Our outbound delivery writes `.name` then renames it: such names are not there yet. */
  visible(area: Area, name: string): boolean {
    return !(area === 'outbound' && name.startsWith('.'));
  }

  /** lstat of an existing, visible regular file; anything else (missing, folder, symlink, fifo) is "not found". */
  async statFile(r: Extract<Resolved, { kind: 'file' }>): Promise<Stats> {
    if (!this.visible(r.area, r.name)) throw new SftpError(STATUS.NO_SUCH_FILE, `no such file: ${r.vpath}`);
    let st: Stats;
    try {
      st = await lstat(r.real);
    } catch {
      throw new SftpError(STATUS.NO_SUCH_FILE, `no such file: ${r.vpath}`);
    }
    if (!st.isFile()) throw new SftpError(STATUS.NO_SUCH_FILE, `no such file: ${r.vpath}`, 'SFTP_NOT_REGULAR_FILE');
    return st;
  }

  async stat(path: string): Promise<Attributes> {
    const r = this.resolve(path);
    if (r.kind === 'file') return fileAttrs(await this.statFile(r));
    return dirAttrs(r.kind === 'root' ? 0o555 : 0o755);
  }

  /** The entries of `/` or of an area, as READDIR sends them. */
  async list(r: Resolved, owner: string): Promise<FileEntry[]> {
    if (r.kind === 'file') throw new SftpError(STATUS.FAILURE, `${r.vpath} is not a folder`);
    if (r.kind === 'root') {
      return AREAS.map((a) => ({ filename: a, longname: longname(a, dirAttrs(0o755), owner), attrs: dirAttrs(0o755) }));
    }
    let names: string[];
    try {
      names = (await readdir(r.real, { withFileTypes: true })).filter((d) => d.isFile() && this.visible(r.area, d.name)).map((d) => d.name);
    } catch {
      return []; // not created yet: an empty mailbox
    }
    const out: FileEntry[] = [];
    for (const name of names.sort()) {
      try {
        const st = await lstat(join(r.real, name));
        if (!st.isFile()) continue;
        const attrs = fileAttrs(st);
        out.push({ filename: name, longname: longname(name, attrs, owner), attrs });
      } catch {
        // removed between readdir and lstat
      }
    }
    return out;
  }
}

/** open(2) flags for an SFTP OPEN: never follow a symlink, never block on a fifo. */
export function openFlags(pflags: number): number {
  const read = (pflags & OPEN_MODE.READ) !== 0;
  const write = (pflags & OPEN_MODE.WRITE) !== 0 || (pflags & OPEN_MODE.APPEND) !== 0;
  let f = (read && write ? constants.O_RDWR : write ? constants.O_WRONLY : constants.O_RDONLY) | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  if (write) {
    if (pflags & OPEN_MODE.CREAT) f |= constants.O_CREAT;
    if (pflags & OPEN_MODE.TRUNC) f |= constants.O_TRUNC;
    if (pflags & OPEN_MODE.EXCL) f |= constants.O_EXCL;
    if (pflags & OPEN_MODE.APPEND) f |= constants.O_APPEND;
  }
  return f;
}

export function dirAttrs(perm: number): Attributes {
  const now = Math.floor(Date.now() / 1000);
  return { mode: constants.S_IFDIR | perm, uid: 0, gid: 0, size: 0, atime: now, mtime: now };
}

export function fileAttrs(st: Stats): Attributes {
  return {
    mode: constants.S_IFREG | 0o644, uid: 0, gid: 0, size: st.size,
    atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An `ls -l` line: OpenSSH's client prints it verbatim for `ls -l`. */
export function longname(name: string, a: Attributes, owner: string): string {
  const dir = (a.mode & constants.S_IFMT) === constants.S_IFDIR;
  const bits = 'rwxrwxrwx'.split('').map((c, i) => ((a.mode >> (8 - i)) & 1 ? c : '-')).join('');
  const d = new Date(a.mtime * 1000);
  const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  const who = owner.slice(0, 8).padEnd(8);
  return `${dir ? 'd' : '-'}${bits}    1 ${who} ${who} ${String(a.size).padStart(8)} ${when} ${name}`;
}
