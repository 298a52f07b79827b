// Opening a connection to a partner's SFTP server: the private key read from its reference at connect
// time, the host key checked against the pinned fingerprint before authentication (a mismatch refuses the
// connection and raises an alert), and TCP no-delay set, because without it Nagle + delayed ACK hold
// downloads to a crawl (library-notes: 1.8 MB/s vs 148 MB/s).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import ssh2, { type Client, type ServerHostKeyAlgorithm, type SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { WaybillError } from '../../../errors/catalogue.js';
import type { PrivateKeyRef, RemoteSftpConfig } from './config.js';
import type { TransportLogger } from './log.js';

/** The OpenSSH-style fingerprint of a raw host key blob: "SHA256:" + unpadded base64. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

async function readSecret(ref: PrivateKeyRef, what: string, env: NodeJS.ProcessEnv): Promise<string | Buffer> {
  if ('env' in ref) {
    const v = env[ref.env];
    if (!v) throw new WaybillError('SFTP_REMOTE_KEY_UNAVAILABLE', `${what}: environment variable ${ref.env} is not set`, { env: ref.env });
    return v;
  }
  try {
    return await readFile(ref.path);
  } catch (err) {
    throw new WaybillError('SFTP_REMOTE_KEY_UNAVAILABLE', `${what}: cannot read ${ref.path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { path: ref.path });
  }
}

export interface RemoteConnection {
  readonly partner: string;
  readonly sftp: SftpClient;
  /** ssh2's own SFTP session under `sftp`: downloads use it directly (see download.ts for why). */
  readonly wire: SFTPWrapper;
  /** False once the connection dropped: the caller stops and retries on a fresh connection. */
  alive(): boolean;
  /** Seconds an SFTP request went unanswered when the connection was closed for it (else null). */
  stalledAfter(): number | null;
  close(): Promise<void>;
}

export interface ConnectOptions {
  partner: string;
  log: TransportLogger;
  env?: NodeJS.ProcessEnv;
}

type Connectable = Pick<RemoteSftpConfig, 'host' | 'port' | 'username' | 'privateKey' | 'passphrase' | 'hostKey' | 'connectTimeoutSeconds'>
  & Partial<Pick<RemoteSftpConfig, 'operationTimeoutSeconds'>>;

export async function connectRemote(cfg: Connectable, opts: ConnectOptions): Promise<RemoteConnection> {
  const env = opts.env ?? process.env;
  const privateKey = await readSecret(cfg.privateKey, `private key for ${opts.partner}`, env);
  const passphrase = cfg.passphrase ? String(await readSecret(cfg.passphrase, `key passphrase for ${opts.partner}`, env)) : undefined;
  const where = { partner: opts.partner, host: cfg.host, port: cfg.port };
  // A key that cannot be used (not a key, encrypted without or with a wrong passphrase) is a key problem,
  // not an unreachable server: it was SFTP_REMOTE_CONNECT_FAILED, after opening a connection for nothing.
  // ssh2's messages name the problem, never the key's text.
  const parsed = ssh2.utils.parseKey(privateKey, passphrase);
  if (parsed instanceof Error) {
    const ref = 'env' in cfg.privateKey ? { env: cfg.privateKey.env } : { path: cfg.privateKey.path };
    throw new WaybillError('SFTP_REMOTE_KEY_UNAVAILABLE', `private key for ${opts.partner} (${'env' in ref ? `environment variable ${ref.env}` : ref.path}) cannot be used: ${parsed.message}`, ref);
  }
  // A server usually has several host keys (ed25519, ecdsa, rsa) and shows one per handshake: the type both
  // sides prefer, ed25519 with ssh2. A partner who gives us the fingerprint of its RSA key (common: many
  // publish only that one) was refused as HOST KEY MISMATCH on every poll. As OpenSSH's client does with
  // known_hosts, we ask again for the other types the server may have, one type fewer each time, and
  // accept only the pinned key; when none is it, the first key presented is the one reported.
  let firstPresented: string | null = null;
  let without: ServerHostKeyAlgorithm[] = [];
  for (;;) {
    const attempt = await connectOnce(cfg, opts, where, privateKey, passphrase,
      without.length ? HOST_KEY_ALGORITHMS.filter((a) => !without.includes(a)) : undefined);
    if ('sftp' in attempt) {
      if (without.length) opts.log.info({ ...where, hostKey: cfg.hostKey, refusedFirst: firstPresented }, 'remote sftp: the pinned host key is not the type the server offers first; asked for it by type');
      return attempt.sftp;
    }
    const { presented, err } = attempt;
    // The pinned key was shown (the login failed after it), or none was and this was not a handshake that
    // failed for want of a host key type left to offer: not a host key problem.
    const noTypeLeft = without.length > 0 && presented === null && /host key/i.test(err.message);
    if (presented?.fingerprint === cfg.hostKey && /authentication methods failed/i.test(err.message)) {
      // The server is the right one and refused our key or user name: credentials, not the network.
      throw new WaybillError('SFTP_REMOTE_AUTH_FAILED', `${cfg.host}:${cfg.port} refused the login of ${cfg.username} with the configured key: ${err.message}`, { ...where, username: cfg.username });
    }
    if (presented?.fingerprint === cfg.hostKey || (presented === null && !noTypeLeft)) {
      throw new WaybillError('SFTP_REMOTE_CONNECT_FAILED', `cannot connect to ${cfg.username}@${cfg.host}:${cfg.port}: ${err.message}`, where);
    }
    firstPresented ??= presented?.fingerprint ?? null;
    const asked = without.length;
    if (presented) without = [...new Set([...without, ...algorithmsOfKeyType(presented.type)])];
    // No other type left to ask for (or the type shown was not one we can leave out), or the server has
    // no key of the types left (the handshake fails before any key is shown): the pinned key is not among its keys.
    if (!presented || without.length === asked || HOST_KEY_ALGORITHMS.every((a) => without.includes(a))) {
      opts.log.error({ ...where, alert: true, code: 'SFTP_REMOTE_HOSTKEY_MISMATCH', expected: cfg.hostKey, presented: firstPresented },
        'remote sftp: HOST KEY MISMATCH, connection refused (the server changed its key, or someone is in between)');
      throw new WaybillError('SFTP_REMOTE_HOSTKEY_MISMATCH',
        `${cfg.host}:${cfg.port} presented host key ${firstPresented}, not the pinned ${cfg.hostKey}`, { ...where, expected: cfg.hostKey, presented: firstPresented });
    }
  }
}

/** The host key algorithms ssh2 can verify, in its order of preference. */
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

function algorithmsOfKeyType(type: string): ServerHostKeyAlgorithm[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type as ServerHostKeyAlgorithm];
}

/** The key type named at the start of an SSH public key blob ("ssh-ed25519", "ssh-rsa", ...). */
function keyType(key: Buffer): string {
  const len = key.length >= 4 ? key.readUInt32BE(0) : 0;
  return key.subarray(4, 4 + len).toString('latin1');
}

/** The same promise, with its rejection observed: one that loses a race must not become an unhandled rejection. */
function observed<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

type Attempt = { sftp: RemoteConnection } | { presented: { fingerprint: string; type: string } | null; err: Error };

/** One handshake: a connection when the server showed the pinned key, else the key it showed (if any). */
async function connectOnce(cfg: Connectable, opts: ConnectOptions, where: Record<string, unknown>, privateKey: string | Buffer,
  passphrase: string | undefined, serverHostKey: ServerHostKeyAlgorithm[] | undefined): Promise<Attempt> {
  // The library's default global listeners print to the console; ours log, and the per-call listeners
  // turn a dropped connection into a rejected promise.
  const sftp = new SftpClient(`waybill-${opts.partner}`, {
    error: (err) => opts.log.warn({ ...where, err: (err as Error).message }, 'remote sftp: connection error'),
    end: () => undefined,
    close: () => undefined,
  });
  const ssh = (sftp as unknown as { client: Client }).client;
  let alive = false;
  ssh.on('close', () => { alive = false; });
  let presented: { fingerprint: string; type: string } | null = null;
  // readyTimeout bounds the SSH handshake and login only; the SFTP subsystem's start (its version answer)
  // that comes after had no bound: a server whose subsystem never answered held the poll, its stop() and
  // the gateway's shutdown forever. The whole connect gets connectTimeoutSeconds.
  // The deadline also settles the wait itself: whether the library's connect() rejects once the socket
  // is destroyed depends on its event bookkeeping, and this must not.
  let timedOut = false;
  let deadline: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    deadline = setTimeout(() => { timedOut = true; ssh.destroy(); reject(new Error('connect deadline')); }, cfg.connectTimeoutSeconds * 1000);
  });
  expired.catch(() => undefined);
  try {
    await Promise.race([expired, observed(sftp.connect({
      host: cfg.host, port: cfg.port, username: cfg.username, privateKey, passphrase,
      readyTimeout: cfg.connectTimeoutSeconds * 1000,
      // Dead peers (a cable pulled mid-transfer) are noticed within ~45 s instead of hanging forever.
      keepaliveInterval: 15_000, keepaliveCountMax: 3,
      ...(serverHostKey ? { algorithms: { serverHostKey } } : {}),
      hostVerifier: (key: Buffer) => {
        presented = { fingerprint: fingerprint(key), type: keyType(key) };
        return presented.fingerprint === cfg.hostKey;
      },
    }))]);
  } catch (err) {
    clearTimeout(deadline);
    // Not sftp.end(): it resolves at once when no SFTP session was set up, leaving a logged-in SSH
    // connection open, and otherwise waits for the server. Nothing here is worth a polite close.
    ssh.destroy();
    if (timedOut) return { presented, err: new Error(`no SFTP session within ${cfg.connectTimeoutSeconds} s (connectTimeoutSeconds): ${(err as Error).message}`) };
    return { presented, err: err as Error };
  }
  clearTimeout(deadline);
  alive = true;
  ssh.setNoDelay(true);
  const wire = (sftp as unknown as { sftp: SFTPWrapper }).sftp;
  // Stall watchdog. ssh2 keeps the requests awaiting an answer in `_requests`, by increasing id, and an
  // SFTP server answers in order: when the oldest one stays the same for operationTimeoutSeconds, the
  // server's SFTP side is stuck. Keepalives cannot see that (sshd answers them itself), and ssh2 has no
  // per-request timeout, so the connection is closed: pending requests then fail and the poll (or push)
  // is retried with backoff on a new connection.
  const limitMs = (cfg.operationTimeoutSeconds ?? 60) * 1000;
  let stalledAfter: number | null = null;
  let oldest: number | null = null;
  let since = Date.now();
  const watchdog = setInterval(() => {
    const pending = Object.keys((wire as unknown as { _requests?: Record<string, unknown> })._requests ?? {}).map(Number);
    const first = pending.length ? Math.min(...pending) : null;
    if (first !== oldest) {
      oldest = first;
      since = Date.now();
    } else if (first !== null && Date.now() - since >= limitMs) {
      clearInterval(watchdog);
      stalledAfter = Math.round((Date.now() - since) / 1000);
      opts.log.warn({ ...where, code: 'SFTP_REMOTE_STALLED', seconds: stalledAfter }, 'remote sftp: an SFTP request went unanswered; closing the connection');
      ssh.destroy();
    }
  }, Math.min(1000, limitMs / 4));
  watchdog.unref();
  ssh.on('close', () => clearInterval(watchdog));
  return { sftp: {
    partner: opts.partner,
    sftp,
    wire,
    alive: () => alive,
    stalledAfter: () => stalledAfter,
    async close() {
      if (!alive) return;
      // end() waits for the server's close; a wedged peer must not hold a poller forever.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        sftp.end().catch(() => undefined),
        new Promise<void>((resolve) => { timer = setTimeout(() => { ssh.destroy(); resolve(); }, 5_000); }),
      ]);
      clearTimeout(timer);
      alive = false;
    },
  } };
}
