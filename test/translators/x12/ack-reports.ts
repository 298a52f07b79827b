// Hand-made validation reports (the input of the ack builders) for tests.
import { catalogue, type ErrorCode } from '../../../src/errors/catalogue.js';
import type {
  Delimiters,
  GroupReport,
  InterchangeReport,
  Segment,
  TransactionReport,
  X12Event,
  X12Issue,
} from '../../../src/translators/x12/model.js';

const LOC = { offset: 0, line: 1, column: 1 };

export const D4010: Delimiters = { element: '*', component: '>', repetition: null, segment: '~' };
export const D5010: Delimiters = { element: '*', component: ':', repetition: '^', segment: '~' };

export function seg(elements: string[], position = 0): Segment {
  return { id: elements[0], elements, loc: LOC, position };
}

export function iss(code: ErrorCode, extra: Partial<X12Issue> = {}): X12Issue {
  return { code, severity: catalogue[code].severity, message: catalogue[code].summary, loc: LOC, ...extra };
}

export function tx(setId: string, control: string, issues: X12Issue[] = [], extra: Partial<TransactionReport> = {}): TransactionReport {
  return {
    setId,
    control,
    loc: LOC,
    segmentCount: 10,
    issues,
    valid: !issues.some((i) => i.severity === 'error'),
    schemaChecked: true,
    ...extra,
  };
}

export function group(
  functionalId: string,
  control: string,
  version: string,
  transactions: TransactionReport[],
  issues: X12Issue[] = [],
  declaredCount: number | null = transactions.length,
  parties: { sender?: string; receiver?: string } = {},
): GroupReport {
  const sender = parties.sender ?? 'PARTNERAPP';
  const receiver = parties.receiver ?? 'WAYBILLAPP';
  return {
    header: {
      gs: seg(['GS', functionalId, sender, receiver, '20250101', '1200', control, 'X', version]),
      functionalId,
      senderId: sender,
      receiverId: receiver,
      date: '20250101',
      time: '1200',
      control,
      agency: 'X',
      version,
    },
    transactions,
    issues,
    declaredCount,
  };
}

export function interchange(
  groups: GroupReport[],
  opts: { issues?: X12Issue[]; ackRequested?: boolean; version?: string; delimiters?: Delimiters; control?: string; usage?: string; ta1s?: Segment[] } = {},
): InterchangeReport {
  const version = opts.version ?? '00401';
  const delimiters = opts.delimiters ?? (version >= '00402' ? D5010 : D4010);
  const control = opts.control ?? '000000123';
  const usage = opts.usage ?? 'P';
  const isa = seg([
    'ISA', '00', '          ', '00', '          ', 'ZZ', 'PARTNER        ', '01', 'WAYBILL        ',
    '250101', '1200', delimiters.repetition ?? 'U', version, control, opts.ackRequested ? '1' : '0', usage, delimiters.component,
  ]);
  return {
    header: {
      isa,
      delimiters,
      senderQualifier: 'ZZ',
      senderId: 'PARTNER        ',
      receiverQualifier: '01',
      receiverId: 'WAYBILL        ',
      date: '250101',
      time: '1200',
      version,
      control,
      ackRequested: !!opts.ackRequested,
      usage,
    },
    groups,
    issues: opts.issues ?? [],
    ta1s: opts.ta1s ?? [],
  };
}

/** Splits simple X12 text (no ISA needed) into segments: for bare transaction sets in the corpus. */
export function splitSegments(text: string, d: { element: string; segment: string }): Segment[] {
  let position = 0;
  return text
    .split(d.segment)
    .map((s) => s.replace(/^[\r\n]+|[\r\n]+$/g, ''))
    .filter((s) => s !== '')
    .map((s) => {
      const elements = s.split(d.element);
      if (elements[0] === 'ST') position = 0;
      position++;
      return seg(elements, position);
    });
}

/**
 * Envelope-only reports from reader events (a stand-in for the validator in tests): transaction issues
 * are the reader's envelope findings; stray issue events go to the open group or interchange.
 */
export function reportsFromEvents(events: Iterable<X12Event>): InterchangeReport[] {
  const out: InterchangeReport[] = [];
  let ic: InterchangeReport | null = null;
  let g: GroupReport | null = null;
  for (const e of events) {
    switch (e.type) {
      case 'interchange-start':
        ic = { header: e.header, groups: [], issues: [...e.issues], ta1s: [] };
        out.push(ic);
        break;
      case 'group-start':
        g = { header: e.header, transactions: [], issues: [...e.issues], declaredCount: null };
        ic?.groups.push(g);
        break;
      case 'transaction': {
        const t = e.transaction;
        g?.transactions.push({
          setId: t.setId,
          control: t.control,
          implementationRef: t.implementationRef,
          loc: t.segments[0]?.loc ?? { offset: 0, line: 1, column: 1 },
          segmentCount: t.segments.length,
          issues: t.issues,
          valid: !t.issues.some((i) => i.severity === 'error'),
          schemaChecked: false,
        });
        break;
      }
      case 'group-end':
        if (g) {
          g.issues.push(...e.issues);
          g.declaredCount = e.trailer && /^\d+$/.test(e.trailer.elements[1] ?? '') ? Number(e.trailer.elements[1]) : null;
        }
        g = null;
        break;
      case 'interchange-end':
        ic?.issues.push(...e.issues);
        ic = null;
        break;
      case 'ta1':
        ic?.ta1s.push(e.segment);
        break;
      case 'issue':
        (g ?? ic)?.issues.push(e.issue);
        break;
      case 'interchange-issue':
        out.find((r) => r.header === e.header)?.issues.push(e.issue);
        break;
    }
  }
  return out;
}
