// `waybill demo` (npm run demo): the whole inbound flow once, on embedded defaults. A fresh data folder
// and inbound folder, the gateway started in-process, every example partner's sample files dropped in,
// and an example ERP consumer printing the canonical events it receives from BullMQ. Then it stops.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { configSchema } from '../../gateway/config.js';
import { startGateway } from '../../gateway/gateway.js';
import { silentLogger } from '../../pipeline/context.js';
import { consumeEvents } from '../../queue/consumer.js';
import { relayMarkerKey } from '../../queue/relay.js';
import { createConnection, EVENTS_QUEUE, INBOUND_QUEUE, redisStatus, redisUrlFrom } from '../../queue/queues.js';

export interface DemoFlags {
  keep?: boolean;
}

const out = (s: string) => process.stdout.write(`${s}\n`);

function samples(partnersDir: string): { partner: string; file: string }[] {
  const list: { partner: string; file: string }[] = [];
  for (const p of readdirSync(partnersDir).sort()) {
    if (p.startsWith('_') || p.startsWith('.')) continue;
    const dir = join(partnersDir, p, 'samples');
    if (!existsSync(dir)) continue;
    // Inbound documents only: command JSON samples are what the ERP sends out, not what carriers send in.
    for (const f of readdirSync(dir).sort()) {
      if (statSync(join(dir, f)).isFile() && !f.endsWith('.json')) list.push({ partner: p, file: join(dir, f) });
    }
  }
  return list;
}

export async function demoCommand(flags: DemoFlags): Promise<number> {
  const redisUrl = redisUrlFrom(null);
  const probe = createConnection(redisUrl, { role: 'producer' });
  await new Promise<void>((r) => {
    const t = setTimeout(r, 1500);
    probe.once('ready', () => { clearTimeout(t); r(); });
  });
  const status = await redisStatus(probe, 1500);
  probe.disconnect();
  if (!status.ok) {
    process.stderr.write([
      `waybill demo: Redis is not reachable at ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}.`,
      'Start one and run the demo again:',
      '  redis-server --daemonize yes --save "" --appendonly no      (Debian: apt-get install redis-server)',
      'or point REDIS_URL at a running Redis: REDIS_URL=redis://host:6379 npm run demo',
      '',
    ].join('\n'));
    return 1;
  }

  const repo = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
  const partnersDir = join(repo, 'partners');
  const work = mkdtempSync(join(tmpdir(), 'waybill-demo-'));
  const inbound = join(work, 'inbound');
  // A prefix of its own, so the demo never mixes with a gateway already using this Redis.
  const prefix = `waybill-demo-${randomBytes(4).toString('hex')}`;
  const config = configSchema.parse({
    dataDir: join(work, 'data'), partnersDir, redisUrl, queuePrefix: prefix,
    http: { port: 0 }, inbound: { folder: inbound, pollMs: 100 }, reloadMs: 0, log: { level: 'silent' },
  });
  out(`Waybill demo: data in ${work}`);
  const gateway = await startGateway(config, silentLogger);
  out(`gateway up at ${gateway.url} (try ${gateway.url}/readyz and ${gateway.url}/metrics while it runs)`);

  const received = new Map<string, Record<string, unknown>>();
  const consumer = consumeEvents({
    connection: redisUrl, prefix,
    handler: async (event) => {
      const e = event as unknown as Record<string, unknown>;
      if (received.has(String(e.id))) return; // at-least-once: deduplicate by event id
      received.set(String(e.id), e);
      out(JSON.stringify(e));
    },
  });

  const files = samples(partnersDir);
  for (const s of files) {
    const dir = join(inbound, s.partner);
    mkdirSync(dir, { recursive: true });
    copyFileSync(s.file, join(dir, basename(s.file)));
  }
  out(`dropped ${files.length} sample file(s) from ${new Set(files.map((f) => f.partner)).size} partner(s) into ${inbound}`);
  out('events received by the example ERP consumer (one JSON object per line):');

  const deadline = Date.now() + 90_000;
  let ok = false;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const stored = await gateway.ledger.listFiles();
    const done = stored.filter((f) => f.state === 'translated' || f.state === 'failed' || f.state === 'duplicate');
    const events = await gateway.ledger.countEvents();
    if (stored.length >= files.length && done.length === stored.length && received.size >= events.total) {
      ok = true;
      break;
    }
  }

  const stats = await gateway.ledger.stats();
  const acks = await gateway.ledger.listOutboundDocuments();
  out('');
  out(`files: ${JSON.stringify(stats.files)}  units: ${JSON.stringify(stats.units)}`);
  out(`events: ${stats.events.total} in the ledger, ${received.size} received by the consumer (${stats.events.duplicateFacts} duplicate facts held back)`);
  for (const a of acks) out(`acknowledgment ${a.kind} for ${a.partner} (file ${a.relatedFileId?.slice(0, 19)}...), ${a.content.split(/~|\n/).length - 1} segments, waiting for delivery`);
  if (Object.keys(stats.errors).length) out(`errors by code: ${JSON.stringify(stats.errors)}`);

  await consumer.close();
  await gateway.stop();
  const cleanup = createConnection(redisUrl, { role: 'producer' });
  for (const name of [INBOUND_QUEUE, EVENTS_QUEUE]) {
    const q = new Queue(name, { connection: cleanup, prefix });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
  // The relay's marker lives outside the queues' key space (relayMarkerKey): every run left one behind.
  await cleanup.del(relayMarkerKey(prefix)).catch(() => undefined);
  cleanup.disconnect();
  if (!flags.keep) rmSync(work, { recursive: true, force: true });
  else out(`kept ${work}`);
  out(ok ? 'demo complete: every sample file processed and every event consumed' : 'demo incomplete: not every file was processed or event consumed within 90 s');
  return ok ? 0 : 1;
}
