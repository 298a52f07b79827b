// Mistakes analysts make in partner folders, found by an audit of the analysts' tools: each one is a coded
// diagnostic at its place that says what is wrong (they were a stack trace, a message that misled, or
// nothing at all). Copies of the example partners, compiled in-process.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatDiagnostic, type Diagnostic } from '../../src/mappings/diagnostics.js';
import { compilePartner, PartnerRegistry } from '../../src/mappings/registry.js';
import type { InterchangeHeader } from '../../src/translators/x12/model.js';
import { partnerFoldersFor } from '../../src/cli/commands/lint.js';
import { requireReadableFile } from '../../src/cli/files.js';
import { repoRoot } from '../helpers/cli.js';

let root: string;
const partner = (id: string) => join(root, id);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wb-analyst-audit-'));
  for (const id of ['prairie-line', 'granite-ridge', 'sangamon-valley']) cpSync(join(repoRoot, 'partners', id), join(root, id), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

/** The errors of a partner folder, as `file:line:col CODE message` with the file relative to the partner folder. */
function errorsOf(id: string): string[] {
  const { diagnostics } = compilePartner(partner(id), { prepareValidation: false });
  return diagnostics.filter((d: Diagnostic) => d.severity === 'error')
    .map((d) => `${d.file.slice(partner(id).length + 1)}:${d.line}:${d.column} ${d.code} ${d.message}${d.suggestion ? ` ~${d.suggestion}` : ''}`);
}

describe('a number where partner.yaml wants text', () => {
  // YAML reads an unquoted 02, 004010 or 997 as a number. The messages were "expected string, received
  // number", "'4010' is not one of 004010, 005010" and "'997' is not one of 997, 999, none".
  it('says which number YAML read, and to quote what was written', () => {
    const file = join(partner('prairie-line'), 'partner.yaml');
    edit(file, 'isa: { qualifier: "02", id: PRLF }', 'isa: { qualifier: 02, id: PRLF }');
    edit(file, 'version: "004010"', 'version: 004010');
    edit(file, 'functional: "997"', 'functional: 997');
    expect(errorsOf('prairie-line')).toEqual([
      'partner.yaml:8:21 PARTNER_CONFIG_INVALID x12.isa.qualifier: 02 is read as the number 2, where text is expected: quote it, "02"',
      'partner.yaml:10:12 PARTNER_CONFIG_INVALID x12.version: 004010 is read as the number 4010, where one of 004010, 005010 is expected: quote it, "004010"',
      'partner.yaml:17:15 PARTNER_CONFIG_INVALID acknowledgments.functional: 997 is read as the number 997, where one of 997, 999, none is expected: quote it, "997"',
    ]);
  });

  it('a number that is no choice, quoted or not, is shown as written, with a did-you-mean', () => {
    const file = join(partner('prairie-line'), 'partner.yaml');
    edit(file, 'functional: "997"', 'functional: 998');
    edit(file, 'version: "004010"', 'version: 4010');
    expect(errorsOf('prairie-line')).toEqual([
      "partner.yaml:10:12 PARTNER_CONFIG_INVALID '4010' is not one of 004010, 005010 (at x12.version) ~004010",
      "partner.yaml:17:15 PARTNER_CONFIG_INVALID '998' is not one of 997, 999, none (at acknowledgments.functional) ~997",
    ]);
  });
});

describe('an interchange from a partner whose partner.yaml does not parse', () => {
  // A tab in partner.yaml: the folder has no config at all, so its ids are unknown. `waybill translate`
  // said "no partner sends as ISA 02/PRLF; configured: none", with no word of the folder just broken.
  it('PARTNER_UNKNOWN_SENDER names the folders whose partner.yaml could not be read', () => {
    edit(join(partner('prairie-line'), 'partner.yaml'), '\n  gs: PRLF', '\n\tgs: PRLF');
    const { registry } = PartnerRegistry.load(root, { prepareValidation: false });
    const who = registry.identifyX12({ senderQualifier: '02', senderId: 'PRLF' } as unknown as InterchangeHeader);
    expect(who).toEqual({
      code: 'PARTNER_UNKNOWN_SENDER',
      message: "no partner sends as ISA 02/PRLF; configured: 'granite-ridge' (ISA 02/GRXP); not read: the partner.yaml of 'prairie-line', which has errors, so its ISA ids are unknown (run waybill lint)",
    });
  });
});

describe('a path to lint, test or translate that is not there', () => {
  // It was "no such file or folder: partners/prairie-lin", with no word of the folder next to it.
  it('is CLI_FILE_NOT_FOUND with the close name in its folder, when there is one', () => {
    expect(() => partnerFoldersFor(join(root, 'prairie-lin'), root)).toThrow(`no such file or folder: ${join(root, 'prairie-lin')} (did you mean '${join(root, 'prairie-line')}'?)`);
    const tests = join(root, 'prairie-line/tests');
    expect(() => partnerFoldersFor(join(tests, '214-multi-statu.yaml'), root)).toThrow(`(did you mean '${join(tests, '214-multi-status.yaml')}'?)`);
    expect(() => requireReadableFile(join(root, 'prairie-line/samples/214-multi-status.ed'))).toThrow(`no such file: ${join(root, 'prairie-line/samples/214-multi-status.ed')} (did you mean '${join(root, 'prairie-line/samples/214-multi-status.edi')}'?)`);
    expect(() => partnerFoldersFor(join(root, 'zzz'), root)).toThrow(new RegExp(`no such file or folder: ${join(root, 'zzz')}$`));
    expect(() => partnerFoldersFor(join(root, 'no/such/folder'), root)).toThrow(new RegExp(`no such file or folder: ${join(root, 'no/such/folder')}$`));
  });
});

describe('conditions and each blocks with two answers', () => {
  const mapping = () => join(partner('prairie-line'), 'mappings/214-status.yaml');

  // `equals: [AG, X2]` was compared with 'AG,X2' (MAP_QUALIFIER_NEVER_VALID "'AG,X2' is never a value"), an
  // `in` beside an `equals` was never read, and `equals:` with nothing compared with the text 'null'.
  it('equals with a list, a map or nothing, and equals beside in, are MAP_SPEC_INVALID saying what to write', () => {
    const when = '{ path: AT7.01, in: [AG, X2] }';
    edit(mapping(), when, '{ path: AT7.01, equals: [AG, X2] }');
    expect(errorsOf('prairie-line')).toEqual(["mappings/214-status.yaml:10:104 MAP_SPEC_INVALID 'equals' takes one value; to match any of several, write in: [AG, X2]"]);
    edit(mapping(), '{ path: AT7.01, equals: [AG, X2] }', '{ path: AT7.01, equals: AG, in: [X2] }');
    expect(errorsOf('prairie-line')).toEqual(["mappings/214-status.yaml:10:108 MAP_SPEC_INVALID a 'path' condition has 'equals' (one value) or 'in' (a list), not both"]);
    edit(mapping(), '{ path: AT7.01, equals: AG, in: [X2] }', '{ path: AT7.01, equals: }');
    expect(errorsOf('prairie-line')).toEqual(["mappings/214-status.yaml:10:104 MAP_SPEC_INVALID 'equals' takes one value (a code or text), not nothing; to test that a value is there, use { exists: PATH }"]);
    edit(mapping(), '{ path: AT7.01, equals: }', '{ path: AT7.01, in: [AG, [X2]] }');
    expect(errorsOf('prairie-line')).toEqual(["mappings/214-status.yaml:10:105 MAP_SPEC_INVALID 'in' takes a list of values (codes or text), one of which the value must be"]);
  });

  // `value` was silently ignored next to `fields`.
  it("an each with both 'fields' and 'value' is MAP_SPEC_INVALID at 'value'", () => {
    edit(mapping(), '    each: MS2\n    fields:', '    each: MS2\n    value: MS2.02\n    fields:');
    expect(errorsOf('prairie-line')).toEqual(["mappings/214-status.yaml:33:5 MAP_SPEC_INVALID 'each' takes 'fields' (an object per iteration) or 'value' (a value per iteration), not both"]);
  });
});

describe('how a diagnostic names things', () => {
  // `090: detention` in a table: the suggestion is the quoted code to write, and was printed
  // "(did you mean ''090''?)".
  it('a suggestion that is quoted text is printed as it is', () => {
    const d: Diagnostic = { code: 'TABLE_INVALID', severity: 'error', file: 't.yaml', line: 5, column: 3, message: '090 is read as the number 90', suggestion: "'090'" };
    expect(formatDiagnostic(d)).toBe("t.yaml:5:3 TABLE_INVALID 090 is read as the number 90 (did you mean '090'?)");
    expect(formatDiagnostic({ ...d, suggestion: 'x12-status' })).toBe("t.yaml:5:3 TABLE_INVALID 090 is read as the number 90 (did you mean 'x12-status'?)");
  });

  // A table value no field takes named the mapping that uses the table by its absolute path, where lint
  // prints every file relative to the working folder.
  it('the mapping line named in a table value diagnostic is relative to the working folder', () => {
    edit(join(partner('prairie-line'), 'tables/appointment-kind.yaml'), 'AB: delivery', 'AB: delivry');
    const cwd = process.cwd();
    process.chdir(root);
    try {
      const { diagnostics } = compilePartner(partner('prairie-line'), { prepareValidation: false });
      expect(diagnostics.filter((x) => x.severity === 'error').map((x) => x.message)).toEqual([
        "'delivry', the value of table 'appointment-kind' for 'AB', is never a valid appointment.kind of shipment.status@1 (the table is used at prairie-line/mappings/214-status.yaml:26:11); allowed: pickup, delivery",
      ]);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('a value of the wrong type where a choice of types is taken', () => {
  // zod says only "Invalid input" for a union: `AB:` with no value in a table was "values.AB: Invalid input".
  it('names the types taken and what was there', () => {
    edit(join(partner('prairie-line'), 'tables/appointment-kind.yaml'), 'AB: delivery', 'AB:');
    expect(errorsOf('prairie-line')).toEqual(['tables/appointment-kind.yaml:5:6 TABLE_INVALID values.AB: expected string or number or boolean, received nothing (null)']);
  });
});

describe('an unknown condition key', () => {
  // "'notin' is not a condition key", with no word of the keys there are (no did-you-mean is close enough).
  it('lists the conditions there are', () => {
    edit(join(partner('prairie-line'), 'mappings/214-status.yaml'), '{ path: AT7.01, in: [AG, X2] }', '{ path: AT7.01, notin: [AG, X2] }');
    expect(errorsOf('prairie-line')).toContain("mappings/214-status.yaml:10:96 MAP_UNKNOWN_KEY 'notin' is not a condition key; conditions are { path, equals } | { path, in } | { exists } | { not } | { all } | { any }");
  });
});

describe('a code table code with white space around it', () => {
  // Codes are looked up exactly: 'AA ' never matched the AA an X12 element holds, and lint said nothing.
  it('is a TABLE_CODE_SPACES warning at the code, suggesting it trimmed', () => {
    const file = join(partner('prairie-line'), 'tables', 'x12-shipment-status.yaml');
    writeFileSync(file, 'values:\n  "AA ": appointment_set\n  " X1": arrived_at_pickup\n  AF: departed_pickup\n');
    const { diagnostics } = compilePartner(partner('prairie-line'), { prepareValidation: false });
    const spaces = diagnostics.filter((d) => d.code === 'TABLE_CODE_SPACES').map((d) => `${d.line}:${d.column} ${d.severity} ${d.message} ~${d.suggestion}`);
    expect(spaces).toEqual([
      "2:3 warning code 'AA ' ends with white space: codes are looked up exactly, so it matches only a value with the same spaces ~'AA'",
      "3:3 warning code ' X1' starts with white space: codes are looked up exactly, so it matches only a value with the same spaces ~'X1'",
    ]);
  });
});
