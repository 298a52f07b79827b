// A partner server whose SFTP side hangs while its sshd still answers keepalives (a stuck disk or share
// behind it), under the whole gateway: before operationTimeoutSeconds the poll waited forever, and with it
// the remote pollers' stop, so gateway.stop() never returned. Real OpenSSH with an external sftp-server
// (SIGSTOPped by the test), real Redis (REDIS_URL, own key prefix, cleaned after; never FLUSHALL).
// Needs root and OpenSSH; skipped otherwise. Waits are bounded.
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type GatewayConfig } from '../../src/gateway/config.js';
import { startGateway, type Gateway } from '../../src/gateway/gateway.js';
import { silentLogger } from '../../src/pipeline/context.js';
import { cleanRedisPrefix } from '../helpers/redis.js';
import { TestSshd } from '../helpers/sshd.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const canRun = process.getuid?.() === 0 && existsSync('/usr/sbin/sshd') && existsSync('/usr/bin/ssh-keygen');
if (!canRun) console.warn('sftp-remote-stall tests skipped: they need root and OpenSSH');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(10);
  }
}

describe.skipIf(!canRun)('a partner SFTP server that stops answering (gateway, Redis)', { timeout: 90_000 }, () => {
  let sshd: TestSshd;
  let work: string;
  let config: GatewayConfig;
  let gateway: Gateway | null = null;
  const prefix = `wbg-poller-audit-stall-${process.pid}-${Date.now().toString(36)}`;
  const stalled: number[] = [];

  beforeAll(async () => {
    sshd = await TestSshd.start('waybill-sshd-poller-audit-gw-', { externalSftpServer: true });
    work = mkdtempSync(join(tmpdir(), 'wb-poller-audit-stall-'));
  });

  afterAll(async () => {
    for (const pid of stalled) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await gateway?.stop().catch(() => undefined);
    await cleanRedisPrefix(REDIS_URL, prefix);
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('gateway.stop() returns while the partner server hangs, and after a restart the file is taken once', async () => {
    const out = sshd.dir('/out');
    const partnersDir = join(work, 'partners');
    cpSync(join(ROOT, 'partners/prairie-line'), join(partnersDir, 'prairie-line'), { recursive: true });
    const remote = {
      host: '127.0.0.1', port: sshd.port, username: 'root', privateKey: { path: sshd.clientKey }, hostKey: sshd.hostKey,
      poll: [{ dir: out.remote, pattern: '*.edi', afterIntake: 'delete' }],
      intervalSeconds: 0.2, minAgeSeconds: 0, settleSeconds: 0.1, retry: { baseSeconds: 0.2, maxSeconds: 1 }, operationTimeoutSeconds: 3, connectTimeoutSeconds: 3,
    };
    appendFileSync(join(partnersDir, 'prairie-line/partner.yaml'), `\ntransports:\n  remote: ${JSON.stringify(remote)}\n`);
    config = configSchema.parse({
      dataDir: join(work, 'data'), partnersDir, redisUrl: REDIS_URL, queuePrefix: prefix,
      http: { port: 0 }, inbound: { folder: null }, reloadMs: 0,
    });
    const sample = readFileSync(join(ROOT, 'partners/prairie-line/samples/214-multi-status.edi'));
    writeFileSync(join(out.local, '214.edi'), sample);

    // The server's SFTP side freezes as soon as the first poll opens it (sshd itself goes on answering):
    // before its first answer (then connectTimeoutSeconds ends the connect) or after (operationTimeoutSeconds).
    // Under load both happen; before the connect deadline the first one hung this test.
    const freezer = (async () => {
      for (let i = 0; i < 2000 && !stalled.length; i++) {
        for (const pid of sshd.sftpServerPids()) { process.kill(pid, 'SIGSTOP'); stalled.push(pid); }
        await sleep(5);
      }
    })();
    // What the stop waits for, and what the poller says, for the failure message.
    const said: string[] = [];
    const note = (level: string) => (obj: Record<string, unknown>, msg?: string) => { said.push(`${level} ${msg} ${JSON.stringify(obj)}`); };
    gateway = await startGateway(config, { info() {}, warn: note('warn'), error: note('error') }, { stopReportMs: 1_000 });
    await freezer;
    expect(stalled.length).toBeGreaterThan(0);
    await sleep(500); // the poll is now waiting on the frozen server

    const t0 = Date.now();
    const stopped = await Promise.race([gateway.stop().then(() => 'stopped'), sleep(20_000).then(() => 'still stopping')]);
    expect(stopped, said.join('\n')).toBe('stopped');
    expect(Date.now() - t0).toBeLessThan(20_000);
    gateway = null;
    expect(existsSync(join(out.local, '214.edi'))).toBe(true);

    // The server recovers; a new gateway over the same data dir takes the file, once.
    for (const pid of stalled.splice(0)) process.kill(pid, 'SIGKILL');
    gateway = await startGateway(config, silentLogger);
    const gw = gateway;
    await waitFor('the file taken in and deleted', () => !existsSync(join(out.local, '214.edi')));
    await waitFor('the file translated', async () => (await gw.ledger.listFiles())[0]?.state === 'translated');
    expect(await gw.ledger.listFiles()).toHaveLength(1);
    expect((await gw.ledger.countEvents()).total).toBe(6);
    expect(await gw.ledger.listRemoteFiles({ partner: 'prairie-line' })).toEqual([expect.objectContaining({ state: 'done', path: `${out.remote}/214.edi` })]);
  });
});
