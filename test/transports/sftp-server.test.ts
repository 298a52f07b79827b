// The hosted SFTP server against real OpenSSH: the `sftp` client in batch mode (keys from ssh-keygen)
// uploads, lists, downloads and tries to escape; ssh2's client covers what the batch client cannot do
// on cue (hold a session open, drop the TCP connection mid-write, time an answer, send raw requests).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import ssh2 from 'ssh2';
import type { Client as SshClient, SFTPWrapper } from 'ssh2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/gateway/logger.js';
import {
  hashPassword, hostedSftpAccounts, hostedSftpAccountSchema, hostedSftpServerSchema, resolveHostKeyPath, verifyPassword, type HostedSftpAccountInput,
} from '../../src/transports/sftp/config.js';
import { HostedSftpServer, partnerDirs, type AccountEntry, type HostedInboundFile } from '../../src/transports/sftp/server/index.js';

const { STATUS_CODE } = ssh2.utils.sftp;

interface Taken { partner: string; username: string; name: string; size: number; sha256: string; virtualPath: string }

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

describe('hosted SFTP server (OpenSSH sftp client)', () => {
  let dir: string;
  let dataDir: string;
  let server: HostedSftpServer;
  let port: number;
  const keys: Record<string, string> = {};
  const accounts = new Map<string, AccountEntry>();
  const taken: Taken[] = [];
  /** Runs inside take before the bytes are read: delay or fail a take. */
  let takeHook: ((f: HostedInboundFile) => Promise<void>) | null = null;

  const pub = (k: string) => readFileSync(`${keys[k]}.pub`, 'utf8').trim();
  const setAccount = (partner: string, input: HostedSftpAccountInput) => {
    const account = hostedSftpAccountSchema.parse(input);
    accounts.set(account.username, { partner, account });
  };
  const inbound = (partner: string) => partnerDirs(dataDir, partner).inbound;
  const outbound = (partner: string) => partnerDirs(dataDir, partner).outbound;
  const list = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);
  const takenNamed = (name: string) => taken.filter((t) => t.name === name);

  /** OpenSSH's sftp in batch mode. Commands prefixed with '-' may fail without ending the batch. */
  function sftp(user: string, key: string, commands: string[], extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
    const batch = join(dir, `batch-${randomBytes(4).toString('hex')}`);
    writeFileSync(batch, `${commands.join('\n')}\n`);
    const args = [
      '-b', batch, '-i', keys[key], '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', ...extra, '-P', String(port), `${user}@127.0.0.1`,
    ];
    // Asynchronous on purpose: the server runs in this process.
    return new Promise((resolve) => {
      execFile('sftp', args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  }

  /** ssh2's client, for what the batch client cannot do on cue. */
  async function connect(user: string, auth: { key?: string; password?: string }, atPort = port): Promise<SshClient> {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve()).once('error', reject).connect({
        host: '127.0.0.1', port: atPort, username: user, readyTimeout: 10_000,
        ...(auth.key ? { privateKey: readFileSync(keys[auth.key]) } : {}),
        ...(auth.password !== undefined ? { password: auth.password, tryKeyboard: false } : {}),
      });
    });
    client.on('error', () => undefined);
    return client;
  }
  const openSftp = (c: SshClient) => new Promise<SFTPWrapper>((resolve, reject) => c.sftp((err, s) => (err ? reject(err) : resolve(s))));
  const call = <T = void>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
  const statusOf = async (p: Promise<unknown>) => p.then(() => STATUS_CODE.OK, (err: { code?: number }) => err.code);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'waybill-sftp-'));
    dataDir = join(dir, 'data');
    for (const k of ['acme', 'acme2', 'beta', 'small', 'stranger']) {
      keys[k] = join(dir, `id_${k}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', keys[k]]);
    }
    // acme: rename mode, two keys (rotation). beta: pattern mode, archive. small: tight limits.
    setAccount('acme', { username: 'acme', publicKeys: [pub('acme'), pub('acme2')] });
    setAccount('beta', { username: 'beta', publicKeys: [pub('beta')], completion: { mode: 'pattern', pattern: '*.edi' }, afterIntake: 'archive' });
    setAccount('small', { username: 'small', publicKeys: [pub('small')], maxFileBytes: 64 * 1024, maxSessions: 1 });
    server = new HostedSftpServer({
      dataDir, config: { host: '127.0.0.1', port: 0 }, accounts: () => accounts,
      take: async (f) => {
        if (takeHook) await takeHook(f);
        const bytes = await readFile(f.path);
        taken.push({ partner: f.partner, username: f.username, name: f.name, size: f.size, sha256: sha(bytes), virtualPath: f.virtualPath });
      },
    });
    ({ port } = await server.start());
    for (const [name, size] of [['small.bin', 20_000], ['medium.bin', 1_000_000], ['big.bin', 8_000_000], ['200k.bin', 200_000]] as const) {
      writeFileSync(join(dir, name), randomBytes(size));
    }
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    takeHook = null;
  });

  it('rename mode: a file put under a temporary name and renamed is taken exactly once, with its bytes, and leaves inbound/', async () => {
    const local = join(dir, 'medium.bin');
    const r = await sftp('acme', 'acme', ['put ' + local + ' inbound/x.edi.tmp', 'ls -l inbound', 'rename inbound/x.edi.tmp inbound/x.edi', 'ls -1 inbound']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Before the rename the upload is visible under its temporary name; afterwards inbound/ is empty.
    expect(r.stdout).toMatch(/ls -l inbound\n-rw-r--r--.* 1000000 .* x\.edi\.tmp\n/);
    expect(r.stdout).toMatch(/ls -1 inbound\n$/);
    expect(takenNamed('x.edi')).toEqual([{ partner: 'acme', username: 'acme', name: 'x.edi', size: 1_000_000, sha256: sha(readFileSync(local)), virtualPath: '/inbound/x.edi' }]);
    expect(takenNamed('x.edi.tmp')).toEqual([]);
    expect(list(inbound('acme'))).toEqual([]);

    // The second (rotated-in) key works just the same.
    const r2 = await sftp('acme', 'acme2', ['cd inbound', `put ${join(dir, 'small.bin')} y.edi.part`, 'rename y.edi.part y.edi']);
    expect(r2.code).toBe(0);
    expect(takenNamed('y.edi')).toHaveLength(1);
    expect(takenNamed('y.edi')[0].sha256).toBe(sha(readFileSync(join(dir, 'small.bin'))));
  });

  it('rename mode: an upload straight to a final name is refused (it could never be known complete)', async () => {
    const r = await sftp('acme', 'acme', [`put ${join(dir, 'small.bin')} inbound/direct.edi`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(list(inbound('acme'))).toEqual([]);
    expect(takenNamed('direct.edi')).toEqual([]);
  });

  it('pattern mode: a closed upload whose name matches is taken at CLOSE and archived outside the mailbox; other names are refused', async () => {
    const local = join(dir, 'medium.bin');
    const r = await sftp('beta', 'beta', [`put ${local} inbound/p1.edi`, 'ls -1 inbound', `-put ${local} inbound/p1.txt`, `put ${local} inbound/p2.tmp`, 'rename inbound/p2.tmp inbound/p2.EDI']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/p1\.txt.*Permission denied/);
    expect(takenNamed('p1.edi')).toEqual([expect.objectContaining({ partner: 'beta', size: 1_000_000, sha256: sha(readFileSync(local)) })]);
    expect(takenNamed('p2.EDI')).toHaveLength(1); // globs match case-insensitively; temp + rename works too
    expect(takenNamed('p1.txt')).toEqual([]);
    expect(list(inbound('beta'))).toEqual([]);
    const day = new Date().toISOString().slice(0, 10);
    const archived = join(partnerDirs(dataDir, 'beta').archive, day);
    expect(list(archived)).toEqual(['p1.edi', 'p2.EDI']);
    expect(sha(readFileSync(join(archived, 'p1.edi')))).toBe(sha(readFileSync(local)));
    // The archive is not reachable from the account's root.
    const r2 = await sftp('beta', 'beta', ['-ls /archive', '-get ../archive/' + day + '/p1.edi ' + join(dir, 'nope')]);
    expect(r2.stderr).toMatch(/not found/);
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });

  it('answers the completing RENAME only after take resolved; a failed take answers FAILURE and keeps the file', async () => {
    let resolvedAt = 0;
    takeHook = async (f) => {
      if (f.name === 'slow.edi') {
        await sleep(400);
        resolvedAt = Date.now();
      }
      if (f.name === 'fails.edi') throw new Error('ledger is down');
    };
    const c = await connect('acme', { key: 'acme' });
    try {
      const s = await openSftp(c);
      for (const name of ['slow.tmp', 'fails.tmp']) {
        const h = await call<Buffer>((cb) => s.open(`inbound/${name}`, 'w', cb));
        await call((cb) => s.write(h, Buffer.from('ISA*00*...~'), 0, 11, 0, cb));
        await call((cb) => s.close(h, cb));
      }
      await call((cb) => s.rename('inbound/slow.tmp', 'inbound/slow.edi', cb));
      const answeredAt = Date.now();
      expect(resolvedAt).toBeGreaterThan(0);
      expect(answeredAt).toBeGreaterThanOrEqual(resolvedAt);
      expect(takenNamed('slow.edi')).toHaveLength(1);

      expect(await statusOf(call((cb) => s.rename('inbound/fails.tmp', 'inbound/fails.edi', cb)))).toBe(STATUS_CODE.FAILURE);
      expect(takenNamed('fails.edi')).toEqual([]);
      expect(list(inbound('acme'))).toEqual(['fails.tmp']);
      // Once intake works again, the same rename takes it.
      takeHook = null;
      await call((cb) => s.rename('inbound/fails.tmp', 'inbound/fails.edi', cb));
      expect(takenNamed('fails.edi')).toHaveLength(1);
    } finally {
      c.end();
    }
    await waitFor('inbound empty', () => list(inbound('acme')).length === 0);
  });

  it("another partner's account cannot list, read or delete acme's files", async () => {
    mkdirSync(inbound('acme'), { recursive: true });
    mkdirSync(outbound('acme'), { recursive: true });
    writeFileSync(join(inbound('acme'), 'kept.edi.tmp'), 'secret inbound');
    writeFileSync(join(outbound('acme'), 'ack.997'), 'secret outbound');
    try {
      const r = await sftp('beta', 'beta', ['ls -1 inbound', 'ls -1 outbound', '-get inbound/kept.edi.tmp ' + join(dir, 'x1'), '-get /outbound/ack.997 ' + join(dir, 'x2'),
        '-get ../acme/outbound/ack.997 ' + join(dir, 'x3'), '-ls ../acme', '-ls /acme/outbound', '-rm outbound/ack.997']);
      const shown = r.stdout.split('\n').filter((l) => !l.startsWith('sftp> '));
      expect(shown.join('\n')).not.toMatch(/kept|ack/);
      expect(r.stdout).toMatch(/ls -1 inbound\nsftp> ls -1 outbound\nsftp> /);
      for (const f of ['x1', 'x2', 'x3']) expect(existsSync(join(dir, f))).toBe(false);
      expect(r.stderr).toMatch(/not found/);
      expect(list(outbound('acme'))).toEqual(['ack.997']);
      expect(list(inbound('acme'))).toEqual(['kept.edi.tmp']);
    } finally {
      rmSync(join(inbound('acme'), 'kept.edi.tmp'), { force: true });
      rmSync(join(outbound('acme'), 'ack.997'), { force: true });
    }
  });

  it('outbound/: the owner lists, downloads and removes what we deliver; it cannot upload there; our temporary files stay hidden', async () => {
    mkdirSync(outbound('acme'), { recursive: true });
    const content = randomBytes(300_000);
    writeFileSync(join(outbound('acme'), 'ack-0001.997'), content);
    writeFileSync(join(outbound('acme'), '.ack-0002.997.tmp'), 'being written');
    const dest = join(dir, 'downloaded.997');
    const r = await sftp('acme', 'acme', ['ls -1 outbound', `get outbound/ack-0001.997 ${dest}`, `-put ${join(dir, 'small.bin')} outbound/mine.tmp`,
      `-get outbound/.ack-0002.997.tmp ${join(dir, 'hidden')}`, 'rm outbound/ack-0001.997', 'ls -1 outbound']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ls -1 outbound\noutbound\/ack-0001\.997\nsftp> get/);
    expect(sha(readFileSync(dest))).toBe(sha(content));
    expect(r.stderr).toMatch(/mine\.tmp.*Permission denied/);
    expect(existsSync(join(dir, 'hidden'))).toBe(false);
    expect(list(outbound('acme'))).toEqual(['.ack-0002.997.tmp']);
    rmSync(join(outbound('acme'), '.ack-0002.997.tmp'));
  });

  it('refuses path traversal, absolute paths, links, folders and anything that is not a regular file', async () => {
    mkdirSync(inbound('acme'), { recursive: true });
    // Planted on disk (never possible through SFTP): a symlink out of the mailbox and a folder.
    symlinkSync('/etc/passwd', join(inbound('acme'), 'passwd.tmp'));
    mkdirSync(join(inbound('acme'), 'sub.tmp'));
    try {
      const out = (n: string) => join(dir, `esc-${n}`);
      const r = await sftp('acme', 'acme', [
        `-get ../../etc/passwd ${out('a')}`, `-get /etc/passwd ${out('b')}`, `-get inbound/../../etc/passwd ${out('c')}`,
        `-get inbound/passwd.tmp ${out('d')}`, '-cd ..', '-cd /etc', 'cd /', 'pwd', 'ls -1', '-ls /etc', 'ls -1 inbound',
        `-put ${join(dir, 'small.bin')} ../escape.tmp`, `-put ${join(dir, 'small.bin')} /tmp/escape.tmp`,
        '-symlink /etc/passwd inbound/link.tmp', '-ln -s /etc/passwd inbound/link2.tmp', '-ln inbound/x inbound/y', '-mkdir inbound/d', '-rmdir inbound',
        '-rename inbound/sub.tmp inbound/sub.edi',
      ]);
      for (const n of ['a', 'b', 'c', 'd']) expect(existsSync(out(n)), n).toBe(false);
      expect(r.stdout).toMatch(/pwd\nRemote working directory: \/\nsftp> ls -1\ninbound\noutbound\nsftp> /);
      expect(r.stdout).toMatch(/ls -1 inbound\nsftp> /); // the planted symlink and folder are not shown
      expect(r.stderr).toMatch(/remote symlink .*Permission denied/);
      expect(r.stderr).toMatch(/hardlink/);
      expect(r.stderr).toMatch(/remote mkdir .*Permission denied/);
      expect(r.stderr).not.toMatch(/root:/);
      expect(existsSync(join(dir, 'escape.tmp'))).toBe(false);
      expect(existsSync('/tmp/escape.tmp')).toBe(false);
      expect(list(inbound('acme'))).toEqual(['passwd.tmp', 'sub.tmp']);
      expect(takenNamed('sub.edi')).toEqual([]);

      // The same at the protocol level, with the statuses a client sees.
      const c = await connect('acme', { key: 'acme' });
      try {
        const s = await openSftp(c);
        expect(await statusOf(call((cb) => s.stat('../..', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
        expect(await statusOf(call((cb) => s.realpath('/..', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
        expect(await call<string>((cb) => s.realpath('inbound/../outbound/./x', cb))).toBe('/outbound/x');
        expect(await statusOf(call((cb) => s.stat('/etc/passwd', cb)))).toBe(STATUS_CODE.NO_SUCH_FILE);
        expect(await statusOf(call((cb) => s.open('inbound/passwd.tmp', 'r', cb)))).toBe(STATUS_CODE.NO_SUCH_FILE);
        expect(await statusOf(call((cb) => s.open('inbound/passwd.tmp', 'w', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
        expect(readFileSync('/etc/passwd', 'utf8')).toMatch(/root:/); // still intact
        expect(await statusOf(call((cb) => s.symlink('/etc/passwd', 'inbound/l.tmp', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
        expect(await statusOf(call((cb) => s.readlink('inbound/passwd.tmp', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
        expect(await statusOf(call((cb) => s.mkdir('inbound/d', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
        expect(await statusOf(call((cb) => s.rename('inbound/sub.tmp', 'inbound/sub.edi', cb)))).toBe(STATUS_CODE.NO_SUCH_FILE);
        expect(await statusOf(call((cb) => s.open('inbound/a/b.tmp', 'w', cb)))).toBe(STATUS_CODE.NO_SUCH_FILE);
      } finally {
        c.end();
      }
    } finally {
      rmSync(join(inbound('acme'), 'passwd.tmp'), { force: true });
      rmSync(join(inbound('acme'), 'sub.tmp'), { recursive: true, force: true });
    }
  });

  it('refuses file names with C1 controls, line separators or bidirectional overrides, and says so; an over-long name is refused as too long', async () => {
    const c = await connect('acme', { key: 'acme' });
    try {
      const s = await openSftp(c);
      for (const name of ['a\u0085b.tmp', 'a\u009bb.tmp', 'a\u2028b.tmp', 'x\u202eidt.tmp', 'x\u2066y.tmp']) {
        await expect(call<Buffer>((cb) => s.open(`inbound/${name}`, 'w', cb)), JSON.stringify(name))
          .rejects.toMatchObject({ code: STATUS_CODE.PERMISSION_DENIED, message: expect.stringMatching(/control characters/) });
      }
      await expect(call<Buffer>((cb) => s.open(`inbound/${'é'.repeat(126)}.tmp`, 'w', cb)))
        .rejects.toMatchObject({ code: STATUS_CODE.PERMISSION_DENIED, message: 'file names may be at most 255 bytes long (UTF-8)' });
      // Letters outside ASCII are fine.
      const h = await call<Buffer>((cb) => s.open('inbound/Zürich-é.tmp', 'w', cb));
      await call((cb) => s.close(h, cb));
      await call((cb) => s.unlink('inbound/Zürich-é.tmp', cb));
    } finally {
      c.end();
    }
    expect(list(inbound('acme'))).toEqual([]);
  });

  it('writing into the read-only root answers PERMISSION_DENIED (the folder exists); a name there that is read is NO_SUCH_FILE', async () => {
    const r = await sftp('acme', 'acme', [`-put ${join(dir, 'small.bin')} /x.tmp`, `-put ${join(dir, 'small.bin')} y.tmp`]);
    expect(r.stderr).toMatch(/x\.tmp.*Permission denied/);
    expect(r.stderr).toMatch(/y\.tmp.*Permission denied/);
    const c = await connect('acme', { key: 'acme' });
    try {
      const s = await openSftp(c);
      expect(await statusOf(call((cb) => s.open('/x.tmp', 'w', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
      expect(await statusOf(call((cb) => s.open('inbound/../x.tmp', 'a', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
      const h = await call<Buffer>((cb) => s.open('inbound/r.tmp', 'w', cb));
      await call((cb) => s.close(h, cb));
      expect(await statusOf(call((cb) => s.rename('inbound/r.tmp', '/r.edi', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
      expect(await statusOf(call((cb) => s.rename('/r.tmp', 'inbound/r.edi', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
      expect(await statusOf(call((cb) => s.open('/x.tmp', 'r', cb)))).toBe(STATUS_CODE.NO_SUCH_FILE);
      expect(await statusOf(call((cb) => s.stat('/x.tmp', cb)))).toBe(STATUS_CODE.NO_SUCH_FILE);
      // Folders that do not exist stay "no such file", as they are for reading.
      expect(await statusOf(call((cb) => s.open('/tmp/x.tmp', 'w', cb)))).toBe(STATUS_CODE.NO_SUCH_FILE);
    } finally {
      c.end();
    }
    await waitFor('the unrenamed upload removed', () => list(inbound('acme')).length === 0);
    expect(list(partnerDirs(dataDir, 'acme').root).filter((n) => !['inbound', 'outbound'].includes(n))).toEqual([]);
  });

  it('an upload killed halfway (sftp process killed mid-transfer) is never taken in and leaves nothing in inbound/', async () => {
    const batch = join(dir, 'batch-killed');
    writeFileSync(batch, `put ${join(dir, 'big.bin')} inbound/killed.edi.tmp\nrename inbound/killed.edi.tmp inbound/killed.edi\n`);
    // -l: 8 Mbit/s, so the 8 MB transfer takes about 8 s and can be caught in the middle.
    const child = spawn('sftp', ['-l', '8000', '-b', batch, '-i', keys.acme, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'LogLevel=ERROR', '-o', 'IdentitiesOnly=yes', '-P', String(port), 'acme@127.0.0.1'], { stdio: 'ignore' });
    const partial = join(inbound('acme'), 'killed.edi.tmp');
    await waitFor('partial upload on disk', () => existsSync(partial) && statSync(partial).size > 256 * 1024, 20_000);
    expect(statSync(partial).size).toBeLessThan(8_000_000);
    child.kill('SIGKILL');
    await waitFor('partial file removed', () => !existsSync(partial), 15_000);
    await sleep(200);
    expect(takenNamed('killed.edi')).toEqual([]);
    expect(list(inbound('acme'))).toEqual([]);
  });

  it('a connection dropped mid-write (rename and pattern mode) is never taken in and leaves nothing behind', async () => {
    for (const [user, name] of [['acme', 'dropped.tmp'], ['beta', 'dropped.edi']] as const) {
      const c = await connect(user, { key: user });
      const s = await openSftp(c);
      const h = await call<Buffer>((cb) => s.open(`inbound/${name}`, 'w', cb));
      const half = randomBytes(128 * 1024);
      await call((cb) => s.write(h, half, 0, half.length, 0, cb));
      expect(statSync(join(inbound(user), name)).size).toBe(half.length);
      c.destroy(); // the TCP connection just goes away: no CLOSE, no channel close
      await waitFor(`${name} removed`, () => !existsSync(join(inbound(user), name)));
      expect(takenNamed(name)).toEqual([]);
    }
    // A temporary upload closed but never renamed before the connection ended is not complete either.
    const c = await connect('acme', { key: 'acme' });
    const s = await openSftp(c);
    const h = await call<Buffer>((cb) => s.open('inbound/unrenamed.tmp', 'w', cb));
    await call((cb) => s.write(h, Buffer.from('abc'), 0, 3, 0, cb));
    await call((cb) => s.close(h, cb));
    c.destroy();
    await waitFor('unrenamed upload removed', () => !existsSync(join(inbound('acme'), 'unrenamed.tmp')));
    expect(takenNamed('unrenamed')).toEqual([]);
    expect(list(inbound('acme'))).toEqual([]);
    expect(list(inbound('beta'))).toEqual([]);
  });

  it('enforces maxFileBytes during WRITE and discards the partial file', async () => {
    const r = await sftp('small', 'small', [`put ${join(dir, '200k.bin')} inbound/huge.tmp`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Failure/);
    expect(list(inbound('small'))).toEqual([]);
    // Below the limit is fine.
    const ok = await sftp('small', 'small', [`put ${join(dir, 'small.bin')} inbound/fine.tmp`, 'rename inbound/fine.tmp inbound/fine.edi']);
    expect(ok.code).toBe(0);
    expect(takenNamed('fine.edi')).toHaveLength(1);
    // The protocol status, and the message that says why.
    const c = await connect('small', { key: 'small' });
    try {
      const s = await openSftp(c);
      const h = await call<Buffer>((cb) => s.open('inbound/huge2.tmp', 'w', cb));
      const err = await call((cb) => s.write(h, Buffer.alloc(10), 0, 10, 64 * 1024, cb)).catch((e: Error & { code: number }) => e);
      expect(err).toMatchObject({ code: STATUS_CODE.FAILURE, message: expect.stringMatching(/at most 65536 bytes/) });
      expect(await statusOf(call((cb) => s.close(h, cb)))).toBe(STATUS_CODE.FAILURE);
      expect(list(inbound('small'))).toEqual([]);
    } finally {
      c.end();
    }
  });

  it('enforces maxFileBytes on uploads opened with APPEND, where the bytes go to the end whatever the offset', async () => {
    const { OPEN_MODE } = ssh2.utils.sftp;
    const appending = OPEN_MODE.WRITE | OPEN_MODE.CREAT | OPEN_MODE.APPEND | OPEN_MODE.TRUNC;
    const c = await connect('small', { key: 'small' });
    try {
      const s = await openSftp(c);
      // Below the limit, appends are taken in whole: two writes "at offset 0" make a file of both.
      const part = randomBytes(20_000);
      const h = await call<Buffer>((cb) => s.open('inbound/app-ok.tmp', appending, cb));
      for (let i = 0; i < 2; i++) await call((cb) => s.write(h, part, 0, part.length, 0, cb));
      await call((cb) => s.close(h, cb));
      await call((cb) => s.rename('inbound/app-ok.tmp', 'inbound/app-ok.edi', cb));
      expect(takenNamed('app-ok.edi')).toEqual([expect.objectContaining({ size: 40_000, sha256: sha(Buffer.concat([part, part])) })]);

      // The audit's case: 32 KiB again and again at offset 0. The third write would make 96 KiB of a 64 KiB limit.
      const chunk = Buffer.alloc(32 * 1024, 0x41);
      const big = await call<Buffer>((cb) => s.open('inbound/app-big.tmp', appending, cb));
      const answers: number[] = [];
      for (let i = 0; i < 100; i++) {
        const status = (await statusOf(call((cb) => s.write(big, chunk, 0, chunk.length, 0, cb)))) ?? -1;
        answers.push(status);
        if (status !== STATUS_CODE.OK) break;
      }
      expect(answers).toEqual([STATUS_CODE.OK, STATUS_CODE.OK, STATUS_CODE.FAILURE]);
      expect(list(inbound('small'))).toEqual([]);
      // Later requests on the discarded handle say why.
      await expect(call((cb) => s.fstat(big, (err) => cb(err)))).rejects.toMatchObject({ code: STATUS_CODE.FAILURE, message: expect.stringMatching(/at most 65536 bytes/) });
      expect(await statusOf(call((cb) => s.close(big, cb)))).toBe(STATUS_CODE.FAILURE);
      expect(await statusOf(call((cb) => s.rename('inbound/app-big.tmp', 'inbound/app-big.edi', cb)))).toBe(STATUS_CODE.NO_SUCH_FILE);
      expect(takenNamed('app-big.edi')).toEqual([]);
    } finally {
      c.end();
    }
  });

  it('caps the unfinished uploads one session may leave in inbound/ (64); finishing or removing one makes room', async () => {
    const c = await connect('acme', { key: 'acme' });
    try {
      const s = await openSftp(c);
      const put = async (name: string) => {
        const h = await call<Buffer>((cb) => s.open(`inbound/${name}`, 'w', cb));
        await call((cb) => s.write(h, Buffer.from('x'), 0, 1, 0, cb));
        await call((cb) => s.close(h, cb));
      };
      for (let i = 0; i < 64; i++) await put(`u${i}.tmp`);
      await expect(put('u64.tmp')).rejects.toMatchObject({ code: STATUS_CODE.FAILURE, message: expect.stringMatching(/too many unfinished uploads/) });
      await put('u0.tmp'); // one of its own, written again: not a new one
      await call((cb) => s.rename('inbound/u1.tmp', 'inbound/u1.edi', cb));
      await call((cb) => s.unlink('inbound/u2.tmp', cb));
      await put('u64.tmp');
      await put('u65.tmp');
      await expect(put('u66.tmp')).rejects.toMatchObject({ code: STATUS_CODE.FAILURE });
      expect(list(inbound('acme'))).toHaveLength(64);
    } finally {
      c.end();
    }
    await waitFor('the unfinished uploads deleted with the session', () => list(inbound('acme')).length === 0);
    expect(takenNamed('u1.edi')).toHaveLength(1);
  });

  it('enforces maxSessions per account with a clear message, and frees the slot when a session ends', async () => {
    const holder = await connect('small', { key: 'small' });
    await openSftp(holder);
    const refused = await sftp('small', 'small', ['ls']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/too many concurrent sessions for account 'small' \(limit 1\)/);
    // Other accounts are not affected.
    expect((await sftp('acme', 'acme', ['ls'])).code).toBe(0);
    holder.end();
    // The slot is freed when the server sees the session close; allow it a moment.
    let code = -1;
    for (let i = 0; i < 20 && code !== 0; i++) {
      if (i) await sleep(100);
      code = (await sftp('small', 'small', ['ls'])).code;
    }
    expect(code).toBe(0);
  });

  it('answers exec, shell and other subsystems with "SFTP only" and closes the channel, so the attempts do not hold session slots', async () => {
    const c = await connect('small', { key: 'small' }); // maxSessions: 1
    try {
      const run = (open: (cb: (err: Error | undefined, ch: ssh2.ClientChannel) => void) => void) => new Promise<{ stderr: string; code: unknown; err?: string }>((resolve) => {
        open((err, ch) => {
          if (err) return resolve({ stderr: '', code: null, err: err.message });
          let stderr = '';
          let code: unknown = null;
          ch.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
          ch.on('exit', (c: unknown) => { code = c; });
          ch.on('data', () => undefined).on('close', () => resolve({ stderr, code }));
        });
      });
      for (let i = 0; i < 3; i++) {
        expect(await run((cb) => c.exec('cat /etc/passwd', cb))).toEqual({ stderr: 'waybill: this server offers SFTP only\n', code: 1 });
        expect(await run((cb) => c.subsys('netconf', cb))).toEqual({ stderr: 'waybill: this server offers SFTP only\n', code: 1 });
      }
      // The one session slot is free.
      const s = await openSftp(c);
      expect((await call<{ filename: string }[]>((cb) => s.readdir('/', cb))).map((e) => e.filename)).toEqual(['inbound', 'outbound']);
    } finally {
      c.end();
    }
    // OpenSSH's ssh: a command is refused with the message and a failing status.
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile('ssh', ['-i', keys.acme, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'IdentitiesOnly=yes',
        '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes', '-p', String(port), 'acme@127.0.0.1', 'cat /etc/passwd'], { encoding: 'utf8', timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr: stdout + stderr }));
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/offers SFTP only/);
    expect(r.stderr).not.toMatch(/root:/);
  });

  it('refuses a key that is not listed, an unknown user, and passwords unless the account has a hash', async () => {
    const wrong = await sftp('acme', 'stranger', ['ls']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/Permission denied \(publickey\)/); // password is not even offered
    const unknown = await sftp('nobody', 'acme', ['ls']);
    expect(unknown.stderr).toMatch(/Permission denied \(publickey\)/);
    await expect(connect('acme', { password: 'anything' })).rejects.toThrow(/authentication methods failed/);

    // Enabled only with a stored hash; then the right password works and a wrong one does not.
    setAccount('pw', { username: 'pw', publicKeys: [pub('small')], password: { hash: await hashPassword('correct horse') } });
    try {
      await expect(connect('pw', { password: 'wrong horse' })).rejects.toThrow(/authentication methods failed/);
      const c = await connect('pw', { password: 'correct horse' });
      const s = await openSftp(c);
      expect((await call<{ filename: string }[]>((cb) => s.readdir('/', cb))).map((e) => e.filename)).toEqual(['inbound', 'outbound']);
      c.end();
    } finally {
      accounts.delete('pw');
    }
  });

  it('offers the same authentication methods for every username, so the answer does not tell which accounts exist', async () => {
    const methodsFor = (user: string) => new Promise<string[] | null>((resolve) => {
      const c = new ssh2.Client();
      let got: string[] | null = null;
      c.on('error', () => resolve(got)).on('close', () => resolve(got));
      c.connect({
        host: '127.0.0.1', port, username: user, readyTimeout: 10_000,
        // ssh2 passes the server's list of methods that can continue after the 'none' request fails.
        authHandler: (methodsLeft, _partial, next) => {
          if (!methodsLeft) return next({ type: 'none', username: user });
          got = methodsLeft;
          c.end();
          return false;
        },
      });
    });
    setAccount('pw', { username: 'pw', publicKeys: [pub('small')], password: { hash: await hashPassword('correct horse') } });
    try {
      const lists = await Promise.all(['acme', 'pw', 'nobody-here'].map(methodsFor));
      expect(lists[0]).toEqual(['publickey', 'password']);
      expect(lists[1]).toEqual(lists[0]);
      expect(lists[2]).toEqual(lists[0]);
      // acme has no password: one tried on it fails like a wrong one.
      await expect(connect('acme', { password: 'correct horse' })).rejects.toThrow(/authentication methods failed/);
    } finally {
      accounts.delete('pw');
    }
  });

  it('blocks password guessing across connections: after maxAuthFailuresPerAddress failures even the right password is refused, until the window passes; keys still work', async () => {
    const warned: Record<string, unknown>[] = [];
    const log = { info: () => undefined, error: () => undefined, warn: (obj: Record<string, unknown>) => { warned.push(obj); } };
    setAccount('pw', { username: 'pw', publicKeys: [pub('small')], password: { hash: await hashPassword('correct horse') } });
    const guarded = new HostedSftpServer({
      dataDir, config: { host: '127.0.0.1', port: 0, maxAuthFailuresPerAddress: 5, authFailureWindowMs: 1_500 }, accounts: () => accounts, take: async () => undefined, log,
    });
    const { port: guardedPort } = await guarded.start();
    try {
      // A new connection per guess: maxAuthTries alone never stops that.
      for (let i = 0; i < 5; i++) await expect(connect('pw', { password: `guess ${i}` }, guardedPort)).rejects.toThrow(/authentication methods failed/);
      await expect(connect('pw', { password: 'correct horse' }, guardedPort)).rejects.toThrow(/authentication methods failed/);
      expect(warned.filter((w) => w.code === 'SFTP_AUTH_BLOCKED')).toHaveLength(1);
      (await connect('pw', { key: 'small' }, guardedPort)).end();
      await sleep(1_700);
      (await connect('pw', { password: 'correct horse' }, guardedPort)).end();
    } finally {
      await guarded.stop();
      accounts.delete('pw');
    }
  });

  it('applies allowFrom and account changes without a restart', async () => {
    setAccount('acme', { username: 'acme', publicKeys: [pub('acme')], allowFrom: ['10.0.0.0/8', '2001:db8::/32'] });
    try {
      expect((await sftp('acme', 'acme', ['ls'])).stderr).toMatch(/Permission denied/);
      setAccount('acme', { username: 'acme', publicKeys: [pub('acme')], allowFrom: ['127.0.0.0/8'] });
      expect((await sftp('acme', 'acme', ['ls'])).code).toBe(0);
      // acme2 was removed from the list by the "reload" above.
      expect((await sftp('acme', 'acme2', ['ls'])).code).not.toBe(0);
    } finally {
      setAccount('acme', { username: 'acme', publicKeys: [pub('acme'), pub('acme2')] });
    }
  });

  it('revoking a key or removing the account ends the sessions already logged in with it; their uploads are not taken in', async () => {
    const byOld = await connect('acme', { key: 'acme2' });
    const byNew = await connect('acme', { key: 'acme' });
    let oldClosed = false;
    byOld.on('close', () => { oldClosed = true; });
    try {
      const [sOld, sNew] = await Promise.all([openSftp(byOld), openSftp(byNew)]);
      const h = await call<Buffer>((cb) => sOld.open('inbound/revoked.tmp', 'w', cb));
      await call((cb) => sOld.write(h, Buffer.from('half'), 0, 4, 0, cb));
      // The acme2 key leaked: it is taken off the account (a partner reload).
      setAccount('acme', { username: 'acme', publicKeys: [pub('acme')] });
      await expect(call((cb) => sOld.close(h, cb))).rejects.toMatchObject({ code: STATUS_CODE.PERMISSION_DENIED, message: expect.stringMatching(/revoked/) });
      await waitFor('the connection logged in with the revoked key closed', () => oldClosed, 5_000);
      await waitFor('its partial upload deleted', () => !list(inbound('acme')).includes('revoked.tmp'));
      // The connection logged in with the key still listed goes on.
      expect((await call<{ filename: string }[]>((cb) => sNew.readdir('/', cb))).map((e) => e.filename)).toEqual(['inbound', 'outbound']);
      // The account removed altogether: that one ends too.
      accounts.delete('acme');
      expect(await statusOf(call((cb) => sNew.readdir('/', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
      expect(takenNamed('revoked.edi')).toEqual([]);
    } finally {
      byOld.end();
      byNew.end();
      setAccount('acme', { username: 'acme', publicKeys: [pub('acme'), pub('acme2')] });
    }
  });

  it('stop() waits for the intake in flight and deletes uploads still open', async () => {
    let tookAt = 0;
    const other = new HostedSftpServer({
      dataDir, config: { host: '127.0.0.1', port: 0 }, accounts: () => accounts,
      take: async () => { await sleep(300); tookAt = Date.now(); },
    });
    const { port: otherPort } = await other.start();
    const c = await connect('acme', { key: 'acme' }, otherPort);
    const s = await openSftp(c);
    const a = await call<Buffer>((cb) => s.open('inbound/a.tmp', 'w', cb));
    await call((cb) => s.write(a, Buffer.from('complete'), 0, 8, 0, cb));
    await call((cb) => s.close(a, cb));
    const b = await call<Buffer>((cb) => s.open('inbound/b.tmp', 'w', cb));
    await call((cb) => s.write(b, Buffer.from('half'), 0, 4, 0, cb));
    const renamed = call((cb) => s.rename('inbound/a.tmp', 'inbound/a.edi', cb)).catch(() => undefined);
    await sleep(50); // the take has begun
    await other.stop();
    const stoppedAt = Date.now();
    await renamed;
    expect(tookAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeGreaterThanOrEqual(tookAt);
    expect(list(inbound('acme'))).toEqual([]);
  });

  it('at start, deletes temporary uploads a stopped run left in inbound/, and names the other files it leaves', async () => {
    const logs: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
    const log = {
      info: (obj: Record<string, unknown>, msg?: string) => logs.push({ level: 'info', obj, msg }),
      warn: (obj: Record<string, unknown>, msg?: string) => logs.push({ level: 'warn', obj, msg }),
      error: (obj: Record<string, unknown>, msg?: string) => logs.push({ level: 'error', obj, msg }),
    };
    // What a run killed mid-upload leaves: temporary names (acme, rename mode) and a cut-short final name (beta, pattern mode).
    mkdirSync(inbound('acme'), { recursive: true });
    mkdirSync(inbound('beta'), { recursive: true });
    writeFileSync(join(inbound('acme'), 'half.edi.tmp'), 'ISA*00*');
    writeFileSync(join(inbound('acme'), '.hidden-part'), 'x');
    writeFileSync(join(inbound('beta'), 'cut.edi'), 'ISA*00*');
    mkdirSync(join(inbound('beta'), 'sub.tmp'), { recursive: true }); // not a file: left alone
    const again = new HostedSftpServer({ dataDir, config: { host: '127.0.0.1', port: 0 }, accounts: () => accounts, take: async () => undefined, log });
    try {
      await again.start();
      expect(list(inbound('acme'))).toEqual([]);
      expect(list(inbound('beta'))).toEqual(['cut.edi', 'sub.tmp']);
      expect(logs.find((l) => l.obj.partner === 'acme' && l.level === 'info')?.obj).toMatchObject({ count: 2, files: expect.arrayContaining(['half.edi.tmp', '.hidden-part']) });
      expect(logs.find((l) => l.obj.partner === 'beta' && l.level === 'warn')?.obj).toMatchObject({ code: 'SFTP_UPLOAD_LEFT_OVER', files: ['cut.edi'], count: 1 });
    } finally {
      await again.stop();
      rmSync(join(inbound('beta'), 'cut.edi'), { force: true });
      rmSync(join(inbound('beta'), 'sub.tmp'), { recursive: true, force: true });
    }
  });

  it('drops a TCP connection that never sends its SSH version line once the login grace is over; a logged-in one stays', async () => {
    const graced = new HostedSftpServer({ dataDir, config: { host: '127.0.0.1', port: 0, loginGraceMs: 1_000 }, accounts: () => accounts, take: async () => undefined });
    const { port: gracedPort } = await graced.start();
    try {
      const closedAfter = (send: string | null) => new Promise<number>((resolve) => {
        const t = Date.now();
        const sock = createConnection(gracedPort, '127.0.0.1');
        sock.on('error', () => undefined).on('data', () => undefined).on('close', () => resolve(Date.now() - t));
        // A slowloris drips its version line a byte at a time and never finishes it.
        if (send !== null) { const drip = setInterval(() => (sock.writable ? sock.write(send) : clearInterval(drip)), 200); sock.once('close', () => clearInterval(drip)); }
        setTimeout(() => sock.destroy(), 8_000);
      });
      const c = await connect('acme', { key: 'acme' }, gracedPort);
      let loggedInClosed = false;
      c.on('close', () => { loggedInClosed = true; });
      const [silent, dripping] = await Promise.all([closedAfter(null), closedAfter('S')]);
      expect(silent).toBeLessThan(3_000);
      expect(dripping).toBeLessThan(3_000);
      expect(loggedInClosed).toBe(false);
      c.end();
    } finally {
      await graced.stop();
    }
  });

  it('caps connections per source address, so one host cannot take every slot and lock the other partners out', async () => {
    const capped = new HostedSftpServer({ dataDir, config: { host: '127.0.0.1', port: 0, maxConnections: 4, maxConnectionsPerAddress: 3 }, accounts: () => accounts, take: async () => undefined });
    const { port: cappedPort } = await capped.start();
    const held: ReturnType<typeof createConnection>[] = [];
    try {
      // A host opens connections and says nothing (until the login grace ends).
      for (let i = 0; i < 4; i++) {
        const sock = createConnection({ port: cappedPort, host: '127.0.0.1', localAddress: '127.0.0.1' });
        sock.on('error', () => undefined);
        held.push(sock);
        await sleep(50);
      }
      await waitFor('the fourth connection from the same address closed', () => held[3].destroyed || held[3].readyState === 'closed', 3_000);
      expect(held.slice(0, 3).every((s) => !s.destroyed)).toBe(true);
      // Another address still gets in.
      const other = new ssh2.Client();
      await new Promise<void>((resolve, reject) => {
        other.once('ready', () => resolve()).once('error', reject).connect({
          host: '127.0.0.1', port: cappedPort, localAddress: '127.0.0.2', username: 'acme', privateKey: readFileSync(keys.acme), readyTimeout: 5_000,
        });
      });
      other.end();
    } finally {
      for (const s of held) s.destroy();
      await capped.stop();
    }
  });

  it('two sessions opening the same upload name at the same moment: one gets it, the other is told it is busy (bytes never interleave)', async () => {
    const c1 = await connect('acme', { key: 'acme' });
    const c2 = await connect('acme', { key: 'acme' });
    try {
      const [s1, s2] = await Promise.all([openSftp(c1), openSftp(c2)]);
      for (let i = 0; i < 10; i++) {
        const name = `inbound/same-${i}.tmp`;
        const [a, b] = await Promise.all([s1, s2].map((s) => call<Buffer>((cb) => s.open(name, 'w', cb)).then((h) => ({ s, h }), (err: { code?: number; message: string }) => err)));
        const winners = [a, b].filter((r): r is { s: SFTPWrapper; h: Buffer } => 'h' in r);
        const losers = [a, b].filter((r): r is { code?: number; message: string } => !('h' in r));
        expect(winners, `round ${i}`).toHaveLength(1);
        expect(losers[0]).toMatchObject({ code: STATUS_CODE.FAILURE, message: expect.stringMatching(/still open for writing/) });
        const { s, h } = winners[0];
        await call((cb) => s.write(h, Buffer.from('whole'), 0, 5, 0, cb));
        await call((cb) => s.close(h, cb));
        await call((cb) => s.rename(name, `inbound/same-${i}.edi`, cb));
        expect(takenNamed(`same-${i}.edi`)).toEqual([expect.objectContaining({ size: 5, sha256: sha(Buffer.from('whole')) })]);
      }
    } finally {
      c1.end();
      c2.end();
    }
    expect(list(inbound('acme'))).toEqual([]);
  });

  it('closes a logged-in connection idle for idleTimeoutMs (freeing its session slot); requests, and a take in progress, keep it open', async () => {
    const idle = new HostedSftpServer({
      dataDir, config: { host: '127.0.0.1', port: 0, idleTimeoutMs: 1_000 }, accounts: () => accounts,
      take: async () => { await sleep(2_000); },
    });
    const { port: idlePort } = await idle.start();
    const closed = (c: SshClient) => { let done = false; c.on('close', () => { done = true; }); return () => done; };
    try {
      // 'small' allows one session: an idle holder would lock the account out for ever.
      const quiet = await connect('small', { key: 'small' }, idlePort);
      const quietClosed = closed(quiet);
      await openSftp(quiet);
      const busy = await connect('acme', { key: 'acme' }, idlePort);
      const busyClosed = closed(busy);
      const s = await openSftp(busy);
      const t = Date.now();
      while (Date.now() - t < 2_500) {
        await call((cb) => s.stat('/', (err) => cb(err)));
        await sleep(300);
      }
      expect(quietClosed()).toBe(true);
      expect(busyClosed()).toBe(false);
      // A RENAME waiting 2 s on intake is not idleness.
      const h = await call<Buffer>((cb) => s.open('inbound/slow.tmp', 'w', cb));
      await call((cb) => s.close(h, cb));
      await call((cb) => s.rename('inbound/slow.tmp', 'inbound/slow.edi', cb));
      expect(busyClosed()).toBe(false);
      await waitFor('the busy connection closed once idle', busyClosed, 5_000);
      const again = await connect('small', { key: 'small' }, idlePort);
      await openSftp(again);
      again.end();
    } finally {
      await idle.stop();
    }
  });

  it('a refusal is logged as JSON with one msg and the reason in a field of its own', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(...chunk.toString().split('\n').filter(Boolean)); done(); } });
    const logged = new HostedSftpServer({ dataDir, config: { host: '127.0.0.1', port: 0 }, accounts: () => accounts, take: async () => undefined, log: createLogger('info', sink) });
    const { port: loggedPort } = await logged.start();
    try {
      const c = await connect('acme', { key: 'acme' }, loggedPort);
      try {
        const s = await openSftp(c);
        expect(await statusOf(call((cb) => s.mkdir('inbound/d', cb)))).toBe(STATUS_CODE.PERMISSION_DENIED);
      } finally {
        c.end();
      }
    } finally {
      await logged.stop();
    }
    const refusal = lines.find((l) => l.includes('SFTP_OPERATION_REFUSED'));
    // JSON.parse keeps the last of two equal keys: a second "msg" hid the reason.
    expect(refusal?.match(/"msg":/g)).toHaveLength(1);
    expect(JSON.parse(refusal!)).toMatchObject({ msg: 'sftp: request refused', reason: expect.stringMatching(/folders cannot be created/), op: 'refused', username: 'acme' });
  });

  it('reports the host key fingerprint ssh-keygen prints, keeps the key 0600 and reuses it after a restart', async () => {
    const keyPath = join(dataDir, 'sftp', 'host_ed25519');
    const printed = execFileSync('ssh-keygen', ['-lf', keyPath], { encoding: 'utf8' }).split(' ')[1];
    expect(server.hostKeyFingerprint()).toBe(printed);
    expect(printed).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    // The key the client is shown is that one.
    const scanned = await new Promise<string>((resolve, reject) => execFile('ssh-keyscan', ['-p', String(port), '-t', 'ed25519', '127.0.0.1'], { encoding: 'utf8' },
      (err, stdout) => (err ? reject(err) : resolve(stdout.trim()))));
    writeFileSync(join(dir, 'scanned'), `${scanned}\n`);
    expect(execFileSync('ssh-keygen', ['-lf', join(dir, 'scanned')], { encoding: 'utf8' }).split(' ')[1]).toBe(printed);

    const again = new HostedSftpServer({ dataDir, config: { host: '127.0.0.1', port: 0 }, accounts: () => accounts, take: async () => undefined });
    const started = await again.start();
    await again.stop();
    expect(started.fingerprint).toBe(printed);
  });
});

describe('hosted SFTP config', () => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test';

  it('fills in the documented defaults', () => {
    const a = hostedSftpAccountSchema.parse({ username: 'acme', publicKeys: [key] });
    expect(a).toEqual({
      username: 'acme', publicKeys: [key], completion: { mode: 'rename' }, tempPattern: ['*.tmp', '*.part', '.*'],
      maxFileBytes: 100 * 1024 * 1024, maxSessions: 4, afterIntake: 'delete',
    });
    expect(a.password).toBeUndefined();
    const s = hostedSftpServerSchema.parse({});
    expect(s).toEqual({ host: '0.0.0.0', port: 2222, maxConnections: 64, maxConnectionsPerAddress: 16, loginGraceMs: 30_000, maxAuthTries: 6, idleTimeoutMs: 600_000, maxAuthFailuresPerAddress: 20, authFailureWindowMs: 600_000 });
    expect(resolveHostKeyPath(s, '/data')).toBe('/data/sftp/host_ed25519');
  });

  it('collects every problem of a bad account block', () => {
    const r = hostedSftpAccountSchema.safeParse({
      username: 'bad user', publicKeys: ['not a key'], password: { hash: 'plaintext' }, allowFrom: ['10.0.0.0/33', 'example.com'],
      completion: { mode: 'pattern' },
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(['allowFrom.0', 'allowFrom.1', 'completion.pattern', 'password.hash', 'publicKeys.0', 'username']);
    const noAuth = hostedSftpAccountSchema.safeParse({ username: 'a', completion: { mode: 'pattern' } });
    expect(noAuth.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['completion.pattern', 'publicKeys']);
    expect(hostedSftpAccountSchema.parse({ username: 'a', publicKeys: [key], tempPattern: ['*.tmp', '*.filepart, .*'] }).tempPattern)
      .toEqual(['*.tmp', '*.filepart', '.*']);
  });

  it('hashes passwords with scrypt and a salt, and verifies them', async () => {
    const h = await hashPassword('s3cret');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(await hashPassword('s3cret')).not.toBe(h); // salted
    expect(await verifyPassword('s3cret', h)).toBe(true);
    expect(await verifyPassword('s3cret!', h)).toBe(false);
    expect(await verifyPassword('s3cret', 'scrypt$1048576000$8$1$AAAA$AAAA')).toBe(false);
    expect(hostedSftpAccountSchema.safeParse({ username: 'a', password: { hash: h } }).success).toBe(true);
  });

  it('builds the accounts map from partners and serves a clashing username to nobody', () => {
    const { accounts, problems } = hostedSftpAccounts([
      { id: 'a', transports: { sftp: { username: 'same', publicKeys: [key] } } },
      { id: 'b', transports: { sftp: { username: 'same', publicKeys: [key] } } },
      { id: 'c', transports: { sftp: { username: 'c-user', publicKeys: [key] } } },
      { id: 'd', transports: { sftp: { username: 'd' } } },
      { id: 'e', transports: {} },
    ]);
    expect([...accounts.keys()]).toEqual(['c-user']);
    expect(accounts.get('c-user')!.partner).toBe('c');
    expect(problems).toEqual([
      expect.stringMatching(/^b: .*'same' is also used by a/),
      expect.stringMatching(/^d: transports.sftp: publicKeys: /),
    ]);
  });
});
