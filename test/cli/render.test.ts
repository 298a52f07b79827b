// `waybill render` at its edges: --control is checked before it reaches the X12 writer (a usage error,
// exit 2), and a command that is not a valid canonical command is invalid data (exit 1), reported as one
// CLI_COMMAND_INVALID line per problem with its path.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT, repoRoot, waybill } from '../helpers/cli.js';

const partners = join(repoRoot, 'partners');
const tender = join(partners, 'granite-ridge/samples/204-original-BPL-88104217.json');
const render = (file: string, ...more: string[]) => waybill(['render', file, '--partner', 'granite-ridge', '--partners', partners, ...more]);
const dir = mkdtempSync(join(tmpdir(), 'wb-render-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function commandFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The control numbers of a rendered X12 document: ISA13, GS06, ST02. */
function controlsOf(x12: string): string[] {
  const [isa, gs, st] = x12.split('\n').map((line) => line.split('|'));
  return [isa[13], gs[6], st[2]];
}

describe('waybill render --control', () => {
  it('numbers ISA13, GS06 and ST02 from a valid start, up to the 9-digit maximum', async () => {
    const r = await render(tender, '--control', '42');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(controlsOf(r.stdout)).toEqual(['000000042', '42', '0042']);
    const top = await render(tender, '--control', '999999999');
    expect(top.status).toBe(0);
    expect(controlsOf(top.stdout)).toEqual(['999999999', '999999999', '999999999']);
    // --frozen fixes them: a --control beside it is a usage error rather than silently ignored.
    const both = await render(tender, '--frozen', '--control', '55');
    expect(both.status).toBe(2);
    expect(both.stderr).toBe('waybill: CLI_USAGE: --frozen fixes the control numbers (1, 1, 0001): give --control without --frozen\n');
  }, CLI_TEST_TIMEOUT);

  // Before the check: 'abc' reached the writer as NaN (X12_WRITE_VALUE_INVALID, exit 1) and 0 was
  // written as ISA13 000000000 / ST02 0000.
  it.each(['abc', '0', '1000000000', '1e3', '5.0', '-1'])("refuses '%s' as a usage error (exit 2) before rendering", async (value) => {
    const r = await render(tender, `--control=${value}`);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`waybill: CLI_USAGE: --control takes a whole number from 1 to 999999999 (ISA13 has 9 digits), not '${value}'\n`);
  }, CLI_TEST_TIMEOUT);
});

const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('waybill render with an invalid command', () => {
  it('refuses keys the command type does not know (zod would drop them and render without them), with a did-you-mean', async () => {
    const command = JSON.parse(readFileSync(tender, 'utf8')) as Record<string, unknown> & { stops: Record<string, unknown>[] };
    const { equipment, ...rest } = command;
    rest.stops[1].apointment = { window: 'tomorrow' };
    const text = JSON.stringify({ ...rest, equipmnt: equipment, zz: 1 }, null, 2);
    const file = commandFile('misspelt.json', text);
    // Each unknown key at its own line and column (the key's opening quote), as an editor shows it.
    const at = (key: string) => {
      const lines = text.split('\n');
      const line = lines.findIndex((l) => l.includes(`"${key}":`));
      return `${line + 1}:${lines[line].indexOf(`"${key}":`) + 1}`;
    };
    const r = await render(file);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `waybill: CLI_COMMAND_INVALID: ${file}:${at('apointment')}: stops[1].apointment: is not a key of load.tender@1 (did you mean 'appointment'?)`,
      `waybill: CLI_COMMAND_INVALID: ${file}:${at('equipmnt')}: equipmnt: is not a key of load.tender@1 (did you mean 'equipment'?)`,
      expect.stringContaining(`waybill: CLI_COMMAND_INVALID: ${file}:${at('zz')}: zz: is not a key of load.tender@1; known here: kind, id, type, partner, `),
    ]);
  }, CLI_TEST_TIMEOUT);

  // Before: the unknown keys were sought only in a command its schema accepted, so a misspelt required key
  // was only "carrierScac: is required", the key that was meant for it never named.
  it('names the keys its type does not know also when the schema refuses the command (a misspelt required key)', async () => {
    const { carrierScac, ...rest } = JSON.parse(readFileSync(tender, 'utf8')) as Record<string, unknown>;
    const file = commandFile('carier.json', JSON.stringify({ ...rest, carierScac: carrierScac }));
    const r = await render(file);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      // A missing key is placed at the object it is missing from (here the command: 1:1).
      `waybill: CLI_COMMAND_INVALID: ${file}:1:1: carrierScac: is required (expected string)`,
      expect.stringMatching(new RegExp(`^waybill: CLI_COMMAND_INVALID: ${escapeRe(file)}:1:\\d+: carierScac: is not a key of load\\.tender@1 \\(did you mean 'carrierScac'\\?\\)$`)),
    ]);
  }, CLI_TEST_TIMEOUT);

  it('a value the output cannot carry: its code, where in the command it is, and the mapping line; exit 1', async () => {
    const command = JSON.parse(readFileSync(tender, 'utf8')) as { stops: { party: { name: string } }[] };
    command.stops[1].party.name = 'A|B';
    const r = await render(commandFile('pipe.json', JSON.stringify(command)), '--frozen');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^waybill: MAP_DELIMITER_IN_DATA: N102: "A\|B" contains the partner's element delimiter "\|", which X12 cannot carry in data at \/stops\/1 of the command \(mapping \S+204-tender\.yaml:\d+:\d+\)\n$/);
  }, CLI_TEST_TIMEOUT);

  it('says an event is not a command (it said: no outbound mapping for its type)', async () => {
    const event = join(repoRoot, 'test/canonical/fixtures/shipment.status@1/x12-214-delayed-weather.json');
    const r = await render(event);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^waybill: CLI_COMMAND_INVALID: ${escapeRe(event)}:\\d+:\\d+: kind: this is shipment\\.status@1 'event', not a command; `));
    expect(r.stderr).toContain('waybill render takes a command (kind "command"): freight.invoice@1, load.tender@1\n');
  }, CLI_TEST_TIMEOUT);

  it('prints one CLI_COMMAND_INVALID line per schema problem, with its path, and exits 1', async () => {
    const file = commandFile('no-stops.json', JSON.stringify({ type: 'load.tender@1', kind: 'command', stops: 'none' }));
    const r = await render(file);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line).toMatch(new RegExp(`^waybill: CLI_COMMAND_INVALID: ${escapeRe(file)}:1:\\d+: \\S+: .+$`));
    expect(lines).toContain(`waybill: CLI_COMMAND_INVALID: ${file}:1:1: id: is required (expected string)`);
    // A wrong value is placed at the value: "none" starts at column 50 of the one line.
    expect(lines.some((l) => l.startsWith(`waybill: CLI_COMMAND_INVALID: ${file}:1:50: stops: `))).toBe(true);
    expect(r.stderr).not.toContain('CLI_USAGE');
  }, CLI_TEST_TIMEOUT);

  it('reports an unknown type at `type` (it used to crash with an internal error) and text that is not JSON at (root)', async () => {
    const unknown = await render(commandFile('unknown.json', '{ "type": "pickup.request@1" }'));
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^waybill: CLI_COMMAND_INVALID: \S+unknown\.json:1:11: type: unknown type "pickup\.request@1"; one of .*load\.tender@1/);
    expect(unknown.stderr.trimEnd().split('\n')).toHaveLength(1);
    const notJson = await render(commandFile('not-json.json', '{\n  "type": "load.tender@1",\n}\n'));
    expect(notJson.status).toBe(1);
    expect(notJson.stderr).toMatch(/^waybill: CLI_COMMAND_INVALID: \S+not-json\.json:3:1: not valid JSON: /);
    // A command addressed to another partner is not rendered for this one.
    const other = await render(commandFile('other.json', JSON.stringify({ ...JSON.parse(readFileSync(tender, 'utf8')), partner: 'prairie-line' })));
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/^waybill: CLI_COMMAND_INVALID: \S+other\.json:1:\d+: partner: the command is for 'prairie-line', not 'granite-ridge' \(--partner\)\n$/);
    // A JSON string is parsed as JSON, not parsed again as a command's text.
    const str = await render(commandFile('string.json', '"x"'));
    expect(str.status).toBe(1);
    expect(str.stderr).toMatch(/^waybill: CLI_COMMAND_INVALID: \S+string\.json:1:1: \(root\): expected a JSON object \(a command\), found a string\n$/);
    // A UTF-8 byte order mark (Windows editors) is not an error.
    const bom = await render(commandFile('bom.json', `\ufeff${readFileSync(tender, 'utf8')}`), '--frozen');
    expect(bom.status).toBe(0);
    expect(bom.stdout).toMatch(/^ISA\|/);
  }, CLI_TEST_TIMEOUT);
});
