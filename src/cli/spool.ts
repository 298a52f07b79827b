// A temporary file that holds output which must wait for the end of a long file (a summary that comes
// first, a JSON array that comes after another): what `waybill translate --json` and `waybill inspect`
// print stays out of memory, however large the file. The file goes when the spool is disposed of, and
// also when the process ends or is interrupted first.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Spool {
  private readonly dir: string;
  private readonly fd: number;
  /** Bytes written so far (an offset for copyTo). */
  size = 0;
  private disposed = false;

  private readonly remove = (): void => {
    rmSync(this.dir, { recursive: true, force: true });
  };
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.remove();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.fd = openSync(join(this.dir, 'spool'), 'w+');
    process.once('exit', this.remove);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Text appended but not yet written: one write per 64 KiB rather than one per line. */
  private pending: string[] = [];
  private pendingBytes = 0;

  append(text: string): void {
    const n = Buffer.byteLength(text, 'utf8');
    this.pending.push(text);
    this.pendingBytes += n;
    this.size += n;
    if (this.pendingBytes >= 64 * 1024) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Hands the bytes [from, to) to `write`, a MiB at a time. */
  copyTo(write: (chunk: Buffer) => void, from = 0, to = this.size): void {
    this.flush();
    const buf = Buffer.alloc(1 << 20);
    for (let pos = from; pos < to;) {
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, to - pos), pos);
      if (n === 0) break;
      write(Buffer.from(buf.subarray(0, n)));
      pos += n;
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    closeSync(this.fd);
    this.remove();
    process.off('exit', this.remove);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
