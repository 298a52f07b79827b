// Streaming CSV reader: a file path, a Node stream, an async iterable of chunks or a Buffer in; header,
// records and issues out, one at a time, in file order. Values are never coerced: every field is the
// exact string between the delimiters (quotes removed, doubled quotes undoubled).
//
// How it is built. csv-parse does the field parsing, but not the record splitting: measured on csv-parse
// 7.0.3, its streaming parser with `skip_records_with_error` lets one bad closing quote swallow the
// records after it, its `max_record_size` error drops the rest of the chunk, and its line counter counts
// a CRLF inside a quoted field as two lines. So a small byte-level splitter here finds record boundaries
// (quote-aware, CR, LF and CRLF alike), keeps exact line numbers, checks the encoding and the record size
// while it scans, and hands bounded batches of complete records to csv-parse. A batch that csv-parse
// rejects is parsed again record by record, so an error stays with the record that has it.
// Memory is bounded by the read size, the batch size and `maxRecordSize`, whatever the file size.
//
// ERROR POLICY (each issue says which with `fatal`):
//   per record - reported with the record's `index`, the record is skipped, reading goes on:
//     CSV_QUOTE_INVALID      a quote inside an unquoted field, or characters after a closing quote
//     CSV_FIELD_COUNT        more or fewer fields than the header (or the first record); off with
//                            `relaxColumnCount`
//     CSV_RECORD_TOO_LARGE   the record is over `maxRecordSize` bytes; it is scanned to its end, not held
//     CSV_INVALID_ENCODING   the record holds bytes that are invalid in `encoding`
//     CSV_NUL_CHARACTER      the record holds a NUL character
//     CSV_RECORD_MALFORMED   csv-parse could not read the record for another reason
//     CSV_QUOTE_NOT_CLOSED   the file ends inside a quoted field, or a quoted field that runs over lines
//                            grows over `maxRecordSize`
//   A quoted field may run over line breaks (legal CSV). When such a field then goes wrong (the file ends
//   inside it, it grows over `maxRecordSize`, or its closing quote has characters after it), its opening
//   quote is taken as a stray one: the record is cut at the end of that quote's line and rejected
//   (CSV_QUOTE_NOT_CLOSED, or CSV_QUOTE_INVALID for characters after the quote), and the lines after it
//   are read again as records, so a stray quote costs one record, not the rest of the file.
//   fatal - reported with `fatal: true` as the last item; nothing more is read:
//     CSV_HEADER_INVALID     (header: true) the header row has an empty or duplicate name, or is itself
//                            unreadable (its underlying problem is in the message)
//     CSV_EMPTY_FILE         the file holds no records at all (empty, or blank lines only)
//   thrown as WaybillError (not data problems):
//     CSV_OPTIONS_INVALID    bad options (at the first `next()`)
//     CSV_READ_FAILED        the source cannot be read (missing file, stream error)

import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { StringDecoder } from 'node:string_decoder';
import type * as CsvParseSync from 'csv-parse/sync';
import type { Options as CsvParseOptions } from 'csv-parse/sync';
import { catalogue, WaybillError, type ErrorCode } from '../../errors/catalogue.js';

export type CsvEncoding = 'utf8' | 'latin1' | 'utf16le';

export interface CsvReadOptions {
  /**
   * true (default): the first record is the header and names the columns; string[]: the column names, the
   * file has no header row; false: no names, fields are addressed by position (1-based, see `csvField`).
   */
  header?: boolean | readonly string[];
  /** One ASCII character, default ','. */
  delimiter?: string;
  /** One ASCII character, default '"'. */
  quote?: string;
  /** One ASCII character that escapes the next character inside a quoted field; default: the quote itself. */
  escape?: string;
  /**
   * Default 'utf8'. A UTF-8 BOM (utf8) or a UTF-16 BOM (utf16le) at the start is dropped. A file that starts
   * with a UTF-16LE BOM is read as utf16le whatever is set, and one with a UTF-8 BOM as utf8 when latin1 is set.
   * latin1 reads 0x80-0x9F as Windows-1252 (windows1252).
   */
  encoding?: CsvEncoding;
  /** Skip lines with nothing on them (whitespace only, when `trim`). Default true. Skipped lines take no index. */
  skipEmptyLines?: boolean;
  /** Drop whitespace around unquoted fields and between a closing quote and the delimiter. Default false. */
  trim?: boolean;
  /** Largest record, in bytes of UTF-8 (excluding its line ending). Default 1 MiB. */
  maxRecordSize?: number;
  /** Accept records whose field count differs from the header's (or the first record's). Default false. */
  relaxColumnCount?: boolean;
  /** Read size for files and Buffers, in bytes. Default 64 KiB. */
  chunkSize?: number;
}

export type CsvErrorCode = Extract<ErrorCode, `CSV_${string}`>;

export interface CsvRecord {
  kind: 'record';
  /** 1-based line where the record starts. */
  line: number;
  /** 1-based record number, header excluded, skipped empty lines excluded; bad records take their number too. */
  index: number;
  fields: string[];
  /** Field by column name, when there is a header (null prototype: any column name is a plain key). */
  byName?: Record<string, string>;
}

export interface CsvHeader {
  kind: 'header';
  line: number;
  names: string[];
}

export interface CsvIssue {
  kind: 'issue';
  code: CsvErrorCode;
  severity: 'error' | 'warning';
  message: string;
  /** 1-based line and column (in characters of the decoded text) of the problem. */
  line: number;
  column: number;
  /** The record's index (see CsvRecord.index), when the issue is about a data record. */
  index?: number;
  /** 1-based field position, when known. */
  field?: number;
  /** True when the file cannot be read further; always the last item. */
  fatal: boolean;
}

export type CsvItem = CsvRecord | CsvHeader | CsvIssue;

export type CsvChunk = Buffer | Uint8Array | string;
/** A file path, bytes, or a stream of chunks (string chunks are taken as already-decoded text). */
export type CsvSource = string | Buffer | Uint8Array | AsyncIterable<CsvChunk> | Iterable<Buffer | Uint8Array>;

/** A field by 1-based position (number) or by column name (string); undefined when absent. */
export function csvField(record: CsvRecord, column: number | string): string | undefined {
  if (typeof column === 'number') return Number.isInteger(column) && column >= 1 ? record.fields[column - 1] : undefined;
  if (!record.byName || !Object.prototype.hasOwnProperty.call(record.byName, column)) return undefined;
  return record.byName[column];
}

/** Reads a whole CSV source into memory. For small files, tests and tools; prefer `readCsv` for intake. */
export async function readCsvAll(
  source: CsvSource,
  options: CsvReadOptions = {},
): Promise<{ header?: CsvHeader; records: CsvRecord[]; issues: CsvIssue[] }> {
  const records: CsvRecord[] = [];
  const issues: CsvIssue[] = [];
  let header: CsvHeader | undefined;
  for await (const item of readCsv(source, options)) {
    if (item.kind === 'record') records.push(item);
    else if (item.kind === 'issue') issues.push(item);
    else header = item;
  }
  return header ? { header, records, issues } : { records, issues };
}

/** Streams a CSV source. See the error policy at the top of this file. */
export async function* readCsv(source: CsvSource, options: CsvReadOptions = {}): AsyncGenerator<CsvItem> {
  const cfg = normalizeOptions(options);
  const splitter = new RecordSplitter(cfg);
  const decoder = new ByteDecoder(cfg.encoding);
  const endMark = new EndMarkFilter();
  const assembler = new Assembler(cfg);
  const raws: RawRecord[] = [];
  let rawBytes = 0;
  const collect = (bytes: Buffer): void => {
    const before = raws.length;
    splitter.push(endMark.push(bytes), raws);
    for (let i = before; i < raws.length; i++) rawBytes += raws[i].text?.length ?? 0;
  };
  for await (const chunk of readChunks(source, cfg.chunkSize)) {
    collect(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : decoder.push(chunk));
    if (rawBytes >= BATCH_BYTES || raws.length >= BATCH_RECORDS) {
      yield* assembler.process(raws);
      raws.length = 0;
      rawBytes = 0;
      if (assembler.stopped) return;
    }
  }
  collect(decoder.end());
  splitter.end(raws);
  yield* assembler.process(raws);
  if (!assembler.stopped) yield* assembler.finish();
}

// ------------------------------------------------------------------------------------------------
// Options

const BATCH_BYTES = 256 * 1024;
const BATCH_RECORDS = 4096;

interface Config {
  header: boolean | string[];
  delimiter: string;
  quote: string;
  escape: string;
  encoding: CsvEncoding;
  skipEmptyLines: boolean;
  trim: boolean;
  maxRecordSize: number;
  relaxColumnCount: boolean;
  chunkSize: number;
}

function optionsError(message: string): WaybillError {
  return new WaybillError('CSV_OPTIONS_INVALID', message);
}

function asciiChar(name: string, value: unknown, fallback: string): string {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'string' || v.length !== 1 || v.charCodeAt(0) >= 0x80 || v === '\r' || v === '\n') {
    throw optionsError(`${name} must be one ASCII character other than CR or LF, got ${JSON.stringify(v)}`);
  }
  return v;
}

function positiveInt(name: string, value: unknown, fallback: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw optionsError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function normalizeOptions(o: CsvReadOptions): Config {
  const delimiter = asciiChar('delimiter', o.delimiter, ',');
  const quote = asciiChar('quote', o.quote, '"');
  const escape = asciiChar('escape', o.escape, quote);
  if (delimiter === quote) throw optionsError('delimiter and quote must differ');
  if (escape === delimiter) throw optionsError('escape and delimiter must differ');
  const encoding = o.encoding ?? 'utf8';
  if (encoding !== 'utf8' && encoding !== 'latin1' && encoding !== 'utf16le') {
    throw optionsError(`encoding must be utf8, latin1 or utf16le, got ${JSON.stringify(encoding)}`);
  }
  let header: boolean | string[] = true;
  if (Array.isArray(o.header)) {
    header = [...(o.header as readonly unknown[])].map((n, i) => {
      if (typeof n !== 'string' || n.trim() === '') throw optionsError(`header name ${i + 1} is empty or not a string`);
      return n;
    });
    const dup = firstDuplicate(header);
    if (dup) throw optionsError(`header name ${JSON.stringify(dup.name)} is given twice (columns ${dup.first} and ${dup.at})`);
    if (header.length === 0) throw optionsError('header names must not be an empty list');
  } else if (o.header !== undefined) {
    if (typeof o.header !== 'boolean') throw optionsError('header must be true, false or a list of column names');
    header = o.header;
  }
  return {
    header,
    delimiter,
    quote,
    escape,
    encoding,
    skipEmptyLines: o.skipEmptyLines ?? true,
    trim: o.trim ?? false,
    maxRecordSize: positiveInt('maxRecordSize', o.maxRecordSize, 1024 * 1024),
    relaxColumnCount: o.relaxColumnCount ?? false,
    chunkSize: positiveInt('chunkSize', o.chunkSize, 64 * 1024),
  };
}

function firstDuplicate(names: readonly string[]): { name: string; first: number; at: number } | null {
  const seen = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const first = seen.get(names[i]);
    if (first !== undefined) return { name: names[i], first, at: i + 1 };
    seen.set(names[i], i + 1);
  }
  return null;
}

/**
 * csv-parse, loaded on first use: this module is reached through the mapping modules in every process that
 * translates or lints, and most of those never read CSV (an import at the top cost them about 40 ms of
 * start-up and 0.6 MB of heap that stays live).
 */
let csvParseLibrary: typeof CsvParseSync | undefined;
function csvParseSync(input: string | Buffer, options: CsvParseOptions): string[][] {
  csvParseLibrary ??= createRequire(import.meta.url)('csv-parse/sync') as typeof CsvParseSync;
  return csvParseLibrary.parse(input, options) as string[][];
}

// ------------------------------------------------------------------------------------------------
// Source -> chunks

async function* readChunks(source: CsvSource, chunkSize: number): AsyncGenerator<CsvChunk> {
  if (Buffer.isBuffer(source) || source instanceof Uint8Array) {
    const buf = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    for (let off = 0; off < buf.length; off += chunkSize) yield buf.subarray(off, Math.min(buf.length, off + chunkSize));
    return;
  }
  const iterable: AsyncIterable<CsvChunk> | Iterable<CsvChunk> =
    typeof source === 'string' ? createReadStream(source, { highWaterMark: chunkSize }) : source;
  const it = Symbol.asyncIterator in iterable
    ? (iterable as AsyncIterable<CsvChunk>)[Symbol.asyncIterator]()
    : toAsync((iterable as Iterable<CsvChunk>)[Symbol.iterator]());
  let done = false;
  try {
    for (;;) {
      let step: IteratorResult<CsvChunk>;
      try {
        step = await it.next();
      } catch (err) {
        done = true;
        const what = typeof source === 'string' ? `the file ${source}` : 'the CSV stream';
        throw new WaybillError('CSV_READ_FAILED', `${what} could not be read: ${(err as Error).message}`, { cause: err });
      }
      if (step.done) {
        done = true;
        return;
      }
      const c = step.value;
      if (typeof c !== 'string' && !(c instanceof Uint8Array)) {
        throw new WaybillError('CSV_READ_FAILED', 'the CSV stream yielded something that is not bytes or a string');
      }
      yield c;
    }
  } finally {
    // The consumer stopped early (or failed): let the source close its file.
    if (!done) await it.return?.();
  }
}

function toAsync<T>(it: Iterator<T>): AsyncIterator<T> {
  return {
    next: async () => it.next(),
    return: async () => it.return?.() ?? { done: true, value: undefined },
  };
}

// ------------------------------------------------------------------------------------------------
// The DOS end-of-file mark

const SUB = 0x1a;

function isSpaceByte(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/**
 * Drops a SUB (0x1A, Ctrl-Z) that ends the file, with any whitespace around it: the end mark DOS-era
 * tools and some mailboxes append, which read as data made a last record of one field. A SUB with data
 * after it is data, and stays. Holds back a chunk's trailing SUB-and-whitespace run until the next chunk
 * says whether more follows; the file's end drops it.
 */
class EndMarkFilter {
  /** A trailing run of SUBs and whitespace (from its first SUB) held back; dropped if the file ends with it. */
  private held: Buffer | null = null;

  push(bytes: Buffer): Buffer {
    const all = this.held ? Buffer.concat([this.held, bytes]) : bytes;
    this.held = null;
    let end = all.length;
    while (end > 0 && (all[end - 1] === SUB || isSpaceByte(all[end - 1]))) end--;
    const sub = all.indexOf(SUB, end);
    if (sub < 0) return all;
    this.held = Buffer.from(all.subarray(sub));
    return all.subarray(0, sub);
  }
}

// ------------------------------------------------------------------------------------------------
// Bytes in the declared encoding -> UTF-8 bytes. Bytes that cannot be decoded become 0xFF, which is never
// valid UTF-8, so the splitter's validator reports them at their place.

class ByteDecoder {
  private utf16: StringDecoder | null;
  private first = true;
  private total = 0;
  /** A lone first byte 0xFF, held until the next says whether it starts a UTF-16LE byte order mark. */
  private lead: Buffer | null = null;

  constructor(private encoding: CsvEncoding) {
    this.utf16 = encoding === 'utf16le' ? new StringDecoder('utf16le') : null;
  }

  push(chunk: Uint8Array): Buffer {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.lead) {
      buf = Buffer.concat([this.lead, buf]);
      this.lead = null;
    }
    if (this.first && this.encoding !== 'utf16le') {
      if (this.total === 0 && ((buf.length === 1 && buf[0] === 0xff) || (this.encoding === 'latin1' && buf.length < 3 && buf.length > 0 && UTF8_BOM.subarray(0, buf.length).equals(buf)))) {
        this.lead = Buffer.from(buf);
        return Buffer.alloc(0);
      }
      // A UTF-8 byte order mark is never the start of a latin1 header ("ï»¿"): the file is UTF-8 (a
      // spreadsheet's "CSV UTF-8" export) whatever encoding the partner set. Read as latin1, the mark became
      // part of the first column's name and every record missed that column.
      if (this.total === 0 && this.encoding === 'latin1' && buf.length >= 3 && buf.subarray(0, 3).equals(UTF8_BOM)) {
        this.encoding = 'utf8';
        this.first = false;
        buf = buf.subarray(3);
        this.total = 3;
      }
      // A UTF-16LE byte order mark is never the start of UTF-8 text nor of a latin1 header ("ÿþ"): the file
      // is UTF-16LE (a spreadsheet's "Unicode text" export) whatever encoding the partner set.
      if (this.total === 0 && buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) {
        this.encoding = 'utf16le';
        this.utf16 = new StringDecoder('utf16le');
      } else if (buf.length > 0) {
        this.first = false;
      }
    }
    this.total += buf.length;
    if (this.encoding === 'utf8') return buf;
    if (this.encoding === 'latin1') return Buffer.from(windows1252(buf.toString('latin1')), 'utf8');
    let text = this.utf16!.write(buf);
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return encodeMarkingLoneSurrogates(text);
  }

  end(): Buffer {
    if (this.lead) {
      // The file was that one byte: read as what the encoding makes of it.
      const lead = this.lead;
      this.lead = null;
      this.first = false;
      return Buffer.concat([this.push(lead), this.end()]);
    }
    if (!this.utf16) return Buffer.alloc(0);
    const rest = encodeMarkingLoneSurrogates(this.utf16.end());
    // StringDecoder drops a dangling odd byte silently; report it.
    return this.total % 2 === 1 ? Buffer.concat([rest, INVALID_BYTE]) : rest;
  }
}

/**
 * Latin-1 text with 0x80-0x9F read as Windows-1252 has them (curly quotes, dashes, the euro sign, ...), as
 * the WHATWG Encoding Standard reads every "latin1" / "iso-8859-1" label. Files said to be latin1 come from
 * Windows programs, and in ISO-8859-1 proper those bytes are C1 control characters no CSV means: “€ 5” came
 * out as three invisible controls. Node 20's TextDecoder('windows-1252') decodes them as ISO-8859-1 does,
 * hence the table. The five bytes Windows-1252 leaves undefined stay as they were.
 */
const WINDOWS_1252_C1 = '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f'
  + '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';
const C1 = /[\x80-\x9f]/g;

export function windows1252(latin1: string): string {
  C1.lastIndex = 0;
  return C1.test(latin1) ? latin1.replace(C1, (c) => WINDOWS_1252_C1[c.charCodeAt(0) - 0x80]) : latin1;
}

const INVALID_BYTE = Buffer.from([0xff]);
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function encodeMarkingLoneSurrogates(text: string): Buffer {
  LONE_SURROGATE.lastIndex = 0;
  if (!LONE_SURROGATE.test(text)) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let last = 0;
  LONE_SURROGATE.lastIndex = 0;
  for (const m of text.matchAll(LONE_SURROGATE)) {
    parts.push(Buffer.from(text.slice(last, m.index!), 'utf8'), INVALID_BYTE);
    last = m.index! + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

// ------------------------------------------------------------------------------------------------
// Record splitter: UTF-8 bytes -> raw records with their start line, size and encoding checked.

interface Pos {
  line: number;
  column: number;
}

interface RawRecord {
  /** Line of the record's first character. */
  line: number;
  /** The record's bytes without its line ending; null when it was too large or unterminated. */
  text: Buffer | null;
  /** Nothing on the line (or whitespace only, when trimming). */
  empty: boolean;
  tooLarge?: number;
  badEncoding?: Pos;
  /** Where the record's first NUL is: no CSV text holds one (a corrupt or binary record). */
  nul?: Pos;
  /** Where a quote opened whose field runs over a line break (legal CSV, and what an unclosed quote looks like). */
  quoteOverLines?: Pos;
  unclosedQuote?: Pos;
  /**
   * A quote that opened a field and ran over a line break without closing well (see `RecordSplitter.recover`):
   * the record is cut at the end of the quote's line and rejected with this issue; the lines after it are read again.
   */
  strayQuote?: { code: CsvErrorCode; message: string; pos: Pos };
}

const LF = 0x0a;
const CR = 0x0d;

const enum S {
  FieldStart,
  Unquoted,
  Quoted,
  /** Inside quotes, just after a quote, when the escape is the quote: a second quote is a literal quote. */
  QuotePending,
  /** Inside quotes, just after a (non-quote) escape character. */
  Escaped,
}

class RecordSplitter {
  private readonly delim: number;
  private readonly quote: number;
  private readonly escape: number;
  private readonly escapeIsQuote: boolean;
  private readonly trim: boolean;
  private readonly maxBytes: number;
  private readonly stripBom: boolean;

  private line = 1;
  private nextCol = 1;
  private afterCR = false;
  private state = S.FieldStart;
  private openQuote: Pos = { line: 1, column: 1 };

  private recLine = 1;
  private parts: Buffer[] = [];
  /** Bytes of the current record seen in earlier chunks (kept in `parts` unless too large). */
  private recSize = 0;
  private recHasBytes = false;
  private recNonBlank = false;
  private recTooLarge = false;
  private recBad: Pos | null = null;
  private recNul: Pos | null = null;
  private recQuoteOverLines: Pos | null = null;
  /**
   * The first line break inside the current quoted field: its byte offset from the record's start, and the
   * line it ends. Set only while the field is open or just closed; what a stray quote is recovered from.
   */
  private fieldBreak: { offset: number; line: number } | null = null;
  /** The previous byte was a CR that ended a record: a LF now is the rest of that line ending. */
  private skipLF = false;

  private need = 0;
  private lo = 0x80;
  private hi = 0xbf;

  private bomPending: Buffer | null = null;
  private bomChecked: boolean;

  constructor(cfg: Config) {
    this.delim = cfg.delimiter.charCodeAt(0);
    this.quote = cfg.quote.charCodeAt(0);
    this.escape = cfg.escape.charCodeAt(0);
    this.escapeIsQuote = cfg.escape === cfg.quote;
    this.trim = cfg.trim;
    this.maxBytes = cfg.maxRecordSize;
    this.stripBom = cfg.encoding === 'utf8';
    this.bomChecked = !this.stripBom;
  }

  push(input: Buffer, out: RawRecord[]): void {
    let chunk = input;
    if (!this.bomChecked) {
      chunk = this.bomPending ? Buffer.concat([this.bomPending, chunk]) : chunk;
      if (chunk.length < 3) {
        this.bomPending = chunk;
        return;
      }
      this.bomPending = null;
      this.bomChecked = true;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    }
    this.scan(chunk, out);
  }

  end(out: RawRecord[]): void {
    if (this.bomPending) {
      const rest = this.bomPending;
      this.bomPending = null;
      this.bomChecked = true;
      this.scan(rest, out);
    }
    for (;;) {
      if ((this.state === S.Quoted || this.state === S.Escaped) && this.fieldBreak && !this.recTooLarge) {
        // The file ends inside a field whose quote opened lines ago: that quote is a stray one. Reject its
        // line and read the lines after it as records again.
        const open = this.openQuote;
        this.scan(this.recover(null, 0, 0, out, null, 'CSV_QUOTE_NOT_CLOSED',
          `a quoted field opened at line ${open.line} column ${open.column} is never closed: the file ends inside it, so the quote is taken as a stray one; ` +
          `the record is rejected and reading goes on at line ${this.fieldBreak.line + 1} (close the quote, or double it if it is part of the value)`), out);
        continue;
      }
      if (this.need > 0) this.markBad({ line: this.line, column: this.nextCol });
      if (this.state === S.Quoted || this.state === S.Escaped) {
        out.push({ line: this.recLine, text: null, empty: false, unclosedQuote: this.openQuote });
      } else if (this.recHasBytes) {
        this.emit(null, 0, 0, out);
      }
      break;
    }
    this.resetRecord();
  }

  /**
   * A quote opened a field, the field ran over a line break, and then went wrong: the file ended inside it,
   * it grew over maxRecordSize, or its closing quote is followed by other characters. A multi-line value
   * is legal CSV, but one that goes wrong is most likely a stray quote that took the lines after it into
   * its field. So the record is cut at the end of the quote's line and rejected with `code` and `message`,
   * and the bytes after that line (held, at most maxRecordSize, plus `rest`) are returned to be scanned
   * again as records of their own: one bad quote costs one record, not the rest of the file.
   */
  private recover(chunk: Buffer | null, segStart: number, upto: number, out: RawRecord[], rest: Buffer | null, code: CsvErrorCode, message: string): Buffer {
    const fb = this.fieldBreak!;
    const held = Buffer.concat(chunk ? [...this.parts, chunk.subarray(segStart, upto)] : this.parts);
    out.push({ line: this.recLine, text: held.subarray(0, fb.offset), empty: false, strayQuote: { code, message, pos: this.openQuote } });
    let after = fb.offset + 1;
    if (held[fb.offset] === CR && held[after] === LF) after++;
    const crAtEnd = held[fb.offset] === CR && after === held.length;
    this.resetRecord();
    this.need = 0;
    this.lo = 0x80;
    this.hi = 0xbf;
    this.line = this.recLine = fb.line + 1;
    this.nextCol = 1;
    // a CR that ends the held bytes: a LF first in `rest` is the rest of its line ending
    this.afterCR = this.skipLF = crAtEnd;
    const tail = held.subarray(after);
    return rest ? Buffer.concat([tail, rest]) : tail;
  }

  private markBad(pos: Pos): void {
    if (!this.recBad) this.recBad = pos;
  }

  private scan(chunk: Buffer, out: RawRecord[]): void {
    let input: Buffer | null = chunk;
    while (input) input = this.scanOnce(input, out);
  }

  /** Scans a chunk; returns the bytes to scan again when a stray quote was recovered from (see `recover`). */
  private scanOnce(chunk: Buffer, out: RawRecord[]): Buffer | null {
    const n = chunk.length;
    let segStart = 0;
    for (let i = 0; i < n; i++) {
      const b = chunk[i];
      // --- encoding and column bookkeeping (ASCII is the fast path)
      if (b >= 0x80 || this.need > 0) {
        if (this.need > 0) {
          if (b >= this.lo && b <= this.hi) {
            this.need--;
            this.lo = 0x80;
            this.hi = 0xbf;
            this.recHasBytes = true;
            this.recNonBlank = true;
            continue; // a continuation byte: never special, same column
          }
          this.markBad({ line: this.line, column: this.nextCol - 1 });
          this.need = 0;
          this.lo = 0x80;
          this.hi = 0xbf;
        }
        if (b >= 0x80) {
          if (b >= 0xc2 && b <= 0xdf) this.need = 1;
          else if (b === 0xe0) (this.need = 2), (this.lo = 0xa0);
          else if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) this.need = 2;
          else if (b === 0xed) (this.need = 2), (this.hi = 0x9f);
          else if (b === 0xf0) (this.need = 3), (this.lo = 0x90);
          else if (b >= 0xf1 && b <= 0xf3) this.need = 3;
          else if (b === 0xf4) (this.need = 3), (this.hi = 0x8f);
          else this.markBad({ line: this.line, column: this.nextCol });
        }
      }
      const col = this.nextCol++;

      // --- line endings
      if (b === LF || b === CR) {
        const crlfTail = b === LF && this.afterCR;
        this.afterCR = b === CR;
        if (crlfTail && this.skipLF) {
          // the LF of a CRLF that ended the previous record
          this.skipLF = false;
          this.nextCol = 1;
          segStart = i + 1;
          continue;
        }
        this.skipLF = false;
        if ((this.state === S.Quoted || this.state === S.Escaped) && this.fieldBreak === null && !crlfTail) {
          this.fieldBreak = { offset: this.recSize + (i - segStart), line: this.line };
        }
        if (!crlfTail) this.line++;
        this.nextCol = 1;
        if (this.state === S.Quoted) {
          this.recHasBytes = this.recNonBlank = true;
          this.recQuoteOverLines ??= this.openQuote;
          continue;
        }
        if (this.state === S.Escaped) {
          this.state = S.Quoted;
          this.recHasBytes = this.recNonBlank = true;
          continue;
        }
        // FieldStart, Unquoted or QuotePending (which the line ending closes): the record ends here.
        this.emit(chunk, segStart, i, out);
        this.resetRecord();
        this.recLine = this.line;
        this.skipLF = b === CR;
        segStart = i + 1;
        continue;
      }
      this.afterCR = false;
      this.skipLF = false;
      this.recHasBytes = true;
      if (b === 0 && this.recNul === null) this.recNul = { line: this.line, column: col };

      // --- quotes and delimiters
      switch (this.state) {
        case S.FieldStart:
          if (b === this.quote) {
            this.state = S.Quoted;
            this.openQuote = { line: this.line, column: col };
            this.fieldBreak = null;
            this.recNonBlank = true;
          } else if (b === this.delim) {
            this.recNonBlank = true;
          } else if (this.trim && (b === 0x20 || b === 0x09 || b === 0x0b || b === 0x0c)) {
            // leading whitespace csv-parse will trim: a quote may still open the field
          } else {
            this.state = S.Unquoted;
            this.recNonBlank = true;
          }
          break;
        case S.Unquoted:
          if (b === this.delim) this.state = S.FieldStart;
          break;
        case S.Quoted:
          if (b === this.quote) this.state = S.QuotePending;
          else if (b === this.escape) this.state = S.Escaped;
          break;
        case S.Escaped:
          this.state = S.Quoted;
          break;
        case S.QuotePending:
          if (b === this.quote && this.escapeIsQuote) this.state = S.Quoted;
          else if (b === this.delim) this.state = S.FieldStart;
          else if (this.fieldBreak !== null && !this.recTooLarge && !(this.trim && (b === 0x20 || b === 0x09))) {
            // Characters after the closing quote of a field that ran over lines: its opening quote was a stray one.
            const open = this.openQuote;
            const message = `the quote at line ${open.line} column ${open.column} is not closed on its line: its field runs on to a quote at line ${this.line} ` +
              `column ${col - 1} with characters after it, so the quote is taken as a stray one; the record is rejected and reading goes on at line ${this.fieldBreak.line + 1} ` +
              '(close the quote, or double it if it is part of the value)';
            return this.recover(chunk, segStart, i, out, chunk.subarray(i), 'CSV_QUOTE_INVALID', message);
          } else this.state = S.Unquoted;
          break;
      }
    }
    // keep the unfinished record's bytes (bounded by maxRecordSize)
    if (segStart < n) {
      if (!this.recTooLarge && this.recSize + (n - segStart) > this.maxBytes && this.fieldBreak !== null &&
          (this.state === S.Quoted || this.state === S.Escaped)) {
        // A field that ran over lines and now over maxRecordSize: its opening quote was a stray one.
        const open = this.openQuote;
        return this.recover(chunk, segStart, n, out, null, 'CSV_QUOTE_NOT_CLOSED',
          `a quoted field opened at line ${open.line} column ${open.column} is not closed within the maximum record size of ${this.maxBytes} bytes, so the quote is taken as a stray one; ` +
          `the record is rejected and reading goes on at line ${this.fieldBreak.line + 1} (close the quote, or double it if it is part of the value)`);
      }
      this.recSize += n - segStart;
      if (this.recTooLarge || this.recSize > this.maxBytes) {
        this.recTooLarge = true;
        this.parts = [];
      } else {
        this.parts.push(chunk.subarray(segStart));
      }
    }
    return null;
  }

  private emit(chunk: Buffer | null, from: number, to: number, out: RawRecord[]): void {
    const size = this.recSize + (to - from);
    const rec: RawRecord = { line: this.recLine, text: null, empty: !this.recNonBlank };
    if (this.recTooLarge || size > this.maxBytes) {
      rec.tooLarge = size;
    } else if (chunk === null || this.parts.length > 0) {
      if (chunk) this.parts.push(chunk.subarray(from, to));
      rec.text = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    } else {
      rec.text = chunk.subarray(from, to);
    }
    if (this.recBad) rec.badEncoding = this.recBad;
    if (this.recNul) rec.nul = this.recNul;
    if (this.recQuoteOverLines) rec.quoteOverLines = this.recQuoteOverLines;
    out.push(rec);
  }

  private resetRecord(): void {
    this.state = S.FieldStart;
    this.parts = [];
    this.recSize = 0;
    this.recHasBytes = false;
    this.recNonBlank = false;
    this.recTooLarge = false;
    this.recBad = null;
    this.recNul = null;
    this.recQuoteOverLines = null;
    this.fieldBreak = null;
  }
}

// ------------------------------------------------------------------------------------------------
// Raw records -> header, records and issues (csv-parse reads the fields).

interface Job {
  raw: RawRecord;
  fields?: string[];
  issue?: Omit<CsvIssue, 'index' | 'fatal'>;
}

class Assembler {
  stopped = false;
  private names: string[] | null;
  private awaitingHeader: boolean;
  private expected = -1;
  private index = 0;
  private sawAnything = false;
  private readonly parseOptions: CsvParseOptions;

  constructor(private readonly cfg: Config) {
    this.names = Array.isArray(cfg.header) ? cfg.header : null;
    this.awaitingHeader = cfg.header === true;
    if (this.names) this.expected = this.names.length;
    this.parseOptions = {
      delimiter: cfg.delimiter,
      quote: cfg.quote,
      escape: cfg.escape,
      record_delimiter: '\n',
      encoding: 'utf8',
      bom: false,
      cast: false,
      columns: false,
      relax_column_count: true,
      relax_quotes: false,
      skip_empty_lines: false,
      trim: cfg.trim,
      max_record_size: 0,
    };
  }

  *process(raws: RawRecord[]): Generator<CsvItem> {
    const jobs: Job[] = [];
    const toParse: Job[] = [];
    for (const raw of raws) {
      if (raw.empty && this.cfg.skipEmptyLines && !raw.badEncoding) continue;
      const job: Job = { raw };
      jobs.push(job);
      if (raw.strayQuote) {
        job.issue = this.issue(raw.strayQuote.code, raw.strayQuote.message, raw.strayQuote.pos);
      } else if (raw.unclosedQuote) {
        job.issue = this.issue('CSV_QUOTE_NOT_CLOSED', `a quoted field opened at line ${raw.unclosedQuote.line} column ${raw.unclosedQuote.column} is never closed: the file ends inside it`, raw.unclosedQuote);
      } else if (raw.tooLarge !== undefined) {
        job.issue = this.issue('CSV_RECORD_TOO_LARGE', `the record starting on line ${raw.line} is ${raw.tooLarge} bytes, over the maximum of ${this.cfg.maxRecordSize}`, { line: raw.line, column: 1 });
      } else if (raw.badEncoding) {
        job.issue = this.issue('CSV_INVALID_ENCODING', `bytes that are not valid ${this.cfg.encoding} at line ${raw.badEncoding.line} column ${raw.badEncoding.column}`, raw.badEncoding);
      } else if (raw.nul) {
        job.issue = this.issue('CSV_NUL_CHARACTER', `a NUL character at line ${raw.nul.line} column ${raw.nul.column}: no CSV text holds one (a corrupt or binary record)`, raw.nul);
      } else if (raw.empty) {
        job.fields = [''];
      } else {
        toParse.push(job);
      }
    }
    this.parseBatch(toParse);
    for (const job of jobs) {
      yield* this.deliver(job);
      if (this.stopped) return;
    }
  }

  *finish(): Generator<CsvItem> {
    if (!this.sawAnything) {
      yield { ...this.issue('CSV_EMPTY_FILE', 'the file holds no records', { line: 1, column: 1 }), fatal: true };
      this.stopped = true;
    }
  }

  private issue(code: CsvErrorCode, message: string, pos: Pos, field?: number): Omit<CsvIssue, 'index' | 'fatal'> {
    const base = { kind: 'issue' as const, code, severity: catalogue[code].severity, message, line: pos.line, column: pos.column };
    return field === undefined ? base : { ...base, field };
  }

  private *deliver(job: Job): Generator<CsvItem> {
    this.sawAnything = true;
    const { raw } = job;
    if (this.awaitingHeader) {
      this.awaitingHeader = false;
      if (job.issue) {
        yield { ...job.issue, code: 'CSV_HEADER_INVALID', severity: catalogue.CSV_HEADER_INVALID.severity, message: `the header row cannot be read: ${job.issue.message} (${job.issue.code})`, fatal: true };
        this.stopped = true;
        return;
      }
      const names = job.fields!;
      const bad = headerProblem(names);
      if (bad) {
        const pos = fieldPosition(this.cfg, raw, bad.field);
        yield { ...this.issue('CSV_HEADER_INVALID', bad.message, pos, bad.field), fatal: true };
        this.stopped = true;
        return;
      }
      this.names = names;
      this.expected = names.length;
      yield { kind: 'header', line: raw.line, names: [...names] };
      return;
    }
    const index = ++this.index;
    if (job.issue) {
      yield { ...job.issue, index, fatal: false };
      return;
    }
    const fields = job.fields!;
    if (this.expected < 0) this.expected = fields.length;
    if (fields.length !== this.expected && !this.cfg.relaxColumnCount) {
      const more = fields.length > this.expected;
      const pos = more ? fieldPosition(this.cfg, raw, this.expected + 1) : fieldPosition(this.cfg, raw, Number.MAX_SAFE_INTEGER);
      const against = this.names ? 'the header has' : 'the first record has';
      yield {
        ...this.issue('CSV_FIELD_COUNT', `record ${index} has ${fields.length} field${fields.length === 1 ? '' : 's'}; ${against} ${this.expected}`, pos, more ? this.expected + 1 : fields.length),
        index,
        fatal: false,
      };
      return;
    }
    const record: CsvRecord = { kind: 'record', line: raw.line, index, fields };
    if (this.names) {
      const byName: Record<string, string> = Object.create(null) as Record<string, string>;
      const n = Math.min(this.names.length, fields.length);
      for (let i = 0; i < n; i++) byName[this.names[i]] = fields[i];
      record.byName = byName;
    }
    yield record;
  }

  /** One csv-parse call for the batch; record by record when the batch does not come back one-to-one. */
  private parseBatch(jobs: Job[]): void {
    if (jobs.length === 0) return;
    const parts: Buffer[] = [];
    for (const j of jobs) parts.push(j.raw.text!, NEWLINE);
    try {
      const rows = csvParseSync(Buffer.concat(parts), this.parseOptions);
      if (rows.length === jobs.length) {
        for (let i = 0; i < jobs.length; i++) jobs[i].fields = rows[i];
        return;
      }
    } catch {
      // fall through: find the record(s) at fault
    }
    for (const j of jobs) this.parseOne(j);
  }

  private parseOne(job: Job): void {
    const { raw } = job;
    try {
      const rows = csvParseSync(raw.text!, { ...this.parseOptions, raw: true }) as unknown as { record: string[] }[];
      if (rows.length === 1) {
        job.fields = rows[0].record;
        return;
      }
      job.issue = this.issue('CSV_RECORD_MALFORMED', `the record starting on line ${raw.line} reads as ${rows.length} records`, { line: raw.line, column: 1 });
    } catch (err) {
      job.issue = this.fromCsvParseError(err, raw);
    }
  }

  private fromCsvParseError(err: unknown, raw: RawRecord): Omit<CsvIssue, 'index' | 'fatal'> {
    const e = err as { code?: string; message?: string; raw?: unknown; column?: unknown };
    const prefix = typeof e.raw === 'string' ? e.raw : '';
    const field = typeof e.column === 'number' ? e.column + 1 : undefined;
    const at = (after: boolean): Pos => positionAfter(raw.line, prefix, after);
    switch (e.code) {
      case 'INVALID_OPENING_QUOTE':
        return this.issue('CSV_QUOTE_INVALID', `a quote inside unquoted field ${field ?? '?'}: quote the whole field and double the quotes inside it`, at(false), field);
      case 'CSV_INVALID_CLOSING_QUOTE':
      case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE': {
        const after = at(e.code === 'CSV_INVALID_CLOSING_QUOTE');
        const open = raw.quoteOverLines;
        if (open && after.line > open.line) {
          // A quote that opened a field and ran over line breaks to a quote lines later: most likely a quote
          // never closed on its own line, which took the lines up to that later quote into this record.
          return this.issue('CSV_QUOTE_INVALID', `the quote at line ${open.line} column ${open.column} is not closed on its line: its field runs on to a quote at line ${after.line} ` +
            `column ${after.column - 1}, so lines ${open.line} to ${after.line} are read as one record that cannot be read (close the quote, or double it if it is part of the value)`, open, field);
        }
        return this.issue('CSV_QUOTE_INVALID', `characters after the closing quote of field ${field ?? '?'}, where a delimiter or line end belongs`, after, field);
      }
      case 'CSV_QUOTE_NOT_CLOSED':
        return this.issue('CSV_QUOTE_NOT_CLOSED', 'a quoted field is never closed', { line: raw.line, column: 1 }, field);
      default:
        return this.issue('CSV_RECORD_MALFORMED', `the record cannot be parsed: ${e.message ?? String(err)}`, { line: raw.line, column: 1 }, field);
    }
  }
}

const NEWLINE = Buffer.from('\n');

function headerProblem(names: readonly string[]): { field: number; message: string } | null {
  for (let i = 0; i < names.length; i++) {
    if (names[i].trim() === '') return { field: i + 1, message: `header column ${i + 1} has no name` };
  }
  const dup = firstDuplicate(names);
  if (dup) return { field: dup.at, message: `header column ${dup.at} repeats the name ${JSON.stringify(dup.name)} of column ${dup.first}` };
  return null;
}

/** Line and column just after (or at the last character of) `prefix`, which starts a record at `line`, column 1. */
function positionAfter(line: number, prefix: string, after: boolean): Pos {
  let l = line;
  let lastBreakEnd = 0;
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    if (c === LF || c === CR) {
      if (c === CR && prefix.charCodeAt(i + 1) === LF) i++;
      l++;
      lastBreakEnd = i + 1;
    }
  }
  const column = [...prefix.slice(lastBreakEnd)].length;
  return { line: l, column: Math.max(1, after ? column + 1 : column) };
}

/**
 * Where field `n` (1-based) of a record starts; for an `n` past the last field, the position just after the
 * record's last character. Only used to locate errors, so a plain scan of the decoded record is enough.
 */
function fieldPosition(cfg: Config, raw: RawRecord, n: number): Pos {
  const text = raw.text ? raw.text.toString('utf8') : '';
  let line = raw.line;
  let column = 1;
  let field = 1;
  if (n <= 1) return { line, column };
  let quoted = false;
  let atStart = true;
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && chars[i + 1] === '\n') i++;
      line++;
      column = 1;
      atStart = false;
      continue;
    }
    if (quoted) {
      if (ch === cfg.escape && cfg.escape !== cfg.quote) {
        i++;
        column++;
      } else if (ch === cfg.quote) {
        if (cfg.escape === cfg.quote && chars[i + 1] === cfg.quote) {
          i++;
          column++;
        } else {
          quoted = false;
        }
      }
    } else if (ch === cfg.delimiter) {
      field++;
      if (field === n) return { line, column: column + 1 };
      atStart = true;
      column++;
      continue;
    } else if (ch === cfg.quote && atStart) {
      quoted = true;
    }
    atStart = false;
    column++;
  }
  return { line, column };
}
