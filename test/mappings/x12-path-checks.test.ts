// Compile-time checks of X12 paths against the transaction-set schema that go past the segment and the
// element number: components (only on a composite, within its components), repetitions (only on a
// repeatable element, within its repeats, and never in 004010), filter values on elements without a closed
// code list (type and length), what a path out of range suggests, and why a step does not parse.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adapterForDocument } from '../../src/mappings/adapters.js';
import { formatDiagnostic } from '../../src/mappings/diagnostics.js';
import { compilePartner } from '../../src/mappings/registry.js';

type Checked = { ok: true } | { code: string; error: string; suggestion?: string };

/** What compiling `text` as a value (or loop) path of `set` in `version` gives. */
function check(set: string, version: string, text: string, kind: 'value' | 'loop' = 'value'): Checked {
  const a = adapterForDocument(`x12/${set}`, version);
  const r = kind === 'value' ? a.valuePath(text) : a.loopPath(text);
  return 'error' in r ? { code: r.code, error: r.error, ...(r.suggestion !== undefined && { suggestion: r.suggestion }) } : { ok: true };
}

describe('components', () => {
  it('a component of a composite within its components passes, in a filter too', () => {
    expect(check('997', '004010', 'AK4.01.2')).toEqual({ ok: true });
    expect(check('999', '005010', 'IK4.01.3')).toEqual({ ok: true });
    expect(check('997', '004010', 'AK4[01.2=12].02')).toEqual({ ok: true });
  });

  it('a component index on a simple element is MAP_ELEMENT_OUT_OF_RANGE, suggesting the element itself', () => {
    expect(check('214', '004010', 'B10.03.2')).toEqual({
      code: 'MAP_ELEMENT_OUT_OF_RANGE',
      error: 'B1003 is a simple element in 004010, not a composite: it has no component 2',
      suggestion: 'B10.03',
    });
    // `.1` reads the same as no component at all, but says something that is not so: flagged too.
    expect(check('214', '004010', 'LX/AT7.01.1')).toMatchObject({ code: 'MAP_ELEMENT_OUT_OF_RANGE', suggestion: 'LX/AT7.01' });
    expect(check('214', '004010', 'L11[02.1=BM].01')).toMatchObject({
      code: 'MAP_ELEMENT_OUT_OF_RANGE', error: expect.stringMatching(/^L1102 is a simple element/), suggestion: 'L11[02=BM].01',
    });
  });

  it('a component past the composite\'s last is MAP_ELEMENT_OUT_OF_RANGE, naming the range', () => {
    expect(check('997', '004010', 'AK4.01.3')).toEqual({
      code: 'MAP_ELEMENT_OUT_OF_RANGE',
      error: 'AK401 (composite C030) has 2 components in 004010 (AK4.01.1 to AK4.01.2); there is no component 3',
      suggestion: 'AK4.01.2',
    });
    // The 005010 C030 has a third component.
    expect(check('997', '005010', 'AK4.01.3')).toEqual({ ok: true });
    expect(check('997', '004010', 'AK4[01.5=1].02')).toMatchObject({ code: 'MAP_ELEMENT_OUT_OF_RANGE', suggestion: 'AK4[01.2=1].02' });
  });
});

describe('repetitions', () => {
  it('a repetition of a repeatable element within its repeats passes (5010)', () => {
    expect(check('999', '005010', 'CTX.01#2')).toEqual({ ok: true });
    expect(check('999', '005010', 'CTX.01.1#10')).toEqual({ ok: true });
  });

  it('a repetition on an element that does not repeat is MAP_REPETITION_INVALID', () => {
    expect(check('999', '005010', 'CTX.02#2')).toEqual({
      code: 'MAP_REPETITION_INVALID',
      error: 'CTX02 is not a repeatable element in 005010: it has no repetition #2',
      suggestion: 'CTX.02',
    });
    expect(check('214', '005010', 'B10.01#1')).toMatchObject({ code: 'MAP_REPETITION_INVALID', suggestion: 'B10.01' });
  });

  it('past the maximum number of repeats, it suggests the last', () => {
    expect(check('999', '005010', 'CTX.01#11')).toEqual({
      code: 'MAP_REPETITION_INVALID', error: 'CTX01 repeats at most 10 times; there is no repetition #11', suggestion: 'CTX.01#10',
    });
  });

  it('004010 has no repetition separator: any #N is MAP_REPETITION_INVALID', () => {
    // A 999 in a 004010 group is read with the 005010 layout, where CTX01 repeats: the version is what forbids it.
    expect(check('999', '004010', 'CTX.01#2')).toMatchObject({
      code: 'MAP_REPETITION_INVALID', error: expect.stringMatching(/^version 004010 has no repetition separator/), suggestion: 'CTX.01',
    });
    expect(check('214', '004010', 'B10.01#3')).toMatchObject({
      code: 'MAP_REPETITION_INVALID', error: 'B1001 is not a repeatable element in 004010 (and 004010 has no repetition separator): it has no repetition #3',
    });
  });
});

describe('filter values on elements without a closed code list', () => {
  it('a value longer (or shorter) than the element allows is MAP_QUALIFIER_NEVER_FITS', () => {
    // N901 (128) is ID, 2-3 characters, with an open code list.
    expect(check('990', '004010', 'N9[01=ZZZZ].02')).toEqual({
      code: 'MAP_QUALIFIER_NEVER_FITS',
      error: "'ZZZZ' never fits N901 in 004010 (ID, 2 to 3 characters; it has 4), so the filter never matches",
    });
    expect(check('990', '004010', 'N9[01=Z].02')).toMatchObject({ code: 'MAP_QUALIFIER_NEVER_FITS' });
    expect(check('990', '004010', 'N9[01=CN|ZZZZ].02')).toMatchObject({ code: 'MAP_QUALIFIER_NEVER_FITS', error: expect.stringMatching(/^'ZZZZ'/) });
    expect(check('214', '004010', 'L11[02=BM|PO|ZZ].01')).toEqual({ ok: true });
  });

  it('a value of the wrong type is MAP_QUALIFIER_NEVER_FITS', () => {
    // AK401-2 (1528) is N0; G6202 a date; G6204 a time.
    expect(check('997', '004010', 'AK4[01.2=X].02')).toEqual({
      code: 'MAP_QUALIFIER_NEVER_FITS', error: "'X' never fits AK401-2 in 004010 (N0: a whole number), so the filter never matches",
    });
    expect(check('214', '004010', 'G62[02=20241340].03')).toMatchObject({ code: 'MAP_QUALIFIER_NEVER_FITS', error: expect.stringContaining('not a real date') });
    expect(check('214', '004010', 'G62[02=20240229].03')).toEqual({ ok: true });
    expect(check('214', '004010', 'G62[04=2599].03')).toMatchObject({ code: 'MAP_QUALIFIER_NEVER_FITS', error: expect.stringContaining('not a real time') });
    expect(check('214', '004010', 'G62[04=1430].03')).toEqual({ ok: true });
  });

  it('an empty value (a segment without the element) is left alone; closed lists keep their own code', () => {
    expect(check('990', '004010', 'N9[01=].02')).toEqual({ ok: true });
    expect(check('214', '004010', 'AT7[01=Q9].02')).toMatchObject({ code: 'MAP_QUALIFIER_NEVER_VALID', suggestion: 'A9' });
  });
});

describe('elements out of range', () => {
  it("say the segment's range and suggest the one position a slipped digit away, else the last", () => {
    expect(check('214', '004010', 'B10.15')).toEqual({
      code: 'MAP_ELEMENT_OUT_OF_RANGE',
      error: 'B10 has 7 elements in 004010 (B10.01 to B10.07); there is no element 15',
      suggestion: 'B10.05',
    });
    expect(check('214', '004010', 'B10.10')).toMatchObject({ suggestion: 'B10.01' }); // swapped digits
    expect(check('214', '004010', 'LX/AT7.09')).toMatchObject({ suggestion: 'LX/AT7.07' }); // 01-07 are all one digit away: the last
    expect(check('214', '004010', '/N1[01=SH]/N4.09')).toMatchObject({ code: 'MAP_ELEMENT_OUT_OF_RANGE', suggestion: '/N1[01=SH]/N4.06' }); // N4 has 6
  });

  it('an element that another version of the segment has points at the version, not at another number', () => {
    const r = check('214', '004010', 'B10.08');
    expect(r).toEqual({
      code: 'MAP_ELEMENT_OUT_OF_RANGE',
      error: 'B10 has 7 elements in 004010 (B10.01 to B10.07); there is no element 08; B1008 exists in 004030 and 005010 (give the mapping version: "005010" if the partner sends that)',
    });
  });

  it('a filter element out of range gets the same message and suggestion', () => {
    expect(check('214', '004010', 'N1[09=SH]/N4.01')).toMatchObject({
      code: 'MAP_ELEMENT_OUT_OF_RANGE', error: expect.stringMatching(/^N1 has 6 elements in 004010 \(N1\.01 to N1\.06\); there is no element 09/),
    });
  });
});

describe('steps that do not parse say why (MAP_BAD_PATH)', () => {
  it('a segment id that is no segment id, with the closest segment of the set', () => {
    expect(check('214', '004010', 'LX/AT77', 'loop')).toEqual({
      code: 'MAP_BAD_PATH',
      error: "bad path 'LX/AT77': 'AT77' is not a path step: segment ids are 2 or 3 characters: 'AT77' is not one",
      suggestion: 'LX/AT7',
    });
    expect(check('214', '004010', 'LX/AT77.05')).toMatchObject({ code: 'MAP_BAD_PATH', suggestion: 'LX/AT7.05' });
    expect(check('214', '004010', 'lx/AT7', 'loop')).toMatchObject({ error: expect.stringContaining("segment ids are upper case: 'lx' is not one"), suggestion: 'LX/AT7' });
    expect(check('214', '004010', '1B0.01')).toMatchObject({ error: expect.stringContaining('segment ids start with a letter'), suggestion: 'B10.01' });
    // Only a suggestion that passes every check itself: there is no AT7.09.
    expect(check('214', '004010', 'AT77.09')).toMatchObject({ code: 'MAP_BAD_PATH' });
    expect(check('214', '004010', 'AT77.09')).not.toHaveProperty('suggestion');
  });

  it('element, component, repetition and filter mistakes name the part at fault', () => {
    const why = (text: string) => (check('214', '004010', text) as { error: string }).error.replace(/^bad path '[^']*': '[^']*' is not a path step: /, '');
    expect(why('B10.001')).toBe("element numbers have 1 or 2 digits, not '001'");
    expect(why('B10-01')).toBe("'-01' cannot follow B10: an element is .NN (e.g. B10.01)");
    expect(why('B10.01#')).toBe("a repetition number follows the '#' (e.g. B10.01#2)");
    expect(why('N1[01=SH/N4.01')).toBe("the filter '[01=SH' has no closing ']' (a filter value cannot hold '/' or ']')");
    expect(why('N1[SH]/N4.01')).toMatch(/^a filter is \[NN=VALUE\] or \[NN\.N=VALUE\]/);
    expect(why('LX//AT7.01')).toMatch(/^a step is empty/);
  });
});

describe('in a partner folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'wb-x12-path-checks-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('each problem is a diagnostic at the path, with its code and did-you-mean', () => {
    const dir = join(root, 'paths');
    mkdirSync(join(dir, 'mappings'), { recursive: true });
    writeFileSync(join(dir, 'partner.yaml'), `id: paths
name: Path Checks
x12:
  isa: { qualifier: "02", id: PATHS }
inbound:
  - document: x12/214
    mapping: mappings/in.yaml
`);
    writeFileSync(join(dir, 'mappings', 'in.yaml'), `source: x12/214
target: shipment.status@1
foreach: LX/AT77
fields:
  occurredAt: { const: "2024-01-01T00:00:00Z" }
  status.milestone: { const: delivered }
  references.proNumber: B10.03.2
  references.bolNumber: "L11[02=BMXX].01"
  carrierScac: B10.01#2
`);
    const lines = compilePartner(dir).diagnostics.map((d) => formatDiagnostic({ ...d, file: 'in.yaml' }));
    expect(lines).toEqual([
      "in.yaml:3:10 MAP_BAD_PATH bad path 'LX/AT77': 'AT77' is not a path step: segment ids are 2 or 3 characters: 'AT77' is not one (did you mean 'LX/AT7'?)",
      "in.yaml:7:25 MAP_ELEMENT_OUT_OF_RANGE B1003 is a simple element in 004010, not a composite: it has no component 2 (did you mean 'B10.03'?)",
      "in.yaml:8:25 MAP_QUALIFIER_NEVER_FITS 'BMXX' never fits L1102 in 004010 (ID, 2 to 3 characters; it has 4), so the filter never matches",
      "in.yaml:9:16 MAP_REPETITION_INVALID B1001 is not a repeatable element in 004010 (and 004010 has no repetition separator): it has no repetition #2 (did you mean 'B10.01'?)",
    ]);
  });
});

describe('a loop path whose last step is a segment a transaction has once', () => {
  // `foreach: B10` compiled, and made one event of a 214 with six statuses (the first AT7's): the last step
  // may be a repeated segment (each L1), not one of the transaction's own once-only segments.
  it('is MAP_NOT_A_LOOP, naming where loops start', () => {
    for (const [set, version, path] of [['214', '004010', 'B10'], ['214', '004010', '/B10'], ['210', '004010', 'B3'], ['990', '005010', 'B1']]) {
      expect(check(set, version, path, 'loop')).toMatchObject({ code: 'MAP_NOT_A_LOOP', error: expect.stringMatching(new RegExp(`^${path.replace('/', '')} neither starts a loop nor repeats in ${set}: a transaction has it once`)) });
    }
  });

  it('a repeated segment, a segment inside a loop, and a loop still pass', () => {
    expect(check('210', '004010', 'LX/L1', 'loop')).toEqual({ ok: true });
    expect(check('214', '004010', 'MS2', 'loop')).toEqual({ ok: true });
    expect(check('214', '004010', 'L11', 'loop')).toEqual({ ok: true });
    expect(check('214', '004010', 'LX/AT7', 'loop')).toEqual({ ok: true });
    expect(check('214', '004010', '/N1', 'loop')).toEqual({ ok: true });
  });
});

describe("'./' paths are checked like any other", () => {
  it('a bad segment keeps the prefix in its suggestion; a segment the set lacks is still named', () => {
    expect(check('210', '004010', './n1', 'loop')).toMatchObject({ code: 'MAP_BAD_PATH', suggestion: './N1' });
    expect(check('210', '004010', './N1/N4.01')).toEqual({ ok: true });
    expect(check('210', '004010', './AT7.01')).toMatchObject({ code: 'MAP_SEGMENT_NOT_IN_SET' });
    expect(check('210', '004010', './B3', 'loop')).toMatchObject({ code: 'MAP_NOT_A_LOOP' });
    expect(check('210', '004010', './N1[01=SH]/N3.09')).toMatchObject({ code: 'MAP_ELEMENT_OUT_OF_RANGE', suggestion: './N1[01=SH]/N3.02' });
  });
});
