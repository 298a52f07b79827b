import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { binaryKind, examineFile, sniffFormat } from '../../src/mappings/translate.js';
import { interchange, STAR } from '../helpers/x12.js';

const x12 = interchange(STAR, [{ set: '214', control: '0001', body: ['B10*PRO1*BOL1*ABCD', 'LX*1', 'AT7*X3*NS***20250101*0800*ET'] }]);
const utf16le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
const utf16be = (s: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, 'utf16le').swap16()]);

describe('sniffFormat', () => {
  it('X12 at the start, XML, and CSV as before', () => {
    expect(sniffFormat(Buffer.from(x12))).toBe('x12');
    expect(sniffFormat(Buffer.from(`\ufeff\n  ${x12}`))).toBe('x12');
    expect(sniffFormat(Buffer.from('<?xml version="1.0"?><a/>'))).toBe('xml');
    expect(sniffFormat(Buffer.from('PRO,BOL\n1,2\n'))).toBe('csv');
  });

  it('X12 behind a mail header or a transfer banner, when its ISA is fixed width', () => {
    expect(sniffFormat(Buffer.from(`From: edi@carrier.example\r\nSubject: 214\r\n\r\n${x12}`))).toBe('x12');
    expect(sniffFormat(Buffer.from(`220 Welcome to FTP\r\n${x12}`))).toBe('x12');
    // A header that is not fixed width is only recognised at the start of the file.
    expect(sniffFormat(Buffer.from(`220 Welcome\r\n${x12.replace('SENDERID       ', 'SENDERID')}`))).toBe('csv');
  });

  it('a CSV that mentions ISA stays CSV', () => {
    expect(sniffFormat(Buffer.from('Code,Text\nISA*,interchange header\nXISA*00*,x\n'))).toBe('csv');
  });

  it('UTF-16 X12 and XML (a BOM, or for X12 an "ISA" spelt with NULs) are told by their characters', () => {
    expect(sniffFormat(utf16le(x12))).toBe('x12');
    expect(sniffFormat(utf16be(x12))).toBe('x12');
    expect(sniffFormat(Buffer.from(x12, 'utf16le'))).toBe('x12');
    // Without a BOM, after a blank line: the "ISA" spelt with NULs is looked for past the whitespace.
    expect(sniffFormat(Buffer.from(`\r\n${x12}`, 'utf16le'))).toBe('x12');
    expect(sniffFormat(Buffer.from(`\n ${x12}`, 'utf16le').swap16())).toBe('x12');
    expect(sniffFormat(utf16le('<?xml version="1.0" encoding="UTF-16"?><a/>'))).toBe('xml');
    expect(sniffFormat(utf16be('<?xml version="1.0" encoding="UTF-16"?><a/>'))).toBe('xml');
    expect(sniffFormat(utf16le('PRO,BOL\n1,2\n'))).toBe('csv');
    // UTF-16 XML without a BOM, as the XML reader takes it.
    expect(sniffFormat(Buffer.from('<?xml version="1.0"?><a/>', 'utf16le'))).toBe('xml');
    expect(sniffFormat(Buffer.from('<?xml version="1.0"?><a/>', 'utf16le').swap16())).toBe('xml');
    expect(binaryKind(Buffer.from('<?xml version="1.0"?><a/>', 'utf16le'))).toBe(null);
    expect(binaryKind(Buffer.from(`ID,Code\n1,${'\u0000'.repeat(8)}\n`, 'latin1'))).toBe('binary data (it holds NUL bytes)');
    // A NUL or two in text is a corrupt record, for the CSV reader to fail alone (CSV_NUL_CHARACTER).
    expect(binaryKind(Buffer.from('ID,Code\n1,\u0000\n2,B\n', 'latin1'))).toBe(null);
    // UTF-16 without a byte order mark: said as such, not as binary data.
    expect(binaryKind(Buffer.from('ID,Code\n1,A\n', 'utf16le'))).toBe('UTF-16 text without a byte order mark (save it with one, or as UTF-8)');
    // None of them is taken for binary data for its NULs.
    expect(binaryKind(Buffer.from(x12, 'utf16le'))).toBe(null);
    expect(binaryKind(utf16le(x12))).toBe(null);
  });
});

describe('examineFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wb-examine-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, bytes: Buffer | string) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  it('refuses a blank file (whitespace and Ctrl-Z, past the head too) and a binary one; takes the rest by format', () => {
    const codes = (p: string) => { const r = examineFile(p); return [r.format, r.binary, r.refusal?.code ?? null]; };
    expect(codes(file('empty.csv', ''))).toEqual(['csv', false, 'PIPELINE_EMPTY_FILE']);
    expect(codes(file('sub.csv', '\r\n\x1a'))).toEqual(['csv', false, 'PIPELINE_EMPTY_FILE']);
    expect(codes(file('long-blank.csv', ' '.repeat(10_000)))).toEqual(['csv', false, 'PIPELINE_EMPTY_FILE']);
    expect(codes(file('late-data.csv', `${' '.repeat(70_000)}x`))).toEqual(['csv', false, null]);
    expect(codes(file('zip.csv', Buffer.from('PK\x03\x04rest', 'latin1')))).toEqual(['csv', true, 'PIPELINE_NOT_TEXT']);
    expect(codes(file('x12.edi', `From: a@b\r\n\r\n${x12}`))).toEqual(['x12', false, null]);
    expect(examineFile(join(dir, 'zip.csv')).refusal?.message).toBe('the file is a ZIP archive (also .xlsx and .docx files), not X12, CSV or XML text');
  });
});

describe('binaryKind on random bytes', () => {
  it('encrypted or random data is binary by its control characters, though NULs are only 1 in 256 of it', () => {
    // A deterministic stand-in for a gpg-encrypted file: bytes spread evenly over 0-255.
    let x = 12345;
    const random = Buffer.from(Array.from({ length: 4096 }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff));
    expect(sniffFormat(random)).toBe('csv');
    expect(binaryKind(random)).toBe('binary data (it holds NUL bytes and control characters: encrypted or compressed?)');
    // Text with a stray NUL or two and a few control characters stays text: the CSV reader fails that record alone.
    const text = Buffer.from(`${'id,status,at\n1,X3,2025-01-01\x1d\n'.repeat(100)}2,\x00D1,2025-01-02\n`, 'latin1');
    expect(binaryKind(text)).toBe(null);
    // UTF-16 without a BOM is still named as such, not as encrypted data.
    expect(binaryKind(Buffer.from('id,status\n1,X3\n'.repeat(50), 'utf16le'))).toMatch(/^UTF-16 text without a byte order mark/);
  });
});
