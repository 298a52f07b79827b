import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WaybillError } from '../../../src/errors/catalogue.js';
import { readCsvAll } from '../../../src/translators/csv/reader.js';
import { createCsvWriteStream, formatCsvRow, writeCsv, writeCsvStream } from '../../../src/translators/csv/writer.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return e instanceof WaybillError ? e.code : String(e);
  }
}

describe('CSV writer', () => {
  it('writes CRLF rows and quotes only fields that need it', () => {
    const text = writeCsv(
      [
        ['00123', 'ACME, Inc', 'say "hi"', 'two\nlines', 'cr\rhere', ''],
        ['plain', ' spaced ', '', '', '', ''],
      ],
      { header: ['pro', 'name', 'quote', 'lf', 'cr', 'empty'] },
    );
    expect(text).toBe(
      'pro,name,quote,lf,cr,empty\r\n' +
        '00123,"ACME, Inc","say ""hi""","two\nlines","cr\rhere",\r\n' +
        'plain, spaced ,,,,\r\n',
    );
  });

  it('supports LF, another delimiter and another quote character', () => {
    expect(writeCsv([['a;b', "it's", 'c,d']], { lineEnding: 'lf', delimiter: ';', quote: "'" })).toBe("'a;b';'it''s';c,d\n");
    expect(formatCsvRow(['x', 'y'], { quoteAll: true })).toBe('"x","y"\r\n');
  });

  it('writes a row of one empty field as "" so readers do not skip it as an empty line', () => {
    expect(writeCsv([['a'], [''], ['b']], { lineEnding: 'lf' })).toBe('a\n""\nb\n');
  });

  it('refuses non-string values with CSV_WRITE_INVALID_VALUE and says where', () => {
    for (const bad of [12.5, null, undefined, true, new Date(0), ['x']]) {
      expect(codeOf(() => writeCsv([['ok'], ['ok', bad as unknown as string]]))).toBe('CSV_WRITE_INVALID_VALUE');
    }
    try {
      writeCsv([['ok'], ['ok', 7 as unknown as string]]);
    } catch (e) {
      expect((e as WaybillError).details).toEqual({ row: 2, field: 2 });
      expect((e as WaybillError).message).toContain('row 2 field 2 is number');
    }
    expect(codeOf(() => writeCsv(['not an array' as unknown as string[]]))).toBe('CSV_WRITE_INVALID_VALUE');
    expect(codeOf(() => writeCsv([['a']], { delimiter: '\n' }))).toBe('CSV_OPTIONS_INVALID');
    expect(codeOf(() => writeCsv([['a']], { delimiter: '"' }))).toBe('CSV_OPTIONS_INVALID');
  });

  it('streams: the Transform and the async generator give the same text as writeCsv', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => [String(i).padStart(5, '0'), `name, ${i}`, i % 7 === 0 ? 'multi\nline' : 'x']);
    const expected = writeCsv(rows, { header: ['pro', 'name', 'note'] });

    let out = '';
    await pipeline(
      Readable.from(rows),
      createCsvWriteStream({ header: ['pro', 'name', 'note'] }),
      new Writable({
        write(chunk: Buffer, _enc, done) {
          out += chunk.toString('utf8');
          done();
        },
      }),
    );
    expect(out).toBe(expected);

    let gen = '';
    for await (const s of writeCsvStream(Readable.from(rows), { header: ['pro', 'name', 'note'] })) gen += s;
    expect(gen).toBe(expected);
  });

  it('fails the stream on a bad row', async () => {
    const sink = new Writable({ write: (_c, _e, done) => done() });
    await expect(pipeline(Readable.from([['a'], [1]]), createCsvWriteStream(), sink)).rejects.toMatchObject({ code: 'CSV_WRITE_INVALID_VALUE' });
  });

  it('round-trips through the reader for any strings', async () => {
    const field = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ',', ';', '"', "'", '\r', '\n', 'é', '€', '\\') }),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }).chain((width) => fc.array(fc.array(field, { minLength: width, maxLength: width }), { maxLength: 8 })),
        fc.constantFrom(',', ';', '\t'),
        fc.constantFrom<'crlf' | 'lf'>('crlf', 'lf'),
        fc.integer({ min: 1, max: 13 }),
        async (rows, delimiter, lineEnding, chunkSize) => {
          const text = writeCsv(rows, { delimiter, lineEnding });
          const back = await readCsvAll(Buffer.from(text, 'utf8'), { header: false, delimiter, chunkSize, skipEmptyLines: true });
          expect(back.issues.filter((i) => i.code !== 'CSV_EMPTY_FILE')).toEqual([]);
          expect(back.records.map((r) => r.fields)).toEqual(rows);
        },
      ),
      { numRuns: 300 },
    );
  });
});
