// The local inbound folder poller (src/transports/folder/folder.ts) on a real temp folder. Most tests
// drive poll() by hand with an injected clock, so the settle time and the retry backoff are exact and
// cost no waiting; one runs the poller on its own timer against a writer that pauses mid-file.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/gateway/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import type { Dispatcher, PipelineContext } from '../../src/pipeline/context.js';
import { storeFile } from '../../src/pipeline/file-store.js';
import { intake } from '../../src/pipeline/intake.js';
import { processFile } from '../../src/pipeline/process-file.js';
import { FOLDER_DEFAULTS, FolderTransport, type FolderTransportOptions, type InboundFile } from '../../src/transports/folder/folder.js';
import { captureLog } from '../helpers/log.js';


const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An X12-looking payload of a few hundred bytes; its content does not matter to the poller. */
const FULL = Buffer.from(`ISA*00*          *00*          *02*PRLF           *ZZ*WAYBILL        *250513*1100*U*00401*000000123*0*P*>~${'B10*PRO*BOL*PRLF~'.repeat(40)}IEA*1*000000123~`);
const HALF = FULL.subarray(0, 454);

let dir: string;
let inbound: string;
let clock: number;
let taken: Array<{ file: InboundFile; bytes: Buffer }>;
let log: ReturnType<typeof captureLog>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'waybill-folder-'));
  inbound = join(dir, 'inbound');
  mkdirSync(inbound);
  clock = 1_000_000;
  taken = [];
  log = captureLog();
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A poller on the test clock; `take` records what it read unless given another. */
function transport(opts: Partial<FolderTransportOptions> = {}): FolderTransport {
  return new FolderTransport({
    folder: inbound, pollMs: 3_600_000, afterIntake: 'archive', log, now: () => clock,
    take: async (file) => { taken.push({ file, bytes: readFileSync(file.path) }); },
    ...opts,
  });
}

const archived = () => (existsSync(join(inbound, '.archive')) ? readdirSync(join(inbound, '.archive'), { recursive: true, encoding: 'utf8' }) : []);

describe('inbound folder: settle time (minAgeSeconds)', () => {
  it('does not take a file written in place whose writer paused: size and mtime must hold for minAgeSeconds, not just two polls', async () => {
    const t = transport({ minAgeSeconds: 2 });
    const target = join(inbound, 'tender.edi');
    writeFileSync(target, HALF); // the writer wrote 454 bytes, then paused
    expect(await t.poll()).toBe(0); // first sight
    clock += 500;
    expect(await t.poll()).toBe(0); // two polls agree, but it has been stable only 0.5 s
    clock += 1_000;
    expect(await t.poll()).toBe(0); // 1.5 s: still younger than 2 s
    appendFileSync(target, FULL.subarray(HALF.length)); // the writer resumes and finishes
    clock += 500;
    expect(await t.poll()).toBe(0); // changed: its settle time starts again
    clock += 1_999;
    expect(await t.poll()).toBe(0);
    expect(taken).toEqual([]);
    clock += 1;
    expect(await t.poll()).toBe(1);
    expect(taken).toHaveLength(1);
    expect(taken[0].bytes.equals(FULL)).toBe(true);
    expect(taken[0].file).toMatchObject({ name: 'tender.edi', partner: null, size: FULL.length });
    expect(existsSync(target)).toBe(false);
    expect(archived()).toContain(join(new Date().toISOString().slice(0, 10), 'tender.edi'));
  });

  it('uses the default settle time when none is given, and the gateway config has the same defaults', async () => {
    expect(FOLDER_DEFAULTS.minAgeSeconds).toBeGreaterThanOrEqual(2);
    expect(configSchema.parse({}).inbound).toMatchObject({ minAgeSeconds: FOLDER_DEFAULTS.minAgeSeconds, retry: FOLDER_DEFAULTS.retry });
    const t = transport();
    writeFileSync(join(inbound, 'a.edi'), FULL);
    expect(await t.poll()).toBe(0);
    clock += FOLDER_DEFAULTS.minAgeSeconds * 1000 - 1;
    expect(await t.poll()).toBe(0);
    clock += 1;
    expect(await t.poll()).toBe(1);
  });

  it('with minAgeSeconds 0 still needs two polls that agree (the stability check stays)', async () => {
    const t = transport({ minAgeSeconds: 0 });
    mkdirSync(join(inbound, 'sangamon-valley'));
    writeFileSync(join(inbound, 'sangamon-valley', 'status.csv'), 'a,b\n1,2\n');
    writeFileSync(join(inbound, 'growing.edi.part'), HALF); // temporary names are never taken
    writeFileSync(join(inbound, '.hidden.edi'), HALF);
    expect(await t.poll()).toBe(0);
    expect(await t.poll()).toBe(1);
    expect(taken.map((x) => x.file)).toEqual([expect.objectContaining({ name: 'status.csv', partner: 'sangamon-valley' })]);
    expect(await t.poll()).toBe(0);
    expect(existsSync(join(inbound, 'growing.edi.part'))).toBe(true);
  });

  it('takes the whole file from a writer that pauses mid-file (poller on its own timer, real clock)', async () => {
    const t = new FolderTransport({
      folder: inbound, pollMs: 20, afterIntake: 'delete', minAgeSeconds: 1, log,
      take: async (file) => { taken.push({ file, bytes: readFileSync(file.path) }); },
    });
    await t.start();
    try {
      const target = join(inbound, 'paused.edi');
      writeFileSync(target, HALF);
      await sleep(200); // ten polls see the same size and mtime: enough for "two polls agree" alone
      expect(taken).toEqual([]);
      appendFileSync(target, FULL.subarray(HALF.length));
      const deadline = Date.now() + 10_000;
      while (existsSync(target) && Date.now() < deadline) await sleep(20);
      expect(taken.map((x) => x.bytes.length)).toEqual([FULL.length]);
      expect(existsSync(target)).toBe(false);
    } finally {
      await t.stop();
    }
  });

  it('leaves a file that changed while it was taken in (writer still had it open), and takes it again once settled', async () => {
    const target = join(inbound, 'open.edi');
    let first = true;
    const t = transport({
      minAgeSeconds: 1,
      take: async (file) => {
        taken.push({ file, bytes: readFileSync(file.path) });
        if (first) appendFileSync(target, FULL.subarray(HALF.length)); // the writer goes on meanwhile
        first = false;
      },
    });
    writeFileSync(target, HALF);
    expect(await t.poll()).toBe(0);
    clock += 1_000;
    expect(await t.poll()).toBe(1); // taken (a partial copy) ...
    expect(existsSync(target)).toBe(true); // ... but not archived: it changed during intake
    expect(archived()).toEqual([]);
    expect(log.entries.filter((e) => e.obj.code === 'FOLDER_FILE_CHANGED')).toEqual([
      expect.objectContaining({ level: 'warn', obj: expect.objectContaining({ name: 'open.edi', sizeTaken: HALF.length, sizeNow: FULL.length }) }),
    ]);
    expect(await t.poll()).toBe(0); // settles again first
    clock += 1_000;
    expect(await t.poll()).toBe(1);
    expect(taken.map((x) => x.bytes.length)).toEqual([HALF.length, FULL.length]);
    expect(existsSync(target)).toBe(false);
  });
});

describe('inbound folder: failed intake is retried with backoff', () => {
  it('retries a failed intake without the file changing (data/tmp a plain file, then restored), logging FOLDER_INTAKE_FAILED', async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'tmp'), 'not a folder'); // storeFile's mkdir fails: EEXIST
    const errors: Array<{ file: InboundFile | null; err: Error }> = [];
    const t = transport({
      minAgeSeconds: 0, retry: { baseSeconds: 1, maxSeconds: 60 },
      take: async (file) => { await storeFile(dataDir, { path: file.path }); taken.push({ file, bytes: readFileSync(file.path) }); },
      onError: (file, err) => errors.push({ file, err }),
    });
    writeFileSync(join(inbound, 'retry.edi'), FULL);
    expect(await t.poll()).toBe(0);
    expect(await t.poll()).toBe(0); // intake fails
    const failed = log.entries.filter((e) => e.obj.code === 'FOLDER_INTAKE_FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 'error', obj: { name: 'retry.edi', path: join(inbound, 'retry.edi'), attempt: 1, retryInMs: 1000 } });
    expect(String(failed[0].obj.err)).toMatch(/EEXIST/);
    expect(errors.map((e) => e.file?.name)).toEqual(['retry.edi']);

    expect(await t.poll()).toBe(0); // backing off: not tried again yet
    expect(log.entries.filter((e) => e.obj.code === 'FOLDER_INTAKE_FAILED')).toHaveLength(1);

    rmSync(join(dataDir, 'tmp'));
    mkdirSync(join(dataDir, 'tmp')); // the fault is repaired; the file has not changed
    clock += 1_000;
    expect(await t.poll()).toBe(1);
    expect(taken.map((x) => x.file.name)).toEqual(['retry.edi']);
    expect(existsSync(join(inbound, 'retry.edi'))).toBe(false);
    expect(readdirSync(join(dataDir, 'files'), { recursive: true }).length).toBeGreaterThan(0);
  });

  it('backs off 1 s doubling to maxSeconds, and a file that changes is tried again once settled', async () => {
    let failing = true;
    const t = transport({
      minAgeSeconds: 0, retry: { baseSeconds: 1, maxSeconds: 60 },
      take: async (file) => {
        if (failing) throw new Error('disk full');
        taken.push({ file, bytes: readFileSync(file.path) });
      },
    });
    writeFileSync(join(inbound, 'x.edi'), HALF);
    await t.poll();
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const before = log.entries.length;
      await t.poll();
      const entry = log.entries.slice(before).find((e) => e.obj.code === 'FOLDER_INTAKE_FAILED');
      expect(entry, `attempt ${i + 1}`).toBeDefined();
      delays.push(entry!.obj.retryInMs as number);
      clock += (entry!.obj.retryInMs as number) - 1;
      await t.poll(); // 1 ms early: no attempt
      expect(log.entries.length).toBe(before + 1);
      clock += 1;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    expect(log.entries.every((e) => e.obj.err === 'disk full' && e.obj.name === 'x.edi')).toBe(true);

    // A changed file starts over: settle (two polls) and no backoff.
    failing = false;
    appendFileSync(join(inbound, 'x.edi'), FULL.subarray(HALF.length));
    expect(await t.poll()).toBe(0);
    expect(await t.poll()).toBe(1);
    expect(taken[0].bytes.equals(FULL)).toBe(true);
  });

  it('a file whose archive fails is not taken in again; only the archive is retried (FOLDER_AFTER_INTAKE_FAILED)', async () => {
    writeFileSync(join(inbound, '.archive'), 'in the way'); // mkdir under it fails
    const t = transport({ minAgeSeconds: 0, retry: { baseSeconds: 0.5, maxSeconds: 1 } });
    writeFileSync(join(inbound, 'a.edi'), FULL);
    expect(await t.poll()).toBe(0);
    expect(await t.poll()).toBe(1);
    expect(existsSync(join(inbound, 'a.edi'))).toBe(true);
    const failed = log.entries.filter((e) => e.obj.code === 'FOLDER_AFTER_INTAKE_FAILED');
    expect(failed).toEqual([expect.objectContaining({ level: 'error', obj: expect.objectContaining({ name: 'a.edi', attempt: 1, retryInMs: 500 }) })]);
    clock += 500;
    expect(await t.poll()).toBe(0); // fails again, without a second intake
    expect(log.entries.filter((e) => e.obj.code === 'FOLDER_AFTER_INTAKE_FAILED').map((e) => e.obj.retryInMs)).toEqual([500, 1000]);
    rmSync(join(inbound, '.archive'));
    clock += 1_000;
    expect(await t.poll()).toBe(0);
    expect(taken).toHaveLength(1);
    expect(existsSync(join(inbound, 'a.edi'))).toBe(false);
    expect(archived()).toContain(join(new Date().toISOString().slice(0, 10), 'a.edi'));
  });
});

describe('inbound folder into the pipeline: a file refused for the folder it was dropped in can be dropped again the right way', () => {
  const ROOT = new URL('../../', import.meta.url).pathname;
  const { registry } = PartnerRegistry.load(join(ROOT, 'partners'));

  /** The poller wired as the gateway wires it (intake), with translation run at once by the dispatcher. */
  function gatewayFolder() {
    const dataDir = join(dir, 'data');
    const ledger = new SqliteLedger(join(dataDir, 'ledger.db'));
    const ctx: PipelineContext & { dispatcher: Dispatcher } = {
      dataDir, ledger, registry: () => registry, log, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 500,
      dispatcher: { dispatch: async (fileId) => { await processFile(ctx, fileId); } },
    };
    const t = transport({
      minAgeSeconds: 0,
      take: async (f) => { await intake(ctx, { input: { path: f.path }, transport: 'folder', originalName: f.name, originalPath: f.path, partner: f.partner }); },
    });
    /** Drops a file and polls until it is taken (two polls agree, then it is taken). */
    const drop = async (sub: string | null, name: string, bytes: Buffer) => {
      const folder = sub ? join(inbound, sub) : inbound;
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, name), bytes);
      expect(await t.poll()).toBe(0);
      expect(await t.poll()).toBe(1);
      expect(existsSync(join(folder, name))).toBe(false);
    };
    return { ledger, drop };
  }

  it('X12 in a mistyped partner folder fails (PARTNER_ACCOUNT_MISMATCH); the same file dropped at the root is translated', async () => {
    const { ledger, drop } = gatewayFolder();
    const edi = readFileSync(join(ROOT, 'partners/prairie-line/samples/214-multi-status.edi'));
    await drop('prairie_line', '214.edi', edi);
    const [file] = await ledger.listFiles();
    expect(file).toMatchObject({ state: 'failed', partner: 'prairie_line', errors: [expect.objectContaining({ code: 'PARTNER_ACCOUNT_MISMATCH' })] });
    await drop(null, '214.edi', edi);
    expect(await ledger.getFile(file.id)).toMatchObject({ state: 'translated', partner: null, originalPath: join(inbound, '214.edi'), errors: [] });
    expect(await ledger.countEvents()).toMatchObject({ total: 6 });
    expect((await ledger.listOutboundDocuments()).map((d) => [d.partner, d.kind])).toEqual([['prairie-line', '997']]);
    expect((await ledger.arrivals(file.id)).map((a) => [a.outcome, a.partner])).toEqual([['created', 'prairie_line'], ['reopened', null]]);
    expect(log.entries.some((e) => e.msg?.startsWith('failed file taken in again'))).toBe(true);
    await ledger.close();
  });

  it('a CSV at the root fails (PARTNER_UNKNOWN); the same file dropped in its partner\'s folder is translated', async () => {
    const { ledger, drop } = gatewayFolder();
    const csv = readFileSync(join(ROOT, 'partners/sangamon-valley/samples/svxp_status_20250513_1100.csv'));
    await drop(null, 'svxp_status_20250513_1100.csv', csv);
    const [file] = await ledger.listFiles();
    expect(file).toMatchObject({ state: 'failed', errors: [expect.objectContaining({ code: 'PARTNER_UNKNOWN' })] });
    await drop('sangamon-valley', 'svxp_status_20250513_1100.csv', csv);
    expect(await ledger.getFile(file.id)).toMatchObject({ state: 'translated', partner: 'sangamon-valley', errors: [] });
    expect((await ledger.countEvents()).total).toBeGreaterThan(0);
    // Dropped a third time, translated now: nothing new.
    const events = (await ledger.countEvents()).total;
    await drop('sangamon-valley', 'svxp_status_20250513_1100.csv', csv);
    expect((await ledger.countEvents()).total).toBe(events);
    expect((await ledger.arrivals(file.id)).map((a) => a.outcome)).toEqual(['created', 'reopened', 'again']);
    await ledger.close();
  });
});

describe('inbound folder: entries it never takes', () => {
  it('a folder inside a partner folder, and a symbolic link, are said once each (FOLDER_ENTRY_IGNORED), and again once gone and back', async () => {
    const t = transport({ minAgeSeconds: 0 });
    mkdirSync(join(inbound, 'sangamon-valley', '2025'), { recursive: true });
    writeFileSync(join(inbound, 'sangamon-valley', '2025', 'svxp_status_1.csv'), 'a,b\n');
    writeFileSync(join(dir, 'elsewhere.edi'), FULL);
    symlinkSync(join(dir, 'elsewhere.edi'), join(inbound, 'linked.edi'));
    const warned = () => log.entries.filter((e) => e.obj.code === 'FOLDER_ENTRY_IGNORED').map((e) => [e.level, e.obj.path, e.obj.partner]);
    await t.poll();
    await t.poll();
    expect(taken).toEqual([]);
    expect(warned()).toEqual([
      ['warn', join(inbound, 'linked.edi'), null],
      ['warn', join(inbound, 'sangamon-valley', '2025'), 'sangamon-valley'],
    ]);
    // Nothing is moved or deleted: the files stay for the analyst.
    expect(existsSync(join(inbound, 'sangamon-valley', '2025', 'svxp_status_1.csv'))).toBe(true);
    rmSync(join(inbound, 'linked.edi'));
    await t.poll();
    symlinkSync(join(dir, 'elsewhere.edi'), join(inbound, 'linked.edi'));
    await t.poll();
    expect(warned()).toHaveLength(3);
  });
});
