// `waybill lint` on a partners folder with deliberate mistakes, through the real CLI in a child process.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, waybill } from '../helpers/cli.js';

const FILES: Record<string, string> = {
  // A partner whose partner.yaml is fine and whose mappings are not.
  'bad-map/partner.yaml': `id: bad-map
name: Bad Map
timezone: America/Chicago
x12:
  isa: { qualifier: "02", id: BADM }
inbound:
  - document: x12/214
    mapping: mappings/214.yaml
  - document: x12/210
    mapping: mappings/210.yaml
`,
  'bad-map/mappings/214.yaml': `source: x12/214
target: shipment.status@1
foreach: LX/AT7
fields:
  partner: { const: acme }
  references:
    proNumber: B11.01
    bolNumber: "AT7[01=Q9].02"
  carrierScac: B10.15
  status:
    milestone: { path: AT7.01, table: x12-shipment-statu }
    rawStatusCode: { path: AT7.01, tables: x }
    reasn: AT7.02
  location.city: { pth: MS1.01 }
  location.state: BEG.03
`,
  'bad-map/mappings/210.yaml': `source: x12/210
target: freight.invoice@1
fields:
  purpose: { const: original }
  purpose: { const: original }
`,
  // A partner whose partner.yaml and table are wrong; its (valid) mapping is still checked.
  'bad-config/partner.yaml': `id: bad-config
name: Bad Config
timezone: America/Chicgo
x12:
  isa: { qualifier: "02", id: BADC }
acknowledgements: { functional: "997" }
inbound:
  - document: x12/214
    mapping: mappings/214-statu.yaml
`,
  'bad-config/tables/x12-party-role.yaml': `description: our roles
unmaped: error
values:
  ZZ: other
`,
};

// The CLI runs in <tmp> (so it prints paths relative to it) with the partners in <tmp>/partners.
// test/helpers/cli.ts starts node with `--import tsx`, which node resolves from the working directory:
// <tmp>/node_modules links to the repository's.
let cwd: string;
let root: string;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'waybill-lint-'));
  symlinkSync(join(repoRoot, 'node_modules'), join(cwd, 'node_modules'), 'dir');
  root = join(cwd, 'partners');
  for (const [rel, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  cpSync(join(repoRoot, 'partners/prairie-line/mappings/214-status.yaml'), join(root, 'bad-config/mappings/214-status.yaml'));
});

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const EXPECTED = [
  "partners/bad-config/partner.yaml:3:11 PARTNER_CONFIG_INVALID unknown time zone 'America/Chicgo' (use an IANA name such as America/Chicago, or an offset such as -06:00)",
  "partners/bad-config/partner.yaml:6:1 PARTNER_CONFIG_INVALID unknown key 'acknowledgements'; allowed here: id, name, scac, timezone, x12, ours, acknowledgments, inbound, outbound, transports (did you mean 'acknowledgments'?)",
  "partners/bad-config/partner.yaml:9:14 PARTNER_MAPPING_MISSING mapping file 'mappings/214-statu.yaml' does not exist (did you mean 'mappings/214-status.yaml'?)",
  "partners/bad-config/tables/x12-party-role.yaml:2:1 TABLE_INVALID unknown key 'unmaped'; allowed here: description, unmapped, default, values (did you mean 'unmapped'?)",
  'partners/bad-map/mappings/210.yaml:5:3 YAML_SYNTAX Map keys must be unique',
  "partners/bad-map/mappings/214.yaml:4:1 MAP_REQUIRED_FIELD_UNASSIGNED required field 'occurredAt' of shipment.status@1 is never assigned",
  "partners/bad-map/mappings/214.yaml:5:3 MAP_ENVELOPE_FIELD 'partner' is filled by the gateway; a mapping cannot set it",
  "partners/bad-map/mappings/214.yaml:7:16 MAP_UNKNOWN_SEGMENT unknown segment B11; transaction set 214 uses ST B10 L11 MAN K1 N1 N2 N3 N4 G61 G62 MS3 LX AT7 MS1 MS2 Q7 AT5 AT8 CD3 NM1 PRF SPO SDQ EFI BIN SE (did you mean 'B10'?)",
  "partners/bad-map/mappings/214.yaml:8:16 MAP_QUALIFIER_NEVER_VALID 'Q9' is never a valid value of AT701 (did you mean 'A9'?)",
  "partners/bad-map/mappings/214.yaml:9:16 MAP_ELEMENT_OUT_OF_RANGE B10 has 7 elements in 004010 (B10.01 to B10.07); there is no element 15 (did you mean 'B10.05'?)",
  "partners/bad-map/mappings/214.yaml:11:39 MAP_UNKNOWN_TABLE no code table 'x12-shipment-statu' (did you mean 'x12-shipment-status'?)",
  "partners/bad-map/mappings/214.yaml:12:36 MAP_UNKNOWN_KEY 'tables' is not allowed in a 'path' spec; allowed: path, table, trim, case, default, required, when (did you mean 'table'?)",
  "partners/bad-map/mappings/214.yaml:13:5 MAP_UNKNOWN_FIELD shipment.status@1 has no field 'status.reasn'; fields here: milestone, rawStatusCode, reason, rawReasonCode, rawTimeCode, description (did you mean 'reason'?)",
  "partners/bad-map/mappings/214.yaml:14:20 MAP_UNKNOWN_FIELD 'location.city' is a value, it has no field 'pth' (a value spec needs one of path, const, first, concat, list, all, each, items, datetime, date, decimal, time, number, coordinate) (did you mean 'path'?)",
  // BEG is a real X12 segment (the 850's), just not one the 214 has: a different code from a typo's.
  'partners/bad-map/mappings/214.yaml:15:19 MAP_SEGMENT_NOT_IN_SET segment BEG is not part of transaction set 214',
];

describe('waybill lint', () => {
  it('reports every mistake as file:line:col CODE message (did you mean ...), sorted, and exits 1', async () => {
    const r = await waybill(['lint', '--partners', 'partners'], { cwd });
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    // YAML_SYNTAX carries the parser's own wording after the stable part.
    expect(lines.map((l) => (l.includes('YAML_SYNTAX') ? l.replace(/(Map keys must be unique).*/, '$1') : l))).toEqual(EXPECTED);
    expect(r.stderr).toContain(`lint: 2 partner(s), ${EXPECTED.length} error(s), 0 warning(s)`);
  });

  it('covers every diagnostic code the compiler emits for these mistakes', async () => {
    const r = await waybill(['lint', '--json', '--partners', 'partners'], { cwd });
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { errors: number; diagnostics: { code: string; file: string; line: number; column: number; suggestion?: string }[] };
    expect(new Set(out.diagnostics.map((d) => d.code))).toEqual(new Set([
      'MAP_UNKNOWN_KEY', 'MAP_UNKNOWN_SEGMENT', 'MAP_SEGMENT_NOT_IN_SET', 'MAP_ELEMENT_OUT_OF_RANGE', 'MAP_QUALIFIER_NEVER_VALID', 'MAP_UNKNOWN_FIELD',
      'MAP_REQUIRED_FIELD_UNASSIGNED', 'MAP_UNKNOWN_TABLE', 'MAP_ENVELOPE_FIELD', 'PARTNER_CONFIG_INVALID', 'PARTNER_MAPPING_MISSING',
      'YAML_SYNTAX', 'TABLE_INVALID',
    ]));
    expect(out.errors).toBe(EXPECTED.length);
    expect(out.diagnostics.find((d) => d.code === 'MAP_UNKNOWN_TABLE')).toMatchObject({
      file: 'partners/bad-map/mappings/214.yaml', line: 11, column: 39, suggestion: 'x12-shipment-status',
    });
  });

  it('lints one partner when given its folder or a file inside it', async () => {
    const folder = await waybill(['lint', 'partners/bad-config', '--partners', 'partners'], { cwd });
    expect(folder.status).toBe(1);
    expect(folder.stdout.trim().split('\n')).toEqual(EXPECTED.filter((l) => l.startsWith('partners/bad-config/')));
    const file = await waybill(['lint', 'partners/bad-map/mappings/214.yaml', '--partners', 'partners'], { cwd });
    expect(file.status).toBe(1);
    expect(file.stdout).not.toContain('bad-config');
    expect(file.stdout).toContain('MAP_ENVELOPE_FIELD');
  });

  it('exits 0 for a clean partner and 2 for a path that does not exist', async () => {
    const ok = await waybill(['lint', 'partners/prairie-line']);
    expect(ok.stdout).toBe('');
    expect(ok.stderr).toContain('lint: 1 partner(s), 0 error(s), 0 warning(s)');
    expect(ok.status).toBe(0);
    const missing = await waybill(['lint', 'partners/no-such-partner', '--partners', 'partners'], { cwd });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/CLI_FILE_NOT_FOUND/);
  });
});

// Problems that only show across partners, or in a path that is no file: through the real CLI, on copies
// of prairie-line in a partners root of their own.
describe('waybill lint: duplicate ISA ids and paths that are no files', () => {
  let base: string;
  const clash = (self: string, other: string) =>
    `partners/${self}/partner.yaml:8:31 PARTNER_DUPLICATE_ISA ISA id 02/PRLF of partner '${self}' is also claimed by partner '${other}': interchanges from it are refused, as neither partner can be told from the other, until only one partner.yaml has it`;

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'waybill-lint-dup-'));
    symlinkSync(join(repoRoot, 'node_modules'), join(base, 'node_modules'), 'dir');
    for (const id of ['prairie-line', 'pl2']) cpSync(join(repoRoot, 'partners/prairie-line'), join(base, 'partners', id), { recursive: true });
    const pl2 = join(base, 'partners/pl2/partner.yaml');
    writeFileSync(pl2, readFileSync(pl2, 'utf8').replace('id: prairie-line', 'id: pl2'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('two partners with one ISA id: PARTNER_DUPLICATE_ISA at the id, for the whole root and for one of the folders', async () => {
    const all = await waybill(['lint', '--partners', 'partners'], { cwd: base });
    expect(all.stdout.trim().split('\n')).toEqual([clash('pl2', 'prairie-line'), clash('prairie-line', 'pl2')]);
    expect(all.status).toBe(1);
    const one = await waybill(['lint', 'partners/prairie-line', '--partners', 'partners'], { cwd: base });
    expect(one.stdout.trim().split('\n')).toEqual([clash('prairie-line', 'pl2')]);
    expect(one.status).toBe(1);
  }, 60_000);

  it('a mapping path naming a folder, and a folder or broken link among the tables: coded diagnostics, exit 1, no crash', async () => {
    const dir = join(base, 'partners-bad');
    cpSync(join(repoRoot, 'partners/prairie-line'), join(dir, 'prairie-line'), { recursive: true });
    cpSync(join(repoRoot, 'partners/sangamon-valley'), join(dir, 'sangamon-valley'), { recursive: true });
    const yaml = join(dir, 'prairie-line/partner.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('mapping: mappings/210-invoice.yaml', 'mapping: mappings/'));
    mkdirSync(join(dir, 'prairie-line/tables/dir.yaml'));
    symlinkSync('/nonexistent-waybill-target', join(dir, 'prairie-line/tables/broken.yaml'));
    const r = await waybill(['lint', '--partners', 'partners-bad'], { cwd: base });
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.stdout.trim().split('\n')).toEqual([
      "partners-bad/prairie-line/partner.yaml:22:14 PARTNER_MAPPING_MISSING mapping file 'mappings/' is a folder, not a file; name one of its files (mappings/210-invoice.yaml, mappings/214-status.yaml)",
      "partners-bad/prairie-line/tables/broken.yaml:1:1 TABLE_INVALID 'broken.yaml' is a symbolic link to '/nonexistent-waybill-target', which does not exist, where a YAML file is expected (replace it with the file, or remove it)",
      "partners-bad/prairie-line/tables/dir.yaml:1:1 TABLE_INVALID 'dir.yaml' is a folder, not a file, where a YAML file is expected (replace it with the file, or remove it)",
    ]);
    expect(r.stderr).toContain('lint: 2 partner(s), 3 error(s), 0 warning(s)');
    expect(r.status).toBe(1);
  }, 60_000);
});
