// End to end over a partner's own SFTP server: a real OpenSSH sshd (throwaway host key, key-only root
// login, internal-sftp in a root-owned chroot, loopback port) plays the partner. A gateway running in this
// process polls its out/ folder, translates the 214, publishes the events to BullMQ, and pushes the 997
// back into its in/ folder. Then a restarted gateway over the same data dir is handed the same bytes again.
// Needs root, /usr/sbin/sshd and ssh-keygen (skipped otherwise) and Redis (REDIS_URL). Loops are bounded;
// nothing asserts timing.
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type GatewayConfig } from '../../src/gateway/config.js';
import { startGateway, type Gateway } from '../../src/gateway/gateway.js';
import type { FileRecord } from '../../src/ledger/ledger.js';
import { silentLogger } from '../../src/pipeline/context.js';
import { consumeEvents, type EventConsumer } from '../../src/queue/consumer.js';
import { TestSshd } from '../helpers/sshd.js';
import { cleanRedisPrefix } from '../helpers/redis.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SSHD = '/usr/sbin/sshd';
const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const canRun = process.getuid?.() === 0 && existsSync(SSHD) && existsSync(SSH_KEYGEN);
if (!canRun) console.warn('sftp-remote-e2e tests skipped: they need root and OpenSSH (/usr/sbin/sshd, ssh-keygen)');

// ---------------------------------------------------------------- helpers (after test/transports/sftp-remote.test.ts)

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(25);
  }
}

const sha = (b: Buffer) => `sha256-${createHash('sha256').update(b).digest('hex')}`;


/** Removes everything this file left under its prefix (both queues and the relay marker). Never FLUSHALL. */
async function cleanRedis(prefix: string): Promise<void> {
  await cleanRedisPrefix(REDIS_URL, prefix);
}

/**
 * Watches a local folder (the chroot side of a remote one) as fast as the event loop allows, until stopped:
 * every time the file at `name` is seen missing after it was seen present, `whenGone` is asked and its
 * answer kept; every read of a
 * final (non-temp) name is kept with its bytes.
 */
function watchFolder(folder: string, opts: { name?: string; whenGone?: () => Promise<string | null> } = {}) {
  const violations: string[] = [];
  const reads: Array<{ name: string; bytes: Buffer }> = [];
  let sawTemp = 0;
  let present = false;
  let running = true;
  const loop = (async () => {
    while (running) {
      const names = await readdir(folder).catch(() => [] as string[]);
      if (opts.name && names.includes(opts.name)) present = true;
      else if (opts.name && present && opts.whenGone) {
        const problem = await opts.whenGone();
        if (problem) violations.push(problem);
      }
      for (const n of names) {
        if (n.endsWith('.part') || n.startsWith('.')) { sawTemp++; continue; }
        const bytes = await readFile(join(folder, n)).catch(() => null);
        if (bytes) reads.push({ name: n, bytes });
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return {
    violations, reads,
    get sawTemp() { return sawTemp; },
    get sawPresent() { return present; },
    async stop() { running = false; await loop; },
  };
}

// ---------------------------------------------------------------- the test

const SAMPLE = join(ROOT, 'partners/prairie-line/samples/214-multi-status.edi');
const NAME = '214-multi-status.edi';

describe.skipIf(!canRun)('remote SFTP end to end (partner sshd -> gateway poller -> BullMQ, 997 pushed back)', { timeout: 60_000 }, () => {
  let sshd: TestSshd;
  let work: string;
  let config: GatewayConfig;
  let out: { remote: string; local: string };
  let inbox: { remote: string; local: string };
  let gateway: Gateway | null = null;
  let consumer: EventConsumer | null = null;
  const prefix = `wbg-sftpremote-${process.pid}-${Date.now().toString(36)}`;
  const sample = readFileSync(SAMPLE);
  const fileId = sha(sample);
  /** Event id -> deliveries to our BullMQ consumer. */
  const seen = new Map<string, number>();

  /** Drops the sample into out/ as a partner should (temp name, then rename), with a chosen mtime. */
  function drop(mtimeSeconds: number): void {
    const part = join(out.local, `${NAME}.part`);
    writeFileSync(part, sample);
    utimesSync(part, mtimeSeconds, mtimeSeconds);
    renameSync(part, join(out.local, NAME));
  }

  beforeAll(async () => {
    sshd = await TestSshd.start('waybill-sshd-e2e-');
    out = sshd.dir('/out');
    inbox = sshd.dir('/in');
    work = mkdtempSync(join(tmpdir(), 'wb-sftp-remote-e2e-'));
    const partnersDir = join(work, 'partners');
    cpSync(join(ROOT, 'partners/prairie-line'), join(partnersDir, 'prairie-line'), { recursive: true });
    const remote = {
      host: '127.0.0.1', port: sshd.port, username: 'root', privateKey: { path: sshd.clientKey }, hostKey: sshd.hostKey,
      poll: [{ dir: out.remote, pattern: '*.edi', afterIntake: 'delete' }],
      intervalSeconds: 0.2, minAgeSeconds: 0, settleSeconds: 0.1, retry: { baseSeconds: 0.2, maxSeconds: 1 },
      outbound: { dir: inbox.remote, fileName: '{kind}_{control}_{id}.edi', onExists: 'fail' },
    };
    appendFileSync(join(partnersDir, 'prairie-line/partner.yaml'), `\ntransports:\n  remote: ${JSON.stringify(remote)}\n`);
    config = configSchema.parse({
      dataDir: join(work, 'data'), partnersDir, redisUrl: REDIS_URL, queuePrefix: prefix,
      http: { port: 0 }, inbound: { folder: null }, reloadMs: 0,
    });
    consumer = consumeEvents({
      connection: REDIS_URL, prefix,
      handler: async (e) => { const id = (e as { id: string }).id; seen.set(id, (seen.get(id) ?? 0) + 1); },
    });
  });

  afterAll(async () => {
    await gateway?.stop().catch(() => undefined);
    await consumer?.close().catch(() => undefined);
    await cleanRedis(prefix);
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('polls the 214, deletes it remotely only after intake, publishes 6 events, pushes the 997 complete; a resend after restart changes nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    gateway = await startGateway(config, silentLogger);
    const gw = gateway;
    expect(gw.partners.current.get('prairie-line')?.config.transports.remote).toMatchObject({ host: '127.0.0.1', port: sshd.port });

    // The remote file may disappear only once intake holds it and the ledger has recorded it as taken.
    const outWatch = watchFolder(out.local, {
      name: NAME,
      whenGone: async () => {
        if (!(await gw.ledger.listFiles()).some((f) => f.id === fileId)) return 'remote file gone before intake';
        if (!(await gw.ledger.listRemoteFiles({ partner: 'prairie-line' })).some((r) => r.sha256 === fileId)) return 'remote file gone before the ledger record';
        return null;
      },
    });
    const inWatch = watchFolder(inbox.local);
    let outWatchStopped = false;
    let firstFile: FileRecord | undefined;
    try {
      drop(now - 120);

      await waitFor('the remote file taken in and deleted', () => !existsSync(join(out.local, NAME)));
      await outWatch.stop();
      outWatchStopped = true;
      expect(outWatch.sawPresent).toBe(true);
      expect(outWatch.violations).toEqual([]);

      await waitFor('the file translated', async () => (await gw.ledger.listFiles())[0]?.state === 'translated');
      const files = await gw.ledger.listFiles();
      expect(files).toHaveLength(1);
      expect(files[0]).toMatchObject({
        id: fileId, transport: 'sftp-poll', partner: 'prairie-line', state: 'translated',
        originalName: NAME, originalPath: `${out.remote}/${NAME}`, size: sample.length,
      });
      firstFile = files[0];
      const remoteRecs = await gw.ledger.listRemoteFiles({ partner: 'prairie-line' });
      expect(remoteRecs).toHaveLength(1);
      expect(remoteRecs[0]).toMatchObject({ path: `${out.remote}/${NAME}`, size: sample.length, sha256: fileId, state: 'done' });

      await waitFor('6 events at the BullMQ consumer', () => seen.size === 6);
      expect((await gw.ledger.countEvents()).total).toBe(6);

      // OutboundDelivery runs every 5 s in the gateway: the bound allows for a few passes.
      await waitFor('the 997 delivered', async () => (await gw.ledger.listOutboundDocuments({ relatedFileId: fileId }))[0]?.state === 'delivered');
    } finally {
      if (!outWatchStopped) await outWatch.stop();
      await inWatch.stop();
    }
    const docs = await gw.ledger.listOutboundDocuments({ partner: 'prairie-line' });
    expect(docs).toHaveLength(1);
    const [ack] = docs;
    expect(ack).toMatchObject({ kind: '997', state: 'delivered', attempts: 1, lastError: null });
    const pushed = readdirSync(inbox.local);
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatch(/^997_\d+_ack-sha256-[0-9a-f]{64}-0\.edi$/);
    const body = readFileSync(join(inbox.local, pushed[0]), 'utf8');
    expect(body).toBe(ack.content);
    expect(body).toMatch(/^ISA\*/);
    expect(body).toContain('ST*997*');
    expect(body).toMatch(/AK1\*QM\*2291~/);
    expect(body).toMatch(/AK9\*A\*1\*1\*1~/);
    // Every time the watcher saw the final name, the file was already complete.
    expect(inWatch.reads.filter((r) => !r.bytes.equals(Buffer.from(ack.content)))).toEqual([]);
    expect(inWatch.reads.every((r) => r.name === pushed[0])).toBe(true);

    // ---- restart: the same bytes again (another mtime: a new remote file to the poller)
    await gw.stop();
    gateway = null;
    const eventIds = new Set(seen.keys());
    drop(now - 60);
    gateway = await startGateway(config, silentLogger);
    const gw2 = gateway;
    await waitFor('the resent file taken in and deleted', async () =>
      !existsSync(join(out.local, NAME))
      && (await gw2.ledger.listRemoteFiles({ partner: 'prairie-line' })).filter((r) => r.state === 'done').length === 2);
    const recs = await gw2.ledger.listRemoteFiles({ partner: 'prairie-line' });
    expect(recs).toHaveLength(2);
    expect(recs.every((r) => r.sha256 === fileId && r.path === `${out.remote}/${NAME}`)).toBe(true);
    expect(new Set(recs.map((r) => r.mtime)).size).toBe(2);

    // Nothing new comes of it: give a wrong translation, event or 997 a moment to show up, then look.
    await sleep(1_500);
    const after = await gw2.ledger.listFiles();
    expect(after).toHaveLength(1);
    expect(after[0]).toEqual(firstFile); // not translated again: same state, attempts, receivedAt
    expect((await gw2.ledger.countEvents()).total).toBe(6);
    expect(new Set(seen.keys())).toEqual(eventIds);
    expect(await gw2.ledger.listOutboundDocuments()).toHaveLength(1);
    expect(readdirSync(inbox.local)).toEqual(pushed);
  });
});

describe.skipIf(!canRun)('remote SFTP pollers follow partner reloads', { timeout: 60_000 }, () => {
  let sshd: TestSshd;
  let work: string;
  let gateway: Gateway | null = null;
  const prefix = `wbg-sftpreload-${process.pid}-${Date.now().toString(36)}`;
  const sample = readFileSync(SAMPLE);

  beforeAll(async () => {
    sshd = await TestSshd.start('waybill-sshd-reload-');
    work = mkdtempSync(join(tmpdir(), 'wb-sftp-reload-'));
  });

  afterAll(async () => {
    await gateway?.stop().catch(() => undefined);
    await cleanRedis(prefix);
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a remote block added by a reload starts polling; removed, polling stops; the gateway never restarts', async () => {
    const out = sshd.dir('/out');
    const partnersDir = join(work, 'partners');
    cpSync(join(ROOT, 'partners/prairie-line'), join(partnersDir, 'prairie-line'), { recursive: true });
    const partnerYaml = join(partnersDir, 'prairie-line/partner.yaml');
    const plain = readFileSync(partnerYaml, 'utf8');
    const remote = {
      host: '127.0.0.1', port: sshd.port, username: 'root', privateKey: { path: sshd.clientKey }, hostKey: sshd.hostKey,
      poll: [{ dir: out.remote, pattern: '*.edi', afterIntake: 'delete' }],
      intervalSeconds: 0.2, minAgeSeconds: 0, settleSeconds: 0.1, retry: { baseSeconds: 0.2, maxSeconds: 1 },
    };
    const config = configSchema.parse({
      dataDir: join(work, 'data'), partnersDir, redisUrl: REDIS_URL, queuePrefix: prefix,
      http: { port: 0 }, inbound: { folder: null }, reloadMs: 100,
    });
    gateway = await startGateway(config, silentLogger);
    const gw = gateway;
    const drop = (name: string) => {
      writeFileSync(join(out.local, `${name}.part`), sample);
      renameSync(join(out.local, `${name}.part`), join(out.local, name));
    };

    // No remote block yet: nobody polls. (A bounded look: a poller at 0.2 s would have taken it many times over.)
    drop('first.edi');
    await sleep(1_500);
    expect(existsSync(join(out.local, 'first.edi'))).toBe(true);
    expect(await gw.ledger.listFiles()).toEqual([]);

    // The analyst adds the remote block: the reload starts a poller, which takes the file.
    writeFileSync(partnerYaml, `${plain}\ntransports:\n  remote: ${JSON.stringify(remote)}\n`);
    await waitFor('the file taken in by the poller the reload started', () => !existsSync(join(out.local, 'first.edi')));
    await waitFor('the file translated', async () => (await gw.ledger.listFiles())[0]?.state === 'translated');
    expect((await gw.ledger.listFiles())[0]).toMatchObject({ transport: 'sftp-poll', partner: 'prairie-line', originalName: 'first.edi' });

    // And removes it again: the poller stops (the reload is seen within a few polls of the folder).
    writeFileSync(partnerYaml, plain);
    await waitFor('the reload without the remote block', () => gw.partners.current.get('prairie-line')?.config.transports.remote === undefined);
    await sleep(500); // the poller stops between files
    drop('second.edi');
    await sleep(1_500);
    expect(existsSync(join(out.local, 'second.edi'))).toBe(true);
    expect((await gw.ledger.listRemoteFiles({ partner: 'prairie-line' })).map((r) => r.path)).toEqual([`${out.remote}/first.edi`]);
  });
});
