// The tokenizer's scanner (scan.wat, segment-scan.ts): its records, the generated module, and what the
// tokenizer makes of them where the scanner has limits (one scanner per thread, a bounded record space).
// That the scanned cut gives what the general path gives on every kind of file is fuzz.test.ts's (b).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generate214String } from '../../../bench/gen-214.mjs';
import { staleModules } from '../../../scripts/build-wasm.mjs';
import { readX12Sync } from '../../../src/translators/x12/reader.js';
import {
  MAX_SCANNED_TEXT, RECORD_COUNT_MASK, RECORD_HEADER_WORDS, RECORD_LONG, RECORD_ODD, scannerOwner, segmentScanner,
} from '../../../src/translators/x12/segment-scan.js';
import { X12Tokenizer, type Token } from '../../../src/translators/x12/tokenizer.js';

const STAR = 0x2a;
const TILDE = 0x7e;
const GT = 0x3e;
const CARET = 0x5e;

/** The records of one scan of `text` from `from`, each as an object. */
function scanRecords(text: string, { from = 0, line = 1, lineStart = 0, lfAfterCr = -1, stopAfterSt = false } = {}) {
  const scanner = segmentScanner()!;
  scanner.load(scannerOwner(), 0, Buffer.from(text, 'latin1'));
  const count = scanner.scan(from, text.length, TILDE, STAR, GT, CARET, line, lineStart, lfAfterCr, stopAfterSt);
  const records = [];
  for (let k = 0, r = 0; k < count; k++) {
    const w = scanner.words;
    const n = w[r + 4] & RECORD_COUNT_MASK;
    const code = w[r + 5];
    records.push({
      start: w[r], end: w[r + 1], line: w[r + 2], column: w[r + 3], odd: (w[r + 4] & RECORD_ODD) !== 0, long: (w[r + 4] & RECORD_LONG) !== 0,
      id: code < 0 ? null : String.fromCharCode(code >>> 20, (code >>> 10) & 0x3ff, code & 0x3ff).replace('\0', ''),
      separators: Array.from(w.subarray(r + RECORD_HEADER_WORDS, r + RECORD_HEADER_WORDS + n)),
    });
    r += RECORD_HEADER_WORDS + n;
  }
  return records;
}

describe('the segment scanner', () => {
  it('is available here (WebAssembly with SIMD)', () => {
    expect(segmentScanner()).not.toBeNull();
  });

  it('records each complete segment: start, terminator, line, column, separators, id, whether it is plain or holds a long value', () => {
    const text = 'ST*214*0001~\n  B10*P1*>*X~\r\nL11*A\tB~MS1*A^B~N1*ACME SHIPPER INCORPORATED*93~LX~LOOP*1234567890123~';
    expect(scanRecords(text)).toEqual([
      { start: 0, end: 11, line: 1, column: 1, odd: false, long: false, id: 'ST', separators: [2, 6] },
      // '>' the component separator
      { start: 15, end: 25, line: 2, column: 3, odd: true, long: false, id: 'B10', separators: [18, 21, 23] },
      { start: 28, end: 35, line: 3, column: 1, odd: true, long: false, id: 'L11', separators: [31] }, // a tab
      // '^' the repetition separator
      { start: 36, end: 43, line: 3, column: 9, odd: true, long: false, id: 'MS1', separators: [39] },
      // Longer than a 16-byte block: separators found across blocks; a value of 24 bytes.
      { start: 44, end: 75, line: 3, column: 17, odd: false, long: true, id: 'N1', separators: [46, 72] },
      { start: 76, end: 78, line: 3, column: 49, odd: false, long: false, id: 'LX', separators: [] },
      // An id of 4 bytes has no code; a last value of exactly 13 bytes is long.
      { start: 79, end: 97, line: 3, column: 52, odd: false, long: true, id: null, separators: [83] },
    ]);
    expect(scanRecords('AB*123456789012~')[0].long).toBe(false);
    expect(scanRecords('AB*1234567890123*1~')[0].long).toBe(true);
  });

  it('counts a line at CR LF, at LF alone and at CR alone between segments, columns from 1 after each', () => {
    const text = 'ST*1~\rB10*1~\r\r  LX*1~\r\nAT7*1~\n\rSE*1~';
    expect(scanRecords(text).map((r) => [r.id, r.line, r.column])).toEqual([
      ['ST', 1, 1], ['B10', 2, 1], ['LX', 4, 3], ['AT7', 5, 1], ['SE', 7, 1]]);
  });

  it('counts no line at an LF that ends a CR LF whose CR came before `from` (lfAfterCr: where that LF would be)', () => {
    // The CR at 5 was counted by the caller: line 2 starts at 6, where the LF is.
    expect(scanRecords('ST*1~\r\nB10*1~', { from: 6, line: 2, lineStart: 6, lfAfterCr: 6 }).map((r) => [r.id, r.line, r.column]))
      .toEqual([['B10', 2, 1]]);
    // The same at the very start of the text (the CR was in text dropped before).
    expect(scanRecords('\nB10*1~', { line: 2, lineStart: 0, lfAfterCr: 0 }).map((r) => [r.line, r.column])).toEqual([[2, 1]]);
    // An LF anywhere else is a line of its own.
    expect(scanRecords('\nB10*1~', { line: 2, lineStart: 0 }).map((r) => [r.line, r.column])).toEqual([[3, 1]]);
  });

  it('stops after an ST when asked (a tokenizer that skims some sets decides at each ST)', () => {
    const text = 'GS*QM~ST*214*1~B10*1~SE*3*1~ST*214*2~B10*2~';
    expect(scanRecords(text, { stopAfterSt: true }).map((r) => r.id)).toEqual(['GS', 'ST']);
    expect(scanRecords(text, { from: 15, stopAfterSt: true }).map((r) => r.id)).toEqual(['B10', 'SE', 'ST']);
    expect(scanRecords(text).map((r) => r.id)).toEqual(['GS', 'ST', 'B10', 'SE', 'ST', 'B10']);
  });

  it('stops before what it leaves to the general path: an ISA, a line break inside a segment, no terminator yet', () => {
    expect(scanRecords('B10*1~ISA*00*~B10*2~').map((r) => r.start)).toEqual([0]);
    expect(scanRecords('B10*1~N1*A\nB~B10*2~').map((r) => r.start)).toEqual([0]);
    expect(scanRecords('B10*1~N1*A\rB~').map((r) => r.start)).toEqual([0]);
    expect(scanRecords('B10*1~N1*AB')).toHaveLength(1);
    expect(scanRecords('  \n ')).toEqual([]);
    // From an offset, with the line and its start there.
    expect(scanRecords('XX~\nB10*1~', { from: 3, line: 7, lineStart: 0 }))
      .toEqual([{ start: 4, end: 9, line: 8, column: 1, odd: false, long: false, id: 'B10', separators: [7] }]);
  });

  it('writes no record that does not fit in the words it may write, and stops there', () => {
    const scanner = segmentScanner()!;
    const text = 'B10*1*2~N1*A*B*C*D*E*F*G*H*I*J*K*L*M*N*O*P*Q*R*S~';
    scanner.load(scannerOwner(), 0, Buffer.from(text, 'latin1'));
    const sentinel = () => scanner.words.fill(-7, 0, 64);
    // The first record takes 6 + 2 words, the second 6 + 19 (separators found in 16-byte blocks).
    for (const [outWords, count] of [[7, 0], [8, 1], [32, 1], [33, 2]]) {
      sentinel();
      expect(scanner.scan(0, text.length, TILDE, STAR, GT, CARET, 1, 0, -1, false, outWords), `${outWords} words`).toBe(count);
      expect(Array.from(scanner.words.subarray(outWords, 64)).every((w) => w === -7), `nothing written past ${outWords} words`).toBe(true);
    }
  });

  it('treats every byte past ASCII and every control byte as odd, in a block and in the tail', () => {
    for (const c of [0x00, 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xff]) {
      const odd = String.fromCharCode(c);
      const inBlock = `N1*${odd}BCDEFGHIJKLMNOPQRSTUVWXYZ*93~`;
      const inTail = `N1*${odd}~`;
      expect(scanRecords(inBlock)[0].odd, `0x${c.toString(16)} in a block`).toBe(true);
      expect(scanRecords(inTail)[0].odd, `0x${c.toString(16)} in the tail`).toBe(true);
    }
  });

  it('is generated from scan.wat as it stands (node scripts/build-wasm.mjs)', async () => {
    expect((await staleModules()).map((s) => s.module)).toEqual([]);
  });
});

describe('the tokenizer with the scanner', () => {
  /** Every token of `bytes` fed in `chunk`-byte pieces to `tokenizer`, with a callback between pushes. */
  function* pushes(tokenizer: X12Tokenizer, bytes: Buffer, chunk: number): Generator<Token[]> {
    for (let at = 0; at < bytes.length; at += chunk) yield tokenizer.push(bytes.subarray(at, at + chunk));
    yield tokenizer.end();
  }

  it('reads two files in turns as it reads each alone (one scanner for the thread, its input reloaded)', () => {
    const a = Buffer.from(generate214String(300, { seed: 1 }), 'latin1');
    const b = Buffer.from(generate214String(300, { seed: 2, terminator: '~\r\n' }), 'latin1');
    const alone = (bytes: Buffer) => [...pushes(new X12Tokenizer(), bytes, 4096)].flat();
    const aTurns: Token[] = [];
    const bTurns: Token[] = [];
    const ia = pushes(new X12Tokenizer(), a, 4096);
    const ib = pushes(new X12Tokenizer(), b, 1500);
    for (let da = ia.next(), db = ib.next(); !da.done || !db.done; da = da.done ? da : ia.next(), db = db.done ? db : ib.next()) {
      if (!da.done) aTurns.push(...da.value);
      if (!db.done) bTurns.push(...db.value);
    }
    expect(aTurns).toEqual(alone(a));
    expect(bTurns).toEqual(alone(b));
    expect(aTurns.length).toBeGreaterThan(4000);
  });

  it('reads a chunk larger than the scanner takes on the general path (until what is left fits), its memory bounded', () => {
    const bytes = Buffer.from(generate214String(25_000), 'latin1');
    expect(bytes.length).toBeGreaterThan(MAX_SCANNED_TEXT);
    const whole = [...readX12Sync(bytes, { chunkSize: bytes.length })];
    // What is left of the text once it is below the cap (consumed text is dropped at each ISA) is scanned.
    expect(segmentScanner()!.memoryBytes).toBeLessThanOrEqual(MAX_SCANNED_TEXT + 512 * 1024);
    expect(whole).toEqual([...readX12Sync(bytes, { chunkSize: bytes.length, useScanner: false })]);
    expect(whole.filter((e) => e.type === 'transaction')).toHaveLength(25_000);
  });

  it('reads a segment too long for the record space on its general path, and the next ones scanned', () => {
    const many = 70_000; // more separators than the 65,536 words of records one scan may write
    const file = generate214String(3).replace('LX*1~', `LX*1~\nK1*${Array.from({ length: many }, (_, i) => i % 10).join('*')}~`);
    const bytes = Buffer.from(file, 'latin1');
    const scanned = [...readX12Sync(bytes)];
    expect(scanned).toEqual([...readX12Sync(bytes, { useScanner: false })]);
    const sets = scanned.filter((e) => e.type === 'transaction');
    const k1 = sets[0].type === 'transaction' ? sets[0].transaction.segments.find((s) => s.id === 'K1') : undefined;
    expect(k1?.elements).toHaveLength(many + 1);
    expect(sets).toHaveLength(3);
  });

  it('without WebAssembly (node --jitless: no scanner) gives the same events, locations included, on LF, CR LF and CR line ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-jitless-'));
    const base = generate214String(40, { perGroup: 7, seed: 21 });
    const files = ['~\n', '~\r\n', '~\r', '\r', '~\r\r\n\n\r'].map((terminator, k) => {
      const file = join(dir, `${k}.edi`);
      writeFileSync(file, base.replaceAll('~\n', terminator), 'latin1');
      return file;
    });
    const script = join(dir, 'read.mts');
    writeFileSync(script, [
      `import { readFileSync } from 'node:fs';`,
      `import { readX12Sync } from ${JSON.stringify(new URL('../../../src/translators/x12/reader.ts', import.meta.url).href)};`,
      `import { segmentScanner } from ${JSON.stringify(new URL('../../../src/translators/x12/segment-scan.ts', import.meta.url).href)};`,
      `if (segmentScanner() !== null) throw new Error('WebAssembly is available');`,
      `console.log(JSON.stringify(process.argv.slice(2).map((f) => [...readX12Sync(readFileSync(f), { chunkSize: 1000 })])));`,
    ].join('\n'));
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const { stdout } = await promisify(execFile)(process.execPath, ['--jitless', '--no-warnings', '--import', tsx, script, ...files],
      { maxBuffer: 64 << 20 });
    const scanned = files.map((f) => [...readX12Sync(readFileSync(f), { chunkSize: 1000 })]);
    // The ~ CR file's sets start on the lines the ~ LF file's do.
    const stLines = (evs: typeof scanned[0]) => evs.flatMap((e) => (e.type === 'transaction' ? [e.transaction.segments[0].loc.line] : []));
    expect(stLines(scanned[2])).toEqual(stLines(scanned[0]));
    expect(JSON.parse(stdout)).toEqual(JSON.parse(JSON.stringify(scanned)));
  }, 60_000);
});
