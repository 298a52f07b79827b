import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, waybill } from '../helpers/cli.js';
import { readX12Sync } from '../../src/translators/x12/reader.js';
import { parseFunctionalAck } from '../../src/translators/x12/acks/parse.js';

const valid = 'fixtures/edi/214/004010/ltl-multi-status.edi';
const seCount = 'fixtures/edi/envelope/se-count-wrong.edi';

describe('waybill inspect', () => {
  it('prints a readable report and exits 0 for a valid file', async () => {
    const r = await waybill(['inspect', valid]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(': valid');
    expect(r.stdout).toMatch(/interchange 000002291/);
    expect(r.stdout).toMatch(/delimiters: element '\*', component '>', repetition none, segment '~'/);
  });

  it('--json prints exactly one JSON object with the documented shape, exit 1 when invalid', async () => {
    const r = await waybill(['inspect', '--json', seCount]);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(false);
    expect(out.interchanges[0].control).toBe('000002401');
    expect(out.interchanges[0].groups[0].control).toBe('2401');
    expect(out.interchanges[0].groups[0].transactions[0]).toMatchObject({ set: '214', control: '0001', valid: false });
    // At SE01, the element the finding is about (its byte offset too): not at the SE segment's start.
    const text = readFileSync(join(repoRoot, seCount), 'latin1');
    expect(out.errors).toEqual([expect.objectContaining({ code: 'X12_SE_COUNT_MISMATCH', line: 17, column: 4, offset: text.indexOf('SE*13') + 3, element: 1 })]);
    for (const e of out.errors) expect(Object.keys(e)).toEqual(expect.arrayContaining(['code', 'message', 'line', 'column']));
  });

  it('a file whose lines end in CR alone: findings at the line and column an editor shows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-'));
    const file = join(dir, 'se-count-wrong-cr.edi');
    writeFileSync(file, readFileSync(seCount, 'latin1').replaceAll('\n', '\r'), 'latin1');
    const json = JSON.parse((await waybill(['inspect', '--json', file])).stdout);
    expect(json.errors).toEqual([expect.objectContaining({ code: 'X12_SE_COUNT_MISMATCH', line: 17, column: 4 })]);
    expect(json.interchanges[0].groups[0].transactions[0]).toMatchObject({ line: 3 });
    const text = await waybill(['inspect', file]);
    expect(text.stdout).toContain(`${file}:17:4 error X12_SE_COUNT_MISMATCH`);
    expect(text.stdout).toMatch(/BAD 214 0001 {2}15 segments {2}line 3\n/);
  });

  it('bad paths and unreadable files give one coded line and exit 2', async () => {
    const missing = await waybill(['inspect', 'no/such/file.edi']);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe('waybill: CLI_FILE_NOT_FOUND: no such file: no/such/file.edi');
    expect((await waybill(['inspect', 'fixtures'])).stderr).toMatch(/^waybill: CLI_FILE_UNREADABLE: .* is a directory/);
    if (process.getuid?.() !== 0) {
      const dir = mkdtempSync(join(tmpdir(), 'wb-'));
      const f = join(dir, 'locked.edi');
      writeFileSync(f, 'x');
      chmodSync(f, 0o000);
      expect((await waybill(['inspect', f])).stderr).toMatch(/CLI_FILE_UNREADABLE/);
    }
    // A file that opens but fails while read (EIO): coded, not an internal error with a stack trace.
    if (process.platform === 'linux') {
      for (const command of ['inspect', 'ack']) {
        const eio = await waybill([command, '/proc/self/mem']);
        expect(eio.stderr.trim(), command).toBe('waybill: CLI_FILE_UNREADABLE: cannot read the input: EIO: i/o error, read');
        expect(eio.status, command).toBe(2);
      }
    }
  });

  it('usage errors exit 2; --help exits 0 and documents every command', async () => {
    expect((await waybill(['inspect'])).status).toBe(2);
    const unknown = await waybill(['frobnicate']);
    expect(unknown.status).toBe(2);
    // The parser's errors take the form every error takes: `waybill: CODE: message`.
    expect(unknown.stderr).toBe("waybill: CLI_USAGE: unknown command 'frobnicate'\n(run with --help for usage)\n");
    const choice = await waybill(['inspect', '--isa-width', 'sometimes', valid]);
    expect(choice.status).toBe(2);
    expect(choice.stderr).toMatch(/^waybill: CLI_USAGE: option '--isa-width <policy>' argument 'sometimes' is invalid/);
    const help = await waybill(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/inspect/);
    expect(help.stdout).toMatch(/ack/);
    expect((await waybill(['inspect', '--help'])).stdout).toMatch(/Exit status: 0 valid, 1 invalid, 2 usage/);
  });

  it('ack: nothing to acknowledge is a coded line naming what stands there, exit 1; a GS08 that is no version is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-'));
    const garbage = join(dir, 'garbage.edi');
    writeFileSync(garbage, 'hello world\n');
    const r = await waybill(['ack', garbage]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`waybill: X12_UNEXPECTED_DATA: ${garbage}:1:1: data that is not X12: "hello world\\n"; no interchange could be read, so there is nothing to acknowledge (waybill inspect ${garbage} shows why)\n`);
    expect((await waybill(['ack', '--json', garbage])).status).toBe(1);
    const bad = await waybill(['ack', valid, '--ack-version', '00X']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("waybill: CLI_USAGE: --ack-version takes a GS08 version such as 004010 or 005010X231A1, not '00X'");
  });

  it('a binary or empty file is a readable report, never a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-'));
    const f = join(dir, 'junk.bin');
    writeFileSync(f, Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13, 0x49, 0x53, 0x41]));
    const r = await waybill(['inspect', '--json', f]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).valid).toBe(false);
    expect(r.stderr).toBe('');
  });
});

describe('waybill ack', () => {
  it('prints a 997 that rejects the transaction with the SE01 count error (AK5 R 4)', async () => {
    const r = await waybill(['ack', seCount]);
    expect(r.status).toBe(0);
    const text = r.stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    const tx = [...readX12Sync(text)].flatMap((e) => (e.type === 'transaction' ? [e.transaction] : []));
    expect(tx).toHaveLength(1);
    const ack = parseFunctionalAck(tx[0], tx[0].interchange!.delimiters);
    expect(ack.group).toMatchObject({ functionalId: 'QM', control: '2401' });
    expect(ack.transactions[0]).toMatchObject({ setId: '214', control: '0001' });
    expect(ack.transactions[0].state).toBe('rejected');
  });

  it('never acknowledges an inbound 997', async () => {
    const r = await waybill(['ack', 'fixtures/edi/997/004010/accept-214-group.edi']);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/ST\*997/);
  });

  it('an interchange whose acknowledgment cannot be written is said with the writer\'s code; the others are still acknowledged (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-'));
    const f = join(dir, 'two.edi');
    // The second ISA is not fixed-width: its ISA06 of 18 characters cannot be the ISA08 of an answer.
    const ic = (isa06: string, control: string) => `ISA*00*          *00*          *02*${isa06}*ZZ*TRICOUNTYHWS   *250416*1105*U*00401*${control}*0*P*>~\n` +
      'GS*QM*PRLF*TRICOUNTYHWS*20250416*1105*2291*X*004010~\nST*214*0001~\nB10*0048213377*TCH-BOL-40771*PRLF~\nLX*1~\n' +
      `AT7*X3*NS***20250414*0852*CT~\nMS1*JOLIET*IL*US~\nSE*6*0001~\nGE*1*2291~\nIEA*1*${control}~\n`;
    writeFileSync(f, ic('PRLF           ', '000000401') + ic('PRAIRIELINEFREIGHT', '000000402'));
    const r = await waybill(['ack', f]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^# interchange 000000401: envelope A, 997 A for group QM 2291\nISA\*/);
    expect(r.stdout).not.toMatch(/interchange 000000402/);
    expect(r.stderr).toBe(`waybill: X12_WRITE_VALUE_TOO_LONG: ${f}:11:1: interchange 000000402 is not acknowledged: ISA08 "PRAIRIELINEFREIGHT" is longer than its 15 characters\n`);
    const json = await waybill(['ack', '--json', f]);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout).acknowledgments.map((a: { inboundInterchange: string; error?: { code: string } }) => [a.inboundInterchange, a.error?.code ?? 'built']))
      .toEqual([['000000401', 'built'], ['000000402', 'X12_WRITE_VALUE_TOO_LONG']]);
  });

  it('control numbers go on from 1 after 999999999 (the second interchange\'s answer failed whole, with nothing printed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-'));
    const f = join(dir, 'two.edi');
    const text = (await import('node:fs')).readFileSync(valid, 'latin1');
    writeFileSync(f, text + text.replaceAll('000002291', '000002292'));
    const r = await waybill(['ack', '--control', '999999999', f]);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('ISA')).map((l) => l.split('*')[13])).toEqual(['999999999', '000000001']);
  });

  it('--control takes 1-999999999, as render does: 0 and abc are usage errors', async () => {
    for (const bad of ['0', 'abc', '1000000000']) {
      const r = await waybill(['ack', '--control', bad, seCount]);
      expect(r.status, bad).toBe(2);
      expect(r.stderr).toBe(`waybill: CLI_USAGE: --control takes a whole number from 1 to 999999999 (ISA13 has 9 digits), not '${bad}'\n`);
    }
  });
});
