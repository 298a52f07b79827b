// Reading inbound acknowledgments (997, 999, TA1) into plain results for reconciliation with what we
// sent. Nothing here throws on bad data: an acknowledgment that cannot be interpreted comes back with its
// `problems` (catalogue X12_ACK_MALFORMED; unknown code values are warnings) and whatever could be read.

import { elementIssue, issue } from '../issues.js';
import type { Delimiters, Location, Segment, TransactionSet, X12Issue } from '../model.js';
import { components, element, repetitions } from '../segment-access.js';
import { ackCodeMeaning, type AckCodeList } from './codes.js';

export interface CodeMeaning {
  code: string;
  /** The code's meaning, or null when the code is not in its list. */
  meaning: string | null;
}

export type TransactionAckState = 'accepted' | 'accepted-with-errors' | 'rejected' | 'unknown';
export type GroupAckState = TransactionAckState | 'partially-accepted';

/** A CTX segment of a 999 (segment or element context). */
export interface AckContext {
  /** CTX01 repetitions: context name and reference (e.g. CLM01 / the claim id, or 'SITUATIONAL TRIGGER'). */
  names: { name: string; reference?: string }[];
  segmentId?: string;
  segmentPosition?: number;
  loopId?: string;
  elementPosition?: number;
  componentPosition?: number;
  repetition?: number;
  elementRef?: string;
}

export interface AckElementError {
  /** AK401-1 / IK401-1; null when missing or not a number. */
  position: number | null;
  component?: number;
  repetition?: number;
  /** AK402 data element reference number. */
  ref?: string;
  code: string;
  meaning: string | null;
  /** AK404 copy of the bad data element. */
  badValue?: string;
  context: AckContext[];
}

export interface AckSegmentError {
  segmentId: string;
  /** AK302 position in the transaction set (ST = 1); null when missing or not a number. */
  position: number | null;
  loopId?: string;
  code: string;
  meaning: string | null;
  context: AckContext[];
  elementErrors: AckElementError[];
}

export interface AckedTransaction {
  setId: string;
  control: string;
  implementationRef?: string;
  state: TransactionAckState;
  /** AK501 / IK501; null when the AK5/IK5 is missing. */
  statusCode: string | null;
  statusMeaning: string | null;
  /** AK502-AK506 / IK502-IK506. */
  codes: CodeMeaning[];
  segmentErrors: AckSegmentError[];
}

export interface AckedGroupStatus {
  state: GroupAckState;
  /** AK901. */
  code: string;
  meaning: string | null;
  /** AK902-AK904; null when missing or not a number. */
  included: number | null;
  received: number | null;
  accepted: number | null;
  /** AK905-AK909. */
  codes: CodeMeaning[];
}

export interface FunctionalAckResult {
  type: '997' | '999' | null;
  /** ST02 of the acknowledgment itself. */
  control: string;
  /** The acknowledged group (AK1): GS01, GS06 and, in 5010, GS08. Null when AK1 is missing. */
  group: { functionalId: string; control: string; version?: string } | null;
  transactions: AckedTransaction[];
  /** AK9; null when missing. */
  groupStatus: AckedGroupStatus | null;
  problems: X12Issue[];
  /** False when any problem is an error (the acknowledgment could not be fully interpreted). */
  valid: boolean;
}

export interface Ta1Result {
  /** TA101: the acknowledged ISA13. */
  control: string;
  /** TA102 (YYMMDD) and TA103 (HHMM) of the acknowledged interchange. */
  date: string;
  time: string;
  state: 'accepted' | 'accepted-with-errors' | 'rejected' | 'unknown';
  /** TA104. */
  statusCode: string;
  statusMeaning: string | null;
  /** TA105. */
  noteCode: string;
  noteMeaning: string | null;
  problems: X12Issue[];
  valid: boolean;
}

const NO_LOC: Location = { offset: 0, line: 1, column: 1 };

class Problems {
  readonly list: X12Issue[] = [];
  /** The acknowledgment's delimiters, which locate a problem with an element at that element. */
  constructor(private readonly delimiters: Delimiters | undefined) {}

  error(message: string, seg?: Segment, elementPosition?: number): void {
    this.add('error', message, seg, elementPosition);
  }
  warn(message: string, seg?: Segment, elementPosition?: number): void {
    this.add('warning', message, seg, elementPosition);
  }
  private add(severity: 'error' | 'warning', message: string, seg?: Segment, elementPosition?: number): void {
    const details = {
      severity,
      segmentId: seg?.id,
      segmentPosition: seg && seg.position > 0 ? seg.position : undefined,
      elementPosition,
      badValue: seg && elementPosition !== undefined && element(seg, elementPosition) !== '' ? element(seg, elementPosition) : undefined,
    };
    this.list.push(seg && elementPosition !== undefined
      ? elementIssue('X12_ACK_MALFORMED', message, seg, this.delimiters, { ...details, elementPosition })
      : issue('X12_ACK_MALFORMED', message, seg?.loc ?? NO_LOC, details));
  }
}

function txState(code: string): TransactionAckState {
  if (code === 'A') return 'accepted';
  if (code === 'E') return 'accepted-with-errors';
  if (code === 'M' || code === 'R' || code === 'W' || code === 'X') return 'rejected';
  return 'unknown';
}

function groupState(code: string): GroupAckState {
  return code === 'P' ? 'partially-accepted' : txState(code);
}

function num(seg: Segment, pos: number, p: Problems, what: string, required: boolean): number | null {
  const raw = element(seg, pos);
  if (raw === '') {
    if (required) p.error(`${seg.id}${String(pos).padStart(2, '0')} (${what}) is missing`, seg, pos);
    return null;
  }
  if (!/^\d{1,10}$/.test(raw)) {
    p.error(`${seg.id}${String(pos).padStart(2, '0')} (${what}) ${JSON.stringify(raw)} is not a number`, seg, pos);
    return null;
  }
  return Number(raw);
}

function optNum(raw: string): number | undefined {
  return /^\d{1,10}$/.test(raw) ? Number(raw) : undefined;
}

/** Reads a coded element. A status code (`status`) that is not in its list makes the ack uninterpretable (error); other unknown codes are warnings. */
function coded(list: AckCodeList, seg: Segment, pos: number, p: Problems, version?: string, status = false): CodeMeaning {
  const code = element(seg, pos).trim();
  const meaning = ackCodeMeaning(list, code, version) ?? null;
  if (meaning === null) {
    const name = `${seg.id}${String(pos).padStart(2, '0')}`;
    if (code === '') p.error(`${name} is missing`, seg, pos);
    else if (status) p.error(`${name} status ${JSON.stringify(code)} is not in code list ${list}`, seg, pos);
    else p.warn(`${name} code ${JSON.stringify(code)} is not in code list ${list}`, seg, pos);
  }
  return { code, meaning };
}

function codeRange(list: AckCodeList, seg: Segment, from: number, to: number, p: Problems, version?: string): CodeMeaning[] {
  const out: CodeMeaning[] = [];
  for (let pos = from; pos <= to; pos++) if (element(seg, pos) !== '') out.push(coded(list, seg, pos, p, version));
  return out;
}

function parseContext(seg: Segment, d: Delimiters): AckContext {
  const names = repetitions(seg, 1, d)
    .filter((r) => r !== '')
    .map((r) => {
      const [name, reference] = r.split(d.component);
      return reference !== undefined && reference !== '' ? { name, reference } : { name };
    });
  const ctx: AckContext = { names };
  const set = <K extends keyof AckContext>(k: K, v: AckContext[K] | undefined | ''): void => {
    if (v !== undefined && v !== '') ctx[k] = v as AckContext[K];
  };
  set('segmentId', element(seg, 2));
  set('segmentPosition', optNum(element(seg, 3)));
  set('loopId', element(seg, 4));
  const pos = components(seg, 5, d);
  set('elementPosition', optNum(pos[0] ?? ''));
  set('componentPosition', optNum(pos[1] ?? ''));
  set('repetition', optNum(pos[2] ?? ''));
  set('elementRef', components(seg, 6, d).filter((x) => x !== '').join(d.component));
  return ctx;
}

/**
 * Reads a 997 or 999 transaction set (ST..SE as the reader yields it). `delimiters` are those of the
 * interchange it came in (for AK401 composites and CTX repetitions).
 */
export function parseFunctionalAck(tx: TransactionSet, delimiters: Delimiters): FunctionalAckResult {
  const p = new Problems(delimiters);
  const segs = tx.segments;
  const st = segs[0];
  const setId = st && st.id === 'ST' ? element(st, 1).trim() : tx.setId.trim();
  const type: '997' | '999' | null = setId === '997' || setId === '999' ? setId : null;
  const result: FunctionalAckResult = { type, control: tx.control, group: null, transactions: [], groupStatus: null, problems: p.list, valid: true };
  if (!type) {
    p.error(`transaction set ${JSON.stringify(setId)} is not a 997 or 999`, st);
    result.valid = false;
    return result;
  }
  const is999 = type === '999';
  const lists = is999
    ? { seg: '620' as const, el: '621' as const, tx: '618' as const }
    : { seg: '720' as const, el: '723' as const, tx: '718' as const };
  const names = is999 ? { seg: 'IK3', el: 'IK4', tx: 'IK5' } : { seg: 'AK3', el: 'AK4', tx: 'AK5' };
  if (!tx.complete) p.error('the acknowledgment is truncated (no SE)', segs[segs.length - 1]);

  let version: string | undefined = tx.group?.version;
  let current: AckedTransaction | null = null;
  let closed = true; // current transaction has its AK5
  let lastSeg: AckSegmentError | null = null;
  let lastEl: AckElementError | null = null;
  let sawAk9 = false;
  // AK5 R without AK502 or AK3: explained when AK9 rejects the whole group with AK905 codes (a set
  // rejected with its group has no reason of its own), else a warning (see warnUnexplained).
  const unexplained: Segment[] = [];
  const warnUnexplained = (groupReason: boolean): void => {
    if (!groupReason) for (const s of unexplained) p.warn(`${s.id} rejects the transaction set without saying why`, s);
  };

  const closeOpen = (at: Segment | undefined): void => {
    if (current && !closed) p.error(`AK2 for ${current.setId} ${current.control} has no ${names.tx}`, at);
    closed = true;
  };

  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (i === 0 && seg.id === 'ST') continue;
    if (seg.id === 'SE') {
      if (i !== segs.length - 1) p.error('SE before the end of the transaction set', seg);
      continue;
    }
    if (sawAk9) {
      p.error(`${seg.id} after AK9`, seg);
      continue;
    }
    switch (seg.id) {
      case 'AK1': {
        if (result.group) {
          p.error('a second AK1', seg);
          break;
        }
        if (current || i !== 1) p.error('AK1 is not the first segment after ST', seg);
        const functionalId = element(seg, 1).trim();
        const control = element(seg, 2).trim();
        if (!/^[A-Z0-9]{2}$/.test(functionalId)) p.error(`AK101 ${JSON.stringify(functionalId)} is not a functional identifier code`, seg, 1);
        if (!/^\d{1,9}$/.test(control)) p.error(`AK102 ${JSON.stringify(control)} is not a group control number`, seg, 2);
        result.group = { functionalId, control };
        const v = element(seg, 3).trim();
        if (v) {
          result.group.version = v;
          version = v;
        }
        break;
      }
      case 'AK2': {
        if (!result.group) p.error('AK2 before AK1', seg);
        closeOpen(seg);
        current = {
          setId: element(seg, 1).trim(),
          control: element(seg, 2).trim(),
          state: 'unknown',
          statusCode: null,
          statusMeaning: null,
          codes: [],
          segmentErrors: [],
        };
        const impl = element(seg, 3).trim();
        if (impl) current.implementationRef = impl;
        if (!/^[A-Z0-9]{3}$/.test(current.setId)) p.error(`AK201 ${JSON.stringify(current.setId)} is not a transaction set identifier`, seg, 1);
        if (current.control === '') p.error('AK202 (transaction set control number) is missing', seg, 2);
        if (seg.elements.length > 4) p.error(`AK2 has ${seg.elements.length - 1} elements (at most 3)`, seg);
        const { setId: ackedSet, control: ackedControl } = current;
        const again = result.transactions.find((t) => t.setId === ackedSet && t.control === ackedControl);
        if (again && ackedControl !== '') p.warn(`transaction set ${current.setId} ${current.control} is acknowledged twice`, seg, 2);
        result.transactions.push(current);
        closed = false;
        lastSeg = null;
        lastEl = null;
        break;
      }
      case 'AK3':
      case 'IK3': {
        if (seg.id !== names.seg) p.error(`${seg.id} in a ${type}`, seg);
        if (!current || closed) {
          p.error(`${seg.id} outside an AK2 loop`, seg);
          lastSeg = null;
          break;
        }
        const code = coded(lists.seg, seg, 4, p);
        const segErr: AckSegmentError = {
          segmentId: element(seg, 1).trim(),
          position: num(seg, 2, p, 'segment position', true),
          code: code.code,
          meaning: code.meaning,
          context: [],
          elementErrors: [],
        };
        const loop = element(seg, 3).trim();
        if (loop) segErr.loopId = loop;
        if (!/^[A-Z0-9]{2,3}$/.test(segErr.segmentId)) p.error(`${seg.id}01 ${JSON.stringify(segErr.segmentId)} is not a segment id`, seg, 1);
        current.segmentErrors.push(segErr);
        lastSeg = segErr;
        lastEl = null;
        break;
      }
      case 'AK4':
      case 'IK4': {
        if (seg.id !== names.el) p.error(`${seg.id} in a ${type}`, seg);
        if (!lastSeg || !current || closed) {
          p.error(`${seg.id} without a preceding ${names.seg}`, seg);
          break;
        }
        const pos = components(seg, 1, delimiters);
        const code = coded(lists.el, seg, 3, p);
        const elErr: AckElementError = { position: null, code: code.code, meaning: code.meaning, context: [] };
        const rawPos = pos[0] ?? '';
        if (rawPos === '') p.error(`${seg.id}01 (element position) is missing`, seg, 1);
        else if (optNum(rawPos) === undefined) p.error(`${seg.id}01 element position ${JSON.stringify(rawPos)} is not a number`, seg, 1);
        else elErr.position = Number(rawPos);
        const comp = optNum(pos[1] ?? '');
        if (comp !== undefined) elErr.component = comp;
        else if ((pos[1] ?? '') !== '') p.error(`${seg.id}01 component position ${JSON.stringify(pos[1])} is not a number`, seg, 1);
        const rep = optNum(pos[2] ?? '');
        if (rep !== undefined) elErr.repetition = rep;
        else if ((pos[2] ?? '') !== '') p.error(`${seg.id}01 repetition position ${JSON.stringify(pos[2])} is not a number`, seg, 1);
        const ref = element(seg, 2).trim();
        if (ref) {
          elErr.ref = ref;
          if (!/^\d{1,4}$/.test(ref)) p.warn(`${seg.id}02 element reference ${JSON.stringify(ref)} is not a number`, seg, 2);
        }
        const bad = element(seg, 4);
        if (bad !== '') elErr.badValue = bad;
        lastSeg.elementErrors.push(elErr);
        lastEl = elErr;
        break;
      }
      case 'CTX': {
        if (!is999) {
          p.error('CTX in a 997', seg);
          break;
        }
        const ctx = parseContext(seg, delimiters);
        if (lastEl) lastEl.context.push(ctx);
        else if (lastSeg) lastSeg.context.push(ctx);
        else p.error('CTX outside an IK3/IK4 loop', seg);
        break;
      }
      case 'AK5':
      case 'IK5': {
        if (seg.id !== names.tx) p.error(`${seg.id} in a ${type}`, seg);
        if (!current || closed) {
          p.error(`${seg.id} without an AK2`, seg);
          break;
        }
        const status = coded('717', seg, 1, p, undefined, true);
        current.statusCode = status.code;
        current.statusMeaning = status.meaning;
        current.state = txState(status.code);
        current.codes = codeRange(lists.tx, seg, 2, 6, p, version);
        if (current.state === 'accepted' && current.codes.length > 0) p.warn(`${seg.id} accepts the transaction set but lists error codes`, seg);
        if (current.state === 'rejected' && current.codes.length === 0 && current.segmentErrors.length === 0) unexplained.push(seg);
        closed = true;
        lastSeg = null;
        lastEl = null;
        break;
      }
      case 'AK9': {
        if (!result.group) p.error('AK9 before AK1', seg);
        closeOpen(seg);
        sawAk9 = true;
        const status = coded('715', seg, 1, p, undefined, true);
        const gs: AckedGroupStatus = {
          state: groupState(status.code),
          code: status.code,
          meaning: status.meaning,
          included: num(seg, 2, p, 'number of transaction sets included', true),
          received: num(seg, 3, p, 'number of received transaction sets', true),
          accepted: num(seg, 4, p, 'number of accepted transaction sets', true),
          codes: codeRange('716', seg, 5, 9, p),
        };
        result.groupStatus = gs;
        warnUnexplained(gs.state === 'rejected' && gs.codes.length > 0);
        if (gs.received !== null && result.transactions.length > gs.received) {
          p.error(`${result.transactions.length} AK2 loops but AK903 says ${gs.received} received`, seg, 3);
        }
        if (gs.received !== null && gs.accepted !== null && gs.accepted > gs.received) {
          p.error(`AK904 (${gs.accepted} accepted) exceeds AK903 (${gs.received} received)`, seg, 4);
        }
        if ((gs.state === 'accepted' || gs.state === 'accepted-with-errors') && result.transactions.some((t) => t.state === 'rejected')) {
          p.warn('AK901 accepts the group but a transaction set is rejected', seg, 1);
        }
        if ((gs.state === 'accepted' || gs.state === 'accepted-with-errors') && gs.accepted !== null && gs.received !== null && gs.accepted < gs.received) {
          p.warn(`AK901 accepts the group but only ${gs.accepted} of ${gs.received} transaction sets are accepted`, seg, 1);
        }
        if (gs.state === 'rejected' && gs.accepted !== null && gs.accepted > 0) {
          p.warn(`AK901 rejects the group but AK904 counts ${gs.accepted} accepted transaction set(s) (partial acceptance is P)`, seg, 1);
        }
        break;
      }
      default:
        p.error(`unexpected segment ${seg.id} in a ${type}`, seg);
    }
  }
  if (!result.group) p.error('no AK1 (the acknowledged group is unknown)', segs[0]);
  if (!sawAk9) {
    closeOpen(segs[segs.length - 1]);
    warnUnexplained(false);
    p.error('no AK9 (the group status is unknown)', segs[segs.length - 1]);
  }
  result.valid = !p.list.some((i) => i.severity === 'error');
  return result;
}

/**
 * Reads a TA1 segment (interchange acknowledgment). `delimiters`, those of its interchange, locate a
 * problem with an element at that element (without them, at the segment).
 */
export function parseTa1(seg: Segment, delimiters?: Delimiters): Ta1Result {
  const p = new Problems(delimiters);
  if (seg.id !== 'TA1') p.error(`expected a TA1 segment, got ${seg.id}`, seg);
  const control = element(seg, 1).trim();
  const date = element(seg, 2).trim();
  const time = element(seg, 3).trim();
  if (!/^\d{9}$/.test(control)) p.error(`TA101 ${JSON.stringify(control)} is not a 9-digit interchange control number`, seg, 1);
  if (!/^\d{6}$/.test(date)) p.error(`TA102 ${JSON.stringify(date)} is not a YYMMDD date`, seg, 2);
  if (!/^\d{4}$/.test(time)) p.error(`TA103 ${JSON.stringify(time)} is not an HHMM time`, seg, 3);
  const status = coded('I17', seg, 4, p, undefined, true);
  const note = coded('I18', seg, 5, p);
  const state = status.code === 'A' ? 'accepted' : status.code === 'E' ? 'accepted-with-errors' : status.code === 'R' ? 'rejected' : 'unknown';
  if (state === 'accepted' && note.code !== '000' && note.code !== '') p.warn(`TA104 accepts the interchange but TA105 is ${note.code}`, seg, 5);
  if (state === 'rejected' && note.code === '000') p.warn('TA104 rejects the interchange but TA105 is 000 (no error)', seg, 5);
  return {
    control,
    date,
    time,
    state,
    statusCode: status.code,
    statusMeaning: status.meaning,
    noteCode: note.code,
    noteMeaning: note.meaning,
    problems: p.list,
    valid: !p.list.some((i) => i.severity === 'error'),
  };
}
