// End to end over the hosted SFTP server: OpenSSH's sftp client uploads a 214 into a running gateway as
// the partner, the file is translated, its events reach the BullMQ events queue, and the 997 comes back
// through the partner's outbound/ folder, where the same client downloads it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { configSchema } from '../../src/gateway/config.js';
import { startGateway, type Gateway } from '../../src/gateway/gateway.js';
import { silentLogger } from '../../src/pipeline/context.js';
import { consumeEvents } from '../../src/queue/consumer.js';
import { createConnection, EVENTS_QUEUE, INBOUND_QUEUE } from '../../src/queue/queues.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const haveSftp = spawnSync('sftp', ['-V']).status !== null && existsSync('/usr/bin/ssh-keygen');
const repo = fileURLToPath(new URL('../../', import.meta.url));
const sample = join(repo, 'partners/prairie-line/samples/214-multi-status.edi');

async function waitFor(check: () => Promise<boolean>, ms = 60_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe.skipIf(!haveSftp)('hosted SFTP end to end (OpenSSH sftp client -> gateway -> BullMQ, 997 back)', { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'wb-sftp-e2e-'));
  const prefix = `wbsftp${process.pid}${Date.now() % 100000}`;
  const key = join(work, 'id_ed25519');
  let gateway: Gateway;

  // Asynchronous on purpose: the SFTP server runs in this process, so a spawnSync would block the very
  // event loop that has to answer the client.
  const sftp = (commands: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const batch = join(work, `batch-${Date.now()}`);
    writeFileSync(batch, `${commands.join('\n')}\n`);
    const child = spawn('sftp', ['-b', batch, '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-P', String(gateway.sftpPort), 'prairie@127.0.0.1']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });

  beforeAll(async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const pub = readFileSync(`${key}.pub`, 'utf8').trim();
    const partners = join(work, 'partners');
    cpSync(join(repo, 'partners/prairie-line'), join(partners, 'prairie-line'), { recursive: true });
    const yamlFile = join(partners, 'prairie-line/partner.yaml');
    writeFileSync(yamlFile, `${readFileSync(yamlFile, 'utf8')}transports:\n  sftp:\n    username: prairie\n    publicKeys: [${JSON.stringify(pub)}]\n`);
    const config = configSchema.parse({
      dataDir: join(work, 'data'), partnersDir: partners, redisUrl: REDIS_URL, queuePrefix: prefix,
      http: { port: 0 }, inbound: { folder: null }, reloadMs: 0, sftp: { host: '127.0.0.1', port: 0 },
    });
    gateway = await startGateway(config, silentLogger);
  });

  afterAll(async () => {
    await gateway?.stop();
    const conn = createConnection(REDIS_URL);
    for (const name of [INBOUND_QUEUE, EVENTS_QUEUE]) {
      const q = new Queue(name, { connection: conn, prefix });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    conn.disconnect();
  });

  it('an upload renamed into place is translated, its events reach the queue, and the 997 is downloadable', async () => {
    const up = await sftp([`put ${sample} inbound/214.edi.part`, 'rename inbound/214.edi.part inbound/214.edi']);
    expect(up.status, `${up.stderr} ${up.stdout}`).toBe(0);

    // The events an ERP consumer receives from BullMQ.
    const seen = new Set<string>();
    const consumer = consumeEvents({ connection: REDIS_URL, prefix, handler: async (e) => { seen.add((e as { id: string }).id); } });
    try {
      expect(await waitFor(async () => {
        const files = await gateway.ledger.listFiles();
        return files.length === 1 && files[0].state === 'translated' && seen.size === 6;
      })).toBe(true);
    } finally {
      await consumer.close();
    }
    const [file] = await gateway.ledger.listFiles();
    expect(file).toMatchObject({ transport: 'sftp', partner: 'prairie-line', originalName: '214.edi' });
    expect((await gateway.ledger.countEvents()).total).toBe(6);
    // Taken in: gone from the partner's inbound/ (the ledger holds the bytes).
    expect(readdirSync(join(work, 'data/sftp/prairie-line/inbound'))).toEqual([]);

    // The 997 is delivered into the partner's outbound/ and the partner downloads it over SFTP.
    expect(await waitFor(async () => (await gateway.ledger.listOutboundDocuments({ relatedFileId: file.id }))[0]?.state === 'delivered')).toBe(true);
    const got = join(work, 'got');
    const down = await sftp([`lcd ${work}`, 'get outbound/* got']);
    expect(down.status, down.stderr).toBe(0);
    const ack = readFileSync(got, 'utf8');
    expect(ack).toMatch(/^ISA\*/);
    expect(ack).toMatch(/ST\*997\*/);
    expect(ack).toMatch(/AK1\*QM\*2291~/);
    expect(ack).toMatch(/AK9\*A\*1\*1\*1~/);
  });
});
