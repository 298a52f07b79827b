// A throwaway OpenSSH sshd for SFTP tests: a loopback port, its own host key, a key-only root account
// locked into an internal-sftp chroot, with no umask (files get the modes clients ask for). Started and stopped by the test that owns it, addressed by its pid.
// Needs root and Debian's openssh-server (.ci/run installs it).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

const SSHD = '/usr/sbin/sshd';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A base folder for a chroot: every path component must be root-owned and writable by root only. */
export function chrootBase(): string {
  for (const dir of ['/srv', '/run', '/var/lib']) {
    try {
      const st = statSync(dir);
      if (st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0) return dir;
    } catch { /* try the next */ }
  }
  throw new Error('no root-owned, non-world-writable folder for the sshd chroot');
}

export function keyFingerprint(pubFile: string): string {
  return execFileSync('/usr/bin/ssh-keygen', ['-lf', pubFile], { encoding: 'utf8' }).split(' ')[1];
}

/** Our own sshd: started and stopped by this file only, addressed by its pid. */
export class TestSshd {
  proc: ChildProcess | null = null;
  stderr = '';
  readonly chroot: string;
  readonly clientKey: string;
  hostKey = '';
  /** Fingerprints of the extra host keys asked for (opts.extraHostKeys). */
  readonly extraHostKeys: Partial<Record<'rsa' | 'ecdsa', string>> = {};

  private constructor(readonly base: string, readonly port: number, readonly unchrooted = false) {
    this.chroot = join(base, 'chroot');
    this.clientKey = join(base, 'client_ed25519');
  }

  /**
   * opts.user: log in as this account instead of root (e.g. 'nobody', so file modes bind as on a real
   * partner server; root reads and deletes anything). opts.sftpArgs: extra internal-sftp flags, e.g.
   * ['-P', 'remove,rename'] to refuse deletes and renames as a locked-down server does.
   * opts.extraHostKeys: more host key types (e.g. ['rsa']); `hostKey` stays the ed25519 fingerprint.
   * opts.externalSftpServer: the SFTP side in its own process (/usr/lib/openssh/sftp-server), as on most
   * servers, so a test can stall it (sftpServerPids) while sshd still answers keepalives. There is no
   * chroot then: remote paths are the local paths (use `dir()`'s `remote`, which is then the same).
   */
  static async start(name = 'waybill-sshd-', opts: { user?: string; sftpArgs?: string[]; extraHostKeys?: Array<'rsa' | 'ecdsa'>; externalSftpServer?: boolean; sftpCommand?: string } = {}): Promise<TestSshd> {
    // opts.sftpCommand: run this instead of an SFTP server (e.g. '/bin/sleep 600', a subsystem that never
    // answers); implies externalSftpServer.
    if (opts.sftpCommand) opts = { ...opts, externalSftpServer: true };
    const base = mkdtempSync(join(chrootBase(), name));
    execFileSync('chmod', ['755', base]);
    const s = new TestSshd(base, await freePort(), !!opts.externalSftpServer);
    mkdirSync(s.chroot, { mode: 0o755 });
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'waybill-test-host', '-f', join(base, 'host_ed25519')]);
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'waybill-test-client', '-f', s.clientKey]);
    // sshd reads it as the logged-in user: readable by all when that is not root (the file holds a public key).
    writeFileSync(join(base, 'authorized_keys'), readFileSync(`${s.clientKey}.pub`), { mode: opts.user && opts.user !== 'root' ? 0o644 : 0o600 });
    s.hostKey = keyFingerprint(join(base, 'host_ed25519.pub'));
    for (const t of opts.extraHostKeys ?? []) {
      execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', t, '-N', '', '-C', 'waybill-test-host', '-f', join(base, `host_${t}`)]);
      s.extraHostKeys[t] = keyFingerprint(join(base, `host_${t}.pub`));
    }
    const user = opts.user ?? 'root';
    const sftp = opts.sftpCommand ?? [opts.externalSftpServer ? '/usr/lib/openssh/sftp-server' : 'internal-sftp', '-u', '0000', ...(opts.sftpArgs ?? [])].join(' ');
    writeFileSync(join(base, 'sshd_config'), [
      `Port ${s.port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(base, 'host_ed25519')}`,
      ...(opts.extraHostKeys ?? []).map((t) => `HostKey ${join(base, `host_${t}`)}`), `PidFile ${join(base, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(base, 'authorized_keys')}`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no',
      'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', `Subsystem sftp ${sftp}`, ...(opts.externalSftpServer ? [] : [`ChrootDirectory ${s.chroot}`]),
      // -u 0000: no umask, so a file gets the mode the client asked for (as on servers that apply none) and
      // tests can see what a client asks for.
      `ForceCommand ${sftp}`, `AllowUsers ${user}`, 'MaxStartups 50', 'LogLevel ERROR', '',
    ].join('\n'));
    mkdirSync('/run/sshd', { recursive: true }); // Debian's sshd needs its privilege-separation folder
    s.proc = spawn(SSHD, ['-D', '-e', '-f', join(base, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    s.proc.stderr?.on('data', (d: Buffer) => { s.stderr += d.toString(); });
    await waitFor(`sshd on port ${s.port}`, () => new Promise<boolean>((resolve) => {
      if (s.proc?.exitCode !== null) throw new Error(`sshd exited: ${s.stderr}`);
      const sock = connect(s.port, '127.0.0.1');
      sock.once('connect', () => { sock.destroy(); resolve(true); });
      sock.once('error', () => resolve(false));
    }), 15_000);
    return s;
  }

  /** A folder inside the chroot (created), as the remote path and the local path. */
  dir(remote: string): { remote: string; local: string } {
    const local = join(this.chroot, remote);
    mkdirSync(local, { recursive: true });
    return { remote: this.unchrooted ? local : remote, local };
  }

  /** Pids of the sftp-server processes of our sshd (opts.externalSftpServer), to stall them with SIGSTOP. */
  sftpServerPids(): number[] {
    return this.descendants().filter((p) => {
      try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'sftp-server'; } catch { return false; }
    });
  }

  /** Kills the per-connection processes of our sshd (its descendants), dropping every open session. */
  dropConnections(): number {
    let killed = 0;
    for (const p of this.descendants()) {
      try { process.kill(p, 'SIGKILL'); killed++; } catch { /* gone */ }
    }
    return killed;
  }

  private descendants(): number[] {
    const pid = this.proc?.pid;
    if (!pid) return [];
    const parent = new Map<number, number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch { /* exited meanwhile */ }
    }
    const mine = (p: number): boolean => { for (let q = parent.get(p), n = 0; q && n < 20; q = parent.get(q), n++) if (q === pid) return true; return false; };
    return [...parent.keys()].filter((p) => p !== pid && mine(p));
  }

  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      this.dropConnections();
      this.proc.kill('SIGTERM');
      await Promise.race([once(this.proc, 'exit'), sleep(5_000)]);
    }
    rmSync(this.base, { recursive: true, force: true });
  }
}
