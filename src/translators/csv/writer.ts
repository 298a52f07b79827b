// CSV writer: rows of strings -> RFC 4180 text. A field is quoted when it holds the delimiter, the quote, CR
// or LF (or when `quoteAll`); quotes inside a quoted field are doubled. Every row ends with the line ending
// (CRLF by default, as RFC 4180 says; LF on request). Values are never converted: anything that is not a
// string is refused with CSV_WRITE_INVALID_VALUE, so a number or a date can never be written in a format
// nobody chose.

import { Transform, type TransformCallback } from 'node:stream';
import { WaybillError } from '../../errors/catalogue.js';
import { firstUnwritable } from '../unwritable.js';

export interface CsvWriteOptions {
  /** One character other than CR, LF and the quote. Default ','. */
  delimiter?: string;
  /** One character other than CR and LF. Default '"'. */
  quote?: string;
  /** Default 'crlf'. */
  lineEnding?: 'crlf' | 'lf';
  /** A header row written before the first row. */
  header?: readonly string[];
  /** Quote every field, not only those that need it. Default false. */
  quoteAll?: boolean;
}

interface WriteConfig {
  delimiter: string;
  quote: string;
  eol: string;
  quoteAll: boolean;
  header: readonly string[] | undefined;
}

function configure(options: CsvWriteOptions): WriteConfig {
  const delimiter = options.delimiter ?? ',';
  const quote = options.quote ?? '"';
  for (const [name, v] of [['delimiter', delimiter], ['quote', quote]] as const) {
    if (typeof v !== 'string' || [...v].length !== 1 || v === '\r' || v === '\n') {
      throw new WaybillError('CSV_OPTIONS_INVALID', `${name} must be one character other than CR or LF, got ${JSON.stringify(v)}`);
    }
  }
  if (delimiter === quote) throw new WaybillError('CSV_OPTIONS_INVALID', 'delimiter and quote must differ');
  const lineEnding = options.lineEnding ?? 'crlf';
  if (lineEnding !== 'crlf' && lineEnding !== 'lf') {
    throw new WaybillError('CSV_OPTIONS_INVALID', `lineEnding must be 'crlf' or 'lf', got ${JSON.stringify(lineEnding)}`);
  }
  return { delimiter, quote, eol: lineEnding === 'crlf' ? '\r\n' : '\n', quoteAll: options.quoteAll ?? false, header: options.header };
}

function quoteField(value: string, cfg: WriteConfig): string {
  const needs =
    cfg.quoteAll || value.includes(cfg.delimiter) || value.includes(cfg.quote) || value.includes('\r') || value.includes('\n');
  return needs ? cfg.quote + value.split(cfg.quote).join(cfg.quote + cfg.quote) + cfg.quote : value;
}

function formatRow(row: unknown, rowNumber: number, cfg: WriteConfig): string {
  if (!Array.isArray(row)) {
    throw new WaybillError('CSV_WRITE_INVALID_VALUE', `row ${rowNumber} is not an array of strings`, { row: rowNumber });
  }
  let out = '';
  for (let i = 0; i < row.length; i++) {
    const v: unknown = row[i];
    if (typeof v !== 'string') {
      const got = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
      throw new WaybillError('CSV_WRITE_INVALID_VALUE', `row ${rowNumber} field ${i + 1} is ${got}, not a string`, { row: rowNumber, field: i + 1 });
    }
    // A NUL or another control character (tab and line breaks aside, which quoting carries) makes a record
    // readers refuse (Waybill's own: CSV_NUL_CHARACTER); half of a surrogate pair would be written as U+FFFD.
    const bad = firstUnwritable(v, { lineBreaks: true });
    if (bad) {
      throw new WaybillError('CSV_WRITE_INVALID_VALUE', `row ${rowNumber} field ${i + 1} holds ${bad.description}, which CSV text cannot carry`,
        { row: rowNumber, field: i + 1 });
    }
    if (i > 0) out += cfg.delimiter;
    out += quoteField(v, cfg);
  }
  // A row of one empty field would be an empty line, which readers skip: write it as "" instead.
  if (row.length === 1 && out === '') out = cfg.quote + cfg.quote;
  return out + cfg.eol;
}

/**
 * One row as CSV text, line ending included. `rowNumber` (1-based) only labels errors.
 */
export function formatCsvRow(row: readonly string[], options: CsvWriteOptions = {}, rowNumber = 1): string {
  return formatRow(row, rowNumber, configure(options));
}

/** Rows (and the optional header) as one CSV text. */
export function writeCsv(rows: Iterable<readonly string[]>, options: CsvWriteOptions = {}): string {
  const cfg = configure(options);
  const out: string[] = [];
  if (cfg.header) out.push(formatRow(cfg.header, 0, cfg));
  let n = 0;
  for (const row of rows) out.push(formatRow(row, ++n, cfg));
  return out.join('');
}

/** Streams rows as CSV text: each row in, its text out. For files of any size. */
export async function* writeCsvStream(
  rows: AsyncIterable<readonly string[]> | Iterable<readonly string[]>,
  options: CsvWriteOptions = {},
): AsyncGenerator<string> {
  const cfg = configure(options);
  if (cfg.header) yield formatRow(cfg.header, 0, cfg);
  let n = 0;
  for await (const row of rows) yield formatRow(row, ++n, cfg);
}

/**
 * A Transform stream: write rows (string[]) in object mode, read CSV text (strings). Use with
 * `stream.pipeline(rows, createCsvWriteStream(), fs.createWriteStream(path))`. A bad row fails the stream
 * with a CSV_WRITE_INVALID_VALUE WaybillError.
 */
export function createCsvWriteStream(options: CsvWriteOptions = {}): Transform {
  const cfg = configure(options);
  let n = 0;
  let started = false;
  return new Transform({
    writableObjectMode: true,
    readableObjectMode: false,
    transform(row: unknown, _enc: BufferEncoding, done: TransformCallback) {
      try {
        let text = '';
        if (!started && cfg.header) text += formatRow(cfg.header, 0, cfg);
        started = true;
        text += formatRow(row, ++n, cfg);
        done(null, text);
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        done(null, !started && cfg.header ? formatRow(cfg.header, 0, cfg) : undefined);
      } catch (err) {
        done(err as Error);
      }
    },
  });
}
