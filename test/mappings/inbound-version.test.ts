// An inbound X12 mapping may name the version the partner sends that document in (`version:`), when it
// is not partner.yaml's x12.version (what we send): its paths are then checked against that version.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compilePartner } from '../../src/mappings/registry.js';

const root = mkdtempSync(join(tmpdir(), 'wb-inbound-version-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A partner that receives 004010 from us and sends its 214s with `mappingTop` at the top of the mapping. */
function partnerWith(name: string, mappingTop: string, document = 'x12/214'): ReturnType<typeof compilePartner>['diagnostics'] {
  const dir = join(root, name);
  mkdirSync(join(dir, 'mappings'), { recursive: true });
  writeFileSync(join(dir, 'partner.yaml'), `id: ${name}
name: Version Test
timezone: America/Chicago
x12:
  isa: { qualifier: "02", id: ${name.toUpperCase().replace(/-/g, '')} }
  version: "004010"
inbound:
  - document: ${document}
    mapping: mappings/in.yaml
`);
  const fields = document === 'csv' ? 'carrierScac: SCAC' : 'carrierScac: B10.08'; // B10.08 exists in 005010 only
  writeFileSync(join(dir, 'mappings', 'in.yaml'), `source: ${document}
target: shipment.status@1
${mappingTop}fields:
  occurredAt: { const: "2024-01-01T00:00:00Z" }
  status.milestone: { const: delivered }
  references.proNumber: { const: "1" }
  ${fields}
`);
  return compilePartner(dir).diagnostics;
}

describe('inbound mapping version', () => {
  it("without it, paths are checked against partner.yaml's version: B10.08 is out of range in 004010", () => {
    expect(partnerWith('plain', '').map((d) => d.code)).toEqual(['MAP_ELEMENT_OUT_OF_RANGE']);
  });

  it('version: "005010" checks the same paths against 005010', () => {
    expect(partnerWith('v5010', 'version: "005010"\n')).toEqual([]);
  });

  it('an unknown version is MAP_VERSION_INVALID at its position, naming the versions there are', () => {
    const [d] = partnerWith('v4011', 'version: "004011"\n').filter((x) => x.code === 'MAP_VERSION_INVALID');
    expect(d).toMatchObject({ line: 3, column: 10, severity: 'error' });
    expect(d.message).toBe(`version '004011' is not an X12 version Waybill has a 214 schema for; use "004010" or "004030" or "005010"`);
    expect(d.suggestion).toBe('004010');
  });

  it('a version on a CSV mapping is MAP_VERSION_INVALID', () => {
    const codes = partnerWith('csvver', 'version: "005010"\n', 'csv').map((d) => d.code);
    expect(codes).toContain('MAP_VERSION_INVALID');
  });
});
