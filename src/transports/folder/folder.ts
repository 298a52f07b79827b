// The local drop folder. Files in <folder>/<partner-id>/ arrive for that partner; files directly in
// <folder> are X12 identified by their ISA. A file is taken only when complete, as far as a folder can
// tell: hidden or temporary names (.name, *.tmp, *.part, ...) are skipped, and a file must show the same
// size, mtime and inode in two consecutive polls AND have shown them for at least minAgeSeconds (the
// settle time), so a writer that pauses mid-file is not cut off at the pause. It is archived or deleted
// only after intake has stored it durably (intake resolved), and only if it did not change while it was
// being taken in.
//
// Settle time (minAgeSeconds): measured on this process's monotonic clock from the poll that first saw
// the file's current size+mtime, not from the file's mtime (unlike the remote SFTP poller, which compares
// the server's mtime with our clock). So a network share whose clock runs ahead, or a writer that sets an
// old mtime (cp -p, mv, rsync -t), cannot make a file still being written look settled; the price is
// that a file dropped complete also waits minAgeSeconds (plus up to one pollMs). The default, 2 s (four
// polls at the default 500 ms), covers the short stalls of a local or LAN writer (buffer flushes, a
// generator pausing between records) while keeping intake latency low; the remote poller's 30 s allows
// for WAN links and clock skew, which do not apply here. No settle time is a guarantee: a writer that
// stalls longer than it is cut off. Writers should write under a temporary or hidden name (.part, .tmp,
// .name) and rename when done (upload-then-rename); such a file is complete the moment it appears.
//
// A writer that still holds the file open after it was taken: a change between the stat before intake
// and the stat after it is caught (FOLDER_FILE_CHANGED: the file stays and is taken again once it
// settles; what was taken first may be a partial copy). A write after the file has been archived goes to
// the archived copy, and after a delete to an unlinked file: neither can be seen from here, which is why
// writers must close the file (or rename it into place) before the settle time can elapse.
//
// Failures are retried without waiting for the file to change: an intake that fails (FOLDER_INTAKE_FAILED)
// is tried again after retry.baseSeconds, doubling up to retry.maxSeconds, for as long as the file is
// there; a file taken in whose archive/delete fails (FOLDER_AFTER_INTAKE_FAILED) is not taken in again,
// only its archive/delete is retried, with the same backoff. A file that changes starts over (settle
// time, no backoff).
import { existsSync, type Stats } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { quietLogger, type TransportLogger } from '../sftp/remote/log.js';

export interface InboundFile {
  path: string;
  name: string;
  /** The subfolder it arrived in (a partner id), or null at the top level. */
  partner: string | null;
  size: number;
}

/** The defaults; src/gateway/config.ts (inbound) has the same numbers (test/transports/folder.test.ts checks). */
export const FOLDER_DEFAULTS = { minAgeSeconds: 2, retry: { baseSeconds: 1, maxSeconds: 60 } } as const;

export interface FolderTransportOptions {
  folder: string;
  pollMs: number;
  afterIntake: 'archive' | 'delete';
  /** Settle time: a file is taken only once its size and mtime have stayed the same this long (see the top). */
  minAgeSeconds?: number;
  /** Backoff for a failed intake or archive/delete: baseSeconds, doubling up to maxSeconds. */
  retry?: { baseSeconds: number; maxSeconds: number };
  /** Must resolve only once the file is durably stored (the pipeline's intake). */
  take: (file: InboundFile) => Promise<void>;
  /** Called for each failure (after it is logged): a file's intake or archive/delete, or a whole poll (file null). */
  onError?: (file: InboundFile | null, err: Error) => void;
  log?: TransportLogger;
  /** Monotonic clock in milliseconds (tests); performance.now() by default. */
  now?: () => number;
}

const SKIP = /^\.|\.(tmp|part|partial|filepart|crdownload)$/i;

type FailureCode = 'FOLDER_INTAKE_FAILED' | 'FOLDER_AFTER_INTAKE_FAILED';

interface Tracked {
  /** size:mtime:inode as last seen. */
  sig: string;
  /** When this poller first saw `sig` (its clock). */
  since: number;
  /** Failed attempts since `sig` was first seen. */
  failures: number;
  /** No new attempt before this (its clock). */
  retryAt: number;
  /** Intake succeeded; only the archive/delete is left. */
  taken: boolean;
}

function signature(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ino}`;
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch {
    return null; // gone meanwhile
  }
}

export class FolderTransport {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Per path: what was last seen, since when, and any failures. */
  private readonly tracked = new Map<string, Tracked>();
  private readonly log: TransportLogger;
  private readonly now: () => number;
  private readonly minAgeMs: number;
  private readonly retry: { baseSeconds: number; maxSeconds: number };

  constructor(private readonly opts: FolderTransportOptions) {
    this.log = opts.log ?? quietLogger;
    this.now = opts.now ?? (() => performance.now());
    this.minAgeMs = Math.max(0, opts.minAgeSeconds ?? FOLDER_DEFAULTS.minAgeSeconds) * 1000;
    const retry = opts.retry ?? FOLDER_DEFAULTS.retry;
    this.retry = { baseSeconds: retry.baseSeconds, maxSeconds: Math.max(retry.baseSeconds, retry.maxSeconds) };
  }

  async start(): Promise<void> {
    await mkdir(this.opts.folder, { recursive: true });
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops polling and waits for the file being taken in, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll().then(() => undefined, (err: Error) => {
        this.log.error({ folder: this.opts.folder, err: err.message }, 'inbound folder: poll failed; tried again at the next poll');
        this.opts.onError?.(null, err);
      }).finally(() => {
        this.running = null;
        this.schedule(this.opts.pollMs);
      });
    }, ms);
  }

  private async list(): Promise<InboundFile[]> {
    const out: InboundFile[] = [];
    const ignored = new Set<string>();
    const { folder } = this.opts;
    if (!existsSync(folder)) return out;
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (SKIP.test(entry.name)) continue;
      const p = join(folder, entry.name);
      if (entry.isFile()) out.push({ path: p, name: entry.name, partner: null, size: 0 });
      else if (entry.isDirectory()) {
        for (const sub of await readdir(p, { withFileTypes: true })) {
          if (SKIP.test(sub.name)) continue;
          if (sub.isFile()) out.push({ path: join(p, sub.name), name: sub.name, partner: entry.name, size: 0 });
          else this.ignoring(join(p, sub.name), entry.name, sub.isDirectory() ? 'a folder' : 'not a regular file', ignored);
        }
      } else {
        this.ignoring(p, null, 'not a regular file', ignored);
      }
    }
    for (const p of this.ignored) if (!ignored.has(p)) this.ignored.delete(p);
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** Paths warned about as FOLDER_ENTRY_IGNORED and still there (each is said once, not at every poll). */
  private readonly ignored = new Set<string>();

  /**
   * An entry that is never taken: a folder inside a partner folder (<folder>/<partner>/2025/x.csv: files
   * are taken from <folder>/ and <folder>/<partner>/ only), or a symbolic link, fifo or socket. Its
   * files stay where they are, so it is said, once per path: a sender that files by date would otherwise
   * see its files neither taken nor refused.
   */
  private ignoring(path: string, partner: string | null, what: string, seen: Set<string>): void {
    seen.add(path);
    if (this.ignored.has(path)) return;
    this.ignored.add(path);
    this.log.warn({ code: 'FOLDER_ENTRY_IGNORED', path, partner },
      `inbound folder: ${what}, never taken in: files are taken from the inbound folder itself and from its partner folders (<folder>/<partner>/), not from deeper folders, links or devices; move its files there`);
  }

  /** One pass: take every settled file, retry failures that are due. Returns the files taken in. Exposed for tests and for a final drain on shutdown. */
  async poll(): Promise<number> {
    let taken = 0;
    const present = new Set<string>();
    for (const f of await this.list()) {
      if (this.stopped) break;
      present.add(f.path);
      const st = await statOrNull(f.path);
      if (!st) continue;
      const sig = signature(st);
      const t = this.tracked.get(f.path);
      if (!t || t.sig !== sig) {
        // New, or changed since the last poll (still being written): its settle time starts now.
        this.tracked.set(f.path, { sig, since: this.now(), failures: 0, retryAt: 0, taken: false });
        continue;
      }
      const now = this.now();
      if (now - t.since < this.minAgeMs || now < t.retryAt) continue; // not settled yet, or backing off
      f.size = st.size;
      if (!t.taken) {
        try {
          await this.opts.take(f);
        } catch (err) {
          this.fail(t, f, 'FOLDER_INTAKE_FAILED', err as Error);
          continue;
        }
        taken++;
        // Durable in the ledger. If the file changed meanwhile, its writer was still at it: what was
        // taken may be partial, so the file stays and is taken again once it has settled.
        const after = await statOrNull(f.path);
        if (!after) {
          this.tracked.delete(f.path);
          continue;
        }
        if (signature(after) !== sig) {
          this.log.warn({ code: 'FOLDER_FILE_CHANGED', path: f.path, name: f.name, partner: f.partner, sizeTaken: st.size, sizeNow: after.size },
            'inbound folder: file changed while it was taken in (its writer still had it open); it stays and is taken again once it settles');
          this.tracked.set(f.path, { sig: signature(after), since: this.now(), failures: 0, retryAt: 0, taken: false });
          continue;
        }
        t.taken = true;
        t.failures = 0;
      }
      try {
        await this.removeTaken(f);
      } catch (err) {
        this.fail(t, f, 'FOLDER_AFTER_INTAKE_FAILED', err as Error);
        continue;
      }
      this.tracked.delete(f.path);
    }
    for (const p of [...this.tracked.keys()]) if (!present.has(p)) this.tracked.delete(p);
    return taken;
  }

  /** Durable in the ledger: now the file may leave the drop folder. */
  private async removeTaken(f: InboundFile): Promise<void> {
    if (this.opts.afterIntake === 'delete') {
      await rm(f.path, { force: true });
      return;
    }
    const day = new Date().toISOString().slice(0, 10);
    const dest = join(this.opts.folder, '.archive', day, relative(this.opts.folder, f.path));
    await mkdir(join(dest, '..'), { recursive: true });
    await rename(f.path, existsSync(dest) ? `${dest}.${Date.now()}` : dest);
  }

  private fail(t: Tracked, f: InboundFile, code: FailureCode, err: Error): void {
    t.failures++;
    const delayMs = Math.round(Math.min(this.retry.maxSeconds, this.retry.baseSeconds * 2 ** (t.failures - 1)) * 1000);
    t.retryAt = this.now() + delayMs;
    this.log.error({ code, path: f.path, name: f.name, partner: f.partner, attempt: t.failures, retryInMs: delayMs, err: err.message },
      code === 'FOLDER_INTAKE_FAILED'
        ? 'inbound folder: intake failed; the file stays where it is and is retried'
        : `inbound folder: file taken in, but its ${this.opts.afterIntake === 'delete' ? 'delete' : 'archive'} failed; retried (it is not taken in again)`);
    this.opts.onError?.(f, err);
  }
}
