// One SFTP session of one account: answers the client's requests against its virtual filesystem.
//
// Statuses: a path outside the mailbox, a link request, a folder change or a write where writing is
// not allowed -> PERMISSION_DENIED; something that does not exist (or is not a regular file) ->
// NO_SUCH_FILE; a refused operation on an existing file (busy, too large, intake failed) -> FAILURE;
// requests we do not implement -> OP_UNSUPPORTED. SETSTAT/FSETSTAT are answered OK and ignored:
// clients send them after uploads (times, modes) and failing them would fail good uploads.
//
// Upload lifecycle in inbound/: OPEN (temporary name, or in pattern mode a final name) -> WRITEs
// (each checked against maxFileBytes) -> CLOSE -> [rename mode] RENAME to a final name. The answer to
// the completing CLOSE/RENAME waits for intake (completion.ts). Whatever this session wrote and did not
// complete is deleted when the session ends, however it ends.
import { lstat, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { FileEntry, SFTPWrapper } from 'ssh2';
import type { Logger } from '../../../pipeline/context.js';
import type { CompiledAccount } from './account.js';
import { completeUpload, type InboundState, type TakeFn } from './completion.js';
import { dirAttrs, fileAttrs, OPEN_MODE, openFlags, SftpError, STATUS, VirtualFs, type PartnerDirs, type Resolved } from './fs.js';

type FileRef = Extract<Resolved, { kind: 'file' }>;

interface OpenFile {
  kind: 'file';
  fh: FileHandle;
  ref: FileRef;
  readable: boolean;
  writable: boolean;
  /** Opened with APPEND: the kernel writes every WRITE at the end of the file, whatever offset the client sends. */
  append: boolean;
  /**
   * The file's size once the WRITEs answered or in flight have landed: what maxFileBytes is checked
   * against. Only this handle writes the file (a second writer is refused at OPEN).
   */
  size: number;
  /** Set when the upload was discarded (too large, write error): every later request on it fails. */
  failed: SftpError | null;
}

interface OpenDir {
  kind: 'dir';
  entries: FileEntry[];
  pos: number;
}

export interface SessionOptions {
  sftp: SFTPWrapper;
  account: CompiledAccount;
  dirs: PartnerDirs;
  state: InboundState;
  take: TakeFn;
  log: Logger;
  remoteAddress: string;
  /** Called at every request and every answer (the connection's idle timer). */
  onActivity?: () => void;
  /** Whether the login still stands (account not removed, key not revoked); false: the request is refused. */
  authorised?: () => boolean;
}

const READ_CHUNK_MAX = 256 * 1024;
const READDIR_BATCH = 64;
/** Open handles per session: enough for any client's parallel transfers, not enough to exhaust file descriptors. */
const MAX_HANDLES = 64;
/**
 * Unfinished uploads per session (open for writing, or temporary and closed but not renamed yet). Each
 * may be maxFileBytes; without a cap one session could leave any number of them on disk for as long as
 * it stays connected.
 */
const MAX_UNFINISHED = 64;

export class SftpSession {
  private readonly fs: VirtualFs;
  private readonly handles = new Map<number, OpenFile | OpenDir>();
  private nextHandle = 1;
  /** Temporary uploads this session closed but did not rename yet: removed if the session ends. */
  private readonly pendingTemps = new Set<string>();
  private ended: Promise<void> | null = null;
  /** Requests still being answered (a CLOSE or RENAME may be waiting on intake). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: SessionOptions) {
    this.fs = new VirtualFs(o.dirs);
    const s = o.sftp;
    s.on('OPEN', (id, path, flags) => this.run(id, 'OPEN', () => this.open(id, path, flags)));
    s.on('READ', (id, h, offset, len) => this.run(id, 'READ', () => this.read(id, h, offset, len)));
    s.on('WRITE', (id, h, offset, data) => this.run(id, 'WRITE', () => this.write(id, h, offset, data)));
    s.on('CLOSE', (id, h) => this.run(id, 'CLOSE', () => this.close(id, h)));
    s.on('FSTAT', (id, h) => this.run(id, 'FSTAT', () => this.fstat(id, h)));
    s.on('STAT', (id, path) => this.run(id, 'STAT', async () => s.attrs(id, await this.fs.stat(path))));
    // There are no symlinks in a mailbox, so LSTAT and STAT agree.
    s.on('LSTAT', (id, path) => this.run(id, 'LSTAT', async () => s.attrs(id, await this.fs.stat(path))));
    s.on('SETSTAT', (id, path) => this.run(id, 'SETSTAT', async () => { await this.fs.stat(path); s.status(id, STATUS.OK); }));
    s.on('FSETSTAT', (id, h) => this.run(id, 'FSETSTAT', () => { this.file(h); s.status(id, STATUS.OK); }));
    s.on('OPENDIR', (id, path) => this.run(id, 'OPENDIR', () => this.opendir(id, path)));
    s.on('READDIR', (id, h) => this.run(id, 'READDIR', () => this.readdir(id, h)));
    s.on('REMOVE', (id, path) => this.run(id, 'REMOVE', () => this.remove(id, path)));
    s.on('RENAME', (id, from, to) => this.run(id, 'RENAME', () => this.rename(id, from, to)));
    s.on('REALPATH', (id, path) => this.run(id, 'REALPATH', () => this.realpath(id, path)));
    s.on('MKDIR', (id) => this.refuse(id, 'the mailbox has a fixed layout (inbound/ and outbound/); folders cannot be created'));
    s.on('RMDIR', (id) => this.refuse(id, 'the mailbox has a fixed layout (inbound/ and outbound/); folders cannot be removed'));
    s.on('SYMLINK', (id) => this.refuse(id, 'links are not supported'));
    s.on('READLINK', (id) => this.refuse(id, 'links are not supported'));
    s.on('EXTENDED', (id, name, data) => this.run(id, 'EXTENDED', () => this.extended(id, name, data)));
    s.on('error', (err: Error) => o.log.warn({ username: o.account.username, err: err.message }, 'sftp: session protocol error'));
    // The client sent EOF (its sftp program is done): answer what is still pending, then close the
    // channel, as OpenSSH's sftp-server exits at the end of its input. Without this the client waits.
    s.on('end', () => {
      void (async () => {
        while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
        s.end();
      })();
    });
  }

  /** A temporary upload this session closed: this session deletes it if it ends before the rename. */
  private addPending(real: string): void {
    this.pendingTemps.add(real);
    this.o.state.setUploader(real, this);
  }

  private dropPending(real: string): boolean {
    if (!this.pendingTemps.delete(real)) return false;
    this.o.state.releaseUploader(real, this);
    return true;
  }

  /** Runs a request; any refusal or error becomes the matching status. */
  private run(id: number, op: string, fn: () => Promise<void> | void): void {
    this.o.onActivity?.();
    if (this.o.authorised && !this.o.authorised()) {
      this.o.sftp.status(id, STATUS.PERMISSION_DENIED, 'access to this account was revoked; the connection is closed');
      return;
    }
    let p: Promise<void> | void;
    try {
      p = fn();
    } catch (err) {
      this.answerError(id, op, err);
      return;
    }
    if (!p) return;
    const tracked = p.catch((err) => this.answerError(id, op, err));
    this.inFlight.add(tracked);
    void tracked.finally(() => {
      this.inFlight.delete(tracked);
      this.o.onActivity?.();
    });
  }

  /** True while a request is being answered (a CLOSE or RENAME waiting on intake is not idleness). */
  busy(): boolean {
    return this.inFlight.size > 0;
  }

  private answerError(id: number, op: string, err: unknown): void {
    let e: SftpError;
    if (err instanceof SftpError) e = err;
    else {
      const code = (err as NodeJS.ErrnoException).code;
      e = code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' ? new SftpError(STATUS.NO_SUCH_FILE, 'no such file')
        : code === 'EEXIST' ? new SftpError(STATUS.FAILURE, 'file already exists')
          : code === 'EACCES' || code === 'EPERM' ? new SftpError(STATUS.PERMISSION_DENIED, 'permission denied')
            : new SftpError(STATUS.FAILURE, 'the server could not complete the request');
      if (e.status === STATUS.FAILURE) this.o.log.warn({ username: this.o.account.username, op, err: (err as Error).message }, 'sftp: request failed');
    }
    if (e.code && e.code !== 'SFTP_INTAKE_FAILED') {
      // `reason`, not `msg`: msg is pino's message key, and a JSON reader keeps only the last of the two.
      this.o.log.warn({ code: e.code, partner: this.o.account.partner, username: this.o.account.username, op, reason: e.message }, 'sftp: request refused');
    }
    this.o.sftp.status(id, e.status, e.message);
  }

  private refuse(id: number, message: string): void {
    this.o.onActivity?.();
    this.answerError(id, 'refused', new SftpError(STATUS.PERMISSION_DENIED, message, 'SFTP_OPERATION_REFUSED'));
  }

  private assertHandleRoom(): void {
    if (this.handles.size >= MAX_HANDLES) throw new SftpError(STATUS.FAILURE, `too many open handles (at most ${MAX_HANDLES} per session)`);
  }

  private newHandle(state: OpenFile | OpenDir): Buffer {
    const n = this.nextHandle++;
    this.handles.set(n, state);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  }

  private lookup(h: Buffer): OpenFile | OpenDir {
    const state = h.length === 4 ? this.handles.get(h.readUInt32BE(0)) : undefined;
    if (!state) throw new SftpError(STATUS.FAILURE, 'invalid handle');
    return state;
  }

  private file(h: Buffer): OpenFile {
    const f = this.lookup(h);
    if (f.kind !== 'file') throw new SftpError(STATUS.FAILURE, 'not a file handle');
    return f;
  }

  // ---- files ---------------------------------------------------------------------------------------

  private async open(id: number, path: string, pflags: number): Promise<void> {
    if (this.ended) throw new SftpError(STATUS.FAILURE, 'session is closing');
    this.assertHandleRoom();
    const writable = (pflags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND)) !== 0;
    const readable = (pflags & OPEN_MODE.READ) !== 0 || !writable;
    const ref = writable ? this.fs.resolveWritable(path) : this.fs.resolveFile(path);
    if (!writable) {
      await this.fs.statFile(ref); // regular and visible, or "no such file"
      const fh = await open(ref.real, openFlags(pflags));
      if (!(await fh.stat()).isFile()) {
        await fh.close();
        throw new SftpError(STATUS.NO_SUCH_FILE, `no such file: ${ref.vpath}`, 'SFTP_NOT_REGULAR_FILE');
      }
      this.o.sftp.handle(id, this.newHandle({ kind: 'file', fh, ref, readable, writable, append: false, size: 0, failed: null }));
      return;
    }
    const { account, state } = this.o;
    if (ref.area !== 'inbound') {
      throw new SftpError(STATUS.PERMISSION_DENIED, 'outbound/ holds files for you to download and delete; upload into inbound/', 'SFTP_OPERATION_REFUSED');
    }
    const temporary = account.isTemporary(ref.name);
    if (!temporary && !(account.config.completion.mode === 'pattern' && account.isFinal(ref.name))) {
      throw new SftpError(STATUS.PERMISSION_DENIED, account.config.completion.mode === 'rename'
        ? `upload under a temporary name (${account.config.tempPattern.join(', ')}) and rename it to its final name when complete`
        : `file names must match ${account.config.completion.pattern?.join(', ')} (or be a temporary name renamed to such a name when complete)`, 'SFTP_NAME_NOT_ACCEPTED');
    }
    const writing = [...this.handles.values()].filter((h) => h.kind === 'file' && h.writable && !h.failed).length;
    if (!this.pendingTemps.has(ref.real) && writing + this.pendingTemps.size >= MAX_UNFINISHED) {
      throw new SftpError(STATUS.FAILURE, `too many unfinished uploads in this session (at most ${MAX_UNFINISHED}); rename or remove the temporary files first`, 'SFTP_OPERATION_REFUSED');
    }
    state.assertIdle(ref.real, ref.vpath);
    // Claimed now, before the first await: an OPEN of the same name from another session (or a RENAME
    // that would start taking it in) arriving meanwhile must see it busy, or two uploads write into
    // one file, or O_TRUNC empties a file while it is taken in.
    state.addWriter(ref.real);
    let fh: FileHandle | null = null;
    let st;
    try {
      const existing = await lstat(ref.real).catch(() => null);
      if (existing && !existing.isFile()) {
        throw new SftpError(STATUS.PERMISSION_DENIED, `${ref.vpath} exists and is not a regular file`, 'SFTP_NOT_REGULAR_FILE');
      }
      await mkdir(this.o.dirs.inbound, { recursive: true });
      fh = await open(ref.real, openFlags(pflags), 0o640);
      st = await fh.stat();
      if (!st.isFile()) throw new SftpError(STATUS.PERMISSION_DENIED, `${ref.vpath} is not a regular file`, 'SFTP_NOT_REGULAR_FILE');
      if (this.ended) throw new SftpError(STATUS.FAILURE, 'session is closing');
    } catch (err) {
      await fh?.close().catch(() => undefined);
      state.removeWriter(ref.real);
      throw err;
    }
    this.dropPending(ref.real); // open again: the handle now owns it
    const append = (pflags & OPEN_MODE.APPEND) !== 0;
    this.o.sftp.handle(id, this.newHandle({ kind: 'file', fh, ref, readable, writable, append, size: st.size, failed: null }));
  }

  private async fstat(id: number, h: Buffer): Promise<void> {
    const f = this.file(h);
    if (f.failed) throw f.failed; // its descriptor is closed: say why rather than "could not complete"
    this.o.sftp.attrs(id, fileAttrs(await f.fh.stat()));
  }

  private async read(id: number, h: Buffer, offset: number, len: number): Promise<void> {
    const f = this.file(h);
    if (!f.readable) throw new SftpError(STATUS.PERMISSION_DENIED, 'file not opened for reading');
    const want = Math.min(len, READ_CHUNK_MAX);
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await f.fh.read(buf, 0, want, offset);
    if (bytesRead === 0) this.o.sftp.status(id, STATUS.EOF);
    else this.o.sftp.data(id, bytesRead === want ? buf : buf.subarray(0, bytesRead));
  }

  private async write(id: number, h: Buffer, offset: number, data: Buffer): Promise<void> {
    const f = this.file(h);
    if (f.failed) throw f.failed;
    if (!f.writable) throw new SftpError(STATUS.PERMISSION_DENIED, 'file not opened for writing');
    const max = this.o.account.config.maxFileBytes;
    // Counted before the write is awaited, so WRITEs a client pipelines are each checked against the others.
    const size = sizeAfterWrite(f, offset, data.length);
    if (size > max) {
      const err = new SftpError(STATUS.FAILURE, `file too large: this account accepts at most ${max} bytes per file; the upload was discarded`, 'SFTP_FILE_TOO_LARGE');
      await this.discard(f, err);
      throw err;
    }
    f.size = size;
    try {
      await f.fh.write(data, 0, data.length, offset);
    } catch (err) {
      if (f.failed) throw f.failed;
      const e = new SftpError(STATUS.FAILURE, `write failed (${(err as NodeJS.ErrnoException).code ?? 'error'}); the upload was discarded`, 'SFTP_WRITE_FAILED');
      await this.discard(f, e);
      throw e;
    }
    this.o.sftp.status(id, STATUS.OK);
  }

  /** Abandons an upload: closes it (after writes in flight) and deletes what was written. */
  private async discard(f: OpenFile, why: SftpError): Promise<void> {
    if (f.failed) return;
    f.failed = why;
    this.o.state.removeWriter(f.ref.real);
    await f.fh.close().catch(() => undefined);
    if (!this.o.state.isBusy(f.ref.real) && !this.o.state.hasWriters(f.ref.real)) await rm(f.ref.real, { force: true });
  }

  private async close(id: number, h: Buffer): Promise<void> {
    const state = this.lookup(h);
    this.handles.delete(h.readUInt32BE(0));
    if (state.kind === 'dir') return this.o.sftp.status(id, STATUS.OK);
    const f = state;
    if (!f.writable) {
      await f.fh.close();
      return this.o.sftp.status(id, STATUS.OK);
    }
    if (f.failed) throw f.failed;
    try {
      await f.fh.close();
    } catch {
      const e = new SftpError(STATUS.FAILURE, 'the upload could not be written completely; it was discarded', 'SFTP_WRITE_FAILED');
      await this.discard(f, e);
      throw e;
    }
    const { account, state: inbound } = this.o;
    const left = inbound.removeWriter(f.ref.real);
    if (account.isTemporary(f.ref.name)) {
      this.addPending(f.ref.real); // complete only once renamed
      if (this.ended) await rm(f.ref.real, { force: true }); // the session ended while this CLOSE was in flight
    } else if (left === 0) {
      // Pattern mode, final name: closing it is what completes it.
      await completeUpload(this.completeOptions(f.ref.real, f.ref.name, f.ref.vpath));
    }
    this.o.sftp.status(id, STATUS.OK);
  }

  private completeOptions(real: string, name: string, vpath: string) {
    const { state, take, log, account, dirs, remoteAddress } = this.o;
    return { state, take, log, account, dirs, remoteAddress, real, name, vpath };
  }

  private async remove(id: number, path: string): Promise<void> {
    const ref = this.fs.resolveFile(path);
    await this.fs.statFile(ref);
    if (ref.area === 'inbound') this.o.state.assertIdle(ref.real, ref.vpath);
    await rm(ref.real);
    this.dropPending(ref.real);
    this.o.sftp.status(id, STATUS.OK);
  }

  private async rename(id: number, fromPath: string, toPath: string): Promise<void> {
    const from = this.fs.resolveWritable(fromPath);
    const to = this.fs.resolveWritable(toPath);
    if (from.area !== 'inbound' || to.area !== 'inbound') {
      throw new SftpError(STATUS.PERMISSION_DENIED, 'only uploads in inbound/ can be renamed, and only within inbound/', 'SFTP_OPERATION_REFUSED');
    }
    await this.fs.statFile(from);
    const { account, state } = this.o;
    state.assertIdle(from.real, from.vpath);
    if (from.real === to.real) return this.o.sftp.status(id, STATUS.OK);
    if (account.isTemporary(to.name)) {
      // Temporary to temporary: a plain rename (SFTP v3: never over an existing file).
      if (existsSync(to.real)) throw new SftpError(STATUS.FAILURE, `${to.vpath} already exists`);
      state.assertIdle(to.real, to.vpath);
      await rename(from.real, to.real);
      if (this.dropPending(from.real)) this.addPending(to.real);
      return this.o.sftp.status(id, STATUS.OK);
    }
    if (!account.isFinal(to.name)) {
      throw new SftpError(STATUS.PERMISSION_DENIED, `final names must match ${account.config.completion.pattern?.join(', ')}`, 'SFTP_NAME_NOT_ACCEPTED');
    }
    // From here the file is either taken in or kept for a retry: never cleaned up as a partial.
    this.dropPending(from.real);
    state.setUploader(from.real, null);
    await completeUpload(this.completeOptions(from.real, to.name, to.vpath));
    this.o.sftp.status(id, STATUS.OK);
  }

  // ---- folders and names ---------------------------------------------------------------------------

  private async opendir(id: number, path: string): Promise<void> {
    this.assertHandleRoom();
    const r = this.fs.resolve(path);
    if (r.kind === 'file') {
      await this.fs.statFile(r);
      throw new SftpError(STATUS.FAILURE, `${r.vpath} is not a folder`);
    }
    const entries = await this.fs.list(r, this.o.account.username);
    this.o.sftp.handle(id, this.newHandle({ kind: 'dir', entries, pos: 0 }));
  }

  private readdir(id: number, h: Buffer): void {
    const d = this.lookup(h);
    if (d.kind !== 'dir') throw new SftpError(STATUS.FAILURE, 'not a folder handle');
    if (d.pos >= d.entries.length) return this.o.sftp.status(id, STATUS.EOF);
    const batch = d.entries.slice(d.pos, d.pos + READDIR_BATCH);
    d.pos += batch.length;
    this.o.sftp.name(id, batch);
  }

  private async realpath(id: number, path: string): Promise<void> {
    const r = this.fs.resolve(path);
    // SFTP v3 REALPATH answers carry dummy attributes; the client stats the path when it cares.
    this.o.sftp.name(id, [{ filename: r.vpath, longname: r.vpath, attrs: dirAttrs(r.kind === 'root' ? 0o555 : 0o755) }]);
  }

  private async extended(id: number, name: string, data: Buffer | undefined): Promise<void> {
    if (name === 'hardlink@openssh.com') return this.refuse(id, 'links are not supported');
    if (name === 'posix-rename@openssh.com' && data) {
      // Never advertised, but a client may try it: same rules as RENAME.
      const readStr = (at: number): [string, number] => {
        const len = data.readUInt32BE(at);
        return [data.toString('utf8', at + 4, at + 4 + len), at + 4 + len];
      };
      const [from, next] = readStr(0);
      const [to] = readStr(next);
      return this.rename(id, from, to);
    }
    throw new SftpError(STATUS.OP_UNSUPPORTED, `${name} is not supported`);
  }

  // ---- end of session ------------------------------------------------------------------------------

  /** Idempotent: closes every handle and deletes uploads that were never completed. */
  end(): Promise<void> {
    this.ended ??= (async () => {
      const { state, log, account } = this.o;
      for (const h of this.handles.values()) {
        if (h.kind !== 'file') continue;
        if (h.writable && !h.failed) {
          log.warn({ code: 'SFTP_UPLOAD_INCOMPLETE', partner: account.partner, username: account.username, name: h.ref.name }, 'sftp: session ended during an upload; the partial file is deleted');
          await this.discard(h, new SftpError(STATUS.CONNECTION_LOST, 'session ended'));
        } else if (!h.failed) {
          await h.fh.close().catch(() => undefined);
        }
      }
      this.handles.clear();
      for (const real of this.pendingTemps) {
        // Another session may have renamed it meanwhile and uploaded a new file under the same name.
        if (!state.releaseUploader(real, this) || state.isBusy(real) || state.hasWriters(real)) continue;
        log.warn({ code: 'SFTP_UPLOAD_INCOMPLETE', partner: account.partner, username: account.username, path: real }, 'sftp: session ended before a temporary upload was renamed; it is deleted');
        await rm(real, { force: true }).catch(() => undefined);
      }
      this.pendingTemps.clear();
    })();
    return this.ended;
  }
}

/**
 * The file's size once this WRITE has landed. The client's offset says where the bytes go only without
 * APPEND: with it (O_APPEND) the kernel puts them at the end of the file, so checking the offset alone
 * let an upload grow past maxFileBytes by writing at offset 0 again and again.
 */
function sizeAfterWrite(f: OpenFile, offset: number, length: number): number {
  return f.append ? f.size + length : Math.max(f.size, offset + length);
}
