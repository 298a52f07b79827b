import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { WaybillError } from '../../../src/errors/catalogue.js';
import { csvField, readCsv, readCsvAll, type CsvItem, type CsvReadOptions } from '../../../src/translators/csv/reader.js';

const dir = mkdtempSync(join(tmpdir(), 'waybill-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileWith(name: string, bytes: Buffer | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const read = (text: string | Buffer, options: CsvReadOptions = {}) =>
  readCsvAll(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, options);

async function items(text: string | Buffer, options: CsvReadOptions = {}): Promise<CsvItem[]> {
  const out: CsvItem[] = [];
  for await (const item of readCsv(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, options)) out.push(item);
  return out;
}

describe('CSV reader: records', () => {
  it('reads a header file: header item, fields, byName, 1-based line and index', async () => {
    const r = await read('pro,status,amount\r\n00123,AF,12.50\r\n00124,D1,0\r\n');
    expect(r.header).toEqual({ kind: 'header', line: 1, names: ['pro', 'status', 'amount'] });
    expect(r.issues).toEqual([]);
    expect(r.records.map((x) => [x.line, x.index, x.fields])).toEqual([
      [2, 1, ['00123', 'AF', '12.50']],
      [3, 2, ['00124', 'D1', '0']],
    ]);
    expect(r.records[0].byName).toEqual({ pro: '00123', status: 'AF', amount: '12.50' });
    expect(csvField(r.records[0], 'pro')).toBe('00123');
    expect(csvField(r.records[0], 1)).toBe('00123');
    expect(csvField(r.records[0], 'missing')).toBeUndefined();
  });

  it('never coerces values', async () => {
    const r = await read('a,b,c,d,e,f\n00123,0x1F,12E4,,true,2024-01-02\n');
    const f = r.records[0].fields;
    expect(f).toEqual(['00123', '0x1F', '12E4', '', 'true', '2024-01-02']);
    for (const v of f) expect(typeof v).toBe('string');
  });

  it('reads positional files (header: false), columns addressed 1-based', async () => {
    const r = await read('00123,AF\n00124,D1\n', { header: false });
    expect(r.header).toBeUndefined();
    expect(r.records.map((x) => x.fields)).toEqual([['00123', 'AF'], ['00124', 'D1']]);
    expect(r.records[0].byName).toBeUndefined();
    expect(r.records[1].index).toBe(2);
    expect(r.records[1].line).toBe(2);
    expect(csvField(r.records[1], 2)).toBe('D1');
    expect(csvField(r.records[1], 3)).toBeUndefined();
    expect(csvField(r.records[1], 0)).toBeUndefined();
  });

  it('takes column names from options (the file has no header row)', async () => {
    const r = await read('00123,AF\n', { header: ['pro', 'status'] });
    expect(r.header).toBeUndefined();
    expect(r.records[0]).toMatchObject({ line: 1, index: 1, byName: { pro: '00123', status: 'AF' } });
  });

  it('reads a semicolon delimiter with quoted semicolons and commas', async () => {
    const r = await read('pro;name;amount\n1;"ACME; Freight, Inc";12,50\n', { delimiter: ';' });
    expect(r.records[0].fields).toEqual(['1', 'ACME; Freight, Inc', '12,50']);
  });

  it('keeps embedded delimiters, doubled quotes and newlines in quoted fields, and line numbers stay right', async () => {
    const text = 'id,note\r\n1,"first\r\nsecond\r\nthird"\r\n2,"a ""quoted"", word"\r\n3,"lf\nonly"\n4,plain\n';
    const r = await read(text);
    expect(r.issues).toEqual([]);
    expect(r.records.map((x) => [x.line, x.fields])).toEqual([
      [2, ['1', 'first\r\nsecond\r\nthird']],
      [5, ['2', 'a "quoted", word']],
      [6, ['3', 'lf\nonly']],
      [8, ['4', 'plain']],
    ]);
  });

  it('accepts LF, CRLF and lone CR line endings in one file', async () => {
    const r = await read('a,b\n1,2\r\n3,4\r5,6');
    expect(r.records.map((x) => [x.line, x.fields])).toEqual([
      [2, ['1', '2']],
      [3, ['3', '4']],
      [4, ['5', '6']],
    ]);
  });

  // An audit reported doubled lines for a "CRLF" file made with sed 's/$/\r/' from a sample that was
  // already CRLF: its lines end in CR CR LF, a lone CR and then a CRLF, which are two line endings here.
  it('gives physical line numbers whatever the line ending, with quoted line breaks and any chunk boundary', async () => {
    const lines = ['pro,note', '1,"two', 'lines"', '2,plain', '', '3,"a ""q""', 'b', 'c"', '4,"bad"x', '5,end'];
    for (const eol of ['\n', '\r\n', '\r']) {
      for (const chunkSize of [1, 2, 3, 1 << 16]) {
        const r = await read(lines.join(eol) + eol, { chunkSize });
        expect(r.header?.line).toBe(1);
        expect(r.records.map((x) => [x.line, x.index])).toEqual([[2, 1], [4, 2], [6, 3], [10, 5]]);
        expect(r.issues.map((i) => [i.code, i.line, i.column, i.index])).toEqual([['CSV_QUOTE_INVALID', 9, 8, 4]]);
      }
    }
  });

  it('skips empty lines by default (they take no index) and reads them as [""] when asked', async () => {
    const text = 'a\n\n1\n\n\n2\n';
    const r = await read(text);
    expect(r.records.map((x) => [x.line, x.index, x.fields])).toEqual([
      [3, 1, ['1']],
      [6, 2, ['2']],
    ]);
    const kept = await read(text, { skipEmptyLines: false });
    expect(kept.records.map((x) => [x.line, x.fields])).toEqual([
      [2, ['']],
      [3, ['1']],
      [4, ['']],
      [5, ['']],
      [6, ['2']],
    ]);
  });

  it('trims only when asked', async () => {
    expect((await read('a,b\n x , "y" \n')).records[0]?.fields).toBeUndefined();
    const t = await read('a,b\n x , "y" \n   \n', { trim: true });
    expect(t.issues).toEqual([]);
    expect(t.records.map((x) => x.fields)).toEqual([['x', 'y']]);
    expect((await read('a,b\n x ,y \n')).records[0].fields).toEqual([' x ', 'y ']);
  });

  it('supports a backslash escape inside quotes', async () => {
    const r = await read('a,b\n"say \\"hi\\"",2\n', { escape: '\\' });
    expect(r.records[0].fields).toEqual(['say "hi"', '2']);
  });

  it('makes __proto__ and constructor columns plain keys (no prototype pollution)', async () => {
    const r = await read('__proto__,constructor,prototype\n{polluted:1},x,y\n');
    const rec = r.records[0];
    expect(Object.getPrototypeOf(rec.byName)).toBeNull();
    expect(Object.keys(rec.byName!)).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(rec.byName!['__proto__']).toBe('{polluted:1}');
    expect(csvField(rec, 'constructor')).toBe('x');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const plain = await read('a\n1\n');
    expect(csvField(plain.records[0], 'toString')).toBeUndefined();
    expect(csvField(plain.records[0], '__proto__')).toBeUndefined();
  });
});

describe('CSV reader: encodings', () => {
  it('reads a latin1 file from a path', async () => {
    const path = fileWith('latin1.csv', Buffer.from('city,name\nMontr\xe9al,Caf\xe9 \xdcber\n', 'latin1'));
    const r = await readCsvAll(path, { encoding: 'latin1' });
    expect(r.issues).toEqual([]);
    expect(r.records[0].fields).toEqual(['Montréal', 'Café Über']);
  });

  it('reads latin1 bytes 0x80-0x9F as Windows-1252 does (curly quotes, dashes, the euro sign), as browsers read latin1', async () => {
    // “Smith’s” – €5 … ™, and 0x81 (undefined in Windows-1252: kept as it is)
    const bytes = Buffer.from([...Buffer.from('note\n', 'latin1'), 0x93, ...Buffer.from('Smith', 'latin1'), 0x92, 0x73, 0x94, 0x20, 0x96, 0x20, 0x80, 0x35, 0x20, 0x85, 0x20, 0x99, 0x81, 0x0a]);
    for (const chunkSize of [1, 3, 64]) {
      const r = await read(bytes, { encoding: 'latin1', chunkSize });
      expect(r.issues).toEqual([]);
      expect(r.records.map((x) => x.fields)).toEqual([['\u201cSmith\u2019s\u201d \u2013 \u20ac5 \u2026 \u2122\x81']]);
    }
  });

  it('reads a latin1-configured file that starts with a UTF-8 byte order mark as UTF-8 (the mark is not part of the first name)', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('PRO,city\n00123,Montréal\n', 'utf8')]);
    for (const chunkSize of [1, 2, 3, 64]) {
      const r = await read(bytes, { encoding: 'latin1', chunkSize });
      expect(r.issues).toEqual([]);
      expect(r.header?.names).toEqual(['PRO', 'city']);
      expect(r.records.map((x) => x.byName)).toEqual([{ PRO: '00123', city: 'Montréal' }]);
    }
    // latin1 bytes that only begin like the mark are latin1
    expect((await read(Buffer.from('\xefa,b\n1,2\n', 'latin1'), { encoding: 'latin1', chunkSize: 1 })).header?.names).toEqual(['ïa', 'b']);
    expect((await read(Buffer.from('\xef', 'latin1'), { encoding: 'latin1', header: false })).records.map((x) => x.fields)).toEqual([['ï']]);
  });

  it('reports the same latin1 bytes read as utf8 as bad records, and keeps their siblings', async () => {
    const bytes = Buffer.from('city,name\nMontr\xe9al,x\nParis,y\n', 'latin1');
    const r = await read(bytes);
    expect(r.records.map((x) => x.fields)).toEqual([['Paris', 'y']]);
    expect(r.issues).toEqual([
      expect.objectContaining({ code: 'CSV_INVALID_ENCODING', line: 2, column: 6, index: 1, fatal: false }),
    ]);
  });

  it('fails a record holding a NUL on its own, at the NUL, and keeps its siblings (also in a quoted field, and late in a file)', async () => {
    const r = await read(Buffer.from('city,name\nJOL\u0000IET,x\nParis,y\n"a\u0000",z\n', 'latin1'));
    expect(r.records.map((x) => x.fields)).toEqual([['Paris', 'y']]);
    expect(r.issues).toEqual([
      expect.objectContaining({ code: 'CSV_NUL_CHARACTER', line: 2, column: 4, index: 1, fatal: false }),
      expect.objectContaining({ code: 'CSV_NUL_CHARACTER', line: 4, column: 3, index: 3, fatal: false }),
    ]);
    const late = await read(Buffer.from(`h\n${'ok\n'.repeat(5000)}b\u0000d\nlast\n`, 'latin1'), { chunkSize: 1024 });
    expect(late.records).toHaveLength(5001);
    expect(late.issues).toEqual([expect.objectContaining({ code: 'CSV_NUL_CHARACTER', line: 5002, column: 2 })]);
  });

  it('strips a UTF-8 BOM (header name and columns count from after it)', async () => {
    const r = await read('\ufeffpro,amount\n1,2\n');
    expect(r.header?.names).toEqual(['pro', 'amount']);
    const bad = await read('\ufeffa,"b"x\n');
    expect(bad.issues[0]).toMatchObject({ code: 'CSV_HEADER_INVALID', line: 1, column: 6, fatal: true });
  });

  it('reads UTF-16LE with a BOM, and reports a dangling odd byte', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('pro,name\n1,Zoë\n2,x\n', 'utf16le')]);
    const r = await read(bytes, { encoding: 'utf16le', chunkSize: 3 });
    expect(r.issues).toEqual([]);
    expect(r.records.map((x) => x.fields)).toEqual([['1', 'Zoë'], ['2', 'x']]);
    const odd = await read(Buffer.concat([Buffer.from('a\n1\n2', 'utf16le'), Buffer.from([0x41])]), { encoding: 'utf16le' });
    expect(odd.records.map((x) => x.fields)).toEqual([['1']]);
    expect(odd.issues).toEqual([expect.objectContaining({ code: 'CSV_INVALID_ENCODING', line: 3, index: 2 })]);
  });
});

describe('CSV reader: a UTF-16LE byte order mark', () => {
  it('reads the file as UTF-16LE whatever encoding was set (a spreadsheet\'s "Unicode text" export), at any chunking', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('pro,name\r\n1,Zoë\r\n2,€\r\n', 'utf16le')]);
    for (const encoding of ['utf8', 'latin1', 'utf16le'] as const) {
      for (const chunkSize of [1, 2, 3, 1 << 16]) {
        const r = await read(bytes, { encoding, chunkSize });
        expect(r.issues, `${encoding} chunk ${chunkSize}`).toEqual([]);
        expect(r.header?.names).toEqual(['pro', 'name']);
        expect(r.records.map((x) => x.fields), `${encoding} chunk ${chunkSize}`).toEqual([['1', 'Zoë'], ['2', '€']]);
      }
    }
  });

  it('a latin1 file that starts with ÿ and no þ stays latin1; a lone 0xFF is not valid UTF-8', async () => {
    const latin = Buffer.from('\u00ffname\nx\n', 'latin1');
    for (const chunkSize of [1, 1 << 16]) {
      expect((await read(latin, { encoding: 'latin1', chunkSize, header: false })).records.map((x) => x.fields)).toEqual([['\u00ffname'], ['x']]);
    }
    const lone = await read(Buffer.from([0xff]), { header: false, chunkSize: 1 });
    expect(lone.issues.map((i) => i.code)).toEqual(['CSV_INVALID_ENCODING']);
  });
});

describe('CSV reader: the DOS end-of-file mark', () => {
  it('drops a Ctrl-Z (SUB) that ends the file, with whitespace around it, at any chunking; a SUB with data after it is data', async () => {
    const clean = await read('pro,status\r\n1,AF\r\n2,D1\r\n');
    expect(clean.records.map((x) => x.fields)).toEqual([['1', 'AF'], ['2', 'D1']]);
    for (const tail of ['\x1a', '\x1a\r\n', '\x1a\x1a', '\x1a \r\n\x1a']) {
      const text = `pro,status\r\n1,AF\r\n2,D1\r\n${tail}`;
      for (const chunkSize of [1, 2, 5, 1 << 16]) {
        const r = await read(text, { chunkSize });
        expect(r.issues, `${JSON.stringify(tail)} chunk ${chunkSize}`).toEqual([]);
        expect(r.records.map((x) => x.fields), `${JSON.stringify(tail)} chunk ${chunkSize}`).toEqual([['1', 'AF'], ['2', 'D1']]);
      }
    }
    // Without a line end before it, the mark ends the last record's last field: dropped all the same.
    expect((await read('pro,status\n1,AF\x1a')).records.map((x) => x.fields)).toEqual([['1', 'AF']]);
    for (const chunkSize of [1, 3, 1 << 16]) {
      const kept = await read('pro,status\n1,A\x1aF\n2,\x1a\r\n3,x\n', { chunkSize });
      expect(kept.records.map((x) => x.fields), `chunk ${chunkSize}`).toEqual([['1', 'A\x1aF'], ['2', '\x1a'], ['3', 'x']]);
    }
  });
});

describe('CSV reader: error policy', () => {
  it('reports a bad row in the middle and reads its siblings (per-record errors)', async () => {
    const text = [
      'pro,amount', // 1
      '1,10.00', // 2
      '"2"x,20.00', // 3 characters after a closing quote
      '3,30.00', // 4
      '4,40.00,extra', // 5 too many fields
      '5', // 6 too few fields
      '6x"y,60.00', // 7 quote inside an unquoted field
      '"7","multi', // 8
      'line",70.00', // 9 -> a record with 3 fields starting on line 8
      '8,80.00', // 10
      '',
    ].join('\n');
    const all = await items(text);
    const summary = all.map((i) =>
      i.kind === 'record' ? ['record', i.index, i.line, i.fields[0]] : i.kind === 'issue' ? ['issue', i.index, i.code, i.line, i.column, i.field] : ['header'],
    );
    expect(summary).toEqual([
      ['header'],
      ['record', 1, 2, '1'],
      ['issue', 2, 'CSV_QUOTE_INVALID', 3, 4, 1],
      ['record', 3, 4, '3'],
      ['issue', 4, 'CSV_FIELD_COUNT', 5, 9, 3],
      ['issue', 5, 'CSV_FIELD_COUNT', 6, 2, 1],
      ['issue', 6, 'CSV_QUOTE_INVALID', 7, 3, 1],
      ['issue', 7, 'CSV_FIELD_COUNT', 9, 7, 3],
      ['record', 8, 10, '8'],
    ]);
    for (const i of all) if (i.kind === 'issue') expect(i.fatal).toBe(false);
  });

  it('a quote not closed on its line, closed by a quote lines later: only its own record is rejected, the lines it ran over are read', async () => {
    for (const chunkSize of [1, 5, 64, 1 << 16]) {
      const r = await read('pro,city,note\n1,A,x\n2,"B,y\n3,C,z\n4,D,"q"x\n5,E,w\n', { chunkSize });
      expect(r.records.map((x) => [x.index, x.line, x.fields[0]])).toEqual([[1, 2, '1'], [3, 4, '3'], [5, 6, '5']]);
      expect(r.issues).toEqual([
        expect.objectContaining({ code: 'CSV_QUOTE_INVALID', line: 3, column: 3, index: 2,
          message: 'the quote at line 3 column 3 is not closed on its line: its field runs on to a quote at line 5 column 5 with characters after it, so the quote is taken as a stray one; ' +
            'the record is rejected and reading goes on at line 4 (close the quote, or double it if it is part of the value)' }),
        // line 5's own quoted field is malformed too ("q"x): it fails alone
        expect.objectContaining({ code: 'CSV_QUOTE_INVALID', line: 5, column: 8, index: 4 }),
      ]);
    }
    // A quoted value over two lines that closes properly is one good record.
    expect((await read('pro,note\n1,"two\nlines"\n2,x\n')).records.map((x) => x.fields)).toEqual([['1', 'two\nlines'], ['2', 'x']]);
    expect((await read('pro,note\r\n1,"two\r\nlines"\r\n2,x\r\n', { chunkSize: 3 })).records.map((x) => x.fields)).toEqual([['1', 'two\r\nlines'], ['2', 'x']]);
  });

  it('accepts inconsistent field counts with relaxColumnCount (byName holds the named columns present)', async () => {
    const r = await read('a,b\n1\n2,3,4\n', { relaxColumnCount: true });
    expect(r.issues).toEqual([]);
    expect(r.records.map((x) => x.fields)).toEqual([['1'], ['2', '3', '4']]);
    expect(r.records[0].byName).toEqual({ a: '1' });
    expect(r.records[1].byName).toEqual({ a: '2', b: '3' });
  });

  it('checks positional files against the first record', async () => {
    const r = await read('1,2\n3\n4,5\n', { header: false });
    expect(r.records.map((x) => x.index)).toEqual([1, 3]);
    expect(r.issues[0]).toMatchObject({ code: 'CSV_FIELD_COUNT', index: 2, line: 2, message: expect.stringContaining('the first record has 2') });
  });

  it('reports an unclosed quote at the end of the file at the opening quote; the records before and after its line stand', async () => {
    for (const chunkSize of [1, 4, 1 << 16]) {
      for (const eol of ['\n', '\r\n', '\r']) {
        const all = await items(['pro,note', '1,ok', '2,"never closed', '3,kept', '4,kept', ''].join(eol), { chunkSize });
        expect(all.filter((i) => i.kind === 'issue')).toEqual([{
          kind: 'issue',
          code: 'CSV_QUOTE_NOT_CLOSED',
          severity: 'error',
          message: 'a quoted field opened at line 3 column 3 is never closed: the file ends inside it, so the quote is taken as a stray one; the record is rejected and reading goes on at line 4 ' +
            '(close the quote, or double it if it is part of the value)',
          line: 3,
          column: 3,
          index: 2,
          fatal: false,
        }]);
        expect(all.flatMap((i) => (i.kind === 'record' ? [[i.index, i.line, ...i.fields]] : []))).toEqual([[1, 2, '1', 'ok'], [3, 4, '3', 'kept'], [4, 5, '4', 'kept']]);
      }
    }
    // on the last line, with no line break after it: that record is the one lost
    const last = await items('pro,note\n1,ok\n2,"never closed');
    expect(last.at(-1)).toMatchObject({ kind: 'issue', code: 'CSV_QUOTE_NOT_CLOSED', line: 3, column: 3, index: 2 });
    // several stray quotes: each costs its own record
    const r = await read('a,b\n"1,x\n2,y\n"3,z\n4,w\n');
    expect(r.records.map((x) => x.fields)).toEqual([['2', 'y'], ['4', 'w']]);
    expect(r.issues.map((i) => [i.code, i.line, i.index])).toEqual([['CSV_QUOTE_INVALID', 2, 1], ['CSV_QUOTE_NOT_CLOSED', 4, 3]]);
  });

  it('a stray quote whose field would run over maxRecordSize costs its record only, not the rest of the file', async () => {
    const lines = ['a,b', '1,"stray'];
    for (let i = 2; i < 400; i++) lines.push(`${i},row ${i}`);
    for (const chunkSize of [7, 256, 1 << 16]) {
      const r = await read(lines.join('\n') + '\n', { maxRecordSize: 1000, chunkSize });
      expect(r.issues.map((i) => [i.code, i.line, i.column, i.index])).toEqual([['CSV_QUOTE_NOT_CLOSED', 2, 3, 1]]);
      expect(r.issues[0].message).toContain('is not closed within the maximum record size of 1000 bytes');
      expect(r.records.length).toBe(398);
      expect(r.records.at(-1)).toMatchObject({ index: 399, line: 400, fields: ['399', 'row 399'] });
    }
  });

  it('reports a record over maxRecordSize without holding it, and reads on (also across chunk boundaries)', async () => {
    const big = 'x'.repeat(5000);
    for (const chunkSize of [7, 64, 1 << 16]) {
      const r = await read(`a,b\n1,2\n${big},"${big}\n${big}"\n3,4\n`, { maxRecordSize: 1000, chunkSize });
      expect(r.records.map((x) => [x.index, x.fields])).toEqual([
        [1, ['1', '2']],
        [3, ['3', '4']],
      ]);
      expect(r.issues).toEqual([expect.objectContaining({ code: 'CSV_RECORD_TOO_LARGE', line: 3, column: 1, index: 2, fatal: false })]);
      expect(r.issues[0].message).toContain('15004 bytes');
    }
  });

  it('is fatal when the header has a duplicate or empty name', async () => {
    const dup = await items('pro,amount,pro\n1,2,3\n4,5,6\n');
    expect(dup).toEqual([
      expect.objectContaining({ kind: 'issue', code: 'CSV_HEADER_INVALID', line: 1, column: 12, field: 3, fatal: true }),
    ]);
    const empty = await items('pro,,amount\n1,2,3\n');
    expect(empty).toEqual([expect.objectContaining({ code: 'CSV_HEADER_INVALID', line: 1, column: 5, field: 2, fatal: true })]);
    const blank = await items('pro, \n1,2\n');
    expect(blank).toEqual([expect.objectContaining({ code: 'CSV_HEADER_INVALID', field: 2, fatal: true })]);
  });

  it('is fatal when the header row itself cannot be read', async () => {
    const r = await items('"pro"x,amount\n1,2\n');
    expect(r).toEqual([
      expect.objectContaining({ code: 'CSV_HEADER_INVALID', line: 1, column: 6, fatal: true, message: expect.stringContaining('CSV_QUOTE_INVALID') }),
    ]);
  });

  it('is fatal for an empty file; a header-only file is fine', async () => {
    expect(await items('')).toEqual([expect.objectContaining({ code: 'CSV_EMPTY_FILE', line: 1, column: 1, fatal: true })]);
    expect(await items('\n\r\n\n', { header: false })).toEqual([expect.objectContaining({ code: 'CSV_EMPTY_FILE', fatal: true })]);
    expect(await items('pro,amount\n')).toEqual([{ kind: 'header', line: 1, names: ['pro', 'amount'] }]);
  });

  it('throws CSV_OPTIONS_INVALID for bad options and CSV_READ_FAILED for a missing file', async () => {
    const codeOf = async (p: Promise<unknown>) => p.then(() => 'no error', (e: unknown) => (e instanceof WaybillError ? e.code : String(e)));
    expect(await codeOf(read('a', { delimiter: ';;' }))).toBe('CSV_OPTIONS_INVALID');
    expect(await codeOf(read('a', { delimiter: '"' }))).toBe('CSV_OPTIONS_INVALID');
    expect(await codeOf(read('a', { header: ['x', 'x'] }))).toBe('CSV_OPTIONS_INVALID');
    expect(await codeOf(read('a', { maxRecordSize: 0 }))).toBe('CSV_OPTIONS_INVALID');
    expect(await codeOf(readCsvAll(join(dir, 'does-not-exist.csv')))).toBe('CSV_READ_FAILED');
  });
});

describe('CSV reader: streaming', () => {
  it('gives the same result whatever the chunk boundaries', async () => {
    const text = Buffer.from('\ufeffpro,note,city\r\n1,"a,b\r\nc ""d""",Zürich\r\n2,"x"y,Köln\r\n\r\n3,,"€"\r\n4,"open', 'utf8');
    const whole = await read(text, { chunkSize: 1 << 16 });
    for (let size = 1; size <= 9; size++) {
      expect(await read(text, { chunkSize: size })).toEqual(whole);
    }
    // the same bytes arriving as a stream of small Buffers
    const pieces = Array.from({ length: Math.ceil(text.length / 5) }, (_, i) => text.subarray(i * 5, i * 5 + 5));
    expect(await readCsvAll(Readable.from(pieces))).toEqual(whole);
    expect(whole.records.map((r) => r.fields)).toEqual([
      ['1', 'a,b\r\nc "d"', 'Zürich'],
      ['3', '', '€'],
    ]);
  });

  it('streams a 50,000-row file without reading ahead of the consumer', async () => {
    const rows = 50_000;
    let produced = 0;
    let maxAhead = 0;
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from('pro,status,amount,note\n');
      for (let i = 1; i <= rows; i++) {
        produced++;
        yield Buffer.from(`${String(i).padStart(8, '0')},AF,${i}.00,"line ${i}, with ""quotes""\nand a newline"\n`);
      }
    }
    let count = 0;
    let lastLine = 0;
    for await (const item of readCsv(Readable.from(source(), { objectMode: true }))) {
      if (item.kind !== 'record') continue;
      count++;
      maxAhead = Math.max(maxAhead, produced - count);
      expect(item.line).toBeGreaterThan(lastLine);
      lastLine = item.line;
    }
    expect(count).toBe(rows);
    expect(lastLine).toBe(2 + (rows - 1) * 2);
    // the reader holds a bounded batch, never the file
    expect(maxAhead).toBeLessThan(10_000);
  });

  it('stops reading when the consumer stops', async () => {
    let produced = 0;
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from('a\n');
      for (;;) {
        produced++;
        yield Buffer.from('1\n'.repeat(1000));
      }
    }
    let seen = 0;
    for await (const item of readCsv(source())) {
      if (item.kind === 'record' && ++seen === 10) break;
    }
    expect(seen).toBe(10);
    expect(produced).toBeLessThan(100);
  });
});
