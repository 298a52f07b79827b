// Waybill's hosted SFTP server (ssh2). One TCP listener; each connection authenticates as one partner
// account (auth.ts) and may then open SFTP sessions (session.ts) on that partner's mailbox (fs.ts).
// Nothing but the SFTP subsystem is offered: a shell, a command or another subsystem is answered
// "SFTP only" and closed (onSession); port forwarding is refused (ssh2 rejects requests with no handler).
//
// We run our own net.Server and hand sockets to ssh2 (injectSocket) so every accepted socket gets
// TCP_NODELAY before the first byte: with Nagle on, SFTP's many small status replies meet the
// client's delayed ACKs and uploads crawl (measured: 1.8 MB/s vs 148 MB/s).
import { mkdirSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel, Session } from 'ssh2';
import { silentLogger, type Logger } from '../../../pipeline/context.js';
import { hostedSftpServerSchema, resolveHostKeyPath, sftpDataRoot, type HostedSftpServerConfig } from '../config.js';
import { compileAccount, type AccountEntry, type CompiledAccount } from './account.js';
import { ConnectionAuth, PasswordThrottle } from './auth.js';
import { InboundState, type TakeFn } from './completion.js';
import { partnerDirs } from './fs.js';
import { hostKeyTooOpen, loadOrCreateHostKey, type HostKey } from './host-key.js';
import { SftpSession } from './session.js';

export interface HostedSftpServerOptions {
  /** The gateway's data dir: host key (by default) and mailboxes live under <dataDir>/sftp. */
  dataDir: string;
  /** waybill.yaml's server block, raw or already parsed (defaults apply either way). */
  config?: Partial<HostedSftpServerConfig>;
  /** The accounts as of now, by username. Asked at every login, so partner reloads apply without a restart. */
  accounts: () => Map<string, AccountEntry>;
  /** Must resolve only once the file is durably taken in (the pipeline's intake); see completion.ts. */
  take: TakeFn;
  log?: Logger;
}

export class HostedSftpServer {
  private readonly config: HostedSftpServerConfig;
  private readonly log: Logger;
  private readonly state = new InboundState();
  private readonly throttle: PasswordThrottle;
  private readonly sessionCounts = new Map<string, number>();
  private readonly sessions = new Set<SftpSession>();
  private readonly sockets = new Set<Socket>();
  /** Open sockets per source address (maxConnectionsPerAddress). */
  private readonly perAddress = new Map<string, number>();
  private readonly clients = new Set<Connection>();
  /** Per accepted socket: the login grace timer, cleared when its connection authenticates. */
  private readonly graceTimers = new WeakMap<Socket, NodeJS.Timeout>();
  private hostKey: HostKey | null = null;
  private net: NetServer | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly opts: HostedSftpServerOptions) {
    this.config = hostedSftpServerSchema.parse(opts.config ?? {});
    this.throttle = new PasswordThrottle(this.config.maxAuthFailuresPerAddress, this.config.authFailureWindowMs);
    this.log = opts.log ?? silentLogger;
  }

  /** `SHA256:...` of the host key (generating the key on first use), as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint(): string {
    return this.loadHostKey().fingerprint;
  }

  private loadHostKey(): HostKey {
    if (!this.hostKey) {
      const path = resolveHostKeyPath(this.config, this.opts.dataDir);
      this.hostKey = loadOrCreateHostKey(path);
      if (this.hostKey.created) this.log.info({ path, fingerprint: this.hostKey.fingerprint }, 'sftp: host key generated');
      else if (hostKeyTooOpen(path)) this.log.warn({ path }, 'sftp: host key file is readable by group or others; chmod 600 it');
    }
    return this.hostKey;
  }

  async start(): Promise<{ port: number; fingerprint: string }> {
    if (this.net) throw new Error('HostedSftpServer already started');
    const key = this.loadHostKey();
    mkdirSync(sftpDataRoot(this.opts.dataDir), { recursive: true, mode: 0o700 });
    await this.sweepInbound();
    const ssh = new ssh2.Server({ hostKeys: [key.privateKey], ident: 'Waybill' }, (client, info) => this.onClient(client, info.ip));
    const net = createServer({ noDelay: true }, (socket) => {
      socket.setNoDelay(true);
      const from = socket.remoteAddress ?? '';
      const already = this.perAddress.get(from) ?? 0;
      if (already >= this.config.maxConnectionsPerAddress) {
        this.log.warn({ ip: from, limit: this.config.maxConnectionsPerAddress }, 'sftp: connection refused, too many open connections from this address');
        socket.destroy();
        return;
      }
      this.perAddress.set(from, already + 1);
      socket.once('close', () => {
        const left = (this.perAddress.get(from) ?? 1) - 1;
        if (left <= 0) this.perAddress.delete(from);
        else this.perAddress.set(from, left);
      });
      this.sockets.add(socket);
      // The login grace runs from the TCP accept: ssh2 reports a connection only once the client has sent
      // its version line, so a socket that sends nothing (or drips bytes) would otherwise hold one of
      // maxConnections for ever, and enough of them lock every partner out.
      const ip = socket.remoteAddress ?? '';
      const grace = setTimeout(() => {
        this.log.warn({ ip }, 'sftp: no successful login within the grace time; connection closed');
        socket.destroy();
      }, this.config.loginGraceMs);
      this.graceTimers.set(socket, grace);
      socket.once('close', () => {
        clearTimeout(grace);
        this.sockets.delete(socket);
      });
      ssh.injectSocket(socket);
    });
    net.maxConnections = this.config.maxConnections;
    this.net = net;
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      net.listen(this.config.port, this.config.host, () => {
        net.off('error', reject);
        resolve();
      });
    });
    net.on('error', (err) => this.log.error({ err: err.message }, 'sftp: listener error'));
    const address = net.address();
    const port = typeof address === 'object' && address ? address.port : this.config.port;
    this.log.info({ host: this.config.host, port, fingerprint: key.fingerprint }, 'sftp: hosted server listening');
    return { port, fingerprint: key.fingerprint };
  }

  /**
   * Before the first session: temporary uploads left in an inbound folder by a previous run that stopped
   * without ending its sessions (a crash, kill -9) are deleted, as a session's end deletes its own; no
   * upload was acknowledged for them, so the uploader sends the file again. A name counts as temporary
   * when every account of the partner says so. Other files left there (a pattern-mode upload cut short,
   * or one taken in whose removal failed) are named in a warning and left alone. This assumes the
   * mailboxes under the data dir belong to this process only, as the in-memory upload state does.
   */
  private async sweepInbound(): Promise<void> {
    const byPartner = new Map<string, CompiledAccount[]>();
    for (const entry of this.opts.accounts().values()) {
      let list = byPartner.get(entry.partner);
      if (!list) byPartner.set(entry.partner, (list = []));
      list.push(compileAccount(entry));
    }
    for (const [partner, accounts] of byPartner) {
      const dir = partnerDirs(this.opts.dataDir, partner).inbound;
      const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') this.log.warn({ partner, dir, err: err.message }, 'sftp: cannot read an inbound folder to sweep it');
        return [];
      });
      const removed: string[] = [];
      const left: string[] = [];
      for (const e of entries) {
        if (!e.isFile()) continue;
        if (accounts.every((a) => a.isTemporary(e.name))) {
          await rm(join(dir, e.name), { force: true });
          removed.push(e.name);
        } else left.push(e.name);
      }
      if (removed.length) this.log.info({ partner, files: removed.slice(0, 20), count: removed.length }, 'sftp: deleted temporary uploads left by a previous run');
      if (left.length) {
        this.log.warn({ code: 'SFTP_UPLOAD_LEFT_OVER', partner, files: left.slice(0, 20), count: left.length },
          'sftp: files left in inbound/ by a previous run were not taken in (an upload cut short, or one taken in whose removal failed); they are left for an operator to check');
      }
    }
  }

  /** Stops listening, ends every connection (uncompleted uploads are deleted) and waits for intakes in flight. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const net = this.net;
      const closed = net ? new Promise<void>((resolve) => net.close(() => resolve())) : Promise.resolve();
      for (const c of this.clients) c.end();
      // A client that does not close its side within a moment is cut off.
      const cutoff = setTimeout(() => { for (const s of this.sockets) s.destroy(); }, 1_000);
      await this.state.settle();
      await Promise.allSettled([...this.sessions].map((s) => s.end()));
      await closed;
      clearTimeout(cutoff);
      this.log.info({}, 'sftp: hosted server stopped');
    })();
    return this.stopping;
  }

  private onClient(client: Connection, ip: string): void {
    if (this.stopping) {
      client.end();
      return;
    }
    this.clients.add(client);
    const auth = new ConnectionAuth({ accounts: this.opts.accounts, maxAuthTries: this.config.maxAuthTries, log: this.log, throttle: this.throttle }, ip, () => client.end());
    const mine = new Set<SftpSession>();
    const releases = new Set<() => void>();
    client.on('authentication', (ctx) => {
      auth.handle(ctx).catch((err: Error) => {
        this.log.error({ err: err.message }, 'sftp: authentication error');
        try { ctx.reject(); } catch { /* already answered */ }
      });
    });
    let idleTimer: NodeJS.Timeout | undefined;
    client.on('ready', () => {
      const sock = socketOf(client);
      if (sock) clearTimeout(this.graceTimers.get(sock));
      const account = auth.account;
      if (!account) return client.end();
      this.log.info({ partner: account.partner, username: account.username, ip }, 'sftp: login');
      // Idle timeout: without it a client that logs in and then does nothing (a hung job, a hostile
      // partner) holds its sessions (maxSessions) and a connection slot (maxConnections) for ever.
      const idleMs = this.config.idleTimeoutMs;
      let last = Date.now();
      const touch = () => { last = Date.now(); };
      const check = () => {
        const busy = [...mine].some((s) => s.busy());
        const idleFor = Date.now() - last;
        if (busy || idleFor < idleMs) {
          idleTimer = setTimeout(check, busy ? idleMs : idleMs - idleFor);
          return;
        }
        this.log.warn({ partner: account.partner, username: account.username, ip, idleTimeoutMs: idleMs }, 'sftp: connection idle for too long; closed');
        client.end();
        // A client that does not close its side within a moment is cut off.
        idleTimer = setTimeout(() => socketOf(client)?.destroy(), 1_000);
      };
      if (idleMs > 0) idleTimer = setTimeout(check, idleMs);
      // Asked at every request: a removed account or a revoked key ends the connections logged in with it.
      let revoked = false;
      const authorised = () => {
        if (revoked) return false;
        if (auth.stillAllowed()) return true;
        revoked = true;
        this.log.warn({ code: 'SFTP_ACCESS_REVOKED', partner: account.partner, username: account.username, ip },
          'sftp: the account was removed, or the key, password or address it logged in with is no longer allowed; connection closed');
        setImmediate(() => client.end()); // after the refusal has been sent
        setTimeout(() => socketOf(client)?.destroy(), 1_000).unref();
        return false;
      };
      client.on('session', (accept) => {
        touch();
        const session = accept();
        if (!authorised()) return;
        this.onSession(session, account, ip, mine, releases, touch, authorised);
      });
    });
    client.on('error', (err: Error & { level?: string }) => {
      this.log.debug?.({ ip, err: err.message }, 'sftp: connection error');
      // ssh2's keepalive (every 15 s, 3 misses) gave up on a peer that vanished without a FIN. end()
      // alone would wait on TCP for many minutes; destroy so the session slot and partial upload are
      // released now. (ssh2 exposes no public handle on the socket.)
      if (err.level === 'client-timeout') socketOf(client)?.destroy();
    });
    client.on('close', () => {
      clearTimeout(idleTimer);
      this.clients.delete(client);
      for (const release of releases) release();
      // Sessions end here whether or not the client closed its channels first (a dropped connection does not).
      for (const s of mine) void s.end().finally(() => this.sessions.delete(s));
    });
  }

  private onSession(session: Session, account: CompiledAccount, ip: string, mine: Set<SftpSession>, releases: Set<() => void>, onActivity: () => void, authorised: () => boolean): void {
    const username = account.username;
    const limit = account.config.maxSessions;
    const count = this.sessionCounts.get(username) ?? 0;
    if (count >= limit) {
      this.log.warn({ code: 'SFTP_SESSION_LIMIT', partner: account.partner, username, ip, limit }, 'sftp: session refused, account at its session limit');
      // With no 'sftp' listener ssh2 offers the request as a plain subsystem channel: say why on its
      // stderr (OpenSSH's sftp prints it) and close it with a failing exit status.
      session.on('subsystem', (acceptSub) => {
        const ch = acceptSub();
        ch.stderr.write(`waybill: too many concurrent sessions for account '${username}' (limit ${limit}); try again when one has ended\n`);
        ch.exit(1);
        ch.end();
      });
      return;
    }
    // Not offered: a shell, a command, another subsystem. Left unanswered, ssh2 only refuses the
    // request, and the session channel stays open (the ssh2 client, for one, never closes it), holding
    // a session slot until the connection ends; a few such attempts locked the account out. Answered
    // like OpenSSH's internal-sftp: a message on stderr, exit status 1, and the channel closed.
    const sftpOnly = (accept: () => ServerChannel) => {
      const ch = accept();
      ch.stderr.write('waybill: this server offers SFTP only\n');
      ch.exit(1);
      ch.end();
    };
    session.on('exec', (accept) => sftpOnly(accept));
    session.on('shell', (accept) => sftpOnly(accept));
    session.on('subsystem', (accept) => sftpOnly(accept)); // 'sftp' itself is the 'sftp' event below
    // The slot is held from the session channel's opening to its close (or the connection's end).
    this.sessionCounts.set(username, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      releases.delete(release);
      const left = (this.sessionCounts.get(username) ?? 1) - 1;
      if (left <= 0) this.sessionCounts.delete(username);
      else this.sessionCounts.set(username, left);
    };
    releases.add(release);
    let sftpSession: SftpSession | null = null;
    session.on('close', () => {
      release();
      if (sftpSession) void sftpSession.end().finally(() => this.sessions.delete(sftpSession!));
    });
    session.on('sftp', (acceptSftp) => {
      const dirs = partnerDirs(this.opts.dataDir, account.partner);
      const sftp = acceptSftp();
      const s = new SftpSession({ sftp, account, dirs, state: this.state, take: this.opts.take, log: this.log, remoteAddress: ip, onActivity, authorised });
      sftpSession = s;
      mine.add(s);
      this.sessions.add(s);
      sftp.on('close', () => void s.end().finally(() => this.sessions.delete(s)));
      void mkdir(dirs.inbound, { recursive: true }).then(() => mkdir(dirs.outbound, { recursive: true })).catch((err: Error) =>
        this.log.error({ partner: account.partner, err: err.message }, 'sftp: cannot create the mailbox folders'));
    });
  }
}

/** The socket under an ssh2 connection (ssh2 exposes no public handle on it). */
function socketOf(client: Connection): Socket | undefined {
  return (client as unknown as { _sock?: Socket })._sock;
}
