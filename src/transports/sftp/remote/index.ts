// Remote SFTP transport: poll partners' servers for inbound files, push outbound files to them.
// The gateway keeps one poller per partner with a `transports.remote` block that has `poll` entries
// (RemotePollerSet), in step with partner reloads.
import { parseRemoteSftp, type RemoteSftpConfig } from './config.js';
import { RemoteSftpPoller, type RemoteSftpPollerOptions } from './poller.js';

export { remoteSftpSchema, parseRemoteSftp, type RemoteSftpConfig, type RemoteSftpInput, type OutboundConfig, type PollDirConfig } from './config.js';
export { connectRemote, fingerprint, type RemoteConnection } from './connect.js';
export { RemoteSftpPoller, type RemoteFileMeta, type TakeRemoteFile, type PollResult, type PollStep, type PollerStatus } from './poller.js';
export { pushFile, type PushResult, type PushHooks } from './push.js';
export { renderFileName } from './names.js';

/**
 * The pollers of the current partner configuration, kept in step with it: sync() after a partner reload
 * starts the pollers of partners that gained a remote block, restarts those whose block changed (the old
 * one stops between files first; the ledger's record of taken files keeps the new one from taking a file
 * twice) and stops those that lost it. Calls are serialized.
 */
export class RemotePollerSet {
  private readonly running = new Map<string, { key: string; poller: RemoteSftpPoller }>();
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: Omit<RemoteSftpPollerOptions, 'partner' | 'config'>) {}

  get pollers(): RemoteSftpPoller[] {
    return [...this.running.values()].map((r) => r.poller);
  }

  /** Brings the running pollers in line with `partners`; resolves with the partners whose remote block is invalid. */
  sync(partners: Array<{ id: string; transports: Record<string, unknown> }>): Promise<Array<{ partner: string; problems: string[] }>> {
    const next = this.chain.then(async () => {
      if (this.stopped) return [];
      const wanted = new Map<string, { key: string; config: RemoteSftpConfig }>();
      const problems: Array<{ partner: string; problems: string[] }> = [];
      for (const p of partners) {
        if (p.transports.remote === undefined) continue;
        const parsed = parseRemoteSftp(p.transports.remote);
        if (!parsed.config) problems.push({ partner: p.id, problems: parsed.problems });
        else if (parsed.config.poll.length) wanted.set(p.id, { key: JSON.stringify(parsed.config), config: parsed.config });
      }
      // Each partner on its own: a poller stuck on a hanging server (up to operationTimeoutSeconds) used
      // to hold up, one after the other, the stop of every other changed poller and the start of every
      // new or changed one. One partner's old poller still stops before its new one starts.
      const ids = new Set([...this.running.keys(), ...wanted.keys()]);
      await Promise.all([...ids].map(async (id) => {
        const r = this.running.get(id);
        const w = wanted.get(id);
        if (r && w?.key === r.key) return;
        if (r) {
          await r.poller.stop();
          this.running.delete(id);
        }
        if (w && !this.stopped) {
          const poller = new RemoteSftpPoller({ ...this.opts, partner: id, config: w.config });
          this.running.set(id, { key: w.key, poller });
          poller.start();
        }
      }));
      return problems;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Stops every poller (each between files) and any sync still to come. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
    await Promise.all(this.pollers.map((p) => p.stop()));
    this.running.clear();
  }
}
