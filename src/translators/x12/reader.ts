// The public X12 reader: a file, a stream or a buffer in, envelope events out, one transaction set at
// a time. Memory is bounded by the read size plus the largest transaction set, whatever the file size.

import { open } from 'node:fs/promises';
import { TextDecoder } from 'node:util';
import type { Readable } from 'node:stream';
import { EnvelopeAssembler } from './envelope.js';
import { issue } from './issues.js';
import type { X12Event } from './model.js';
import { X12Tokenizer, type Token, type TokenizerOptions } from './tokenizer.js';

export type ReaderOptions = TokenizerOptions & {
  /**
   * How many bytes are cut into segments at a time: the events of each piece come as one batch. Default
   * 16 KiB (DEFAULT_CHUNK_SIZE). A file is read from disk in larger reads (FILE_READ_SIZE), each cut
   * into pieces of this size.
   */
  chunkSize?: number;
};

/**
 * Why 16 KiB pieces: the segments of a piece are all made before the first of its transactions is
 * checked and mapped, and those of 64 KiB (about 900 KB of objects) no longer fit the processor's cache
 * by then, so every segment was fetched from memory again. Pieces of 8-16 KiB translated the 100,000-
 * transaction bench file 7-9% faster than 64 KiB; 32 KiB was halfway. Smaller pieces read from disk one
 * by one, though, left the thread waiting for each read (8 KiB reads: 190 ms idle in a 1.1 s run): hence
 * FILE_READ_SIZE.
 */
export const DEFAULT_CHUNK_SIZE = 16 * 1024;
/**
 * Read size for files (or the file's size, when smaller): few reads, each split into chunkSize pieces.
 * Two buffers of it are kept, whatever the file's size (reads of 256 KiB and of 1 MiB both beat 64 KiB;
 * 4 MiB did not, its buffers cost more page faults).
 */
export const FILE_READ_SIZE = 1024 * 1024;

export type X12Source = string | Buffer | Uint8Array | Readable | AsyncIterable<Buffer | Uint8Array | string>;

/** Bytes of "ISA" spelt in UTF-16. */
const UTF16_ISA_BYTES = 6;
/** Whitespace characters (space, tab, CR, LF) a UTF-16 file without a BOM may have before its "ISA". */
const UTF16_MAX_LEADING = 256;
const UTF16_ORDERS = [['utf-16le', 0], ['utf-16be', 1]] as const;

function isUtf16Whitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * Where whitespace ends at the start of `head` read as UTF-16 in one byte order (`low` 0: little-endian,
 * 1: big-endian), in bytes; -1 when it runs past UTF16_MAX_LEADING characters.
 */
function utf16LeadingWhitespace(head: Uint8Array, low: 0 | 1): number {
  let at = 0;
  while (at + 1 < head.length && head[at + 1 - low] === 0 && isUtf16Whitespace(head[at + low])) {
    at += 2;
    if (at > 2 * UTF16_MAX_LEADING) return -1;
  }
  return at;
}

/**
 * The UTF-16 form a file's first bytes show, or null: a byte order mark (FF FE little-endian, FE FF
 * big-endian), or an "ISA" whose letters alternate with NULs (UTF-16 without a BOM), after whitespace or
 * not. X12 is ASCII or UTF-8 text, but a file saved from Notepad as "Unicode" or written by a PowerShell 5
 * redirect is UTF-16LE.
 */
export function utf16Form(head: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  const isa = [0x49, 0x53, 0x41];
  for (const [form, low] of UTF16_ORDERS) {
    const at = utf16LeadingWhitespace(head, low);
    if (at < 0 || at + UTF16_ISA_BYTES > head.length) continue;
    if (isa.every((c, k) => head[at + 2 * k + low] === c && head[at + 2 * k + 1 - low] === 0)) return form;
  }
  return null;
}

/**
 * Whether too few bytes have come to tell whether the file is UTF-16: fewer than a spelt "ISA", or only
 * whitespace as UTF-16 reads it so far (the ISA may still follow).
 */
function utf16Undecided(head: Uint8Array): boolean {
  if (head.length < UTF16_ISA_BYTES) return true;
  for (const [, low] of UTF16_ORDERS) {
    const at = utf16LeadingWhitespace(head, low);
    if (at >= 0 && at + UTF16_ISA_BYTES > head.length) return true;
  }
  return false;
}

/** Drives tokenizer + assembler over chunks; shared by the sync and async readers. */
class ReaderCore {
  /** Made with the first bytes: a UTF-16 file is read through a decoder, and its values as UTF-8. */
  private tokenizer: X12Tokenizer | null = null;
  private readonly assembler = new EnvelopeAssembler();
  private readonly tokens: Token[] = [];
  private sawAnything = false;
  /** Set for a UTF-16 file: its text is handed to the tokenizer as UTF-8 bytes. */
  private utf16: TextDecoder | null = null;
  /** The first bytes, while too few have come to tell whether the file is UTF-16. */
  private head: Buffer | null = null;

  constructor(private readonly options: ReaderOptions) {}

  push(chunk: Buffer | Uint8Array): X12Event[] {
    this.tokens.length = 0;
    if (this.tokenizer === null) {
      const head = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      if (utf16Undecided(head)) {
        this.head = Buffer.from(head);
        return [];
      }
      this.head = null;
      return this.begin(head);
    }
    this.tokenize(chunk);
    return this.assemble();
  }

  /** Starts on the file's first bytes: as they are, or decoded from UTF-16 with a warning saying so. */
  private begin(head: Buffer | Uint8Array): X12Event[] {
    const form = utf16Form(head);
    const notice: X12Event[] = [];
    if (form !== null) {
      this.utf16 = new TextDecoder(form); // drops the BOM itself
      const order = form === 'utf-16le' ? 'little-endian' : 'big-endian';
      const bom = head[0] === 0xff || head[0] === 0xfe ? 'with' : 'without';
      notice.push({
        type: 'issue',
        issue: issue('X12_UTF16_TEXT', `the file is UTF-16 text (${order}, ${bom} a byte order mark), not ASCII or UTF-8 as X12 is sent: it is read as the characters it holds; byte offsets in findings count those characters as UTF-8`,
          { offset: 0, line: 1, column: 1 }),
      });
    }
    this.tokenizer = new X12Tokenizer(form === null ? this.options : { ...this.options, encoding: 'utf8' });
    if (head.length > 0) this.tokenize(head);
    const out = this.assemble();
    return notice.length ? [...notice, ...out] : out;
  }

  private tokenize(chunk: Buffer | Uint8Array): void {
    const bytes = this.utf16 ? Buffer.from(this.utf16.decode(chunk, { stream: true }), 'utf8') : chunk;
    this.tokenizer!.push(bytes, this.tokens);
  }

  end(): X12Event[] {
    this.tokens.length = 0;
    let out: X12Event[] = [];
    if (this.tokenizer === null) out = this.begin(this.head ?? Buffer.alloc(0));
    this.tokens.length = 0;
    const tokenizer = this.tokenizer!;
    if (this.utf16) {
      const rest = this.utf16.decode();
      if (rest) tokenizer.push(Buffer.from(rest, 'utf8'), this.tokens);
    }
    tokenizer.end(this.tokens);
    out = out.concat(this.assemble());
    const loc = tokenizer.endLocation();
    this.assembler.end(out, loc);
    if (!this.sawAnything) {
      // About the whole file, so at its start (as translate's PIPELINE_EMPTY_FILE), not after 50 MB of padding.
      out.push({ type: 'issue', issue: issue('X12_EMPTY_FILE', 'the file holds no X12 data (it is empty, or holds only whitespace, NUL padding or an end-of-file mark)', { offset: 0, line: 1, column: 1 }) });
    }
    return out;
  }

  private assemble(): X12Event[] {
    const out: X12Event[] = [];
    if (this.tokens.length > 0) this.sawAnything = true;
    const tokens = this.tokens;
    for (let i = 0; i < tokens.length; i++) this.assembler.accept(tokens[i], out);
    return out;
  }
}

/** Reads X12 held in memory. Yields events in file order. */
export function* readX12Sync(input: Buffer | Uint8Array | string, options: ReaderOptions = {}): Generator<X12Event> {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const core = new ReaderCore(options);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  for (let off = 0; off < buf.length; off += chunkSize) {
    yield* core.push(buf.subarray(off, Math.min(buf.length, off + chunkSize)));
  }
  yield* core.end();
}

/** Streams X12 from a file path, a Node stream or any async iterable of chunks. */
export async function* readX12(source: X12Source, options: ReaderOptions = {}): AsyncGenerator<X12Event> {
  for await (const batch of readX12Batches(source, options)) {
    for (const e of batch) yield e;
  }
}

/**
 * readX12, one array of events per chunk read: for consumers on the hot path (translation), one await
 * per chunk instead of one per event (that costs 15-30% of the reading time on a large file).
 */
export async function* readX12Batches(source: X12Source, options: ReaderOptions = {}): AsyncGenerator<X12Event[]> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (typeof source !== 'string' && (Buffer.isBuffer(source) || source instanceof Uint8Array)) {
    const buf = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    const core = new ReaderCore(options);
    for (let off = 0; off < buf.length; off += chunkSize) {
      const events = core.push(buf.subarray(off, Math.min(buf.length, off + chunkSize)));
      if (events.length > 0) yield events;
    }
    yield core.end();
    return;
  }
  const stream: AsyncIterable<Buffer | Uint8Array | string> = typeof source === 'string' ? fileChunks(source, Math.max(chunkSize, FILE_READ_SIZE)) : source;
  const core = new ReaderCore(options);
  for await (const received of stream) {
    // A file's chunk stays valid until the next is asked for (fileChunks): every piece of it is pushed
    // (and copied by the tokenizer) before that.
    const chunk = typeof received === 'string' ? Buffer.from(received, 'utf8') : received;
    for (let off = 0; off < chunk.length; off += chunkSize) {
      const events = core.push(chunk.subarray(off, Math.min(chunk.length, off + chunkSize)));
      if (events.length > 0) yield events;
    }
  }
  yield core.end();
}

/**
 * A file's bytes, read ahead one chunk at a time into two buffers used in turn. A chunk is valid until
 * the next one is asked for: the reader copies each into a string before it asks again.
 *
 * Not a read stream: a stream reads every chunk into a new buffer, and on a machine where the first
 * touch of a page is dear that showed. Reading a 37 MB file and decoding it took 16,200 page faults and
 * 210-240 ms as a stream, against 9,900 faults (the rest are the decoded strings) and 195-215 ms with two
 * buffers.
 */
async function* fileChunks(path: string, readSize: number): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  let bufferSize = readSize;
  try {
    // A small file needs no 1 MiB buffers (most partner files are a few KB). A file still growing is
    // read on, a buffer-full at a time, to its end.
    const { size } = await file.stat();
    if (size > 0 && size < readSize) bufferSize = size;
  } catch (err) {
    await file.close();
    throw err;
  }
  const buffers = [Buffer.allocUnsafeSlow(bufferSize), Buffer.allocUnsafeSlow(bufferSize)];
  let next = 0;
  let reading: Promise<{ bytesRead: number }> | null = file.read(buffers[next], 0, bufferSize, null);
  try {
    for (;;) {
      const { bytesRead } = await reading;
      reading = null;
      if (bytesRead === 0) return;
      const chunk = buffers[next].subarray(0, bytesRead);
      next ^= 1;
      // The other buffer is free: the chunk before this one was consumed when this one was asked for.
      reading = file.read(buffers[next], 0, bufferSize, null);
      yield chunk;
    }
  } finally {
    // A consumer that stops early leaves a read in flight: let it land before the file is closed.
    if (reading) await reading.catch(() => undefined);
    await file.close();
  }
}
