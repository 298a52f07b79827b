// An unknown key in partner.yaml's x12 block is reported, and does not hide the block's own checks
// (delimiters, version): loadPartner reads the rest of the block past the unknown key.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/mappings/diagnostics.js';
import { loadPartner } from '../../src/mappings/partner-config.js';

const root = mkdtempSync(join(tmpdir(), 'wb-partner-x12-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function load(name: string, x12: string) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'partner.yaml'), `id: ${name}
name: X12 Block
x12:
${x12}`);
  const loaded = loadPartner(dir);
  return { ...loaded, lines: loaded.diagnostics.map((d) => formatDiagnostic({ ...d, file: 'partner.yaml' })) };
}

describe('partner.yaml x12 block with an unknown key', () => {
  it('reports the unknown key and the delimiter conflict of the same block', () => {
    const { lines } = load('conflict', `  isa: { qualifier: "02", id: CONF }
  verison: "005010"
  delimiters: { element: "*", component: "*" }
`);
    expect(lines).toEqual([
      "partner.yaml:5:3 PARTNER_CONFIG_INVALID unknown key 'verison'; allowed here: isa, aliases, gs, version, usage, delimiters (did you mean 'version'?)",
      'partner.yaml:6:15 PARTNER_CONFIG_INVALID x12 delimiters must be distinct, and none may be a letter, digit or space',
    ]);
  });

  it('an unknown key inside delimiters does not hide the version checks either', () => {
    const { lines, config } = load('repetition', `  isa: { qualifier: "02", id: REPT }
  version: "005010"
  delimiters: { element: "*", component: ">", segmentt: "~" }
`);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^partner\.yaml:6:47 PARTNER_CONFIG_INVALID unknown key 'segmentt'; .* \(did you mean 'segment'\?\)$/);
    expect(lines[1]).toMatch(/^partner\.yaml:6:15 PARTNER_CONFIG_INVALID version 005010 writes a repetition separator in ISA11/);
    // The best-effort config keeps the block (what the mappings are checked against), without the key.
    expect(config?.x12).toMatchObject({ version: '005010', delimiters: { element: '*', component: '>', segment: '~' } });
  });

  it('a block wrong in other ways than unknown keys is still left out (its values cannot be trusted)', () => {
    const { config, lines } = load('bad-isa', `  isa: { qualifier: "2", id: BADI }
  extra: 1
  delimiters: { element: "*", component: "*" }
`);
    expect(config?.x12).toBeUndefined();
    expect(lines.every((l) => !l.includes('delimiters must be distinct'))).toBe(true);
  });

  it('a clean block gives no diagnostics', () => {
    expect(load('clean', `  isa: { qualifier: "02", id: CLEAN }
  delimiters: { element: "*", component: ">" }
`).lines).toEqual([]);
  });
});
