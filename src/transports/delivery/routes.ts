// Which way a partner's outbound documents go, from its partner.yaml `transports` block:
//   transports.outbound: 'hosted' | 'remote'   (explicit choice), otherwise
//   remote  when transports.remote has an `outbound` section,
//   hosted  when the partner has an account on our hosted SFTP server,
//   none    otherwise (documents stay pending; logged once).
import { parseRemoteSftp, type OutboundConfig, type RemoteSftpConfig } from '../sftp/remote/config.js';

export type Route =
  | { kind: 'remote'; config: RemoteSftpConfig; outbound: OutboundConfig }
  | { kind: 'hosted' }
  | { kind: 'none'; reason: string };

/** The hosted server's account block (built by the hosted-server work) is `transports.sftp`. */
export function defaultHasHostedAccount(transports: Record<string, unknown>): boolean {
  return typeof transports.sftp === 'object' && transports.sftp !== null;
}

export function routeFor(transports: Record<string, unknown> | undefined, hasHostedAccount: (t: Record<string, unknown>) => boolean = defaultHasHostedAccount): Route {
  if (!transports) return { kind: 'none', reason: 'unknown partner (not in the loaded partner configuration)' };
  const choice = transports.outbound;
  if (choice !== undefined && choice !== 'hosted' && choice !== 'remote') {
    return { kind: 'none', reason: `transports.outbound must be 'hosted' or 'remote', not ${JSON.stringify(choice)}` };
  }
  const remote = () => {
    if (transports.remote === undefined) return { kind: 'none', reason: "transports.outbound is 'remote' but there is no transports.remote block" } as const;
    const parsed = parseRemoteSftp(transports.remote);
    if (!parsed.config) return { kind: 'none', reason: parsed.problems.join('; ') } as const;
    if (!parsed.config.outbound) return { kind: 'none', reason: 'transports.remote has no outbound section (dir, fileName, ...)' } as const;
    return { kind: 'remote', config: parsed.config, outbound: parsed.config.outbound } as const;
  };
  if (choice === 'remote') return remote();
  if (choice === 'hosted') return hasHostedAccount(transports) ? { kind: 'hosted' } : { kind: 'none', reason: "transports.outbound is 'hosted' but the partner has no hosted SFTP account" };
  if (typeof transports.remote === 'object' && transports.remote !== null && 'outbound' in transports.remote) return remote();
  if (hasHostedAccount(transports)) return { kind: 'hosted' };
  return { kind: 'none', reason: 'no outbound transport: neither transports.remote.outbound nor a hosted SFTP account' };
}
