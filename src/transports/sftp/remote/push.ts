// Uploading a file to a partner's server so that the partner never sees a partial file: write it under a
// temporary name in the target folder, then rename it into place (a rename within one folder is atomic
// on the server). An existing target name is handled as configured: fail, overwrite (atomically, with
// OpenSSH's posix-rename), or a unique name beside it.
import { WaybillError } from '../../../errors/catalogue.js';
import { isFileLevelError, statOrNull } from './after-intake.js';
import type { OutboundConfig } from './config.js';
import type { RemoteConnection } from './connect.js';
import { remoteJoin } from './names.js';
import { sftpCall } from './sftp-call.js';

export interface PushResult {
  /** Final remote path. */
  path: string;
  /** Final name (differs from the requested one after onExists: unique). */
  name: string;
  /** True when onExists: overwrite replaced an existing file. */
  replaced: boolean;
}

export interface PushHooks {
  /**
   * Called (and awaited) right before each rename attempt, with the name about to be used: the delivery
   * records it durably, so that after a crash "temp gone" proves the rename happened.
   */
  beforeRename?: (target: string, temp: string) => Promise<void>;
  /** The server refused the rename (so it did not happen); called before the temp file is removed. */
  renameRefused?: () => Promise<void>;
}

/**
 * The mode asked for when creating the file on the partner's server (ssh2 asks 0666 by default, which a
 * server without a umask applies as is: a file any local user could rewrite). 0644 is what OpenSSH's put
 * gives a usual file, so it is what partners' pickup jobs already meet; 0640 could lock out a pickup job
 * that runs as another user outside the upload account's group. The rename keeps the mode.
 */
export const PUSHED_FILE_MODE = 0o644;

/** name.ext -> name-1.ext (the counter goes before the last extension, so partners' patterns still match). */
export function uniqueName(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}-${n}${name.slice(dot)}` : `${name}-${n}`;
}

export async function pushFile(conn: RemoteConnection, out: OutboundConfig, name: string, content: string | Buffer, hooks: PushHooks = {}): Promise<PushResult> {
  const target = remoteJoin(out.dir, name);
  const temp = `${target}${out.tempSuffix}`;
  const existed = (await statOrNull(conn, target)) !== null;
  if (existed && out.onExists === 'fail') {
    throw new WaybillError('DELIVERY_TARGET_EXISTS', `${target} already exists on ${conn.partner}'s server (onExists: fail)`, { path: target });
  }
  let renaming = false;
  try {
    await upload(conn, temp, Buffer.isBuffer(content) ? content : Buffer.from(content));
    renaming = true;
    return await renameIntoPlace(conn, out, name, temp, existed, hooks);
  } catch (err) {
    // When the connection dropped during a rename we cannot know whether it happened: keep the temp file
    // and the caller's note, so the next attempt can tell (temp gone = renamed). Otherwise clean up.
    if (renaming && !(conn.alive() && isFileLevelError(err) || err instanceof WaybillError)) throw err;
    if (renaming) await hooks.renameRefused?.();
    if (conn.alive()) await conn.sftp.delete(temp, true).catch(() => undefined);
    throw err;
  }
}

/**
 * Writes `data` to a new file `path` on the server and closes it, failing on the first write the server
 * refuses. Not ssh2-sftp-client's put(): its write stream (ssh2's WriteStream) destroys itself before it
 * reports a failed write, and put() then resolves on the 'close' that follows. Against OpenSSH with a full
 * disk a 200 KiB document came out as its first 64 KiB, "uploaded", renamed into place and marked
 * delivered: the partner got half a file. Here every request's status is checked, the bytes are fsynced
 * where the server offers it (fsync@openssh.com: on the partner's disk before the rename publishes
 * them), and the close's answer counts too (a server may report a deferred write error there).
 * A file-level refusal (disk full, permission denied, missing folder) is DELIVERY_UPLOAD_FAILED.
 */
async function upload(conn: RemoteConnection, path: string, data: Buffer): Promise<void> {
  const wire = conn.wire;
  // Each request only while the channel is open: one sent to a dropped connection is never answered.
  const call = <T>(send: (cb: (err: Error | null | undefined, v?: T) => void) => void) => sftpCall<T>(wire, send);
  const coded = (err: unknown, what: string): unknown => (conn.alive() && isFileLevelError(err)
    ? new WaybillError('DELIVERY_UPLOAD_FAILED', `${what} ${path} on ${conn.partner}'s server: ${(err as Error).message}`,
      { path, sftpCode: (err as { code?: unknown }).code })
    : err);
  let handle: Buffer;
  try {
    handle = await call<Buffer>((cb) => wire.open(path, 'w', { mode: PUSHED_FILE_MODE }, cb));
  } catch (err) {
    throw coded(err, 'cannot create');
  }
  let failure: unknown = null;
  try {
    // As put() did: the mode asked at open is subject to the server's umask; setting it on the handle is
    // not, and a server that refuses it still gets the file.
    await call((cb) => wire.fchmod(handle, PUSHED_FILE_MODE, cb)).catch(() => undefined);
    // ssh2 splits a long write into requests of the server's maximum size, one after the other, and
    // stops at the first refused one.
    await call((cb) => wire.write(handle, data, 0, data.length, 0, cb));
    if ((wire as unknown as { _extensions?: Record<string, string> })._extensions?.['fsync@openssh.com'] === '1') {
      // A server that lists the extension yet answers "unsupported" (status 8) gets the file unsynced, as
      // before; any other failure of the fsync is the upload's (the bytes may not be on its disk).
      await call((cb) => wire.ext_openssh_fsync(handle, cb)).catch((err: { code?: unknown }) => { if (err.code !== 8) throw err; });
    }
  } catch (err) {
    failure = coded(err, 'cannot write');
  }
  try {
    if (conn.alive()) await call((cb) => wire.close(handle, cb));
  } catch (err) {
    failure ??= coded(err, 'cannot close');
  }
  if (failure) throw failure;
}

async function renameIntoPlace(conn: RemoteConnection, out: OutboundConfig, name: string, temp: string, existed: boolean, hooks: PushHooks): Promise<PushResult> {
  const target = remoteJoin(out.dir, name);
  if (out.onExists === 'overwrite') {
    await hooks.beforeRename?.(target, temp);
    try {
      try {
        await conn.sftp.posixRename(temp, target);
      } catch (err) {
        if (!/does not support/i.test((err as Error).message)) throw err;
        // No posix-rename on this server: remove then rename (briefly absent, never partial).
        await conn.sftp.delete(target, true);
        await conn.sftp.rename(temp, target);
      }
    } catch (err) {
      throw renameFailed(conn, err, temp, target);
    }
    return { path: target, name, replaced: existed };
  }
  // A plain SFTP rename never replaces an existing file (SFTP v3; OpenSSH uses link+unlink), so a name
  // that appeared meanwhile is detected by the server rather than overwritten.
  for (let n = 0; n < 100; n++) {
    const candidate = n === 0 ? name : uniqueName(name, n);
    const path = remoteJoin(out.dir, candidate);
    if (n > 0 && (await statOrNull(conn, path))) continue;
    await hooks.beforeRename?.(path, temp);
    try {
      await conn.sftp.rename(temp, path);
      return { path, name: candidate, replaced: false };
    } catch (err) {
      if (!conn.alive() || !isFileLevelError(err)) throw err;
      if (!(await statOrNull(conn, path))) throw renameFailed(conn, err, temp, path);
      if (out.onExists === 'fail') {
        throw new WaybillError('DELIVERY_TARGET_EXISTS', `${path} appeared on ${conn.partner}'s server during the upload (onExists: fail)`, { path });
      }
    }
  }
  throw new WaybillError('DELIVERY_TARGET_EXISTS', `no free name for ${name} in ${out.dir} after 100 tries`, { path: target });
}

/**
 * The server refused the final rename for a reason other than a name clash: typically a server that lets
 * us write but not rename (an upload-only folder). A coded error, so that is what the operator reads,
 * not a bare "Permission denied"; the temp file is removed by pushFile. A dropped connection passes as is.
 */
function renameFailed(conn: RemoteConnection, err: unknown, temp: string, target: string): unknown {
  if (!conn.alive() || !isFileLevelError(err)) return err;
  return new WaybillError('DELIVERY_RENAME_FAILED', `${conn.partner}'s server refused to rename ${temp} to ${target}: ${(err as Error).message}`,
    { path: target, sftpCode: (err as { code?: unknown }).code });
}
