import { describe, expect, it } from 'vitest';
import type { Delimiters, Segment } from '../../src/translators/x12/model.js';
import { evalFirst, evalLoops, evalValues, parseX12Path, PathSyntaxError, SegmentSlots, type LoopNode } from '../../src/mappings/x12-path.js';
import { fixtureTx, transactions } from './support.js';

function syntaxError(text: string, kind: 'value' | 'loop' = 'value'): PathSyntaxError {
  try {
    parseX12Path(text, kind);
  } catch (err) {
    expect(err).toBeInstanceOf(PathSyntaxError);
    return err as PathSyntaxError;
  }
  throw new Error(`'${text}' parsed without error`);
}

const values = (path: string, node: LoopNode, d: Delimiters, all = true) =>
  evalValues(parseX12Path(path, 'value'), node, d, all).map((v) => v.value);

describe('parseX12Path', () => {
  it('parses segments, elements, components, repetitions and filters', () => {
    expect(parseX12Path('B10.01', 'value')).toEqual({
      text: 'B10.01', absolute: false, direct: false, loops: [],
      target: { segment: 'B10', element: 1, component: undefined, repetition: undefined },
    });
    expect(parseX12Path('AK4.01.2', 'value').target).toMatchObject({ segment: 'AK4', element: 1, component: 2 });
    expect(parseX12Path('CTX.01#2', 'value').target).toMatchObject({ segment: 'CTX', element: 1, repetition: 2 });
    expect(parseX12Path('L11[02=BM].01', 'value').target).toMatchObject({ segment: 'L11', element: 1, filter: { element: 2, values: ['BM'] } });
    const p = parseX12Path('/N1[01=SH|SF]/N4.01', 'value');
    expect(p.absolute).toBe(true);
    expect(p.loops).toEqual([{ segment: 'N1', filter: { element: 1, values: ['SH', 'SF'] } }]);
    expect(p.target).toMatchObject({ segment: 'N4', element: 1 });
    expect(parseX12Path('AK4[01.2=X].02', 'value').target?.filter).toEqual({ element: 1, component: 2, values: ['X'] });
    expect(parseX12Path('LX/AT7', 'loop')).toEqual({ text: 'LX/AT7', absolute: false, direct: false, loops: [{ segment: 'LX' }, { segment: 'AT7' }], outerLoops: [{ segment: 'LX' }] });
  });

  it('numbers the segment a value path names, element aside (what a loop node remembers it found)', () => {
    const slots = new SegmentSlots();
    const slot = (text: string) => parseX12Path(text, 'value', slots).segmentSlot;
    expect(slot('AT7.01')).toBe(0);
    expect(slot('AT7.01')).toBe(slot('AT7.05'));
    expect(slot('AT7.01#2')).toBe(slot('AT7.01.2'));
    expect(slot('L11[02=BM].01')).toBe(slot('L11[02=BM].03'));
    const distinct = ['AT7.01', '/AT7.01', 'L11.01', 'L11[02=BM].01', 'L11[02=PO].01', 'L11[02.1=BM].01', 'L11[02=BM|PO].01', 'N1/N3.01', 'N1[01=SH]/N3.01', '/N1/N3.01'];
    expect(new Set(distinct.map(slot)).size).toBe(distinct.length);
    // Each mapping numbers its own paths from 0: the numbers stay small however many mappings are loaded.
    expect(parseX12Path('N1/N3.01', 'value', new SegmentSlots()).segmentSlot).toBe(0);
    expect(parseX12Path('B10.01', 'value').segmentSlot).toBeUndefined();
  });

  it('reports syntax errors with the column of the offending step', () => {
    expect(syntaxError('')).toMatchObject({ column: 1, message: 'empty path' });
    expect(syntaxError('/')).toMatchObject({ column: 1, message: 'empty path' });
    const lower = syntaxError('B10/at7.01');
    expect(lower.column).toBe(5);
    expect(lower.message).toMatch(/^'at7.01' is not a path step/);
    expect(syntaxError('/N1[01=SH]/n4.01').column).toBe(12);
    expect(syntaxError('N1[01=SH/N4.01').column).toBe(1); // unclosed filter: the '/' inside splits the step
    expect(syntaxError('B10.001').message).toMatch(/is not a path step/);
    expect(syntaxError('LX/AT7').message).toBe("'LX/AT7' names no element; write e.g. AT7.01");
    expect(syntaxError('B10.00').message).toBe('elements are numbered from 01');
    expect(syntaxError('LX/AT7.01', 'loop').message).toMatch(/a loop path names segments, not elements/);
    expect(syntaxError('L11.01/B10.01').message).toBe("only the last step may address an element ('L11.1')");
  });

  it('points at the step that wrongly addresses an element, not at column 1', () => {
    expect(syntaxError('LX/AT7.01/MS1.01').column).toBe(4);
    expect(syntaxError('/LX/AT7.01/MS1.01').column).toBe(5);
    expect(syntaxError('LX/AT7.01', 'loop').column).toBe(4);
  });
});

describe('evaluating paths on a 214 loop tree (fixtures/edi/214/004010/ltl-multi-status.edi)', () => {
  const { ctx, d } = fixtureTx('214/004010/ltl-multi-status.edi');
  const root = ctx.node;
  const at7 = evalLoops(parseX12Path('LX/AT7', 'loop'), root, d);

  it('selects loops by path: every AT7 loop inside every LX loop', () => {
    expect(at7).toHaveLength(6);
    expect(at7.map((n) => n.segments[0].elements[1] || n.segments[0].elements[3])).toEqual(['AA', 'X3', 'AF', 'X6', 'AB', 'D1']);
    expect(evalLoops(parseX12Path('N1', 'loop'), root, d).map((n) => n.segments[0].elements[2]))
      .toEqual(['TRI-COUNTY HARDWARE SUPPLY', 'GREENLEAF HARDWARE 212']);
    expect(evalLoops(parseX12Path('N1[01=CN]', 'loop'), root, d)).toHaveLength(1);
  });

  it('evalFirst: each node remembers the segment a path found, by segment number, and reads any element of it', () => {
    const [lx1, lx2] = at7;
    const slots = new SegmentSlots();
    const first = (path: string, node: LoopNode) => evalFirst(parseX12Path(path, 'value', slots), node, d);
    // The same segment numbers from different nodes find different segments.
    expect(first('MS1.01', lx1)).toBe('JOLIET');
    expect(first('MS2.02', lx1)).toBeUndefined();
    expect(first('MS2.02', lx2)).toBe('4417');
    expect(first('MS2.02', lx1)).toBeUndefined(); // remembered as none, not as lx2's
    // Another element of a remembered segment, and another filter on the same segment id.
    expect(first('L11[02=BM].01', root)).toBe('TCH-BOL-40771');
    expect(first('L11[02=BM].02', root)).toBe('BM');
    expect(first('L11[02=PO].01', root)).toBe('4500183327');
    // A path without a segment number is evaluated without the cache, never confused with another.
    expect(evalFirst(parseX12Path('B10.01', 'value'), lx1, d)).toBe('0048213377');
    expect(evalFirst(parseX12Path('MS1.01', 'value'), lx1, d)).toBe('JOLIET');
    // Another mapping's numbering on the same nodes: its slot 0 is another segment, and is not answered
    // from the first mapping's cache (whose slot 0 is MS1).
    const other = new SegmentSlots();
    expect(evalFirst(parseX12Path('B10.01', 'value', other), lx1, d)).toBe('0048213377');
    expect(evalFirst(parseX12Path('MS1.01', 'value', other), lx1, d)).toBe('JOLIET');
    expect(first('MS1.01', lx1)).toBe('JOLIET');
  });

  it('filters on an element: L11[02=BM].01 and L11[02=PO].01', () => {
    expect(values('L11[02=BM].01', root, d)).toEqual(['TCH-BOL-40771']);
    expect(values('L11[02=PO].01', root, d)).toEqual(['4500183327']);
    expect(values('L11[02=ZZ].01', root, d)).toEqual([]);
    expect(values('L11.01', root, d, false)).toEqual(['4500183327']); // first in file order
  });

  it('filters a loop by its trigger: N1[01=SH|SF]/N4.01', () => {
    expect(values('N1[01=SH|SF]/N4.01', root, d)).toEqual(['JOLIET']);
    expect(values('N1[01=CN]/N4.01', root, d)).toEqual(['SPRINGFIELD']);
    expect(values('N1[01=SH|CN]/N4.01', root, d)).toEqual(['JOLIET', 'SPRINGFIELD']);
    expect(values('N1[01=BT]/N4.01', root, d)).toEqual([]);
  });

  it('a relative path sees header segments and its enclosing loop, but not sibling iterations', () => {
    const [lx1, lx2, lx3] = at7;
    // B10 is a header segment: visible from every iteration.
    expect(values('B10.01', lx1, d)).toEqual(['0048213377']);
    // MS2 exists in the second and third LX, not in the first: the first sees none of theirs.
    expect(values('MS2.02', lx1, d)).toEqual([]);
    expect(values('MS2.02', lx2, d)).toEqual(['4417']);
    // AT8 sits in the LX loop itself (not in the AT7 loop): visible from that LX's AT7 only.
    expect(values('AT8.03', lx3, d)).toEqual(['1820']);
    expect(values('AT8.03', lx2, d)).toEqual([]);
    // The heading N1 loops are content of the transaction other than LX loops: visible from an AT7
    // iteration (nearest scope first), while other LX iterations stay invisible.
    expect(values('N4.01', lx1, d)).toEqual(['JOLIET', 'SPRINGFIELD']);
    expect(values('N1[01=CN]/N4.01', lx1, d)).toEqual(['SPRINGFIELD']);
    // From the root, a relative path searches everything below it.
    expect(values('MS1.01', root, d)).toEqual(['JOLIET', 'JOLIET', 'JOLIET', 'SAINT LOUIS', 'SPRINGFIELD', 'SPRINGFIELD']);
  });

  it('an absolute path starts at the transaction, from any iteration', () => {
    const last = at7[5];
    expect(values('/N1/N4.01', last, d)).toEqual(['JOLIET', 'SPRINGFIELD']);
    expect(values('/N1[01=CN]/N1.02', last, d)).toEqual(['GREENLEAF HARDWARE 212']);
    expect(values('/MS1.01', last, d, false)).toEqual(['JOLIET']);
    expect(values('/LX/AT7.05', last, d)).toHaveLength(6);
    expect(evalLoops(parseX12Path('/N1', 'loop'), last, d)).toHaveLength(2);
  });

  it('locates each value at its segment (line and column)', () => {
    const [v] = evalValues(parseX12Path('L11[02=BM].01', 'value'), root, d, false);
    expect(v.segment.id).toBe('L11');
    expect(v.segment.loc).toMatchObject({ line: 6, column: 1 });
  });
});

describe('5010 214 with N1 loops inside each LX (fixtures/edi/214/005010/truckload-gps.edi)', () => {
  const { ctx, d } = fixtureTx('214/005010/truckload-gps.edi');
  const at7 = evalLoops(parseX12Path('LX/AT7', 'loop'), ctx.node, d);

  it('an AT7 iteration sees the N1 loops and L11 of its own LX, never those of another LX', () => {
    expect(at7).toHaveLength(6);
    expect(at7.map((n) => values('N4.01', n, d, false)[0] ?? null)).toEqual(['APPLETON', 'APPLETON', 'NEENAH', null, 'COLUMBUS', 'COLUMBUS']);
    expect(at7.map((n) => values('N1[01=SF]/N1.04', n, d)[0] ?? null)).toEqual([null, null, 'NPP-NEE', null, null, null]);
    expect(at7.map((n) => values('L11[02=QN].01', n, d))).toEqual([['1'], ['1'], ['2'], ['3'], ['3'], ['3']]);
    expect(at7.map((n) => values('AT8.03', n, d)[0] ?? null)).toEqual([null, '24180', null, null, null, '38420']);
    // `each: N1` from an AT7 iteration: the N1 loops of its LX only.
    expect(at7.map((n) => evalLoops(parseX12Path('N1', 'loop'), n, d).length)).toEqual([1, 1, 1, 0, 1, 1]);
    // The heading stays visible; an absolute path still sees every LX.
    expect(values('B10.02', at7[3], d)).toEqual(['KLP2503110042']);
    expect(values('/LX/N1/N4.01', at7[3], d)).toEqual(['APPLETON', 'APPLETON', 'NEENAH', 'COLUMBUS', 'COLUMBUS']);
  });
});

describe('a 4010 214 whose LX holds a CD3 loop with AT7 loops of its own', () => {
  const seg = [
    'ST*214*0001', 'B10*PRO1*BOL1*PRLF', 'N1*SH*SHIPPER', 'N4*JOLIET*IL',
    'LX*1', 'AT7*X6*NS***20250414*1136*CT', 'CD3*PKG1', 'AT7*D1*NS***20250415*0900*CT', 'MS1*CDCITY*MO', 'MS2*PRLF*CDTRAILER',
    'SE*11*0001',
  ];
  const x12 = ['ISA*00*          *00*          *02*PRLF           *ZZ*TRICOUNTYHWS   *250416*1105*U*00401*000002291*0*P*>',
    'GS*QM*PRLF*TRICOUNTYHWS*20250416*1105*2291*X*004010', ...seg, 'GE*1*2291', 'IEA*1*000002291'].join('~\n') + '~\n';
  const [{ ctx, d }] = transactions(x12);
  const at7 = evalLoops(parseX12Path('LX/AT7', 'loop'), ctx.node, d);

  it("an AT7 of the LX never reads the MS1 or MS2 of the CD3 loop's AT7 (another status)", () => {
    expect(at7.map((n) => values('AT7.01', n, d, false)[0])).toEqual(['X6', 'D1']);
    expect(values('MS1.01', at7[0], d)).toEqual([]);
    expect(evalFirst(parseX12Path('MS2.02', 'value'), at7[0], d)).toBeUndefined();
    expect(values('MS2.02', at7[1], d)).toEqual(['CDTRAILER']);
    // The CD3 loop itself and the heading stay visible.
    expect(values('CD3.01', at7[0], d)).toEqual(['PKG1']);
    expect(values('N4.01', at7[0], d)).toEqual(['JOLIET']);
    expect(values('B10.01', at7[1], d)).toEqual(['PRO1']);
  });

  it('a loop path from that AT7 still gets the CD3 loop whole, its AT7 included', () => {
    const [cd3] = evalLoops(parseX12Path('CD3', 'loop'), at7[0], d);
    expect(values('AT7.01', cd3, d)).toEqual(['D1']);
    expect(values('MS2.02', cd3, d)).toEqual(['CDTRAILER']);
  });
});

describe('each over repeated segments (fixtures/edi/210/004010/ltl-invoice-n9.edi)', () => {
  const { ctx, d } = fixtureTx('210/004010/ltl-invoice-n9.edi');

  it('LX/L1 gives one context per L1, enclosed by its LX loop', () => {
    const l1s = evalLoops(parseX12Path('LX/L1', 'loop'), ctx.node, d);
    expect(l1s).toHaveLength(3);
    expect(l1s.map((c) => values('L1.08', c, d, false)[0])).toEqual(['400', '405', 'DSC']);
    // L5 is a sibling of the L1 in the same LX: visible through the enclosing context.
    expect(l1s.map((c) => values('L5.02', c, d, false)[0])).toEqual(['HARDWARE NOI', 'FUEL SURCHARGE', 'CONTRACT DISCOUNT']);
    // Header segments stay visible.
    expect(values('B3.02', l1s[2], d)).toEqual(['0048213377']);
  });

  it('a segment step that is neither a loop nor present gives no contexts', () => {
    expect(evalLoops(parseX12Path('LX/L7', 'loop'), ctx.node, d)).toEqual([]);
    expect(evalLoops(parseX12Path('N9', 'loop'), ctx.node, d)).toHaveLength(3);
  });
});

describe('components and repetitions', () => {
  const d5010: Delimiters = { element: '|', component: '^', repetition: '{', segment: '~' };
  const d4010: Delimiters = { element: '*', component: '>', repetition: null, segment: '~' };
  const seg = (id: string, ...els: string[]): Segment => ({ id, elements: [id, ...els], loc: { offset: 0, line: 1, column: 1 }, position: 1 });
  const node = (...segments: Segment[]): LoopNode => ({ id: 'ST', trigger: 'ST', segments, children: [], parent: null });

  it('.NN.N addresses a component', () => {
    const n = node(seg('AK4', '6^2^1', '373', '8'));
    expect(values('AK4.01.1', n, d5010)).toEqual(['6']);
    expect(values('AK4.01.2', n, d5010)).toEqual(['2']);
    expect(values('AK4.01.3', n, d5010)).toEqual(['1']);
    expect(values('AK4.01.4', n, d5010)).toEqual([]);
    expect(values('AK4.01', n, d5010)).toEqual(['6^2^1']);
  });

  it('#N addresses a repetition (5010), and a component inside it', () => {
    const n = node(seg('CTX', 'SITUATIONAL TRIGGER{CLM01^123456', 'CLM', '5'));
    expect(values('CTX.01#1', n, d5010)).toEqual(['SITUATIONAL TRIGGER']);
    expect(values('CTX.01#2', n, d5010)).toEqual(['CLM01^123456']);
    expect(values('CTX.01.2#2', n, d5010)).toEqual(['123456']);
    expect(values('CTX.01#3', n, d5010)).toEqual([]);
    // Without a repetition number, a repeated element gives its first repetition.
    expect(values('CTX.01', n, d5010)).toEqual(['SITUATIONAL TRIGGER']);
  });

  it('without a repetition separator (4010) only #1 has a value', () => {
    const n = node(seg('L11', 'A{B', 'PO'));
    expect(values('L11.01#1', n, d4010)).toEqual(['A{B']);
    expect(values('L11.01#2', n, d4010)).toEqual([]);
  });

  it('filters can look at a component', () => {
    const n = node(seg('AK4', '6^2', 'X'), seg('AK4', '7^3', 'Y'));
    expect(values('AK4[01.2=3].02', n, d5010)).toEqual(['Y']);
  });

  it('a path names the element of the first matching segment; an empty one is absent (never mixed with the next segment)', () => {
    const n = node(seg('N9', 'BM', ''), seg('N9', 'BM', 'SECOND'));
    expect(values('N9[01=BM].02', n, d4010, false)).toEqual([]);
    expect(values('N9[01=BM].02', n, d4010, true)).toEqual(['SECOND']);
  });
});

describe("'./': directly inside the current context (a 4010 210 with N1 loops in the heading, an S5 stop and an LX line)", () => {
  const seg = [
    'ST*210*0001', 'B3**INV1*PRO1*PP**20250416*12500**035*PRLF', 'N1*SH*SHIPPER', 'N4*JOLIET*IL', 'N1*CN*CONSIGNEE', 'N4*DENVER*CO',
    'S5*1*CL', 'N1*SF*STOP SHIPPER', 'N4*AURORA*IL',
    'LX*1', 'L1*1*10*FR*12500****400', 'N1*CN*LINE CONSIGNEE', 'N4*BOULDER*CO',
    'L3*1000*G', 'SE*15*0001',
  ];
  const x12 = ['ISA*00*          *00*          *02*PRLF           *ZZ*TRICOUNTYHWS   *250416*1105*U*00401*000002291*0*P*>',
    'GS*IM*PRLF*TRICOUNTYHWS*20250416*1105*2291*X*004010', ...seg, 'GE*1*2291', 'IEA*1*000002291'].join('~\n') + '~\n';
  const [{ ctx, d }] = transactions(x12);
  const names = (nodes: LoopNode[]) => nodes.map((n) => values('N1.02', n, d, false)[0]);

  it('parses, with its own cache slot, and refuses a second prefix', () => {
    const p = parseX12Path('./N1[01=SH]/N4.01', 'value');
    expect(p).toMatchObject({ absolute: false, direct: true, loops: [{ segment: 'N1' }], target: { segment: 'N4', element: 1 } });
    const slots = new SegmentSlots();
    expect(parseX12Path('./N1/N4.01', 'value', slots).segmentSlot).not.toBe(parseX12Path('N1/N4.01', 'value', slots).segmentSlot);
    expect(syntaxError('./')).toMatchObject({ message: 'empty path' });
    expect(syntaxError('.//N1.01').message).toMatch(/at most one of/);
    expect(syntaxError('././N1.01').message).toMatch(/at most one of/);
  });

  it('each: N1 takes the N1 loops at any depth; each: ./N1 the heading ones only', () => {
    expect(names(evalLoops(parseX12Path('N1', 'loop'), ctx.node, d))).toEqual(['SHIPPER', 'CONSIGNEE', 'STOP SHIPPER', 'LINE CONSIGNEE']);
    expect(names(evalLoops(parseX12Path('./N1', 'loop'), ctx.node, d))).toEqual(['SHIPPER', 'CONSIGNEE']);
    // From an S5 iteration, ./N1 is the stop's own.
    const [stop] = evalLoops(parseX12Path('S5', 'loop'), ctx.node, d);
    expect(names(evalLoops(parseX12Path('./N1', 'loop'), stop, d))).toEqual(['STOP SHIPPER']);
  });

  it('value paths: ./ looks only directly inside the context, never in the enclosing loops', () => {
    expect(values('N1[01=CN]/N4.01', ctx.node, d)).toEqual(['DENVER', 'BOULDER']);
    expect(values('./N1[01=CN]/N4.01', ctx.node, d)).toEqual(['DENVER']);
    const [lx] = evalLoops(parseX12Path('LX', 'loop'), ctx.node, d);
    // Without ./ a missing segment is looked for in the enclosing loops (the heading's B3); with it, not.
    expect(values('B3.02', lx, d)).toEqual(['INV1']);
    expect(values('./B3.02', lx, d)).toEqual([]);
    expect(evalFirst(parseX12Path('./B3.02', 'value', new SegmentSlots()), lx, d)).toBeUndefined();
    expect(evalFirst(parseX12Path('./N1/N4.01', 'value', new SegmentSlots()), lx, d)).toBe('BOULDER');
    // ./L3 is the transaction's own L3 (a summary segment of the root), not one inside a loop.
    expect(values('./L3.01', ctx.node, d)).toEqual(['1000']);
    expect(values('./L1.01', ctx.node, d)).toEqual([]);
  });

  it('each: ./L1 takes the repeated segments of the context itself', () => {
    const [lx] = evalLoops(parseX12Path('LX', 'loop'), ctx.node, d);
    expect(evalLoops(parseX12Path('./L1', 'loop'), lx, d)).toHaveLength(1);
    expect(evalLoops(parseX12Path('./L1', 'loop'), ctx.node, d)).toEqual([]);
  });
});
