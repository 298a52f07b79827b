// When an upload is complete, and what happens then. The uploader's CLOSE (pattern mode) or RENAME
// (rename mode) waits on completeUpload(): `take` (the gateway's intake) must resolve — the file is
// durable and recorded — before the answer goes out, and only then does the file leave inbound/
// (deleted, or moved to the archive outside the account's view). If take fails the file stays where
// it was and the uploader gets FAILURE, so it can try again; nothing was acknowledged.
import { existsSync } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../pipeline/context.js';
import type { CompiledAccount } from './account.js';
import { SftpError, STATUS, type PartnerDirs } from './fs.js';

/** What the server hands to `take` once an upload is complete. */
export interface HostedInboundFile {
  partner: string;
  username: string;
  /** The final name (after the rename, in rename mode). */
  name: string;
  /** Where the bytes are on disk now (under the temporary name in rename mode); read it, do not move it. */
  path: string;
  size: number;
  /** The path the uploader named, e.g. /inbound/x.edi. */
  virtualPath: string;
  remoteAddress: string;
}

/** Must resolve only once the file is durably stored and recorded (the pipeline's intake). */
export type TakeFn = (file: HostedInboundFile) => Promise<void>;

/** Shared by every session: which real files are open for writing, and which are being taken in. */
export class InboundState {
  private readonly writers = new Map<string, number>();
  private readonly busy = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Which session last closed a temporary upload: only that session may clean it up as a partial. */
  private readonly uploader = new Map<string, object>();

  addWriter(real: string): void {
    this.writers.set(real, (this.writers.get(real) ?? 0) + 1);
  }

  /** Returns how many writers are left on the file. */
  removeWriter(real: string): number {
    const left = (this.writers.get(real) ?? 1) - 1;
    if (left <= 0) this.writers.delete(real);
    else this.writers.set(real, left);
    return Math.max(left, 0);
  }

  hasWriters(real: string): boolean {
    return this.writers.has(real);
  }

  isBusy(real: string): boolean {
    return this.busy.has(real);
  }

  setBusy(real: string, busy: boolean): void {
    if (busy) this.busy.add(real);
    else this.busy.delete(real);
  }

  /** Refuses to touch a file another request is taking in or writing. */
  assertIdle(real: string, vpath: string, allowWriters = false): void {
    if (this.busy.has(real)) throw new SftpError(STATUS.FAILURE, `${vpath} is being taken in; try again shortly`, 'SFTP_FILE_BUSY');
    if (!allowWriters && this.writers.has(real)) throw new SftpError(STATUS.FAILURE, `${vpath} is still open for writing`, 'SFTP_FILE_BUSY');
  }

  setUploader(real: string, session: object | null): void {
    if (session) this.uploader.set(real, session);
    else this.uploader.delete(real);
  }

  /** True (and forgotten) when `session` is still the file's last uploader. */
  releaseUploader(real: string, session: object): boolean {
    if (this.uploader.get(real) !== session) return false;
    this.uploader.delete(real);
    return true;
  }

  track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Waits for every take in progress (stop() must not close the ledger under one). */
  async settle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}

export interface CompleteOptions {
  state: InboundState;
  take: TakeFn;
  log: Logger;
  account: CompiledAccount;
  dirs: PartnerDirs;
  remoteAddress: string;
  /** The bytes on disk. */
  real: string;
  /** The final name and the virtual path the uploader gave it. */
  name: string;
  vpath: string;
}

export function completeUpload(o: CompleteOptions): Promise<void> {
  o.state.assertIdle(o.real, o.vpath);
  return o.state.track(run(o));
}

async function run(o: CompleteOptions): Promise<void> {
  const { state, account, log } = o;
  state.setBusy(o.real, true);
  try {
    const st = await lstat(o.real).catch(() => null);
    if (!st?.isFile()) throw new SftpError(STATUS.NO_SUCH_FILE, `no such file: ${o.vpath}`);
    const file: HostedInboundFile = {
      partner: account.partner, username: account.username, name: o.name, path: o.real, size: st.size, virtualPath: o.vpath, remoteAddress: o.remoteAddress,
    };
    try {
      await o.take(file);
    } catch (err) {
      log.error({ code: 'SFTP_INTAKE_FAILED', partner: account.partner, username: account.username, name: o.name, err: (err as Error).message },
        'sftp: intake failed; the upload is kept and the uploader told to retry');
      throw new SftpError(STATUS.FAILURE, 'the file could not be stored; it was kept, please try again later', 'SFTP_INTAKE_FAILED');
    }
    // Durable: from here on the uploader is told OK whatever happens to the local copy.
    try {
      if (account.config.afterIntake === 'archive') {
        const day = new Date().toISOString().slice(0, 10);
        const dir = join(o.dirs.archive, day);
        await mkdir(dir, { recursive: true });
        const dest = join(dir, o.name);
        await rename(o.real, existsSync(dest) ? `${dest}.${Date.now()}` : dest);
      } else {
        await rm(o.real, { force: true });
      }
    } catch (err) {
      // Taken in already; a copy left behind is taken again later as the same file (the ledger dedups by content).
      log.warn({ partner: account.partner, name: o.name, err: (err as Error).message }, 'sftp: could not remove an upload after intake');
    }
    log.info({ partner: account.partner, username: account.username, name: o.name, size: st.size }, 'sftp: upload taken in');
  } finally {
    state.setBusy(o.real, false);
  }
}
