// partner.yaml `csv:` on a CSV inbound entry: how the partner's files are read (delimiter, header, quote,
// encoding, ...: the CSV reader's own options). The route's options reach every caller of translateCsv
// (in process, the CLI, the pipeline, the partner test runner) without any of them passing them; a bad
// block is a lint error with a position, a code and a did-you-mean.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { compilePartner, PartnerRegistry, type CompiledPartner } from '../../src/mappings/registry.js';
import { runPartnerTests } from '../../src/mappings/partner-tests.js';
import { fileIdOf, translateCsv, type TranslatedUnit } from '../../src/mappings/translate.js';
import { silentLogger, type PipelineContext } from '../../src/pipeline/context.js';
import { intake } from '../../src/pipeline/intake.js';
import { processFile } from '../../src/pipeline/process-file.js';
import { repoRoot, waybill } from '../helpers/cli.js';

// A carrier whose legacy system writes pipe-delimited, headerless, latin1 files: fields by position.
// lsp_status_*.csv uses that layout; any other *.csv uses the reader's defaults (a comma header file).
const PARTNER_YAML = `id: lakeshore-pipe
name: Lakeshore Pipe Freight
timezone: America/Chicago
acknowledgments: { ta1: never, functional: none }
inbound:
  - document: csv
    match: "lsp_status_*.csv"
    mapping: mappings/status.yaml
    csv: { delimiter: "|", header: false, quote: '"', encoding: latin1 }
  - document: csv
    match: "*.csv"
    mapping: mappings/status.yaml
`;

const MAPPING = `source: csv
target: shipment.status@1
fields:
  occurredAt: { datetime: { date: "#4", time: "#5", zone: "#6" }, required: true }
  references:
    proNumber: { path: "#1", required: true }
    bolNumber: "#2"
  status:
    milestone: { path: "#3", trim: true, case: upper, table: lsp-status, required: true }
    rawStatusCode: "#3"
    description: "#10"
  location:
    city: "#7"
    state: "#8"
    postalCode: "#9"
`;

const TABLE = `description: Lakeshore status words
unmapped: error
values:
  PICKED UP: picked_up
  ARRIVED AT TERMINAL: arrived_at_terminal
  DELIVERED: delivered
`;

// Three records and no header row; é, Ü and Ö are single latin1 bytes (invalid as UTF-8), and the last
// record's remark holds the delimiter inside quotes.
const SAMPLE = Buffer.from([
  'LSP1001|BOL-77|PICKED UP|20250601|0815|CT|JOLIET|IL|60436|',
  'LSP1001|BOL-77|ARRIVED AT TERMINAL|20250601|1920|CT|SAINT-ÉTIENNE|IL|60001|',
  'LSP1001|BOL-77|DELIVERED|20250602|1410|CT|MÜNSTER|IN|46321|"SIGNED BY J MÖLLER | DOCK 4"',
  '',
].join('\r\n'), 'latin1');

// The same layout, read with the defaults: a comma file with a header row.
const DEFAULT_SAMPLE = 'PRO,BOL,STATUS,DATE,TIME,ZONE,CITY,STATE,ZIP,REMARKS\nLSP2002,BOL-78,PICKED UP,20250603,0700,CT,GARY,IN,46402,\n';

const receivedAt = '2025-06-02T20:00:00Z';
let cwd: string;
let root: string;
let partnerDir: string;
let sample: string;
let partner: CompiledPartner;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'waybill-csv-options-'));
  // The CLI runs under tsx, which node resolves from the working directory (see lint.test.ts).
  symlinkSync(join(repoRoot, 'node_modules'), join(cwd, 'node_modules'), 'dir');
  root = join(cwd, 'partners');
  partnerDir = join(root, 'lakeshore-pipe');
  const files: Record<string, string | Buffer> = {
    'partner.yaml': PARTNER_YAML,
    'mappings/status.yaml': MAPPING,
    'tables/lsp-status.yaml': TABLE,
    'samples/lsp_status_20250602.csv': SAMPLE,
    'samples/other_20250603.csv': DEFAULT_SAMPLE,
  };
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(partnerDir, rel)), { recursive: true });
    writeFileSync(join(partnerDir, rel), content);
  }
  sample = join(partnerDir, 'samples/lsp_status_20250602.csv');
  const compiled = compilePartner(partnerDir);
  expect(compiled.diagnostics).toEqual([]);
  partner = compiled.partner!;
});

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

async function all(units: AsyncIterable<TranslatedUnit>): Promise<TranslatedUnit[]> {
  const out: TranslatedUnit[] = [];
  for await (const u of units) out.push(u);
  return out;
}

const opts = async (file: string) => ({ fileId: await fileIdOf(file), fileName: file.split('/').pop()!, receivedAt });

describe('partner.yaml csv: options', () => {
  it('compile onto the matching route only', () => {
    expect(partner.inbound.map((r) => r.csv)).toEqual([{ delimiter: '|', header: false, quote: '"', encoding: 'latin1' }, undefined]);
  });

  it('translateCsv reads a pipe-delimited headerless latin1 file with a positional mapping: every row is a record', async () => {
    const units = await all(translateCsv(sample, partner, await opts(sample)));
    expect(units.map((u) => [u.label, u.line, u.status, u.errors])).toEqual([
      ['record 1', 1, 'translated', []],
      ['record 2', 2, 'translated', []],
      ['record 3', 3, 'translated', []],
    ]);
    const events = units.flatMap((u) => u.events);
    expect(events.map((e) => [e.references, e.status, e.location, e.occurredAt])).toEqual([
      [{ proNumber: 'LSP1001', bolNumber: 'BOL-77' }, { milestone: 'picked_up', rawStatusCode: 'PICKED UP' },
        { city: 'JOLIET', state: 'IL', postalCode: '60436' }, '2025-06-01T08:15:00-05:00'],
      [{ proNumber: 'LSP1001', bolNumber: 'BOL-77' }, { milestone: 'arrived_at_terminal', rawStatusCode: 'ARRIVED AT TERMINAL' },
        { city: 'SAINT-ÉTIENNE', state: 'IL', postalCode: '60001' }, '2025-06-01T19:20:00-05:00'],
      [{ proNumber: 'LSP1001', bolNumber: 'BOL-77' }, { milestone: 'delivered', rawStatusCode: 'DELIVERED', description: 'SIGNED BY J MÖLLER | DOCK 4' },
        { city: 'MÜNSTER', state: 'IN', postalCode: '46321' }, '2025-06-02T14:10:00-05:00'],
    ]);
    expect(events.map((e) => e.source)).toEqual([1, 2, 3].map((line) => ({
      format: 'csv', fileId: expect.stringMatching(/^sha256-/), fileName: 'lsp_status_20250602.csv', index: 0, line,
    })));
  });

  it('a route without csv: keeps the reader defaults (comma, header row)', async () => {
    const file = join(partnerDir, 'samples/other_20250603.csv');
    const units = await all(translateCsv(file, partner, await opts(file)));
    expect(units.map((u) => [u.label, u.line, u.status])).toEqual([['record 1', 2, 'translated']]);
    expect(units[0].events[0].references).toEqual({ proNumber: 'LSP2002', bolNumber: 'BOL-78' });
  });

  it('an explicit opts.csv overrides the route key by key', async () => {
    // encoding overridden (utf8: the latin1 bytes are invalid), delimiter and header still the route's.
    const units = await all(translateCsv(sample, partner, { ...(await opts(sample)), csv: { encoding: 'utf8', header: undefined } }));
    expect(units.map((u) => [u.label, u.status, u.errors.map((e) => e.code)])).toEqual([
      ['record 1', 'translated', []],
      ['record 2', 'rejected', ['CSV_INVALID_ENCODING']],
      ['record 3', 'rejected', ['CSV_INVALID_ENCODING']],
    ]);
  });

  it('waybill translate (the CLI) uses the options without being told', async () => {
    const expected = await all(translateCsv(sample, partner, await opts(sample)));
    const r = await waybill(['translate', sample, '--json', '--partner', 'lakeshore-pipe', '--partners', root, '--received-at', receivedAt], { cwd });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.format).toBe('csv');
    expect(doc.valid).toBe(true);
    expect(doc.events).toEqual(expected.flatMap((u) => u.events));
    expect(doc.events).toHaveLength(3);
  }, 60_000);

  it('the partner test runner uses them too', async () => {
    const events = (await all(translateCsv(sample, partner, { fileId: 'sha256-test', fileName: 'lsp_status_20250602.csv', receivedAt })))
      .flatMap((u) => u.events);
    expect(events).toHaveLength(3);
    mkdirSync(join(partnerDir, 'tests'), { recursive: true });
    writeFileSync(join(partnerDir, 'tests/status.yaml'),
      `input: ../samples/lsp_status_20250602.csv\nnow: "${receivedAt}"\nexpect:\n  events: ${JSON.stringify(events)}\n`);
    try {
      const results = await runPartnerTests(root, [partnerDir]);
      expect(results.map((r) => [r.ok, r.diffs])).toEqual([[true, []]]);
    } finally {
      rmSync(join(partnerDir, 'tests'), { recursive: true, force: true });
    }
  });

  it('the gateway pipeline uses them too', async () => {
    const dataDir = mkdtempSync(join(cwd, 'data-'));
    const ledger = new SqliteLedger(join(dataDir, 'ledger.db'));
    try {
      const { registry } = PartnerRegistry.load(root);
      const ctx: PipelineContext = {
        dataDir, ledger, registry: () => registry, log: silentLogger, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 500,
      };
      const { fileId } = await intake(ctx, { input: SAMPLE, transport: 'test', originalName: 'lsp_status_20250602.csv', partner: 'lakeshore-pipe' });
      const result = await processFile(ctx, fileId);
      expect(result).toMatchObject({ state: 'translated', units: 3, newEvents: 3 });
      expect((await ledger.units(fileId)).map((u) => [u.label, u.state])).toEqual([
        ['record 1', 'translated'], ['record 2', 'translated'], ['record 3', 'translated'],
      ]);
    } finally {
      await ledger.close();
    }
  });
});

// ---- lint ------------------------------------------------------------------------------------------

const BAD: Record<string, string> = {
  'bad-csv/partner.yaml': `id: bad-csv
name: Bad CSV
inbound:
  - document: csv
    match: "a_*.csv"
    mapping: mappings/status.yaml
    csv: { delimeter: "|", header: "no", encoding: latin-1 }
  - document: csv
    match: "b_*.csv"
    mapping: mappings/status.yaml
    csv:
      delimiter: "||"
      maxRecordSize: 0
      header: [PRO, BOL, PRO]
  - document: csv
    match: "c_*.csv"
    mapping: mappings/status.yaml
    csv: { delimiter: "'", quote: "'" }
`,
  'bad-csv/mappings/status.yaml': MAPPING,
  'bad-csv/tables/lsp-status.yaml': TABLE,
  // Everything right but a csv block on an X12 document.
  'x12-csv/partner.yaml': `id: x12-csv
name: X12 With CSV Options
timezone: America/Chicago
x12:
  isa: { qualifier: "02", id: XCSV }
inbound:
  - document: x12/214
    mapping: mappings/214-status.yaml
    csv: { delimiter: "|" }
`,
};

const EXPECTED = [
  "partners/bad-csv/partner.yaml:7:12 PARTNER_CONFIG_INVALID unknown key 'delimeter'; allowed here: header, delimiter, quote, escape, encoding, skipEmptyLines, trim, maxRecordSize, relaxColumnCount (did you mean 'delimiter'?)",
  'partners/bad-csv/partner.yaml:7:36 PARTNER_CONFIG_INVALID inbound[0].csv.header: header is true (the first record names the columns), false (no header row, columns by #N) or a list of column names',
  "partners/bad-csv/partner.yaml:7:52 PARTNER_CONFIG_INVALID 'latin-1' is not one of utf8, latin1, utf16le (at inbound[0].csv.encoding) (did you mean 'latin1'?)",
  'partners/bad-csv/partner.yaml:12:18 PARTNER_CONFIG_INVALID inbound[1].csv.delimiter: one ASCII character other than CR or LF',
  'partners/bad-csv/partner.yaml:13:22 PARTNER_CONFIG_INVALID inbound[1].csv.maxRecordSize: maxRecordSize is a positive number of bytes',
  "partners/bad-csv/partner.yaml:14:26 PARTNER_CONFIG_INVALID inbound[1].csv.header[2]: column name 'PRO' is given twice (columns 1 and 3)",
  'partners/bad-csv/partner.yaml:18:35 PARTNER_CONFIG_INVALID inbound[2].csv.quote: the delimiter and the quote must differ (both "\'")',
  "partners/x12-csv/partner.yaml:9:5 PARTNER_CONFIG_INVALID a 'csv' block only applies to document 'csv', not 'x12/214'",
];

describe('waybill lint on partner.yaml csv:', () => {
  let lintCwd: string;

  beforeAll(() => {
    lintCwd = mkdtempSync(join(tmpdir(), 'waybill-csv-lint-'));
    symlinkSync(join(repoRoot, 'node_modules'), join(lintCwd, 'node_modules'), 'dir');
    for (const [rel, text] of Object.entries(BAD)) {
      mkdirSync(dirname(join(lintCwd, 'partners', rel)), { recursive: true });
      writeFileSync(join(lintCwd, 'partners', rel), text);
    }
    // A valid 214 mapping with the tables it uses: the csv block is the partner's only mistake.
    cpSync(join(repoRoot, 'partners/prairie-line/mappings/214-status.yaml'), join(lintCwd, 'partners/x12-csv/mappings/214-status.yaml'));
    cpSync(join(repoRoot, 'partners/prairie-line/tables'), join(lintCwd, 'partners/x12-csv/tables'), { recursive: true });
  });

  afterAll(() => rmSync(lintCwd, { recursive: true, force: true }));

  it('reports each bad csv block as file:line:col CODE message (did you mean ...), and exits 1', async () => {
    const r = await waybill(['lint', '--partners', 'partners'], { cwd: lintCwd });
    expect(r.stdout.trim().split('\n')).toEqual(EXPECTED);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`lint: 2 partner(s), ${EXPECTED.length} error(s), 0 warning(s)`);
  }, 60_000);

  it('--json gives the same with codes, positions and suggestions as data', async () => {
    const r = await waybill(['lint', '--json', 'partners/bad-csv', '--partners', 'partners'], { cwd: lintCwd });
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { diagnostics: { code: string; file: string; line: number; column: number; suggestion?: string }[] };
    expect(out.diagnostics.find((d) => d.suggestion === 'delimiter')).toMatchObject({
      code: 'PARTNER_CONFIG_INVALID', file: 'partners/bad-csv/partner.yaml', line: 7, column: 12,
    });
    expect(out.diagnostics.find((d) => d.suggestion === 'latin1')).toMatchObject({ line: 7, column: 52 });
  }, 60_000);
});
