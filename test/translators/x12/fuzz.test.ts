// Property and fuzz tests for the X12 reader (fast-check).
//
//  (a) robustness: random mutations of valid files (byte flips, deletions, insertions of delimiter and
//      envelope text, truncation, duplicated segments, CR/LF insertion) read with random chunk sizes never
//      make readX12Sync/readX12 throw; every interchange-start is closed by an interchange-end (and every
//      group-start by a group-end inside it); every location is inside the file, in file order, and its
//      line/column agree with the bytes.
//  (b) chunk invariance: reading in chunks of any size (1 byte upwards, fixed or varying, sync or async)
//      gives exactly the events of a one-chunk read, locations and messages included — on every corpus
//      file, every fixture, and on mutated files.
//  (c) writer -> reader round trip: random valid interchanges (random delimiter sets, several interchanges
//      per file, composites, repetitions, UTF-8 text) written by src/translators/x12/writer.ts read back
//      to exactly the segments written, without findings.
// Runs are bounded (numRuns 100-300); the whole file takes a few seconds.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generate214String } from '../../../bench/gen-214.mjs';
import type { Location, X12Event } from '../../../src/translators/x12/model.js';
import { readX12, readX12Sync } from '../../../src/translators/x12/reader.js';
import {
  X12Writer, writeInterchange, type ElementValue, type GsHeader, type IsaHeader, type WriterDelimiters, type WriteSegment,
} from '../../../src/translators/x12/writer.js';

const corpusDir = fileURLToPath(new URL('../../../../shared/corpus/', import.meta.url));
const hasCorpus = existsSync(`${corpusDir}EXPECTED.json`);
const fixturesDir = fileURLToPath(new URL('../../../fixtures/edi/', import.meta.url));

// Fixed seed unless FC_SEED is set, so a failure is reproducible; fast-check prints the counterexample.
// FC_RUNS=10 multiplies every numRuns for a deeper local search.
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : 0x214;
const runs = (n: number) => Math.max(1, Math.round(n * Number(process.env.FC_RUNS ?? 1)));

// ---------------------------------------------------------------------------------------------------
// Inputs

interface Sample { name: string; bytes: Buffer }

function listEdi(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = `${d}${f}`;
      if (statSync(p).isDirectory()) walk(`${p}/`);
      else if (f.endsWith('.edi')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

const corpusExpected: Record<string, { verdict: string }> = hasCorpus
  ? JSON.parse(readFileSync(`${corpusDir}EXPECTED.json`, 'utf8'))
  : {};
/** Every corpus file (accept, reject and any). */
const corpusAll: Sample[] = Object.keys(corpusExpected).map((rel) => ({ name: `corpus/${rel}`, bytes: readFileSync(`${corpusDir}${rel}`) }));
const corpusValid = corpusAll.filter((s) => corpusExpected[s.name.slice('corpus/'.length)].verdict === 'accept');
const fixturesAll: Sample[] = listEdi(fixturesDir).map((p) => ({ name: `fixtures/${p.slice(fixturesDir.length)}`, bytes: readFileSync(p) }));
const generated: Sample[] = [
  { name: 'generated 214 x6 ~LF', bytes: Buffer.from(generate214String(6, { perGroup: 3, groupsPerInterchange: 1 }), 'latin1') },
  { name: 'generated 214 x4 ~', bytes: Buffer.from(generate214String(4, { terminator: '~', seed: 3 }), 'latin1') },
  { name: 'generated 214 x4 ~CRLF', bytes: Buffer.from(generate214String(4, { terminator: '~\r\n', seed: 5, perGroup: 2 }), 'latin1') },
  { name: 'generated 214 x3 LF-only', bytes: Buffer.from(generate214String(3, { terminator: '\n', seed: 9 }), 'latin1') },
  { name: 'generated 214 x3 CRLF-only', bytes: Buffer.from(generate214String(3, { terminator: '\r\n', seed: 11 }), 'latin1') },
  { name: 'generated 214 x4 ~CR', bytes: Buffer.from(generate214String(4, { terminator: '~\r', seed: 13, perGroup: 2 }), 'latin1') },
  { name: 'generated 214 x3 CR-only', bytes: Buffer.from(generate214String(3, { terminator: '\r', seed: 15 }), 'latin1') },
];
/** Bases for mutation: valid files (corpus accept + generated; the corpus is absent in some checkouts). */
const mutationBases: Sample[] = [...corpusValid, ...generated];

// ---------------------------------------------------------------------------------------------------
// Reading helpers

async function* chunked(bytes: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const n = Math.max(1, sizes[i++ % sizes.length]);
    yield bytes.subarray(off, Math.min(bytes.length, off + n));
    off += n;
  }
}

async function readAsync(bytes: Buffer, sizes: number[]): Promise<X12Event[]> {
  const out: X12Event[] = [];
  for await (const e of readX12(chunked(bytes, sizes))) out.push(e);
  return out;
}

function oneChunk(bytes: Buffer): X12Event[] {
  return [...readX12Sync(bytes, { chunkSize: Math.max(1, bytes.length) })];
}

/** Every location an event carries, in the order the reader produced them. */
function locations(events: X12Event[]): Array<{ what: string; loc: Location }> {
  const out: Array<{ what: string; loc: Location }> = [];
  const issues = (xs: { code: string; loc: Location }[]) => xs.forEach((i) => out.push({ what: i.code, loc: i.loc }));
  for (const e of events) {
    switch (e.type) {
      case 'interchange-start': out.push({ what: 'ISA', loc: e.header.isa.loc }); issues(e.issues); break;
      case 'group-start': out.push({ what: 'GS', loc: e.header.gs.loc }); issues(e.issues); break;
      case 'transaction': e.transaction.segments.forEach((s) => out.push({ what: s.id, loc: s.loc })); issues(e.transaction.issues); break;
      case 'group-end': if (e.trailer) out.push({ what: 'GE', loc: e.trailer.loc }); issues(e.issues); break;
      case 'interchange-end': if (e.trailer) out.push({ what: 'IEA', loc: e.trailer.loc }); issues(e.issues); break;
      case 'ta1': out.push({ what: 'TA1', loc: e.segment.loc }); break;
      case 'issue': issues([e.issue]); break;
    }
  }
  return out;
}

/** Segment locations in event order (envelope and transaction segments). */
function segmentLocations(events: X12Event[]): Location[] {
  const out: Location[] = [];
  for (const e of events) {
    if (e.type === 'interchange-start') out.push(e.header.isa.loc);
    else if (e.type === 'group-start') out.push(e.header.gs.loc);
    else if (e.type === 'transaction') e.transaction.segments.forEach((s) => out.push(s.loc));
    else if ((e.type === 'group-end' || e.type === 'interchange-end') && e.trailer) out.push(e.trailer.loc);
    else if (e.type === 'ta1') out.push(e.segment.loc);
  }
  return out;
}

/**
 * Line (1-based) and column (1-based, in bytes) of a byte offset, computed from the bytes, byte by byte.
 * A line ends at CR LF, at LF alone and at CR alone (as editors show them); the LF of a CR LF ends no
 * line of its own, it only moves the start of the line past itself. The reader's convention: on line 1
 * of a file that starts with a UTF-8 BOM, columns count from after it.
 */
function lineColumn(bytes: Buffer, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (let i = 0; i < offset && i < bytes.length; i++) {
    const c = bytes[i];
    if (c !== 0x0a && c !== 0x0d) continue;
    if (!(c === 0x0a && i > 0 && bytes[i - 1] === 0x0d)) line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** The structural invariants every read must satisfy, whatever the input. */
function checkInvariants(bytes: Buffer, events: X12Event[]): void {
  let interchangeOpen = false;
  let groupOpen = false;
  for (const e of events) {
    switch (e.type) {
      case 'interchange-start':
        expect(interchangeOpen, 'interchange-start while one is open').toBe(false);
        interchangeOpen = true;
        break;
      case 'group-start':
        expect(interchangeOpen, 'group-start outside an interchange').toBe(true);
        expect(groupOpen, 'group-start while a group is open').toBe(false);
        groupOpen = true;
        break;
      case 'transaction':
        expect(e.transaction.segments.length).toBeGreaterThan(0);
        expect(e.transaction.segments[0].id).toBe('ST');
        if (e.transaction.complete) expect(e.transaction.segments.at(-1)!.id).toBe('SE');
        else expect(e.transaction.issues.some((i) => i.severity === 'error'), 'an incomplete transaction without an error').toBe(true);
        break;
      case 'group-end':
        expect(groupOpen, 'group-end without group-start').toBe(true);
        groupOpen = false;
        break;
      case 'interchange-end':
        expect(interchangeOpen, 'interchange-end without interchange-start').toBe(true);
        expect(groupOpen, 'interchange-end while a group is open').toBe(false);
        interchangeOpen = false;
        break;
      default:
        break;
    }
  }
  expect(interchangeOpen, 'an ISA without its interchange-end event').toBe(false);
  expect(groupOpen, 'a GS without its group-end event').toBe(false);

  // Segments come out in file order, each at a distinct offset inside the file.
  const segs = segmentLocations(events);
  for (let i = 1; i < segs.length; i++) expect(segs[i].offset).toBeGreaterThan(segs[i - 1].offset);
  for (const { loc } of locations(events)) {
    expect(loc.offset).toBeGreaterThanOrEqual(0);
    expect(loc.offset).toBeLessThanOrEqual(bytes.length);
    expect({ line: loc.line, column: loc.column }).toEqual(lineColumn(bytes, loc.offset));
  }
}

// ---------------------------------------------------------------------------------------------------
// Mutations

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate-segment'; nth: number; times: number }
  | { kind: 'line-break'; at: number; text: string };

const INSERTS = [
  '*', '~', '>', '^', '|', ':', '{', '\u001d', '\u001c', '\u0085', '\u2026', '\ufeff', ' ', '\t', '\u0000',
  'ISA', 'ISA*', 'IEA*1*000000001~', 'GS*', 'GE*1*1~', 'ST*214*0001~', 'SE*2*0001~', 'TA1*', '~ISA*00*', '~\n',
];

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...INSERTS) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate-segment' as const), nth: fc.nat(), times: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('line-break' as const), at: fc.nat(), text: fc.constantFrom('\n', '\r', '\r\n', '\n\n') }),
);

/** Segment terminator byte of the base file (first byte after ISA16 of its first interchange). */
function terminatorByte(bytes: Buffer): number {
  const isa = bytes.indexOf('ISA');
  return isa >= 0 && isa + 105 < bytes.length ? bytes[isa + 105] : 0x7e;
}

function applyMutations(base: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(base);
  const term = terminatorByte(base);
  for (const m of mutations) {
    const len = b.length;
    const at = len === 0 ? 0 : (m as { at?: number }).at !== undefined ? (m as { at: number }).at % (len + 1) : 0;
    switch (m.kind) {
      case 'flip':
        if (len > 0) b[at % len] = m.byte;
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'insert':
      case 'line-break':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.text, 'utf8'), b.subarray(at)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'duplicate-segment': {
        // The nth segment: from after the (n-1)th terminator to its terminator (inclusive).
        const ends: number[] = [];
        for (let i = b.indexOf(term); i >= 0; i = b.indexOf(term, i + 1)) ends.push(i);
        if (ends.length === 0) break;
        const k = m.nth % ends.length;
        const from = k === 0 ? 0 : ends[k - 1] + 1;
        const seg = b.subarray(from, ends[k] + 1);
        b = Buffer.concat([b.subarray(0, ends[k] + 1), ...Array.from({ length: m.times }, () => seg), b.subarray(ends[k] + 1)]);
        break;
      }
    }
  }
  return b;
}

/** Chunk sizes: mostly small (boundaries everywhere), sometimes large. */
const chunkSizeArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 16 }), weight: 3 },
  { arbitrary: fc.integer({ min: 17, max: 512 }), weight: 2 },
  { arbitrary: fc.integer({ min: 513, max: 70_000 }), weight: 1 },
);

// ---------------------------------------------------------------------------------------------------

describe.skipIf(mutationBases.length === 0)('(a) mutated files never break the reader', () => {
  const baseIndex = fc.integer({ min: 0, max: mutationBases.length - 1 });

  it('readX12Sync: no throw, balanced envelope events, locations agree with the bytes', () => {
    fc.assert(
      fc.property(baseIndex, fc.array(mutationArb, { minLength: 1, maxLength: 6 }), chunkSizeArb, (bi, muts, chunkSize) => {
        const bytes = applyMutations(mutationBases[bi].bytes, muts);
        const events = [...readX12Sync(bytes, { chunkSize })];
        checkInvariants(bytes, events);
      }),
      { numRuns: runs(300), seed },
    );
  });

  it('readX12 over a stream of varying chunks: no throw, balanced envelope events', async () => {
    await fc.assert(
      fc.asyncProperty(baseIndex, fc.array(mutationArb, { minLength: 1, maxLength: 6 }), fc.array(chunkSizeArb, { minLength: 1, maxLength: 8 }),
        async (bi, muts, sizes) => {
          const bytes = applyMutations(mutationBases[bi].bytes, muts);
          const events = await readAsync(bytes, sizes);
          checkInvariants(bytes, events);
        }),
      { numRuns: runs(150), seed },
    );
  });

  it('mutated files: chunked reads give the one-chunk events', async () => {
    // The property of (b) on damaged input, where the reader's error paths run.
    await fc.assert(
      fc.asyncProperty(baseIndex, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.array(chunkSizeArb, { minLength: 1, maxLength: 6 }),
        async (bi, muts, sizes) => {
          const bytes = applyMutations(mutationBases[bi].bytes, muts);
          const whole = oneChunk(bytes);
          expect(await readAsync(bytes, sizes)).toEqual(whole);
          expect([...readX12Sync(bytes, { chunkSize: sizes[0] })]).toEqual(whole);
        }),
      { numRuns: runs(150), seed },
    );
  });
});

describe("(b) the tokenizer's scanned cut of plain segments gives what its general path gives", () => {
  it('on every corpus file, fixture and generated file, whole and in 7-byte chunks', () => {
    const samples = [...corpusAll, ...fixturesAll, ...generated];
    expect(samples.length).toBeGreaterThan(40);
    for (const s of samples) {
      for (const chunkSize of [7, undefined]) {
        expect([...readX12Sync(s.bytes, { chunkSize })], `${s.name} chunk ${chunkSize}`).toEqual([...readX12Sync(s.bytes, { chunkSize, useScanner: false })]);
      }
    }
  });

  it('on mutated files (separators, terminators, line breaks and ISAs in odd places)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: mutationBases.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), chunkSizeArb, (bi, muts, size) => {
        const bytes = applyMutations(mutationBases[bi].bytes, muts);
        expect([...readX12Sync(bytes, { chunkSize: size })]).toEqual([...readX12Sync(bytes, { chunkSize: size, useScanner: false })]);
      }),
      { numRuns: runs(300), seed },
    );
  });
});

describe('(b) Segment.plain: a segment the reader marks plain holds no control character and no component or repetition separator', () => {
  /** The marked segments of a file's transaction sets, each checked as validation would check its values. */
  function checkMarks(bytes: Buffer): { marked: number; all: number } {
    let marked = 0;
    let all = 0;
    for (const ev of readX12Sync(bytes)) {
      if (ev.type !== 'transaction' || !ev.transaction.interchange) continue;
      const d = ev.transaction.interchange.delimiters;
      for (const seg of ev.transaction.segments) {
        all++;
        if (seg.plain !== true) continue;
        marked++;
        for (const v of seg.elements) {
          expect(/[\u0000-\u001f\u007f-\u009f]/.test(v), `${seg.id} '${v}' holds a control character`).toBe(false);
          expect(v.includes(d.component) || (d.repetition !== null && v.includes(d.repetition)), `${seg.id} '${v}' holds a separator`).toBe(false);
        }
      }
    }
    return { marked, all };
  }

  it('on every corpus file, fixture and generated file (and most of their segments are marked)', () => {
    let marked = 0;
    let all = 0;
    for (const s of [...corpusAll, ...fixturesAll, ...generated]) {
      const r = checkMarks(s.bytes);
      marked += r.marked;
      all += r.all;
    }
    expect(marked / all).toBeGreaterThan(0.5);
  });

  it('on mutated files (control characters, separators and line breaks put anywhere)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: mutationBases.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (bi, muts) => {
        checkMarks(applyMutations(mutationBases[bi].bytes, muts));
      }),
      { numRuns: runs(300), seed },
    );
  });
});

describe.skipIf(corpusAll.length + fixturesAll.length === 0)('(b) chunk size does not change the events', () => {
  const samples = [...corpusAll, ...fixturesAll, ...generated];
  for (const s of samples) {
    it(s.name, async () => {
      const whole = oneChunk(s.bytes);
      // Every small chunk size (boundaries at every byte of the ISA and the first segments) ...
      for (let size = 1; size <= 8; size++) {
        expect([...readX12Sync(s.bytes, { chunkSize: size })], `chunkSize ${size}`).toEqual(whole);
      }
      // ... a boundary at each offset around the end of the first ISA (delimiter detection) ...
      for (const size of [103, 104, 105, 106, 107, 108, 109]) {
        expect([...readX12Sync(s.bytes, { chunkSize: size })], `chunkSize ${size}`).toEqual(whole);
      }
      // ... and random fixed and varying chunkings, sync and async.
      await fc.assert(
        fc.asyncProperty(fc.array(chunkSizeArb, { minLength: 1, maxLength: 6 }), async (sizes) => {
          expect([...readX12Sync(s.bytes, { chunkSize: sizes[0] })]).toEqual(whole);
          expect(await readAsync(s.bytes, sizes)).toEqual(whole);
        }),
        { numRuns: runs(20), seed },
      );
    });
  }
});

describe('(b) chunk boundaries at hard places, minimal inputs', () => {
  const isa = (term: string) =>
    `ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *250101*1200*U*00401*000000001*0*P*>${term}`;
  const file = (term: string) =>
    [isa(term).slice(0, -term.length), 'GS*QM*S*R*20250101*1200*1*X*004010', 'ST*214*0001', 'B10*1*2*SCAC', 'SE*3*0001', 'GE*1*1', 'IEA*1*000000001']
      .map((s) => s + term).join('');

  it('CR LF after ISA16 split across chunks: the terminator is LF either way', () => {
    const bytes = Buffer.from(file('\r\n'), 'latin1'); // CR at byte 105, LF at 106
    const whole = oneChunk(bytes);
    expect(whole[0].type === 'interchange-start' && whole[0].header.delimiters.segment).toBe('\n');
    expect([...readX12Sync(bytes, { chunkSize: 106 })]).toEqual(whole);
  });

  it('ISA terminator split across chunks: a multi-byte UTF-8 terminator is read whole', () => {
    const bytes = Buffer.from(file('\u2026'), 'utf8'); // '…' = E2 80 A6, bytes 105..107
    const whole = oneChunk(bytes);
    expect(whole[0].type === 'interchange-start' && whole[0].header.delimiters.segment).toBe('\u2026');
    for (const size of [106, 107]) {
      expect([...readX12Sync(bytes, { chunkSize: size })], `chunkSize ${size}`).toEqual(whole);
    }
  });

  it('an ISA with one separator too many is read the same whether or not all 106 bytes are buffered', () => {
    // ISA02 holds a '*': 17 separators, but all 16 fixed positions still hold '*'. With the whole ISA in
    // the buffer the fixed-width path reads ISA16 at byte 104; with less buffered, the separator-counting
    // path takes the 16th separator (byte 101) and then reads 'P' as ISA16 -> X12_INVALID_DELIMITERS.
    const text = file('~\n');
    const bytes = Buffer.from(`${text.slice(0, 7)}*${text.slice(8)}`, 'latin1');
    expect([...readX12Sync(bytes, { chunkSize: 1 })]).toEqual(oneChunk(bytes));
  });

  it('a stray byte before the ISA: the ISA is found (or not) whatever the chunk size', () => {
    // "XISA*...": in one chunk the ISA is refused because an alphanumeric precedes it (and the whole valid
    // interchange is lost as junk); in 1-byte chunks the 'X' is consumed first, the context is gone, and
    // the interchange is read.
    const bytes = Buffer.from(`X${file('~\n')}`, 'latin1');
    expect([...readX12Sync(bytes, { chunkSize: 1 })]).toEqual(oneChunk(bytes));
  });

  it('junk right before an ISA: the finding quotes the same excerpt whatever the chunk size', () => {
    // One chunk quotes 40 characters ("*ISA*00*   ..."); small chunks quote only up to the ISA ("*ISA*").
    const bytes = Buffer.from(`*${file('~\n')}`, 'latin1');
    expect([...readX12Sync(bytes, { chunkSize: 1 })]).toEqual(oneChunk(bytes));
  });

  it('a BOM after leading blank lines is treated the same whatever the chunk size', () => {
    // "\n" + BOM + ISA: in one chunk the BOM is junk (X12_UNEXPECTED_DATA, ISA column 4); in small chunks
    // the whitespace-only first chunk leaves the reader "not started", so the BOM is skipped silently
    // and the ISA is at column 1.
    const bytes = Buffer.from(`\n\u00ef\u00bb\u00bf${file('~\n')}`, 'latin1');
    expect([...readX12Sync(bytes, { chunkSize: 1 })]).toEqual(oneChunk(bytes));
  });

  it('an "ISA" glued to a digit inside junk stays refused when a chunk ends right after it', () => {
    // "%"x50 + "1ISA*" + a valid file: one chunk refuses "1ISA*" (alphanumeric before it). A boundary
    // right after "1ISA*" keeps only the 4-char tail "ISA*", the '1' is gone, and it is parsed as an ISA
    // (an extra X12_INVALID_DELIMITERS at byte 51).
    const bytes = Buffer.from(`${'%'.repeat(50)}1ISA*${file('~\n')}`, 'latin1');
    expect([...readX12Sync(bytes, { chunkSize: 55 })]).toEqual(oneChunk(bytes));
  });

  it('junk findings quote the same excerpt whatever the chunk size', () => {
    const bytes = Buffer.from('ST*214*0001~\nB10*1*2*SCAC~\nSE*3*0001~\n', 'latin1');
    expect([...readX12Sync(bytes, { chunkSize: 4 })]).toEqual(oneChunk(bytes));
  });
});

// ---------------------------------------------------------------------------------------------------
// (c) writer -> reader

// Single-byte delimiters (X12 delimiters are characters of the basic/extended set, one byte each); the
// segment terminator may also be a multi-byte UTF-8 character, which the reader supports (StAEDI's '…').
const DELIMITER_CHARS = ['*', '|', '~', '^', '>', ':', '!', '+', '\u001d', '\u001f', '\u001c', '{', '}', '`'];

const delimitersArb: fc.Arbitrary<WriterDelimiters> = fc
  .record({
    chars: fc.uniqueArray(fc.constantFrom(...DELIMITER_CHARS), { minLength: 4, maxLength: 4 }),
    withRepetition: fc.boolean(),
    segmentStyle: fc.constantFrom('char', 'char+LF', 'char+CRLF', 'LF', 'CR+LF', 'ellipsis+LF'),
  })
  .map(({ chars, withRepetition, segmentStyle }) => {
    const [element, component, repetition, segChar] = chars;
    const segment = segmentStyle === 'LF' ? '\n' : segmentStyle === 'CR+LF' ? '\r' : segmentStyle === 'ellipsis+LF' ? '\u2026' : segChar;
    const suffix = segmentStyle === 'char+LF' || segmentStyle === 'ellipsis+LF' ? '\n' : segmentStyle === 'char+CRLF' || segmentStyle === 'CR+LF' ? (segmentStyle === 'CR+LF' ? '\n' : '\r\n') : '';
    return { element, component, repetition: withRepetition ? repetition : null, segment, suffix };
  });

const ENVELOPE_IDS = new Set(['ISA', 'IEA', 'GS', 'GE', 'ST', 'SE', 'TA1']);
const segmentIdArb = fc
  .tuple(fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), fc.stringMatching(/^[A-Z0-9]{1,2}$/))
  .map(([a, b]) => a + b)
  .filter((id) => !ENVELOPE_IDS.has(id));

/** Data text: printable ASCII, some Latin-1 and other UTF-8; delimiters are filtered out per interchange. */
const textArb = fc.string({
  unit: fc.oneof(
    { arbitrary: fc.constantFrom(...' ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,-/#&()@%$=?;_\''), weight: 20 },
    { arbitrary: fc.constantFrom('é', 'ü', 'ß', 'Ø', '中', '€', '✓'), weight: 1 },
  ),
  maxLength: 12,
});

interface RawElement { kind: 'simple' | 'composite' | 'repeating'; parts: string[][] }
const elementArb: fc.Arbitrary<RawElement> = fc.oneof(
  { arbitrary: textArb.map((t) => ({ kind: 'simple' as const, parts: [[t]] })), weight: 6 },
  { arbitrary: fc.array(textArb, { minLength: 2, maxLength: 4 }).map((c) => ({ kind: 'composite' as const, parts: [c] })), weight: 1 },
  { arbitrary: fc.array(fc.array(textArb, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 3 }).map((r) => ({ kind: 'repeating' as const, parts: r })), weight: 1 },
);
const bodySegmentArb = fc.tuple(segmentIdArb, fc.array(elementArb, { minLength: 0, maxLength: 8 }));

const interchangeArb = fc.record({
  delimiters: delimitersArb,
  // Interchange i of a file uses control + i, group j of an interchange groupBase + j: never duplicates.
  control: fc.integer({ min: 0, max: 999_999_990 }),
  groupBase: fc.integer({ min: 1, max: 999_999_990 }),
  sender: fc.stringMatching(/^[A-Z0-9]{1,15}$/),
  receiver: fc.stringMatching(/^[A-Z0-9]{1,15}$/),
  groups: fc.array(
    fc.record({
      transactions: fc.array(fc.array(bodySegmentArb, { minLength: 0, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

/** Removes delimiter characters from data so the generated document is valid for its delimiter set. */
function clean(text: string, d: WriterDelimiters): string {
  let t = text;
  for (const ch of [d.element, d.component, d.repetition ?? '', d.segment, ...(d.suffix ?? '')]) if (ch) t = t.split(ch).join('');
  return t;
}

/** What the reader must return for an element: the writer's text for it (trailing empties trimmed). */
function trimEnd(xs: string[]): string[] {
  let n = xs.length;
  while (n > 0 && xs[n - 1] === '') n--;
  return xs.slice(0, n);
}

describe('(c) writer -> reader round trip', () => {
  it('random valid interchanges read back to the segments written, without findings', () => {
    fc.assert(
      // Read in one chunk: chunking is (b)'s subject, this one is about what the writer produces.
      fc.property(fc.array(interchangeArb, { minLength: 1, maxLength: 3 }), (ics) => {
        let text = '';
        const expected: string[][] = [];
        const expectedDelims: WriterDelimiters[] = [];
        ics.forEach((ic, icIndex) => {
          const d = ic.delimiters;
          const writer = new X12Writer(d);
          const header: IsaHeader = {
            senderQualifier: 'ZZ', senderId: ic.sender, receiverQualifier: 'ZZ', receiverId: ic.receiver,
            date: '250101', time: '1200', version: d.repetition ? '00501' : '00401', control: ic.control + icIndex,
          };
          expected.push(['ISA', ...writer.isaFields(header)]);
          expectedDelims.push(d);
          const groups = ic.groups.map((g, gi) => {
            const gs: GsHeader = {
              functionalId: 'QM', senderId: ic.sender, receiverId: ic.receiver, date: '20250101', time: '1200',
              control: String(ic.groupBase + gi), version: d.repetition ? '005010' : '004010',
            };
            expected.push(['GS', 'QM', ic.sender, ic.receiver, '20250101', '1200', String(ic.groupBase + gi), 'X', gs.version]);
            const transactions = g.transactions.map((body, ti) => {
              const control = String(ti + 1).padStart(4, '0');
              expected.push(['ST', '214', control]);
              const segments: WriteSegment[] = body.map(([id, els]) => {
                const values: ElementValue[] = [];
                const texts: string[] = [];
                for (const el of els) {
                  const parts = el.parts.map((rep) => rep.map((c) => clean(c, d)));
                  if (el.kind === 'simple') {
                    values.push(parts[0][0]);
                    texts.push(parts[0][0]);
                  } else if (el.kind === 'composite') {
                    values.push(parts[0]);
                    texts.push(trimEnd(parts[0]).join(d.component));
                  } else if (d.repetition) {
                    values.push(parts);
                    texts.push(trimEnd(parts.map((r) => trimEnd(r).join(d.component))).join(d.repetition));
                  } else {
                    values.push(parts[0]); // no repetition separator in this delimiter set: a composite instead
                    texts.push(trimEnd(parts[0]).join(d.component));
                  }
                }
                expected.push([id, ...trimEnd(texts)]);
                return [id, ...values];
              });
              expected.push(['SE', String(body.length + 2), control]);
              return { setId: '214', control, segments };
            });
            expected.push(['GE', String(g.transactions.length), String(ic.groupBase + gi)]);
            return { header: gs, transactions };
          });
          expected.push(['IEA', String(ic.groups.length), String(ic.control + icIndex).padStart(9, '0')]);
          text += writeInterchange({ header, groups }, d);
        });

        const events = oneChunk(Buffer.from(text, 'utf8'));
        const got: string[][] = [];
        const gotDelims: WriterDelimiters[] = [];
        const findings: string[] = [];
        for (const e of events) {
          if (e.type === 'interchange-start') {
            got.push(e.header.isa.elements);
            gotDelims.push({ ...e.header.delimiters });
            findings.push(...e.issues.map((i) => i.code));
          } else if (e.type === 'group-start') {
            got.push(e.header.gs.elements);
            findings.push(...e.issues.map((i) => i.code));
          } else if (e.type === 'transaction') {
            got.push(...e.transaction.segments.map((s) => s.elements));
            findings.push(...e.transaction.issues.map((i) => i.code));
          } else if (e.type === 'group-end' || e.type === 'interchange-end') {
            if (e.trailer) got.push(e.trailer.elements);
            findings.push(...e.issues.map((i) => i.code));
          } else if (e.type === 'issue') {
            findings.push(e.issue.code);
          } else {
            findings.push('unexpected TA1');
          }
        }
        expect(findings).toEqual([]);
        expect(got).toEqual(expected);
        // The reader finds each interchange's delimiters (a CR before an LF terminator reads as LF + CR suffix).
        expect(gotDelims.map((g) => [g.element, g.component, g.repetition])).toEqual(expectedDelims.map((d) => [d.element, d.component, d.repetition]));
        expect(gotDelims.map((g) => g.segment)).toEqual(expectedDelims.map((d) => (d.segment === '\r' && d.suffix === '\n' ? '\n' : d.segment)));
      }),
      { numRuns: runs(200), seed },
    );
  });
});
