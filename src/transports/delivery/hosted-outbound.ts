// Placing a document in a partner's outbound/ folder on our hosted SFTP server
// (<dataDir>/sftp/<partner>/outbound/, which the hosted server serves to that partner's account only).
// Same rule as pushing to a remote server: the partner never sees a partial file. The bytes go to a
// hidden temp name first, are fsynced, and then appear under the final name in one step.
import { existsSync } from 'node:fs';
import { link, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { WaybillError } from '../../errors/catalogue.js';
import { uniqueName, type PushHooks, type PushResult } from '../sftp/remote/push.js';

export function hostedOutboundDir(dataDir: string, partner: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(partner)) throw new Error(`not a partner id: ${partner}`);
  return join(dataDir, 'sftp', partner, 'outbound');
}

async function fsyncPath(path: string): Promise<void> {
  const fd = await open(path, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

export type OnExists = 'fail' | 'overwrite' | 'unique';

export async function placeHosted(dir: string, name: string, content: string | Buffer, onExists: OnExists, hooks: PushHooks = {}): Promise<PushResult> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  const existed = existsSync(target);
  if (existed && onExists === 'fail') throw new WaybillError('DELIVERY_TARGET_EXISTS', `${target} already exists (onExists: fail)`, { path: target });
  // Deterministic temp name: a retry after a crash overwrites its own leftover instead of adding another.
  const temp = hostedTempPath(dir, name);
  const fd = await open(temp, 'w');
  try {
    await fd.writeFile(content);
    await fd.sync();
  } catch (err) {
    // A write that failed (disk full) left part of the document there: hidden from the partner, but it
    // kept the space it took until a later attempt succeeded, on the disk that had just run out of it.
    await fd.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fd.close();
  let placed: PushResult;
  try {
    placed = await moveIntoPlace(dir, name, temp, onExists, existed, hooks);
  } catch (err) {
    await hooks.renameRefused?.();
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncPath(dir).catch(() => undefined); // placed either way; the fsync only hastens durability
  return placed;
}

export function hostedTempPath(dir: string, name: string): string {
  return join(dir, `.${name}.part`);
}

/**
 * After a crash with a rename note: was the file placed? The temp is gone (renamed), or it is a second
 * hard link of the target (linked, crash before the unlink; the leftover link is removed).
 */
export async function hostedWasPlaced(target: string, temp: string): Promise<boolean> {
  const t = await stat(temp).catch(() => null);
  if (!t) return true;
  const f = await stat(target).catch(() => null);
  if (f && f.ino === t.ino && f.dev === t.dev) {
    await unlink(temp).catch(() => undefined);
    return true;
  }
  return false;
}

async function moveIntoPlace(dir: string, name: string, temp: string, onExists: OnExists, existed: boolean, hooks: PushHooks): Promise<PushResult> {
  if (onExists === 'overwrite') {
    const path = join(dir, name);
    await hooks.beforeRename?.(path, temp);
    await rename(temp, path);
    return { path, name, replaced: existed };
  }
  // link() fails on an existing name instead of replacing it, which rename() would do silently.
  for (let n = 0; n < 100; n++) {
    const candidate = n === 0 ? name : uniqueName(name, n);
    const path = join(dir, candidate);
    await hooks.beforeRename?.(path, temp);
    try {
      await link(temp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (onExists === 'fail') throw new WaybillError('DELIVERY_TARGET_EXISTS', `${path} appeared meanwhile (onExists: fail)`, { path });
      continue;
    }
    // Placed now; a failed unlink only leaves a hidden second link (recognised by hostedWasPlaced).
    await unlink(temp).catch(() => undefined);
    return { path, name: candidate, replaced: false };
  }
  throw new WaybillError('DELIVERY_TARGET_EXISTS', `no free name for ${name} in ${dir} after 100 tries`, { path: join(dir, name) });
}
