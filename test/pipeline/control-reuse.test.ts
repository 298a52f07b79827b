// Interchanges that reuse an earlier interchange's control numbers (ISA13/GS06/ST02): another sender
// alias of the partner, or the same sender outside the duplicate window (counters wrap or reset). Their
// events must reach the outbox under ids of their own, deterministically; the ids of events that collide
// with nothing stay as the frozen recipe makes them; a collision that remains is recorded, not silent.
// intake -> processFile -> ledger, no Redis.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventIdFromSource } from '../../src/canonical/index.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import type { PipelineContext } from '../../src/pipeline/context.js';
import { InFlightInterchanges } from '../../src/pipeline/in-flight.js';
import { intake } from '../../src/pipeline/intake.js';
import { processFile } from '../../src/pipeline/process-file.js';
import { captureLog } from '../helpers/log.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** prairie-line's 214 sample: ISA 02/PRLF, ISA13 000002291, GS06 2291, ST02 0001; 6 status events. */
const sample = readFileSync(join(ROOT, 'partners/prairie-line/samples/214-multi-status.edi'), 'latin1');

/** A partners folder where prairie-line also sends as ZZ/PRLFWEST (partner.yaml x12.aliases). */
function partnersWithAlias(dir: string): string {
  const root = join(dir, 'partners');
  cpSync(join(ROOT, 'partners/prairie-line'), join(root, 'prairie-line'), { recursive: true });
  const file = join(root, 'prairie-line/partner.yaml');
  const yaml = readFileSync(file, 'utf8');
  const aliased = yaml.replace('isa: { qualifier: "02", id: PRLF }\n', 'isa: { qualifier: "02", id: PRLF }\n  aliases: [{ qualifier: "ZZ", id: PRLFWEST }]\n');
  if (aliased === yaml) throw new Error('partner.yaml of prairie-line changed; update test/pipeline/control-reuse.test.ts');
  writeFileSync(file, aliased);
  return root;
}

/** Another shipment (PRO, BOL, dates) under the same control numbers; `alias` sends it as ZZ/PRLFWEST. */
function otherShipment(opts: { alias?: boolean } = {}): Buffer {
  let text = sample.replaceAll('0048213377', '0055555555').replaceAll('TCH-BOL-40771', 'TCH-BOL-55555').replaceAll('202504', '202506');
  if (opts.alias) text = text.replace('*02*PRLF           *', '*ZZ*PRLFWEST       *');
  return Buffer.from(text, 'latin1');
}

function setup(duplicates: PipelineContext['duplicates'] = { windowDays: 30, interchange: 'ignore' }, opts: { commitThread?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wb-reuse-'));
  const { registry, diagnostics } = PartnerRegistry.load(partnersWithAlias(dir));
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const ledger = new SqliteLedger(join(dir, 'data', 'ledger.db'), { commitThread: opts.commitThread === true });
  const log = captureLog();
  const ctx: PipelineContext = { dataDir: join(dir, 'data'), ledger, registry: () => registry, log, duplicates, batchSize: 500 };
  const take = async (bytes: Buffer, name: string, over: Partial<PipelineContext> = {}) => {
    const r = await intake({ ...ctx, ...over }, { input: bytes, transport: 'test', originalName: name });
    return { ...r, result: await processFile({ ...ctx, ...over }, r.fileId) };
  };
  const eventsOf = async (fileId: string) => {
    const db = (ledger as unknown as { db: { prepare(s: string): { all(...a: unknown[]): unknown[] } } }).db;
    const rows = db.prepare('SELECT o.id, p.payload FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq WHERE o.file_id = ? ORDER BY o.seq').all(fileId);
    return (rows as Array<{ id: string; payload: string }>).map((r) => ({ id: r.id, event: JSON.parse(r.payload) as Record<string, unknown> }));
  };
  /** Takes the files in, then translates them all at the same moment (as translation.concurrency > 1 does). */
  const takeTogether = async (files: { bytes: Buffer; name: string }[], over: Partial<PipelineContext> = {}) => {
    const taken = [];
    for (const f of files) taken.push(await intake({ ...ctx, ...over }, { input: f.bytes, transport: 'test', originalName: f.name }));
    const results = await Promise.all(taken.map((t) => processFile({ ...ctx, ...over }, t.fileId)));
    return taken.map((t, i) => ({ ...t, result: results[i] }));
  };
  return { ctx, ledger, log, take, takeTogether, eventsOf };
}

/** The frozen recipe's id for the sample's transaction, event `index`. */
const plainId = (index: number) => eventIdFromSource('prairie-line', {
  format: 'x12', interchangeControlNumber: '000002291', groupControlNumber: '2291', transactionControlNumber: '0001', index,
});

describe('an interchange reusing the control numbers of an earlier one of the same partner', () => {
  it('from another sender alias: its events reach the outbox under ids of their own; the first interchange keeps the frozen ids', async () => {
    const { ledger, take, eventsOf } = setup();
    const a = await take(Buffer.from(sample, 'latin1'), 'a.edi');
    expect(a.result).toMatchObject({ state: 'translated', newEvents: 6, acks: 1 });
    expect((await eventsOf(a.fileId)).map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5].map(plainId));

    const b = await take(otherShipment({ alias: true }), 'b.edi');
    expect(b.result).toMatchObject({ state: 'translated', units: 1, newEvents: 6, duplicateFacts: 0, acks: 1 });
    const events = await eventsOf(b.fileId);
    expect(events).toHaveLength(6);
    expect(events.every((e) => (e.event.references as { proNumber?: string }).proNumber === '0055555555')).toBe(true);
    expect(new Set([...events.map((e) => e.id), ...[0, 1, 2, 3, 4, 5].map(plainId)]).size).toBe(12);
    // Each event's id is the one it carries.
    expect(events.every((e) => e.event.id === e.id)).toBe(true);
    expect(await ledger.countEvents()).toMatchObject({ total: 12 });
    expect((await ledger.units(b.fileId)).map((u) => [u.state, u.errors])).toEqual([['translated', []]]);
  });

  it('the same with the ledger committing on its own thread (as in the gateway), a remaining collision included', async () => {
    const { ledger, take, eventsOf } = setup(undefined, { commitThread: true });
    try {
      await take(Buffer.from(sample, 'latin1'), 'a.edi');
      const b = await take(otherShipment({ alias: true }), 'b.edi');
      expect(b.result).toMatchObject({ state: 'translated', newEvents: 6, acks: 1 });
      expect((await eventsOf(b.fileId)).map((e) => e.id).filter((id) => [0, 1, 2, 3, 4, 5].map(plainId).includes(id))).toEqual([]);
      // c, another shipment again, sees nothing recorded (a and b still committing, as it were).
      const blind: Ledger = Object.assign(Object.create(ledger) as Ledger, {
        interchangesWithControl: async () => [], priorInterchange: async () => ({ duplicateOf: null }),
      });
      const c = await take(Buffer.from(`${otherShipment().toString('latin1').replaceAll('0055555555', '0066666666')}`, 'latin1'), 'c.edi', { ledger: blind });
      expect(c.result).toMatchObject({ newEvents: 0, eventIdCollisions: 6 });
      expect((await ledger.units(c.fileId)).map((u) => [u.state, u.errors.map((e) => e.code)])).toEqual([['failed', ['LEDGER_EVENT_ID_TAKEN']]]);
    } finally {
      await ledger.close();
    }
  });

  it('from the same sender outside the duplicate window (windowDays 0): the same', async () => {
    const { ledger, take, eventsOf } = setup({ windowDays: 0, interchange: 'ignore' });
    await take(Buffer.from(sample, 'latin1'), 'f1.edi');
    await new Promise((r) => setTimeout(r, 5));
    const f2 = await take(otherShipment(), 'f2.edi');
    expect(f2.result).toMatchObject({ state: 'translated', newEvents: 6, duplicateFacts: 0, acks: 1 });
    expect((await eventsOf(f2.fileId)).map((e) => e.id).filter((id) => [0, 1, 2, 3, 4, 5].map(plainId).includes(id))).toEqual([]);
    expect(await ledger.countEvents()).toMatchObject({ total: 12 });
  });

  it('inside the window the same sender is still a duplicate (policy), whatever its content', async () => {
    const { ledger, take } = setup({ windowDays: 30, interchange: 'ignore' });
    await take(Buffer.from(sample, 'latin1'), 'f1.edi');
    const f2 = await take(otherShipment(), 'f2.edi');
    expect(f2.result).toMatchObject({ state: 'translated', newEvents: 0, acks: 0 });
    expect((await ledger.units(f2.fileId)).map((u) => u.state)).toEqual(['duplicate']);
  });

  it('the same business facts resent outside the window are flagged as duplicate facts, not emitted again', async () => {
    const { ledger, take } = setup({ windowDays: 0, interchange: 'ignore' });
    await take(Buffer.from(sample, 'latin1'), 'f1.edi');
    await new Promise((r) => setTimeout(r, 5));
    const again = await take(Buffer.from(`${sample}\n`, 'latin1'), 'resent.edi');
    expect(again.result).toMatchObject({ state: 'translated', newEvents: 0, duplicateFacts: 6 });
    expect(await ledger.countEvents()).toMatchObject({ total: 6 });
  });

  it('is deterministic: translated again from the start (a crash after its batch committed), it gets the same ids', async () => {
    const { ctx, ledger, take, eventsOf } = setup();
    await take(Buffer.from(sample, 'latin1'), 'a.edi');
    const b = await take(otherShipment({ alias: true }), 'b.edi');
    const ids = (await eventsOf(b.fileId)).map((e) => e.id);
    // As if the process died after the batch committed and before the file finished: translated again from unit 0.
    await ledger.setFileState(b.fileId, 'translating');
    const db = (ledger as unknown as { db: { prepare(s: string): { run(...a: unknown[]): void } } }).db;
    db.prepare('UPDATE files SET units_done = 0 WHERE id = ?').run(b.fileId);
    const again = await processFile(ctx, b.fileId);
    expect(again).toMatchObject({ state: 'translated', newEvents: 0 });
    expect((await eventsOf(b.fileId)).map((e) => e.id)).toEqual(ids);
    expect(await ledger.countEvents()).toMatchObject({ total: 12 });
    // The decision was recorded with the interchange: it holds even if the first file were gone from view.
    const hidden: Ledger = Object.assign(Object.create(ledger) as Ledger, {
      interchangesWithControl: async (control: string) => (await ledger.interchangesWithControl(control)).filter((r) => r.fileId === b.fileId),
    });
    await ledger.setFileState(b.fileId, 'translating');
    db.prepare('UPDATE files SET units_done = 0 WHERE id = ?').run(b.fileId);
    expect(await processFile({ ...ctx, ledger: hidden }, b.fileId)).toMatchObject({ state: 'translated', newEvents: 0 });
    expect(await ledger.countEvents()).toMatchObject({ total: 12 });
  });

  it('an earlier interchange recorded before the ledger kept partners (migration 6) counts by its sender id', async () => {
    const { ledger, take, eventsOf } = setup();
    await take(Buffer.from(sample, 'latin1'), 'a.edi');
    const db = (ledger as unknown as { db: { prepare(s: string): { run(...a: unknown[]): void } } }).db;
    db.prepare('UPDATE interchanges SET partner = NULL, interchange_reuse = NULL').run();
    const b = await take(otherShipment({ alias: true }), 'b.edi');
    expect(b.result).toMatchObject({ newEvents: 6, eventIdCollisions: 0 });
    expect((await eventsOf(b.fileId)).map((e) => e.id).filter((id) => [0, 1, 2, 3, 4, 5].map(plainId).includes(id))).toEqual([]);
  });

  it('an earlier interchange of another partner under the same ISA13 changes nothing: the frozen ids', async () => {
    const { take, eventsOf } = setup();
    const stranger = sample.replace('*02*PRLF           *', '*02*NOBODY         *');
    const s = await take(Buffer.from(stranger, 'latin1'), 'stranger.edi'); // unidentified: not recorded, the file fails
    expect(s.result.newEvents).toBe(0);
    const a = await take(Buffer.from(sample, 'latin1'), 'a.edi');
    expect((await eventsOf(a.fileId)).map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5].map(plainId));
  });

  it('two interchanges of one file, from two aliases, with the same control numbers: both translated, each under its own ids', async () => {
    const { ledger, take, eventsOf } = setup();
    const both = await take(Buffer.concat([Buffer.from(sample, 'latin1'), otherShipment({ alias: true })]), 'both.edi');
    expect(both.result).toMatchObject({ state: 'translated', units: 2, newEvents: 12, acks: 2 });
    const ids = (await eventsOf(both.fileId)).map((e) => e.id);
    expect(ids.slice(0, 6)).toEqual([0, 1, 2, 3, 4, 5].map(plainId));
    expect(new Set(ids).size).toBe(12);
    expect(await ledger.countEvents()).toMatchObject({ total: 12 });
  });

  it('a collision that remains (both translated at the same moment, neither saw the other) is recorded on the unit, counted and logged', async () => {
    const { ledger, log, take } = setup();
    await take(Buffer.from(sample, 'latin1'), 'a.edi');
    // b's translation does not see a's interchange (as when a's batch was still committing).
    const blind: Ledger = Object.assign(Object.create(ledger) as Ledger, { interchangesWithControl: async () => [] });
    const b = await take(otherShipment({ alias: true }), 'b.edi', { ledger: blind });
    expect(b.result).toMatchObject({ state: 'translated', newEvents: 0, eventIdCollisions: 6 });
    const [unit] = await ledger.units(b.fileId);
    expect(unit.state).toBe('failed');
    expect(unit.errors.map((e) => e.code)).toEqual(['LEDGER_EVENT_ID_TAKEN']);
    expect(unit.errors[0].message).toContain(plainId(0));
    expect((await ledger.stats()).errors).toMatchObject({ LEDGER_EVENT_ID_TAKEN: 1 });
    expect(log.entries.filter((e) => e.level === 'warn' && e.obj.code === 'LEDGER_EVENT_ID_TAKEN')).toHaveLength(1);
    expect(log.entries.find((e) => e.msg === 'file translated' && e.obj.fileId === b.fileId)?.obj).toMatchObject({ eventIdCollisions: 6 });
  });

  it('two files reusing control numbers, translated at the same moment in one process: each sees the other\'s claim, no event is lost', async () => {
    const { ledger, takeTogether, eventsOf } = setup();
    const inFlight = new InFlightInterchanges();
    const taken = await takeTogether([{ bytes: Buffer.from(sample, 'latin1'), name: 'a.edi' }, { bytes: otherShipment({ alias: true }), name: 'b.edi' }], { inFlight });
    for (const t of taken) expect(t.result).toMatchObject({ state: 'translated', newEvents: 6, eventIdCollisions: 0 });
    // Whichever claimed first (the order the two reach their ISA is not fixed) keeps the frozen ids; the other gets its id part.
    const plain = [0, 1, 2, 3, 4, 5].map(plainId);
    const ids = await Promise.all(taken.map(async (t) => (await eventsOf(t.fileId)).map((e) => e.id)));
    const first = ids.findIndex((list) => list.join() === plain.join());
    expect(first).toBeGreaterThanOrEqual(0);
    const second = taken[1 - first];
    expect(ids[1 - first].filter((id) => plain.includes(id))).toEqual([]);
    expect(await ledger.countEvents()).toMatchObject({ total: 12 });
    expect((await ledger.units(second.fileId)).map((u) => [u.state, u.errors])).toEqual([['translated', []]]);
    // The decision is recorded as usual: the second's interchange carries its id part.
    expect((await ledger.interchangesWithControl('000002291')).map((r) => [r.fileId, r.interchangeReuse]).sort()).toEqual([
      [taken[first].fileId, null], [second.fileId, `${second.fileId}#0`],
    ].sort());
    expect(inFlight.files).toBe(0);
  });

  it('the same interchange in two files translated at the same moment in one process: the second claimed is a duplicate', async () => {
    const { ledger, takeTogether } = setup();
    const inFlight = new InFlightInterchanges();
    const taken = await takeTogether([{ bytes: Buffer.from(sample, 'latin1'), name: 'a.edi' }, { bytes: Buffer.from(`${sample}\n`, 'latin1'), name: 'resent.edi' }], { inFlight });
    // Either may claim first: one is translated and acknowledged, the other is the duplicate.
    const results = taken.map((t) => t.result).sort((x, y) => y.newEvents - x.newEvents);
    expect(results[0]).toMatchObject({ state: 'translated', newEvents: 6, acks: 1 });
    expect(results[1]).toMatchObject({ state: 'translated', newEvents: 0, eventIdCollisions: 0, acks: 0 });
    const units = await Promise.all(taken.map(async (t) => (await ledger.units(t.fileId)).map((u) => u.state)));
    expect(units.map((u) => u.join()).sort()).toEqual(['duplicate', 'translated']);
    expect(inFlight.files).toBe(0);
  });

  it('a file whose translation throws lets go of its claims', async () => {
    const { ledger, take } = setup();
    const inFlight = new InFlightInterchanges();
    const failing: Ledger = Object.assign(Object.create(ledger) as Ledger, {
      finishFile: async () => { throw new Error('disk full'); },
    });
    await expect(take(Buffer.from(sample, 'latin1'), 'a.edi', { ledger: failing, inFlight })).rejects.toThrow('disk full');
    expect(inFlight.files).toBe(0);
  });

  it('the same interchange in two files translated at the same moment (a duplicate both missed) stays one event each, with no finding', async () => {
    const { ledger, take } = setup();
    await take(Buffer.from(sample, 'latin1'), 'a.edi');
    const blind: Ledger = Object.assign(Object.create(ledger) as Ledger, {
      interchangesWithControl: async () => [], priorInterchange: async () => ({ duplicateOf: null }),
    });
    const b = await take(Buffer.from(`${sample}\n`, 'latin1'), 'resent.edi', { ledger: blind });
    expect(b.result).toMatchObject({ state: 'translated', newEvents: 0 });
    expect((await ledger.units(b.fileId)).map((u) => [u.state, u.errors])).toEqual([['translated', []]]);
    expect(await ledger.countEvents()).toMatchObject({ total: 6 });
  });
});
