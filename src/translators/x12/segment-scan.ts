// The tokenizer's scanner: scan.wat's WebAssembly, which finds where segments end and their elements
// split, and the memory it reads and writes. One per thread, shared by every tokenizer of that thread:
// a tokenizer's text is copied into it when that tokenizer scans and another's is there (see load).

import { SCAN_WASM } from './scan-wasm.js';

/** Words of records one scan may write: thousands of segments, a chunk's worth (16 KiB by default) or more. */
const OUT_WORDS = 64 * 1024;
/** The input starts right after the records. */
const INPUT_AT = OUT_WORDS * 4;
const PAGE = 64 * 1024;
/**
 * The most text the scanner takes in at once. A WebAssembly memory never shrinks, and this one lives as
 * long as its thread: a larger text (a caller's chunk of many MB) is read on the tokenizer's general path
 * instead. The tokenizer's own texts are a chunk (16 KiB by default) plus the tail of a segment (at most 1 MiB).
 */
export const MAX_SCANNED_TEXT = 8 * 1024 * 1024;

/** The words of a record before its separator offsets (start, end, line, column, count | flags, id code). */
export const RECORD_HEADER_WORDS = 6;
/** In a record's count word: the segment is not plain (Segment.plain), and it holds a value of 13 bytes or more. */
export const RECORD_ODD = 1 << 31;
export const RECORD_LONG = 1 << 30;
export const RECORD_COUNT_MASK = RECORD_LONG - 1;

// The WebAssembly API's types come with TypeScript's DOM library, which this Node project does not load.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};
type WasmMemory = { readonly buffer: ArrayBuffer; grow(pages: number): number };

type ScanExports = {
  memory: WasmMemory;
  scan: (base: number, from: number, len: number, term: number, sep: number, comp: number, rep: number,
    outWords: number, line: number, lineStart: number, lfAfterCr: number, stopAfterSt: number) => number;
};

export class SegmentScanner {
  /** The records of the last scan (a view of the memory, renewed when it grows). */
  words: Int32Array;
  private bytes: Uint8Array;
  /** Whose text the input holds: a tokenizer's number and the version of its text (see load). */
  private loadedOwner = -1;
  private loadedVersion = -1;

  constructor(private readonly exports: ScanExports) {
    this.words = new Int32Array(exports.memory.buffer);
    this.bytes = new Uint8Array(exports.memory.buffer);
  }

  /**
   * Makes `text` the input, unless it already is: `owner` numbers the tokenizer, and `version` changes
   * whenever its text does (a chunk fed, consumed text dropped), so a tokenizer scanning on through the
   * same text copies it once. False, loading nothing, for a text longer than MAX_SCANNED_TEXT.
   */
  load(owner: number, version: number, text: Uint8Array): boolean {
    if (owner === this.loadedOwner && version === this.loadedVersion) return true;
    if (text.length > MAX_SCANNED_TEXT) return false;
    const need = INPUT_AT + text.length;
    const memory = this.exports.memory;
    if (memory.buffer.byteLength < need) {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
      this.words = new Int32Array(memory.buffer);
      this.bytes = new Uint8Array(memory.buffer);
    }
    this.bytes.set(text, INPUT_AT);
    this.loadedOwner = owner;
    this.loadedVersion = version;
    return true;
  }

  /** Bytes of memory the scanner holds (records and input). */
  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  /**
   * Cuts the complete segments of the loaded text from `from` on (see scan.wat); returns how many, their
   * records in `words` from 0. `line` and `lineStart` are the line at `from` and where it starts;
   * `lfAfterCr` is the offset just past a CR counted before `from` (-1: none), where an LF ends no line.
   * With `stopAfterSt`, it stops after the first ST. `outWords` bounds the records' words (less than the
   * room there is only in tests).
   */
  scan(from: number, len: number, term: number, sep: number, comp: number, rep: number, line: number, lineStart: number,
    lfAfterCr: number, stopAfterSt: boolean, outWords = OUT_WORDS): number {
    return this.exports.scan(INPUT_AT, from, len, term, sep, comp, rep, Math.min(outWords, OUT_WORDS), line, lineStart, lfAfterCr,
      stopAfterSt ? 1 : 0);
  }
}

let shared: SegmentScanner | null | undefined;
let nextOwner = 0;

/** A number for a tokenizer to load its text under (SegmentScanner.load). */
export function scannerOwner(): number {
  return nextOwner++;
}

/**
 * This thread's scanner, or null where WebAssembly is not available (node --jitless): the tokenizer then
 * reads every segment on its general path, which gives the same segments.
 */
export function segmentScanner(): SegmentScanner | null {
  if (shared === undefined) {
    try {
      const module = new WebAssembly.Module(Buffer.from(SCAN_WASM, 'base64'));
      shared = new SegmentScanner(new WebAssembly.Instance(module, {}).exports as ScanExports);
    } catch {
      shared = null;
    }
  }
  return shared;
}
