// Memory: streaming a 20 MB 214 through readX12 must not need more memory than streaming a 2 MB one.
//
// Each measurement runs in its own child process (node --import tsx, so it reads the TypeScript sources
// like the rest of the suite), so one read's heap growth cannot hide or inflate another's:
//   - live heap: the child runs with --expose-gc and forces a collection every 1,000 transactions; the
//     largest live heap seen is what the reader actually retains. It must not grow with the file
//     (limit: 8 MB more for 10x the data). This is the precise check.
//   - peak RSS: without forced GC, VmHWM (peak resident set) minus the RSS before reading. The large file
//     may not use more than 60 MB more than the small one. RSS moves with GC timing, so the smallest of up
//     to three large-file runs is compared with the largest of the small-file runs: a reader that keeps
//     what it read (+100s of MB for 20 MB of X12) still fails every time, scheduling noise does not.
// No timings are asserted.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate214File } from '../../../bench/gen-214.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const readerPath = fileURLToPath(new URL('../../../src/translators/x12/reader.ts', import.meta.url));

// The child: read the file through readX12 (file path -> fs stream), consume every event, report memory.
const CHILD = `
const [file, mode] = process.argv.slice(-2);
const { readX12 } = await import(${JSON.stringify(readerPath)});
const { readFileSync } = await import('node:fs');
const hwm = () => { try { return Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024; } catch { return process.resourceUsage().maxRSS * 1024; } };
if (globalThis.gc) gc();
const base = process.memoryUsage();
let transactions = 0, errors = 0, maxLive = 0;
for await (const e of readX12(file)) {
  if (e.type === 'transaction') {
    transactions++;
    errors += e.transaction.issues.filter((i) => i.severity === 'error').length;
    if (mode === 'live' && transactions % 1000 === 0) { gc(); maxLive = Math.max(maxLive, process.memoryUsage().heapUsed); }
  }
}
if (mode === 'live') { gc(); maxLive = Math.max(maxLive, process.memoryUsage().heapUsed); }
process.stdout.write(JSON.stringify({ transactions, errors, baseHeap: base.heapUsed, maxLive, baseRss: base.rss, peakRss: hwm() }) + '\\n');
`;

interface ChildResult { transactions: number; errors: number; baseHeap: number; maxLive: number; baseRss: number; peakRss: number }

function measure(file: string, mode: 'live' | 'rss'): ChildResult {
  const args = ['--import', 'tsx', ...(mode === 'live' ? ['--expose-gc'] : []), '--input-type=module', '-e', CHILD, '--', file, mode];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

const MB = 1024 * 1024;
let dir = '';
let small = '';
let large = '';

describe('readX12 memory does not grow with the file', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'waybill-x12-mem-'));
    small = join(dir, '214-2mb.edi');
    large = join(dir, '214-20mb.edi');
    // ~370 bytes per transaction: 5,400 ~ 2 MB, 54,000 ~ 20 MB.
    await generate214File(small, 5_400);
    await generate214File(large, 54_000);
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('live heap after GC stays flat from 2 MB to 20 MB', () => {
    const s = measure(small, 'live');
    const l = measure(large, 'live');
    expect(s.transactions).toBe(5_400);
    expect(l.transactions).toBe(54_000);
    expect(s.errors + l.errors).toBe(0);
    const sGrowth = s.maxLive - s.baseHeap;
    const lGrowth = l.maxLive - l.baseHeap;
    expect(lGrowth - sGrowth, `live heap growth: 2 MB file ${(sGrowth / MB).toFixed(1)} MB, 20 MB file ${(lGrowth / MB).toFixed(1)} MB`)
      .toBeLessThan(8 * MB);
  }, 120_000);

  it('peak RSS growth for 20 MB is within 60 MB of that for 2 MB', () => {
    const growth = (r: ChildResult) => r.peakRss - r.baseRss;
    const smallRuns: number[] = [];
    const largeRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      smallRuns.push(growth(measure(small, 'rss')));
      largeRuns.push(growth(measure(large, 'rss')));
      if (Math.min(...largeRuns) - Math.max(...smallRuns) < 60 * MB) break;
    }
    const diff = Math.min(...largeRuns) - Math.max(...smallRuns);
    expect(diff, `peak RSS growth: 2 MB file ${smallRuns.map((x) => (x / MB).toFixed(0)).join('/')} MB, ` +
      `20 MB file ${largeRuns.map((x) => (x / MB).toFixed(0)).join('/')} MB`).toBeLessThan(60 * MB);
  }, 180_000);
});

// Duplicate detection keeps the control numbers seen (ST02 per group, GS06 per interchange, ISA13 per
// sender in the file): as a Set of strings that grew with the number of sets, ~50-100 bytes each, so one
// group of 2 million 214s or a file of a million small interchanges took 100 MB more.
const ISA = (c: string) => `ISA*00*          *00*          *02*PRLF           *ZZ*TRICOUNTYHWS   *250506*2200*U*00401*${c}*0*P*>~\n`;
const SET = (c: string) => `ST*214*${c}~\nB10*1*2*PRLF~\nLX*1~\nAT7*D1*NS***20250506*0912*CT~\nSE*5*${c}~\n`;
function oneGroup(file: string, sets: number): void {
  const parts = [ISA('000000001'), 'GS*QM*PRLF*TRICOUNTYHWS*20250506*2200*1*X*004010~\n'];
  for (let i = 1; i <= sets; i++) parts.push(SET(String(i).padStart(9, '0')));
  parts.push(`GE*${sets}*1~\nIEA*1*000000001~\n`);
  writeFileSync(file, parts.join(''));
}
function manyInterchanges(file: string, count: number): void {
  const parts: string[] = [];
  for (let i = 1; i <= count; i++) {
    const c = String(i).padStart(9, '0');
    parts.push(ISA(c), `GS*QM*PRLF*TRICOUNTYHWS*20250506*2200*${i}*X*004010~\n`, SET('0001'), `GE*1*${i}~\nIEA*1*${c}~\n`);
  }
  writeFileSync(file, parts.join(''));
}

describe('readX12 memory does not grow with the number of control numbers', () => {
  let cdir = '';
  beforeAll(() => { cdir = mkdtempSync(join(tmpdir(), 'waybill-x12-ctl-')); });
  afterAll(() => { if (cdir) rmSync(cdir, { recursive: true, force: true }); });

  for (const [what, make, few, many] of [
    ['one group of 300,000 sets', oneGroup, 20_000, 300_000],
    ['150,000 interchanges', manyInterchanges, 10_000, 150_000],
  ] as const) {
    it(`live heap after GC stays flat: ${what}`, () => {
      const fewFile = join(cdir, 'few.edi');
      const manyFile = join(cdir, 'many.edi');
      make(fewFile, few);
      make(manyFile, many);
      const s = measure(fewFile, 'live');
      const l = measure(manyFile, 'live');
      expect(s.transactions + l.transactions).toBe(few + many);
      expect(s.errors + l.errors).toBe(0);
      const sGrowth = s.maxLive - s.baseHeap;
      const lGrowth = l.maxLive - l.baseHeap;
      expect(lGrowth - sGrowth, `live heap growth: ${few} ${(sGrowth / MB).toFixed(1)} MB, ${many} ${(lGrowth / MB).toFixed(1)} MB`)
        .toBeLessThan(8 * MB);
    }, 120_000);
  }
});
