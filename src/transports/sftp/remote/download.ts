// Downloading one remote file with pipelined reads (64 x 32 KiB in flight, as ssh2's fastGet), written
// here instead of calling fastGet for two reasons found against OpenSSH:
// - fastGet loops forever when the file shrinks after it was opened: a read at the end of the file
//   answers 0 bytes and fastGet asks again for the same range, endlessly. A partner's uploader that
//   truncates and rewrites a file in place did that to us: the poll never ended, stop() and every partner
//   reload (RemotePollerSet.sync) waited on it. Here a read that hits the end stops the download and says
//   so (`short`), and the caller leaves the file for a later poll.
// - ssh2-sftp-client rewraps fastGet's errors without their SFTP status code (ERR_GENERIC_CLIENT), so a
//   file the server will not let us read (permission denied) looked like a broken connection and failed
//   the whole poll, every poll: one unreadable file held back every file after it. Here the status code
//   (2 no such file, 3 permission denied, 4 failure) reaches the poller, which skips just that file.
// Only the listed size is read: a file that grew meanwhile is caught by the stat after the download.
import { open } from 'node:fs/promises';
import type { SFTPWrapper } from 'ssh2';
import { sftpCall } from './sftp-call.js';

const CHUNK = 32 * 1024;
const CONCURRENCY = 64;

export interface DownloadResult {
  /** Bytes written to the local file. */
  bytes: number;
  /** The server reported the end of the file before `size` bytes: it shrank since it was listed. */
  short: boolean;
}

export async function downloadFile(sftp: SFTPWrapper, remotePath: string, localPath: string, size: number,
  onProgress?: (bytes: number) => void): Promise<DownloadResult> {
  const handle = await sftpCall<Buffer>(sftp, (cb) => sftp.open(remotePath, 'r', cb));
  const out = await open(localPath, 'w').catch(async (err: unknown) => {
    await closeRemote(sftp, handle);
    throw err;
  });
  let next = 0;
  let bytes = 0;
  let short = false;
  let failed = false;
  // A closed channel fails without an SFTP status code: not file-level, so the poller fails the poll and
  // retries on a new connection.
  const read = (buf: Buffer, position: number) => sftpCall<number>(sftp, (cb) => sftp.read(handle, buf, 0, buf.length, position, cb));
  const worker = async (): Promise<void> => {
    while (!short && !failed && next < size) {
      const start = next;
      const len = Math.min(CHUNK, size - start);
      next += len;
      const buf = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const nb = await read(buf.subarray(got), start + got);
        if (nb === 0) { // end of file before the listed size: never ask again for the same range
          short = true;
          break;
        }
        got += nb;
      }
      if (got) await out.write(buf, 0, got, start);
      bytes += got;
      onProgress?.(bytes);
    }
  };
  try {
    const workers = Array.from({ length: Math.min(CONCURRENCY, Math.ceil(size / CHUNK)) }, () => worker().catch((err: unknown) => {
      failed = true;
      throw err;
    }));
    const settled = await Promise.allSettled(workers);
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    return { bytes, short };
  } finally {
    await out.close();
    await closeRemote(sftp, handle);
  }
}

/** Closes a remote handle; a dead connection (or its error) changes nothing here. */
async function closeRemote(sftp: SFTPWrapper, handle: Buffer): Promise<void> {
  await sftpCall(sftp, (cb) => sftp.close(handle, cb)).catch(() => undefined);
}
