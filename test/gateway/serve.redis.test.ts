// `waybill serve` and its HTTP surface (issue 4, "Running it"): a gateway started in-process on port 0
// with temp folders and the shared Redis (own prefix), one pointed at a port where no Redis listens,
// and `waybill serve` / `waybill demo` as real child processes.
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { captureLog } from '../helpers/log.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate214File } from '../../bench/gen-214.mjs';
import { configSchema } from '../../src/gateway/config.js';
import { startGateway, type Gateway } from '../../src/gateway/gateway.js';
import {
  LedgerView, REDIS_URL, WaybillProcess, cleanRedis, dropFile, freePort, genCarrierPartners, repoRoot, sleep, tempDir, uniquePrefix, waitFor,
} from './support.js';

const SAMPLES = {
  csv: join(repoRoot, 'partners/sangamon-valley/samples/svxp_status_20250513_1100.csv'),
  x12: join(repoRoot, 'partners/prairie-line/samples/214-multi-status.edi'),
};


/** A partners folder with copies of the example partners (edited on disk by the reload test). */
function examplePartners(root: string): string {
  for (const p of ['prairie-line', 'sangamon-valley']) cpSync(join(repoRoot, 'partners', p), join(root, p), { recursive: true });
  return root;
}

/** The sample CSV with its PRO numbers changed, so each variant is a new file with new business facts. */
function csvVariant(tag: string): string {
  return readFileSync(SAMPLES.csv, 'utf8').replaceAll('SVX44', `SVX${tag}`);
}

async function getText(url: string): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

describe('gateway in-process, Redis up', () => {
  const dir = tempDir('serve');
  const prefix = uniquePrefix('serve');
  const log = captureLog();
  const inbound = join(dir, 'inbound');
  const partnersDir = examplePartners(join(dir, 'partners'));
  let gw: Gateway;
  let view: LedgerView;

  beforeAll(async () => {
    const config = configSchema.parse({
      dataDir: join(dir, 'data'), partnersDir, redisUrl: REDIS_URL, queuePrefix: prefix, http: { port: 0 },
      // The folder is polled by the test (pollInbound), so "two polls agree" is deterministic here; no
      // settle time on top (test/transports/folder.test.ts covers minAgeSeconds).
      inbound: { folder: inbound, pollMs: 3_600_000, minAgeSeconds: 0 }, reloadMs: 50, log: { level: 'silent' },
    });
    gw = await startGateway(config, log);
    view = new LedgerView(join(dir, 'data', 'ledger.db'));
    await sleep(200); // the transport's first (automatic) poll of the empty folder
  });

  afterAll(async () => {
    view?.close();
    await gw?.stop();
    await cleanRedis(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  const eventsOf = (fileId: string) => view.all<{ id: string; payload: string; published_at: string | null }>('SELECT o.id, p.payload, o.published_at FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq WHERE o.file_id = ? ORDER BY o.seq', fileId)
    .map((r) => ({ ...r, event: JSON.parse(r.payload) as Record<string, unknown> }));
  const translated = (fileId: string) => waitFor(`file ${fileId} translated`, async () => (await gw.ledger.getFile(fileId))?.state === 'translated');

  it('/healthz is 200 and /readyz is 200 with Redis up', async () => {
    const health = await getText(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ ok: true });
    await waitFor('relay connected', () => gw.relay.status().redisReachable);
    const ready = await getText(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = JSON.parse(ready.body) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    expect(body.ready).toBe(true);
    expect(body.checks.redis.ok).toBe(true);
    expect(body.checks.ledger.ok).toBe(true);
  });

  it('does not take a file that is still being written (.part name, or size changing between polls)', async () => {
    const part = join(inbound, 'growing.edi.part');
    writeFileSync(part, readFileSync(SAMPLES.x12).subarray(0, 200));
    expect(await gw.pollInbound()).toBe(0);
    expect(await gw.pollInbound()).toBe(0);
    expect(existsSync(part)).toBe(true);

    // Written in place under its final name: taken only once two polls see the same size and mtime.
    const full = readFileSync(SAMPLES.x12);
    const target = join(inbound, 'growing.edi');
    const chunks: Buffer[] = [];
    for (let i = 0; i < full.length; i += 300) chunks.push(full.subarray(i, i + 300));
    expect(chunks.length).toBeGreaterThan(2);
    writeFileSync(target, chunks[0]);
    rmSync(part);
    for (const chunk of chunks.slice(1)) {
      expect(await gw.pollInbound()).toBe(0);
      appendFileSync(target, chunk);
    }
    expect(readFileSync(target).equals(full)).toBe(true);
    expect(await gw.pollInbound()).toBe(0); // changed since the last poll
    expect(await gw.ledger.listFiles()).toEqual([]);
    expect(await gw.pollInbound()).toBe(1);

    const [file] = await gw.ledger.listFiles();
    expect(file).toMatchObject({ size: full.length, originalName: 'growing.edi', transport: 'folder', partner: null });
    expect(existsSync(target)).toBe(false);
    await translated(file.id);
    expect(eventsOf(file.id).length).toBe(6);
    expect(eventsOf(file.id)[0].event.partner).toBe('prairie-line'); // identified by its ISA sender
  });

  it('attributes a file in inbound/<partner>/ to that partner and archives it after intake', async () => {
    const path = dropFile(join(inbound, 'sangamon-valley'), 'svxp_status_20250513_1100.csv', readFileSync(SAMPLES.csv));
    expect(await gw.pollInbound()).toBe(0); // first sight
    expect(await gw.pollInbound()).toBe(1);
    expect(existsSync(path)).toBe(false);
    const archive = join(inbound, '.archive');
    const days = readdirSync(archive);
    expect(days).toHaveLength(1);
    expect(readFileSync(join(archive, days[0], 'sangamon-valley', 'svxp_status_20250513_1100.csv'))).toEqual(readFileSync(SAMPLES.csv));

    const file = (await gw.ledger.listFiles()).find((f) => f.originalName === 'svxp_status_20250513_1100.csv')!;
    expect(file).toMatchObject({ partner: 'sangamon-valley', transport: 'folder' });
    await translated(file.id);
    const events = eventsOf(file.id);
    expect(events.length).toBe(5); // 6 records, one with a status code the partner's table does not map (fails alone)
    expect((await gw.ledger.units(file.id)).map((u) => u.state)).toEqual(['translated', 'translated', 'translated', 'translated', 'failed', 'translated']);
    for (const e of events) expect(e.event).toMatchObject({ type: 'shipment.status@1', partner: 'sangamon-valley', carrierScac: 'SVXP' });
  });

  it('serves Prometheus metrics: files, events, queue depth, file latency', async () => {
    await waitFor('events published', () => view.events().unpublished === 0 && view.events().total > 0);
    const m = await getText(`${gw.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain/);
    expect(m.body).toMatch(/^# TYPE waybill_files gauge$/m);
    expect(m.body).toMatch(/^waybill_files\{state="translated"\} 2$/m);
    expect(m.body).toMatch(/^waybill_events\{status="published"\} 11$/m);
    expect(m.body).toMatch(/^waybill_events\{status="unpublished"\} 0$/m);
    expect(m.body).toMatch(/^waybill_queue_depth\{queue="waybill-events"\} \d+$/m);
    expect(m.body).toMatch(/^waybill_queue_depth\{queue="waybill-inbound"\} \d+$/m);
    expect(m.body).toMatch(/^# TYPE waybill_file_seconds histogram$/m);
    expect(m.body).toMatch(/^waybill_file_seconds_count 2$/m);
    expect(m.body).toMatch(/^waybill_file_seconds_bucket\{le="\+Inf"\} 2$/m);
    expect(m.body).toMatch(/^waybill_redis_up 1$/m);
    // The process's own metrics, prefixed once.
    expect(m.body).toMatch(/^waybill_process_cpu_seconds_total \d/m);
    expect(m.body).not.toMatch(/waybill_process_process_/);
  });

  it('reloads a partner mapping edited on disk without a restart; a broken edit keeps the previous mapping', async () => {
    const mapping = join(partnersDir, 'sangamon-valley/mappings/status-csv.yaml');
    const original = readFileSync(mapping, 'utf8');
    // Edits land atomically (written beside, renamed over), as an editor or a deployment would.
    const edit = (text: string) => {
      writeFileSync(join(dir, 'mapping.tmp'), text);
      renameSync(join(dir, 'mapping.tmp'), mapping);
    };
    const loads = () => log.entries.filter((l) => l.msg === 'partners loaded').length;
    const take = async (tag: string) => {
      const name = `svxp_status_2025051${tag[0]}_1100.csv`;
      dropFile(join(inbound, 'sangamon-valley'), name, csvVariant(tag));
      await gw.pollInbound();
      expect(await gw.pollInbound()).toBe(1);
      const file = (await gw.ledger.listFiles()).find((f) => f.originalName === name)!;
      await translated(file.id);
      return eventsOf(file.id).map((e) => e.event);
    };

    // A valid edit: the carrier SCAC constant changes.
    let before = loads();
    edit(original.replace('carrierScac: { const: SVXP }', 'carrierScac: { const: SVXZ }'));
    await waitFor('partners reloaded after the edit', () => loads() > before);
    const edited = await take('55');
    expect(edited.length).toBe(5);
    for (const e of edited) expect(e.carrierScac).toBe('SVXZ');

    // A broken edit: an unknown key. The previous (edited) mapping stays; diagnostics are logged.
    before = loads();
    const errorsBefore = log.entries.filter((l) => l.level === 'error').length;
    edit(original.replace('carrierScac: { const: SVXP }', 'carrierScac: { const: SVXY, bogus: 1 }'));
    await waitFor('partners reloaded after the broken edit', () => loads() > before);
    const errors = log.entries.filter((l) => l.level === 'error').slice(errorsBefore);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ msg: 'partner configuration error' });
    expect(String(errors[0].obj.diagnostic)).toMatch(/status-csv\.yaml:\d+:\d+ .*bogus/);
    expect(typeof errors[0].obj.code).toBe('string');
    expect(log.entries.some((l) => l.level === 'warn' && l.msg === 'partner files do not compile; keeping the previous version' && l.obj.partner === 'sangamon-valley')).toBe(true);
    expect(gw.partners.current.get('sangamon-valley')).toBeDefined();
    const kept = await take('66');
    expect(kept.length).toBe(5);
    for (const e of kept) expect(e.carrierScac).toBe('SVXZ');
    edit(original);
  });
});

describe('gateway in-process, Redis unreachable', () => {
  const dir = tempDir('serve-noredis');
  const inbound = join(dir, 'inbound');
  let gw: Gateway;

  beforeAll(async () => {
    const port = await freePort();
    const config = configSchema.parse({
      dataDir: join(dir, 'data'), partnersDir: examplePartners(join(dir, 'partners')), redisUrl: `redis://127.0.0.1:${port}`,
      queuePrefix: uniquePrefix('noredis'), http: { port: 0 }, inbound: { folder: inbound, pollMs: 50, minAgeSeconds: 0.1 }, reloadMs: 0, log: { level: 'silent' },
    });
    gw = await startGateway(config, captureLog());
  });

  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('/readyz is 503 and says Redis is down; files are still taken in and translated, events wait in the outbox', async () => {
    expect((await getText(`${gw.url}/healthz`)).status).toBe(200);
    const ready = await getText(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = JSON.parse(ready.body) as { ready: boolean; checks: Record<string, { ok: boolean; detail: Record<string, unknown> }> };
    expect(body.ready).toBe(false);
    expect(body.checks.redis.ok).toBe(false);
    expect(String(body.checks.redis.detail.error)).toMatch(/redis/i);
    expect(body.checks.ledger.ok).toBe(true);

    dropFile(inbound, 'status.edi', readFileSync(SAMPLES.x12));
    await waitFor('file taken in', async () => (await gw.ledger.listFiles()).length === 1);
    const [file] = await gw.ledger.listFiles();
    await waitFor('file translated in-process', async () => (await gw.ledger.getFile(file.id))?.state === 'translated');
    const events = await gw.ledger.countEvents();
    expect(events).toMatchObject({ total: 6, unpublished: 6, published: 0 });
    // The relay runs on its own thread and reports its state from there: wait for its first failed pass.
    await waitFor('relay reports Redis down', () => gw.relay.status().state === 'waiting-for-redis');
    expect(gw.relay.status()).toMatchObject({ redisReachable: false, state: 'waiting-for-redis' });
    expect(existsSync(join(inbound, 'status.edi'))).toBe(false);

    const m = await getText(`${gw.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/^waybill_redis_up 0$/m);
    expect(m.body).toMatch(/^waybill_events\{status="unpublished"\} 6$/m);
  });

  it('stops cleanly without Redis (BullMQ\'s graceful worker close would wait for Redis for ever)', async () => {
    await gw.stop(); // bounded by the test timeout
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
    expect(await gw.ledger.countEvents().catch((e: Error) => e.message)).toMatch(/not open/);
  });
});

describe('waybill serve and waybill demo as processes', () => {
  const dirs: string[] = [];
  const prefixes: string[] = [];
  const procs: WaybillProcess[] = [];

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill9()));
    for (const p of prefixes) await cleanRedis(p);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('stops cleanly on SIGTERM while a file is being translated: exit 0, the in-flight file finished, "gateway stopped"', async () => {
    const dir = tempDir('sigterm');
    dirs.push(dir);
    const prefix = uniquePrefix('sigterm');
    prefixes.push(prefix);
    genCarrierPartners(join(dir, 'partners'));
    writeFileSync(join(dir, 'waybill.yaml'), [
      'dataDir: data', 'partnersDir: partners', `queuePrefix: ${prefix}`, `redisUrl: ${REDIS_URL}`, 'http: { port: 0 }',
      'inbound: { folder: inbound, pollMs: 100 }', 'translation: { batchSize: 20 }', 'reloadMs: 0', '',
    ].join('\n'));
    mkdirSync(join(dir, 'inbound'));
    await generate214File(join(dir, 'inbound', '.214.tmp'), 3000);
    const gw = WaybillProcess.start(['serve', '--config', join(dir, 'waybill.yaml')], { env: { REDIS_URL: '' } });
    procs.push(gw);
    await gw.started();
    dropFile(join(dir, 'inbound'), '214.edi', { copyFrom: join(dir, 'inbound', '.214.tmp') });
    const view = new LedgerView(join(dir, 'data', 'ledger.db'));
    try {
      await waitFor('translation under way', () => (view.files()[0]?.units_done ?? 0) > 0);
      const { code, signal } = await gw.terminate();
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      const msgs = gw.logLines().map((l) => l.msg);
      expect(msgs).toContain('signal received');
      expect(msgs.at(-1)).toBe('gateway stopped');
      // Graceful: the file whose translation was in flight was finished, not abandoned.
      expect(view.files()[0]).toMatchObject({ state: 'translated', units_done: 3000 });
    } finally {
      view.close();
    }
  });

  it('rejects a bad config file with coded, positioned errors and exit 2', async () => {
    const dir = tempDir('badconfig');
    dirs.push(dir);
    const file = join(dir, 'waybill.yaml');
    writeFileSync(file, 'dataDir: data\nhttp:\n  port: eighty\ninbund:\n  folder: x\n');
    const p = WaybillProcess.start(['serve', '--config', file]);
    procs.push(p);
    expect((await p.exited).code).toBe(2);
    expect(p.output).toContain(`${file}:3:9 CONFIG_INVALID http.port`);
    expect(p.output).toContain(`${file}:4:1 CONFIG_INVALID unknown key 'inbund'`);
    expect(p.output).toContain("did you mean 'inbound'?");
    expect(p.output).not.toContain('gateway started');

    writeFileSync(file, 'http: [\n');
    const q = WaybillProcess.start(['serve', '--config', file]);
    procs.push(q);
    expect((await q.exited).code).toBe(2);
    expect(q.output).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ YAML_SYNTAX`));
  });

  it('exits 2 when its HTTP port is taken, leaving nothing running (it used to hang for ever)', async () => {
    const dir = tempDir('porttaken');
    dirs.push(dir);
    const prefix = uniquePrefix('porttaken');
    prefixes.push(prefix);
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const port = (blocker.address() as { port: number }).port;
      writeFileSync(join(dir, 'waybill.yaml'), [
        'dataDir: data', `partnersDir: ${join(repoRoot, 'partners')}`, `queuePrefix: ${prefix}`, `redisUrl: ${REDIS_URL}`,
        `http: { port: ${port} }`, 'inbound: { folder: inbound }', 'reloadMs: 0', '',
      ].join('\n'));
      const p = WaybillProcess.start(['serve', '--config', join(dir, 'waybill.yaml')]);
      procs.push(p);
      expect(await p.exited).toEqual({ code: 2, signal: null }); // bounded by the test timeout
      expect(p.output).toContain('EADDRINUSE');
      expect(p.logLines().map((l) => l.msg)).toContain('gateway stopped');
    } finally {
      blocker.close();
    }
  });

  it('waybill demo runs the whole flow and exits 0; with no Redis it says how to start one and exits 1', async () => {
    const ok = WaybillProcess.start(['demo'], { env: { REDIS_URL } });
    procs.push(ok);
    const port = await freePort();
    const dead = WaybillProcess.start(['demo'], { env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    procs.push(dead);

    expect((await ok.exited).code).toBe(0);
    expect(ok.output).toContain('demo complete: every sample file processed and every event consumed');
    expect(ok.output).toMatch(/"type":"shipment\.status@1"/);

    expect((await dead.exited).code).toBe(1);
    expect(dead.output).toContain(`Redis is not reachable at redis://127.0.0.1:${port}`);
    expect(dead.output).toContain('redis-server');
    expect(dead.output).toContain('REDIS_URL=');
  });
});
