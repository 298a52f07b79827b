// The remote SFTP poller against what real partner servers do (REPORT.md of the poller audit): files
// rewritten in place while we read them, files we may not read or delete, move targets that clash,
// servers with several host keys. A real OpenSSH sshd each (test/helpers/sshd.ts). Needs root and
// /usr/sbin/sshd; skipped otherwise. Loops and waits are bounded; nothing asserts timing.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, symlinkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { remoteSftpSchema, type RemoteSftpInput } from '../../src/transports/sftp/remote/config.js';
import { RemotePollerSet } from '../../src/transports/sftp/remote/index.js';
import { RemoteSftpPoller } from '../../src/transports/sftp/remote/poller.js';
import { captureLog } from '../helpers/log.js';
import { recordingTake, sha } from '../helpers/recording-take.js';
import { TestSshd } from '../helpers/sshd.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/sbin/sshd') && existsSync('/usr/bin/ssh-keygen');
if (!canRun) console.warn('sftp-remote-poller-audit tests skipped: they need root and OpenSSH');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves with the poll's outcome, or 'still running' when it has not settled within `ms`. */
function settleWithin<T>(p: Promise<T>, ms: number): Promise<T | Error | 'still running'> {
  return Promise.race([p.catch((e: Error) => e), sleep(ms).then(() => 'still running' as const)]);
}

describe.skipIf(!canRun)('remote SFTP poller: partner server behaviour (poller audit)', { timeout: 60_000 }, () => {
  let sshd: TestSshd;
  let work: string;
  let n = 0;
  const ledgers: SqliteLedger[] = [];
  const servers: TestSshd[] = [];

  beforeAll(async () => {
    sshd = await TestSshd.start('waybill-sshd-poller-audit-');
    servers.push(sshd);
    work = mkdtempSync(join(tmpdir(), 'wb-poller-audit-'));
  });

  afterAll(async () => {
    for (const l of ledgers) await l.close();
    for (const s of servers) await s.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function area(server = sshd) {
    const id = `t${++n}`;
    const local = join(work, id);
    mkdirSync(local, { recursive: true });
    const ledger = new SqliteLedger(join(local, 'ledger.db'));
    ledgers.push(ledger);
    return { id, local, ledger, workDir: join(local, 'dl'), inbox: server.dir(`/${id}/inbox`) };
  }

  const config = (server: TestSshd, over: Partial<RemoteSftpInput> = {}) => remoteSftpSchema.parse({
    host: '127.0.0.1', port: server.port, username: 'root', privateKey: { path: server.clientKey }, hostKey: server.hostKey,
    intervalSeconds: 0.05, minAgeSeconds: 0, settleSeconds: 0, retry: { baseSeconds: 0.05, maxSeconds: 0.2 }, ...over,
  });

  it('a file truncated while it is downloaded: the poll ends (it used to spin forever), the file is taken later, once, with its final bytes', async () => {
    const a = area();
    const path = join(a.inbox.local, 'rewritten.edi');
    writeFileSync(path, randomBytes(8 * 1024 * 1024));
    const { calls, take } = recordingTake();
    const log = captureLog();
    let truncated = false;
    const poller = new RemoteSftpPoller({
      partner: 'acme', config: config(sshd, { poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: a.workDir, log,
      // The partner's uploader truncates the file and starts writing it again while we read it.
      onProgress: (_f, done) => { if (!truncated && done > 1024 * 1024) { truncated = true; truncateSync(path, 100_000); } },
    });
    const first = await settleWithin(poller.pollOnce(), 15_000);
    expect(truncated).toBe(true);
    expect(first).toEqual({ taken: 0, finished: 0, skipped: 1, failed: 0 });
    expect(calls).toEqual([]);
    expect(log.entries.some((e) => e.obj.code === 'SFTP_REMOTE_FILE_CHANGED')).toBe(true);
    expect(await a.ledger.listRemoteFiles({ partner: 'acme' })).toEqual([]);

    const final = randomBytes(300_000);
    writeFileSync(path, final);
    expect(await settleWithin(poller.pollOnce(), 15_000)).toMatchObject({ taken: 1, failed: 0 });
    expect(calls.map((c) => sha(c.bytes))).toEqual([sha(final)]);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(a.workDir)).toEqual([]);
  });

  it('20 clashing names in moveTo: that file fails alone with SFTP_REMOTE_REMOVE_FAILED (it used to fail every poll before the next files), is never taken twice, and is moved once there is room', async () => {
    const a = area();
    const done = sshd.dir(`/${a.id}/done`);
    const at = new Date('2025-01-01T00:00:00Z');
    const first = join(a.inbox.local, 'a.edi');
    writeFileSync(first, 'A');
    utimesSync(first, at, at);
    writeFileSync(join(a.inbox.local, 'b.edi'), 'B');
    const clashes = ['a.edi', `a.edi.${at.getTime()}`, ...Array.from({ length: 18 }, (_, i) => `a.edi.${at.getTime()}-${i + 2}`)];
    for (const c of clashes) writeFileSync(join(done.local, c), 'older');
    const { calls, take } = recordingTake();
    const log = captureLog();
    const poller = new RemoteSftpPoller({ partner: 'acme', config: config(sshd, { poll: [{ dir: a.inbox.remote, afterIntake: 'move', moveTo: done.remote }] }), ledger: a.ledger, take, workDir: a.workDir, log });
    // a.edi is taken in (intake) but its move fails, so it counts as failed, not taken.
    expect(await poller.pollOnce()).toEqual({ taken: 1, finished: 0, skipped: 0, failed: 1 });
    expect(calls.map((c) => c.meta.name)).toEqual(['a.edi', 'b.edi']);
    expect(readdirSync(a.inbox.local)).toEqual(['a.edi']);
    expect(log.entries.filter((e) => e.level === 'error').map((e) => e.obj.code)).toEqual(['SFTP_REMOTE_REMOVE_FAILED']);
    // Later polls retry the move, never the intake.
    expect(await poller.pollOnce()).toMatchObject({ taken: 0, finished: 0, failed: 1 });
    rmSync(join(done.local, 'a.edi'));
    expect(await poller.pollOnce()).toMatchObject({ taken: 0, finished: 1, failed: 0 });
    expect(calls).toHaveLength(2);
    expect(readFileSync(join(done.local, 'a.edi'), 'utf8')).toBe('A');
    expect(readdirSync(a.inbox.local)).toEqual([]);
  });

  it('a server that refuses deletes: SFTP_REMOTE_REMOVE_FAILED for that file, taken once, no new take on later polls', async () => {
    const noDelete = await TestSshd.start('waybill-sshd-poller-audit-nodelete-', { sftpArgs: ['-P', 'remove,rename,posix-rename@openssh.com'] });
    servers.push(noDelete);
    const a = area(noDelete);
    writeFileSync(join(a.inbox.local, 'x.edi'), 'x');
    const { calls, take } = recordingTake();
    const log = captureLog();
    const poller = new RemoteSftpPoller({ partner: 'acme', config: config(noDelete, { poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: a.workDir, log });
    for (let i = 0; i < 3; i++) expect(await poller.pollOnce()).toEqual({ taken: 0, finished: 0, skipped: 0, failed: 1 });
    expect(calls).toHaveLength(1);
    expect(readdirSync(a.inbox.local)).toEqual(['x.edi']);
    expect(await a.ledger.listRemoteFiles({ partner: 'acme' })).toEqual([expect.objectContaining({ state: 'taken', sha256: sha(Buffer.from('x')) })]);
    const errors = log.entries.filter((e) => e.level === 'error');
    expect(errors).toHaveLength(3);
    expect(errors.map((e) => e.obj.code)).toEqual(['SFTP_REMOTE_REMOVE_FAILED', 'SFTP_REMOTE_REMOVE_FAILED', 'SFTP_REMOTE_REMOVE_FAILED']);
  });

  it('a server with several host keys: the pinned RSA or ECDSA key is accepted (it used to be refused as a mismatch); any other key is still refused, and a wrong login key is not called a host key problem', async () => {
    const multi = await TestSshd.start('waybill-sshd-poller-audit-hostkeys-', { extraHostKeys: ['rsa', 'ecdsa'] });
    servers.push(multi);
    const a = area(multi);
    for (const [i, pin] of [multi.extraHostKeys.rsa, multi.extraHostKeys.ecdsa, multi.hostKey].entries()) {
      writeFileSync(join(a.inbox.local, `f${i}.edi`), `file ${i}`);
      const { calls, take } = recordingTake();
      const poller = new RemoteSftpPoller({ partner: 'acme', config: config(multi, { hostKey: pin, poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: a.workDir });
      expect(await poller.pollOnce(), `pinned ${pin}`).toMatchObject({ taken: 1, failed: 0 });
      expect(calls.map((c) => c.meta.name)).toEqual([`f${i}.edi`]);
    }

    const foreign = 'SHA256:' + 'A'.repeat(43);
    const log = captureLog();
    const refused = new RemoteSftpPoller({ partner: 'acme', config: config(multi, { hostKey: foreign, poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take: recordingTake().take, workDir: a.workDir, log });
    const err = await refused.pollOnce().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SFTP_REMOTE_HOSTKEY_MISMATCH', details: { expected: foreign, presented: multi.hostKey } });
    expect(log.entries.filter((e) => e.obj.alert === true).map((e) => e.obj.code)).toEqual(['SFTP_REMOTE_HOSTKEY_MISMATCH']);

    const otherKey = join(a.local, 'other_ed25519');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const wrongLogin = new RemoteSftpPoller({ partner: 'acme', config: config(multi, { hostKey: multi.extraHostKeys.rsa, privateKey: { path: otherKey }, poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take: recordingTake().take, workDir: a.workDir });
    expect(await wrongLogin.pollOnce().catch((e: unknown) => e)).toMatchObject({ code: 'SFTP_REMOTE_AUTH_FAILED' });
  });

  it('credentials: an unusable key is SFTP_REMOTE_KEY_UNAVAILABLE (not a connection failure), a refused login SFTP_REMOTE_AUTH_FAILED, an unreachable server SFTP_REMOTE_CONNECT_FAILED', async () => {
    const a = area();
    const encrypted = join(a.local, 'encrypted_ed25519');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right', '-f', encrypted]);
    writeFileSync(join(a.local, 'not-a-key'), 'hello');
    const poll = [{ dir: a.inbox.remote }];
    const outcome = async (over: Partial<RemoteSftpInput>, env: NodeJS.ProcessEnv = {}) => {
      const poller = new RemoteSftpPoller({ partner: 'acme', config: config(sshd, { poll, ...over }), ledger: a.ledger, take: recordingTake().take, workDir: a.workDir, env });
      const err = await poller.pollOnce().catch((e: unknown) => e as Error & { code?: string });
      return `${(err as { code?: string }).code}`;
    };
    expect(await outcome({ privateKey: { path: encrypted } })).toBe('SFTP_REMOTE_KEY_UNAVAILABLE');
    expect(await outcome({ privateKey: { path: encrypted }, passphrase: { env: 'PASS' } }, { PASS: 'wrong' })).toBe('SFTP_REMOTE_KEY_UNAVAILABLE');
    expect(await outcome({ privateKey: { path: join(a.local, 'not-a-key') } })).toBe('SFTP_REMOTE_KEY_UNAVAILABLE');
    // The right passphrase: the key is fine, but it is not in authorized_keys.
    expect(await outcome({ privateKey: { path: encrypted }, passphrase: { env: 'PASS' } }, { PASS: 'right' })).toBe('SFTP_REMOTE_AUTH_FAILED');
    expect(await outcome({ username: 'nobody-here' })).toBe('SFTP_REMOTE_AUTH_FAILED');
    expect(await outcome({ port: 1 })).toBe('SFTP_REMOTE_CONNECT_FAILED');
  });

  it("a server whose SFTP side hangs while sshd still answers keepalives: the poll fails with SFTP_REMOTE_STALLED (it used to wait forever, holding stop() and every reload), then the file is taken once", async () => {
    const server = await TestSshd.start('waybill-sshd-poller-audit-stall-', { externalSftpServer: true });
    servers.push(server);
    const a = area(server);
    const body = randomBytes(8 * 1024 * 1024);
    writeFileSync(join(a.inbox.local, 'big.edi'), body);
    const { calls, take } = recordingTake();
    const log = captureLog();
    const stalled: number[] = [];
    const poller = new RemoteSftpPoller({
      partner: 'acme', config: config(server, { operationTimeoutSeconds: 2, poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: a.workDir, log,
      onProgress: (_f, done) => {
        if (!stalled.length && done > 1024 * 1024) {
          for (const pid of server.sftpServerPids()) { process.kill(pid, 'SIGSTOP'); stalled.push(pid); }
        }
      },
    });
    try {
      const outcome = await settleWithin(poller.pollOnce(), 20_000);
      expect(stalled.length).toBeGreaterThan(0);
      expect(outcome).toMatchObject({ code: 'SFTP_REMOTE_STALLED' });
      expect(poller.status()).toMatchObject({ consecutiveFailures: 1, lastErrorCode: 'SFTP_REMOTE_STALLED' });
      expect(log.entries.some((e) => e.level === 'warn' && e.obj.code === 'SFTP_REMOTE_STALLED')).toBe(true);
    } finally {
      for (const pid of stalled) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    }
    expect(calls).toEqual([]);
    expect(await settleWithin(poller.pollOnce(), 20_000)).toMatchObject({ taken: 1, failed: 0 });
    expect(calls.map((c) => sha(c.bytes))).toEqual([sha(body)]);
    expect(readdirSync(a.inbox.local)).toEqual([]);
  });

  it('odd names: spaces, unicode, leading dashes, 250 characters are taken; a name that is not UTF-8 is left there with SFTP_REMOTE_NAME_UNREADABLE; a file gone before download is skipped, not an error', async () => {
    const a = area();
    const odd = ['with space.edi', 'ünïcødé-📦.edi', '-leading-dash.edi', '--help', `${'x'.repeat(250)}.edi`, 'empty.edi'];
    for (const name of odd) writeFileSync(join(a.inbox.local, name), name === 'empty.edi' ? '' : `body of ${name}`);
    const latin1 = Buffer.from(join(a.inbox.local, 'caf\xe9.edi'), 'latin1'); // as a Windows uploader names it
    writeFileSync(latin1, 'latin-1 name');
    writeFileSync(join(a.inbox.local, 'vanishing.edi'), 'taken by someone else first');
    const { calls, take } = recordingTake();
    const log = captureLog();
    const poller = new RemoteSftpPoller({
      partner: 'acme', config: config(sshd, { poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: a.workDir, log,
      onStep: (step, info) => { if (step === 'downloading' && info.file?.name === 'vanishing.edi') rmSync(join(a.inbox.local, 'vanishing.edi')); },
    });
    expect(await poller.pollOnce()).toEqual({ taken: odd.length, finished: 0, skipped: 1, failed: 1 });
    expect(calls.map((c) => c.meta.name).sort()).toEqual([...odd].sort());
    for (const c of calls) expect(c.bytes.toString()).toBe(c.meta.name === 'empty.edi' ? '' : `body of ${c.meta.name}`);
    expect(readdirSync(a.inbox.local, { encoding: 'buffer' })).toEqual([Buffer.from('caf\xe9.edi', 'latin1')]);
    expect(log.entries.filter((e) => e.level === 'error').map((e) => e.obj.code)).toEqual(['SFTP_REMOTE_NAME_UNREADABLE']);
    expect(log.entries.filter((e) => e.obj.code === 'SFTP_REMOTE_FILE_CHANGED').map((e) => e.obj.path)).toEqual([`${a.inbox.remote}/vanishing.edi`]);
  });

  it('a file that grows while it is downloaded is left for a later poll (not a size-mismatch error) and then taken whole', async () => {
    const a = area();
    const path = join(a.inbox.local, 'growing.edi');
    const head = randomBytes(4 * 1024 * 1024);
    const tail = randomBytes(1000);
    writeFileSync(path, head);
    const { calls, take } = recordingTake();
    const log = captureLog();
    let grown = false;
    const poller = new RemoteSftpPoller({
      partner: 'acme', config: config(sshd, { poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: a.workDir, log,
      onProgress: (_f, done) => { if (!grown && done > 0) { grown = true; writeFileSync(path, Buffer.concat([head, tail])); utimesSync(path, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000)); } },
    });
    expect(await poller.pollOnce()).toEqual({ taken: 0, finished: 0, skipped: 1, failed: 0 });
    expect(log.entries.filter((e) => e.level === 'error')).toEqual([]);
    expect(await poller.pollOnce()).toMatchObject({ taken: 1, failed: 0 });
    expect(calls.map((c) => sha(c.bytes))).toEqual([sha(Buffer.concat([head, tail]))]);
  });

  it('the connection dropped right after the ledger record (before the delete): the next poll only deletes; nothing is taken twice', async () => {
    const a = area();
    const body = randomBytes(2000);
    writeFileSync(join(a.inbox.local, 'f.edi'), body);
    const { calls, take } = recordingTake();
    let dropped = 0;
    const poller = new RemoteSftpPoller({
      partner: 'acme', config: config(sshd, { poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: a.workDir,
      onStep: async (step) => {
        if (step === 'recorded' && !dropped) {
          dropped = sshd.dropConnections();
          await sleep(200); // the close reaches the client
        }
      },
    });
    await expect(poller.pollOnce()).rejects.toThrow();
    expect(dropped).toBeGreaterThan(0);
    expect(readdirSync(a.inbox.local)).toEqual(['f.edi']);
    expect(await a.ledger.listRemoteFiles({ partner: 'acme' })).toEqual([expect.objectContaining({ state: 'taken' })]);
    expect(await poller.pollOnce()).toEqual({ taken: 0, finished: 1, skipped: 0, failed: 0 });
    expect(calls.map((c) => sha(c.bytes))).toEqual([sha(body)]);
    expect(readdirSync(a.inbox.local)).toEqual([]);
  });

  it("refuses a moveTo that is the polled folder spelt another way ('/in/.', '/in//', './in'): it moved each file back into the folder under a new name, taken again every poll", () => {
    for (const [dir, moveTo] of [['/in', '/in/.'], ['/in', '/in//'], ['in', './in'], ['/in/', '/in/./.']]) {
      const r = remoteSftpSchema.safeParse({ host: 'h', username: 'u', privateKey: { path: '/k' }, hostKey: sshd.hostKey, poll: [{ dir, afterIntake: 'move', moveTo }] });
      expect(r.success, `${dir} -> ${moveTo}`).toBe(false);
    }
    expect(remoteSftpSchema.safeParse({ host: 'h', username: 'u', privateKey: { path: '/k' }, hostKey: sshd.hostKey, poll: [{ dir: '/in', afterIntake: 'move', moveTo: '/in/done' }] }).success).toBe(true);
  });

  it('a poll folder missing, or removed between the two listings, is SFTP_REMOTE_LIST_FAILED for that folder; the other folders are still polled', async () => {
    const a = area();
    const gone = sshd.dir(`/${a.id}/gone`);
    const other = sshd.dir(`/${a.id}/other`);
    writeFileSync(join(gone.local, 'g.edi'), 'g');
    writeFileSync(join(other.local, 'o.edi'), 'o');
    const { calls, take } = recordingTake();
    const log = captureLog();
    const poller = new RemoteSftpPoller({
      partner: 'acme', config: config(sshd, { poll: [{ dir: `/${a.id}/missing` }, { dir: gone.remote }, { dir: other.remote }] }), ledger: a.ledger, take, workDir: a.workDir, log,
      // The partner's cleanup job removes the folder between our two listings.
      onStep: (step, info) => { if (step === 'listed' && info.pass === 1 && info.dir === gone.remote) rmSync(gone.local, { recursive: true }); },
    });
    expect(await poller.pollOnce()).toEqual({ taken: 1, finished: 0, skipped: 0, failed: 2 });
    expect(calls.map((c) => c.meta.remotePath)).toEqual([`${other.remote}/o.edi`]);
    expect(log.entries.filter((e) => e.level === 'error').map((e) => [e.obj.code, e.obj.dir])).toEqual([
      ['SFTP_REMOTE_LIST_FAILED', `/${a.id}/missing`], ['SFTP_REMOTE_LIST_FAILED', gone.remote]]);
  });

  it('a reload does not make other partners wait for a poller stuck on a hanging server (RemotePollerSet)', async () => {
    const hanging = await TestSshd.start('waybill-sshd-poller-audit-hang2-', { externalSftpServer: true });
    servers.push(hanging);
    const a = area();
    const stuckDir = hanging.dir(`/${a.id}/stuck`);
    writeFileSync(join(stuckDir.local, 's.edi'), 's');
    const first = sshd.dir(`/${a.id}/first`);
    const second = sshd.dir(`/${a.id}/second`);
    const { calls, take } = recordingTake();
    const set = new RemotePollerSet({ ledger: a.ledger, take, workDir: a.workDir });
    const raw = (server: TestSshd, dir: string, over: Partial<RemoteSftpInput> = {}) => ({
      host: '127.0.0.1', port: server.port, username: 'root', privateKey: { path: server.clientKey }, hostKey: server.hostKey,
      intervalSeconds: 0.05, minAgeSeconds: 0, settleSeconds: 0, retry: { baseSeconds: 0.05, maxSeconds: 0.2 }, poll: [{ dir }], ...over,
    });
    const frozen: number[] = [];
    try {
      // 'slow' comes first: its poller is stopped first.
      await set.sync([
        { id: 'slow', transports: { remote: raw(hanging, stuckDir.remote, { operationTimeoutSeconds: 15 }) } },
        { id: 'quick', transports: { remote: raw(sshd, first.remote) } },
      ]);
      for (let i = 0; i < 2000 && !frozen.length; i++) {
        for (const pid of hanging.sftpServerPids()) { process.kill(pid, 'SIGSTOP'); frozen.push(pid); }
        await sleep(5);
      }
      expect(frozen.length).toBeGreaterThan(0);
      await sleep(300); // slow's poll now waits on the frozen server
      // A reload changes both partners: quick now polls another folder, where a file waits.
      writeFileSync(join(second.local, 'q.edi'), 'q');
      const t0 = Date.now();
      const reload = set.sync([
        { id: 'slow', transports: { remote: raw(hanging, stuckDir.remote, { operationTimeoutSeconds: 15, intervalSeconds: 0.06 }) } },
        { id: 'quick', transports: { remote: raw(sshd, second.remote) } },
      ]);
      for (let i = 0; i < 1000 && !calls.some((c) => c.meta.name === 'q.edi'); i++) await sleep(10);
      expect(calls.map((c) => c.meta.name)).toContain('q.edi');
      expect(Date.now() - t0).toBeLessThan(10_000); // well before slow's 15 s operation timeout
      for (const pid of frozen.splice(0)) process.kill(pid, 'SIGKILL');
      await reload;
    } finally {
      for (const pid of frozen) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await set.stop();
    }
  });

  it('a symlink matching the pattern is never taken, and said once (SFTP_REMOTE_NOT_REGULAR_FILE) instead of never', async () => {
    const a = area();
    writeFileSync(join(a.inbox.local, 'real.txt'), 'the target');
    symlinkSync('real.txt', join(a.inbox.local, 'link.edi'));
    const { calls, take } = recordingTake();
    const log = captureLog();
    const poller = new RemoteSftpPoller({ partner: 'acme', config: config(sshd, { poll: [{ dir: a.inbox.remote, pattern: '*.edi' }] }), ledger: a.ledger, take, workDir: a.workDir, log });
    expect(await poller.pollOnce()).toEqual({ taken: 0, finished: 0, skipped: 0, failed: 0 });
    expect(await poller.pollOnce()).toEqual({ taken: 0, finished: 0, skipped: 0, failed: 0 });
    expect(calls).toEqual([]);
    expect(readdirSync(a.inbox.local).sort()).toEqual(['link.edi', 'real.txt']);
    expect(log.entries.filter((e) => e.obj.code === 'SFTP_REMOTE_NOT_REGULAR_FILE').map((e) => e.obj.path)).toEqual([`${a.inbox.remote}/link.edi`]);
  });

  it('a slow server (a throttled link, 256 KB/s) is not mistaken for a stalled one: the watchdog lets a download that keeps moving finish', async () => {
    const a = area();
    const body = randomBytes(1024 * 1024);
    writeFileSync(join(a.inbox.local, 'slow.edi'), body);
    // A TCP proxy that passes the server's bytes at 256 KB/s.
    const rate = 256 * 1024;
    const sockets: Socket[] = [];
    const proxy = createServer((client) => {
      const upstream = connect(sshd.port, '127.0.0.1');
      sockets.push(client, upstream);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        upstream.pause();
        client.write(chunk);
        setTimeout(() => upstream.resume(), (chunk.length / rate) * 1000);
      });
      upstream.on('end', () => client.end());
    }).listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    try {
      const { calls, take } = recordingTake();
      const log = captureLog();
      const port = (proxy.address() as { port: number }).port;
      const poller = new RemoteSftpPoller({ partner: 'acme', config: config(sshd, { port, operationTimeoutSeconds: 1, poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: a.workDir, log });
      const t0 = Date.now();
      expect(await poller.pollOnce()).toMatchObject({ taken: 1, failed: 0 });
      expect(Date.now() - t0).toBeGreaterThan(2_000); // it really was slower than the 1 s limit, in total
      expect(calls.map((c) => sha(c.bytes))).toEqual([sha(body)]);
      expect(log.entries.filter((e) => e.obj.code === 'SFTP_REMOTE_STALLED')).toEqual([]);
    } finally {
      for (const sock of sockets) sock.destroy();
      proxy.close();
    }
  });

  it('a server whose SFTP subsystem never answers (after a good login) fails the connect within connectTimeoutSeconds, SFTP_REMOTE_CONNECT_FAILED (it used to wait forever)', async () => {
    const mute = await TestSshd.start('waybill-sshd-poller-audit-mute-', { sftpCommand: '/bin/sleep 600' });
    servers.push(mute);
    const a = area(mute);
    const poller = new RemoteSftpPoller({ partner: 'acme', config: config(mute, { connectTimeoutSeconds: 2, poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take: recordingTake().take, workDir: a.workDir });
    const outcome = await settleWithin(poller.pollOnce(), 15_000);
    expect(outcome).toMatchObject({ code: 'SFTP_REMOTE_CONNECT_FAILED' });
    expect((outcome as Error).message).toMatch(/SFTP/);
  });

  describe('as an unprivileged account (file modes bind, as on a partner server)', () => {
    let limited: TestSshd;
    beforeAll(async () => {
      limited = await TestSshd.start('waybill-sshd-poller-audit-nobody-', { user: 'nobody' });
      servers.push(limited);
    });

    it('a file the server will not let us read fails alone, with SFTP_REMOTE_READ_FAILED; the files after it are taken', async () => {
      const a = area(limited);
      chownSync(a.inbox.local, 65534, 65534);
      const old = new Date(Date.now() - 3600_000);
      const secret = join(a.inbox.local, 'secret.edi'); // the oldest, so it comes first
      writeFileSync(secret, 'not for us');
      chmodSync(secret, 0o600);
      utimesSync(secret, old, old);
      const ok = join(a.inbox.local, 'ok.edi');
      writeFileSync(ok, 'for us');
      chownSync(ok, 65534, 65534);
      const { calls, take } = recordingTake();
      const log = captureLog();
      const poller = new RemoteSftpPoller({ partner: 'acme', config: config(limited, { username: 'nobody', poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: a.workDir, log });
      expect(await poller.pollOnce()).toEqual({ taken: 1, finished: 0, skipped: 0, failed: 1 });
      expect(calls.map((c) => c.meta.name)).toEqual(['ok.edi']);
      expect(readdirSync(a.inbox.local)).toEqual(['secret.edi']);
      expect(log.entries.filter((e) => e.level === 'error').map((e) => e.obj.code)).toEqual(['SFTP_REMOTE_READ_FAILED']);
      expect(poller.status().consecutiveFailures).toBe(0);
    });
  });
});
