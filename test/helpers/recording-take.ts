// A take for the remote SFTP poller that records what it was handed and answers as intake does (the
// content hash as file id): the poller tests check what was taken, how often, and with which bytes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RemoteFileMeta } from '../../src/transports/sftp/remote/poller.js';

export const sha = (b: Buffer) => `sha256-${createHash('sha256').update(b).digest('hex')}`;

export function recordingTake() {
  const calls: Array<{ bytes: Buffer; meta: RemoteFileMeta }> = [];
  const take = async (path: string, meta: RemoteFileMeta) => {
    const bytes = readFileSync(path);
    calls.push({ bytes, meta });
    return { fileId: sha(bytes) };
  };
  return { calls, take };
}
