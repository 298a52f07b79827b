// Polls one partner's SFTP server. Per file the order is fixed: download to a temp file, verify the size,
// take it in (intake: durable), record it in the ledger (durable), THEN delete or move it remotely, then
// mark it done. A crash between any two steps neither loses the file (it leaves the server only after
// intake, and a file is deleted only once its bytes are known to be the ones taken in) nor takes it twice
// (the ledger remembers path + size + mtime + hash; intake dedups by content hash for the one gap between
// intake and the ledger record). One poller per partner, each with its own timer and backoff, so an
// unreachable partner delays nobody else.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WaybillError } from '../../../errors/catalogue.js';
import type { Ledger, RemoteFileKey, RemoteFileRecord } from '../../../ledger/ledger.js';
import { fileIdOf } from '../../../pipeline/file-store.js';
import { finishRemote, isFileLevelError, statOrNull } from './after-intake.js';
import { backoffMs } from './backoff.js';
import type { PollDirConfig, RemoteSftpConfig } from './config.js';
import { connectRemote, type RemoteConnection } from './connect.js';
import { downloadFile } from './download.js';
import { listDir, readyFiles, type RemoteEntry } from './listing.js';
import { quietLogger, type TransportLogger } from './log.js';

export interface RemoteFileMeta {
  partner: string;
  dir: string;
  name: string;
  remotePath: string;
  size: number;
  /** Modification time on the server, milliseconds. */
  mtime: number;
}

/** Takes a downloaded file in; must resolve only once it is durably stored (the gateway passes intake). */
export type TakeRemoteFile = (localPath: string, meta: RemoteFileMeta) => Promise<{ fileId: string }>;

export type PollStep = 'listed' | 'downloading' | 'downloaded' | 'taken' | 'recorded' | 'removed' | 'done';

export interface RemoteSftpPollerOptions {
  partner: string;
  config: RemoteSftpConfig;
  ledger: Ledger;
  take: TakeRemoteFile;
  /** Local folder for downloads in progress (e.g. <dataDir>/tmp/remote). */
  workDir: string;
  log?: TransportLogger;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** Seam for tests and metrics, awaited at each step; a throw aborts the poll as a crash there would. */
  onStep?: (step: PollStep, info: { dir: string; file?: RemoteFileMeta; pass?: number }) => void | Promise<void>;
  /** Download progress (bytes so far), for tests and metrics. */
  onProgress?: (file: RemoteFileMeta, transferred: number) => void;
}

export interface PollResult {
  /** Newly taken in. */
  taken: number;
  /** Taken before (a crash or failed delete), whose remote delete/move was completed now. */
  finished: number;
  /** Left for a later poll: still changing, too young, or changed during download. */
  skipped: number;
  /** Failed for this file only (intake error, permissions); retried on the next poll. */
  failed: number;
}

export interface PollerStatus {
  consecutiveFailures: number;
  lastError: string | null;
  lastErrorCode: string | null;
  nextPollAt: number | null;
}

/** Marks an error thrown by onStep, so it aborts the poll instead of counting as a file failure. */
class StepAbort extends Error {
  constructor(override readonly cause: unknown) {
    super(`poll aborted at a step hook: ${(cause as Error).message}`);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RemoteSftpPoller {
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  /** Set while stop() waits: the poll in progress ends between files. */
  private stopping = false;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly log: TransportLogger;
  /** Symlinks already reported (see pollDir). */
  private readonly linksSaid = new Set<string>();
  private readonly state: PollerStatus = { consecutiveFailures: 0, lastError: null, lastErrorCode: null, nextPollAt: null };

  constructor(private readonly opts: RemoteSftpPollerOptions) {
    this.log = opts.log ?? quietLogger;
  }

  get partner(): string {
    return this.opts.partner;
  }

  status(): PollerStatus {
    return { ...this.state };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops the timer and waits for a poll in progress (it stops between files). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.state.nextPollAt = null;
    this.stopping = true;
    try {
      await this.chain.catch(() => undefined);
    } finally {
      this.stopping = false;
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.state.nextPollAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pollOnce().then(
        () => this.schedule(this.opts.config.intervalSeconds * 1000),
        () => {
          const { baseSeconds, maxSeconds } = this.opts.config.retry;
          this.schedule(backoffMs(this.state.consecutiveFailures, baseSeconds, maxSeconds));
        },
      );
    }, ms);
  }

  /** One pass over every poll directory. Throws on connection-level failures (counted for backoff). */
  pollOnce(): Promise<PollResult> {
    const run = this.chain.catch(() => undefined).then(() => this.pass());
    this.chain = run;
    return run.then((r) => {
      this.state.consecutiveFailures = 0;
      this.state.lastError = null;
      this.state.lastErrorCode = null;
      return r;
    }, (err: unknown) => {
      const e = err instanceof StepAbort ? (err.cause as Error) : (err as Error);
      this.state.consecutiveFailures++;
      this.state.lastError = e.message;
      this.state.lastErrorCode = e instanceof WaybillError ? e.code : null;
      if (!(e instanceof WaybillError && e.code === 'SFTP_REMOTE_HOSTKEY_MISMATCH')) { // that one already logged as an alert
        this.log.warn({ partner: this.opts.partner, failures: this.state.consecutiveFailures, err: e.message }, 'remote sftp: poll failed; retrying with backoff');
      }
      throw e;
    });
  }

  private async pass(): Promise<PollResult> {
    const result: PollResult = { taken: 0, finished: 0, skipped: 0, failed: 0 };
    const { config, partner } = this.opts;
    if (config.poll.length === 0) return result;
    await mkdir(this.opts.workDir, { recursive: true });
    const conn = await connectRemote(config, { partner, log: this.log, env: this.opts.env });
    try {
      for (const poll of config.poll) {
        if (this.stopping) break;
        await this.pollDir(conn, poll, result);
      }
    } catch (err) {
      // Closed by the stall watchdog: say so, with a code, instead of ssh2's 'No response from server'.
      const stalled = conn.stalledAfter();
      if (stalled !== null && !(err instanceof StepAbort)) {
        throw new WaybillError('SFTP_REMOTE_STALLED', `${config.host}:${config.port} left an SFTP request unanswered for ${stalled} s (operationTimeoutSeconds); connection closed, retried with backoff`, { host: config.host, port: config.port });
      }
      throw err;
    } finally {
      await conn.close();
    }
    return result;
  }

  private async step(step: PollStep, info: { dir: string; file?: RemoteFileMeta; pass?: number }): Promise<void> {
    if (!this.opts.onStep) return;
    try {
      await this.opts.onStep(step, info);
    } catch (err) {
      throw new StepAbort(err);
    }
  }

  private async pollDir(conn: RemoteConnection, poll: PollDirConfig, result: PollResult): Promise<void> {
    const { config, partner } = this.opts;
    // A folder missing or refused (on either listing: it can go between them) concerns this folder only.
    // The second listing used to be unguarded: a folder removed between the two failed the whole poll,
    // and the folders after it were not polled.
    const list = async () => {
      try {
        return await listDir(conn, poll, config.tempPattern);
      } catch (err) {
        if (!conn.alive() || !isFileLevelError(err)) throw err;
        this.log.error({ partner, dir: poll.dir, code: 'SFTP_REMOTE_LIST_FAILED', err: (err as Error).message }, 'remote sftp: cannot list poll directory');
        result.failed++;
        return null;
      }
    };
    const first = await list();
    if (!first) return;
    await this.step('listed', { dir: poll.dir, pass: 1 });
    if (first.wanted.length && config.settleSeconds > 0) await sleep(config.settleSeconds * 1000);
    const second = await list();
    if (!second) return;
    await this.step('listed', { dir: poll.dir, pass: 2 });
    await this.sweep(poll, second.all);
    for (const link of second.links) {
      if (this.linksSaid.has(link)) continue; // once per poller: it stays there, poll after poll
      this.linksSaid.add(link);
      this.log.warn({ partner, path: link, code: 'SFTP_REMOTE_NOT_REGULAR_FILE' }, 'remote sftp: a symlink matches the poll pattern; symlinks are never taken (ask the partner to put the file itself)');
    }
    for (const bad of second.unaddressable) {
      result.failed++;
      this.log.error({ partner, path: bad.path, code: 'SFTP_REMOTE_NAME_UNREADABLE' }, 'remote sftp: file name is not UTF-8; SFTP cannot ask for it by name, so it is left on the server (rename it there)');
    }
    const { ready, skipped } = readyFiles(first, second, this.opts.now?.() ?? Date.now(), config.minAgeSeconds);
    result.skipped += skipped.length;
    for (const s of skipped) this.log.debug?.({ partner, path: s.path, reason: s.reason }, 'remote sftp: not ready yet');
    for (const file of ready) {
      if (this.stopping) break;
      try {
        const outcome = await this.handle(conn, poll, file);
        result[outcome]++;
      } catch (err) {
        if (err instanceof StepAbort) throw err;
        // A dropped connection fails the whole poll (retried with backoff); anything else concerns this file.
        const fileLevel = err instanceof TakeFailed || err instanceof WaybillError || isFileLevelError(err);
        if (!fileLevel || !conn.alive()) throw err;
        result.failed++;
        this.log.error({ partner, path: file.path, err: (err as Error).message, code: (err as { code?: unknown }).code }, 'remote sftp: file step failed (a file already taken is never taken again); retried on the next poll');
      }
    }
  }

  /** Ledger rows still 'taken' whose file is gone from the listing: the delete/move happened before a crash. */
  private async sweep(poll: PollDirConfig, present: Map<string, RemoteEntry>): Promise<void> {
    const prefix = `${poll.dir.replace(/\/+$/, '')}/`;
    for (const rec of await this.opts.ledger.listRemoteFiles({ partner: this.opts.partner, state: 'taken' })) {
      if (!rec.path.startsWith(prefix) || rec.path.slice(prefix.length).includes('/')) continue;
      const now = present.get(rec.path.slice(prefix.length));
      if (!now || now.size !== rec.size || now.mtime !== rec.mtime) await this.opts.ledger.setRemoteFileState(rec, 'done');
    }
  }

  private async handle(conn: RemoteConnection, poll: PollDirConfig, file: RemoteEntry): Promise<'taken' | 'finished' | 'skipped'> {
    const { ledger, partner } = this.opts;
    const meta: RemoteFileMeta = { partner, dir: poll.dir, name: file.name, remotePath: file.path, size: file.size, mtime: file.mtime };
    // Only a row still 'taken' can describe the file listed now. A 'done' row's file has left the server
    // (we deleted or moved it, or saw it gone), so a file listed with its path, size and mtime is a new one:
    // uploaders that keep timestamps (put -p, WinSCP, rsync -t) and coarse server clocks make that common.
    const known = await ledger.getRemoteFile(keyOf(partner, file));
    const earlier = known?.state === 'taken' ? known : null;
    const local = join(this.opts.workDir, `${partner}-${randomBytes(8).toString('hex')}.part`);
    try {
      if (!(await this.download(conn, poll, file, meta, local))) return 'skipped';
      // A row still 'taken' is normally this very file, left on the server by a crash or a failed delete.
      // But the crash may have come after the delete, and a new file with the same path, size and mtime
      // put since: deleting that one unread would lose it. SFTP offers no remote hash, so the bytes are
      // downloaded again and compared. That costs a download, but only on this rare recovery path.
      if (earlier) {
        if ((await fileIdOf(local)) === earlier.sha256) return await this.finishEarlier(conn, poll, file, meta, earlier);
        this.log.warn({ partner, path: file.path, earlier: earlier.sha256 }, 'remote sftp: the file taken earlier is gone and another one has its path, size and mtime; taking that one in');
        await ledger.setRemoteFileState(earlier, 'done');
      }
      return await this.takeIn(conn, poll, file, meta, local);
    } finally {
      await rm(local, { force: true });
    }
  }

  /** Downloads the file to `local`; false when it changed meanwhile (it is taken on a later poll). */
  private async download(conn: RemoteConnection, poll: PollDirConfig, file: RemoteEntry, meta: RemoteFileMeta, local: string): Promise<boolean> {
    await this.step('downloading', { dir: poll.dir, file: meta });
    let dl;
    try {
      dl = await downloadFile(conn.wire, file.path, local, file.size, (done) => this.opts.onProgress?.(meta, done));
    } catch (err) {
      if (!conn.alive() || !isFileLevelError(err)) throw err;
      // Gone since the listing (taken by another client, or renamed): nothing to take, nothing lost.
      if ((err as { code?: unknown }).code === 2) {
        this.log.warn({ partner: this.opts.partner, path: file.path, code: 'SFTP_REMOTE_FILE_CHANGED' }, 'remote sftp: file gone before it was downloaded');
        return false;
      }
      // The server refuses to let us read it (permissions): this file only, left where it is.
      throw new WaybillError('SFTP_REMOTE_READ_FAILED', `cannot read ${file.path}: ${(err as Error).message}`, { path: file.path, sftpCode: (err as { code?: unknown }).code });
    }
    if (dl.short) {
      // It shrank while we read it (rewritten in place): what we have is not a file, take it when it settles.
      this.log.warn({ partner: this.opts.partner, path: file.path, code: 'SFTP_REMOTE_FILE_CHANGED', listed: file.size, read: dl.bytes }, 'remote sftp: file shrank during download; taken on a later poll');
      return false;
    }
    const got = (await stat(local)).size;
    if (got !== file.size) {
      throw new WaybillError('SFTP_REMOTE_SIZE_MISMATCH', `downloaded ${got} bytes of ${file.path}, listed as ${file.size}`, { path: file.path });
    }
    const after = await statOrNull(conn, file.path);
    if (!after || after.size !== file.size || after.modifyTime !== file.mtime) {
      this.log.warn({ partner: this.opts.partner, path: file.path, code: 'SFTP_REMOTE_FILE_CHANGED' }, 'remote sftp: file changed during download; taken on a later poll');
      return false;
    }
    await this.step('downloaded', { dir: poll.dir, file: meta });
    return true;
  }

  /** The file was taken in before (a crash or a failed delete/move came before its remote step): only that step is left. */
  private async finishEarlier(conn: RemoteConnection, poll: PollDirConfig, file: RemoteEntry, meta: RemoteFileMeta, earlier: RemoteFileRecord): Promise<'finished'> {
    const outcome = await finishRemote(conn, poll, file);
    await this.step('removed', { dir: poll.dir, file: meta });
    await this.opts.ledger.setRemoteFileState(earlier, 'done');
    this.log.info({ partner: this.opts.partner, path: file.path, fileId: earlier.sha256, outcome }, 'remote sftp: finished the remote step of a file taken earlier');
    return 'finished';
  }

  /** Intake, the durable ledger record, THEN the remote delete/move: in that order, so a crash loses nothing. */
  private async takeIn(conn: RemoteConnection, poll: PollDirConfig, file: RemoteEntry, meta: RemoteFileMeta, local: string): Promise<'taken'> {
    const { ledger, partner } = this.opts;
    const key = keyOf(partner, file);
    let fileId: string;
    try {
      ({ fileId } = await this.opts.take(local, meta));
    } catch (err) {
      throw new TakeFailed(err as Error);
    }
    await this.step('taken', { dir: poll.dir, file: meta });
    await ledger.recordRemoteFile({ ...key, sha256: fileId });
    await this.step('recorded', { dir: poll.dir, file: meta });
    const outcome = await finishRemote(conn, poll, file);
    await this.step('removed', { dir: poll.dir, file: meta });
    await ledger.setRemoteFileState(key, 'done');
    await this.step('done', { dir: poll.dir, file: meta });
    this.log.info({ partner, path: file.path, size: file.size, fileId, outcome }, 'remote sftp: file taken in');
    return 'taken';
  }
}

function keyOf(partner: string, file: RemoteEntry): RemoteFileKey {
  return { partner, path: file.path, size: file.size, mtime: file.mtime };
}

/** Intake refused or failed: this file only; the connection is fine. */
class TakeFailed extends Error {
  constructor(override readonly cause: Error) {
    super(`intake failed: ${cause.message}`);
  }
}
