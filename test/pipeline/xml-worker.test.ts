// The gateway's XML translation on a worker thread (src/pipeline/xml-worker.ts): the main thread's event
// loop keeps running while a large XML file translates, the ledger gets what main-thread translation
// gave, and a worker that fails makes a coded failed unit and a failed file, never a lost one.
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import { generateXmlInvoiceFile } from '../../bench/gen-xml-invoice.mjs';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import type { Logger, PipelineContext } from '../../src/pipeline/context.js';
import { intake } from '../../src/pipeline/intake.js';
import { processFile } from '../../src/pipeline/process-file.js';
import { translateXmlFileInWorker } from '../../src/pipeline/xml-worker.js';

const partnersDir = new URL('../../partners', import.meta.url).pathname;
const sample = readFileSync(join(partnersDir, 'sangamon-valley/samples/svxp_invoice_SVX-INV-0051877.xml'));

interface Logged { level: string; obj: Record<string, unknown>; msg?: string }

function setup(opts: { partners?: string; xmlWorker?: PipelineContext['xmlWorker']; commitThread?: boolean } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'wb-xmlw-'));
  const ledger = new SqliteLedger(join(dataDir, 'ledger.db'), { commitThread: opts.commitThread ?? false });
  const { registry } = PartnerRegistry.load(opts.partners ?? partnersDir);
  const logged: Logged[] = [];
  const log: Logger = {
    info: (obj, msg) => logged.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => logged.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => logged.push({ level: 'error', obj, msg }),
  };
  const ctx: PipelineContext = {
    dataDir, ledger, registry: () => registry, log, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 500,
    now: () => new Date('2025-05-14T12:00:00Z'), xmlWorker: opts.xmlWorker,
  };
  const take = async (input: Buffer | { path: string }, name: string) => {
    const r = await intake(ctx, { input, transport: 'test', originalName: name, partner: 'sangamon-valley' });
    return { fileId: r.fileId, result: await processFile(ctx, r.fileId) };
  };
  return { ctx, ledger, logged, take, dataDir, registry };
}

/** What the ledger holds for a file: its state and errors, its units, its events' JSON. */
async function recorded(ledger: SqliteLedger, fileId: string) {
  const file = await ledger.getFile(fileId);
  const units = (await ledger.units(fileId)).map((u) => ({ label: u.label, state: u.state, errors: u.errors, references: u.references }));
  const events = (await ledger.unpublished(10)).filter((e) => e.fileId === fileId).map((e) => ({ id: e.id, type: e.type, payload: e.payload }));
  return { state: file?.state, errors: file?.errors ?? [], units, events };
}

describe('gateway XML translation on a worker thread', () => {
  it('keeps the event loop turning while a 19.9 MB invoice translates (on the main thread it stood still for seconds)', async () => {
    const { ledger, take, dataDir } = setup({ commitThread: true });
    try {
      const file = join(dataDir, 'svxp_invoice_big.xml');
      const charges = 137_000;
      expect(generateXmlInvoiceFile(file, charges)).toBeGreaterThan(19_000_000);
      // The largest gap between two turns of a 10 ms timer while the file is taken in and translated.
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      let result;
      try {
        ({ result } = await take({ path: file }, 'svxp_invoice_big.xml'));
      } finally {
        delay.disable();
      }
      const maxGap = delay.max / 1e6 + 10;
      expect(result).toMatchObject({ state: 'translated', units: 1, newEvents: 1 });
      const [event] = (await ledger.unpublished(10)).map((e) => JSON.parse(e.payload) as { charges: unknown[]; references: Record<string, unknown> });
      expect(event.charges).toHaveLength(charges);
      expect(event.references).toMatchObject({ invoiceNumber: 'SVX-INV-0051877', proNumber: 'SVX4410287' });
      // Generous: translating the file takes seconds of CPU; what stays on the main thread is taking in
      // the file and committing one (large) event.
      expect(maxGap).toBeLessThan(1000);
    } finally {
      await ledger.close();
      rmSync(dataDir, { recursive: true, force: true }); // 40 MB: the file and its stored copy
    }
  });

  it('records what main-thread translation records: units, events, references', async () => {
    const inWorker = setup({ xmlWorker: { minBytes: 0 } });
    const inline = setup({ xmlWorker: { minBytes: Number.MAX_SAFE_INTEGER } });
    const a = await inWorker.take(sample, 'svxp_invoice_SVX-INV-0051877.xml');
    const b = await inline.take(sample, 'svxp_invoice_SVX-INV-0051877.xml');
    expect(a.result).toEqual(b.result);
    const worker = await recorded(inWorker.ledger, a.fileId);
    expect(worker).toEqual(await recorded(inline.ledger, b.fileId));
    expect(worker.events).toHaveLength(1);
    expect(inWorker.logged.filter((l) => l.level !== 'info')).toEqual([]);
    // A document the reader refuses is the same rejected unit too.
    const bad = Buffer.from('<Invoice><Terms>PREPAID</Invoice>');
    const c = await inWorker.take(bad, 'svxp_invoice_bad.xml');
    const d = await inline.take(bad, 'svxp_invoice_bad.xml');
    expect(await recorded(inWorker.ledger, c.fileId)).toEqual(await recorded(inline.ledger, d.fileId));
    expect((await recorded(inWorker.ledger, c.fileId)).units[0]).toMatchObject({ state: 'rejected', errors: [{ code: 'XML_MALFORMED' }] });
  });

  it('a worker that crashes (out of memory) fails the unit and the file with TRANSLATION_WORKER_FAILED', async () => {
    const { ledger, take, logged, dataDir } = setup({ xmlWorker: { minBytes: 0, resourceLimits: { maxOldGenerationSizeMb: 16 } } });
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const file = join(dataDir, 'svxp_invoice_many.xml');
    generateXmlInvoiceFile(file, 40_000);
    const { fileId, result } = await take({ path: file }, 'svxp_invoice_many.xml');
    expect(result).toMatchObject({ state: 'failed', units: 1, newEvents: 0 });
    const r = await recorded(ledger, fileId);
    expect(r.state).toBe('failed');
    expect(r.errors).toEqual([expect.objectContaining({ code: 'TRANSLATION_WORKER_FAILED', message: expect.stringMatching(/memory limit/) })]);
    expect(r.units).toEqual([expect.objectContaining({ label: 'svxp_invoice_many.xml', state: 'failed', errors: [expect.objectContaining({ code: 'TRANSLATION_WORKER_FAILED' })] })]);
    expect(r.events).toEqual([]);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'error', obj: expect.objectContaining({ fileId, code: 'TRANSLATION_WORKER_FAILED' }) }));
  });

  it('an error thrown in the worker is a TRANSLATION_WORKER_FAILED outcome, not a rejection', async () => {
    const { registry } = setup();
    const partner = registry.get('sangamon-valley')!;
    const outcome = await translateXmlFileInWorker('/nonexistent/svxp_invoice_1.xml', partner, { fileId: 'sha256-x', receivedAt: '2025-05-14T12:00:00Z' });
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'TRANSLATION_WORKER_FAILED', message: expect.stringMatching(/ENOENT/) } });
  });

  it('translates on the main thread when the partner\'s files changed since the gateway loaded them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-xmlw-partners-'));
    cpSync(join(partnersDir, 'sangamon-valley'), join(root, 'sangamon-valley'), { recursive: true });
    const { ledger, take, logged } = setup({ partners: root, xmlWorker: { minBytes: 0 } });
    // Edited after the load (a later modification time): the worker's compile would not be the gateway's partner.
    const mapping = join(root, 'sangamon-valley/mappings/invoice-xml.yaml');
    utimesSync(mapping, new Date(), new Date(Date.now() + 60_000));
    const { fileId, result } = await take(sample, 'svxp_invoice_SVX-INV-0051877.xml');
    expect(result).toMatchObject({ state: 'translated', units: 1, newEvents: 1 });
    expect((await recorded(ledger, fileId)).units).toEqual([expect.objectContaining({ state: 'translated', errors: [] })]);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'warn', obj: expect.objectContaining({ fileId, reason: 'the partner\'s files changed since it was loaded' }) }));
  });
});
