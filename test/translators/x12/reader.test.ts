import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { readX12, readX12Sync } from '../../../src/translators/x12/reader.js';
import type { TransactionSet, X12Event, X12Issue } from '../../../src/translators/x12/model.js';
import { X12Tokenizer } from '../../../src/translators/x12/tokenizer.js';
import { interchange, isaSegment, PIPE, STAR } from '../../helpers/x12.js';

const body214 = ['B10*PRO0012345*BOL778899*ABCD', 'LX*1', 'AT7*X3*NS***20250101*0800*ET'];

function events(input: string | Buffer, chunkSize?: number): X12Event[] {
  return [...readX12Sync(input, chunkSize ? { chunkSize } : {})];
}
function transactions(evs: X12Event[]): TransactionSet[] {
  return evs.flatMap((e) => (e.type === 'transaction' ? [e.transaction] : []));
}
function issues(evs: X12Event[]): X12Issue[] {
  return evs.flatMap((e) => {
    if (e.type === 'issue') return [e.issue];
    if (e.type === 'transaction') return e.transaction.issues;
    if ('issues' in e) return e.issues;
    return [];
  });
}
function codes(evs: X12Event[]): string[] {
  return issues(evs).map((i) => i.code);
}

describe('delimiters come from the ISA', () => {
  it('reads * > ~ with a newline after each terminator, and keeps ISA padding', () => {
    const evs = events(interchange(STAR, [{ set: '214', control: '0001', body: body214 }]));
    const start = evs[0];
    expect(start.type).toBe('interchange-start');
    if (start.type !== 'interchange-start') return;
    expect(start.header.delimiters).toEqual({ element: '*', component: '>', repetition: null, segment: '~' });
    expect(start.header.isa.elements[6]).toBe('SENDERID       '); // raw: padding kept
    expect(start.header.senderId).toBe('SENDERID'); // normalised view
    expect(start.issues).toEqual([]);
    const [tx] = transactions(evs);
    expect(tx.setId).toBe('214');
    expect(tx.segments.map((s) => s.id)).toEqual(['ST', 'B10', 'LX', 'AT7', 'SE']);
    expect(tx.segments[3].elements).toEqual(['AT7', 'X3', 'NS', '', '', '20250101', '0800', 'ET']);
    expect(codes(evs)).toEqual([]);
  });

  it('reads | ^ with newline as terminator and ISA11 as repetition separator from 00402 on', () => {
    const evs = events(interchange(PIPE, [{ set: '214', control: '0001', body: body214.map((s) => s.replaceAll('*', '|')) }]));
    const start = evs[0];
    if (start.type !== 'interchange-start') throw new Error('no interchange');
    expect(start.header.delimiters).toEqual({ element: '|', component: '^', repetition: '{', segment: '\n' });
    expect(transactions(evs)[0].segments[1].elements).toEqual(['B10', 'PRO0012345', 'BOL778899', 'ABCD']);
    expect(codes(evs)).toEqual([]);
  });

  it('has no repetition separator before 00402 (ISA11 is the standards identifier)', () => {
    const evs = events(interchange(STAR, [{ set: '214', control: '0001', body: body214 }]));
    if (evs[0].type !== 'interchange-start') throw new Error();
    expect(evs[0].header.delimiters.repetition).toBeNull();
    expect(evs[0].header.isa.elements[11]).toBe('U');
  });

  it('re-detects delimiters for every interchange in one file', () => {
    const a = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]);
    const b = interchange(PIPE, [{ set: '214', control: '0002', body: body214.map((s) => s.replaceAll('*', '|')) }], { isaControl: '000000002' });
    const evs = events(a + '\n\n  ' + b);
    const starts = evs.filter((e) => e.type === 'interchange-start');
    expect(starts.map((e) => (e.type === 'interchange-start' ? e.header.delimiters.element : ''))).toEqual(['*', '|']);
    expect(transactions(evs).map((t) => t.segments[1].elements[1])).toEqual(['PRO0012345', 'PRO0012345']);
    expect(codes(evs)).toEqual([]);
  });

  it('takes a multi-byte UTF-8 character as the terminator', () => {
    const d = { element: '*', component: '>', segment: '\u2026', suffix: '\n' };
    const evs = events(interchange(d, [{ set: '214', control: '0001', body: body214 }]));
    if (evs[0].type !== 'interchange-start') throw new Error();
    expect(evs[0].header.delimiters.segment).toBe('\u2026');
    expect(transactions(evs)[0].segments).toHaveLength(5);
    expect(codes(evs)).toEqual([]);
  });
});

describe('tolerates what real files do', () => {
  const clean = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]);
  const cleanSegments = transactions(events(clean))[0].segments.map((s) => s.elements);

  it('a UTF-8 BOM and leading whitespace, with offsets still in bytes', () => {
    const evs = events(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`\n  \r\n${clean}`)]));
    expect(codes(evs)).toEqual([]);
    if (evs[0].type !== 'interchange-start') throw new Error();
    expect(evs[0].header.isa.loc).toEqual({ offset: 8, line: 3, column: 1 });
    const noLeading = events(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(clean)]));
    if (noLeading[0].type !== 'interchange-start') throw new Error();
    expect(noLeading[0].header.isa.loc).toEqual({ offset: 3, line: 1, column: 1 });
    expect(transactions(evs)[0].segments.map((s) => s.elements)).toEqual(cleanSegments);
  });

  it('CRLF after terminators, and blank lines and trailing whitespace', () => {
    const evs = events(clean.replaceAll('~\n', '~\r\n\r\n') + '   \r\n\t');
    expect(codes(evs)).toEqual([]);
    expect(transactions(evs)[0].segments.map((s) => s.elements)).toEqual(cleanSegments);
  });

  it('newline as the only terminator, written with CRLF', () => {
    const crlf = interchange(PIPE, [{ set: '214', control: '0001', body: ['B10|A|B|ABCD'] }]).replaceAll('\n', '\r\n');
    const evs = events(crlf);
    expect(codes(evs)).toEqual([]);
    expect(transactions(evs)[0].segments[1].elements).toEqual(['B10', 'A', 'B', 'ABCD']);
  });

  it('files hard-wrapped at 80 columns, the ISA included', () => {
    const flat = clean.replaceAll('\n', '');
    const wrapped = flat.match(/.{1,80}/g)!.join('\r\n');
    const evs = events(wrapped);
    const c = codes(evs);
    expect(c.filter((x) => x !== 'X12_ISA_NOT_FIXED_WIDTH')).toEqual([]);
    expect(transactions(evs)[0].segments.map((s) => s.elements)).toEqual(cleanSegments);
  });

  it('a hard wrap anywhere in a later interchange\'s ISA: inside "ISA", before ISA16, before the terminator', () => {
    // Two interchanges on one line, wrapped at 80 columns with the second ISA shifted to every column: the
    // wrap lands inside its id ("I\r\nSA*"), just before ISA16 (column 57) or just before the terminator
    // (column 56). Each was misread: junk, a CR/LF taken for ISA16, or the line break for the terminator.
    const one = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]).replaceAll('\n', '');
    const two = interchange(STAR, [{ set: '214', control: '0002', body: body214 }], { isaControl: '000000002' }).replaceAll('\n', '');
    for (let shift = 0; shift < 80; shift++) {
      const flat = one.replace('BOL778899', `BOL778899${'X'.repeat(shift)}`) + two;
      const want = [...readX12Sync(flat)].map((e) => (e.type === 'transaction' ? e.transaction.segments.map((x) => x.elements) : e.type));
      for (const lineBreak of ['\r\n', '\n']) {
        const wrapped = flat.match(/.{1,80}/g)!.join(lineBreak);
        for (const chunkSize of [3, undefined]) {
          const evs = events(wrapped, chunkSize);
          const label = `shift ${shift} ${JSON.stringify(lineBreak)} chunk ${chunkSize}`;
          expect(codes(evs).filter((x) => x !== 'X12_ISA_NOT_FIXED_WIDTH'), label).toEqual([]);
          expect(evs.map((e) => (e.type === 'transaction' ? e.transaction.segments.map((x) => x.elements) : e.type)), label).toEqual(want);
        }
      }
    }
  });

  it('line breaks inside segments (LF, CR, CR LF) are dropped, across long values and chunk boundaries', () => {
    // Values of 13+ characters are copied out of the chunk with their segment (tokenizer splitSegment):
    // wrap inside them too, and at every chunk size the elements must be the unwrapped ones.
    const body = ['B10*PRO0012345678901*BOL7788990011223*ABCD', 'N1*SH*A SHIPPER WITH A LONG NAME*93*SH0287', 'LX*1', 'AT7*X3*NS***20250101*0800*ET'];
    const flat = interchange(STAR, [{ set: '214', control: '0001', body }]).replaceAll('\n', '');
    const want = transactions(events(flat))[0].segments.map((s) => s.elements);
    expect(want[2]).toEqual(['N1', 'SH', 'A SHIPPER WITH A LONG NAME', '93', 'SH0287']);
    for (const lineBreak of ['\n', '\r', '\r\n']) {
      const head = flat.slice(0, 106);
      const wrapped = head + flat.slice(106).match(/.{1,9}/g)!.join(lineBreak);
      for (const chunkSize of [1, 7, 64, undefined]) {
        const evs = events(wrapped, chunkSize);
        expect(codes(evs), `${JSON.stringify(lineBreak)} chunk ${chunkSize}`).toEqual([]);
        expect(transactions(evs)[0].segments.map((s) => s.elements), `${JSON.stringify(lineBreak)} chunk ${chunkSize}`).toEqual(want);
      }
    }
  });

  it('zero-padded counts', () => {
    const padded = clean.replace('SE*5*0001', 'SE*0000000005*0001').replace('GE*1*1', 'GE*000001*000000001').replace('IEA*1*', 'IEA*00001*');
    expect(codes(events(padded))).toEqual([]);
  });

  it('a last segment without a terminator', () => {
    expect(codes(events(clean.replace(/~\n$/, '')))).toEqual([]);
  });

  it('an ISA that is not fixed width is read with a warning (or an error by policy)', () => {
    const loose = clean.replace('SENDERID       ', 'SENDERID');
    const evs = events(loose);
    expect(issues(evs).map((i) => [i.code, i.severity])).toEqual([['X12_ISA_NOT_FIXED_WIDTH', 'warning']]);
    const strict = [...readX12Sync(loose, { isaWidth: 'error' })];
    expect(issues(strict).map((i) => [i.code, i.severity])).toEqual([['X12_ISA_NOT_FIXED_WIDTH', 'error']]);
    expect(transactions(strict)).toHaveLength(1);
  });

  it('UTF-8 values are decoded, latin1 kept when the bytes are not UTF-8', () => {
    const utf = events(interchange(STAR, [{ set: '214', control: '0001', body: ['N4*MÜNCHEN**80331*DE'] }]));
    expect(transactions(utf)[0].segments[1].elements[1]).toBe('MÜNCHEN');
    const latin = Buffer.from(interchange(STAR, [{ set: '214', control: '0001', body: ['N4*M\u00dcNCHEN**80331*DE'] }]), 'latin1');
    expect(transactions(events(latin))[0].segments[1].elements[1]).toBe('M\u00dcNCHEN');
  });
});

describe('lines padded to a fixed record length', () => {
  // Newline-terminated segments, each line padded with spaces to a record length longer than the ISA
  // (128, 256): what a mainframe or AS/400 export of fixed-length records looks like.
  const newline: typeof STAR = { element: '*', component: '>', segment: '\n' };
  const plain = interchange(newline, [{ set: '214', control: '0001', body: ['N1*SH*ACME  FREIGHT', ...body214] }]);
  const plainSegments = transactions(events(plain))[0].segments.map((s) => s.elements);
  const pad = (text: string, width: number, eol = '\n') => text.split('\n').filter(Boolean).map((l) => l.padEnd(width) + eol).join('');

  it('reads the segments without their padding, with one warning on the interchange', () => {
    for (const [width, eol] of [[128, '\n'], [256, '\r\n'], [107, '\n']] as const) {
      for (const chunkSize of [undefined, 1, 7, 100]) {
        const evs = events(pad(plain, width, eol), chunkSize);
        expect(issues(evs).map((i) => [i.code, i.severity, i.loc.line])).toEqual([['X12_PADDED_LINES', 'warning', 1]]);
        const start = evs[0];
        if (start.type !== 'interchange-start') throw new Error('no interchange');
        expect(start.header.delimiters.segment).toBe('\n');
        expect(start.header.isa.elements[16]).toBe('>');
        // Inner spaces are data (ACME  FREIGHT); only the padding at the end of each line goes.
        expect(transactions(evs)[0].segments.map((s) => s.elements)).toEqual(plainSegments);
        expect(transactions(evs)[0].segments[1].loc.line).toBe(4); // N1, after ISA, GS and ST
      }
    }
  });

  it('a line of spaces between segments is passed over', () => {
    const padded = pad(plain, 128);
    const withBlank = padded.replace('\nLX', `\n${' '.repeat(128)}\nLX`);
    const evs = events(withBlank);
    expect(codes(evs)).toEqual(['X12_PADDED_LINES']);
    expect(transactions(evs)[0].segments.map((s) => s.elements)).toEqual(plainSegments);
  });

  it('is not assumed when something other than spaces follows ISA16 on its line', () => {
    const isaLine = pad(plain, 128).split('\n')[0];
    const broken = pad(plain, 128).replace(isaLine, `${isaLine.slice(0, 106)}x${isaLine.slice(107)}`);
    expect(codes(events(broken))).toContain('X12_INVALID_DELIMITERS');
  });

  it('padding after a real terminator needs no tolerance', () => {
    const tilde = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]).split('\n').filter(Boolean).map((l) => `${l.padEnd(80)}\n`).join('');
    expect(codes(events(tilde))).toEqual([]);
  });
});

describe('UTF-16 files and the DOS end-of-file mark', () => {
  const text = interchange(STAR, [{ set: '214', control: '0001', body: [...body214, 'N4*MÜNCHEN €**80331*DE'] }]);
  const want = transactions(events(text))[0].segments.map((s) => s.elements);

  it('reads UTF-16 (LE and BE, with or without a BOM) as the characters it holds, with one warning, at any chunking', () => {
    expect(want[4]).toEqual(['N4', 'MÜNCHEN €', '', '80331', 'DE']);
    const forms: [string, Buffer, string][] = [
      ['LE with BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'little-endian, with a byte order mark'],
      ['BE with BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]), 'big-endian, with a byte order mark'],
      ['LE without BOM', Buffer.from(text, 'utf16le'), 'little-endian, without a byte order mark'],
      ['BE without BOM', Buffer.from(text, 'utf16le').swap16(), 'big-endian, without a byte order mark'],
      // A redirect that wrote a blank line first: whitespace before the ISA, without a BOM.
      ['LE without BOM after blank lines', Buffer.from(`\r\n\r\n  \t${text}`, 'utf16le'), 'little-endian, without a byte order mark'],
      ['BE without BOM after a blank line', Buffer.from(`\n ${text}`, 'utf16le').swap16(), 'big-endian, without a byte order mark'],
    ];
    for (const [form, bytes, said] of forms) {
      for (const chunkSize of [1, 3, 7, undefined]) {
        const evs = events(bytes, chunkSize);
        const found = issues(evs);
        expect(found.map((i) => [i.code, i.severity, i.loc.line, i.loc.column]), `${form} chunk ${chunkSize}`).toEqual([['X12_UTF16_TEXT', 'warning', 1, 1]]);
        expect(found[0].message).toContain(said);
        expect(transactions(evs)[0].segments.map((s) => s.elements), `${form} chunk ${chunkSize}`).toEqual(want);
      }
    }
  });

  it('UTF-16 reads the same from a stream as from a buffer, and a file of only a BOM is empty', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const streamed: X12Event[] = [];
    for await (const e of readX12(Readable.from([bytes.subarray(0, 1), bytes.subarray(1, 5), bytes.subarray(5)]))) streamed.push(e);
    expect(JSON.stringify(streamed)).toBe(JSON.stringify(events(bytes)));
    expect(codes(events(Buffer.from([0xff, 0xfe])))).toEqual(['X12_UTF16_TEXT', 'X12_EMPTY_FILE']);
  });

  it('NUL bytes that are not UTF-16 stay what they were: not X12', () => {
    expect(codes(events(Buffer.from('I\0\0\0\0\0\0\0', 'latin1')))).toEqual(['X12_UNEXPECTED_DATA']);
    // UTF-16 whitespace and then no ISA, or whitespace past 256 characters: not taken for UTF-16.
    expect(codes(events(Buffer.from('\n \nGS*QM', 'utf16le')))).toEqual(['X12_UNEXPECTED_DATA']);
    expect(codes(events(Buffer.from(`${' '.repeat(300)}${text}`, 'utf16le')))).not.toContain('X12_UTF16_TEXT');
  });

  it('a Ctrl-Z (SUB, 0x1A) after an interchange is passed over like whitespace; inside a segment it is data', () => {
    for (const tail of ['\x1a', '\r\n\x1a', '\x1a\r\n', '\x1a\x1a\x00']) {
      const evs = events(Buffer.from(text + tail, 'utf8'));
      expect(codes(evs), JSON.stringify(tail)).toEqual([]);
      expect(transactions(evs)[0].segments.map((s) => s.elements)).toEqual(want);
    }
    const between = events(Buffer.from(`${text}\x1a${text.replaceAll('000000001', '000000002')}`, 'utf8'));
    expect(codes(between)).toEqual([]);
    expect(transactions(between)).toHaveLength(2);
    const inside = events(Buffer.from(text.replace('LX*1', 'LX*1\x1a'), 'utf8'));
    expect(transactions(inside)[0].segments[2].elements).toEqual(['LX', '1\x1a']);
  });
});

describe('locations', () => {
  it('every segment knows its byte offset, line, column and position in the transaction', () => {
    const text = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]);
    const [tx] = transactions(events(text));
    for (const s of tx.segments) expect(text.slice(s.loc.offset, s.loc.offset + s.id.length)).toBe(s.id);
    expect(tx.segments.map((s) => s.loc.line)).toEqual([3, 4, 5, 6, 7]);
    expect(tx.segments.every((s) => s.loc.column === 1)).toBe(true);
    expect(tx.segments.map((s) => s.position)).toEqual([1, 2, 3, 4, 5]);
  });

  it('columns grow on a single-line file', () => {
    const text = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]).replaceAll('\n', '');
    const [tx] = transactions(events(text));
    expect(tx.segments[0].loc).toEqual({ offset: text.indexOf('ST*'), line: 1, column: text.indexOf('ST*') + 1 });
  });

  it('chunk boundaries never change what is read (1-byte and 7-byte chunks)', () => {
    const text = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(
      interchange({ element: '*', component: '>', segment: '\u2026', suffix: '\r\n' }, [{ set: '214', control: '0001', body: [...body214, 'N4*MÜNCHEN'] }]) +
      interchange(PIPE, [{ set: '214', control: '0002', body: ['B10|A|B|ABCD'] }], { isaControl: '000000002' }))]);
    const whole = events(text);
    expect(events(text, 1)).toEqual(whole);
    expect(events(text, 7)).toEqual(whole);
  });

  it('the async reader over a stream gives the same events as the sync reader', async () => {
    const text = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]);
    const chunks = text.match(/.{1,13}/gs)!.map((s) => Buffer.from(s));
    const got: X12Event[] = [];
    for await (const e of readX12(Readable.from(chunks))) got.push(e);
    expect(got).toEqual(events(text));
  });
});

describe('line breaks: LF, CR LF and CR alone each end one line', () => {
  /** Line and column of every location the events carry (segments, headers, trailers, findings), in order. */
  function lineColumns(evs: X12Event[]): string[] {
    const at = (what: string, loc: { line: number; column: number }) => `${what} ${loc.line}:${loc.column}`;
    const out: string[] = [];
    for (const e of evs) {
      if (e.type === 'interchange-start') out.push(at('ISA', e.header.isa.loc));
      else if (e.type === 'group-start') out.push(at('GS', e.header.gs.loc));
      else if (e.type === 'transaction') out.push(...e.transaction.segments.map((s) => at(s.id, s.loc)));
      else if ((e.type === 'group-end' || e.type === 'interchange-end') && e.trailer) out.push(at(e.trailer.id, e.trailer.loc));
      if (e.type === 'issue') out.push(at(e.issue.code, e.issue.loc));
      else if (e.type === 'transaction') out.push(...e.transaction.issues.map((i) => at(i.code, i.loc)));
      else if ('issues' in e) out.push(...e.issues.map((i) => at(i.code, i.loc)));
    }
    return out;
  }
  /** The events of `input` read in `chunkSize` pieces, by the tokenizer's scanner (WebAssembly) or its general path. */
  function read(input: string, chunkSize: number | undefined, useScanner: boolean): X12Event[] {
    return [...readX12Sync(Buffer.from(input, 'latin1'), { chunkSize, useScanner })];
  }
  const CHUNK_SIZES = [1, 2, 7, undefined];

  // An SE count that is wrong, so a finding's location is checked too (at the SE, line 9).
  const lf = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]).replace('SE*5*', 'SE*6*');
  const lfWant = lineColumns(events(lf));

  it('the LF file the others are compared with: a segment a line, the SE count finding at the SE', () => {
    expect(lfWant).toEqual(expect.arrayContaining(['ST 3:1', 'SE 7:1', 'X12_SE_COUNT_MISMATCH 7:4', 'IEA 9:1']));
  });

  for (const [name, lineEnd] of [['CR LF', '\r\n'], ['CR alone', '\r']] as const) {
    it(`~ then ${name}: every location as in the LF file, scanned or not, at every chunk size`, () => {
      const text = lf.replaceAll('\n', lineEnd);
      for (const useScanner of [true, false]) {
        for (const chunkSize of CHUNK_SIZES) {
          expect(lineColumns(read(text, chunkSize, useScanner)), `scanner ${useScanner}, chunk ${chunkSize}`).toEqual(lfWant);
        }
      }
    });
  }

  it('CR alone as the segment terminator: one segment a line', () => {
    const cr = interchange({ ...PIPE, segment: '\r' }, [{ set: '214', control: '0001', body: ['B10|A|B|ABCD', 'LX|1'] }]).replace('SE|4|', 'SE|5|');
    const want = ['ISA 1:1', 'GS 2:1', 'ST 3:1', 'B10 4:1', 'LX 5:1', 'SE 6:1', 'X12_SE_COUNT_MISMATCH 6:4', 'GE 7:1', 'IEA 8:1'];
    for (const useScanner of [true, false]) {
      for (const chunkSize of CHUNK_SIZES) {
        const evs = read(cr, chunkSize, useScanner);
        expect(lineColumns(evs).filter((l) => !l.startsWith('X12_ISA')), `scanner ${useScanner}, chunk ${chunkSize}`).toEqual(want);
        expect(transactions(evs)[0].segments[1].elements).toEqual(['B10', 'A', 'B', 'ABCD']);
      }
    }
  });

  it('mixed breaks: CR CR LF is two, LF CR is two, CR LF one; columns restart at 1 after each', () => {
    const segs = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]).split('~\n');
    // ISA~ GS~ ST~ B10~ LX~ AT7~ SE~ GE~ IEA~, each followed by the break given (LX indented by two spaces).
    const breaks = ['\r', '\r\r\n', '\n\r', '\r\n  ', '\r', '\n', '\r\n\r\n', '\r', '\r'];
    const text = segs.slice(0, 9).map((s, k) => `${s}~${breaks[k]}`).join('');
    const want = ['ISA 1:1', 'GS 2:1', 'ST 4:1', 'B10 6:1', 'LX 7:3', 'AT7 8:1', 'SE 9:1', 'GE 11:1', 'IEA 12:1'];
    for (const useScanner of [true, false]) {
      for (const chunkSize of CHUNK_SIZES) {
        expect(lineColumns(read(text, chunkSize, useScanner)), `scanner ${useScanner}, chunk ${chunkSize}`).toEqual(want);
      }
    }
  });

  it('line breaks inside segments (a hard-wrapped file) count as lines, a CR alone too', () => {
    const flat = lf.replaceAll('\n', '');
    for (const lineBreak of ['\n', '\r\n', '\r']) {
      // The ISA whole on line 1, then 9-character lines: each location by its offset in the unwrapped text.
      const head = flat.slice(0, 106);
      const lines = flat.slice(106).match(/.{1,9}/g)!;
      const wrapped = head + lineBreak + lines.join(lineBreak);
      const want = lineColumns(events(wrapped.replaceAll(lineBreak, '\n')));
      expect(want).toEqual(expect.arrayContaining(['GS 2:1', 'ST 7:7']));
      for (const useScanner of [true, false]) {
        for (const chunkSize of CHUNK_SIZES) {
          expect(lineColumns(read(wrapped, chunkSize, useScanner)), `${JSON.stringify(lineBreak)} scanner ${useScanner}, chunk ${chunkSize}`).toEqual(want);
        }
      }
    }
  });

  it('a CR LF cut between the CR and the LF (pieces pushed to the tokenizer) still ends one line', () => {
    const text = Buffer.from(lf.replaceAll('\n', '\r\n'), 'latin1');
    // Pieces that each end with a CR, so every LF starts the next piece.
    const pieces: Buffer[] = [];
    for (let from = 0, cr = text.indexOf(0x0d); from < text.length; cr = text.indexOf(0x0d, from)) {
      const to = cr < 0 ? text.length : cr + 1;
      pieces.push(text.subarray(from, to));
      from = to;
    }
    expect(pieces.slice(0, -1).every((p) => p.at(-1) === 0x0d)).toBe(true);
    for (const useScanner of [true, false]) {
      const tokenizer = new X12Tokenizer({ useScanner });
      const tokens = pieces.flatMap((p) => tokenizer.push(p));
      tokens.push(...tokenizer.end());
      const segments = tokens.flatMap((t) => ('id' in t ? [t] : 'segment' in t ? [t.segment] : []));
      expect(segments.map((s) => `${s.id} ${s.loc.line}:${s.loc.column}`), `scanner ${useScanner}`)
        .toEqual(lfWant.filter((l) => !l.startsWith('X12_')));
      expect(tokenizer.endLocation()).toMatchObject({ line: 10, column: 1 });
    }
  });
});

describe('envelope validation', () => {
  const two = (mut: (s: string) => string) =>
    events(mut(interchange(STAR, [
      { set: '214', control: '0001', body: body214 },
      { set: '214', control: '0002', body: body214 },
      { set: '214', control: '0003', body: body214 },
    ])));

  it('SE01 and SE02 are checked, and a bad transaction never sinks its siblings', () => {
    const evs = two((s) => s.replace('SE*5*0002', 'SE*4*0009'));
    const txs = transactions(evs);
    expect(txs.map((t) => t.issues.map((i) => i.code))).toEqual([[], ['X12_SE_COUNT_MISMATCH', 'X12_SE_CONTROL_MISMATCH'], []]);
    const se = txs[1].issues[0];
    expect(se).toMatchObject({ segmentId: 'SE', segmentPosition: 5, elementPosition: 1, badValue: '4' });
    expect(se.loc.line).toBe(12);
  });

  it('GE01/GE02 and IEA01/IEA02 are checked', () => {
    expect(codes(two((s) => s.replace('GE*3*1', 'GE*2*7')))).toEqual(['X12_GE_COUNT_MISMATCH', 'X12_GE_CONTROL_MISMATCH']);
    expect(codes(two((s) => s.replace('IEA*1*000000001', 'IEA*2*000000009')))).toEqual(['X12_IEA_COUNT_MISMATCH', 'X12_IEA_CONTROL_MISMATCH']);
  });

  it('a truncated file reports every missing trailer', () => {
    const evs = two((s) => s.slice(0, s.indexOf('SE*5*0003')));
    expect(codes(evs)).toEqual(['X12_SE_MISSING', 'X12_GE_MISSING', 'X12_IEA_MISSING']);
    expect(transactions(evs).map((t) => t.complete)).toEqual([true, true, false]);
  });

  it('duplicate ST02 in a group and duplicate GS06 in an interchange', () => {
    expect(codes(two((s) => s.replaceAll('*0003', '*0001')))).toEqual(['X12_DUPLICATE_TRANSACTION_CONTROL']);
  });

  it('a bare ST..SE without ISA/GS is rejected', () => {
    const evs = events('ST*214*0001~B10*1*2*ABCD~SE*3*0001~');
    expect(codes(evs)).toEqual(['X12_BARE_TRANSACTION']);
  });

  it('an empty or whitespace-only file is an error', () => {
    expect(codes(events(''))).toEqual(['X12_EMPTY_FILE']);
    expect(codes(events(' \r\n\n'))).toEqual(['X12_EMPTY_FILE']);
    // At the file's start whatever the padding: the finding is about the whole file.
    expect(issues(events(Buffer.concat([Buffer.from(' \r\n\n'), Buffer.alloc(100_000)]), 16 * 1024))).toEqual([
      expect.objectContaining({ code: 'X12_EMPTY_FILE', loc: { offset: 0, line: 1, column: 1 } })]);
  });

  it('an ISA whose element separator is a space is refused, and the next interchange is still read', () => {
    const bad = isaSegment(STAR).replace('ISA*', 'ISA ') + '~\n';
    const good = interchange(STAR, [{ set: '214', control: '0001', body: body214 }], { isaControl: '000000002' });
    const evs = events(bad + good);
    expect(codes(evs)).toEqual(['X12_INVALID_DELIMITERS']);
    expect(transactions(evs)).toHaveLength(1);
  });

  it('a new ISA while an interchange is open closes the first with IEA missing', () => {
    const a = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]);
    const b = interchange(PIPE, [{ set: '214', control: '0002', body: ['B10|A|B|ABCD'] }], { isaControl: '000000002' });
    const evs = events(a.slice(0, a.indexOf('IEA')) + b);
    expect(codes(evs)).toEqual(['X12_IEA_MISSING']);
    expect(transactions(evs)).toHaveLength(2);
  });
});

describe('readX12Batches', () => {
  it('gives the events of readX12, one array per chunk read, for files, streams and buffers', async () => {
    const { readX12Batches } = await import('../../../src/translators/x12/reader.js');
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const file = fileURLToPath(new URL('../../../fixtures/edi/214/004010/ltl-multi-status.edi', import.meta.url));
    const expected: X12Event[] = [];
    for await (const e of readX12(file)) expected.push(e);
    expect(expected.length).toBeGreaterThan(3);
    const buf = readFileSync(file);
    for (const source of [file, buf, Readable.from([buf.subarray(0, 100), buf.subarray(100)])]) {
      const batches: X12Event[][] = [];
      for await (const b of readX12Batches(source, { chunkSize: 64 })) batches.push(b);
      expect(batches.flat()).toEqual(expected);
      if (typeof source === 'string' || Buffer.isBuffer(source)) expect(batches.length).toBeGreaterThan(1); // per chunk, not all at once
    }
  });

  it('a file is read through two reused buffers: small chunks give the same events as reading it whole', async () => {
    const { readX12Batches } = await import('../../../src/translators/x12/reader.js');
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    // A multi-byte terminator and UTF-8 values across chunk boundaries: a chunk overwritten before the
    // reader had copied it out would show here.
    const text = Buffer.from(
      interchange({ element: '*', component: '>', segment: '\u2026', suffix: '\r\n' }, [{ set: '214', control: '0001', body: [...body214, 'N4*MÜNCHEN'] }]) +
      interchange(PIPE, [{ set: '214', control: '0002', body: ['B10|A|B|ABCD'] }], { isaControl: '000000002' }));
    const dir = mkdtempSync(join(tmpdir(), 'waybill-reader-'));
    try {
      const file = join(dir, 'in.edi');
      writeFileSync(file, text);
      const whole = events(text);
      for (const chunkSize of [1, 7, 64, 1 << 16]) {
        const got: X12Event[] = [];
        for await (const b of readX12Batches(file, { chunkSize })) got.push(...b);
        expect(got, `chunkSize ${chunkSize}`).toEqual(whole);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file larger than a read (FILE_READ_SIZE) is read through two reused buffers, cut into chunkSize pieces', async () => {
    const { readX12Batches, FILE_READ_SIZE, DEFAULT_CHUNK_SIZE } = await import('../../../src/translators/x12/reader.js');
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    // Interchanges with a three-byte terminator and UTF-8 values, to 2.5 reads: characters and segments
    // are cut at read and at piece boundaries, and a buffer overwritten before the reader had copied it
    // out would show as changed values.
    const one = (n: number) => interchange({ element: '*', component: '>', segment: '\u2026', suffix: '\r\n' },
      [{ set: '214', control: String(n).padStart(4, '0'), body: [...body214, `N4*MÜNCHEN ${n}`] }], { isaControl: String(n).padStart(9, '0') });
    const parts: string[] = [];
    let size = 0;
    for (let n = 1; size < 2.5 * FILE_READ_SIZE; n++) {
      parts.push(one(n));
      size += Buffer.byteLength(parts[parts.length - 1]);
    }
    const text = Buffer.from(parts.join(''));
    const dir = mkdtempSync(join(tmpdir(), 'waybill-reader-'));
    try {
      const file = join(dir, 'in.edi');
      writeFileSync(file, text);
      const whole = events(text, text.length);
      expect(transactions(whole)).toHaveLength(parts.length);
      for (const chunkSize of [undefined, 7001]) {
        const got: X12Event[] = [];
        let batches = 0;
        for await (const b of readX12Batches(file, chunkSize ? { chunkSize } : {})) {
          got.push(...b);
          batches++;
        }
        // The first event that differs, not the whole list: a diff of 40,000 events takes minutes to print.
        expect(got.length, `chunkSize ${chunkSize}`).toBe(whole.length);
        const differs = got.findIndex((e, i) => !isDeepStrictEqual(e, whole[i]));
        if (differs >= 0) expect(got[differs], `chunkSize ${chunkSize}, event ${differs}`).toEqual(whole[differs]);
        // One batch per piece (and one for the end), not one per read.
        expect(batches, `chunkSize ${chunkSize}`).toBeGreaterThanOrEqual(Math.floor(text.length / (chunkSize ?? DEFAULT_CHUNK_SIZE)));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a stream\'s chunks are cut into chunkSize pieces too', async () => {
    const { readX12Batches } = await import('../../../src/translators/x12/reader.js');
    const text = Buffer.from(interchange(STAR, Array.from({ length: 300 }, (_, i) => ({ set: '214', control: String(i + 1).padStart(4, '0'), body: body214 }))));
    expect(text.length).toBeGreaterThan(20_000);
    const batches: X12Event[][] = [];
    for await (const b of readX12Batches(Readable.from([text]), { chunkSize: 4096 })) batches.push(b);
    expect(batches.flat()).toEqual(events(text));
    expect(batches.length).toBeGreaterThanOrEqual(Math.floor(text.length / 4096));
  });

  it('a consumer that stops early leaves no file open', async () => {
    const { readX12Batches } = await import('../../../src/translators/x12/reader.js');
    const { readdirSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const file = fileURLToPath(new URL('../../../fixtures/edi/214/004010/ltl-multi-status.edi', import.meta.url));
    const openFds = () => readdirSync('/proc/self/fd').length;
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      // eslint-disable-next-line no-unreachable-loop
      for await (const b of readX12Batches(file, { chunkSize: 16 })) { expect(b.length).toBeGreaterThan(0); break; }
    }
    expect(openFds()).toBe(before);
  });
});

describe('a segment longer than the reader holds (1 MiB)', () => {
  const long = `MS1*${'J'.repeat(1_100_000)}*IL`;
  const file = interchange(STAR, [
    { set: '214', control: '0001', body: body214 },
    { set: '214', control: '0002', body: [...body214, long, 'MS2*PRLF*2209'] },
    { set: '214', control: '0003', body: body214 },
  ]);

  for (const chunkSize of [undefined, 16 * 1024]) {
    it(`rejects its own transaction set alone (X12_SEGMENT_TOO_LONG at it) and reads on at its terminator${chunkSize ? ', in 16 KiB chunks' : ''}`, () => {
      const evs = events(file, chunkSize);
      const txs = transactions(evs);
      expect(txs.map((t) => [t.control, t.complete, t.issues.map((i) => i.code)])).toEqual([
        ['0001', true, []], ['0002', true, ['X12_SEGMENT_TOO_LONG']], ['0003', true, []],
      ]);
      // Left out of the segments, counted against SE01, and placed for the 997's AK3.
      expect(txs[1].segments.map((s) => s.id)).toEqual(['ST', 'B10', 'LX', 'AT7', 'MS2', 'SE']);
      expect(txs[1].issues[0]).toMatchObject({ segmentId: 'MS1', segmentPosition: 5, severity: 'error', loc: { line: txs[1].segments[0].loc.line + 4, column: 1 } });
      expect(codes(evs)).toEqual(['X12_SEGMENT_TOO_LONG']);
      // The segments after it are where they are: positions and lines as in the file.
      expect(txs[1].segments[4]).toMatchObject({ id: 'MS2', position: 6, loc: { line: txs[1].segments[0].loc.line + 5 } });
    });
  }

  it('data that long without an element separator is still not X12: skipped to the next ISA', () => {
    const junk = interchange(STAR, [{ set: '214', control: '0001', body: [...body214, 'X'.repeat(1_100_000)] }]);
    expect(codes(events(junk, 16 * 1024))).toContain('X12_UNEXPECTED_DATA');
  });
});

describe('header dates, times and versions', () => {
  const good = interchange(STAR, [{ set: '214', control: '0001', body: body214 }]);
  const headerIssues = (text: string) => issues(events(text)).map((i) => [i.code, i.severity, i.elementPosition]);

  it('a clean header has none', () => {
    expect(headerIssues(good)).toEqual([]);
  });

  it('ISA09 not a date, ISA10 not a time, ISA12 not a version: errors that TA1 014, 015 and 017 name', () => {
    expect(headerIssues(good.replace('*250101*1200*', '*251345*1200*'))).toEqual([['X12_ISA_DATE_INVALID', 'error', 9]]);
    expect(headerIssues(good.replace('*250101*1200*', '*250101*2599*'))).toEqual([['X12_ISA_TIME_INVALID', 'error', 10]]);
    expect(headerIssues(good.replace('*00401*', '*0040X*'))).toEqual([['X12_ISA_VERSION_INVALID', 'error', 12]]);
  });

  it('GS04 not a date, GS05 not a time, GS07 neither X nor T: warnings, the group is read', () => {
    expect(headerIssues(good.replace('*20250101*1200*', '*20251345*1200*'))).toEqual([['X12_GS_FIELD_INVALID', 'warning', 4]]);
    expect(headerIssues(good.replace('*20250101*1200*', '*20250101*2599*'))).toEqual([['X12_GS_FIELD_INVALID', 'warning', 5]]);
    expect(headerIssues(good.replace('*X*004010', '*Q*004010'))).toEqual([['X12_GS_FIELD_INVALID', 'warning', 7]]);
    expect(transactions(events(good.replace('*X*004010', '*Q*004010')))).toHaveLength(1);
  });
});
