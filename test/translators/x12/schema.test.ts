// The schema data files and their compilation: every schema loads, version mapping, structure sanity.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  getSchema, resolveSchemaVersion, schemaForTransaction, supportedSchemas, type CompiledLoop, type SchemaVersion,
} from '../../../src/translators/x12/schema.js';
import type { TransactionSet } from '../../../src/translators/x12/model.js';

const schemaDir = new URL('../../../src/translators/x12/schemas/', import.meta.url);

describe('version mapping', () => {
  const cases: [string | null, string | null, SchemaVersion | null][] = [
    ['004010', null, '004010'], ['004010VICS', '00401', '004010'], ['004010UCS', null, '004010'], ['4010', null, '004010'],
    ['004020', null, '004030'], ['004030', null, '004030'], ['004050', null, '004030'], ['004060', null, '004030'],
    ['005010', null, '005010'], ['005010X231A1', '00501', '005010'], ['005010X230', null, '005010'], ['005050', null, '005010'],
    ['004010', '00204', '004010'], ['004010', '00501', '004010'],
    [null, '00400', '004010'], [null, '00401', '004010'], [null, '00403', '004030'], [null, '00501', '005010'],
    ['', '00401', '004010'], ['GARBAGE', '00501', '005010'],
    ['003040', '00304', null], ['006020', null, null], ['007030', '00501', null], [null, null, null], [null, '00204', null],
  ];
  for (const [gs08, isa12, want] of cases) {
    it(`GS08 ${JSON.stringify(gs08)} / ISA12 ${JSON.stringify(isa12)} -> ${want}`, () => {
      expect(resolveSchemaVersion(gs08, isa12)).toBe(want);
    });
  }
});

describe('schemaForTransaction', () => {
  // It remembers its last answer by the identity of the group and interchange headers (sets of one group
  // ask in a row): the answer must still follow each transaction's own headers and set id.
  const tx = (setId: string, group: unknown, interchange: unknown) => ({ setId, group, interchange }) as unknown as TransactionSet;
  it('follows each set id, group and interchange, asked in any order', () => {
    const g4010 = { version: '004010' };
    const g5010 = { version: '005010X231A1' };
    const i401 = { version: '00401' };
    const i501 = { version: '00501' };
    const asks: [TransactionSet, SchemaVersion | null, string][] = [
      [tx('214', g4010, i401), '004010', '214'], [tx('214', g4010, i401), '004010', '214'], [tx('210', g4010, i401), '004010', '210'],
      [tx('214', g5010, i501), '005010', '214'], [tx('214', null, i501), '005010', '214'], [tx('214', null, i401), '004010', '214'],
      [tx('214', { version: '004010' }, i501), '004010', '214'], [tx('999', null, { version: '00204' }), null, '999'],
      [tx('214', g4010, i401), '004010', '214'],
    ];
    for (const [t, version, setId] of asks) {
      const s = schemaForTransaction(t);
      expect(s ? [s.version, s.setId] : null).toEqual(version ? [version, setId] : null);
    }
    // An explicit version wins over the envelope, and is not what the next envelope question gets.
    expect(schemaForTransaction(tx('214', g4010, i401), '005010')?.version).toBe('005010');
    expect(schemaForTransaction(tx('214', g4010, i401))?.version).toBe('004010');
  });
});

describe('schema data', () => {
  it('every set and version of the brief has a schema, and all compile', () => {
    const pairs = supportedSchemas().map((p) => `${p.setId}.${p.version}`);
    for (const want of ['204.004010', '210.004010', '214.004010', '990.004010', '997.004010',
      '204.005010', '210.005010', '214.005010', '990.005010', '997.005010', '999.005010',
      '204.004030', '210.004030', '214.004030', '990.004030', '997.004030']) {
      expect(pairs).toContain(want);
    }
    for (const { setId, version } of supportedSchemas()) {
      const s = getSchema(setId, version);
      expect(s, `${setId} ${version}`).not.toBeNull();
      expect(s?.setId).toBe(setId);
    }
  });

  it('sets without a schema return null; schemas are cached', () => {
    expect(getSchema('850', '004010')).toBeNull();
    expect(getSchema('856', '005010')).toBeNull();
    expect(getSchema('214', '004010')).toBe(getSchema('214', '004010'));
  });

  it('structures: ST first, SE last, every loop opens with a mandatory trigger, repeat limits sane', () => {
    const walk = (loop: CompiledLoop, path: string) => {
      const trig = loop.children[0];
      if (loop.id !== null) {
        expect(trig.segment, `${path} trigger`).not.toBeNull();
        expect(trig.min, `${path} trigger min`).toBe(1);
        expect(trig.max, `${path} trigger max`).toBe(1);
      }
      for (const c of loop.children) {
        expect(c.max, `${path}/${c.segmentId}`).toBeGreaterThanOrEqual(Math.max(1, c.min));
        if (c.loop) walk(c.loop, `${path}/${c.loop.id}`);
      }
    };
    for (const { setId, version } of supportedSchemas()) {
      const s = getSchema(setId, version);
      if (!s) throw new Error('no schema');
      const ch = s.root.children;
      expect(ch[0].segmentId).toBe('ST');
      expect(ch[ch.length - 1].segmentId).toBe('SE');
      walk(s.root, `${setId}.${version}`);
    }
  });

  it('loop ids the acknowledgments report', () => {
    const ids = (setId: string, version: SchemaVersion) => {
      const out: string[] = [];
      const walk = (l: CompiledLoop) => { for (const c of l.children) if (c.loop) { out.push(`${c.loop.id}:${c.segmentId}`); walk(c.loop); } };
      const s = getSchema(setId, version);
      if (s) walk(s.root);
      return out;
    };
    expect(ids('999', '005010')).toEqual(['2000:AK2', '2100:IK3', '2110:IK4']);
    expect(ids('997', '004010')).toEqual(['2000:AK2', '2100:AK3']);
    expect(ids('204', '004010')).toEqual(['0100:N1', '0200:N7', '0300:S5', '0310:N1', '0320:L5', '0325:G61', '0330:LH1', '0350:OID', '0360:L5', '0365:G61', '0370:LH1', '0380:N7']);
    expect(ids('214', '004010').slice(0, 3)).toEqual(['0100:N1', '0200:LX', '0205:AT7']);
    expect(ids('990', '004010')).toEqual(['0100:S5']);
    expect(ids('990', '005010')).toEqual([]);
  });

  it('data files are valid JSON, documented, and the closed code lists hold the acknowledgment codes', () => {
    const files = readdirSync(schemaDir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const f of files) expect(() => JSON.parse(readFileSync(new URL(f, schemaDir), 'utf8')), f).not.toThrow();
    expect(readFileSync(new URL('README.md', schemaDir), 'utf8')).toContain('lenientEntry');
    const el4010 = JSON.parse(readFileSync(new URL('elements.004010.json', schemaDir), 'utf8')).elements;
    expect(el4010['720'].codes).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect(el4010['720'].closed).toBe(true);
    expect(el4010['717'].codes).toEqual(['A', 'E', 'M', 'R', 'W', 'X']);
    expect(el4010['715'].codes).toContain('P');
    // codes of later releases are not in the 004010 lists: 723 12/13 (00402), 716 19 and 718 18 (005010)
    expect(el4010['723'].codes).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(el4010['716'].codes).not.toContain('19');
    expect(el4010['718'].codes).not.toContain('18');
    expect(el4010['558'].codes).toEqual(expect.arrayContaining(['A', 'D']));
    expect(el4010['1650'].codes).toEqual(expect.arrayContaining(['X3', 'AF', 'D1', 'CP', 'X1', 'AG', 'SD', 'CD', 'X6']));
    const el5010 = JSON.parse(readFileSync(new URL('elements.005010.json', schemaDir), 'utf8')).elements;
    expect(el5010['723'].codes).toEqual(expect.arrayContaining(['1', '10', '12', '13']));
    expect(el5010['716'].codes).toContain('19');
    expect(el5010['718'].codes).toContain('18');
    expect(el5010['620'].codes).toEqual(expect.arrayContaining(['1', '8', 'I4', 'I6', 'I7', 'I8', 'I9']));
    expect(el5010['621'].codes).toEqual(expect.arrayContaining(['1', '13', 'I6', 'I9', 'I10', 'I11', 'I12', 'I13']));
  });
});
