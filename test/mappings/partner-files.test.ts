// Partner folders with a path that is no file where YAML is expected (a folder, a broken link), and two
// partners claiming one ISA id: coded diagnostics at the position that names the problem, never a throw,
// and the other partners unaffected.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/mappings/diagnostics.js';
import { partnerDirs } from '../../src/mappings/partner-config.js';
import { runPartnerTests } from '../../src/mappings/partner-tests.js';
import { compilePartner, duplicateIsaDiagnostics, PartnerRegistry } from '../../src/mappings/registry.js';
import { partnerFoldersFor } from '../../src/cli/commands/lint.js';
import { YamlSource } from '../../src/mappings/yaml-source.js';
import type { InterchangeHeader } from '../../src/translators/x12/model.js';
import { repoRoot } from '../helpers/cli.js';

let root: string;
let pl: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wb-partner-files-'));
  for (const id of ['prairie-line', 'sangamon-valley']) cpSync(join(repoRoot, 'partners', id), join(root, id), { recursive: true });
  pl = join(root, 'prairie-line');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const brief = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'error').sort((a, b) => a.file.localeCompare(b.file)).map((d) => `${d.file.slice(root.length + 1)}:${d.line}:${d.column} ${d.code} ${d.message}`);

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

/** Just the sender fields identifyX12 reads. */
const fromIsa = (qualifier: string, id: string) => ({ senderQualifier: qualifier, senderId: id }) as unknown as InterchangeHeader;

describe('a path that is no file where YAML is expected', () => {
  it('YamlSource.load gives a diagnostic with the caller\'s code, not a throw', () => {
    const folder = join(root, 'folder.yaml');
    mkdirSync(folder);
    const src = YamlSource.load(folder);
    expect(src.value).toBeUndefined();
    expect(src.diagnostics).toEqual([{ code: 'YAML_FILE_UNREADABLE', severity: 'error', file: folder, line: 1, column: 1,
      message: "'folder.yaml' is a folder, not a file, where a YAML file is expected (replace it with the file, or remove it)" }]);
    const link = join(root, 'broken.yaml');
    symlinkSync('/nonexistent-waybill-target', link);
    expect(YamlSource.load(link, 'TABLE_INVALID').diagnostics).toMatchObject([{ code: 'TABLE_INVALID',
      message: "'broken.yaml' is a symbolic link to '/nonexistent-waybill-target', which does not exist, where a YAML file is expected (replace it with the file, or remove it)" }]);
  });

  it('a mapping path naming a folder is PARTNER_MAPPING_MISSING at that mapping key; the other partners load', () => {
    edit(join(pl, 'partner.yaml'), 'mapping: mappings/210-invoice.yaml', 'mapping: mappings/');
    const { registry, diagnostics } = PartnerRegistry.load(root);
    expect(brief(diagnostics)).toEqual([
      "prairie-line/partner.yaml:22:14 PARTNER_MAPPING_MISSING mapping file 'mappings/' is a folder, not a file; name one of its files (mappings/210-invoice.yaml, mappings/214-status.yaml)",
    ]);
    expect(registry.list().map((p) => p.id)).toEqual(['sangamon-valley']);
  });

  it('a folder or a broken link among the tables is TABLE_INVALID at its path; so is a tables that is a file', () => {
    mkdirSync(join(pl, 'tables/dir.yaml'));
    symlinkSync('/nonexistent-waybill-target', join(pl, 'tables/broken.yaml'));
    expect(brief(compilePartner(pl).diagnostics)).toEqual([
      "prairie-line/tables/broken.yaml:1:1 TABLE_INVALID 'broken.yaml' is a symbolic link to '/nonexistent-waybill-target', which does not exist, where a YAML file is expected (replace it with the file, or remove it)",
      "prairie-line/tables/dir.yaml:1:1 TABLE_INVALID 'dir.yaml' is a folder, not a file, where a YAML file is expected (replace it with the file, or remove it)",
    ]);
    const other = join(root, 'sangamon-valley');
    rmSync(join(other, 'tables'), { recursive: true, force: true });
    writeFileSync(join(other, 'tables'), '');
    expect(brief(compilePartner(other).diagnostics).filter((l) => l.includes('TABLE_INVALID'))).toEqual([
      "sangamon-valley/tables:1:1 TABLE_INVALID 'tables' is a file, not a folder; a partner's code tables go in a tables/ folder of *.yaml files",
    ]);
  });

  it('a mapping that is a link loop is PARTNER_MAPPING_MISSING (ELOOP) without suggesting itself or its loop', () => {
    rmSync(join(pl, 'mappings/214-status.yaml'));
    symlinkSync('a.yaml', join(pl, 'mappings/214-status.yaml'));
    symlinkSync('214-status.yaml', join(pl, 'mappings/a.yaml'));
    const missing = compilePartner(pl).diagnostics.filter((d) => d.code === 'PARTNER_MAPPING_MISSING');
    expect(brief(missing)).toEqual(["prairie-line/partner.yaml:20:14 PARTNER_MAPPING_MISSING mapping file 'mappings/214-status.yaml' cannot be read (ELOOP)"]);
    expect(missing[0].suggestion).toBeUndefined();
  });

  it('a folder named partner.yaml is PARTNER_FILE_MISSING; a broken link among the partner folders is skipped', () => {
    mkdirSync(join(root, 'odd/partner.yaml'), { recursive: true });
    symlinkSync('/nonexistent-waybill-target', join(root, 'gone'));
    expect(partnerDirs(root).map((d) => d.slice(root.length + 1))).toEqual(['odd', 'prairie-line', 'sangamon-valley']);
    const { registry, diagnostics } = PartnerRegistry.load(root);
    expect(brief(diagnostics)).toEqual([
      "odd/partner.yaml:1:1 PARTNER_FILE_MISSING 'partner.yaml' is a folder, not a file, where a YAML file is expected (replace it with the file, or remove it)",
    ]);
    expect(registry.list().map((p) => p.id)).toEqual(['prairie-line', 'sangamon-valley']);
  });

  it('a folder or broken link among the test cases fails that case with a diagnostic; the other cases run', async () => {
    mkdirSync(join(pl, 'tests/dir.yaml'));
    symlinkSync('/nonexistent-waybill-target', join(pl, 'tests/broken.yaml'));
    const results = await runPartnerTests(root, [pl]);
    expect(results.filter((r) => r.ok).length).toBeGreaterThan(0);
    const bad = results.filter((r) => !r.ok).map((r) => [r.file.slice(root.length + 1), r.diffs.join('\n')]);
    expect(bad).toEqual([
      ['prairie-line/tests/broken.yaml', expect.stringMatching(/tests\/broken\.yaml:1:1 TEST_CASE_INVALID 'broken\.yaml' is a symbolic link/)],
      ['prairie-line/tests/dir.yaml', expect.stringMatching(/tests\/dir\.yaml:1:1 TEST_CASE_INVALID 'dir\.yaml' is a folder, not a file/)],
    ]);
  });
});

describe('a partner folder without its partner.yaml, and a table file with errors', () => {
  it('is one partner lacking partner.yaml (with the near name it has), not a partners root of mappings/, tables/ and tests/', () => {
    renameSync(join(pl, 'partner.yaml'), join(pl, 'partner.yml'));
    expect(partnerFoldersFor(pl, root)).toEqual([pl]);
    expect(brief(compilePartner(pl).diagnostics)).toEqual([
      `prairie-line/partner.yaml:1:1 PARTNER_FILE_MISSING no partner.yaml in ${pl} (there is 'partner.yml': rename it partner.yaml)`,
    ]);
    // Named from outside the partners root, it is still known by its own parts (a mappings/ folder).
    expect(partnerFoldersFor(pl, join(root, 'elsewhere'))).toEqual([pl]);
    // The partners root itself stays a root, every folder under it a partner.
    expect(partnerFoldersFor(root, root)).toEqual([pl, join(root, 'sangamon-valley')]);
  });

  it('a table file that does not load is reported there alone, not again as an unknown table where a mapping names it', () => {
    edit(join(pl, 'tables/appointment-kind.yaml'), 'unmapped: error', 'unmapped: eror');
    const lines = brief(compilePartner(pl).diagnostics);
    expect(lines).toEqual([expect.stringMatching(/^prairie-line\/tables\/appointment-kind\.yaml:2:11 TABLE_INVALID /)]);
    writeFileSync(join(pl, 'tables/appointment-kind.yaml'), 'values:\n  AA: pickup\n  AA: delivery\n');
    expect(brief(compilePartner(pl).diagnostics)).toEqual(['prairie-line/tables/appointment-kind.yaml:3:3 YAML_SYNTAX Map keys must be unique']);
    // A table no file holds is still unknown.
    rmSync(join(pl, 'tables/appointment-kind.yaml'));
    expect(brief(compilePartner(pl).diagnostics)).toEqual([expect.stringMatching(/^prairie-line\/mappings\/214-status\.yaml:\d+:\d+ MAP_UNKNOWN_TABLE no code table 'appointment-kind'/)]);
  });
});

describe('an inbound document with no X12 schema', () => {
  it('is PARTNER_CONFIG_INVALID at the document in partner.yaml, with the documents there are and a did-you-mean', () => {
    edit(join(pl, 'partner.yaml'), 'document: x12/214', 'document: x12/241');
    const d = compilePartner(pl).diagnostics.find((x) => x.code === 'PARTNER_CONFIG_INVALID');
    expect(d).toMatchObject({ line: 19, column: 15, suggestion: 'x12/214',
      message: "no X12 transaction set schema for 'x12/241'; Waybill reads x12/204, x12/210, x12/214, x12/990, x12/997, x12/999" });
  });
});

describe('a table file no mapping names', () => {
  it('is TABLE_UNUSED (a warning), with the name the mappings use when it is close: the partner\'s codes were silently unused', () => {
    renameSync(join(pl, 'tables/appointment-kind.yaml'), join(pl, 'tables/appointment-kinds.yaml'));
    writeFileSync(join(pl, 'tables/appointment-kind.yaml'), 'values:\n  AA: pickup\n  AB: delivery\n');
    const unused = compilePartner(pl).diagnostics.filter((d) => d.code === 'TABLE_UNUSED');
    expect(unused.map((d) => [d.file.slice(root.length + 1), d.severity, d.message, d.suggestion])).toEqual([
      ['prairie-line/tables/appointment-kinds.yaml', 'warning', "no mapping of this partner names table 'appointment-kinds', so its codes are never used (the mappings name 'appointment-kind')", 'appointment-kind'],
    ]);
    // The example partners use every table they have.
    for (const id of ['prairie-line', 'sangamon-valley', 'granite-ridge']) {
      expect(compilePartner(join(repoRoot, 'partners', id)).diagnostics.filter((d) => d.code === 'TABLE_UNUSED'), id).toEqual([]);
    }
  });
});

describe('two partners with one ISA sender id', () => {
  beforeEach(() => {
    cpSync(pl, join(root, 'pl2'), { recursive: true });
    edit(join(root, 'pl2/partner.yaml'), 'id: prairie-line', 'id: pl2');
  });

  const clash = (self: string, other: string) =>
    `${self}/partner.yaml:8:31 PARTNER_DUPLICATE_ISA ISA id 02/PRLF of partner '${self}' is also claimed by partner '${other}': interchanges from it are refused, as neither partner can be told from the other, until only one partner.yaml has it`;

  it('the registry reports it at the id in both partner.yaml files and identifies neither', () => {
    const { registry, diagnostics } = PartnerRegistry.load(root);
    expect(brief(diagnostics)).toEqual([clash('pl2', 'prairie-line'), clash('prairie-line', 'pl2')]);
    const who = registry.identifyX12(fromIsa('02', 'PRLF'));
    expect(who).toEqual({ code: 'PARTNER_UNKNOWN_SENDER',
      message: "ISA 02/PRLF is claimed by partners 'pl2' and 'prairie-line' (PARTNER_DUPLICATE_ISA): the interchange is not given to either; keep the id in one partner.yaml only (run waybill lint)" });
  });

  it('an alias clashing with a broken partner\'s id counts too', () => {
    edit(join(root, 'pl2/partner.yaml'), 'isa: { qualifier: "02", id: PRLF }', 'isa: { qualifier: "02", id: PL2X }\n  aliases: [{ qualifier: "02", id: PRLF }]');
    edit(join(pl, 'partner.yaml'), 'mapping: mappings/210-invoice.yaml', 'mapping: mappings/nope.yaml');
    const { registry, diagnostics } = PartnerRegistry.load(root);
    expect(brief(diagnostics).filter((l) => l.includes('PARTNER_DUPLICATE_ISA')).map((l) => l.split(' ')[0])).toEqual(['pl2/partner.yaml:9:36', 'prairie-line/partner.yaml:8:31']);
    expect(registry.identifyX12(fromIsa('02', 'PRLF'))).toMatchObject({ code: 'PARTNER_UNKNOWN_SENDER', message: expect.stringContaining("claimed by partners 'pl2' and 'prairie-line'") });
    expect(registry.identifyX12(fromIsa('02', 'PL2X'))).toMatchObject({ partner: { id: 'pl2' } });
  });

  it('lint\'s cross-partner check reports it for a folder linted alone, and not for a copy of the same partner', () => {
    const compiled = compilePartner(pl);
    expect(brief(duplicateIsaDiagnostics([{ dir: pl, config: compiled.config }], root))).toEqual([clash('prairie-line', 'pl2')]);
    rmSync(join(root, 'pl2'), { recursive: true });
    expect(duplicateIsaDiagnostics([{ dir: join(repoRoot, 'partners/prairie-line'), config: compiled.config }], root)).toEqual([]);
  });
});

describe('a mapping file no entry of partner.yaml names', () => {
  it('is PARTNER_MAPPING_UNUSED (a warning): it is neither used nor checked, which lint used to keep quiet about', () => {
    writeFileSync(join(pl, 'mappings/new.yaml'), 'source: x12/214\ntarget: shipment.status@1\nfields:\n  occurredAt: { date: AT9.05 }\n');
    const { partner, diagnostics } = compilePartner(pl);
    expect(partner).not.toBeNull();
    expect(diagnostics.filter((d) => d.code === 'PARTNER_MAPPING_UNUSED').map((d) => `${d.file.slice(root.length + 1)}:${d.line}:${d.column} ${d.severity} ${d.message}`)).toEqual([
      'prairie-line/mappings/new.yaml:1:1 warning no inbound or outbound entry of partner.yaml names mappings/new.yaml, so it is neither used nor checked',
    ]);
    // The mappings partner.yaml names are not reported.
    expect(compilePartner(join(root, 'sangamon-valley')).diagnostics.filter((d) => d.code === 'PARTNER_MAPPING_UNUSED')).toEqual([]);
  });
});

describe('column names declared in partner.yaml (csv: header: [...])', () => {
  it('a column the mapping reads that the list does not name is MAP_CSV_COLUMN_MISSING at the list, when the partner compiles', () => {
    const sv = join(root, 'sangamon-valley');
    edit(join(sv, 'partner.yaml'), '    mapping: mappings/status-csv.yaml',
      '    mapping: mappings/status-csv.yaml\n    csv: { header: [PRO, BOL, PO, Status, Event Date, EventTime, Time Zone, City, State, Zip, Pieces, Weight, Remarks] }');
    const { partner, diagnostics } = compilePartner(sv);
    expect(partner).not.toBeNull();
    expect(diagnostics.filter((d) => d.code === 'MAP_CSV_COLUMN_MISSING').map((d) => `${d.file.slice(root.length + 1)}:${d.line} ${d.severity} ${d.message}${d.suggestion ? ` ~${d.suggestion}` : ''}`)).toEqual([
      'sangamon-valley/partner.yaml:15 warning mappings/status-csv.yaml reads column \'Event Time\', which this csv header does not name; columns: PRO, BOL, PO, Status, Event Date, EventTime, Time Zone, City, State, Zip, Pieces, Weight, Remarks ~EventTime',
    ]);
  });
});

describe('the version of our acknowledgments', () => {
  it('must be a GS08 version: "5010" passed lint and turned every 999 into a 997 with GS08 5010', () => {
    edit(join(pl, 'partner.yaml'), 'acknowledgments:\n', 'acknowledgments:\n  version: "5010"\n');
    expect(brief(compilePartner(pl).diagnostics)).toEqual([
      expect.stringMatching(/^prairie-line\/partner\.yaml:\d+:\d+ PARTNER_CONFIG_INVALID .*a GS08 version: six digits and an optional guide id/),
    ]);
    edit(join(pl, 'partner.yaml'), 'version: "5010"', 'version: "005010X231A1"');
    expect(brief(compilePartner(pl).diagnostics)).toEqual([]);
  });
});
