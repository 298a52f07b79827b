// Remote SFTP transport: poll partners' servers for inbound files, push outbound files to them.
// The gateway builds one poller per partner with a `transports.remote` block that has `poll` entries.
import { parseRemoteSftp } from './config.js';
import { RemoteSftpPoller, type RemoteSftpPollerOptions } from './poller.js';

export { remoteSftpSchema, parseRemoteSftp, type RemoteSftpConfig, type RemoteSftpInput, type OutboundConfig, type PollDirConfig } from './config.js';
export { connectRemote, fingerprint, type RemoteConnection } from './connect.js';
export { RemoteSftpPoller, type RemoteFileMeta, type TakeRemoteFile, type PollResult, type PollStep, type PollerStatus } from './poller.js';
export { pushFile, type PushResult, type PushHooks } from './push.js';
export { renderFileName } from './names.js';

/**
 * One poller per partner whose transports.remote block polls something. Partners whose block is invalid
 * are returned with their problems (and get no poller) instead of stopping the others.
 */
export function remotePollersFor(
  partners: Array<{ id: string; transports: Record<string, unknown> }>,
  opts: Omit<RemoteSftpPollerOptions, 'partner' | 'config'>,
): { pollers: RemoteSftpPoller[]; problems: Array<{ partner: string; problems: string[] }> } {
  const pollers: RemoteSftpPoller[] = [];
  const problems: Array<{ partner: string; problems: string[] }> = [];
  for (const p of partners) {
    if (p.transports.remote === undefined) continue;
    const parsed = parseRemoteSftp(p.transports.remote);
    if (!parsed.config) problems.push({ partner: p.id, problems: parsed.problems });
    else if (parsed.config.poll.length) pollers.push(new RemoteSftpPoller({ ...opts, partner: p.id, config: parsed.config }));
  }
  return { pollers, problems };
}
