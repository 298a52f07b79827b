// Bytes -> located segments. The tokenizer finds each interchange's delimiters in its ISA and splits the
// stream into segments, chunk by chunk, holding only the unfinished tail of the previous chunk.
//
// Why latin1: decoding each chunk as latin1 maps every byte to exactly one char, so string indexes are
// byte offsets (exact locations for free) and a chunk boundary can never split a character. Values that
// hold non-ASCII bytes are re-decoded as UTF-8 (when the bytes are valid UTF-8) once the segment is cut.

import { isAscii, isUtf8 } from 'node:buffer';
import type { ErrorCode } from '../../errors/catalogue.js';
import { internalized, type Delimiters, type Location, type Segment, type X12Issue } from './model.js';
import { issue } from './issues.js';
import { keepSourceText } from './element-location.js';
import {
  RECORD_COUNT_MASK, RECORD_HEADER_WORDS, RECORD_LONG, RECORD_ODD, scannerOwner, segmentScanner, type SegmentScanner,
} from './segment-scan.js';

export interface TokenizerOptions {
  /** How to treat an ISA that is not 106 fixed-width characters: a warning (default) or an error. */
  isaWidth?: 'warn' | 'error';
  /** How to decode non-ASCII bytes in values: 'utf8' when valid (default), or always 'latin1'. */
  encoding?: 'utf8' | 'latin1';
  /** Longest segment accepted before the data is declared garbage (bounds memory). Default 1 MiB. */
  maxSegmentLength?: number;
  /**
   * Skimming, for a reader that will not look inside some transaction sets (a translation worker that
   * owns only part of the file): when this returns true for the byte offset of an ST, the segments of
   * that set up to its trailer are passed over without being cut into elements or emitted. Only the
   * envelope segments (ST, SE, GS, GE, ISA, IEA) still come out, so the envelope's own findings, counts and
   * events are exactly what a full read gives; the skimmed set comes out holding just its ST and SE.
   * It runs while the thread's scanner holds this tokenizer's records (segment-scan.ts), so it must not
   * read X12 itself.
   */
  skimSetAt?: (offset: number) => boolean;
  /**
   * Whether plain segments are cut with the scanner (segment-scan.ts), many at a time (cutScanned;
   * default true). Off, every segment takes the general path: the tests compare the two.
   */
  useScanner?: boolean;
}

/**
 * What the tokenizer emits: segments (the Segment itself, not wrapped: one object less for each of
 * the millions of segments a large file holds), the start of each interchange (delimiters), and findings.
 */
export type Token =
  | Segment
  | { kind: 'isa'; segment: Segment; delimiters: Delimiters; issues: X12Issue[] }
  | { kind: 'issue'; issue: X12Issue }
  | { kind: 'junk'; code: ErrorCode; loc: Location; text: string }
  /** A segment longer than maxSegmentLength inside an interchange: skipped up to its terminator, reading goes on after it. */
  | { kind: 'oversize'; loc: Location; segmentId: string; position: number; limit: number };

// Fixed ISA layout: 0-based offsets of the 16 element separators in a 106-character ISA.
const ISA_SEPARATOR_OFFSETS = [3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103];
const ISA_FIELD_WIDTHS = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1];
const ISA_LENGTH = 106;
/** Segments the envelope is made of: one of these too long to hold cannot be skipped like a body segment. */
const ENVELOPE_IDS = new Set(['ISA', 'IEA', 'GS', 'GE', 'ST', 'SE', 'TA1']);

/**
 * Whether text[at] starts an ISA laid out as the standard lays it out: "ISA", a separator that is no
 * letter, digit or whitespace, and the same separator at all 16 fixed places, after no letter or digit.
 * Strict on purpose: it tells an X12 file from anything else by an ISA that is not at the very start
 * (behind a mail header or a transfer banner), where a looser test would take a CSV holding "ISA*".
 */
export function fixedWidthIsaAt(text: string, at: number): boolean {
  if (at + ISA_LENGTH > text.length || !text.startsWith('ISA', at)) return false;
  if (at > 0 && isAlnum(text.charCodeAt(at - 1))) return false;
  const sep = text.charCodeAt(at + 3);
  if (isAlnum(sep) || isWhitespace(sep)) return false;
  for (const k of ISA_SEPARATOR_OFFSETS) if (text.charCodeAt(at + k) !== sep) return false;
  return true;
}
/** Longest ISA we will scan for when it is not fixed width (padding stripped or added, wrapped). */
const ISA_SCAN_LIMIT = 400;
/** Most spaces read as the padding of a padded line after the ISA (records of up to 1 KiB). */
const MAX_LINE_PADDING = 1024;
/** Length of the excerpt a finding quotes from unreadable data. */
const JUNK_EXCERPT = 40;

const BOM = '\u00ef\u00bb\u00bf'; // UTF-8 BOM bytes, as latin1 chars

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x00;
}
function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
/**
 * What may stand between interchanges and is passed over silently: whitespace and NUL padding, and the
 * SUB (0x1A, Ctrl-Z) that DOS-era tools and some VAN mailboxes still append to a file as its end mark.
 */
function isPadding(c: number): boolean {
  return isWhitespace(c) || c === 0x1a;
}
function isLineBreak(c: number): boolean {
  return c === 0x0a || c === 0x0d;
}

/**
 * Whether the segment in text[from, end) with id text[from, idEnd) is one the envelope reads: ST, SE, GS,
 * GE, IEA, or an ISA. An ISA is recognised as the usual path recognises it (ISA then any non-alphanumeric
 * character), since a new interchange may bring another element separator.
 */
function isEnvelopeSegment(t: string, from: number, idEnd: number, end: number): boolean {
  const len = idEnd - from;
  const a = t.charCodeAt(from);
  const b = t.charCodeAt(from + 1);
  if (len === 2) return (a === 0x53 && (b === 0x54 || b === 0x45)) || (a === 0x47 && (b === 0x53 || b === 0x45)); // ST SE GS GE
  if (a !== 0x49 || t.charCodeAt(from + 2) !== 0x41) return false;
  if (b === 0x45) return len === 3; // IEA
  return b === 0x53 && end - from > 3 && !isAlnum(t.charCodeAt(from + 3)); // ISA
}

/**
 * Where the element separator stands when text starts with an "ISA" broken by one line break (CR LF, LF
 * or CR) between its letters or before its separator, as a hard wrap breaks it; -1 otherwise. The
 * separator must be no letter, digit or whitespace, as in any ISA read.
 */
function wrappedIsaSeparator(t: string): number {
  let i = 0;
  let breaks = 0;
  for (const letter of 'ISA') {
    if (t[i] !== letter) return -1;
    i++;
    if (letter === 'A') break;
    const len = t.startsWith('\r\n', i) ? 2 : isLineBreak(t.charCodeAt(i)) ? 1 : 0;
    breaks += len > 0 ? 1 : 0;
    i += len;
  }
  const len = t.startsWith('\r\n', i) ? 2 : isLineBreak(t.charCodeAt(i)) ? 1 : 0;
  breaks += len > 0 ? 1 : 0;
  i += len;
  if (breaks !== 1 || i >= t.length) return -1;
  const c = t.charCodeAt(i);
  return isAlnum(c) || isWhitespace(c) ? -1 : i;
}

function hasLineBreak(t: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (isLineBreak(t.charCodeAt(i))) return true;
  return false;
}

/** Length in bytes of the UTF-8 character starting at text[i] (latin1 view), or 1 when not a valid sequence. */
function utf8SequenceLength(text: string, i: number): number {
  const lead = text.charCodeAt(i);
  const len = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? (lead <= 0xef ? 3 : 1) : lead >= 0xc2 ? 2 : 1;
  if (len === 1) return 1;
  for (let k = 1; k < len; k++) {
    const c = text.charCodeAt(i + k);
    if (!(c >= 0x80 && c <= 0xbf)) return 1;
  }
  return len;
}

/**
 * Shortest string V8 makes a slice of (pointing into its parent) rather than a copy: V8's
 * SlicedString::kMinLength. Only memory depends on it (what a kept value pins), never a result.
 */
const MIN_SLICED_LENGTH = 13;

/**
 * text[start, end) as a string of its own: a slice of 13 chars or more points into its parent (see
 * MIN_SLICED_LENGTH), and would keep a whole chunk alive; flattening a one-char cons string is the
 * cheapest copy V8 offers.
 */
function copyOf(text: string, start: number, end: number): string {
  return (` ${text.slice(start, end)}`).slice(1);
}

/**
 * The elements of the segment text[start, end), split on a one-char separator, in an array of exactly
 * their number (an array grown by push allocates twice, and this runs for every segment of a file).
 *
 * Values shorter than MIN_SLICED_LENGTH are copies whatever they are cut from, so a segment whose
 * values are all short is cut straight out of the chunk. A segment with a longer value is copied first
 * (flattening a one-char cons string is the cheapest copy V8 offers), so that a value someone keeps pins
 * its own segment rather than the whole chunk.
 */
function splitSegment(text: string, start: number, end: number, sep: string): string[] {
  let n = 1;
  let longest = 0;
  let from = start;
  for (let k = text.indexOf(sep, start); k >= 0 && k < end; k = text.indexOf(sep, k + 1)) {
    if (k - from > longest) longest = k - from;
    from = k + 1;
    n++;
  }
  if (end - from > longest) longest = end - from;
  let t = text;
  if (longest >= MIN_SLICED_LENGTH) {
    t = copyOf(text, start, end);
    end -= start;
    start = 0;
  }
  const out = new Array<string>(n);
  from = start;
  for (let i = 0; i < n - 1; i++) {
    const k = t.indexOf(sep, from);
    out[i] = t.slice(from, k);
    from = k + 1;
  }
  out[n - 1] = from === 0 && end === t.length ? t : t.slice(from, end);
  return out;
}

/** Segment ids seen so far, each as one shared string (see segmentId). Bounded: garbage has many "ids". */
const SEGMENT_IDS = new Map<string, string>();
const MAX_SEGMENT_IDS = 4096;
/**
 * The same ids by a number made of their (at most 3) char codes, asked first: a fresh string is hashed
 * char by char before a Map can look it up, which showed at 7% of reading; a number is its own hash.
 */
const SEGMENT_IDS_BY_CODE = new Map<number, string>();
/**
 * In front of that Map for cutScanned: a direct-mapped cache, each slot holding the last id whose code
 * hashed there (a multiply and two array reads, where Map.get was a call per segment).
 */
const ID_SLOT_BITS = 10;
const ID_SLOT_CODES = new Int32Array(1 << ID_SLOT_BITS).fill(-1);
const ID_SLOT_IDS: string[] = new Array<string>(1 << ID_SLOT_BITS).fill('');

function idSlot(code: number): number {
  return Math.imul(code, 0x9e3779b1) >>> (32 - ID_SLOT_BITS);
}

/** The number standing for a 2-3 char id of chars below U+0400 (10 bits each), or -1 for any other. */
function idCode(id: string): number {
  return id.length < 2 || id.length > 3 ? -1 : idCodeAt(id, 0, id.length);
}

/**
 * Whether no element (raw latin1, as cut) holds a control character, a byte past ASCII or the component
 * or repetition separator: Segment.plain, as the scanner works it out for cutScanned.
 */
function plainElements(elements: readonly string[], comp: number, rep: number): boolean {
  for (let k = 0; k < elements.length; k++) {
    const v = elements[k];
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x20 || c >= 0x7f || c === comp || c === rep) return false;
    }
  }
  return true;
}

/** idCode of the 2-3 char id text[from, to), read in place (without cutting it out first). */
function idCodeAt(text: string, from: number, to: number): number {
  const a = text.charCodeAt(from);
  const b = text.charCodeAt(from + 1);
  const c = to - from === 3 ? text.charCodeAt(from + 2) : 0;
  if ((a | b | c) >= 0x400 || (to - from === 3 && c === 0)) return -1;
  return (a << 20) | (b << 10) | c;
}

/**
 * One string per segment id, whichever segment it was cut from. Every reader of a segment compares
 * its id (the envelope, the schema's placement, the mappings' paths) or looks it up in a Map, and
 * V8 answers those from the pointer and the cached hash when both sides are the same string; a fresh
 * string per segment was hashed and compared character by character each time.
 */
function segmentId(id: string): string {
  const code = idCode(id);
  if (code >= 0) {
    const known = SEGMENT_IDS_BY_CODE.get(code);
    if (known !== undefined) {
      const slot = idSlot(code);
      ID_SLOT_CODES[slot] = code;
      ID_SLOT_IDS[slot] = known;
      return known;
    }
  }
  const shared = SEGMENT_IDS.get(id);
  if (shared !== undefined) {
    if (code >= 0) SEGMENT_IDS_BY_CODE.set(code, shared);
    return shared;
  }
  if (SEGMENT_IDS.size < MAX_SEGMENT_IDS && id.length <= 3) {
    // The same string V8 uses for the literals ('ST', 'SE') in the code, the schemas and the mapping paths.
    const shared = internalized(id);
    SEGMENT_IDS.set(shared, shared);
    return shared;
  }
  return id;
}

/** A latin1 string of raw bytes -> the text those bytes mean (UTF-8 when valid, else latin1 as is). */
function decodeBytes(latin1: string, encoding: 'utf8' | 'latin1'): string {
  if (encoding === 'latin1') return latin1;
  const bytes = Buffer.from(latin1, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : latin1;
}

export class X12Tokenizer {
  private readonly isaWidth: 'warn' | 'error';
  private readonly encoding: 'utf8' | 'latin1';
  private readonly maxSegmentLength: number;
  private readonly skimSetAt: ((offset: number) => boolean) | undefined;
  /** The scanner of cutScanned (null: off, or no WebAssembly), this tokenizer's number for it, and the version of the text. */
  private readonly scanner: SegmentScanner | null;
  private readonly scannerOwner: number;
  private textVersion = 0;
  /** Inside a transaction set being skimmed (see TokenizerOptions.skimSetAt). */
  private skimming = false;

  /** Unconsumed text (latin1) and the absolute byte offset of its first char. */
  private text = '';
  private textBase = 0;
  /**
   * The bytes `text` was decoded from, byte n being char n (latin1 decodes one byte to one char). The
   * hot loop reads these rather than `text`: a typed array read is a load, where charCodeAt in optimized
   * code first walks the string's representation (cons, sliced, thin, ...) for every char.
   */
  private bytes: Buffer = Buffer.alloc(0);
  /** Scratch bytes where a chunk is joined to the tail of the previous one (see joined). */
  private joinBuffer = Buffer.alloc(0);
  /** Index in `text` of the first unconsumed char (the hot path advances this instead of slicing). */
  private pos = 0;
  /** Whether `text` may hold non-ASCII bytes (decides whether values need re-decoding). */
  private textHasHighBytes = false;

  // Line accounting (see locate): the current line and where it starts (absolute offsets). A line ends
  // at CR LF, at LF alone and at CR alone, as editors show them.
  private line = 1;
  private lineStart = 0;
  /** Just past the last CR counted: an LF there is the second half of a CR LF, one line break. -1: none. */
  private lfAfterCr = -1;
  /**
   * The next LF and the next CR not yet counted (absolute offsets; -1 when there is none before its
   * searchedTo) and where the next search for each starts: each is searched for once, however often
   * locate asks, so a file with only one kind of line break (or none) is never rescanned for the other.
   */
  private nextLineFeed = -1;
  private lineFeedSearchedTo = 0;
  private nextCarriageReturn = -1;
  private carriageReturnSearchedTo = 0;

  /** Current interchange's raw (latin1) delimiters; null while looking for an ISA. */
  private elementSep: string | null = null;
  private segmentTerm = '';
  private stripLineBreaks = false;
  /** The interchange's lines are padded with spaces before their terminator, a line break (see parseIsa). */
  private paddedLines = false;
  /** The terminator's char code when cutScanned may read this interchange (else -1), and the separator's. */
  private termCode = -1;
  private elementSepCode = -1;
  /** The component and repetition separators' char codes (-1: none), and whether cut segments may be marked plain. */
  private componentCode = -1;
  private repetitionCode = -1;
  private marksPlain = false;
  private position = 0; // segment position within the current transaction
  private inJunk = false;
  /** In a segment too long to hold: dropping text up to its terminator (skipOversize). */
  private skippingOversize = false;
  /** Whether an interchange header has been read (BOMs are only skipped before the first). */
  private sawIsa = false;

  constructor(options: TokenizerOptions = {}) {
    this.isaWidth = options.isaWidth ?? 'warn';
    this.encoding = options.encoding ?? 'utf8';
    this.maxSegmentLength = options.maxSegmentLength ?? 1024 * 1024;
    this.skimSetAt = options.skimSetAt;
    this.scanner = options.useScanner === false ? null : segmentScanner();
    this.scannerOwner = this.scanner === null ? -1 : scannerOwner();
  }

  /** Feed the next chunk; returns the tokens it completes. */
  push(chunk: Buffer | Uint8Array, out: Token[] = []): Token[] {
    this.feed(chunk);
    this.run(false, out);
    return out;
  }

  /** Appends a chunk to the unconsumed text (dropping what was consumed), without cutting it. */
  private feed(chunk: Buffer | Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Line accounting must see the line breaks of the consumed text before it is dropped (as compact does).
    if (this.pos > 0) this.locate(this.textBase + this.pos);
    const tail = this.text.length - this.pos;
    if (tail === 0) this.textHasHighBytes = false;
    if (!this.textHasHighBytes && !isAscii(buf)) this.textHasHighBytes = true;
    // Always through the join buffer, even with no tail: `bytes` must not be the caller's chunk, which the
    // caller may reuse once push returns (end() still reads them).
    this.text = this.joined(tail === 0 ? '' : this.text.slice(this.pos), buf);
    this.textBase += this.pos;
    this.pos = 0;
  }

  /**
   * Cuts what comes next (usually one segment) into `out`; false when nothing more can be cut from the
   * data fed so far (with `final`: from all of it).
   */
  private step(final: boolean, out: Token[]): boolean {
    if (this.skippingOversize) return this.skipOversize(final);
    return this.elementSep === null ? this.seekInterchange(final, out) : this.nextSegment(final, out);
  }

  /**
   * Past a segment too long to hold (see nextSegment): drops text up to and including the next segment
   * terminator, then reading goes on in the same interchange.
   */
  private skipOversize(final: boolean): boolean {
    this.compact();
    const t = this.text;
    const idx = t.indexOf(this.segmentTerm);
    if (idx < 0) {
      // Keep the chars a terminator of several chars (CR LF) could start with: it may straddle the chunk boundary.
      this.consume(final ? t.length : Math.max(0, t.length - this.segmentTerm.length + 1));
      if (final) this.skippingOversize = false;
      return false;
    }
    this.consume(idx + this.segmentTerm.length);
    this.skippingOversize = false;
    return true;
  }

  /**
   * The unconsumed tail of the text followed by the chunk, as one flat latin1 string. Joining the bytes
   * and decoding once makes one string per chunk; `tail + chunk` as strings made two (the chunk's, then
   * the flat copy the first search of the joined string makes), a quarter of what reading allocates.
   */
  private joined(tail: string, buf: Buffer): string {
    const size = tail.length + buf.length;
    if (this.joinBuffer.length < size) this.joinBuffer = Buffer.allocUnsafeSlow(Math.max(size, 2 * this.joinBuffer.length));
    const join = this.joinBuffer;
    join.write(tail, 0, 'latin1');
    buf.copy(join, tail.length);
    this.bytes = join.subarray(0, size);
    this.textVersion++;
    return join.toString('latin1', 0, size);
  }

  /** Location just past the last byte fed so far. */
  endLocation(): Location {
    return this.locate(this.textBase + this.text.length);
  }

  /** Signal end of input; returns the remaining tokens. */
  end(out: Token[] = []): Token[] {
    this.run(true, out);
    return out;
  }

  // ------------------------------------------------------------------------------------------------

  /**
   * Line and column of an absolute offset (offsets only move forward), counting the line breaks before
   * it. A CR ends a line (old Mac files end their lines with CR alone); an LF ends one too, unless it
   * follows a CR: the pair is one break, also when a chunk boundary falls between them (lfAfterCr
   * outlives the CR's chunk). The scanner (scan.wat) counts the same way.
   */
  private locate(absOffset: number): Location {
    for (;;) {
      const lf = this.pendingLineFeed();
      const cr = this.pendingCarriageReturn();
      const lineBreak = cr < 0 || (lf >= 0 && lf < cr) ? lf : cr;
      if (lineBreak < 0 || lineBreak >= absOffset) break;
      if (lineBreak === lf) {
        if (lf !== this.lfAfterCr) this.line++;
        this.nextLineFeed = -1;
        this.lineFeedSearchedTo = lf + 1;
      } else {
        this.line++;
        this.lfAfterCr = cr + 1;
        this.nextCarriageReturn = -1;
        this.carriageReturnSearchedTo = cr + 1;
      }
      this.lineStart = lineBreak + 1;
    }
    return { offset: absOffset, line: this.line, column: absOffset - this.lineStart + 1 };
  }

  /** The next LF not yet counted (absolute offset), or -1 when the text holds none. */
  private pendingLineFeed(): number {
    if (this.nextLineFeed < 0 && this.lineFeedSearchedTo < this.textBase + this.text.length) {
      const idx = this.text.indexOf('\n', Math.max(this.lineFeedSearchedTo - this.textBase, 0));
      this.nextLineFeed = idx < 0 ? -1 : this.textBase + idx;
      this.lineFeedSearchedTo = idx < 0 ? this.textBase + this.text.length : this.nextLineFeed;
    }
    return this.nextLineFeed;
  }

  /** The next CR not yet counted (absolute offset), or -1 when the text holds none. */
  private pendingCarriageReturn(): number {
    if (this.nextCarriageReturn < 0 && this.carriageReturnSearchedTo < this.textBase + this.text.length) {
      const idx = this.text.indexOf('\r', Math.max(this.carriageReturnSearchedTo - this.textBase, 0));
      this.nextCarriageReturn = idx < 0 ? -1 : this.textBase + idx;
      this.carriageReturnSearchedTo = idx < 0 ? this.textBase + this.text.length : this.nextCarriageReturn;
    }
    return this.nextCarriageReturn;
  }

  /**
   * Whether a line break lies before `to` (absolute) among those not yet counted: right after
   * locate(from), whether [from, to) holds one, from what locate has already found.
   */
  private lineBreakBefore(to: number): boolean {
    const lf = this.pendingLineFeed();
    const cr = this.pendingCarriageReturn();
    return (lf >= 0 && lf < to) || (cr >= 0 && cr < to);
  }

  /** Drops consumed text so memory stays bounded by one segment plus one chunk. */
  private compact(): void {
    if (this.pos === 0) return;
    // Count the line breaks being dropped before they are gone.
    this.locate(this.textBase + this.pos);
    this.text = this.text.slice(this.pos);
    this.bytes = this.bytes.subarray(this.pos);
    this.textVersion++;
    this.textBase += this.pos;
    this.pos = 0;
  }

  /** Marks `n` chars after the cursor as consumed (the slow paths work on a compacted text). */
  private consume(n: number): void {
    if (n > 0) this.pos += n;
  }

  private run(final: boolean, out: Token[]): void {
    while (this.step(final, out));
  }

  /** Looking for an ISA: skip whitespace/BOM, parse the ISA, or report what stands there instead. */
  private seekInterchange(final: boolean, out: Token[]): boolean {
    this.compact();
    if (!this.inJunk) {
      // Between interchanges: skip whitespace and padding (isPadding), and UTF-8 BOMs before the first interchange.
      const text = this.text;
      let i = 0;
      for (;;) {
        while (i < text.length && isPadding(text.charCodeAt(i))) i++;
        if (this.sawIsa || !text.startsWith(BOM, i)) break;
        const at = this.textBase + i;
        this.locate(at);
        if (at === this.lineStart) this.lineStart = at + BOM.length; // columns count after a BOM, as editors show them
        i += BOM.length;
      }
      const rest = text.length - i;
      if (!final && !this.sawIsa && rest > 0 && rest < BOM.length && BOM.startsWith(text.slice(i))) {
        this.consume(i);
        return false; // a BOM split across chunks
      }
      if (i > 0) {
        this.consume(i);
        this.compact();
      }
      const t = this.text;
      if (t.length === 0) return false;
      if (t.startsWith('ISA') && t.length > 3 && !isAlnum(t.charCodeAt(3))) return this.parseIsa(final, out);
      if (t.length < 4 && !final) return false; // could still become "ISA*"

      // Not an ISA: report the region once. The excerpt quoted must not depend on chunk boundaries,
      // so wait until all of it is here.
      if (t.length < JUNK_EXCERPT && !final) return false;
      // An "ISA" that a hard wrap broke ("I\r\nSA*", "ISA\n*": an 80-column wrap lands inside the next
      // interchange's header 3 times in 80) is an ISA, read as a wrapped one.
      const sepIdx = wrappedIsaSeparator(t);
      if (sepIdx > 0) return this.parseIsa(final, out, sepIdx);
      const idMatch = /^([A-Z][A-Z0-9]{1,2})[^A-Za-z0-9\s]/.exec(t.slice(0, 8));
      const id = idMatch?.[1];
      const code: ErrorCode =
        id === 'ST' || id === 'GS' ? 'X12_BARE_TRANSACTION'
        : id === 'IEA' ? 'X12_IEA_WITHOUT_ISA'
        : id === 'GE' ? 'X12_GE_WITHOUT_GS'
        : id === 'SE' ? 'X12_SE_WITHOUT_ST'
        : id ? 'X12_NO_ISA'
        : 'X12_UNEXPECTED_DATA';
      out.push({ kind: 'junk', code, loc: this.locate(this.textBase), text: t.slice(0, JUNK_EXCERPT) });
      this.inJunk = true;
    }
    return this.skipJunk(final);
  }

  /**
   * In unreadable data: skip to the next "ISA" that starts a header. text[0] is never a candidate (it
   * was examined with its context already); it only serves as the char before a candidate at 1.
   */
  private skipJunk(final: boolean): boolean {
    this.compact();
    const t = this.text;
    const next = this.findIsa(t, 1);
    if (next < 0) {
      // Keep a tail that holds any unfinished "ISA?" together with the char before it, so a header
      // straddling a chunk boundary is judged exactly as it would be in one piece.
      const keep = final ? 0 : Math.min(5, t.length);
      this.consume(t.length - keep);
      if (final) { this.text = ''; this.bytes = this.bytes.subarray(0, 0); this.textVersion++; this.pos = 0; }
      return false;
    }
    this.consume(next);
    this.inJunk = false;
    return true;
  }

  /** Index of the next "ISA" followed by a non-alphanumeric character, from `from`; -1 when none. */
  private findIsa(t: string, from: number): number {
    let k = from;
    for (;;) {
      const idx = t.indexOf('ISA', k);
      if (idx < 0 || idx + 3 >= t.length) return -1;
      const prev = idx > 0 ? t.charCodeAt(idx - 1) : 0x0a;
      if (!isAlnum(t.charCodeAt(idx + 3)) && !isAlnum(prev)) return idx;
      k = idx + 1;
    }
  }

  /** Parses the ISA at text[0]: delimiters by position, tolerant of non-fixed width and line wraps. */
  private parseIsa(final: boolean, out: Token[], sepIdx = 3): boolean {
    this.compact();
    const t = this.text;
    // Read an ISA only with all 106 bytes (or the end of the data) in hand, so chunking never changes
    // how it is read (fixed width or not, which excerpt a finding quotes).
    if (t.length <= ISA_LENGTH && !final) return false;
    if (sepIdx === 3 && isLineBreak(t.charCodeAt(3))) {
      const wrapped = wrappedIsaSeparator(t); // "ISA", a wrap, then the separator
      if (wrapped > 0) sepIdx = wrapped;
    }
    const elementSep = t[sepIdx];
    const loc = this.locate(this.textBase);
    const issues: X12Issue[] = [];

    if (isWhitespace(elementSep.charCodeAt(0))) {
      out.push({ kind: 'junk', code: 'X12_INVALID_DELIMITERS', loc, text: t.slice(0, JUNK_EXCERPT) });
      this.inJunk = true;
      return this.skipPastBadIsa(final);
    }

    // Fast path: a well-formed fixed-width ISA, separators exactly where the standard puts them.
    let fixed = t.length >= ISA_LENGTH && sepIdx === 3;
    if (fixed) {
      for (const p of ISA_SEPARATOR_OFFSETS) if (t[p] !== elementSep) { fixed = false; break; }
      // A line break where ISA16 stands is a wrap (an 80-column wrap lands there when the ISA starts at
      // column 57 of a line), not a component separator: the path below skips it to the real ISA16.
      if (isLineBreak(t.charCodeAt(104))) fixed = false;
    }
    let componentIdx: number;
    let termIdx: number;
    let rawIsa: string; // the ISA without terminator, line wraps removed
    if (fixed) {
      componentIdx = 104;
      termIdx = 105;
      rawIsa = t.slice(0, 105);
    } else {
      componentIdx = -1;
      termIdx = -1;
      rawIsa = '';
    }
    if (!fixed) {
      // Count 16 separators, skipping line breaks (hard-wrapped files break lines inside the ISA).
      let count = 0;
      let k = sepIdx;
      let parts = sepIdx === 3 ? '' : 'ISA'; // an id broken by a wrap (wrappedIsaSeparator) is read without it
      let segStart = sepIdx === 3 ? 0 : sepIdx;
      const limit = Math.min(t.length, ISA_SCAN_LIMIT);
      for (; k < limit && count < 16; k++) {
        const c = t.charCodeAt(k);
        if (isLineBreak(c)) {
          parts += t.slice(segStart, k);
          segStart = k + 1;
          continue;
        }
        if (t[k] === elementSep) count++;
      }
      if (count < 16) {
        if (!final && t.length < ISA_SCAN_LIMIT) return false; // wait for more data
        out.push({ kind: 'junk', code: 'X12_ISA_TRUNCATED', loc, text: t.slice(0, JUNK_EXCERPT) });
        this.inJunk = true;
        return this.skipPastBadIsa(final);
      }
      // ISA16 is the next non-line-break char; the terminator follows it.
      while (k < t.length && isLineBreak(t.charCodeAt(k))) {
        parts += t.slice(segStart, k);
        segStart = k + 1;
        k++;
      }
      if (k + 1 >= t.length) {
        if (!final) return false;
        out.push({ kind: 'junk', code: 'X12_ISA_TRUNCATED', loc, text: t.slice(0, JUNK_EXCERPT) });
        this.inJunk = true;
        return this.skipPastBadIsa(final);
      }
      componentIdx = k;
      termIdx = k + 1;
      rawIsa = parts + t.slice(segStart, termIdx);
      fixed = false;
    }

    const component = t[componentIdx];
    // One line break after ISA16 and then a character that cannot start a segment (no letter or digit,
    // no whitespace, not a separator just read) is a hard wrap just before the terminator (an 80-column
    // wrap lands there when the ISA starts at column 56), not a newline terminator: after a newline
    // terminator the next segment (GS, IEA, TA1) starts with a letter.
    if (isLineBreak(t.charCodeAt(termIdx))) {
      const next = termIdx + (t.charCodeAt(termIdx) === 0x0d && t.charCodeAt(termIdx + 1) === 0x0a ? 2 : 1);
      if (next >= t.length && !final) return false; // wait for the char after the line break
      const c = next < t.length ? t.charCodeAt(next) : -1;
      if (c >= 0 && !isAlnum(c) && !isPadding(c) && !isLineBreak(c) && t[next] !== elementSep && t[next] !== component) {
        termIdx = next;
      }
    }
    // Space after ISA16, then only spaces up to a line break: lines padded to a fixed record length (128,
    // 256, ...: mainframe and AS/400 exports) whose segments end at the line break. The terminator is the
    // line break, and the spaces that end each line are padding, not data (see nextSegment).
    let padded = false;
    if (t.charCodeAt(termIdx) === 0x20) {
      let k = termIdx;
      const limit = Math.min(t.length, termIdx + MAX_LINE_PADDING);
      while (k < limit && t.charCodeAt(k) === 0x20) k++;
      if (k === t.length && !final && k < termIdx + MAX_LINE_PADDING) return false; // is a line break next?
      if (k < t.length && isLineBreak(t.charCodeAt(k))) {
        termIdx = k;
        padded = true;
        issues.push(issue('X12_PADDED_LINES',
          'segments end at the line break and lines are padded with spaces after the ISA; the padding is not read as data', loc,
          { segmentId: 'ISA', severity: 'warning' }));
      }
    }
    // A multi-byte terminator may straddle the chunk boundary: wait until all its bytes are here.
    const lead = t.charCodeAt(termIdx);
    const expectedLen = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 1;
    if (termIdx + expectedLen > t.length && !final) return false;
    const termLen = utf8SequenceLength(t, termIdx);
    let segmentTerm = t.slice(termIdx, termIdx + termLen);
    if (segmentTerm === '\r' && termIdx + 1 >= t.length && !final) return false; // is an LF next?
    // CR LF after ISA16 means the terminator is the line break itself.
    if (segmentTerm === '\r' && t[termIdx + 1] === '\n') segmentTerm = '\n';

    const fields = rawIsa.split(elementSep);
    const widthOk = fixed && fields.length === 17 && ISA_FIELD_WIDTHS.every((w, n) => fields[n + 1].length === w);
    if (!widthOk) {
      issues.push(issue('X12_ISA_NOT_FIXED_WIDTH',
        `ISA is not 106 fixed-width characters; read by its separators (${fields.length - 1} elements)`, loc,
        { segmentId: 'ISA', severity: this.isaWidth === 'error' ? 'error' : 'warning' }));
    }
    if (fields.length !== 17) {
      issues.push(issue('X12_ISA_ELEMENT_COUNT', `ISA has ${fields.length - 1} elements, expected 16`, loc, { segmentId: 'ISA' }));
    }

    const termCode = segmentTerm.charCodeAt(0);
    const compCode = component.charCodeAt(0);
    if (isAlnum(termCode) || isAlnum(compCode) || component === elementSep || segmentTerm === elementSep ||
        segmentTerm === component || termCode === 0x20) {
      out.push({ kind: 'junk', code: 'X12_INVALID_DELIMITERS', loc, text: t.slice(0, JUNK_EXCERPT) });
      this.inJunk = true;
      return this.skipPastBadIsa(final);
    }

    const version = fields[12] ?? '';
    const repCandidate = fields[11] ?? '';
    let repetition: string | null = null;
    if (version >= '00402' && repCandidate.length === 1 && !isAlnum(repCandidate.charCodeAt(0)) &&
        repCandidate !== elementSep && repCandidate !== component && repCandidate !== segmentTerm && repCandidate !== ' ') {
      repetition = repCandidate;
    }

    const delimiters: Delimiters = {
      element: decodeBytes(elementSep, this.encoding),
      component: decodeBytes(component, this.encoding),
      repetition: repetition === null ? null : decodeBytes(repetition, this.encoding),
      segment: decodeBytes(segmentTerm, this.encoding),
    };
    const nonAscii = this.decodeElements(fields);
    const segment: Segment = { id: 'ISA', elements: fields, loc, position: 0, plain: false };
    // A wrapped ISA lost its line breaks, a decoded one its bytes: findings about its elements are located in its raw text.
    if (!fixed || nonAscii) keepSourceText(segment, copyOf(t, 0, componentIdx + 1));

    this.elementSep = elementSep;
    this.segmentTerm = segmentTerm;
    this.stripLineBreaks = !isLineBreak(segmentTerm.charCodeAt(0));
    this.paddedLines = padded;
    this.termCode = this.scanner !== null && segmentTerm.length === 1 && this.stripLineBreaks ? segmentTerm.charCodeAt(0) : -1;
    this.elementSepCode = elementSep.charCodeAt(0);
    // Segments are marked plain only when both separators are ASCII (as validation compares them, decoded).
    this.componentCode = component.charCodeAt(0);
    this.repetitionCode = repetition === null ? -1 : repetition.charCodeAt(0);
    this.marksPlain = this.componentCode < 0x80 && this.repetitionCode < 0x80;
    this.position = 0;
    this.sawIsa = true;
    this.skimming = false;
    out.push({ kind: 'isa', segment, delimiters, issues });
    this.consume(termIdx + termLen);
    return true;
  }

  /** After an unreadable ISA: skip to the next ISA (or the end) so later interchanges are still read. */
  private skipPastBadIsa(final: boolean): boolean {
    this.inJunk = true;
    return this.skipJunk(final);
  }

  /**
   * Decodes, in place, the elements that hold bytes past ASCII; true when one did: the values are then no
   * longer the segment's bytes, and the segment keeps its raw text for locating findings (element-location.ts).
   */
  private decodeElements(fields: string[]): boolean {
    if (!this.textHasHighBytes) return false;
    let nonAscii = false;
    for (let n = 0; n < fields.length; n++) {
      const f = fields[n];
      for (let k = 0; k < f.length; k++) {
        if (f.charCodeAt(k) > 0x7f) { fields[n] = decodeBytes(f, this.encoding); nonAscii = true; break; }
      }
    }
    return nonAscii;
  }

  /**
   * The common case of nextSegment, many segments at a time: a one-char terminator that is no line
   * break, and segments complete in the text with no line break inside and no ISA at their start. The
   * scanner (scan.wat) finds the terminators and element separators of as many as follow one another,
   * with the line of each; this cuts the values out. False (nothing consumed) when the scanner cut none,
   * and the general path then reads what comes next. The two must cut the same segments:
   * test/translators/x12/fuzz.test.ts.
   */
  private cutScanned(out: Token[]): boolean {
    const scanner = this.scanner!;
    const t = this.text;
    const from = this.pos;
    if (!scanner.load(this.scannerOwner, this.textVersion, this.bytes)) return false;
    const here = this.locate(this.textBase + from);
    const count = scanner.scan(from, t.length, this.termCode, this.elementSepCode, this.componentCode, this.repetitionCode,
      here.line, from - here.column + 1, this.lfAfterCr - this.textBase, this.skimSetAt !== undefined);
    if (count === 0) return false;
    const words = scanner.words;
    const last = this.emitRecords(t, words, count, out);
    const start = words[last];
    const end = words[last + 1];
    this.pos = end + 1;
    // The line state as locate() keeps it: the last segment cut holds no line break. lfAfterCr is left
    // as it is: a CR the scanner counted lies before this segment, and so does the LF that may follow it.
    this.line = words[last + 2];
    this.lineStart = this.textBase + start - words[last + 3] + 1;
    this.nextLineFeed = -1;
    this.lineFeedSearchedTo = this.textBase + end + 1;
    this.nextCarriageReturn = -1;
    this.carriageReturnSearchedTo = this.textBase + end + 1;
    return true;
  }

  /**
   * Emits the segments of the scanner's first `count` records (cut from `t`); returns where in `words`
   * the last one emitted starts. A function of its own because V8 optimizes this loop while it runs (the
   * first call's loop is long): code after the loop had not run yet then, and such code deoptimized the
   * loop's optimized code at the end of every later call (seen with --trace-deopt, once per chunk).
   */
  private emitRecords(t: string, words: Int32Array, count: number, out: Token[]): number {
    // Whether a segment is plain (Segment.plain) as the scanner saw it: none of a control character, a
    // byte past ASCII (decoded, it may be one), the component or the repetition separator.
    const marksPlain = this.marksPlain;
    let r = 0;
    let last = 0;
    for (let k = 0; k < count; k++) {
      last = r;
      const start = words[r];
      const end = words[r + 1];
      const flags = words[r + 4];
      const code = words[r + 5]; // idCodeAt of the id
      const n = flags & RECORD_COUNT_MASK;
      const seps = r + RECORD_HEADER_WORDS; // words[seps + k]: the offset of the k-th separator
      // As splitSegment: a segment with a value long enough to be a slice of its parent (MIN_SLICED_LENGTH)
      // is copied first.
      let base = t;
      let shift = 0;
      if ((flags & RECORD_LONG) !== 0) {
        base = copyOf(t, start, end);
        shift = start;
      }
      const elements = new Array<string>(n + 1);
      const idEnd = n > 0 ? words[seps] : end;
      const slot = idSlot(code);
      const knownId = code >= 0 && ID_SLOT_CODES[slot] === code ? ID_SLOT_IDS[slot] : undefined;
      elements[0] = knownId ?? segmentId(base.slice(start - shift, idEnd - shift));
      for (let k = 1; k < n; k++) elements[k] = base.slice(words[seps + k - 1] + 1 - shift, words[seps + k] - shift);
      if (n > 0) elements[n] = base.slice(words[seps + n - 1] + 1 - shift, end - shift);
      // A segment holding bytes past ASCII keeps its raw text (see decodeElements): `base` already is that text when copied.
      let raw: string | undefined;
      if (this.textHasHighBytes) {
        if (this.decodeElements(elements)) raw = shift === 0 ? copyOf(t, start, end) : base;
        elements[0] = segmentId(elements[0]);
      }
      this.emit(elements, { offset: this.textBase + start, line: words[r + 2], column: words[r + 3] }, out, marksPlain && (flags & RECORD_ODD) === 0, raw);
      r = seps + n;
      // After an IEA the next interchange may use other delimiters, and a set being skimmed is not cut:
      // the segments the scanner cut beyond are read again.
      if (this.elementSep === null || this.skimming) break;
    }
    return last;
  }

  /**
   * Emits a cut segment, keeping the position count and the interchange's state (both paths end here).
   * `raw`: the segment's raw text, for one whose values are not its bytes (element-location.ts).
   */
  private emit(elements: string[], loc: Location, out: Token[], plain: boolean, raw?: string): void {
    const id = elements[0];
    if (id === 'ST') this.position = 1;
    else if (this.position > 0) this.position++;
    const segment: Segment = { id, elements, loc, position: this.position, plain };
    if (raw !== undefined) keepSourceText(segment, raw);
    if (id === 'SE' || id === 'GE' || id === 'GS' || id === 'IEA') this.position = 0;
    if (id === 'ST' && this.skimSetAt !== undefined) this.skimming = this.skimSetAt(loc.offset);
    out.push(segment);
    // After the IEA the next interchange may use other delimiters.
    if (id === 'IEA') this.elementSep = null;
  }

  /** Cuts the next segment inside an interchange (the hot path: no copies of the buffer). */
  private nextSegment(final: boolean, out: Token[]): boolean {
    if (this.termCode >= 0 && !this.skimming && this.cutScanned(out)) return true;
    const t = this.text;
    let start = this.pos;
    while (start < t.length && isWhitespace(t.charCodeAt(start))) start++;
    if (start === t.length) {
      this.pos = start;
      return false;
    }
    let end = t.indexOf(this.segmentTerm, start);
    let next: number;
    if (end < 0) {
      this.pos = start;
      if (!final) {
        if (t.length - start > this.maxSegmentLength) {
          // A segment (an id, then its element separator) too long to hold: one finding for it, and
          // reading goes on at its terminator, so the rest of the interchange is read as usual. Anything
          // else this long without a terminator is not X12: skipped to the next ISA.
          const sep = t.indexOf(this.elementSep!, start);
          const id = sep > start && sep - start <= 3 ? t.slice(start, sep) : '';
          if (/^[A-Z][A-Z0-9]{1,2}$/.test(id) && !ENVELOPE_IDS.has(id)) {
            if (this.position > 0) this.position++;
            out.push({ kind: 'oversize', loc: this.locate(this.textBase + start), segmentId: id, position: this.position, limit: this.maxSegmentLength });
            this.skippingOversize = true;
            this.consume(t.length - start);
            return true;
          }
          out.push({ kind: 'junk', code: 'X12_UNEXPECTED_DATA', loc: this.locate(this.textBase + start), text: t.slice(start, start + JUNK_EXCERPT) });
          this.elementSep = null;
          this.inJunk = true;
          this.pos = t.length;
        }
        return false;
      }
      // Last segment without a terminator (common at the end of a file): take it as it is.
      end = t.length;
      while (end > start && isWhitespace(t.charCodeAt(end - 1))) end--;
      next = t.length;
    } else {
      next = end + this.segmentTerm.length;
    }

    if (this.skimming) {
      // Pass over a segment of a skimmed set, unless it belongs to the envelope (then read it as usual,
      // and skimming ends with it). An id with a line break in it takes the usual path, which strips them.
      const sep = t.indexOf(this.elementSep!, start);
      const idEnd = sep >= 0 && sep < end ? sep : end;
      if (isEnvelopeSegment(t, start, idEnd, end)) {
        this.skimming = false;
      } else if (!hasLineBreak(t, start, idEnd)) {
        this.position++;
        this.pos = next;
        return true;
      }
    }

    // A new ISA while this interchange is still open (IEA missing): re-detect delimiters from it.
    if (t.charCodeAt(start) === 0x49 && t.startsWith('ISA', start) && end - start > 3 && !isAlnum(t.charCodeAt(start + 3))) {
      this.pos = start;
      this.elementSep = null;
      return true;
    }
    const loc = this.locate(this.textBase + start);
    let elements: string[];
    // Where the segment's data ends, and whether line breaks inside it were dropped (see emit's `raw`).
    let dataEnd = end;
    let wrapped = false;
    if (this.stripLineBreaks) {
      // Line breaks inside a segment (a hard-wrapped file) are not part of it. locate() has just found
      // the next ones, so a file is never rescanned for them.
      if (this.lineBreakBefore(this.textBase + end)) {
        const raw = t.slice(start, end).replace(/[\r\n]+/g, '');
        elements = splitSegment(raw, 0, raw.length, this.elementSep!);
        wrapped = true;
      } else {
        elements = splitSegment(t, start, end, this.elementSep!);
      }
    } else {
      // The terminator is a line break: a CR before it (CR LF files) is not part of the segment, nor is
      // the padding of a padded line (only where the ISA line showed padding: elsewhere a value may end
      // in spaces that belong to it, an ID padded to its minimum length).
      let last = t.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
      if (this.paddedLines) while (last > start && t.charCodeAt(last - 1) === 0x20) last--;
      elements = splitSegment(t, start, last, this.elementSep!);
      dataEnd = last;
    }
    const plain = this.marksPlain && plainElements(elements, this.componentCode, this.repetitionCode);
    const nonAscii = this.decodeElements(elements);
    elements[0] = segmentId(elements[0]);
    this.emit(elements, loc, out, plain, wrapped || nonAscii ? copyOf(t, start, dataEnd) : undefined);
    this.pos = next;
    return true;
  }
}
