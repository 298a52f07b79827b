// Where an element is in the file (line, column and byte offset of its first byte), for findings about it,
// whatever the layout: one segment per line, one huge line, CR LF, hard-wrapped segments, UTF-8 or latin1
// bytes before the element, a BOM, and through both of the tokenizer's paths (scanner or not).
import { describe, expect, it } from 'vitest';
import { elementLocation, type ElementCoordinates } from '../../../src/translators/x12/element-location.js';
import { allIssues, inspectX12Sync } from '../../../src/translators/x12/inspect.js';
import { readX12Sync, type ReaderOptions } from '../../../src/translators/x12/reader.js';
import type { Location, Segment, TransactionSet } from '../../../src/translators/x12/model.js';
import { interchange, isaSegment, PIPE, STAR, type TestDelims } from '../../helpers/x12.js';

/**
 * Line and column (in bytes, as segment locations count them) of the first `marker` (as UTF-8 bytes) at or
 * after byte `from`: on line 1 of a file that starts with a BOM, columns count from after it.
 */
function locationOf(bytes: Buffer, marker: string | Buffer, from = 0): Location {
  const offset = bytes.indexOf(marker, from);
  expect(offset, `${String(marker)} in the file`).toBeGreaterThanOrEqual(0);
  let line = 1;
  let lineStart = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (let i = bytes.indexOf(0x0a); i >= 0 && i < offset; i = bytes.indexOf(0x0a, i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { offset, line, column: offset - lineStart + 1 };
}

const SCANNER = [true, false];

/** A 214 whose N4 says OKLA (N402 is 2 characters at most), other segments ahead of it. */
function badState(d: TestDelims, city = 'TULSA'): string {
  const e = d.element;
  const body = [`B10${e}PRO1${e}BOL1${e}ABCD`, `N1${e}SH${e}ACME`, `N4${e}${city}${e}OKLA${e}74115`, `LX${e}1`, `AT7${e}X3${e}NS${e}${e}${e}20250101${e}0800${e}ET`];
  return interchange(d, [{ set: '214', control: '0001', body }]);
}

/** elementLocation of an element of the first segment `id` the reader cuts from `bytes` (the ISA included). */
function locate(bytes: Buffer, id: string, at: ElementCoordinates, options: ReaderOptions): Location {
  for (const e of readX12Sync(bytes, options)) {
    if (e.type === 'interchange-start' && id === 'ISA') return elementLocation(e.header.isa, at, e.header.delimiters);
    if (e.type !== 'transaction') continue;
    const seg = e.transaction.segments.find((s) => s.id === id);
    if (seg) return elementLocation(seg, at, e.transaction.interchange!.delimiters);
  }
  throw new Error(`no ${id} read`);
}

describe('elementLocation, on segments as the reader cuts them', () => {
  for (const useScanner of SCANNER) {
    const how = useScanner ? 'scanner' : 'general path';
    const n402 = (bytes: Buffer, options: ReaderOptions = {}) => locate(bytes, 'N4', { elementPosition: 2 }, { useScanner, ...options });

    it(`one segment per line (${how})`, () => {
      const bytes = Buffer.from(badState(STAR));
      expect(n402(bytes)).toEqual(locationOf(bytes, 'OKLA'));
    });

    it(`one line holding the whole file: the column is the byte offset's (${how})`, () => {
      const many = Array.from({ length: 300 }, (_, k) => ({ set: '214', control: String(1000 + k), body: ['B10*PRO1*BOL1*ABCD', 'LX*1'] }));
      const text = interchange({ ...STAR, suffix: '' }, [...many, { set: '214', control: '9999', body: ['N4*TULSA*OKLA*74115'] }]);
      const bytes = Buffer.from(text);
      const loc = n402(bytes);
      expect(loc).toEqual(locationOf(bytes, 'OKLA'));
      expect(loc.line).toBe(1);
      expect(loc.column).toBeGreaterThan(10_000);
    });

    it(`CR LF after each terminator, and CR LF as the terminator (${how})`, () => {
      const crlf = Buffer.from(badState({ ...STAR, suffix: '\r\n' }));
      expect(n402(crlf)).toEqual(locationOf(crlf, 'OKLA'));
      const lines = Buffer.from(badState({ element: '|', component: '^', segment: '\r\n' }));
      expect(n402(lines)).toEqual(locationOf(lines, 'OKLA'));
      // past the last element: where the line ends (its CR), as the segment's data does
      expect(locate(lines, 'N4', { elementPosition: 4 }, { useScanner })).toEqual(locationOf(lines, '\r\n', lines.indexOf('74115')));
    });

    it(`a hard-wrapped segment: the element on a later line than its segment (${how})`, () => {
      const atBreak = Buffer.from(badState(STAR).replace('N4*TULSA*', 'N4*TULSA*\r\n'));
      expect(n402(atBreak)).toEqual({ ...locationOf(atBreak, 'OKLA'), column: 1 });
      const inside = Buffer.from(badState(STAR).replace('N4*TULSA*', 'N4*TU\nLSA*'));
      expect(n402(inside)).toEqual({ ...locationOf(inside, 'OKLA'), column: 5 });
    });

    it(`UTF-8 characters before the element count their bytes, as segment columns do (${how})`, () => {
      const bytes = Buffer.from(badState(STAR, 'MÜNCHEN – NORD'));
      const loc = n402(bytes);
      expect(loc).toEqual(locationOf(bytes, 'OKLA'));
      expect(loc.column - locationOf(bytes, 'N4*').column).toBe(Buffer.byteLength('N4*MÜNCHEN – NORD*'));
      // on one line (no line breaks in the file) too, after segments that held such characters
      const oneLine = Buffer.from(badState({ ...STAR, suffix: '' }, 'MÜNCHEN – NORD').replace('ACME', 'ÄCMÉ'));
      expect(n402(oneLine)).toEqual(locationOf(oneLine, 'OKLA'));
    });

    it(`bytes that are not UTF-8 (kept as latin1), and UTF-8 read as latin1 (${how})`, () => {
      const [head, tail] = badState(STAR).split('TULSA');
      const latin1 = Buffer.concat([Buffer.from(head), Buffer.from([0x4d, 0xdc, 0x4e, 0xe9]), Buffer.from(tail)]);
      expect(n402(latin1)).toEqual(locationOf(latin1, 'OKLA'));
      const utf8 = Buffer.from(badState(STAR, 'MÜNCHEN'));
      expect(n402(utf8, { encoding: 'latin1' })).toEqual(locationOf(utf8, 'OKLA'));
    });

    it(`the ISA: after a BOM columns count from after it; one not fixed width, wrapped before the element (${how})`, () => {
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(badState(STAR))]);
      expect(locate(bom, 'ISA', { elementPosition: 9 }, { useScanner })).toEqual({ ...locationOf(bom, '250101'), column: 71 });
      const isa = isaSegment(STAR);
      const wrapped = Buffer.from(badState(STAR).replace(isa, isa.replace('*ZZ*RECEIVERID', '*ZZ*\nRECEIVERID').replace('*00401*', '*00401*\r\n')));
      expect(locate(wrapped, 'ISA', { elementPosition: 13 }, { useScanner })).toEqual({ ...locationOf(wrapped, '000000001'), line: 3, column: 1 });
    });
  }
});

describe('elementLocation: elements, repetitions, components', () => {
  // Separators: element '|', component '^', repetition '{'.
  const text = interchange(PIPE, [{ set: '214', control: '0001', body: ['ZZZ|A^B^C|D{E^F{G||'] }]);
  const bytes = Buffer.from(text);
  const tx = [...readX12Sync(bytes)].flatMap((e) => (e.type === 'transaction' ? [e.transaction] : []))[0] as TransactionSet;
  const zzz = tx.segments.find((s) => s.id === 'ZZZ') as Segment;
  const delimiters = tx.interchange!.delimiters;
  const zzzAt = zzz.loc.offset;
  const at = (elementPosition: number, componentPosition?: number, repetition?: number) =>
    elementLocation(zzz, { elementPosition, componentPosition, repetition }, delimiters).offset - zzzAt;

  it('an element, a component, a repetition, a component of a repetition', () => {
    expect(at(1)).toBe('ZZZ|'.length);
    expect(at(1, 3)).toBe('ZZZ|A^B^'.length);
    expect(at(2, undefined, 3)).toBe('ZZZ|A^B^C|D{E^F{'.length);
    expect(at(2, 2, 2)).toBe('ZZZ|A^B^C|D{E^'.length);
  });

  it('an empty element just after its separator; past the end, where its segment, element or repetition ends', () => {
    expect(at(3)).toBe('ZZZ|A^B^C|D{E^F{G|'.length);
    expect(at(4)).toBe('ZZZ|A^B^C|D{E^F{G||'.length); // the last element, empty: at the terminator
    expect(at(9)).toBe('ZZZ|A^B^C|D{E^F{G||'.length);
    expect(at(1, 5)).toBe('ZZZ|A^B^C'.length);
    expect(at(2, undefined, 5)).toBe('ZZZ|A^B^C|D{E^F{G'.length);
    expect(at(2, 3, 2)).toBe('ZZZ|A^B^C|D{E^F'.length);
  });

  it('lines and columns follow the offset', () => {
    expect(elementLocation(zzz, { elementPosition: 2, repetition: 3 }, delimiters)).toEqual(locationOf(bytes, 'G||'));
  });
});

describe('findings read from a file point at their element', () => {
  const issuesOf = (bytes: Buffer) => allIssues(inspectX12Sync(bytes));

  it('a schema finding (N402 too long) in a hard-wrapped segment after UTF-8 characters', () => {
    const bytes = Buffer.from(badState({ ...STAR, suffix: '' }, 'MÜNCHEN – NORD').replace('*OKLA*', '*\r\nOKLA*'));
    expect(issuesOf(bytes)).toEqual([expect.objectContaining({ code: 'X12_ELEMENT_TOO_LONG', elementPosition: 2, loc: { ...locationOf(bytes, 'OKLA'), line: 2, column: 1 } })]);
  });

  it('envelope findings: a bad ISA date after a BOM, SE01, GE02, and GS01 that does not fit the set', () => {
    const text = badState(STAR).replace('*250101*', '*251301*').replace('SE*7*0001', 'SE*9*0001').replace('GE*1*1', 'GE*1*7').replace('GS*QM*', 'GS*IN*');
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    const at = (code: string) => issuesOf(bytes).find((i) => i.code === code)?.loc;
    expect(at('X12_ISA_DATE_INVALID')).toEqual({ ...locationOf(bytes, '251301'), column: 71 });
    expect(at('X12_SE_COUNT_MISMATCH')).toEqual(locationOf(bytes, '9*0001'));
    expect(at('X12_GE_CONTROL_MISMATCH')).toEqual(locationOf(bytes, '7~', bytes.indexOf('GE*')));
    expect(at('X12_GROUP_FUNCTIONAL_ID_MISMATCH')).toEqual(locationOf(bytes, 'IN*'));
  });

  it('a finding about the segment as a whole stays at its first character', () => {
    const bytes = Buffer.from(badState(STAR).replace('LX*1~', 'LX*1~\nREF*BM*1~').replace('SE*7*', 'SE*8*'));
    expect(issuesOf(bytes).filter((i) => i.code.startsWith('X12_SEGMENT'))).toEqual([expect.objectContaining({ code: 'X12_SEGMENT_NOT_IN_SET', loc: locationOf(bytes, 'REF*') })]);
  });
});
