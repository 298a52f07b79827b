// The partner test runner (`waybill test`): sample file -> expected events / acknowledgment, with readable
// diffs, the actual output, and --update. Runs on a copy of prairie-line (its config, mappings and tables
// only) with its own tests, through the real CLI in a child process; the later cases work on copies of
// that copy outside the partners root, mostly through runPartnerTests itself (no child process).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonDiff, runPartnerTests, setInlineExpectation, textDiff } from '../../src/mappings/partner-tests.js';
import { selectCases } from '../../src/cli/commands/test.js';
import { repoRoot, waybill } from '../helpers/cli.js';
import { fixture } from './support.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Line and column (1-based) where `needle` first stands in `text`, as `L:C`. */
function placeOf(text: string, needle: string): string {
  const before = text.slice(0, text.indexOf(needle)).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

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
    expect(r.stdout).toContain(`FAIL ${rel}/tests/214-status.yaml\n    ${rel}/tests/214-status.yaml:5:11 TEST_EXPECTED_MISSING expected file 'expected/214-status.json' does not exist (run with --update to create it)`);
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
    expect(ack).toContain('*250417*0800*'); // ISA09/10: the frozen clock (13:00Z) in the partner's zone (America/Chicago, CDT), as the gateway writes it
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
    // at AT701, the code the table does not know ('AT7*BO...' on line 27)
    expect(r.stdout).toContain("27:5 MAP_UNMAPPED_CODE code 'BO' is not in table 'x12-shipment-status' (unmapped: error)");
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
      // Relative to the working folder, as lint prints it.
      expect(r.stdout).toContain(`\n    ${rel}/tests/zz-broken.yaml:4:3 TEST_CASE_INVALID unknown key 'errorz'; allowed here: events, errors, ack, output (did you mean 'errors'?)`);
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

  it('an expected error code that does not exist is TEST_CASE_INVALID at it, with the closest code', async () => {
    const file = join(partner, 'tests/zz-code.yaml');
    writeFileSync(file, 'input: ../samples/214-unmapped.edi\nexpect:\n  events: []\n  errors:\n    - { code: MAP_UNMAPED_CODE, line: 27 }\n');
    try {
      const results = await runPartnerTests(join(cwd, 'partners'), [partner]);
      const r = results.find((x) => x.file === file)!;
      expect(r.ok).toBe(false);
      expect(r.diffs).toEqual([`${file}:5:15 TEST_CASE_INVALID 'MAP_UNMAPED_CODE' is not an error code Waybill reports (did you mean 'MAP_UNMAPPED_CODE'?)`]);
    } finally {
      rmSync(file);
    }
  });

  it('a missing input file is TEST_CASE_INVALID at the input key, with the closest file', async () => {
    const file = join(partner, 'tests/zz-missing.yaml');
    writeFileSync(file, 'description: typo in the input\ninput: ../samples/214-mult.edi\nexpect:\n  events: []\n');
    try {
      const results = await runPartnerTests(join(cwd, 'partners'), [partner]);
      const r = results.find((x) => x.file === file)!;
      expect(r.ok).toBe(false);
      expect(r.diffs).toEqual([`${file}:2:8 TEST_CASE_INVALID input file '../samples/214-mult.edi' does not exist (did you mean '../samples/214-multi.edi'?)`]);
    } finally {
      rmSync(file);
    }
  });

  it('an outbound case whose command has a key its type does not know fails, naming it with a did-you-mean', async () => {
    // zod drops unknown keys: the command rendered without its equipment, and the case could pass.
    const root = mkdtempSync(join(tmpdir(), 'waybill-ptests-out-'));
    try {
      const granite = join(root, 'granite-ridge');
      cpSync(join(repoRoot, 'partners/granite-ridge'), granite, { recursive: true });
      const command = join(granite, 'samples/204-original-BPL-88104217.json');
      const { equipment, ...rest } = JSON.parse(readFileSync(command, 'utf8')) as Json;
      const text = JSON.stringify({ ...rest, equipmnt: equipment }, null, 2);
      writeFileSync(command, text);
      const results = await runPartnerTests(root, [granite]);
      const r = results.find((x) => x.file.endsWith('204-original.yaml'))!;
      expect(r.ok).toBe(false);
      // At the key (it was 1:1 for every problem of a command).
      expect(r.diffs).toEqual([`${command}:${placeOf(text, '"equipmnt"')} TEST_CASE_INVALID the command has keys load.tender@1 does not know: equipmnt (did you mean 'equipment'?)`]);
      expect(results.filter((x) => x !== r).every((x) => x.ok)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  // Before: a command file holding an array, null, no type or an unknown type failed the case with a bare
  // TypeError ("Cannot read properties of undefined (reading 'safeParse')"), uncoded and unplaced; an event
  // was MAP_NO_MAPPING for its type; a misspelt required key was only "is required".
  it('an outbound case whose command is no command fails with TEST_CASE_INVALID saying what is wrong', async () => {
    const root = mkdtempSync(join(tmpdir(), 'waybill-ptests-out-'));
    try {
      const granite = join(root, 'granite-ridge');
      cpSync(join(repoRoot, 'partners/granite-ridge'), granite, { recursive: true });
      const command = join(granite, 'samples/204-original-BPL-88104217.json');
      const original = JSON.parse(readFileSync(command, 'utf8')) as Json;
      const diffsFor = async (text: string) => {
        writeFileSync(command, text);
        const r = (await runPartnerTests(root, [granite])).find((x) => x.file.endsWith('204-original.yaml'))!;
        expect(r.ok).toBe(false);
        return r.diffs;
      };
      const at = `${command}:1:1 TEST_CASE_INVALID`;
      expect(await diffsFor('[1, 2]\n')).toEqual([`${at} the command is not a valid command: (root): expected a JSON object (a command), found an array`]);
      expect(await diffsFor('null\n')).toEqual([`${at} the command is not a valid command: (root): expected a JSON object (a command), found null`]);
      const { type, ...untyped } = original;
      expect(await diffsFor(JSON.stringify(untyped))).toEqual([expect.stringMatching(new RegExp(`^${at.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} the command is not a valid command: type: is required; one of .*load\\.tender@1`))]);
      // Each problem at its place in the file (it was 1:1 whatever the problem).
      const tendr = JSON.stringify({ ...original, type: 'load.tendr@1' }, null, 2);
      expect(await diffsFor(tendr)).toEqual([expect.stringContaining(`${command}:${placeOf(tendr, '"load.tendr@1"')} TEST_CASE_INVALID the command is not a valid command: type: unknown type "load.tendr@1"; one of `)]);
      const { carrierScac, ...rest } = original;
      const carier = JSON.stringify({ ...rest, carierScac: carrierScac }, null, 2);
      expect(await diffsFor(carier)).toEqual([
        `${command}:${placeOf(carier, '"carierScac"')} TEST_CASE_INVALID the command is not a valid load.tender@1: carrierScac: is required (expected string); the command has keys load.tender@1 does not know: carierScac (did you mean 'carrierScac'?)`,
      ]);
      const late = JSON.stringify({ ...original, respondBy: 'tomorrow' }, null, 2);
      expect(await diffsFor(late)).toEqual([expect.stringMatching(new RegExp(`:${placeOf(late, '"tomorrow"')} TEST_CASE_INVALID the command is not a valid load\\.tender@1: respondBy: `))]);
      const event = readFileSync(join(repoRoot, 'test/canonical/fixtures/shipment.status@1/x12-214-delayed-weather.json'), 'utf8');
      expect(await diffsFor(event)).toEqual([expect.stringMatching(new RegExp(`:${placeOf(event, '"event"')} TEST_CASE_INVALID kind: this is shipment\\.status@1 'event', not a command; an outbound case renders a command \\(kind "command"\\): `))]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an outbound case compares expect.errors with the render failure; a command for another partner fails the case', async () => {
    const root = mkdtempSync(join(tmpdir(), 'waybill-ptests-out-'));
    try {
      const granite = join(root, 'granite-ridge');
      cpSync(join(repoRoot, 'partners/granite-ridge'), granite, { recursive: true });
      const command = JSON.parse(readFileSync(join(granite, 'samples/204-original-BPL-88104217.json'), 'utf8')) as Json;
      writeFileSync(join(granite, 'samples/pipe.json'), JSON.stringify({ ...command, notes: ['A|B'] }, null, 2));
      const caseFile = (errors: string) => `command: ../samples/pipe.json\nnow: "2025-10-20T19:05:00Z"\nexpect:\n  errors:${errors}\n`;
      const run = async () => (await runPartnerTests(root, [granite])).find((x) => x.file.endsWith('pipe.yaml'))!;
      // Expected and got: passes.
      writeFileSync(join(granite, 'tests/pipe.yaml'), caseFile('\n    - { code: MAP_DELIMITER_IN_DATA }'));
      expect(await run()).toMatchObject({ ok: true, diffs: [] });
      // Expected another failure: fails with a diff and the failure there was.
      writeFileSync(join(granite, 'tests/pipe.yaml'), caseFile('\n    - { code: MAP_VALUE_TOO_LONG }'));
      const wrong = await run();
      expect(wrong.ok).toBe(false);
      expect(wrong.diffs.slice(0, 2)).toEqual(['render failures:', '  ~ errors[0].code: expected "MAP_VALUE_TOO_LONG", got "MAP_DELIMITER_IN_DATA"']);
      // A failure expected of a command that renders: fails (it used to pass, errors unread).
      writeFileSync(join(granite, 'samples/pipe.json'), JSON.stringify(command, null, 2));
      writeFileSync(join(granite, 'tests/pipe.yaml'), caseFile('\n    - { code: MAP_DELIMITER_IN_DATA }'));
      expect((await run()).diffs).toEqual(['render failures:', '  - errors[0]: expected {"code":"MAP_DELIMITER_IN_DATA"}, missing', '  the command rendered without a failure']);
      // A command addressed to another partner.
      const other = JSON.stringify({ ...command, partner: 'prairie-line' }, null, 2);
      writeFileSync(join(granite, 'samples/pipe.json'), other);
      writeFileSync(join(granite, 'tests/pipe.yaml'), caseFile(' []'));
      expect((await run()).diffs).toEqual([`${join(granite, 'samples/pipe.json')}:${placeOf(other, '"prairie-line"')} TEST_CASE_INVALID the command is for partner 'prairie-line', not 'granite-ridge', whose test this is`]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an input that is a folder is TEST_CASE_INVALID at the input key, saying so (it was a bare EISDIR)', async () => {
    const file = join(partner, 'tests/zz-folder.yaml');
    writeFileSync(file, 'description: a folder\ninput: ../samples\nexpect:\n  events: []\n');
    try {
      const results = await runPartnerTests(join(cwd, 'partners'), [partner]);
      expect(results.find((x) => x.file === file)!.diffs).toEqual([`${file}:2:8 TEST_CASE_INVALID input file '../samples' is a folder, not a file`]);
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

// A copy of the prairie-line above (config, mappings, tables, samples) OUTSIDE the partners root, which
// still holds a prairie-line of its own, with the given test cases. Each test gets a fresh one.
let copies = 0;
function copyOutside(cases: Record<string, string>): string {
  const dir = join(cwd, `elsewhere-${++copies}`, 'prairie-line');
  mkdirSync(join(dir, 'tests/expected'), { recursive: true });
  for (const part of ['partner.yaml', 'mappings', 'tables', 'samples']) cpSync(join(partner, part), join(dir, part), { recursive: true });
  for (const [name, text] of Object.entries(cases)) writeFileSync(join(dir, 'tests', name), text);
  return dir;
}

const statusCase = `input: ../samples/214-multi.edi
now: "2025-04-17T08:00:00-05:00"
expect:
  events: expected/214-status.json
  ack: expected/214-status.997
`;

describe('waybill test on a partner folder outside --partners', () => {
  // The partners root has a prairie-line too: X12 cases looked their partner up by id, and the runner kept
  // the root's, so a broken mapping in the folder under test went unnoticed.
  it('runs the mappings of the folder under test, not those of the same id under the partners root', async () => {
    const dir = copyOutside({ '214-status.yaml': statusCase });
    const root = join(cwd, 'partners');
    expect((await runPartnerTests(root, [dir], { update: true }))[0].ok).toBe(true);
    const mapping = join(dir, 'mappings/214-status.yaml');
    const text = readFileSync(mapping, 'utf8');
    expect(text).toContain('proNumber: { path: B10.01,');
    writeFileSync(mapping, text.replace('proNumber: { path: B10.01,', 'proNumber: { path: B10.02,'));
    const [r] = await runPartnerTests(root, [dir]);
    expect(r.ok).toBe(false);
    expect(r.diffs).toContain('  ~ events[0].references.proNumber: expected "0048213377", got "TCH-BOL-40771"');
  });
});

describe('waybill test --update and inline expectations', () => {
  // The errors (and inline events) live in the test YAML itself: --update rewrote only expected files,
  // said ok, and the next run failed.
  it('rewrites expect.errors in the test file, keeping the rest of it byte for byte', async () => {
    const before = `# Why: the status table does not map BO.
description: an unmapped AT701 fails the transaction
input: ../samples/214-unmapped.edi   # AT7*BO*
expect:
  events: []
  # one entry per failing transaction
  errors:
    - { code: MAP_UNMAPPED_CODE, line: 26 }
  # nothing else
`;
    const dir = copyOutside({ '214-unmapped.yaml': before });
    const file = join(dir, 'tests/214-unmapped.yaml');
    const shown = file.slice(cwd.length + 1);
    const run = (...args: string[]) => waybill(['test', dir.slice(cwd.length + 1), '--partners', 'partners', ...args], { cwd });
    const r = await run('--update');
    expect(r.stdout).toContain(`ok   ${shown}  (updated ${shown})\n`);
    expect(r.status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(before.replace('line: 26', 'line: 27'));
    const again = await run();
    expect(again.stdout).toContain(`ok   ${shown}\n`);
    expect(again.status).toBe(0);
  });

  it('adds expect.errors when the case had none, and rewrites inline events', async () => {
    const dir = copyOutside({
      'unmapped.yaml': 'input: ../samples/214-unmapped.edi # no errors key yet\nexpect:\n  events: [{ wrong: true }]   # inline\n',
      'multi.yaml': '# six statuses, inline\ninput: ../samples/214-multi.edi\nexpect:\n  events: []\n  ack: expected/multi.997\n',
    });
    const root = join(cwd, 'partners');
    const results = await runPartnerTests(root, [dir], { update: true });
    expect(results.map((r) => [r.ok, r.diffs])).toEqual([[true, []], [true, []]]);
    expect(readFileSync(join(dir, 'tests/unmapped.yaml'), 'utf8')).toBe(
      'input: ../samples/214-unmapped.edi # no errors key yet\nexpect:\n  events: []   # inline\n  errors:\n    - { code: MAP_UNMAPPED_CODE, line: 27 }\n');
    const multi = readFileSync(join(dir, 'tests/multi.yaml'), 'utf8');
    expect(multi).toMatch(/^# six statuses, inline\ninput: \.\.\/samples\/214-multi\.edi\nexpect:\n  events:\n    - kind: event\n      id: /);
    expect(multi).toMatch(/\n  ack: expected\/multi\.997\n$/);
    expect((await runPartnerTests(root, [dir])).map((r) => r.ok)).toEqual([true, true]);
  });

  it('says what to change by hand, and fails, when it cannot rewrite the file', async () => {
    const before = 'input: ../samples/214-unmapped.edi\nexpect: { events: [], errors: [] }\n';
    const dir = copyOutside({ 'flow.yaml': before });
    const r = await waybill(['test', dir.slice(cwd.length + 1), '--partners', 'partners', '--update'], { cwd });
    expect(r.stdout).toContain([
      '    not updated: --update cannot rewrite expect.errors in this file\'s layout; change it by hand to:',
      '      errors:',
      '        - { code: MAP_UNMAPPED_CODE, line: 27 }',
    ].join('\n'));
    expect(r.stdout).toContain('partner tests: 0 passed, 1 failed');
    expect(r.status).toBe(1);
    expect(readFileSync(join(dir, 'tests/flow.yaml'), 'utf8')).toBe(before);
  });

  it('edits only the value (setInlineExpectation)', () => {
    const text = 'expect:\n  errors:   # keep me\n    - { code: A }\n\n  # about ack\n  ack: x.997\n';
    expect(setInlineExpectation(text, 'errors', [{ code: 'A' }, { code: 'B', line: 3 }]))
      .toBe('expect:\n  errors:   # keep me\n    - { code: A }\n    - { code: B, line: 3 }\n\n  # about ack\n  ack: x.997\n');
    expect(setInlineExpectation(text, 'errors', [])).toBe('expect:\n  errors: []\n\n  # about ack\n  ack: x.997\n');
    expect(setInlineExpectation('expect:\n  ack: x.997', 'errors', [])).toBe('expect:\n  ack: x.997\n  errors: []\n');
    expect(setInlineExpectation('expect: { ack: x.997 }\n', 'errors', [])).toBeNull();
  });

  it('keeps the comment at the end of an expected error with the new entry of its code, or refuses to lose one', () => {
    const text = 'expect:\n  errors:\n    - { code: A, line: 29 }  # the BO status\n    - { code: B }\n';
    expect(setInlineExpectation(text, 'errors', [{ code: 'C', line: 2 }, { code: 'A', line: 31 }, { code: 'B' }]))
      .toBe('expect:\n  errors:\n    - { code: C, line: 2 }\n    - { code: A, line: 31 }  # the BO status\n    - { code: B }\n');
    // A comment line above the list stays where it is; one between its entries, or inside an entry of
    // several lines, cannot be placed: not rewritten.
    expect(setInlineExpectation('expect:\n  errors:\n    # first\n    - { code: A, line: 29 }\n', 'errors', [{ code: 'A', line: 31 }]))
      .toBe('expect:\n  errors:\n    # first\n    - { code: A, line: 31 }\n');
    expect(setInlineExpectation('expect:\n  errors:\n    - { code: A }\n    # then\n    - { code: B }\n', 'errors', [{ code: 'A' }])).toBeNull();
    expect(setInlineExpectation('expect:\n  errors:\n    - code: A   # why\n      line: 29\n', 'errors', [{ code: 'A', line: 31 }])).toBeNull();
    // A '#' inside a quoted value is no comment.
    expect(setInlineExpectation("expect:\n  errors:\n    - { code: 'A #1', line: 29 }\n", 'errors', [{ code: 'A', line: 31 }]))
      .toBe('expect:\n  errors:\n    - { code: A, line: 31 }\n');
  });
});

describe('waybill test shows the actual output after the diff', () => {
  it('prints a small actual output (an acknowledgment) under its diff', async () => {
    const dir = copyOutside({ '214-status.yaml': statusCase });
    await runPartnerTests(join(cwd, 'partners'), [dir], { update: true });
    const ackFile = join(dir, 'tests/expected/214-status.997');
    const ack = readFileSync(ackFile, 'utf8');
    writeFileSync(ackFile, ack.replace('AK5*A~', 'AK5*R~'));
    const r = await waybill(['test', dir.slice(cwd.length + 1), '--partners', 'partners'], { cwd });
    expect(r.status).toBe(1);
    const ackLines = ack.replace(/\n$/, '').split('\n');
    expect(r.stdout).toContain(['    expected/214-status.997:', '      line 6:', '      - AK5*R~', '      + AK5*A~',
      '    actual output:', ...ackLines.map((l) => `      ${l}`)].join('\n'));
    expect(existsSync(join(dir, 'tests/expected/214-status.actual.997'))).toBe(false);
  });

  it('writes a large actual output (six events) next to the expected file, and removes it once the case passes', async () => {
    const dir = copyOutside({ '214-status.yaml': statusCase });
    const root = join(cwd, 'partners');
    await runPartnerTests(root, [dir], { update: true });
    const eventsFile = join(dir, 'tests/expected/214-status.json');
    const actualFile = join(dir, 'tests/expected/214-status.actual.json');
    const good = readFileSync(eventsFile, 'utf8');
    writeFileSync(eventsFile, good.replace('"departed_pickup"', '"delivered"'));
    const [r] = await runPartnerTests(root, [dir]);
    expect(r.ok).toBe(false);
    expect(r.diffs).toEqual([
      'expected/214-status.json:',
      '  ~ events[2].status.milestone: expected "delivered", got "departed_pickup"',
      // Named from the working folder (an absolute path outside it), so that it opens as printed.
      `actual output (${good.split('\n').length - 1} lines) written to ${actualFile}`,
    ]);
    expect(readFileSync(actualFile, 'utf8')).toBe(good);
    writeFileSync(eventsFile, good);
    expect((await runPartnerTests(root, [dir]))[0].ok).toBe(true);
    expect(existsSync(actualFile)).toBe(false);
  });

  it('prints the actual outbound file under its diff', async () => {
    const dir = join(cwd, 'elsewhere-outbound', 'granite-ridge');
    cpSync(join(repoRoot, 'partners/granite-ridge'), dir, { recursive: true });
    const expectedFile = join(dir, 'tests/expected/204-cancel.edi');
    const good = readFileSync(expectedFile, 'utf8');
    const lines = good.replace(/\n$/, '').split('\n');
    writeFileSync(expectedFile, good.replace(lines[3], `${lines[3]}X`));
    const r = (await runPartnerTests(join(cwd, 'partners'), [dir])).find((x) => x.file.endsWith('204-cancel.yaml'))!;
    expect(r.ok).toBe(false);
    expect(r.diffs.slice(0, 4)).toEqual(['expected/204-cancel.edi:', '  line 4:', `  - ${lines[3]}X`, `  + ${lines[3]}`]);
    expect(r.diffs.slice(4)).toEqual(['actual output:', ...lines.map((l) => `  ${l}`)]);
  });

  it('reports an expected JSON file that does not parse with its code, name and position', async () => {
    const dir = copyOutside({ '214-status.yaml': statusCase });
    const root = join(cwd, 'partners');
    await runPartnerTests(root, [dir], { update: true });
    const eventsFile = join(dir, 'tests/expected/214-status.json');
    writeFileSync(eventsFile, '[\n  { "id" "x" }\n]\n');
    const [r] = await runPartnerTests(root, [dir]);
    expect(r.ok).toBe(false);
    expect(r.diffs).toEqual([`${eventsFile}:2:10 TEST_JSON_INVALID not valid JSON: ':' is expected after the property name, found '"x"'`]);
    writeFileSync(eventsFile, '[\n  {}\n');
    expect((await runPartnerTests(root, [dir]))[0].diffs).toEqual([`${eventsFile}:3:1 TEST_JSON_INVALID not valid JSON: ']' is expected, found the end of the text`]);
    writeFileSync(eventsFile, '');
    expect((await runPartnerTests(root, [dir]))[0].diffs).toEqual([`${eventsFile}:1:1 TEST_JSON_INVALID not valid JSON: a value is expected, found the end of the text`]);
    // V8 gives an unexpected token no position, and quotes the text around it, line breaks and all.
    writeFileSync(eventsFile, '[\n {"a":1},\n {"b": tru}\n]\n');
    expect((await runPartnerTests(root, [dir]))[0].diffs).toEqual([
      `${eventsFile}:3:8 TEST_JSON_INVALID not valid JSON: unexpected 'tru' (strings need double quotes; true, false and null are lower case)`]);
  });
});

describe('a large diff', () => {
  it('prints its first 50 lines and how many more there are', async () => {
    const dir = copyOutside({ '214-status.yaml': statusCase });
    const root = join(cwd, 'partners');
    await runPartnerTests(root, [dir], { update: true });
    writeFileSync(join(dir, 'tests/expected/214-status.json'), JSON.stringify(Array.from({ length: 60 }, (_, i) => ({ n: i }))));
    const [r] = await runPartnerTests(root, [dir]);
    const at = r.diffs.indexOf('expected/214-status.json:');
    const diffLines = r.diffs.slice(at + 1, at + 52);
    expect(diffLines.slice(0, 50).every((l) => /^ {2}[-+~] events/.test(l))).toBe(true);
    expect(diffLines[50]).toMatch(/^ {2}\.\.\. and \d+ more differences$/);
    expect(r.diffs[at + 52]).toMatch(/^actual output \(\d+ lines\) written to \/.*\/tests\/expected\/214-status\.actual\.json$/);
  });
});

describe('expected file paths that name no file', () => {
  const root = () => join(cwd, 'partners');

  it('a missing one is TEST_EXPECTED_MISSING at its key, with the closest file there; --update creates it, folders and all', async () => {
    const dir = copyOutside({ '214-status.yaml': statusCase });
    await runPartnerTests(root(), [dir], { update: true });
    const testFile = join(dir, 'tests/214-status.yaml');
    writeFileSync(testFile, statusCase.replace('expected/214-status.json', 'expected/214-statu.json'));
    const [r] = await runPartnerTests(root(), [dir]);
    expect(r.ok).toBe(false);
    expect(r.diffs).toEqual([`${testFile}:4:11 TEST_EXPECTED_MISSING expected file 'expected/214-statu.json' does not exist (run with --update to create it) (did you mean 'expected/214-status.json'?)`]);
    writeFileSync(testFile, statusCase.replace('expected/214-status.json', 'new/deeper/214-status.json'));
    const [u] = await runPartnerTests(root(), [dir], { update: true });
    expect(u.updated).toEqual([join(dir, 'tests/new/deeper/214-status.json')]);
    expect((await runPartnerTests(root(), [dir]))[0]).toMatchObject({ ok: true, diffs: [] });
  });

  it('an empty path or a folder is TEST_CASE_INVALID at its key, with or without --update', async () => {
    const dir = copyOutside({ '214-status.yaml': statusCase.replace('ack: expected/214-status.997', 'ack: ""') });
    const testFile = join(dir, 'tests/214-status.yaml');
    for (const update of [false, true]) {
      const [r] = await runPartnerTests(root(), [dir], { update });
      expect(r.diffs).toEqual([expect.stringMatching(new RegExp(`^${testFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:8 TEST_CASE_INVALID .*the path of an expected file`))]);
    }
    writeFileSync(testFile, statusCase.replace('ack: expected/214-status.997', 'ack: expected'));
    const [r] = await runPartnerTests(root(), [dir], { update: true });
    expect(r.diffs).toEqual([`${testFile}:5:8 TEST_CASE_INVALID expected file 'expected' is a folder, not a file`]);
  });
});

describe('waybill test on case files', () => {
  // Given one case file, every case of its partner ran, and --update silently rewrote the siblings'
  // expected files (an analyst's hand edit in another case was reverted).
  it('runs, and --update rewrites, only the case files named', async () => {
    const dir = copyOutside({ '214-status.yaml': statusCase, 'sibling.yaml': statusCase.replace(/214-status/g, 'sibling') });
    await runPartnerTests(join(cwd, 'partners'), [dir], { update: true });
    const siblingAck = join(dir, 'tests/expected/sibling.997');
    const edited = readFileSync(siblingAck, 'utf8').replace('AK5*A~', 'AK5*R~');
    writeFileSync(siblingAck, edited);
    const shown = (name: string) => join(dir, 'tests', name).slice(cwd.length + 1);
    const r = await waybill(['test', shown('214-status.yaml'), '--partners', 'partners', '--update'], { cwd });
    expect(r.stdout).toBe(`ok   ${shown('214-status.yaml')}\npartner tests: 1 passed, 0 failed\n`);
    expect(r.status).toBe(0);
    expect(readFileSync(siblingAck, 'utf8')).toBe(edited);
    // The partner folder still runs every case.
    const all = await waybill(['test', dir.slice(cwd.length + 1), '--partners', 'partners'], { cwd });
    expect(all.stdout).toContain(`FAIL ${shown('sibling.yaml')}\n`);
    expect(all.stdout).toContain('partner tests: 1 passed, 1 failed\n');
  });

  it('selects cases per folder: case files alone, a whole folder when it is named too', () => {
    const dir = copyOutside({ 'a.yaml': statusCase, 'b.yaml': statusCase, 'c.yml': statusCase });
    const [a, b] = [join(dir, 'tests/a.yaml'), join(dir, 'tests/b.yaml')];
    const root = join(cwd, 'partners');
    expect(selectCases([a, b, a], root)).toEqual({ folders: [dir], cases: new Map([[dir, [a, b]]]) });
    expect(selectCases([a, dir], root)).toEqual({ folders: [dir], cases: new Map() });
    // Any other file of the partner names the whole partner, as in waybill lint.
    expect(selectCases([join(dir, 'partner.yaml')], root)).toEqual({ folders: [dir], cases: new Map() });
  });
});

describe('waybill test outbound cases: format and now', () => {
  // A copy of granite-ridge whose load.tender@1 goes out as X12 (first) and as CSV.
  let root: string;
  let granite: string;
  const caseFile = (name: string, text: string) => {
    const file = join(granite, 'tests', name);
    writeFileSync(file, text);
    return file;
  };
  const original = 'command: ../samples/204-original-BPL-88104217.json\nnow: "2025-10-20T19:05:00Z"\n';
  const runOne = async (file: string, update = false) =>
    (await runPartnerTests(root, [granite], { update, cases: new Map([[granite, [file]]]) }))[0];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'waybill-ptests-format-'));
    granite = join(root, 'granite-ridge');
    cpSync(join(repoRoot, 'partners/granite-ridge'), granite, { recursive: true });
    writeFileSync(join(granite, 'mappings/204-tender-csv.yaml'),
      'source: load.tender@1\ntarget: csv\neach: stops\nlineEnding: lf\ncolumns:\n  - { name: Shipment, value: /references.shipmentId }\n  - { name: Stop, value: sequence }\n');
    writeFileSync(join(granite, 'partner.yaml'),
      `${readFileSync(join(granite, 'partner.yaml'), 'utf8')}  - command: load.tender@1\n    format: csv\n    mapping: mappings/204-tender-csv.yaml\n`);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('format: csv renders through the CSV route; without format, the first route (X12)', async () => {
    const csv = caseFile('csv.yaml', `${original}format: csv\nexpect:\n  output: expected/csv.csv\n`);
    expect(await runOne(csv, true)).toMatchObject({ ok: true, diffs: [] });
    expect(readFileSync(join(granite, 'tests/expected/csv.csv'), 'utf8')).toBe('Shipment,Stop\nBPL-88104217,1\nBPL-88104217,2\n');
    const x12 = caseFile('x12.yaml', `${original}expect:\n  output: expected/x12.edi\n`);
    expect(await runOne(x12, true)).toMatchObject({ ok: true, diffs: [] });
    expect(readFileSync(join(granite, 'tests/expected/x12.edi'), 'utf8')).toBe(readFileSync(join(granite, 'tests/expected/204-original.edi'), 'utf8'));
  });

  it('a bad format is TEST_CASE_INVALID at its value, with a did-you-mean; so is a format the partner has no route for', async () => {
    const typo = caseFile('typo.yaml', `${original}format: cvs\nexpect:\n  output: expected/typo.csv\n`);
    expect((await runOne(typo)).diffs).toEqual([`${typo}:3:9 TEST_CASE_INVALID 'cvs' is not one of x12, csv, xml (at format) (did you mean 'csv'?)`]);
    const xml = caseFile('xml.yaml', `${original}format: xml\nexpect:\n  output: expected/xml.xml\n`);
    expect((await runOne(xml)).diffs).toEqual([`${xml}:3:9 TEST_CASE_INVALID partner 'granite-ridge' has no xml outbound mapping for load.tender@1 (it has x12, csv): use one of those, or add the route to partner.yaml`]);
  });

  it('format on an inbound case is TEST_CASE_INVALID at the key', async () => {
    const inbound = caseFile('inbound.yaml', 'input: ../samples/214-delivered-BPL-88104301.edi\nformat: x12\nexpect:\n  events: []\n');
    expect((await runOne(inbound)).diffs).toEqual([`${inbound}:2:1 TEST_CASE_INVALID 'format' chooses the outbound route of a 'command' case; an 'input' case reads its format from the sample: remove it`]);
  });

  // now: is every inbound event's receivedAt: a bad one was not reported, and every unit then failed
  // with MAP_CANONICAL_INVALID.
  it('a now that is not an ISO timestamp is TEST_CASE_INVALID at its value', async () => {
    const file = caseFile('now.yaml', 'input: ../samples/214-delivered-BPL-88104301.edi\nnow: yesterday\nexpect:\n  events: []\n');
    const r = await runOne(file);
    expect(r.ok).toBe(false);
    expect(r.diffs).toEqual([`${file}:2:6 TEST_CASE_INVALID now: must be an ISO 8601 timestamp with seconds and a UTC offset, e.g. "2024-03-05T14:30:00-05:00"`]);
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
