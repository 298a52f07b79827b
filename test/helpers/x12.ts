// Small builders for hand-written X12 in tests: a fixed-width ISA and envelopes with correct counts.
export interface TestDelims {
  element: string;
  component: string;
  repetition?: string;
  segment: string;
  /** Written after each terminator, e.g. '\n'. */
  suffix?: string;
}

export const STAR: TestDelims = { element: '*', component: '>', segment: '~', suffix: '\n' };
export const PIPE: TestDelims = { element: '|', component: '^', repetition: '{', segment: '\n' };

export function isaSegment(d: TestDelims, control = '000000001', version = d.repetition ? '00501' : '00401'): string {
  const f = [
    'ISA', '00', ' '.repeat(10), '00', ' '.repeat(10), 'ZZ', 'SENDERID'.padEnd(15), 'ZZ', 'RECEIVERID'.padEnd(15),
    '250101', '1200', d.repetition ?? 'U', version, control, '0', 'P', d.component,
  ];
  return f.join(d.element);
}

/** One interchange with one group holding the given transaction bodies (segments between ST and SE). */
export function interchange(
  d: TestDelims,
  transactions: { set: string; control: string; body: string[] }[],
  opts: { isaControl?: string; gsControl?: string; functionalId?: string; version?: string } = {},
): string {
  const end = d.segment + (d.suffix ?? '');
  const isaControl = opts.isaControl ?? '000000001';
  const gs = opts.gsControl ?? '1';
  const segs: string[] = [isaSegment(d, isaControl)];
  segs.push(['GS', opts.functionalId ?? 'QM', 'SENDERID', 'RECEIVERID', '20250101', '1200', gs, 'X', opts.version ?? '004010'].join(d.element));
  for (const t of transactions) {
    segs.push(['ST', t.set, t.control].join(d.element));
    segs.push(...t.body);
    segs.push(['SE', String(t.body.length + 2), t.control].join(d.element));
  }
  segs.push(['GE', String(transactions.length), gs].join(d.element));
  segs.push(['IEA', '1', isaControl].join(d.element));
  return segs.map((s) => s + end).join('');
}

/**
 * Raw segments (ST..SE included, counts as written) inside one 004010 interchange and group, with * > ~ and
 * a newline after each segment: for tests that need a segment sequence exactly as given, wrong counts too.
 */
export function wrap4010(...segments: string[]): string {
  return ['ISA*00*          *00*          *02*SENDER         *ZZ*RECEIVER       *240115*0930*U*00401*000000001*0*P*>',
    'GS*QM*SENDER*RECEIVER*20240115*0930*1*X*004010', ...segments, 'GE*1*1', 'IEA*1*000000001', ''].join('~\n');
}
