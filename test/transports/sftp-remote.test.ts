// Remote SFTP (poller, pusher) and outbound delivery against a real OpenSSH sshd: a throwaway host key,
// key-only root login, internal-sftp in a root-owned chroot, on a free loopback port. Needs root and
// /usr/sbin/sshd (CI installs openssh-server); skipped otherwise. Loops are bounded; nothing asserts timing.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WaybillError } from '../../src/errors/catalogue.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import { silentLogger, type PipelineContext } from '../../src/pipeline/context.js';
import { intake } from '../../src/pipeline/intake.js';
import { processFile } from '../../src/pipeline/process-file.js';
import { OutboundDelivery } from '../../src/transports/delivery/outbound-delivery.js';
import { remoteSftpSchema, type RemoteSftpInput } from '../../src/transports/sftp/remote/config.js';
import { connectRemote, fingerprint } from '../../src/transports/sftp/remote/connect.js';
import { captureLog } from '../helpers/log.js';
import { RemoteSftpPoller, type PollStep, type RemoteFileMeta } from '../../src/transports/sftp/remote/poller.js';
import { pushFile } from '../../src/transports/sftp/remote/push.js';
import { recordingTake, sha } from '../helpers/recording-take.js';
import { keyFingerprint, TestSshd } from '../helpers/sshd.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SSHD = '/usr/sbin/sshd';
const canRun = process.getuid?.() === 0 && existsSync(SSHD) && existsSync('/usr/bin/ssh-keygen');
if (!canRun) console.warn('sftp-remote tests skipped: they need root and OpenSSH (/usr/sbin/sshd, ssh-keygen)');

// ---------------------------------------------------------------- helpers

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(25);
  }
}




// ---------------------------------------------------------------- the tests

describe.skipIf(!canRun)('remote SFTP against OpenSSH', () => {
  let sshd: TestSshd;
  let work: string;
  let n = 0;
  const ledgers: SqliteLedger[] = [];

  beforeAll(async () => {
    sshd = await TestSshd.start();
    work = mkdtempSync(join(tmpdir(), 'wb-sftp-remote-'));
  });

  afterAll(async () => {
    for (const l of ledgers) await l.close();
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A fresh test area: remote folders under /t<n>/, a ledger and a local work dir. */
  function area() {
    const id = `t${++n}`;
    const local = join(work, id);
    mkdirSync(local, { recursive: true });
    const ledgerPath = join(local, 'ledger.db');
    const ledger = new SqliteLedger(ledgerPath);
    ledgers.push(ledger);
    const reopen = () => { const l = new SqliteLedger(ledgerPath); ledgers.push(l); return l; };
    return { id, local, ledger, ledgerPath, reopen, inbox: sshd.dir(`/${id}/inbox`), outbox: sshd.dir(`/${id}/outbox`) };
  }

  function remoteRaw(over: Partial<RemoteSftpInput> = {}): RemoteSftpInput {
    return {
      host: '127.0.0.1', port: sshd.port, username: 'root', privateKey: { path: sshd.clientKey }, hostKey: sshd.hostKey,
      intervalSeconds: 0.05, minAgeSeconds: 0, settleSeconds: 0, retry: { baseSeconds: 0.05, maxSeconds: 0.2 }, ...over,
    };
  }
  const remoteCfg = (over: Partial<RemoteSftpInput> = {}) => remoteSftpSchema.parse(remoteRaw(over));

  it('fingerprints host keys exactly as ssh-keygen does', async () => {
    const conn = await connectRemote(remoteCfg(), { partner: 'acme', log: silentLogger });
    expect(conn.alive()).toBe(true);
    await conn.close();
    const pub = readFileSync(join(sshd.base, 'host_ed25519.pub'), 'utf8').split(' ')[1];
    expect(fingerprint(Buffer.from(pub, 'base64'))).toBe(sshd.hostKey);
  });

  it('takes complete files once with their exact bytes, skips temp and unmatched names, then deletes them remotely', async () => {
    const a = area();
    const body = randomBytes(300_000);
    writeFileSync(join(a.inbox.local, 'a.edi'), body);
    writeFileSync(join(a.inbox.local, 'b.edi.part'), 'partial');
    writeFileSync(join(a.inbox.local, '.hidden.edi'), 'hidden');
    writeFileSync(join(a.inbox.local, 'c.txt'), 'not ours');
    mkdirSync(join(a.inbox.local, 'sub.edi'));
    const { calls, take } = recordingTake();
    const poller = new RemoteSftpPoller({
      partner: 'acme', config: remoteCfg({ poll: [{ dir: a.inbox.remote, pattern: '*.edi' }] }), ledger: a.ledger, take, workDir: join(a.local, 'dl'),
    });
    const r = await poller.pollOnce();
    expect(r).toMatchObject({ taken: 1, failed: 0 });
    expect(calls).toHaveLength(1);
    expect(calls[0].bytes.equals(body)).toBe(true);
    expect(calls[0].meta).toMatchObject({ partner: 'acme', name: 'a.edi', remotePath: `${a.inbox.remote}/a.edi`, size: body.length });
    expect(readdirSync(a.inbox.local).sort()).toEqual(['.hidden.edi', 'b.edi.part', 'c.txt', 'sub.edi']);
    const rec = await a.ledger.getRemoteFile({ partner: 'acme', path: `${a.inbox.remote}/a.edi`, size: body.length, mtime: calls[0].meta.mtime });
    expect(rec).toMatchObject({ state: 'done', sha256: sha(body) });
    expect(readdirSync(join(a.local, 'dl'))).toEqual([]); // the download temp is gone
    expect(await poller.pollOnce()).toMatchObject({ taken: 0 });
    expect(calls).toHaveLength(1);
  });

  it('moves files after intake, choosing another name when the archive already has one', async () => {
    const a = area();
    const archive = sshd.dir(`/${a.id}/archive`);
    writeFileSync(join(archive.local, 'x.edi'), 'an older x.edi');
    writeFileSync(join(a.inbox.local, 'x.edi'), 'x content');
    writeFileSync(join(a.inbox.local, 'y.edi'), 'y content');
    const { calls, take } = recordingTake();
    const poller = new RemoteSftpPoller({
      partner: 'acme', ledger: a.ledger, take, workDir: join(a.local, 'dl'),
      config: remoteCfg({ poll: [{ dir: a.inbox.remote, pattern: ['*.edi'], afterIntake: 'move', moveTo: archive.remote }] }),
    });
    expect(await poller.pollOnce()).toMatchObject({ taken: 2 });
    expect(calls.map((c) => c.bytes.toString()).sort()).toEqual(['x content', 'y content']);
    expect(readdirSync(a.inbox.local)).toEqual([]);
    const archived = readdirSync(archive.local).sort();
    expect(archived).toHaveLength(3);
    expect(readFileSync(join(archive.local, 'x.edi'), 'utf8')).toBe('an older x.edi');
    expect(readFileSync(join(archive.local, 'y.edi'), 'utf8')).toBe('y content');
    const renamed = archived.find((f) => f.startsWith('x.edi.'));
    expect(renamed && readFileSync(join(archive.local, renamed), 'utf8')).toBe('x content');
  });

  it('rejects a moveTo that is itself polled, and a pattern without {id} or {control}', () => {
    expect(() => remoteCfg({ poll: [{ dir: '/in', afterIntake: 'move', moveTo: '/in/' }] })).toThrow(/moveTo may not be a polled directory/);
    expect(() => remoteCfg({ outbound: { dir: '/out', fileName: '{kind}.edi' } })).toThrow(/needs \{id\} or \{control\}/);
    expect(() => remoteCfg({ hostKey: 'MD5:aa:bb' })).toThrow(/SHA256/);
  });

  for (const crashAt of ['taken', 'recorded', 'removed'] as const) {
    it(`a crash after '${crashAt}' neither takes the file twice nor loses it`, async () => {
      const a = area();
      const dataDir = join(a.local, 'data');
      const body = Buffer.from(`ISA-like content ${crashAt} ${randomBytes(8).toString('hex')}`);
      writeFileSync(join(a.inbox.local, 'f.edi'), body);
      const config = remoteCfg({ poll: [{ dir: a.inbox.remote }] });
      const takes: Array<{ created: boolean }> = [];
      const takeWith = (ledger: SqliteLedger) => async (path: string, meta: RemoteFileMeta) => {
        const ctx = { dataDir, ledger, registry: () => new PartnerRegistry(), log: silentLogger, duplicates: { windowDays: 30, interchange: 'ignore' as const }, batchSize: 10 };
        const res = await intake(ctx, { input: { path }, transport: 'sftp-poll', originalName: meta.name, originalPath: meta.remotePath, partner: meta.partner });
        takes.push({ created: res.created });
        return res;
      };
      const first = new RemoteSftpPoller({
        partner: 'acme', config, ledger: a.ledger, take: takeWith(a.ledger), workDir: join(a.local, 'dl'),
        onStep: (step: PollStep) => { if (step === crashAt) throw new Error(`simulated crash after ${step}`); },
      });
      await expect(first.pollOnce()).rejects.toThrow(/simulated crash/);
      await a.ledger.close(); // the process "dies": a new one opens the same ledger
      expect(existsSync(join(a.inbox.local, 'f.edi'))).toBe(crashAt !== 'removed');

      const ledger = a.reopen();
      const second = new RemoteSftpPoller({ partner: 'acme', config, ledger, take: takeWith(ledger), workDir: join(a.local, 'dl') });
      const r = await second.pollOnce();
      expect(existsSync(join(a.inbox.local, 'f.edi'))).toBe(false);
      const files = await ledger.listFiles();
      expect(files.map((f) => f.id)).toEqual([sha(body)]);
      const recs = await ledger.listRemoteFiles({ partner: 'acme' });
      expect(recs).toHaveLength(1);
      expect(recs[0]).toMatchObject({ state: 'done', sha256: sha(body) });
      if (crashAt === 'taken') {
        // Intake had stored it but the ledger had no remote record yet: it is fetched again, and intake
        // recognises the same bytes (no second file, no new events).
        expect(takes).toEqual([{ created: true }, { created: false }]);
        expect(r.taken).toBe(1);
      } else {
        expect(takes).toEqual([{ created: true }]);
        expect(r.taken).toBe(0);
        expect(r.finished).toBe(crashAt === 'recorded' ? 1 : 0);
      }
      expect(await second.pollOnce()).toMatchObject({ taken: 0, finished: 0 });
    });
  }

  // Uploaders that keep timestamps (put -p, WinSCP, rsync -t) or servers with coarse mtimes can put a
  // different file under a name, size and mtime the ledger has already seen.
  it('takes in a new file that has the path, size and mtime of one taken and removed earlier (never deletes it unread)', async () => {
    const a = area();
    const path = join(a.inbox.local, 'status.edi');
    const at = new Date('2025-06-01T12:00:00Z');
    const first = randomBytes(908);
    const second = randomBytes(908);
    const { calls, take } = recordingTake();
    const log = captureLog();
    const poller = new RemoteSftpPoller({ partner: 'acme', config: remoteCfg({ poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: join(a.local, 'dl'), log });
    writeFileSync(path, first);
    utimesSync(path, at, at);
    expect(await poller.pollOnce()).toMatchObject({ taken: 1, finished: 0 });
    writeFileSync(path, second);
    utimesSync(path, at, at);
    expect(await poller.pollOnce()).toMatchObject({ taken: 1, finished: 0, failed: 0 });
    expect(calls.map((c) => sha(c.bytes))).toEqual([sha(first), sha(second)]);
    expect(existsSync(path)).toBe(false);
    expect(await a.ledger.listRemoteFiles({ partner: 'acme' })).toEqual([expect.objectContaining({ path: `${a.inbox.remote}/status.edi`, state: 'done', sha256: sha(second) })]);
    expect(log.entries.filter((e) => e.msg?.includes('taken earlier'))).toEqual([]);
    expect(await poller.pollOnce()).toMatchObject({ taken: 0, finished: 0 });
  });

  it('after a crash between the remote delete and the ledger update, a new file with the same path, size and mtime is taken in, not deleted', async () => {
    const a = area();
    const path = join(a.inbox.local, 'status.edi');
    const at = new Date('2025-06-01T12:00:00Z');
    const first = randomBytes(908);
    const second = randomBytes(908);
    writeFileSync(path, first);
    utimesSync(path, at, at);
    const { calls, take } = recordingTake();
    const config = remoteCfg({ poll: [{ dir: a.inbox.remote }] });
    const crashing = new RemoteSftpPoller({
      partner: 'acme', config, ledger: a.ledger, take, workDir: join(a.local, 'dl'),
      onStep: (step) => { if (step === 'removed') throw new Error('simulated crash after the remote delete'); },
    });
    await expect(crashing.pollOnce()).rejects.toThrow(/simulated crash/);
    expect(existsSync(path)).toBe(false);
    expect(await a.ledger.listRemoteFiles({ partner: 'acme' })).toEqual([expect.objectContaining({ state: 'taken', sha256: sha(first) })]);
    // While the gateway is down the partner puts the next file, keeping its timestamp.
    writeFileSync(path, second);
    utimesSync(path, at, at);
    const poller = new RemoteSftpPoller({ partner: 'acme', config, ledger: a.ledger, take, workDir: join(a.local, 'dl') });
    expect(await poller.pollOnce()).toMatchObject({ taken: 1, finished: 0, failed: 0 });
    expect(calls.map((c) => sha(c.bytes))).toEqual([sha(first), sha(second)]);
    expect(existsSync(path)).toBe(false);
    expect(await a.ledger.listRemoteFiles({ partner: 'acme' })).toEqual([expect.objectContaining({ state: 'done', sha256: sha(second) })]);
    expect(readdirSync(join(a.local, 'dl'))).toEqual([]);
  });

  it('skips files younger than minAge, and files still growing between two listings', async () => {
    const a = area();
    const young = join(a.inbox.local, 'young.edi');
    writeFileSync(young, 'fresh');
    const { calls, take } = recordingTake();
    const slow = new RemoteSftpPoller({ partner: 'acme', config: remoteCfg({ minAgeSeconds: 3600, poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: join(a.local, 'dl') });
    expect(await slow.pollOnce()).toMatchObject({ taken: 0, skipped: 1 });
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(young, old, old);
    expect(await slow.pollOnce()).toMatchObject({ taken: 1, skipped: 0 });
    expect(calls.map((c) => c.bytes.toString())).toEqual(['fresh']);

    const growing = join(a.inbox.local, 'growing.edi');
    writeFileSync(growing, 'first half;');
    let grow = true;
    const watcher = new RemoteSftpPoller({
      partner: 'acme', config: remoteCfg({ poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: join(a.local, 'dl'),
      // The writer appends between the two listings of the poll, as a slow upload would.
      onStep: (step, info) => { if (step === 'listed' && info.pass === 1 && grow) appendFileSync(growing, 'second half'); },
    });
    expect(await watcher.pollOnce()).toMatchObject({ taken: 0, skipped: 1 });
    expect(existsSync(growing)).toBe(true);
    grow = false;
    expect(await watcher.pollOnce()).toMatchObject({ taken: 1 });
    expect(calls.map((c) => c.bytes.toString())).toEqual(['fresh', 'first half;second half']);
  });

  it('retries a connection dropped mid-download, with backoff, and takes the file exactly once', async () => {
    const a = area();
    const body = randomBytes(24 * 1024 * 1024);
    writeFileSync(join(a.inbox.local, 'big.edi'), body);
    const { calls, take } = recordingTake();
    const log = captureLog();
    let drops = 0;
    const poller = new RemoteSftpPoller({
      partner: 'acme', config: remoteCfg({ poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: join(a.local, 'dl'), log,
      onProgress: (_f, transferred) => {
        if (drops === 0 && transferred > 0 && transferred < body.length) drops += sshd.dropConnections() > 0 ? 1 : 0;
      },
    });
    poller.start();
    try {
      await waitFor('the big file to be taken after the drop', () => calls.length > 0);
    } finally {
      await poller.stop();
    }
    expect(drops).toBe(1);
    expect(log.entries.some((e) => e.level === 'warn' && e.msg?.includes('retrying with backoff'))).toBe(true);
    expect(calls).toHaveLength(1);
    expect(sha(calls[0].bytes)).toBe(sha(body));
    expect(existsSync(join(a.inbox.local, 'big.edi'))).toBe(false);
    expect(await poller.pollOnce()).toMatchObject({ taken: 0 });
    expect(calls).toHaveLength(1);
    expect(readdirSync(join(a.local, 'dl'))).toEqual([]);
  });

  it('an unreachable partner blocks neither the other pollers nor deliveries to other partners', async () => {
    const a = area();
    // A "server" that accepts TCP and never answers: the worst case, a handshake that hangs to its timeout.
    const sockets: Socket[] = [];
    const blackhole = createServer((sock) => { sockets.push(sock); sock.on('error', () => undefined); }).listen(0, '127.0.0.1');
    await once(blackhole, 'listening');
    const deadPort = (blackhole.address() as { port: number }).port;
    try {
      writeFileSync(join(a.inbox.local, 'good.edi'), 'good partner file');
      const dead = recordingTake();
      const good = recordingTake();
      const hanging = new RemoteSftpPoller({
        partner: 'stuck', config: remoteCfg({ port: deadPort, connectTimeoutSeconds: 2, poll: [{ dir: '/anything' }] }), ledger: a.ledger, take: dead.take, workDir: join(a.local, 'dl'),
      });
      const healthy = new RemoteSftpPoller({ partner: 'acme', config: remoteCfg({ poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take: good.take, workDir: join(a.local, 'dl') });
      hanging.start();
      healthy.start();
      try {
        await waitFor('the healthy partner to be polled', () => good.calls.length > 0);
      } finally {
        await Promise.all([healthy.stop(), hanging.stop()]);
      }
      expect(good.calls.map((c) => c.bytes.toString())).toEqual(['good partner file']);
      expect(dead.calls).toHaveLength(0);

      await a.ledger.addOutboundDocument({ id: 'to-stuck', partner: 'stuck', kind: '997', content: 'x', controls: { interchange: '1' } });
      await a.ledger.addOutboundDocument({ id: 'to-acme', partner: 'acme', kind: '997', content: 'y', controls: { interchange: '2' } });
      const transports: Record<string, Record<string, unknown>> = {
        stuck: { remote: remoteRaw({ port: deadPort, connectTimeoutSeconds: 2, outbound: { dir: '/x' } }) },
        acme: { remote: remoteRaw({ outbound: { dir: a.outbox.remote } }) },
      };
      const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir: join(a.local, 'data'), partnerTransports: (p) => transports[p], intervalMs: 50 });
      delivery.start();
      try {
        await waitFor('acme delivered', async () => (await a.ledger.listOutboundDocuments({ partner: 'acme' }))[0].state === 'delivered');
      } finally {
        await delivery.stop();
      }
      expect(readdirSync(a.outbox.local)).toEqual(['997_2_to-acme.edi']);
      expect((await a.ledger.listOutboundDocuments({ partner: 'stuck' }))[0].state).toBe('pending');
    } finally {
      for (const s of sockets) s.destroy();
      blackhole.close();
    }
  });

  it('refuses a server whose host key is not the pinned one, with SFTP_REMOTE_HOSTKEY_MISMATCH and an alert', async () => {
    const a = area();
    writeFileSync(join(a.inbox.local, 'secret.edi'), 'must not leave');
    const other = join(a.local, 'other_ed25519');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const pinned = keyFingerprint(`${other}.pub`);
    expect(pinned).not.toBe(sshd.hostKey);
    const { calls, take } = recordingTake();
    const log = captureLog();
    const poller = new RemoteSftpPoller({
      partner: 'acme', config: remoteCfg({ hostKey: pinned, poll: [{ dir: a.inbox.remote }] }), ledger: a.ledger, take, workDir: join(a.local, 'dl'), log,
    });
    const err = await poller.pollOnce().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WaybillError);
    expect((err as WaybillError).code).toBe('SFTP_REMOTE_HOSTKEY_MISMATCH');
    expect((err as WaybillError).details).toMatchObject({ expected: pinned, presented: sshd.hostKey });
    const alert = log.entries.find((e) => e.level === 'error' && e.obj.code === 'SFTP_REMOTE_HOSTKEY_MISMATCH');
    expect(alert?.obj).toMatchObject({ alert: true, partner: 'acme', presented: sshd.hostKey });
    expect(JSON.stringify(log.entries)).not.toContain('PRIVATE KEY');
    expect(poller.status()).toMatchObject({ consecutiveFailures: 1, lastErrorCode: 'SFTP_REMOTE_HOSTKEY_MISMATCH' });
    expect(calls).toHaveLength(0);
    expect(existsSync(join(a.inbox.local, 'secret.edi'))).toBe(true);
  });

  it('pushes under a temp name and renames into place: a reader polling the folder never sees a partial file', async () => {
    const a = area();
    const out = remoteCfg({ outbound: { dir: a.outbox.remote, fileName: '{kind}_{control}_{id}.edi' } }).outbound!;
    const content = randomBytes(16 * 1024 * 1024);
    const conn = await connectRemote(remoteCfg(), { partner: 'acme', log: silentLogger });
    const atRename: Array<{ tempSize: number; targetExists: boolean }> = [];
    let done = false;
    let sawTarget = 0;
    let sawTemp = 0;
    let partial = 0;
    const push = pushFile(conn, out, 'big.edi', content, {
      beforeRename: async (target, temp) => {
        atRename.push({ tempSize: statSync(join(sshd.chroot, temp)).size, targetExists: existsSync(join(sshd.chroot, target)) });
        await waitFor('the reader to see the upload in progress', () => sawTemp > 0, 10_000);
      },
    }).finally(() => { done = true; });
    for (let i = 0; i < 200_000 && !done; i++) {
      const names = await readdir(a.outbox.local);
      if (names.includes('big.edi.part')) sawTemp++;
      if (names.includes('big.edi')) {
        sawTarget++;
        const b = await readFile(join(a.outbox.local, 'big.edi'));
        if (!b.equals(content)) partial++;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const result = await push;
    await conn.close();
    expect(result).toEqual({ path: `${a.outbox.remote}/big.edi`, name: 'big.edi', replaced: false });
    expect(atRename).toEqual([{ tempSize: content.length, targetExists: false }]);
    // The reader polled while the push was in progress (the hook waited for it), and each of the
    // sawTarget times it found the final name (possibly none), the file was complete.
    expect(sawTemp).toBeGreaterThan(0);
    expect({ sawTarget, partial }).toEqual({ sawTarget, partial: 0 });
    expect(readdirSync(a.outbox.local)).toEqual(['big.edi']);
    expect(readFileSync(join(a.outbox.local, 'big.edi')).equals(content)).toBe(true);
  });

  it('pushed files get mode 0644, as OpenSSH put gives a usual file, whatever the mode of the temp file meanwhile', async () => {
    const a = area();
    const conn = await connectRemote(remoteCfg(), { partner: 'acme', log: silentLogger });
    try {
      for (const onExists of ['fail', 'overwrite'] as const) {
        const out = remoteCfg({ outbound: { dir: a.outbox.remote, onExists } }).outbound!;
        await pushFile(conn, out, 'perm.edi', `pushed with onExists ${onExists}`);
        expect(statSync(join(a.outbox.local, 'perm.edi')).mode & 0o777, onExists).toBe(0o644);
      }
    } finally {
      await conn.close();
    }
    // The server honours the mode a client asks for (no umask), so this is the client's doing.
    writeFileSync(join(a.local, 'local-0644.edi'), 'x', { mode: 0o644 });
    execFileSync('sftp', ['-b', '-', '-i', sshd.clientKey, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      '-P', String(sshd.port), 'root@127.0.0.1'], { input: `put ${join(a.local, 'local-0644.edi')} ${a.outbox.remote}/openssh.edi\n` });
    expect(statSync(join(a.outbox.local, 'openssh.edi')).mode & 0o777).toBe(0o644);
  });

  it('handles an existing target per onExists: fail, overwrite, unique', async () => {
    const a = area();
    const target = join(a.outbox.local, 'doc.edi');
    writeFileSync(target, 'original');
    const conn = await connectRemote(remoteCfg(), { partner: 'acme', log: silentLogger });
    try {
      const cfg = (onExists: 'fail' | 'overwrite' | 'unique') => remoteCfg({ outbound: { dir: a.outbox.remote, onExists } }).outbound!;
      const err = await pushFile(conn, cfg('fail'), 'doc.edi', 'new').then(() => null, (e: unknown) => e);
      expect((err as WaybillError).code).toBe('DELIVERY_TARGET_EXISTS');
      expect(readdirSync(a.outbox.local)).toEqual(['doc.edi']);
      expect(readFileSync(target, 'utf8')).toBe('original');

      expect(await pushFile(conn, cfg('unique'), 'doc.edi', 'second')).toMatchObject({ name: 'doc-1.edi', replaced: false });
      expect(await pushFile(conn, cfg('unique'), 'doc.edi', 'third')).toMatchObject({ name: 'doc-2.edi' });
      expect(readFileSync(target, 'utf8')).toBe('original');
      expect(readFileSync(join(a.outbox.local, 'doc-1.edi'), 'utf8')).toBe('second');
      expect(readFileSync(join(a.outbox.local, 'doc-2.edi'), 'utf8')).toBe('third');

      expect(await pushFile(conn, cfg('overwrite'), 'doc.edi', 'replaced')).toMatchObject({ name: 'doc.edi', replaced: true });
      expect(readFileSync(target, 'utf8')).toBe('replaced');
      expect(readdirSync(a.outbox.local).sort()).toEqual(['doc-1.edi', 'doc-2.edi', 'doc.edi']);
    } finally {
      await conn.close();
    }
  });

  it('OutboundDelivery delivers a pending document to the remote server exactly once and records every attempt', async () => {
    const a = area();
    const outDir = `/${a.id}/drop`; // missing at first: the first attempt fails
    const transports = { remote: remoteRaw({ outbound: { dir: outDir, fileName: '{kind}_{control}_{id}.edi' } }) };
    await a.ledger.addOutboundDocument({ id: 'ack-sha256-abc-0', partner: 'acme', kind: '997', content: 'ISA*...997 content~', controls: { interchange: '17' } });
    const log = captureLog();
    const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir: join(a.local, 'data'), partnerTransports: (p) => (p === 'acme' ? transports : undefined), log });
    expect(await delivery.runOnce()).toMatchObject({ delivered: 0, failed: 1 });
    let [doc] = await a.ledger.listOutboundDocuments();
    expect(doc).toMatchObject({ state: 'pending', attempts: 1 });
    expect(doc.lastError).toMatch(/No such file/i);

    const drop = sshd.dir(outDir);
    await waitFor('delivery after the backoff', async () => (await delivery.runOnce()).delivered === 1, 10_000);
    [doc] = await a.ledger.listOutboundDocuments();
    expect(doc).toMatchObject({ state: 'delivered', attempts: 2, lastError: null });
    expect(readdirSync(drop.local)).toEqual(['997_17_ack-sha256-abc-0.edi']);
    expect(readFileSync(join(drop.local, '997_17_ack-sha256-abc-0.edi'), 'utf8')).toBe('ISA*...997 content~');
    expect(await delivery.runOnce()).toMatchObject({ delivered: 0, failed: 0 });
    expect(readdirSync(drop.local)).toHaveLength(1);
  });

  it('OutboundDelivery never delivers twice after a crash between the rename and the ledger update, even once the partner took the file', async () => {
    const a = area();
    const transports = { remote: remoteRaw({ outbound: { dir: a.outbox.remote, onExists: 'unique' } }) };
    await a.ledger.addOutboundDocument({ id: 'ack-1', partner: 'acme', kind: '997', content: 'the ack', controls: { interchange: '5' } });
    const crashing = new OutboundDelivery({
      ledger: a.ledger, dataDir: join(a.local, 'data'), partnerTransports: () => transports,
      onStep: () => { throw new Error('simulated crash after the rename'); },
    });
    await crashing.runOnce();
    expect(readdirSync(a.outbox.local)).toEqual(['997_5_ack-1.edi']);
    rmSync(join(a.outbox.local, '997_5_ack-1.edi')); // the partner picked it up meanwhile
    await a.ledger.close();
    const ledger = a.reopen();
    expect((await ledger.listOutboundDocuments())[0].state).toBe('pending');
    const delivery = new OutboundDelivery({ ledger, dataDir: join(a.local, 'data'), partnerTransports: () => transports });
    expect(await delivery.runOnce()).toMatchObject({ delivered: 1 });
    expect(readdirSync(a.outbox.local)).toEqual([]);
    expect((await ledger.listOutboundDocuments())[0]).toMatchObject({ state: 'delivered' });
    expect(await ledger.getOutboundTransfer('ack-1')).toBeNull();
  });

  it('OutboundDelivery writes to the hosted outbound folder, and leaves documents without a transport pending (logged once)', async () => {
    const a = area();
    const dataDir = join(a.local, 'data');
    await a.ledger.addOutboundDocument({ id: 'ack-h', partner: 'hosted-co', kind: '997', content: 'hosted ack', controls: { interchange: '9' } });
    await a.ledger.addOutboundDocument({ id: 'ack-n', partner: 'nowhere', kind: '997', content: 'no route' });
    const log = captureLog();
    const transports: Record<string, Record<string, unknown>> = { 'hosted-co': { sftp: { keys: [] } }, nowhere: {} };
    const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir, partnerTransports: (p) => transports[p], log });
    expect(await delivery.runOnce()).toMatchObject({ delivered: 1, deferred: 1 });
    expect(await delivery.runOnce()).toMatchObject({ delivered: 0, deferred: 1 });
    const dir = join(dataDir, 'sftp', 'hosted-co', 'outbound');
    expect(readdirSync(dir)).toEqual(['997_9_ack-h.edi']);
    expect(readFileSync(join(dir, '997_9_ack-h.edi'), 'utf8')).toBe('hosted ack');
    const docs = Object.fromEntries((await a.ledger.listOutboundDocuments()).map((d) => [d.id, d]));
    expect(docs['ack-h']).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(docs['ack-n']).toMatchObject({ state: 'pending', attempts: 0 });
    expect(log.entries.filter((e) => e.obj.code === 'DELIVERY_NO_TRANSPORT')).toHaveLength(1);
  });

  it('end to end: remote poller -> intake -> processFile -> events in the outbox, and the 997 pushed back', async () => {
    const a = area();
    const dataDir = join(a.local, 'data');
    const partnersDir = join(a.local, 'partners');
    cpSync(join(ROOT, 'partners', 'prairie-line'), join(partnersDir, 'prairie-line'), { recursive: true });
    const remote = remoteRaw({
      poll: [{ dir: a.inbox.remote, pattern: '*.edi', afterIntake: 'delete' }],
      outbound: { dir: a.outbox.remote, fileName: '{kind}_{control}_{date}_{id}.edi', onExists: 'fail' },
    });
    appendFileSync(join(partnersDir, 'prairie-line', 'partner.yaml'), `\ntransports:\n  remote: ${JSON.stringify(remote)}\n`);
    const { registry, diagnostics } = PartnerRegistry.load(partnersDir);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const partner = registry.get('prairie-line');
    expect(partner?.config.transports.remote).toMatchObject({ host: '127.0.0.1', port: sshd.port });

    const sample = readFileSync(join(partnersDir, 'prairie-line', 'samples', '214-multi-status.edi'));
    writeFileSync(join(a.inbox.local, '214-multi-status.edi'), sample);
    const ctx: PipelineContext = { dataDir, ledger: a.ledger, registry: () => registry, log: silentLogger, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 100 };
    const taken: string[] = [];
    const poller = new RemoteSftpPoller({
      partner: 'prairie-line', config: remoteSftpSchema.parse(partner!.config.transports.remote), ledger: a.ledger, workDir: join(dataDir, 'tmp', 'remote'),
      // X12 is identified by its ISA (partner: null), as the gateway does for any X12 file.
      take: async (path, meta) => {
        const r = await intake(ctx, { input: { path }, transport: 'sftp-poll', originalName: meta.name, originalPath: meta.remotePath, partner: null });
        taken.push(r.fileId);
        return r;
      },
    });
    expect(await poller.pollOnce()).toMatchObject({ taken: 1 });
    expect(taken).toEqual([sha(sample)]);
    expect(readdirSync(a.inbox.local)).toEqual([]);

    const processed = await processFile(ctx, taken[0]);
    expect(processed).toMatchObject({ state: 'translated', newEvents: 6, acks: 1 });
    const events = await a.ledger.unpublished(100);
    expect(events).toHaveLength(6);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(['shipment.status@1']));
    expect(events.every((e) => e.partner === 'prairie-line' && e.fileId === taken[0])).toBe(true);

    const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir, partnerTransports: (id) => registry.get(id)?.config.transports });
    expect(await delivery.runOnce()).toMatchObject({ delivered: 1, failed: 0 });
    const [ack] = await a.ledger.listOutboundDocuments({ partner: 'prairie-line' });
    expect(ack).toMatchObject({ kind: '997', state: 'delivered', attempts: 1 });
    const files = readdirSync(a.outbox.local);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^997_\d+_\d{8}_ack-sha256-[0-9a-f]{64}-0\.edi$/);
    const pushed = readFileSync(join(a.outbox.local, files[0]), 'utf8');
    expect(pushed).toBe(ack.content);
    expect(pushed).toMatch(/^ISA\*/);
    expect(pushed).toContain('ST*997*');
    expect(pushed).toContain('AK1*QM*2291');
    expect(await delivery.runOnce()).toMatchObject({ delivered: 0 });
    expect(readdirSync(a.outbox.local)).toHaveLength(1);
  });
});
