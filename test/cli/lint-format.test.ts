// `waybill lint` output lines keep the documented form `file:line:col CODE message` for every diagnostic:
// a warning is marked at the end of its line (the code stays the second field), and a YAML parser
// message carries no position or code excerpt of its own (the line's file:line:col says where).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT, repoRoot, waybill } from '../helpers/cli.js';

/** What editors and scripts split a lint line into. */
const LINE = /^(?<file>[^:\s]+):(?<line>\d+):(?<col>\d+) (?<code>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+) (?<message>.+)$/;

// A copy of a clean partner with one YAML warning (an unknown tag in partner.yaml) and one YAML error
// (a duplicate key in a code table). The CLI runs in <tmp>, so it prints paths relative to it; <tmp>/
// node_modules links to the repository's, for the `--import tsx` of test/helpers/cli.ts.
let cwd: string;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'waybill-lint-format-'));
  symlinkSync(join(repoRoot, 'node_modules'), join(cwd, 'node_modules'), 'dir');
  const partner = join(cwd, 'partners/prairie-line');
  mkdirSync(partner, { recursive: true });
  cpSync(join(repoRoot, 'partners/prairie-line'), partner, { recursive: true });
  const config = join(partner, 'partner.yaml');
  const text = readFileSync(config, 'utf8');
  expect(text).toMatch(/^name: Prairie Line Freight$/m);
  writeFileSync(config, text.replace(/^name: /m, 'name: !!foo '));
  writeFileSync(join(partner, 'tables/broken.yaml'), 'description: broken\nvalues:\n  A: one\n  A: two\n');
});

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('waybill lint output lines', () => {
  it('prints warnings as file:line:col CODE message (warning), and YAML messages without a trailing position', async () => {
    const r = await waybill(['lint', '--partners', 'partners'], { cwd });
    expect(r.status).toBe(1);
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      'partners/prairie-line/partner.yaml:4:7 YAML_WARNING Unresolved tag: tag:yaml.org,2002:foo (warning)',
      'partners/prairie-line/tables/broken.yaml:4:3 YAML_SYNTAX Map keys must be unique',
    ]);
    expect(r.stderr).toBe('lint: 1 partner(s), 1 error(s), 1 warning(s)\n');
  }, CLI_TEST_TIMEOUT);

  it('keeps the code in the second field of every line, warning or error', async () => {
    const r = await waybill(['lint', '--partners', 'partners'], { cwd });
    const parsed = r.stdout.trimEnd().split('\n').map((l) => LINE.exec(l)?.groups);
    expect(parsed.map((g) => g?.code)).toEqual(['YAML_WARNING', 'YAML_SYNTAX']);
    // The severity is still in --json, as data.
    const json = await waybill(['lint', '--json', '--partners', 'partners'], { cwd });
    const doc = JSON.parse(json.stdout) as { diagnostics: { code: string; severity: string; message: string }[] };
    expect(doc.diagnostics.map((d) => [d.code, d.severity, d.message])).toEqual([
      ['YAML_WARNING', 'warning', 'Unresolved tag: tag:yaml.org,2002:foo'],
      ['YAML_SYNTAX', 'error', 'Map keys must be unique'],
    ]);
  }, CLI_TEST_TIMEOUT);
});
