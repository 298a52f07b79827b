// `waybill translate`: what it prints for X12, CSV and XML, in text and --json, checked against the
// translator itself. The output is streamed (each unit as it is translated; --json's unit summaries wait
// in a temporary file), and --json must still be exactly the document JSON.stringify(_, null, 2) prints.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import { fileIdOf, translateCsv, translateX12, type TranslatedUnit } from '../../src/mappings/translate.js';
import { CLI_TEST_TIMEOUT, repoRoot, waybill } from '../helpers/cli.js';

const partners = join(repoRoot, 'partners');
const { registry } = PartnerRegistry.load(partners);
const receivedAt = '2024-02-01T00:00:00Z';
const badTx = join(partners, 'prairie-line/samples/214-one-bad-transaction.edi');
const csv = join(partners, 'sangamon-valley/samples/svxp_status_20250513_1100.csv');
const dir = mkdtempSync(join(tmpdir(), 'wb-translate-cli-'));
const spoolDir = join(dir, 'tmp');
mkdirSync(spoolDir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function reference(units: AsyncIterable<TranslatedUnit>): Promise<TranslatedUnit[]> {
  const out: TranslatedUnit[] = [];
  for await (const u of units) out.push(u);
  return out;
}

const opts = async (file: string) => ({ fileId: await fileIdOf(file), fileName: file.split('/').pop()!, receivedAt });

describe('waybill translate', () => {
  it('--json: the events and unit summaries the translator gives, in JSON.stringify layout; exit 1 for a failed unit', async () => {
    const expected = await reference(translateX12(badTx, registry, await opts(badTx)));
    // TMPDIR: the spool for the unit summaries goes there, and must be gone afterwards.
    const r = await waybill(['translate', badTx, '--json', '--partners', partners, '--received-at', receivedAt], { env: { TMPDIR: spoolDir } });
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(r.stdout).toBe(`${JSON.stringify(doc, null, 2)}\n`);
    expect(doc).toEqual({
      file: badTx, format: 'x12', valid: false,
      events: expected.flatMap((u) => u.events),
      units: expected.map((u) => ({ label: u.label, line: u.line, partner: u.partner, status: u.status, events: u.events.length, errors: u.errors })),
    });
    expect(doc.units.map((u: { status: string }) => u.status)).toEqual(['translated', 'failed']);
    // TMPDIR was honoured (tsx keeps its cache there) and the spool is gone.
    expect(readdirSync(spoolDir).length).toBeGreaterThan(0);
    expect(readdirSync(spoolDir).filter((n) => n.startsWith('waybill-translate-'))).toEqual([]);
  }, CLI_TEST_TIMEOUT);

  it('text: each unit, its errors, then its events as JSON lines; the count on stderr', async () => {
    const expected = await reference(translateX12(badTx, registry, await opts(badTx)));
    const r = await waybill(['translate', badTx, '--partners', partners, '--received-at', receivedAt]);
    expect(r.status).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    const want: string[] = [];
    for (const u of expected) {
      want.push(`${u.status === 'translated' ? 'ok ' : 'BAD'} ${u.label}  line ${u.line}  ${u.status}  ${u.events.length} event(s)  partner ${u.partner}`);
      for (const e of u.errors) want.push(`    ${badTx}:${e.line}:${e.column} ${e.severity} ${e.code} ${e.message}  (mapping ${e.mapping!.file}:${e.mapping!.line}:${e.mapping!.column})`);
      for (const e of u.events) want.push(JSON.stringify(e));
    }
    expect(lines).toEqual(want);
    // AT7*X6*NS~ has no AT705 (the date the datetime needs): the error points where it would be, at the terminator.
    expect(lines).toContain(`    ${badTx}:31:10 error MAP_REQUIRED_MISSING required value (datetime) is missing  (mapping ${join(partners, 'prairie-line/mappings/214-status.yaml')}:7:15)`);
    expect(r.stderr).toBe('translate: 2 unit(s), 1 event(s), 1 failed\n');
  }, CLI_TEST_TIMEOUT);

  it('CSV with --partner: one unit per record; without it, the one partner whose route pattern names the file, else a usage error', async () => {
    const partner = registry.get('sangamon-valley')!;
    const expected = await reference(translateCsv(csv, partner, await opts(csv)));
    const r = await waybill(['translate', csv, '--json', '--partner', 'sangamon-valley', '--partners', partners, '--received-at', receivedAt]);
    expect(r.status).toBe(expected.every((u) => u.status === 'translated') ? 0 : 1);
    const doc = JSON.parse(r.stdout);
    expect(doc.format).toBe('csv');
    expect(doc.events).toEqual(expected.flatMap((u) => u.events));
    expect(doc.units).toHaveLength(expected.length);
    // svxp_status_*.csv is sangamon-valley's csv route: the same output, and stderr says whose it is.
    const inferred = await waybill(['translate', csv, '--json', '--partners', partners, '--received-at', receivedAt]);
    expect(inferred.status).toBe(r.status);
    expect(inferred.stdout).toBe(r.stdout);
    expect(inferred.stderr).toContain("translate: partner sangamon-valley: its csv route's pattern matches svxp_status_20250513_1100.csv");
    // A name no route pattern matches.
    const renamed = join(dir, 'status.csv');
    cpSync(csv, renamed);
    const bare = await waybill(['translate', renamed, '--partners', partners]);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toMatch(/CLI_USAGE: CSV files carry no sender id: name the partner with --partner; no partner's csv route pattern matches status\.csv/);
    // Two partners whose patterns both match: neither is guessed.
    const twins = join(dir, 'twins');
    for (const id of ['svxp-east', 'svxp-west']) {
      cpSync(join(partners, 'sangamon-valley'), join(twins, id), { recursive: true });
      const yaml = join(twins, id, 'partner.yaml');
      writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('id: sangamon-valley', `id: ${id}`));
    }
    const both = await waybill(['translate', csv, '--partners', twins]);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/the csv route patterns of svxp-east, svxp-west all match svxp_status_20250513_1100\.csv/);
    // A file that is neither X12 nor XML is taken for CSV; the message says why, so a stray file is not
    // mistaken for a question about partners.
    const stray = join(dir, 'stray.txt');
    writeFileSync(stray, 'garbage\n');
    const strayRun = await waybill(['translate', stray, '--partners', partners]);
    expect(strayRun.status).toBe(2);
    expect(strayRun.stderr).toMatch(/read as CSV: it starts with neither an X12 ISA, GS or ST nor an XML '<'/);
    expect(strayRun.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // Named .edi (or .x12) and meant for no CSV route, it is read as the X12 it claims to be: a rejected
    // file unit saying what stands there, with or without an X12 partner named.
    const edi = join(dir, 'stray.edi');
    writeFileSync(edi, 'garbage\n');
    for (const extra of [[], ['--partner', 'prairie-line']]) {
      const r = await waybill(['translate', edi, '--partners', partners, ...extra]);
      expect(r.status, extra.join(' ')).toBe(1);
      expect(r.stdout, extra.join(' ')).toContain('stray.edi:1:1 error X12_UNEXPECTED_DATA data that is not X12: "garbage\\n"');
    }
  }, CLI_TEST_TIMEOUT);

  it('--json for a file with nothing readable: no events, one rejected file unit, valid false', async () => {
    const junk = join(dir, 'junk.edi');
    writeFileSync(junk, 'ISA*00*bad~');
    const r = await waybill(['translate', junk, '--json', '--partners', partners]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(`${JSON.stringify(JSON.parse(r.stdout), null, 2)}\n`);
    expect(JSON.parse(r.stdout)).toMatchObject({ events: [], valid: false, units: [{ label: 'file', status: 'rejected', errors: [{ code: 'X12_ISA_TRUNCATED' }] }] });
    // An empty file shows no format: its name's, not the CSV a file without a header is taken for.
    const empty = join(dir, 'empty.edi');
    writeFileSync(empty, '');
    const e = await waybill(['translate', empty, '--json', '--partners', partners]);
    expect(e.status).toBe(1);
    expect(JSON.parse(e.stdout)).toMatchObject({ format: 'x12', units: [{ errors: [{ code: 'PIPELINE_EMPTY_FILE' }] }] });
  }, CLI_TEST_TIMEOUT);

  // receivedAt goes on every event: a value the canonical schema refuses used to fail each transaction
  // with MAP_CANONICAL_INVALID (exit 1). It is the flag that is wrong: a usage error, before any output.
  it.each([
    ['notadate', 'must be an ISO 8601 timestamp with seconds and a UTC offset, e.g. "2024-03-05T14:30:00-05:00"'],
    ['2024-02-01T00:00:00', 'timestamp has no UTC offset; expected e.g. "2024-03-05T14:30:00-05:00" or "2024-03-05T19:30:00Z"'],
  ])("--received-at '%s': exit 2 with a usage error naming the flag and the form", async (value, why) => {
    const r = await waybill(['translate', badTx, '--partners', partners, '--received-at', value]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`waybill: CLI_USAGE: --received-at '${value}': ${why}\n`);
  }, CLI_TEST_TIMEOUT);

  it('a binary file (gzip, PDF, NUL bytes) is one rejected file unit PIPELINE_NOT_TEXT naming what it is, exit 1, with or without --partner', async () => {
    const gz = join(dir, 'status.edi.gz');
    writeFileSync(gz, gzipSync(readFileSync(badTx)));
    const r = await waybill(['translate', gz, '--json', '--partners', partners]);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { format: string; units: { label: string; status: string; errors: { code: string; message: string }[] }[] };
    expect(out.format).toBe('binary');
    expect(out.units).toEqual([{ label: 'file', line: 1, status: 'rejected', events: 0, errors: [
      { code: 'PIPELINE_NOT_TEXT', severity: 'error', message: 'the file is gzip-compressed data, not X12, CSV or XML text', line: 1, column: 1 }] }]);
    const pdf = join(dir, 'status.pdf');
    writeFileSync(pdf, '%PDF-1.7\n%binary\n');
    const p = await waybill(['translate', pdf, '--partner', 'sangamon-valley', '--partners', partners]);
    expect(p.status).toBe(1);
    expect(p.stdout).toContain(`${pdf}:1:1 error PIPELINE_NOT_TEXT the file is a PDF document, not X12, CSV or XML text`);
  });

  it('an empty or whitespace-only file is one rejected file unit PIPELINE_EMPTY_FILE, exit 1, with or without --partner', async () => {
    const empty = join(dir, 'empty.xml');
    writeFileSync(empty, '');
    const blank = join(dir, 'blank.edi');
    writeFileSync(blank, '\ufeff  \r\n\n\t');
    const unit = { label: 'file', line: 1, status: 'rejected', events: 0, errors: [
      { code: 'PIPELINE_EMPTY_FILE', severity: 'error', message: 'the file is empty or holds only whitespace', line: 1, column: 1 }] };
    for (const [file, partner] of [[empty, 'sangamon-valley'], [empty, undefined], [blank, undefined], [blank, 'prairie-line']] as const) {
      const r = await waybill(['translate', file, '--json', '--partners', partners, ...(partner ? ['--partner', partner] : [])]);
      expect(r.status, `${file} ${partner}`).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ events: [], valid: false, units: [partner ? { ...unit, partner } : unit] });
    }
    const text = await waybill(['translate', blank, '--partners', partners]);
    expect(text.stdout).toBe(`BAD file  line 1  rejected  0 event(s)\n    ${blank}:1:1 error PIPELINE_EMPTY_FILE the file is empty or holds only whitespace\n`);
  }, CLI_TEST_TIMEOUT);

  it('an ISA id two partners claim: the interchange is refused naming both, the clash printed on stderr', async () => {
    const root = join(dir, 'dup-partners');
    for (const id of ['prairie-line', 'pl2']) cpSync(join(partners, 'prairie-line'), join(root, id), { recursive: true });
    const pl2 = join(root, 'pl2/partner.yaml');
    writeFileSync(pl2, readFileSync(pl2, 'utf8').replace('id: prairie-line', 'id: pl2'));
    const sample = join(partners, 'prairie-line/samples/214-multi-status.edi');
    const r = await waybill(['translate', sample, '--json', '--partners', root, '--received-at', receivedAt]);
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.events).toEqual([]);
    expect(doc.units).toMatchObject([{ status: 'unidentified', errors: [{ code: 'PARTNER_UNKNOWN_SENDER',
      message: "ISA 02/PRLF is claimed by partners 'pl2' and 'prairie-line' (PARTNER_DUPLICATE_ISA): the interchange is not given to either; keep the id in one partner.yaml only (run waybill lint)" }] }]);
    expect(r.stderr.split('\n').filter((l) => l.includes('PARTNER_DUPLICATE_ISA')).map((l) => l.split(' ')[0])).toEqual([
      `${join(root, 'prairie-line/partner.yaml')}:8:31`, `${join(root, 'pl2/partner.yaml')}:8:31`,
    ]);
    // Naming the partner is choosing it: translated as that partner, with its side of the clash on stderr.
    const forced = await waybill(['translate', sample, '--json', '--partner', 'pl2', '--partners', root, '--received-at', receivedAt]);
    expect(forced.status).toBe(0);
    expect(JSON.parse(forced.stdout).units.map((u: { partner: string }) => u.partner)).toEqual(['pl2']);
    expect(forced.stderr).toMatch(/pl2\/partner\.yaml:8:31 PARTNER_DUPLICATE_ISA /);
    expect(forced.stderr).not.toMatch(/prairie-line\/partner\.yaml/);
  }, CLI_TEST_TIMEOUT);

  it('a partner whose mapping path is a folder: its interchanges are unidentified (configuration errors), no crash', async () => {
    const root = join(dir, 'folder-mapping');
    cpSync(join(partners, 'prairie-line'), join(root, 'prairie-line'), { recursive: true });
    const yaml = join(root, 'prairie-line/partner.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('mapping: mappings/210-invoice.yaml', 'mapping: mappings/'));
    const r = await waybill(['translate', join(partners, 'prairie-line/samples/214-multi-status.edi'), '--partners', root, '--received-at', receivedAt]);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("PARTNER_UNKNOWN_SENDER ISA 02/PRLF is partner 'prairie-line', which has configuration errors (run waybill lint)");
  }, CLI_TEST_TIMEOUT);

  it('a --partners that is no folder is a usage error (exit 2), for translate and render, not an unknown sender', async () => {
    const t = await waybill(['translate', badTx, '--partners', join(dir, 'nope')]);
    expect(t.status).toBe(2);
    expect(t.stderr).toBe(`waybill: CLI_FILE_NOT_FOUND: no partners folder ${join(dir, 'nope')} (--partners)\n`);
    const r = await waybill(['render', join(partners, 'granite-ridge/samples/204-original-BPL-88104217.json'), '--partner', 'granite-ridge', '--partners', badTx]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`waybill: CLI_FILE_UNREADABLE: --partners ${badTx} is a file, not a folder of partners\n`);
  });

  it('--received-at with an offset other than Z is taken as given', async () => {
    const r = await waybill(['translate', badTx, '--json', '--partners', partners, '--received-at', '2024-02-01T06:30:00+05:30']);
    expect(r.status).toBe(1); // the file's second transaction is bad on purpose
    expect(JSON.parse(r.stdout).events.map((e: { receivedAt: string }) => e.receivedAt)).toEqual(['2024-02-01T06:30:00+05:30']);
  }, CLI_TEST_TIMEOUT);
});
