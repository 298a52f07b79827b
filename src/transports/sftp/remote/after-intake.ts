// The remote side of "taken in": delete the file, or move it to an archive folder. Runs only after the
// ledger has durably recorded the file as taken, and is safe to repeat after a crash (already gone = done).
import { WaybillError } from '../../../errors/catalogue.js';
import type { RemoteConnection } from './connect.js';
import type { PollDirConfig } from './config.js';
import type { RemoteEntry } from './listing.js';
import { remoteJoin } from './names.js';

export type AfterIntakeOutcome = 'deleted' | 'moved' | 'gone' | 'replaced';

/** SFTP status codes that concern one file, not the connection. */
export function isFileLevelError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 2 || code === 3 || code === 4 || code === 'ERR_BAD_PATH' || code === 'ENOENT' || code === 'EACCES';
}

export async function statOrNull(conn: RemoteConnection, path: string): Promise<{ size: number; modifyTime: number } | null> {
  try {
    return await conn.sftp.stat(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 2) return null;
    throw err;
  }
}

export async function finishRemote(conn: RemoteConnection, poll: PollDirConfig, file: RemoteEntry): Promise<AfterIntakeOutcome> {
  // SFTP has no conditional delete: check just before that the file is still the one we took, so a new
  // upload under the same name (a new file to us) is not destroyed.
  const now = await statOrNull(conn, file.path);
  if (!now) return 'gone';
  if (now.size !== file.size || now.modifyTime !== file.mtime) return 'replaced';
  if (poll.afterIntake === 'delete') {
    try {
      await conn.sftp.delete(file.path, true);
    } catch (err) {
      throw refused(conn, err, file, `cannot delete ${file.path}`);
    }
    return 'deleted';
  }
  const dir = poll.moveTo as string;
  // A plain SFTP rename never overwrites (OpenSSH links then unlinks): on a clash, add a suffix.
  for (let i = 0; i < 20; i++) {
    const target = remoteJoin(dir, i === 0 ? file.name : `${file.name}.${file.mtime}${i > 1 ? `-${i}` : ''}`);
    try {
      await conn.sftp.rename(file.path, target);
      return 'moved';
    } catch (err) {
      if (!isFileLevelError(err)) throw err;
      if (!(await statOrNull(conn, file.path))) return 'gone';
      if (!(await statOrNull(conn, target))) throw refused(conn, err, file, `cannot move ${file.path} to ${target}`); // not a name clash: permissions, missing folder
    }
  }
  // A plain Error here used to fail the whole poll, every poll: the files after this one were never taken.
  throw new WaybillError('SFTP_REMOTE_REMOVE_FAILED', `cannot move ${file.path} into ${dir}: every candidate name exists there`, { path: file.path, moveTo: dir });
}

/**
 * The server refused the delete or move of a file already taken in (permissions, a read-only share, a
 * missing archive folder): a coded error for this file only. Its ledger row stays 'taken', so later polls
 * retry the remote step without taking the file again. A dropped connection is passed on as it is.
 */
function refused(conn: RemoteConnection, err: unknown, file: RemoteEntry, what: string): unknown {
  if (!conn.alive() || !isFileLevelError(err)) return err;
  return new WaybillError('SFTP_REMOTE_REMOVE_FAILED', `${what} after intake (it stays recorded as taken and is not taken again; retried on the next poll): ${(err as Error).message}`,
    { path: file.path, sftpCode: (err as { code?: unknown }).code });
}
