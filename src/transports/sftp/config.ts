// Configuration of Waybill's hosted SFTP server.
//
// Two blocks (see README.md next to this file for examples):
//
// 1. waybill.yaml, server level — `hostedSftpServerSchema`:
//      host            listen address (default 0.0.0.0: the server exists for remote partners, and
//                      is only started when the block is present)
//      port            default 2222
//      hostKeyPath     the server's private host key (OpenSSH format, ed25519); default
//                      <dataDir>/sftp/host_ed25519; generated with mode 0600 on first start
//      maxConnections  open TCP connections in total, authenticated or not (default 64)
//      maxConnectionsPerAddress  open TCP connections from one source address (default 16), so one
//                      host cannot take every slot of maxConnections and lock the other partners out
//      loginGraceMs    a connection that has not authenticated by then (counted from the TCP accept,
//                      SSH version line or not) is dropped (default 30 s)
//      maxAuthTries    failed authentication attempts per connection before it is dropped (default 6)
//      idleTimeoutMs   a logged-in connection that sends no SFTP request for this long, with none being
//                      answered, is closed (default 10 min; 0: never)
//      maxAuthFailuresPerAddress, authFailureWindowMs
//                      password guessing across connections: after this many failed passwords (or bad
//                      signatures) from one address, each within the window of the one before, its
//                      password attempts are refused unchecked until a window passes without one
//                      (defaults 20 and 10 min; 0 failures: no limit). Key logins are not affected.
//
// 2. partner.yaml, `transports.sftp` — one account per partner — `hostedSftpAccountSchema`:
//      username        login name (letters, digits, . _ -), unique across partners
//      publicKeys      OpenSSH public key lines (`ssh-ed25519 AAAA... comment`); several are allowed so
//                      a partner can rotate keys without a gap
//      password        { hash } — password auth is OFF unless this is present; only a scrypt hash is
//                      stored (format in password.ts; make one with hashPassword())
//      allowFrom       source IPs / CIDRs allowed to log in (absent: any address)
//      completion      { mode: rename | pattern, pattern } — when an upload counts as complete:
//                        rename  (default) uploaded under a temporary name, closed, then renamed to a
//                                final name (one matching `pattern`, if given)
//                        pattern a closed upload whose name matches `pattern` (required in this mode)
//      tempPattern     names treated as temporary (comma-separated globs or a list; default
//                      `*.tmp,*.part,.*`). A temporary name is never taken in, even if it also
//                      matches `pattern`.
//      maxFileBytes    largest upload accepted (default 100 MiB); a WRITE past it fails and the
//                      partial file is discarded
//      maxSessions     concurrent SFTP sessions for the account (default 4)
//      afterIntake     delete (default; intake already keeps the bytes) or archive (moved to
//                      <dataDir>/sftp/<partner>/archive/<yyyy-mm-dd>/, outside the account's view)
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type * as Ssh2 from 'ssh2';
import { z } from 'zod';
import { splitGlobs } from './glob.js';
import { isPasswordHash } from './password.js';

export { hashPassword, verifyPassword, isPasswordHash } from './password.js';

const MiB = 1024 * 1024;

/**
 * ssh2's key parser, loaded on first use. Every partner.yaml goes through this schema, so an eager import
 * would load ssh2 (about 130 ms and 2.5 MB of heap that stays live) into every process that reads a
 * partner folder, `waybill translate` and `waybill lint` included, whether or not it has keys to check.
 */
let ssh2Utils: typeof Ssh2.utils | undefined;
function parseKey(line: string): ReturnType<typeof Ssh2.utils.parseKey> {
  ssh2Utils ??= (createRequire(import.meta.url)('ssh2') as typeof Ssh2).utils;
  return ssh2Utils.parseKey(line);
}

/** An OpenSSH public key line (`<algo> <base64> [comment]`), as in authorized_keys (no options). */
const publicKeyLine = z.string().trim().refine((line) => {
  const parsed = parseKey(line);
  return !(parsed instanceof Error) && !(Array.isArray(parsed)) && !parsed.isPrivateKey();
}, 'not an OpenSSH public key line (expected e.g. "ssh-ed25519 AAAAC3... partner-2025"; options before the key are not supported)');

/** `203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`. */
export function parseAddressRange(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address, prefixText, ...rest] = entry.trim().split('/');
  if (rest.length) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

const addressRange = z.string().refine((s) => parseAddressRange(s) !== null, 'not an IP address or CIDR range (e.g. 203.0.113.7 or 203.0.113.0/24)');

const globList = z.union([z.string(), z.array(z.string())]);

export const hostedSftpAccountSchema = z.strictObject({
  username: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a username is 1-64 letters, digits, dots, underscores or dashes'),
  publicKeys: z.array(publicKeyLine).default([]),
  password: z.strictObject({
    hash: z.string().refine(isPasswordHash, 'not a Waybill password hash (scrypt$N$r$p$salt$key); make one with hashPassword()'),
  }).optional(),
  allowFrom: z.array(addressRange).min(1, 'allowFrom needs at least one address; leave it out to allow any').optional(),
  completion: z.strictObject({
    mode: z.enum(['rename', 'pattern']).default('rename'),
    pattern: globList.optional().transform((v) => (v === undefined ? undefined : splitGlobs(v))),
  }).prefault({}),
  tempPattern: globList.default('*.tmp,*.part,.*').transform((v) => splitGlobs(v)),
  maxFileBytes: z.number().int().min(1).default(100 * MiB),
  maxSessions: z.number().int().min(1).max(1000).default(4),
  afterIntake: z.enum(['delete', 'archive']).default('delete'),
}).superRefine((a, ctx) => {
  if (a.publicKeys.length === 0 && !a.password) {
    ctx.addIssue({ code: 'custom', path: ['publicKeys'], message: 'an account needs at least one public key (or a password hash)' });
  }
  if (a.completion.mode === 'pattern' && !a.completion.pattern?.length) {
    ctx.addIssue({ code: 'custom', path: ['completion', 'pattern'], message: "completion mode 'pattern' needs a pattern (e.g. '*.edi')" });
  }
});

/** A partner's hosted SFTP account after validation and defaults. */
export type ParsedAccount = z.output<typeof hostedSftpAccountSchema>;
export type HostedSftpAccountInput = z.input<typeof hostedSftpAccountSchema>;

export const hostedSftpServerSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(2222),
  /** Default: <dataDir>/sftp/host_ed25519 (see resolveHostKeyPath). */
  hostKeyPath: z.string().min(1).optional(),
  maxConnections: z.number().int().min(1).max(10_000).default(64),
  maxConnectionsPerAddress: z.number().int().min(1).max(10_000).default(16),
  loginGraceMs: z.number().int().min(1_000).default(30_000),
  maxAuthTries: z.number().int().min(1).max(100).default(6),
  idleTimeoutMs: z.number().int().min(0).default(600_000),
  maxAuthFailuresPerAddress: z.number().int().min(0).default(20),
  authFailureWindowMs: z.number().int().min(1_000).default(600_000),
});

export type HostedSftpServerConfig = z.output<typeof hostedSftpServerSchema>;

/** Where everything of the hosted server lives: <dataDir>/sftp. */
export function sftpDataRoot(dataDir: string): string {
  return join(dataDir, 'sftp');
}

export function resolveHostKeyPath(config: Pick<HostedSftpServerConfig, 'hostKeyPath'>, dataDir: string): string {
  return config.hostKeyPath ?? join(sftpDataRoot(dataDir), 'host_ed25519');
}

export interface HostedAccounts {
  /** By username, as HostedSftpServer's `accounts()` callback returns it. */
  accounts: Map<string, { partner: string; account: ParsedAccount }>;
  /** Invalid blocks and clashing usernames (those accounts are left out, never guessed). */
  problems: string[];
}

/**
 * Builds the accounts map from the partners' `transports.sftp` blocks. Partners without the block have no
 * hosted account. A username claimed by two partners is given to neither: a login must never land in the
 * wrong mailbox.
 */
export function hostedSftpAccounts(partners: ReadonlyArray<{ id: string; transports: Record<string, unknown> }>): HostedAccounts {
  const accounts = new Map<string, { partner: string; account: ParsedAccount }>();
  const problems: string[] = [];
  const clashing = new Set<string>();
  for (const p of partners) {
    if (p.transports.sftp === undefined) continue;
    const r = hostedSftpAccountSchema.safeParse(p.transports.sftp);
    if (!r.success) {
      problems.push(`${p.id}: transports.sftp: ${r.error.issues.map((i) => `${i.path.join('.') || '(block)'}: ${i.message}`).join('; ')}`);
      continue;
    }
    const name = r.data.username;
    const other = accounts.get(name);
    if (other || clashing.has(name)) {
      problems.push(`${p.id}: transports.sftp.username '${name}' is also used by ${other?.partner ?? 'another partner'}; neither account is served`);
      accounts.delete(name);
      clashing.add(name);
      continue;
    }
    accounts.set(name, { partner: p.id, account: r.data });
  }
  return { accounts, problems };
}
