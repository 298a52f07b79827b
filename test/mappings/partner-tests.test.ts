// The partner test runner (`waybill test`): sample file -> expected events / acknowledgment, with readable
// diffs and --update. Runs on a copy of prairie-line (its config, mappings and tables only) with its own
// tests, through the real CLI in a child process.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonDiff, runPartnerTests, textDiff } from '../../src/mappings/partner-tests.js';
import { repoRoot, waybill } from '../helpers/cli.js';
import { fixture } from './support.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// test/helpers/cli.ts starts node with `--import tsx`, resolved from the working directory: <tmp>/node_modules
// links to the repository's.
let cwd: string;
let partner: string;
const rel = 'partners/prairie-line';
const expectedJson = () => join(partner, 'tests/expected/214-status.json');
const run = (...args: string[]) => waybill(['test', rel, '--partners', 'partners', ...args], { cwd });

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'waybill-ptests-'));
  symlinkSync(join(repoRoot, 'node_modules'), join(cwd, 'node_modules'), 'dir');
  partner = join(cwd, rel);
  mkdirSync(join(partner, 'tests/expected'), { recursive: true });
  mkdirSync(join(partner, 'samples'), { recursive: true });
  for (const part of ['partner.yaml', 'mappings', 'tables']) cpSync(join(repoRoot, 'partners/prairie-line', part), join(partner, part), { recursive: true });
  cpSync(fixture('214/004010/ltl-multi-status.edi'), join(partner, 'samples/214-multi.edi'));
  // The same 214 with AT701 X6 replaced by BO (a valid 1650 code the status table does not map).
  writeFileSync(join(partner, 'samples/214-unmapped.edi'), readFileSync(fixture('214/004010/ltl-multi-status.edi'), 'latin1').replace('AT7*X6*', 'AT7*BO*'), 'latin1');
  writeFileSync(join(partner, 'tests/214-status.yaml'), `description: six statuses of one PRO
input: ../samples/214-multi.edi
now: "2025-04-17T08:00:00-05:00"
expect:
  events: expected/214-status.json
  ack: expected/214-status.997
`);
  writeFileSync(join(partner, 'tests/214-unmapped.yaml'), `description: an unmapped AT701 fails the transaction
input: ../samples/214-unmapped.edi
expect:
  events: []
  errors:
    - { code: MAP_UNMAPPED_CODE, line: 27 }
`);
});

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('waybill test', () => {
  it('a case without its expected files fails and says how to create them', async () => {
    const r = await run();
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`FAIL ${rel}/tests/214-status.yaml\n    missing expected file expected/214-status.json (run with --update to create it)`);
    expect(r.stdout).toContain(`ok   ${rel}/tests/214-unmapped.yaml`);
    expect(r.stdout).toContain('partner tests: 1 passed, 1 failed');
  });

  it('--update writes the expected files from the actual output', async () => {
    const r = await run('--update');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`ok   ${rel}/tests/214-status.yaml  (updated ${rel}/tests/expected/214-status.json, ${rel}/tests/expected/214-status.997)`);
    const events = JSON.parse(readFileSync(expectedJson(), 'utf8')) as Json[];
    expect(events.map((e) => e.status.milestone)).toEqual(['appointment_set', 'arrived_at_pickup', 'departed_pickup', 'in_transit', 'appointment_set', 'delivered']);
    expect(events.every((e) => e.receivedAt === '2025-04-17T08:00:00-05:00' && e.source.fileId === 'sha256-test')).toBe(true);
    const ack = readFileSync(join(partner, 'tests/expected/214-status.997'), 'utf8');
    expect(ack.split('\n').slice(2, 7)).toEqual(['ST*997*0001~', 'AK1*QM*2291~', 'AK2*214*0001~', 'AK5*A~', 'AK9*A*1*1*1~']);
    expect(ack).toContain('*250417*1300*'); // ISA09/10: the frozen clock in UTC
  });

  it('a passing run exits 0', async () => {
    const r = await run();
    expect(r.stdout).toBe(`ok   ${rel}/tests/214-status.yaml\nok   ${rel}/tests/214-unmapped.yaml\npartner tests: 2 passed, 0 failed\n`);
    expect(r.status).toBe(0);
  });

  it('a changed expectation fails with a diff naming the path, expected and actual values', async () => {
    const events = JSON.parse(readFileSync(expectedJson(), 'utf8')) as Json[];
    events[2].status.milestone = 'delivered';
    delete events[4].appointment.kind;
    writeFileSync(expectedJson(), `${JSON.stringify(events, null, 2)}\n`);
    const r = await run();
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`FAIL ${rel}/tests/214-status.yaml\n    expected/214-status.json:\n`);
    expect(r.stdout).toContain('events[2].status.milestone: expected "delivered", got "departed_pickup"');
    expect(r.stdout).toContain('+ events[4].appointment.kind: unexpected "delivery"');
    expect(r.stdout).toContain('partner tests: 1 passed, 1 failed');
  });

  // The brief (and analysts reading the output) expect the path to start at `events`; the runner diffs the
  // array itself, so the line reads `~ [2].status.milestone: ...`.
  it('the diff path starts with events: events[2].status.milestone', async () => {
    const r = await run();
    expect(r.stdout).toContain('events[2].status.milestone: expected "delivered", got "departed_pickup"');
  });

  it('--update rewrites only what changed', async () => {
    const ackBefore = readFileSync(join(partner, 'tests/expected/214-status.997'), 'utf8');
    const r = await run('--update');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`ok   ${rel}/tests/214-status.yaml  (updated ${rel}/tests/expected/214-status.json)\n`);
    expect((JSON.parse(readFileSync(expectedJson(), 'utf8')) as Json[])[2].status.milestone).toBe('departed_pickup');
    expect(readFileSync(join(partner, 'tests/expected/214-status.997'), 'utf8')).toBe(ackBefore);
    expect((await run()).status).toBe(0);
  });

  it('expected unit failures are compared too', async () => {
    writeFileSync(join(partner, 'tests/214-unmapped.yaml'), readFileSync(join(partner, 'tests/214-unmapped.yaml'), 'utf8').replace('line: 27', 'line: 26'));
    const r = await run();
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('~ errors[0].line: expected 26, got 27');
    expect(r.stdout).toContain("27:1 MAP_UNMAPPED_CODE code 'BO' is not in table 'x12-shipment-status' (unmapped: error)");
    writeFileSync(join(partner, 'tests/214-unmapped.yaml'), readFileSync(join(partner, 'tests/214-unmapped.yaml'), 'utf8').replace('line: 26', 'line: 27'));
    expect((await run()).status).toBe(0);
  });

  it('a broken test file is reported with its position and a did-you-mean', async () => {
    const file = join(partner, 'tests/zz-broken.yaml');
    writeFileSync(file, 'description: broken\ninput: ../samples/214-multi.edi\nexpect:\n  errorz: []\n');
    try {
      const r = await run();
      expect(r.status).toBe(1);
      expect(r.stdout).toContain(`FAIL ${rel}/tests/zz-broken.yaml\n`);
      expect(r.stdout).toContain(`${file}:4:3 TEST_CASE_INVALID unknown key 'errorz'; allowed here: events, errors, ack, output (did you mean 'errors'?)`);
      expect(r.stdout).toContain('partner tests: 2 passed, 1 failed');
    } finally {
      rmSync(file);
    }
  });

  // A YAML syntax error is reported, but the runner then validates the (absent) value as well and adds a
  // spurious "'expect' is required" (sorted before the real problem). loadPartner and the code tables
  // stop after YAML_SYNTAX; runCase does not.
  it('a test file with a YAML syntax error reports only the syntax error', async () => {
    const file = join(partner, 'tests/zz-syntax.yaml');
    writeFileSync(file, 'input: ../samples/214-multi.edi\nexpect:\n  events: [\n');
    try {
      const results = await runPartnerTests(join(cwd, 'partners'), [partner]);
      const r = results.find((x) => x.file === file)!;
      expect(r.ok).toBe(false);
      expect(r.diffs).toHaveLength(1);
      expect(r.diffs[0]).toMatch(/YAML_SYNTAX/);
    } finally {
      rmSync(file);
    }
  });

  it('a test file with a YAML syntax error is reported at its position', async () => {
    const file = join(partner, 'tests/zz-syntax.yaml');
    writeFileSync(file, 'input: ../samples/214-multi.edi\nexpect:\n  events: [\n');
    try {
      const results = await runPartnerTests(join(cwd, 'partners'), [partner]);
      const r = results.find((x) => x.file === file)!;
      expect(r.ok).toBe(false);
      expect(r.diffs.some((d) => d.startsWith(`${file}:4:1 YAML_SYNTAX `))).toBe(true);
      expect(results.filter((x) => x.file !== file).every((x) => x.ok)).toBe(true);
    } finally {
      rmSync(file);
    }
  });

  it('--json prints the results as one object', async () => {
    const r = await run('--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { passed: number; failed: number; results: { file: string; ok: boolean }[] };
    expect(out).toMatchObject({ passed: 2, failed: 0 });
    expect(out.results.map((x) => x.file)).toEqual([join(partner, 'tests/214-status.yaml'), join(partner, 'tests/214-unmapped.yaml')]);
    expect(existsSync(join(partner, 'tests/zz-broken.yaml'))).toBe(false);
  });
});

describe('jsonDiff and textDiff', () => {
  it('names each differing path', async () => {
    expect(jsonDiff({ a: [1, { b: 'x' }], c: 1 }, { a: [1, { b: 'y' }, 3], d: 2 })).toEqual([
      '~ a[1].b: expected "x", got "y"',
      '+ a[2]: unexpected 3',
      '- c: expected 1, missing',
      '+ d: unexpected 2',
    ]);
    expect(jsonDiff([{ s: 'a' }], [{ s: 'a' }])).toEqual([]);
    expect(jsonDiff('a', 'b')).toEqual(['~ (root): expected "a", got "b"']);
  });

  it('shows the differing lines of a text', async () => {
    expect(textDiff('A~\nB~\nC~\n', 'A~\nX~\nC~\n')).toEqual(['line 2:', '- B~', '+ X~']);
    expect(textDiff('same', 'same')).toEqual([]);
  });
});
