import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterForDocument } from '../../src/mappings/adapters.js';
import { canonicalTarget, canonicalTypes } from '../../src/mappings/canonical-target.js';
import { compileInbound } from '../../src/mappings/inbound.js';
import { evaluatePlan, MappingFailure, SpecCompiler, type SourceAdapter, type Value } from '../../src/mappings/spec.js';
import { CodeTables, sharedTables } from '../../src/mappings/tables.js';
import type { X12Context } from '../../src/mappings/x12-adapter.js';
import { evalLoops, parseX12Path } from '../../src/mappings/x12-path.js';
import { YamlSource } from '../../src/mappings/yaml-source.js';
import { interchange, STAR } from '../helpers/x12.js';
import { transactions } from './support.js';

// A hand-written 214. Lines: 1 ISA, 2 GS, 3 ST, then one segment per line from line 4.
const BODY = [
  'B10*PRO123*BOL9*SCAC', //          4
  'L11*PO-1*PO', //                   5
  'L11*PO-2*PO', //                   6
  'L11*BOL9*BM', //                   7
  'N1*SH*  Acme Shipping  *93*A1', // 8
  'N3*1 MAIN ST', //                  9
  'N4*CHICAGO*IL*60601*US', //        10
  'N1*CN*Big Box DC*93*B2', //        11
  'N3*9 DOCK RD*SUITE 4', //          12
  'N4*DALLAS*TX*75201*US', //         13
  'LX*1', //                          14
  'AT7*X1*NS***20250115*1430*CT', //  15
  'MS1*CHICAGO*IL*US', //             16
  'LX*2', //                          17
  'AT7*D1*A2***20250715*143015*LT', // 18
  'MS1****0873752*0414521*W*N', //    19
  'AT8*G*L*1820.5*3', //              20
  'LX*3', //                          21
  'AT7*Q1*ZZ***250228**XX', //        22  (Q1: not in the test table; XX: no such time code)
];
const X12 = interchange(STAR, [{ set: '214', control: '0001', body: BODY }]);

let dir: string;
let tables: CodeTables;
let root: X12Context;
let lx: X12Context[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'waybill-spec-'));
  writeFileSync(join(dir, 't-error.yaml'), 'unmapped: error\nvalues: { X1: arrived, D1: delivered }\n');
  writeFileSync(join(dir, 't-pass.yaml'), 'unmapped: pass-through\nvalues: { X1: arrived }\n');
  writeFileSync(join(dir, 't-default.yaml'), 'unmapped: error\ndefault: other\nvalues: { X1: arrived }\n');
  tables = sharedTables().tables.clone();
  expect(tables.loadDir(dir)).toEqual([]);
  const [t] = transactions(X12);
  root = t.ctx;
  lx = evalLoops(parseX12Path('LX/AT7', 'loop'), root.node, t.d).map((node) => ({ node, delimiters: t.d }));
  expect(lx).toHaveLength(3);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const adapter = () => adapterForDocument('x12/214', '004010') as SourceAdapter<X12Context>;

/** Compiles `fields:` of a YAML text (no canonical target: just the value specs). */
function compile(yaml: string) {
  const src = YamlSource.parse(yaml, 'map.yaml');
  expect(src.diagnostics).toEqual([]);
  const compiler = new SpecCompiler<X12Context>(src, adapter(), tables);
  const fields = compiler.compileFields((src.value as { fields: unknown }).fields, ['fields']);
  const plan = compiler.plan(fields);
  return {
    diagnostics: compiler.diagnostics,
    run: (ctx: X12Context, timezone = 'America/Chicago') => evaluatePlan(plan, ctx, { timezone }) ?? {},
  };
}

/** Compiles and evaluates one spec (`v: <spec>`) in a context. */
function value(spec: string, ctx: X12Context = root, timezone?: string): Value {
  const c = compile(`fields:\n  v: ${spec}\n`);
  expect(c.diagnostics).toEqual([]);
  return c.run(ctx, timezone).v;
}

function failure(spec: string, ctx: X12Context = root, timezone?: string): MappingFailure {
  try {
    value(spec, ctx, timezone);
  } catch (err) {
    expect(err).toBeInstanceOf(MappingFailure);
    return err as MappingFailure;
  }
  throw new Error(`${spec} did not fail`);
}

/** Where `needle` first occurs in `text` (1-based), independent of the compiler's own bookkeeping. */
function pos(text: string, needle: string): { line: number; column: number } {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`${needle} not in text`);
  const before = text.slice(0, i).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

describe('value spec kinds', () => {
  it('path (a string or { path }), with empty values absent', () => {
    expect(value('B10.01')).toBe('PRO123');
    expect(value('{ path: B10.02 }')).toBe('BOL9');
    expect(value('AT7.05', lx[0])).toBe('20250115');
    expect(value('AT7.03', lx[0])).toBeUndefined(); // empty element
    expect(value('AT8.01', lx[0])).toBeUndefined(); // no AT8 in this iteration
  });

  it('const', () => {
    expect(value('{ const: USD }')).toBe('USD');
    expect(value('{ const: 42 }')).toBe(42);
    expect(value('{ const: true }')).toBe(true);
  });

  it('first: the first spec with a value', () => {
    expect(value('{ first: ["L11[02=BM].01", B10.02] }')).toBe('BOL9');
    expect(value('{ first: [AT7.03, AT7.01] }', lx[1])).toBe('D1');
    expect(value('{ first: [AT7.03, AT7.04] }', lx[1])).toBeUndefined();
  });

  it('concat: non-empty values joined (default separator a space)', () => {
    expect(value('{ concat: [N3.01, N3.02], separator: ", " }', { ...root, node: evalLoops(parseX12Path('N1[01=CN]', 'loop'), root.node, root.delimiters)[0] }))
      .toBe('9 DOCK RD, SUITE 4');
    expect(value('{ concat: [B10.01, AT7.03, { const: X }] }', lx[0])).toBe('PRO123 X');
    expect(value('{ concat: [AT7.03, AT7.04] }', lx[0])).toBeUndefined();
  });

  it('concat with trim: each part trimmed, a blank one left out with its separator', () => {
    // N102 is '  Acme Shipping  ' (line 8).
    expect(value('{ concat: [N1.02, { const: "  " }, N1.04], separator: " - ", trim: true }')).toBe('Acme Shipping - A1');
    expect(value('{ concat: [{ const: "alpha " }, { const: "  " }], separator: " - ", trim: true }')).toBe('alpha');
    expect(value('{ concat: [{ const: " " }, { const: "  " }], trim: true }')).toBeUndefined();
  });

  it('list: the values of several specs, empty ones left out', () => {
    expect(value('{ list: [N3.01, N3.02] }', { ...root, node: evalLoops(parseX12Path('N1[01=CN]', 'loop'), root.node, root.delimiters)[0] }))
      .toEqual(['9 DOCK RD', 'SUITE 4']);
    expect(value('{ list: [B10.01, AT7.03, B10.03] }', lx[0])).toEqual(['PRO123', 'SCAC']);
    expect(value('{ list: [{ all: "L11[02=PO].01" }, B10.01] }')).toEqual(['PO-1', 'PO-2', 'PRO123']);
    expect(value('{ list: [AT7.03] }', lx[0])).toBeUndefined();
  });

  // README: "`B10.01` | element 1 of the first B10 in the current context". Taking the first *non-empty*
  // element among all N3s instead would give the consignee's SUITE 4 next to the shipper's street: values
  // from different segments mixed (the node-x12 CONCAT problem library-notes.md warns about).
  it('a path reads the first matching segment: N3.02 of the first N3 is absent', () => {
    expect(value('{ list: [N3.01, N3.02] }')).toEqual(['1 MAIN ST']);
  });

  it('all: every value at a path', () => {
    expect(value('{ all: "L11[02=PO].01" }')).toEqual(['PO-1', 'PO-2']);
    expect(value('{ all: /N1/N4.01 }', lx[2])).toEqual(['CHICAGO', 'DALLAS']);
    expect(value('{ all: "L11[02=CR].01" }')).toBeUndefined();
  });

  it('each with fields: one object per iteration', () => {
    expect(value('{ each: /N1, fields: { role: N1.01, name: { path: N1.02, trim: true }, address.city: N4.01, address.lines: { list: [N3.01, N3.02] } } }', lx[0]))
      .toEqual([
        { role: 'SH', name: 'Acme Shipping', address: { city: 'CHICAGO', lines: ['1 MAIN ST'] } },
        { role: 'CN', name: 'Big Box DC', address: { city: 'DALLAS', lines: ['9 DOCK RD', 'SUITE 4'] } },
      ]);
  });

  it('each with value: one value per iteration, absent ones dropped', () => {
    expect(value('{ each: LX/AT7, value: AT7.01 }')).toEqual(['X1', 'D1', 'Q1']);
    expect(value('{ each: LX/AT7, value: AT8.03 }')).toEqual(['1820.5']);
    expect(value('{ each: LX/AT7, value: AT7.03 }')).toBeUndefined();
  });

  describe('datetime', () => {
    it('uses the time code (CT in winter is -06:00, in summer -05:00)', () => {
      expect(value('{ datetime: { date: AT7.05, time: AT7.06, zone: AT7.07 } }', lx[0])).toBe('2025-01-15T14:30:00-06:00');
      expect(value('{ datetime: { date: { const: "20250715" }, time: { const: "1430" }, zone: { const: CT } } }')).toBe('2025-07-15T14:30:00-05:00');
    });

    it('LT and a missing time code mean the partner time zone, with its daylight saving', () => {
      expect(value('{ datetime: { date: AT7.05, time: AT7.06, zone: AT7.07 } }', lx[1], 'America/New_York')).toBe('2025-07-15T14:30:15-04:00');
      expect(value('{ datetime: { date: AT7.05, time: AT7.06, zone: AT7.07 } }', lx[1], 'Europe/Berlin')).toBe('2025-07-15T14:30:15+02:00');
      expect(value('{ datetime: { date: AT7.05, time: AT7.06 } }', lx[0], 'America/New_York')).toBe('2025-01-15T14:30:00-05:00');
      expect(value('{ datetime: { date: AT7.05, time: AT7.06 } }', lx[0], '-03:00')).toBe('2025-01-15T14:30:00-03:00');
    });

    it('fixed-offset and UTC codes, a missing time is midnight', () => {
      const dt = (zone: string, time = '"0800"') => value(`{ datetime: { date: { const: "20250715" }, time: { const: ${time} }, zone: { const: ${zone} } } }`);
      expect(dt('ES')).toBe('2025-07-15T08:00:00-05:00');
      expect(dt('PD')).toBe('2025-07-15T08:00:00-07:00');
      expect(dt('UT')).toBe('2025-07-15T08:00:00Z');
      expect(dt('ET')).toBe('2025-07-15T08:00:00-04:00');
      expect(value('{ datetime: { date: { const: "20250115" } } }', root, 'America/Chicago')).toBe('2025-01-15T00:00:00-06:00');
    });

    it('across the spring-forward change (2025-03-09 in Chicago)', () => {
      const at = (hhmm: string) => value(`{ datetime: { date: { const: "20250309" }, time: { const: "${hhmm}" }, zone: { const: CT } } }`);
      expect(at('0130')).toBe('2025-03-09T01:30:00-06:00');
      expect(at('0330')).toBe('2025-03-09T03:30:00-05:00');
      const fallBack = (hhmm: string) => value(`{ datetime: { date: { const: "20251102" }, time: { const: "${hhmm}" }, zone: { const: CT } } }`);
      expect(fallBack('0030')).toBe('2025-11-02T00:30:00-05:00');
      expect(fallBack('0300')).toBe('2025-11-02T03:00:00-06:00');
    });

    it('an unknown time code or a bad date fails with MAP_BAD_TIMEZONE / MAP_BAD_DATE', () => {
      const spec = '{ datetime: { date: AT7.05, zone: AT7.07 } }';
      const f = failure(spec, lx[2]);
      expect(f.code).toBe('MAP_BAD_TIMEZONE');
      expect(f.message).toBe("time code 'XX' is not in table x12-time-code");
      expect(f.source).toMatchObject({ line: 22, column: 'AT7*Q1*ZZ***250228**'.length + 1, what: 'AT7' }); // at AT707
      // The part that failed: the zone's own spec (it was the datetime's).
      expect(f.mapping).toEqual({ file: 'map.yaml', ...pos(`fields:\n  v: ${spec}\n`, 'AT7.07') });
      const bad = failure('{ datetime: { date: { const: "20250231" } } }');
      expect(bad.code).toBe('MAP_BAD_DATE');
      expect(bad.mapping).toEqual({ file: 'map.yaml', ...pos('fields:\n  v: { datetime: { date: { const: "20250231" } } }\n', '{ date:') });
      const time = '{ datetime: { date: { const: "20250215" }, time: { const: "2460" } } }';
      expect(failure(time).code).toBe('MAP_BAD_TIME');
      expect(failure(time).mapping).toEqual({ file: 'map.yaml', ...pos(`fields:\n  v: ${time}\n`, '{ const: "2460"') });
    });
  });

  it('date: CCYYMMDD and YYMMDD', () => {
    expect(value('{ date: AT7.05 }', lx[0])).toBe('2025-01-15');
    expect(value('{ date: AT7.05 }', lx[2])).toBe('2025-02-28'); // 250228
    expect(value('{ date: { const: "490101" } }')).toBe('2049-01-01');
    expect(value('{ date: { const: "500101" } }')).toBe('1950-01-01');
    expect(value('{ date: AT7.03 }', lx[0])).toBeUndefined();
    expect(failure('{ date: B10.01 }').code).toBe('MAP_BAD_DATE');
  });

  it('date, time and datetime with a partner layout (format)', () => {
    expect(value('{ date: { const: "05/12/2025" }, format: MM/DD/YYYY }')).toBe('2025-05-12');
    expect(value('{ date: { const: "5/2/25" }, format: M/D/YY }')).toBe('2025-05-02');
    expect(value('{ date: { const: "12-may-2025" }, format: DD-MMM-YYYY }')).toBe('2025-05-12');
    expect(value('{ time: { const: "2:05 pm" }, format: "h:mm a" }')).toBe('14:05:00');
    expect(value('{ time: { const: "12:00 AM" }, format: "hh:mm a" }')).toBe('00:00:00');
    expect(value('{ time: { const: "14.05.09" }, format: HH.mm.ss }')).toBe('14:05:09');
    expect(value('{ datetime: { date: { const: "05/12/2025" }, time: { const: "2:05 PM" } }, format: { date: MM/DD/YYYY, time: "h:mm a" } }'))
      .toBe('2025-05-12T14:05:00-05:00');
    // Only the layout given is read: the X12 form is no longer accepted there.
    expect(failure('{ date: { const: "20250512" }, format: MM/DD/YYYY }').message).toBe("'20250512' does not match the date format 'MM/DD/YYYY'");
    expect(failure('{ date: { const: "02/30/2025" }, format: MM/DD/YYYY }').code).toBe('MAP_BAD_DATE');
    expect(failure('{ date: { const: "01-Foo-2025" }, format: DD-MMM-YYYY }').code).toBe('MAP_BAD_DATE');
    expect(failure('{ time: { const: "13:05 PM" }, format: "h:mm a" }').code).toBe('MAP_BAD_TIME');
    expect(failure('{ datetime: { date: { const: "2025-05-12" } }, format: { date: MM/DD/YYYY } }').code).toBe('MAP_BAD_DATE');
  });

  it('a wrong layout is a compile-time diagnostic at its position', () => {
    const yaml = [
      'fields:',
      '  a: { date: B10.01, format: MM/DD }',
      '  b: { time: B10.01, format: "h:mm" }',
      '  c: { datetime: { date: B10.01 }, format: { dat: MM/DD/YYYY } }',
      '  d: { date: B10.01, format: 8 }',
      '  e: { time: B10.01, format: "HH:mm:ss:ss" }',
      '',
    ].join('\n');
    const got = compile(yaml).diagnostics.map((d) => `${d.line}:${d.column} ${d.code}${d.suggestion ? ` ~${d.suggestion}` : ''} ${d.message}`);
    expect(got).toEqual([
      `2:${pos(yaml, 'MM/DD }').column} MAP_SPEC_INVALID a date format needs a year (YYYY or YY), a month (MM, M or MMM) and a day (DD or D); got 'MM/DD'`,
      `3:${pos(yaml, '"h:mm"').column} MAP_SPEC_INVALID a 12-hour format (hh or h) goes with 'a' (AM/PM), and 'a' with hh or h; got 'h:mm'`,
      `4:${pos(yaml, 'dat:').column} MAP_UNKNOWN_KEY ~date 'dat' is not a datetime format (date, time)`,
      `5:${pos(yaml, '8 }').column} MAP_SPEC_INVALID 'format' is a date layout such as MM/DD/YYYY`,
      `6:${pos(yaml, '"HH:mm:ss:ss"').column} MAP_SPEC_INVALID 'ss' appears twice in format 'HH:mm:ss:ss'`,
    ]);
  });

  it('time: HHMM and HHMMSS', () => {
    expect(value('{ time: AT7.06 }', lx[0])).toBe('14:30:00');
    expect(value('{ time: AT7.06 }', lx[1])).toBe('14:30:15');
    expect(value('{ time: AT7.06 }', lx[2])).toBeUndefined();
  });

  it('decimal: implied decimals and explicit ones, exact strings', () => {
    expect(value('{ decimal: { const: "65940" }, implied: 2 }')).toBe('659.40');
    expect(value('{ decimal: { const: "-6858" }, implied: 2 }')).toBe('-68.58');
    expect(value('{ decimal: { const: "5" }, implied: 2 }')).toBe('0.05');
    expect(value('{ decimal: AT8.03 }', lx[1])).toBe('1820.5');
    expect(value('{ decimal: { const: "007.250" } }')).toBe('7.250');
    expect(failure('{ decimal: AT8.03, implied: 2 }', lx[1]).code).toBe('MAP_BAD_DECIMAL'); // has a point
    expect(failure('{ decimal: B10.01 }').code).toBe('MAP_BAD_DECIMAL');
  });

  it('number: a JSON number', () => {
    expect(value('{ number: AT8.04 }', lx[1])).toBe(3);
    expect(value('{ number: AT8.03 }', lx[1])).toBe(1820.5);
    expect(failure('{ number: B10.01 }').code).toBe('MAP_BAD_DECIMAL');
  });

  it('coordinate: DDDMMSS with a hemisphere', () => {
    // MS104 longitude 087°37'52" W, MS105 latitude 041°45'21" N.
    expect(value('{ coordinate: MS1.05, hemisphere: MS1.07 }', lx[1])).toBeCloseTo(41.755833, 6);
    expect(value('{ coordinate: MS1.04, hemisphere: MS1.06 }', lx[1])).toBeCloseTo(-87.631111, 6);
    expect(value('{ coordinate: MS1.04 }', lx[1])).toBeCloseTo(87.631111, 6);
    expect(value('{ coordinate: { const: "-87.6298" } }')).toBe(-87.6298);
    expect(failure('{ coordinate: MS1.05, hemisphere: { const: Q } }', lx[1]).code).toBe('MAP_BAD_DECIMAL');
    expect(failure('{ coordinate: { const: "0416521" } }').code).toBe('MAP_BAD_DECIMAL'); // 65 minutes
  });
});

describe('modifiers', () => {
  it('table with unmapped: error fails with the source and mapping positions', () => {
    expect(value('{ path: AT7.01, table: t-error }', lx[0])).toBe('arrived');
    const spec = '{ path: AT7.01, table: t-error }';
    const f = failure(spec, lx[2]);
    expect(f.code).toBe('MAP_UNMAPPED_CODE');
    expect(f.message).toBe("code 'Q1' is not in table 't-error' (unmapped: error)");
    expect(f.source).toMatchObject({ line: 22, column: 'AT7*'.length + 1, what: 'AT7' }); // at AT701
    expect(f.mapping).toEqual({ file: 'map.yaml', ...pos(`fields:\n  v: ${spec}\n`, 't-error') });
  });

  it('table with unmapped: pass-through keeps the raw code; a table default wins over the policy', () => {
    expect(value('{ path: AT7.01, table: t-pass }', lx[1])).toBe('D1');
    expect(value('{ path: AT7.01, table: t-pass }', lx[0])).toBe('arrived');
    expect(value('{ path: AT7.01, table: t-default }', lx[1])).toBe('other');
    expect(value('{ all: "L11[02=PO].01", table: t-pass }')).toEqual(['PO-1', 'PO-2']);
  });

  it('shared tables: x12-party-role', () => {
    expect(value('{ each: /N1, value: { path: N1.01, table: x12-party-role } }')).toEqual(['shipper', 'consignee']);
  });

  it('trim and case', () => {
    expect(value('{ path: "N1[01=SH].02" }')).toBe('  Acme Shipping  ');
    expect(value('{ path: "N1[01=SH].02", trim: true }')).toBe('Acme Shipping');
    expect(value('{ path: "N1[01=SH].02", trim: true, case: upper }')).toBe('ACME SHIPPING');
    expect(value('{ path: B10.01, case: lower }')).toBe('pro123');
    expect(value('{ all: /N1/N1.02, case: upper, trim: true }')).toEqual(['ACME SHIPPING', 'BIG BOX DC']);
    // case happens before the table lookup
    expect(value('{ const: x1, case: upper, table: t-error }')).toBe('arrived');
  });

  it('trim: a value blank once trimmed is absent; first passes over it; a table is not asked for it', () => {
    expect(value('{ const: "   ", trim: true }')).toBeUndefined();
    expect(value('{ const: "   ", trim: true, default: NONE }')).toBe('NONE');
    expect(value('{ first: [{ const: "   " }, B10.01], trim: true }')).toBe('PRO123');
    // Without trim a blank value is a value (first takes it), as before.
    expect(value('{ first: [{ const: "   " }, B10.01] }')).toBe('   ');
    expect(failure('{ const: "  ", trim: true, table: t-error, required: true }').code).toBe('MAP_REQUIRED_MISSING');
    expect(value('{ list: [{ const: " a " }, { const: "  " }], trim: true }')).toEqual(['a']);
    expect(value('{ list: [{ const: " " }], trim: true }')).toBeUndefined();
  });

  it('default', () => {
    expect(value('{ path: AT7.03, default: NONE }', lx[0])).toBe('NONE');
    expect(value('{ path: AT7.01, default: NONE }', lx[0])).toBe('X1');
    expect(value('{ first: [AT7.03, AT7.04], default: USD }', lx[0])).toBe('USD');
  });

  it('required: a missing value fails with the source context and the mapping position', () => {
    expect(value('{ path: AT7.01, required: true }', lx[0])).toBe('X1');
    const spec = '{ path: AT7.03, required: true }';
    const f = failure(spec, lx[1]);
    expect(f.code).toBe('MAP_REQUIRED_MISSING');
    expect(f.message).toBe("required value 'AT7.03' is missing");
    expect(f.source).toMatchObject({ line: 18, column: 'AT7*D1*A2*'.length + 1, what: 'AT7' }); // where AT703 would be
    expect(f.mapping).toEqual({ file: 'map.yaml', ...pos(`fields:\n  v: ${spec}\n`, '{ path') });
    // An empty string after trimming is missing too.
    expect(failure('{ const: "   ", trim: true, required: true }').code).toBe('MAP_REQUIRED_MISSING');
  });

  it('a failure points at the element its path reads (also outside the context, also an empty element); the context when there is none', () => {
    // Context: the first LX/AT7 iteration (AT7 on line 15, MS1 on 16).
    // MS1 there, MS104 past its last element: at its terminator
    expect(failure('{ path: MS1.04, required: true }', lx[0]).source).toMatchObject({ line: 16, column: 'MS1*CHICAGO*IL*US'.length + 1, what: 'MS1' });
    // no such L11: the context's first segment
    expect(failure('{ path: "L11[02=ZZ].01", required: true }', lx[0]).source).toMatchObject({ line: 15, column: 1, what: 'AT7' });
    expect(failure('{ first: ["L11[02=ZZ].01", MS1.04], required: true }', lx[0]).source).toMatchObject({ line: 16, what: 'MS1' });
    expect(failure('{ path: AT8.02, table: t-error }', lx[1]).source).toMatchObject({ line: 20, what: 'AT8' });
    expect(failure('{ path: B10.03, table: t-error }', lx[0]).source).toMatchObject({ line: 4, column: 'B10*PRO123*BOL9*'.length + 1, what: 'B10' }); // a header segment
    expect(failure('{ date: MS1.01 }', lx[0]).source).toMatchObject({ line: 16, what: 'MS1' });
    expect(failure('{ datetime: { date: MS1.01, time: AT7.06 } }', lx[0]).source).toMatchObject({ line: 16, column: 'MS1*'.length + 1, what: 'MS1' });
    expect(failure('{ decimal: AT8.03, implied: 2 }', lx[1]).code).toBe('MAP_BAD_DECIMAL');
    expect(failure('{ decimal: AT8.03, implied: 2 }', lx[1]).source).toMatchObject({ line: 20, column: 'AT8*G*L*'.length + 1, what: 'AT8' });
  });

  it('when with every condition kind', () => {
    const w = (cond: string, ctx = lx[0]) => value(`{ const: yes, when: ${cond} }`, ctx);
    expect(w('{ path: AT7.01, equals: X1 }')).toBe('yes');
    expect(w('{ path: AT7.01, equals: D1 }')).toBeUndefined();
    expect(w('{ path: AT7.01, in: [D1, X1] }')).toBe('yes');
    expect(w('{ path: AT7.01, in: [D1] }')).toBeUndefined();
    expect(w('{ exists: AT7.05 }')).toBe('yes');
    expect(w('{ exists: AT7.03 }')).toBeUndefined();
    expect(w('{ not: { exists: AT7.03 } }')).toBe('yes');
    expect(w('{ all: [{ exists: AT7.05 }, { path: B10.03, equals: SCAC }] }')).toBe('yes');
    expect(w('{ all: [{ exists: AT7.05 }, { exists: AT7.03 }] }')).toBeUndefined();
    expect(w('{ any: [{ exists: AT7.03 }, { path: AT7.02, equals: NS }] }')).toBe('yes');
    expect(w('{ any: [{ exists: AT7.03 }, { exists: AT7.04 }] }')).toBeUndefined();
    // a condition on a value with a table applied sees the mapped value
    expect(w('{ path: { path: AT7.01, table: t-error }, equals: arrived }')).toBe('yes');
  });

  // `required` is applied after `when`, so a value that the condition switches off still fails as
  // missing: `{ path: AT7.03, required: true, when: { exists: AT7.03 } }` can never pass when AT703 is
  // empty, which makes "required when ..." impossible to express.
  it('when switches off required (a value excluded by its condition is not missing)', () => {
    expect(value('{ path: AT7.03, required: true, when: { exists: AT7.03 } }', lx[0])).toBeUndefined();
  });

  // At the transaction level (no foreach) the context's first segment is ST; the failure names B10 (line 4).
  it('an unmapped code names the segment that holds it', () => {
    const f = failure('{ path: B10.03, table: t-error }');
    expect(f.source).toMatchObject({ line: 4, what: 'B10' });
  });
});

describe('compile-time diagnostics of value specs', () => {
  it('collects every problem with its position and a did-you-mean', () => {
    const yaml = [
      'fields:',
      '  a: { path: B10.01, tables: t-error }',
      '  b: { path: B10.01, const: x }',
      '  d: { path: B10.01, table: t-eror }',
      '  e: { path: AT7.01, when: { path: AT7.01, equal: X1 } }',
      '  f: { decimal: AT8.03, implied: 12 }',
      '  g: { each: LX/AT7 }',
      '  h: { path: B10.01, case: uper }',
      '  i: "B10"',
      '',
    ].join('\n');
    const c = compile(yaml);
    const got = c.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}${d.suggestion ? ` ~${d.suggestion}` : ''}`);
    expect(got).toEqual([
      `2:${pos(yaml, 'tables').column} MAP_UNKNOWN_KEY ~table`,
      `3:${pos(yaml, '{ path: B10.01, const').column} MAP_SPEC_INVALID`,
      `4:${pos(yaml, 't-eror').column} MAP_UNKNOWN_TABLE ~t-error`,
      `5:${pos(yaml, 'equal:').column} MAP_UNKNOWN_KEY ~equals`,
      `5:${pos(yaml, '{ path: AT7.01, equal').column} MAP_SPEC_INVALID`,
      `6:${pos(yaml, '12 }').column} MAP_SPEC_INVALID`,
      `7:${pos(yaml, '{ each').column} MAP_SPEC_INVALID`,
      `8:${pos(yaml, 'uper').column} MAP_SPEC_INVALID ~upper`,
      `9:${pos(yaml, '"B10"').column} MAP_BAD_PATH`,
    ]);
  });
});

describe('numbers YAML reads where a code is meant', () => {
  it('equals: 035 or in: [090] is refused with the quoted value; 400 and quoted values are fine', () => {
    const yaml = "fields:\n  a: { path: B10.01, when: { path: AT7.01, equals: 035 } }\n  b: { path: B10.01, when: { path: AT7.01, in: [X1, 090, '035', 400] } }\n";
    const c = compile(yaml);
    expect(c.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}${d.suggestion ? ` ~${d.suggestion}` : ''}`)).toEqual([
      `2:${pos(yaml, '035 }').column} MAP_SPEC_INVALID ~'035'`,
      `3:${pos(yaml, '090,').column} MAP_SPEC_INVALID ~'090'`,
    ]);
    expect(c.diagnostics[0].message).toBe("035 is read as the number 35, so the condition would compare with '35', never '035': quote it");
  });

  it('a table key 090 is refused at the key (it would be the code 90); the others load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-num-table-'));
    try {
      writeFileSync(join(dir, 'charges.yaml'), "values:\n  090: detention\n  '091': fuel\n  400: linehaul\n");
      const t = new CodeTables();
      const diags = t.loadFile(join(dir, 'charges.yaml'));
      expect(diags.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}${d.suggestion ? ` ~${d.suggestion}` : ''}`)).toEqual([
        "2:3 TABLE_INVALID 090 is read as the number 90, so code '090' would never be found: quote it ~'090'",
      ]);
      expect([...t.get('charges')!.values]).toEqual([['400', 'linehaul'], ['091', 'fuel']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('decimal over X12 numeric elements', () => {
  // B307 (210) is N2, L104 N2, L102 R, AT803 (214) R: a decimal spec must read them with the decimals
  // their type implies, else the value is off by a power of ten (62634 for $626.34).
  function diagnosticsOf(set: string, version: string, field: string): string[] {
    const yaml = `source: x12/${set}\ntarget: freight.invoice@1\nfields:\n  ${field}\n`;
    const { diagnostics } = compileInbound({
      src: YamlSource.parse(yaml, 'm.yaml'), adapter: adapterForDocument(`x12/${set}`, version) as SourceAdapter<X12Context>, tables,
      canonical: (t) => canonicalTarget(t, 'inbound'), canonicalTypes,
    });
    return diagnostics.filter((d) => d.code === 'MAP_SPEC_INVALID').map((d) => `${d.message}${d.suggestion ? ` ~${d.suggestion}` : ''}`);
  }

  it('an N2 element read without implied: 2 (or with another number) is refused, with the spec to write', () => {
    expect(diagnosticsOf('210', '004010', 'amountDue.amount: { decimal: B3.07 }')).toEqual([
      'B3.07 is an N2 element (2 implied decimals: 62634 is 626.34): write implied: 2 ~{ decimal: B3.07, implied: 2 }',
    ]);
    expect(diagnosticsOf('210', '004010', 'amountDue.amount: { decimal: B3.07, implied: 3 }')).toEqual([
      'B3.07 is an N2 element (2 implied decimals), not 3 ~{ decimal: B3.07, implied: 2 }',
    ]);
    expect(diagnosticsOf('210', '004010', 'amountDue.amount: { decimal: B3.07, implied: 2 }')).toEqual([]);
    // `number` has no implied decimals: over an N2 element it is refused too (an N0 count is fine).
    expect(diagnosticsOf('210', '004010', 'charges: { each: LX/L1, fields: { lineNumber: { number: L1.04 } } }')).toEqual([
      "L1.04 is an N2 element (2 implied decimals: 62634 is 626.34): 'number' would read it as a whole number; use decimal with implied: 2 ~{ decimal: L1.04, implied: 2 }",
    ]);
    expect(diagnosticsOf('210', '004010', 'charges: { each: LX/L1, fields: { lineNumber: { number: L1.01 } } }')).toEqual([]);
  });

  it('an R element read with implied is refused; without, and CSV/XML/constants, are left alone', () => {
    expect(diagnosticsOf('210', '004010', 'totalWeight.value: { decimal: L3.01, implied: 2 }')).toEqual([
      "L3.01 is an R element, which carries its own decimal point: 'implied' would read 1820 as 18.20; leave it out ~{ decimal: L3.01 }",
    ]);
    expect(diagnosticsOf('210', '004010', 'totalWeight.value: { decimal: L3.01 }')).toEqual([]);
    expect(diagnosticsOf('210', '004010', 'amountDue.amount: { decimal: { const: "62634" }, implied: 2 }')).toEqual([]);
  });
});

describe('datetime with a partner x12-time-code table', () => {
  // A partner extends the shared table (same name): its default and its unmapped policy apply to the
  // time codes it does not list, as for any table lookup.
  function withTimeCodes(body?: string) {
    const dir = mkdtempSync(join(tmpdir(), 'wb-time-codes-'));
    try {
      const t = sharedTables().tables.clone();
      if (body !== undefined) {
        writeFileSync(join(dir, 'x12-time-code.yaml'), body);
        expect(t.loadDir(dir)).toEqual([]);
      }
      const src = YamlSource.parse('fields:\n  v: { datetime: { date: AT7.05, time: AT7.06, zone: AT7.07 } }\n', 'map.yaml');
      const compiler = new SpecCompiler<X12Context>(src, adapter(), t);
      const plan = compiler.plan(compiler.compileFields((src.value as { fields: unknown }).fields, ['fields']));
      expect(compiler.diagnostics).toEqual([]);
      return (ctx: X12Context) => evaluatePlan(plan, ctx, { timezone: 'America/Chicago' })?.v;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const x12 = interchange(STAR, [{ set: '214', control: '0001', body: [
    'B10*PRO123*BOL9*SCAC', 'LX*1', 'AT7*X3*NS***20250715*1430*Q9', 'LX*2', 'AT7*X3*NS***20250715*1430*ET',
  ] }]);
  const at7 = () => {
    const [t] = transactions(x12);
    return evalLoops(parseX12Path('LX/AT7', 'loop'), t.ctx.node, t.d).map((node) => ({ node, delimiters: t.d }));
  };

  it('the shared table reads the numeric codes as ISO offsets: 01-12 are P01-P12, 13-24 are M12-M01', () => {
    const run = withTimeCodes();
    const at = (code: string) => {
      const [t] = transactions(interchange(STAR, [{ set: '214', control: '0001', body: ['B10*PRO123*BOL9*SCAC', 'LX*1', `AT7*X3*NS***20250715*1430*${code}`] }]));
      const [node] = evalLoops(parseX12Path('LX/AT7', 'loop'), t.ctx.node, t.d).map((n) => ({ node: n, delimiters: t.d }));
      return run(node);
    };
    expect(at('01')).toBe('2025-07-15T14:30:00+01:00');
    expect(at('12')).toBe('2025-07-15T14:30:00+12:00');
    expect(at('13')).toBe('2025-07-15T14:30:00-12:00');
    expect(at('19')).toBe('2025-07-15T14:30:00-06:00');
    expect(at('24')).toBe('2025-07-15T14:30:00-01:00');
  });

  it("an unlisted code takes the table's default", () => {
    const run = withTimeCodes('default: local\nvalues: { EDT: "-04:00" }\n');
    const [q9, et] = at7();
    expect(run(q9)).toBe('2025-07-15T14:30:00-05:00');
    expect(run(et)).toBe('2025-07-15T14:30:00-04:00');
  });

  it('under unmapped: pass-through an unlisted code is used as the zone itself, and an unknown zone still fails', () => {
    const run = withTimeCodes('unmapped: pass-through\nvalues: { EDT: "-04:00" }\n');
    const [q9] = at7();
    expect(() => run(q9)).toThrow(/unknown time zone 'Q9'/);
  });
});

describe('a partner table extending a shared one', () => {
  it("inherits the shared table's unmapped policy when it gives none (the rest is inherited)", () => {
    const shared = mkdtempSync(join(tmpdir(), 'wb-extend-shared-'));
    const partner = mkdtempSync(join(tmpdir(), 'wb-extend-partner-'));
    try {
      writeFileSync(join(shared, 'codes.yaml'), 'unmapped: pass-through\nvalues: { A: one }\n');
      const t = new CodeTables();
      expect(t.loadDir(shared)).toEqual([]);
      writeFileSync(join(partner, 'codes.yaml'), 'values: { B: two }\n');
      const p = t.clone();
      expect(p.loadDir(partner)).toEqual([]);
      expect(p.get('codes')!.unmapped).toBe('pass-through');
      expect([...p.get('codes')!.values]).toEqual([['A', 'one'], ['B', 'two']]);
      // Its own policy wins; a table of its own without one is unmapped: error.
      writeFileSync(join(partner, 'codes.yaml'), 'unmapped: error\nvalues: { B: two }\n');
      const q = t.clone();
      q.loadDir(partner);
      expect(q.get('codes')!.unmapped).toBe('error');
      const own = new CodeTables();
      writeFileSync(join(partner, 'codes.yaml'), 'values: { B: two }\n');
      own.loadDir(partner);
      expect(own.get('codes')!.unmapped).toBe('error');
    } finally {
      rmSync(shared, { recursive: true, force: true });
      rmSync(partner, { recursive: true, force: true });
    }
  });
});

describe('a spec without its source', () => {
  it('a misspelt source next to modifiers is one MAP_UNKNOWN_KEY at it, not unknown fields named after the modifiers', () => {
    const yaml = 'fields:\n  a: { pth: B10.01, trim: true }\n  b: { trim: true, required: true }\n  c: { <<: { const: X }, required: false }\n';
    const c = compile(yaml);
    expect(c.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}${d.suggestion ? ` ~${d.suggestion}` : ''}`)).toEqual([
      `2:${pos(yaml, 'pth').column} MAP_UNKNOWN_KEY ~path`,
      `3:${pos(yaml, '{ trim: true, req').column} MAP_SPEC_INVALID`,
      `4:${pos(yaml, '<<').column} MAP_SPEC_INVALID`,
    ]);
    expect(c.diagnostics[2].message).toMatch(/^YAML merge keys \('<<'\) are not supported/);
  });
});

describe('field paths', () => {
  it('a path assigned twice, or a value with fields under it, is MAP_FIELD_CONFLICT', () => {
    const yaml = [
      'fields:',
      '  location.city: MS1.01',
      '  location:',
      '    city: MS1.02',
      '  status: { const: x }',
      '  status.code: AT7.01',
      '',
    ].join('\n');
    const c = compile(yaml);
    expect(c.diagnostics.map((d) => `${d.line} ${d.code} ${d.message}`)).toEqual([
      "4 MAP_FIELD_CONFLICT 'location.city' is assigned twice",
      "6 MAP_FIELD_CONFLICT 'status' is given a value elsewhere, so 'status.code' cannot be assigned under it",
    ]);
  });

  it('nested and dotted keys build the same plain objects; empty objects are left out', () => {
    const c = compile(['fields:', '  a.b: B10.01', '  a:', '    c: B10.02', '  z.y: N9.99', ''].join('\n'));
    const v = c.run(root);
    expect(Object.keys(v)).toEqual(['a']);
    expect(Object.keys(v.a as object)).toEqual(['b', 'c']);
    expect(typeof (v.a as Record<string, unknown>).b).toBe('string');
    expect(Object.getPrototypeOf(v.a)).toBe(Object.prototype);
    expect('z' in v).toBe(false);
  });

  it('the generated builder keeps any key a string, keeps the plan order, and refuses __proto__', () => {
    const ctx = {};
    const env = { timezone: 'UTC' };
    const odd = `a"b\\c'); throw new Error('ran'); ('\u2028`;
    const plan = {
      entries: [
        { key: 'z', evaluate: () => 'last-declared-first' as Value },
        { key: odd, evaluate: () => 1 as Value },
        { key: 'skipped', evaluate: () => undefined },
        { key: 'inner', plan: { entries: [{ key: 'x', evaluate: () => undefined }] } },
        { key: 'nested', plan: { entries: [{ key: 'y', evaluate: () => [true] as Value }] } },
      ],
    };
    const v = evaluatePlan(plan, ctx, env)!;
    expect(Object.keys(v)).toEqual(['z', odd, 'nested']);
    expect(v[odd]).toBe(1);
    expect(v.nested).toEqual({ y: [true] });
    expect(evaluatePlan({ entries: [{ key: 'a', evaluate: () => undefined }] }, ctx, env)).toBeUndefined();
    expect(() => evaluatePlan({ entries: [{ key: '__proto__', evaluate: () => ({}) as Value }] }, ctx, env)).toThrow(/__proto__/);
  });
});

describe('a mapping-level when filters whole events', () => {
  it('drops the iterations whose condition is false', () => {
    const yaml = [
      'source: x12/214',
      'target: shipment.status@1',
      'foreach: LX/AT7',
      'when: { path: AT7.01, in: [X1, D1] }',
      'fields:',
      '  occurredAt: { datetime: { date: AT7.05, time: AT7.06, zone: AT7.07 } }',
      '  references.proNumber: B10.01',
      '  status.milestone: { path: AT7.01, table: x12-shipment-status }',
      '',
    ].join('\n');
    const { mapping, diagnostics } = compileInbound({
      src: YamlSource.parse(yaml, 'm.yaml'), adapter: adapter(), tables,
      canonical: (t) => canonicalTarget(t, 'inbound'), canonicalTypes,
    });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const bodies = mapping!.run(root, { timezone: 'America/New_York' });
    expect(bodies.map((b) => (b.status as { milestone: string }).milestone)).toEqual(['arrived_at_delivery', 'delivered']);
    expect(bodies.map((b) => b.occurredAt)).toEqual(['2025-01-15T14:30:00-06:00', '2025-07-15T14:30:15-04:00']);
  });
});

describe('MAP_LOOP_AT_SEVERAL_DEPTHS: a loop path read from the transaction that takes loops at several depths', () => {
  const tables = sharedTables().tables;
  function warnings(set: string, version: string, target: string, body: string): string[] {
    const yaml = `source: x12/${set}\ntarget: ${target}\n${body}`;
    const { diagnostics } = compileInbound({
      src: YamlSource.parse(yaml, 'm.yaml'), adapter: adapterForDocument(`x12/${set}`, version) as SourceAdapter<X12Context>, tables,
      canonical: (t) => canonicalTarget(t, 'inbound'), canonicalTypes,
    });
    return diagnostics.filter((d) => d.code === 'MAP_LOOP_AT_SEVERAL_DEPTHS').map((d) => `${d.line}:${d.column} ${d.severity} ${d.message}`);
  }
  const invoice = (each: string) => `fields:
  invoiceNumber: B3.02
  invoiceDate: { date: B3.06 }
  carrierScac: B3.11
  amountDue: { amount: { decimal: B3.07, implied: 2 }, currency: { const: USD } }
  charges: { each: LX/L1, fields: { code: { const: linehaul }, amount: { amount: { decimal: L1.04, implied: 2 }, currency: { const: USD } } } }
  parties:
    each: ${each}
    fields:
      role: { path: N1.01, table: x12-party-role }
      name: N1.02
      ids: { each: N1, fields: { qualifier: N1.03, value: N1.04 } }
`;

  it("each: N1 at the top of a 4010 210 says it also takes the S5 and LX N1 loops, and what to write instead", () => {
    expect(warnings('210', '004010', 'freight.invoice@1', invoice('N1'))).toEqual([
      "10:11 warning N1 loops sit directly in transaction set 210 and also inside other loops (S5/N1, LX/N1): 'N1' read from the transaction " +
      "takes them all, in file order; write ./N1 for the transaction's own only, or S5/N1 for those inside S5",
    ]);
    expect(warnings('210', '004010', 'freight.invoice@1', invoice('N1[01=SH]'))[0]).toContain("write ./N1[01=SH] for the transaction's own only");
  });

  it('./N1, /N1, loops that sit in one place only and each inside each or foreach are left alone', () => {
    expect(warnings('210', '004010', 'freight.invoice@1', invoice('./N1'))).toEqual([]);
    expect(warnings('210', '004010', 'freight.invoice@1', invoice('/N1'))).toEqual([]);
    expect(warnings('210', '004010', 'freight.invoice@1', invoice('S5/N1'))).toEqual([]);
    // From an LX/AT7 iteration the warning does not apply (the enclosing loops decide what is near).
    expect(warnings('214', '005010', 'shipment.status@1', `foreach: LX/AT7
fields:
  carrierScac: B10.03
  occurredAt: { datetime: { date: AT7.05, time: AT7.06 } }
  status: { milestone: { const: in_transit }, rawStatusCode: AT7.01 }
  parties: { each: N1, fields: { role: { path: N1.01, table: x12-party-role }, name: N1.02 } }
`)).toEqual([]);
  });
});
