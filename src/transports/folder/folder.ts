// The local drop folder. Files in <folder>/<partner-id>/ arrive for that partner; files directly in
// <folder> are X12 identified by their ISA. A file is taken only when complete: hidden or temporary
// names (.name, *.tmp, *.part) are skipped, and a file must keep the same size and mtime across two
// polls. It is archived or deleted only after intake has stored it durably (intake resolved).
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface InboundFile {
  path: string;
  name: string;
  /** The subfolder it arrived in (a partner id), or null at the top level. */
  partner: string | null;
  size: number;
}

export interface FolderTransportOptions {
  folder: string;
  pollMs: number;
  afterIntake: 'archive' | 'delete';
  /** Must resolve only once the file is durably stored (the pipeline's intake). */
  take: (file: InboundFile) => Promise<void>;
  onError?: (file: InboundFile | null, err: Error) => void;
}

const SKIP = /^\.|\.(tmp|part|partial|filepart|crdownload)$/i;

export class FolderTransport {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Last seen size/mtime per path: a file is complete when two polls agree. */
  private readonly seen = new Map<string, string>();
  /** Paths whose intake failed, with the signature at the time (not retried until the file changes). */
  private readonly failed = new Map<string, string>();

  constructor(private readonly opts: FolderTransportOptions) {}

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
      this.running = this.poll().then(() => undefined, (err: Error) => this.opts.onError?.(null, err)).finally(() => {
        this.running = null;
        this.schedule(this.opts.pollMs);
      });
    }, ms);
  }

  private async list(): Promise<InboundFile[]> {
    const out: InboundFile[] = [];
    const { folder } = this.opts;
    if (!existsSync(folder)) return out;
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (SKIP.test(entry.name)) continue;
      const p = join(folder, entry.name);
      if (entry.isFile()) out.push({ path: p, name: entry.name, partner: null, size: 0 });
      else if (entry.isDirectory()) {
        for (const sub of await readdir(p, { withFileTypes: true })) {
          if (sub.isFile() && !SKIP.test(sub.name)) out.push({ path: join(p, sub.name), name: sub.name, partner: entry.name, size: 0 });
        }
      }
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** One pass: take every complete file. Exposed for tests and for a final drain on shutdown. */
  async poll(): Promise<number> {
    let taken = 0;
    const present = new Set<string>();
    for (const f of await this.list()) {
      if (this.stopped) break;
      present.add(f.path);
      let st;
      try {
        st = await stat(f.path);
      } catch {
        continue; // gone meanwhile
      }
      const sig = `${st.size}:${st.mtimeMs}`;
      const before = this.seen.get(f.path);
      this.seen.set(f.path, sig);
      if (before !== sig || this.failed.get(f.path) === sig) continue; // still changing, or failed as it is
      f.size = st.size;
      try {
        await this.opts.take(f);
      } catch (err) {
        this.failed.set(f.path, sig);
        this.opts.onError?.(f, err as Error);
        continue;
      }
      // Durable in the ledger: now the file may leave the drop folder.
      if (this.opts.afterIntake === 'delete') await rm(f.path, { force: true });
      else {
        const day = new Date().toISOString().slice(0, 10);
        const dest = join(this.opts.folder, '.archive', day, relative(this.opts.folder, f.path));
        await mkdir(join(dest, '..'), { recursive: true });
        await rename(f.path, existsSync(dest) ? `${dest}.${Date.now()}` : dest);
      }
      this.seen.delete(f.path);
      this.failed.delete(f.path);
      taken++;
    }
    for (const p of [...this.seen.keys()]) if (!present.has(p)) this.seen.delete(p);
    return taken;
  }
}
