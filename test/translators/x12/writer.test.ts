import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WaybillError } from '../../../src/errors/catalogue.js';
import type { X12Event } from '../../../src/translators/x12/model.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';
import {
  X12Writer,
  formatX12Date,
  formatX12Time,
  interchangeChunks,
  streamInterchange,
  writeInterchange,
  writeInterchangeTo,
  type InterchangeInput,
  type ElementValue,
  type IsaHeader,
  type TransactionInput,
  type WriteSegment,
  type WriterDelimiters,
} from '../../../src/translators/x12/writer.js';

const STAR: WriterDelimiters = { element: '*', component: '>', repetition: null, segment: '~', suffix: '\n' };
const STAR5: WriterDelimiters = { element: '*', component: '>', repetition: '^', segment: '~', suffix: '\n' };
const PIPE: WriterDelimiters = { element: '|', component: '^', repetition: null, segment: '\n' };
const PIPE5: WriterDelimiters = { element: '|', component: '^', repetition: '{', segment: '\n' };

const isa = (over: Partial<IsaHeader> = {}): IsaHeader => ({
  senderQualifier: 'ZZ',
  senderId: 'WAYBILL',
  receiverQualifier: 'ZZ',
  receiverId: 'CARRIER',
  date: '250101',
  time: '1200',
  version: '00401',
  control: 42,
  ...over,
});

const tender204: TransactionInput = {
  setId: '204',
  control: 1,
  segments: [
    ['B2', '', 'SCAC', '', 'SHIP123', '', 'PP'],
    ['B2A', '00'],
    ['L11', 'PO123', 'PO'],
    ['S5', '1', 'LD'],
    ['N1', 'SH', 'ACME WAREHOUSE', '93', 'W1'],
    ['G62', '69', '20250102', 'U', '0800'],
    ['L3', '1000', 'G', '', '', '', '', '', '', '', '', '', ''],
  ],
};

function input204(header: IsaHeader = isa()): InterchangeInput {
  return {
    header,
    groups: [
      {
        header: { functionalId: 'SM', senderId: 'WAYBILL', receiverId: 'CARRIER', date: '20250101', time: '1200', control: 7, version: '004010' },
        transactions: [tender204],
      },
    ],
  };
}

const status214: TransactionInput = {
  setId: '214',
  control: '0001',
  segments: [
    ['B10', 'PRO123', 'SHIP123', 'SCAC'],
    ['LX', '1'],
    ['AT7', 'X1', 'NS', '', '', '20250102', '1430', 'LT'],
    ['MS1', 'CHICAGO', 'IL', 'US'],
    ['AT8', 'G', 'L', '1000', '10'],
    ['L11', ['A', 'B'], 'ZZ'],
  ],
};

describe('writer: exact output', () => {
  it('writes a 204 with * > ~\\n', () => {
    expect(writeInterchange(input204(), STAR)).toBe(
      [
        'ISA*00*          *00*          *ZZ*WAYBILL        *ZZ*CARRIER        *250101*1200*U*00401*000000042*0*P*>~',
        'GS*SM*WAYBILL*CARRIER*20250101*1200*7*X*004010~',
        'ST*204*0001~',
        'B2**SCAC**SHIP123**PP~',
        'B2A*00~',
        'L11*PO123*PO~',
        'S5*1*LD~',
        'N1*SH*ACME WAREHOUSE*93*W1~',
        'G62*69*20250102*U*0800~',
        'L3*1000*G~',
        'SE*9*0001~',
        'GE*1*7~',
        'IEA*1*000000042~',
        '',
      ].join('\n'),
    );
  });

  it('writes a 204 with | ^ \\n', () => {
    expect(writeInterchange(input204(isa({ usage: 'T', ackRequested: true })), PIPE)).toBe(
      [
        'ISA|00|          |00|          |ZZ|WAYBILL        |ZZ|CARRIER        |250101|1200|U|00401|000000042|1|T|^',
        'GS|SM|WAYBILL|CARRIER|20250101|1200|7|X|004010',
        'ST|204|0001',
        'B2||SCAC||SHIP123||PP',
        'B2A|00',
        'L11|PO123|PO',
        'S5|1|LD',
        'N1|SH|ACME WAREHOUSE|93|W1',
        'G62|69|20250102|U|0800',
        'L3|1000|G',
        'SE|9|0001',
        'GE|1|7',
        'IEA|1|000000042',
        '',
      ].join('\n'),
    );
  });

  const input214 = (): InterchangeInput => ({
    header: isa({ control: '17', version: '00501', senderQualifier: '02', senderId: 'SCAC', receiverQualifier: '01', receiverId: '123456789' }),
    groups: [
      {
        header: { functionalId: 'QM', senderId: 'SCAC', receiverId: 'SHIPPER', date: '20250102', time: '143015', control: '1017', version: '005010' },
        transactions: [{ ...status214, segments: [...status214.segments, ['N9', 'ZZ', '', '', '', '', '', [['A', '1'], ['B', '2']]]] }],
      },
    ],
  });

  it('writes a 214 (5010, composite and repeating element) with * > ^ ~\\n', () => {
    expect(writeInterchange(input214(), STAR5)).toBe(
      [
        'ISA*00*          *00*          *02*SCAC           *01*123456789      *250101*1200*^*00501*000000017*0*P*>~',
        'GS*QM*SCAC*SHIPPER*20250102*143015*1017*X*005010~',
        'ST*214*0001~',
        'B10*PRO123*SHIP123*SCAC~',
        'LX*1~',
        'AT7*X1*NS***20250102*1430*LT~',
        'MS1*CHICAGO*IL*US~',
        'AT8*G*L*1000*10~',
        'L11*A>B*ZZ~',
        'N9*ZZ******A>1^B>2~',
        'SE*9*0001~',
        'GE*1*1017~',
        'IEA*1*000000017~',
        '',
      ].join('\n'),
    );
  });

  it('writes the same 214 with | ^ { \\n', () => {
    expect(writeInterchange(input214(), PIPE5)).toBe(
      [
        'ISA|00|          |00|          |02|SCAC           |01|123456789      |250101|1200|{|00501|000000017|0|P|^',
        'GS|QM|SCAC|SHIPPER|20250102|143015|1017|X|005010',
        'ST|214|0001',
        'B10|PRO123|SHIP123|SCAC',
        'LX|1',
        'AT7|X1|NS|||20250102|1430|LT',
        'MS1|CHICAGO|IL|US',
        'AT8|G|L|1000|10',
        'L11|A^B|ZZ',
        'N9|ZZ||||||A^1{B^2',
        'SE|9|0001',
        'GE|1|1017',
        'IEA|1|000000017',
        '',
      ].join('\n'),
    );
  });

  it('writes a 997 given as a full ST..SE list (SE recomputed) and a TA1 before the groups', () => {
    const ack: WriteSegment[] = [
      ['ST', '997', '0005'],
      ['AK1', 'SM', '7'],
      ['AK2', '204', '0001'],
      ['AK3', 'N1', '5', '', '8'],
      ['AK4', ['2', '1'], '98', '7', 'XX'],
      ['AK5', 'R', '5'],
      ['AK9', 'R', '1', '1', '0'],
      ['SE', '999', 'WRONG'],
    ];
    const text = writeInterchange(
      {
        header: isa({ senderId: 'CARRIER', receiverId: 'WAYBILL', control: '000000900' }),
        ta1s: [['TA1', '000000042', '250101', '1200', 'A', '000']],
        groups: [{ header: { functionalId: 'FA', senderId: 'CARRIER', receiverId: 'WAYBILL', date: '20250101', time: '1205', control: '900', version: '004010' }, transactions: [ack] }],
      },
      STAR,
    );
    expect(text.split('\n').slice(1)).toEqual([
      'TA1*000000042*250101*1200*A*000~',
      'GS*FA*CARRIER*WAYBILL*20250101*1205*900*X*004010~',
      'ST*997*0005~',
      'AK1*SM*7~',
      'AK2*204*0001~',
      'AK3*N1*5**8~',
      'AK4*2>1*98*7*XX~',
      'AK5*R*5~',
      'AK9*R*1*1*0~',
      'SE*8*0005~',
      'GE*1*900~',
      'IEA*1*000000900~',
      '',
    ]);
    expect(writeInterchange({ header: isa(), groups: [{ header: { functionalId: 'FA', senderId: 'A', receiverId: 'B', date: '20250101', time: '1205', control: 1, version: '004010' }, transactions: [ack] }] }, PIPE)).toContain(
      'AK4|2^1|98|7|XX\nAK5|R|5\nAK9|R|1|1|0\nSE|8|0005\nGE|1|1\nIEA|1|000000042\n',
    );
  });

  it('writes an interchange with no groups (IEA01 = 0) and keeps mid-segment empty elements', () => {
    const text = writeInterchange({ header: isa(), ta1s: [['TA1', '000000001', '250101', '1200', 'R', '022']], groups: [] }, STAR);
    expect(text.endsWith('TA1*000000001*250101*1200*R*022~\nIEA*0*000000042~\n')).toBe(true);
    const w = new X12Writer(STAR);
    expect(w.formatSegment(['N1', '', 'X', '', ''])).toBe('N1**X~\n');
    expect(w.formatSegment(['N1', ['', 'A', ''], ''])).toBe('N1*>A~\n');
    expect(w.formatSegment(['DTM'])).toBe('DTM~\n');
    expect(new X12Writer(STAR, { trimTrailingEmpty: false }).formatSegment(['N1', 'A', '', ''])).toBe('N1*A**~\n');
  });

  it('is deterministic', () => {
    expect(writeInterchange(input204(), STAR)).toBe(writeInterchange(input204(), STAR));
  });
});

describe('writer: ISA', () => {
  it('is exactly 106 characters including the terminator, whatever the field lengths', () => {
    const headers: IsaHeader[] = [
      isa(),
      isa({ senderId: '123456789012345', receiverId: 'X', control: 0 }),
      isa({ control: '999999999', authorization: 'AUTH', security: 'SECRET1234', usage: 'T', ackRequested: '1', version: '00501' }),
    ];
    for (const h of headers) {
      for (const d of [STAR, PIPE, PIPE5]) {
        const line = new X12Writer({ ...d, suffix: '' }).formatIsa(h);
        expect(line).toHaveLength(106);
        expect(line[3]).toBe(d.element);
        expect(line[104]).toBe(d.component);
        expect(line[105]).toBe(d.segment);
      }
    }
    expect(new X12Writer(STAR).formatIsa(isa({ control: 5 }))).toContain('*000000005*');
  });

  it('refuses ISA values that do not fit', () => {
    const w = new X12Writer(STAR);
    const tooLong: Array<[Partial<IsaHeader>, number]> = [
      [{ senderId: '1234567890123456' }, 6],
      [{ receiverId: 'A VERY LONG RECEIVER' }, 8],
      [{ control: '1234567890' }, 13],
      [{ authorization: '12345678901' }, 2],
      [{ senderQualifier: 'ZZZ' }, 5],
      [{ date: '20250101' }, 9],
    ];
    for (const [over, pos] of tooLong) {
      let err: unknown;
      try {
        w.formatIsa(isa(over));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WaybillError);
      expect((err as WaybillError).code).toBe('X12_WRITE_VALUE_TOO_LONG');
      expect((err as WaybillError).details.elementPosition).toBe(pos);
    }
    const invalid: Partial<IsaHeader>[] = [{ date: '2501' }, { time: '12' }, { version: '401' }, { control: '12A' }, { control: -1 }, { control: 1.5 }, { senderQualifier: 'Z' }];
    for (const over of invalid) {
      expect(() => w.formatIsa(isa(over))).toThrow(expect.objectContaining({ code: 'X12_WRITE_VALUE_INVALID' }));
    }
    expect(() => w.formatIsa(isa({ senderId: 'A*B' }))).toThrow(expect.objectContaining({ code: 'X12_WRITE_DELIMITER_IN_DATA' }));
  });

  it('formats dates and times in UTC', () => {
    const d = new Date(Date.UTC(2025, 0, 2, 9, 5, 7));
    expect(formatX12Date(d, 6)).toBe('250102');
    expect(formatX12Date(d)).toBe('20250102');
    expect(formatX12Time(d)).toBe('0905');
  });
});

describe('writer: refusals', () => {
  function caught(fn: () => unknown): WaybillError {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(WaybillError);
      return e as WaybillError;
    }
    throw new Error('expected a throw');
  }

  it('refuses a value containing the element separator, naming segment and element', () => {
    const input = input204();
    (input.groups as { transactions: TransactionInput[] }[])[0].transactions = [
      { ...tender204, segments: tender204.segments.map((s) => (s[0] === 'N1' ? ['N1', 'SH', 'ACME*WAREHOUSE', '93', 'W1'] : s)) },
    ];
    const err = caught(() => writeInterchange(input, STAR));
    expect(err.code).toBe('X12_WRITE_DELIMITER_IN_DATA');
    expect(err.message).toContain('N102');
    expect(err.message).toContain('position 6 of transaction 0001');
    expect(err.details).toMatchObject({ segmentId: 'N1', elementPosition: 2, position: 6, segmentIndex: 7, delimiter: 'element', character: '*', transactionControl: '0001', groupControl: '7' });
  });

  it('refuses component, repetition, terminator and suffix characters at every level', () => {
    const w = new X12Writer(STAR5);
    expect(caught(() => w.formatSegment(['N1', 'SH', 'A>B'])).details).toMatchObject({ delimiter: 'component', elementPosition: 2 });
    expect(caught(() => w.formatSegment(['N1', 'SH', 'A^B'])).details).toMatchObject({ delimiter: 'repetition' });
    expect(caught(() => w.formatSegment(['N1', 'SH', 'A~B'])).details).toMatchObject({ delimiter: 'segment' });
    expect(caught(() => w.formatSegment(['N1', 'SH', 'A\nB'])).details).toMatchObject({ delimiter: 'suffix' });
    expect(caught(() => w.formatSegment(['C1', ['A', 'B*C']])).details).toMatchObject({ elementPosition: 1, componentPosition: 2 });
    expect(caught(() => w.formatSegment(['C1', [['A'], ['B', 'C~']]])).details).toMatchObject({ elementPosition: 1, componentPosition: 2, repetition: 2 });
    const pipe = new X12Writer(PIPE);
    expect(caught(() => pipe.formatSegment(['N1', 'SH', 'line1\nline2'])).details).toMatchObject({ delimiter: 'segment' });
    expect(pipe.formatSegment(['N1', 'SH', 'A*B>C~D'])).toBe('N1|SH|A*B>C~D\n');
  });

  it('refuses repetitions when there is no repetition separator, and bad segment ids', () => {
    const w = new X12Writer(STAR);
    expect(caught(() => w.formatSegment(['N9', [['A'], ['B']]])).code).toBe('X12_WRITE_VALUE_INVALID');
    expect(w.formatSegment(['N9', [['A'], ['']]])).toBe('N9*A~\n');
    expect(caught(() => w.formatSegment(['n1', 'x'])).code).toBe('X12_WRITE_VALUE_INVALID');
    expect(caught(() => w.formatSegment(['N1*', 'x'])).code).toBe('X12_WRITE_VALUE_INVALID');
  });

  it('refuses delimiter sets that are not distinct, single, non-alphanumeric characters', () => {
    const bad: WriterDelimiters[] = [
      { element: '*', component: '*', repetition: null, segment: '~' },
      { element: '*', component: '>', repetition: '~', segment: '~' },
      { element: 'A', component: '>', repetition: null, segment: '~' },
      { element: '*', component: '1', repetition: null, segment: '~' },
      { element: '**', component: '>', repetition: null, segment: '~' },
      { element: '', component: '>', repetition: null, segment: '~' },
      { element: ' ', component: '>', repetition: null, segment: '~' },
      { element: '*', component: '>', repetition: null, segment: '~', suffix: ' ' },
      { element: '|', component: '^', repetition: null, segment: '\n', suffix: '\n' },
      { element: '*', component: '\n', repetition: null, segment: '~', suffix: '\r\n' },
    ];
    for (const d of bad) expect(caught(() => new X12Writer(d)).code).toBe('X12_WRITE_INVALID_DELIMITERS');
    expect(() => new X12Writer({ element: '*', component: '>', repetition: null, segment: '~', suffix: '\r\n' })).not.toThrow();
    expect(() => new X12Writer({ element: '\u001d', component: '\u001f', repetition: '\u001e', segment: '\u0015' })).not.toThrow();
  });

  it('refuses bad envelope control numbers and keeps its state after a refused transaction', () => {
    const w = new X12Writer(STAR);
    w.beginInterchange(isa());
    expect(caught(() => w.beginGroup({ functionalId: 'SM', senderId: 'A', receiverId: 'B', date: '20250101', time: '1200', control: 'X1', version: '004010' })).code).toBe(
      'X12_WRITE_VALUE_INVALID',
    );
    w.beginGroup({ functionalId: 'SM', senderId: 'A', receiverId: 'B', date: '20250101', time: '1200', control: 3, version: '004010' });
    expect(caught(() => w.transaction({ setId: '204', control: '12', segments: [] })).details).toMatchObject({ elementPosition: 2 });
    expect(caught(() => w.transaction({ setId: '204', control: 1, segments: [['B2', 'A~']] })).code).toBe('X12_WRITE_DELIMITER_IN_DATA');
    expect(caught(() => w.transaction({ setId: '204', control: 1, segments: [['SE', '1', '0001']] })).code).toBe('X12_WRITE_VALUE_INVALID');
    expect(w.transaction({ setId: '204', control: 2, segments: [['B2', 'A']] })).toBe('ST*204*0002~\nB2*A~\nSE*3*0002~\n');
    expect(w.endGroup()).toBe('GE*1*3~\n');
    expect(w.endInterchange()).toBe('IEA*1*000000042~\n');
  });

  it('throws on misuse of the envelope order', () => {
    const w = new X12Writer(STAR);
    expect(() => w.transaction({ setId: '204', control: 1, segments: [] })).toThrow(/outside an interchange/);
    w.beginInterchange(isa());
    expect(() => w.endGroup()).toThrow();
    w.beginGroup({ functionalId: 'SM', senderId: 'A', receiverId: 'B', date: '20250101', time: '1200', control: 3, version: '004010' });
    expect(() => w.ta1(['TA1'])).toThrow();
    expect(() => w.endInterchange()).toThrow(/inside a group/);
  });
});

describe('writer: streaming', () => {
  async function* slowTransactions(n: number): AsyncGenerator<TransactionInput> {
    for (let i = 1; i <= n; i++) {
      await Promise.resolve();
      yield { setId: '214', control: i, segments: [['B10', `PRO${i}`, `SHIP${i}`, 'SCAC'], ['LX', '1']] };
    }
  }
  const header = { functionalId: 'QM', senderId: 'SCAC', receiverId: 'SHIPPER', date: '20250102', time: '1430', control: 5, version: '004010' };

  it('yields one chunk per envelope segment or transaction set, equal to the in-memory form', async () => {
    const chunks: string[] = [];
    for await (const c of streamInterchange({ header: isa(), groups: [{ header, transactions: slowTransactions(3) }] }, STAR)) chunks.push(c);
    expect(chunks).toHaveLength(1 + 1 + 3 + 1 + 1);
    expect(chunks[2]).toBe('ST*214*0001~\nB10*PRO1*SHIP1*SCAC~\nLX*1~\nSE*4*0001~\n');
    const all: TransactionInput[] = [];
    for await (const t of slowTransactions(3)) all.push(t);
    const inMemory = writeInterchange({ header: isa(), groups: [{ header, transactions: all }] }, STAR);
    expect(chunks.join('')).toBe(inMemory);
    expect([...interchangeChunks({ header: isa(), groups: [{ header, transactions: all }] }, STAR)].join('')).toBe(inMemory);
  });

  it('writes into a Writable, waiting for drain', async () => {
    let out = '';
    let writes = 0;
    const sink = new Writable({
      highWaterMark: 16,
      decodeStrings: false,
      write(chunk: string, _enc, cb) {
        out += chunk;
        writes++;
        setImmediate(cb);
      },
    });
    await writeInterchangeTo(sink, { header: isa(), groups: [{ header, transactions: slowTransactions(200) }] }, STAR, { end: true });
    expect(writes).toBe(204);
    expect(out.split('\n').filter((l) => l.startsWith('ST*'))).toHaveLength(200);
    expect(out.endsWith('GE*200*5~\nIEA*1*000000042~\n')).toBe(true);
  });

  it('surfaces a refusal from the middle of a stream', async () => {
    async function* txs(): AsyncGenerator<TransactionInput> {
      yield { setId: '214', control: 1, segments: [['LX', '1']] };
      yield { setId: '214', control: 2, segments: [['LX', '1*2']] };
    }
    const sink = new PassThrough();
    sink.resume();
    await expect(writeInterchangeTo(sink, { header: isa(), groups: [{ header, transactions: txs() }] }, STAR)).rejects.toMatchObject({
      code: 'X12_WRITE_DELIMITER_IN_DATA',
      details: expect.objectContaining({ transactionControl: '0002', position: 2 }),
    });
  });
});

/** The raw element text a reader should see for a written value (independent of the writer's code). */
function trimEmpty(a: string[], keep = 0): string[] {
  const out = [...a];
  while (out.length > keep && out[out.length - 1] === '') out.pop();
  return out;
}
function raw(v: ElementValue, d: WriterDelimiters): string {
  if (typeof v === 'string') return v;
  const items = v as readonly (string | readonly string[])[];
  if (items.some((x) => Array.isArray(x))) {
    return trimEmpty(items.map((r) => trimEmpty(typeof r === 'string' ? [r] : [...r]).join(d.component))).join(d.repetition ?? '');
  }
  return trimEmpty([...(items as string[])]).join(d.component);
}

describe('writer: round trip through the reader', () => {
  function transactions(text: string): { events: X12Event[]; segments: string[][][] } {
    const events = [...readX12Sync(text)];
    const segments = events.flatMap((e) => (e.type === 'transaction' ? [e.transaction.segments.map((s) => s.elements)] : []));
    return { events, segments };
  }

  const cases: Array<[string, WriterDelimiters, InterchangeInput]> = [
    ['204 star', STAR, input204()],
    ['204 pipe', PIPE, input204()],
    ['214 5010 pipe', PIPE5, { header: isa({ version: '00501' }), groups: [{ header: { functionalId: 'QM', senderId: 'A', receiverId: 'B', date: '20250101', time: '1200', control: 1, version: '005010' }, transactions: [status214] }] }],
    ['214 5010 crlf', { ...STAR5, suffix: '\r\n' }, { header: isa({ version: '00501' }), groups: [{ header: { functionalId: 'QM', senderId: 'A', receiverId: 'B', date: '20250101', time: '1200', control: 1, version: '005010' }, transactions: [status214, { ...status214, control: '0002' }] }] }],
  ];

  for (const [name, d, input] of cases) {
    it(`reads back ${name} with the same segments and no issues`, () => {
      const text = writeInterchange(input, d);
      const { events, segments } = transactions(text);
      const issues = events.flatMap((e) => ('issues' in e ? e.issues : e.type === 'issue' ? [e.issue] : e.type === 'transaction' ? e.transaction.issues : []));
      expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
      const start = events.find((e) => e.type === 'interchange-start');
      expect(start?.type === 'interchange-start' && start.header.delimiters).toEqual({ element: d.element, component: d.component, repetition: d.repetition, segment: d.segment });
      const expected = [...input.groups].flatMap((g) =>
        [...g.transactions].map((tx) => {
          const t = tx as TransactionInput;
          const control = typeof t.control === 'number' ? String(t.control).padStart(4, '0') : t.control;
          const all: WriteSegment[] = [['ST', t.setId, control], ...t.segments, ['SE', String(t.segments.length + 2), control]];
          return all.map((s) => trimEmpty([s[0] as string, ...s.slice(1).map((v) => raw(v, d))], 1));
        }),
      );
      expect(segments).toEqual(expected);
    });
  }
});
