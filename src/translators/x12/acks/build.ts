// Building the acknowledgments Waybill sends back for an inbound interchange: TA1 (envelope), 997 or 999
// (one per acknowledged functional group), from the validation report. Every code comes from the
// catalogue's ack mapping (ta105, ak905, ak502, ak304, ak403), which gives the 005010 code; an ack of an
// earlier version writes the nearest code its version has instead (codes.ts ackCodeForVersion: a 004010
// 997 has no AK905 19 nor AK403 12/13).
//
// Policy semantics (see `AckPolicy`):
//   ta1  'always'      a TA1 for every interchange that is not itself only acknowledgments
//        'on-request'  (default) when ISA14 = '1', or when the interchange has an envelope finding that
//                      makes TA104 'E' or 'R' (so a broken envelope is never met with silence)
//        'on-error'    only when TA104 would be 'E' or 'R'
//        'never'       no TA1
//   TA104 is 'R' when the interchange report holds any error, 'E' when it holds only warnings some of
//   which carry a ta105 code, otherwise 'A'. TA105 is the ta105 of the first interchange issue that has
//   one (errors first); an error without any ta105 gives '022' (invalid control structure); 'A' gives 000.
//   An interchange rejected at envelope level (TA104 'R') gets no 997/999: its groups were not accepted
//   for processing, the TA1 says why.
//   functional '997' (default) | '999' | 'none'. The ack version follows the inbound GS08 (its first 6
//   characters, e.g. 004010VICS -> 004010) unless `version` overrides it. A 999 exists only for 005010+:
//   it is sent for a group of 005010 or later, when `version` (if given) is 005010 or later too, with
//   GS08/ST03 the 999 guide `version` names or 005010X231A1. Otherwise '999' gives a 997 (of `version`
//   unless that is a 999 guide, else of the group's version), with a note. Under '997' a 999 guide in
//   `version` is not a 997 version: the 997 follows the group, with a note (planAck).
//   Never acknowledged: a group with GS01 'FA' (or holding only 997/999 sets) and TA1s. An interchange
//   made only of those gets nothing at all, not even a TA1.
//   Warnings never reject: a transaction whose only findings are warnings with an ack mapping is 'E'
//   (listed in AK3/AK4 and AK5), one with unmapped warnings only is 'A'. A rejected transaction lists
//   only its errors.
//   AK9: a group-level error gives 'R' with its ak905 codes, and rejects every set of the group (AK5 R,
//   each still listing its own findings; see transactionStatus); otherwise 'R' when no set is accepted,
//   'P' when some are, 'E' when all are but with noted errors, 'A'. AK904 is the number of AK5 A/E, so
//   the counts always agree with the AK5s. AK902 = GE01 as declared, else the count received.
//   Echoes: an ack repeats the partner's identifiers only in a form its own elements allow (echo.ts),
//   and leaves out what the standard lets it leave out, with a note: a set whose ST01/ST02 cannot be
//   echoed has no AK2 loop (AK9 counts it), a segment AK301/AK302 cannot name has no AK3 (AK5 code 5
//   stays), an element position AK401 cannot hold has no AK4, and an optional element (AK103, AK203,
//   AK303, AK402) that does not fit is left out. A group AK101/AK102 cannot name (GS01, GS06) gets no
//   997/999 at all; an interchange that would otherwise be accepted then gets TA104 'E' with TA105 024
//   (invalid GS segment), so that group is not met with silence either (unless ta1 is 'never').
// Envelope: one ack interchange holding the TA1 (if any) and one FA group per (ack version, GS02, GS03);
// sender/receiver are the inbound ones swapped unless `sender`/`partner` are given (a blank one: nothing is
// sent); ISA14 = 0; ISA15 and ISA12 follow the inbound interchange when they are valid (an ISA12 that is no
// published version is never mirrored: 00401, or 00501 for a 005010 ack). Control numbers come from
// `controls` (ST02s in written order).

import { catalogue, isKnownCode, type CatalogueEntry } from '../../../errors/catalogue.js';
import type { GroupReport, InterchangeReport, TransactionReport, X12Issue } from '../model.js';
import {
  writeInterchange,
  type ElementValue,
  type GroupInput,
  type InterchangeInput,
  type TransactionInput,
  type WriteSegment,
  type WriterDelimiters,
  type X12WriterOptions,
} from '../writer.js';
import { isKnownInterchangeVersion } from '../isa-fields.js';
import { ackClock, type AckClock } from './clock.js';
import { ackCodeForVersion, is5010OrLater } from './codes.js';
import {
  badDataCopy,
  controlNumberEcho,
  identifierEcho,
  interchangeDateEcho,
  interchangeTimeEcho,
  numberEcho,
  optionalTextEcho,
  positionEcho,
} from './echo.js';

export type Ta1Policy = 'always' | 'on-request' | 'on-error' | 'never';

export interface AckPolicy {
  /** When to send a TA1. Default 'on-request'. */
  ta1?: Ta1Policy;
  /** Which functional acknowledgment to send. Default '997'. */
  functional?: '997' | '999' | 'none';
  /**
   * GS08 of the functional acknowledgment, overriding the inbound group's version: for a 997 a version
   * such as '004010' or '005010' (it also decides the 004010 vs 005010 layout); for a 999 the guide
   * '005010X231A1' or '005010X231' (any other 005010+ version gives 005010X231A1; one before 005010
   * gives a 997 of that version). A 999 guide given for a 997 is not used: the 997 follows the group.
   * A value that does not start with 6 digits is not used either. See planAck; each case has a note.
   */
  version?: string;
  /** Write AK2/AK5 (IK5) for accepted transactions too (default true); false lists only those with findings. */
  includeAccepted?: boolean;
}

/** Who we are in the ack's envelope; by default the inbound receiver (ISA07/08, GS03). */
export interface AckIdentity {
  /** ISA05 of the ack. */
  qualifier: string;
  /** ISA06 of the ack. */
  id: string;
  /** GS02 of the ack; default the inbound GS03. */
  applicationId?: string;
}

/**
 * A control number, or a source of them. A number or digit string is the first of a reserved block
 * (consecutive numbers follow; a string keeps its width, a number is zero-padded to ST02's minimum of 4);
 * a function is called once per number needed.
 */
export type ControlSource = string | number | ((index: number) => string | number);

export interface AckControls {
  /** ISA13 (and IEA02) of the ack interchange. */
  interchange: string | number;
  /** GS06 of each FA group written (index 0-based). Needed when a 997/999 is produced. */
  group?: ControlSource;
  /** ST02 of each 997/999 written (index 0-based, across groups). Needed when a 997/999 is produced. */
  transaction?: ControlSource;
}

export interface BuildAcksOptions {
  policy?: AckPolicy;
  controls: AckControls;
  /** The clock: ISA09/ISA10 and GS04/GS05 of the ack, written as the wall clock in `timezone`. */
  now: Date;
  /**
   * The time zone the ack's dates and times are written in: an IANA name (America/Chicago) or a fixed
   * offset (-06:00); default UTC. The gateway passes the partner's `timezone`: the zone in which it
   * reads that partner's own acknowledgments (functional-ack.ts), and in which its outbound documents
   * write times, so that a time means the same in both directions.
   */
  timezone?: string;
  /** Our identity; default: the inbound interchange's receiver (ISA07/08, GS03). */
  sender?: AckIdentity;
  /** The partner's identity (ISA07/08 and GS03 of the ack); default: the inbound sender (ISA05/06, GS02). */
  partner?: AckIdentity;
  /** Delimiters to write with; default the inbound interchange's, with `suffix` after each terminator. */
  delimiters?: WriterDelimiters;
  /** Line suffix used with the inbound delimiters (ignored when `delimiters` is given, or when the inbound terminator is a line break). Default ''. */
  suffix?: string;
  /** ISA12 of the ack; default the inbound ISA12. */
  interchangeVersion?: string;
  /** ISA15 of the ack; default the inbound ISA15 (a test interchange gets a test ack). */
  usage?: string;
  /** 999 only: business unit context written as CTX after each IK3 of the transaction (e.g. B204 shipment id). */
  businessUnit?: (tx: TransactionReport, group: GroupReport) => { name: string; reference?: string } | undefined;
  writer?: X12WriterOptions;
}

export type Ta1Status = 'A' | 'E' | 'R';
export type TransactionAckStatus = 'A' | 'E' | 'R';
export type GroupAckStatus = 'A' | 'E' | 'P' | 'R';

export interface BuiltTa1 {
  status: Ta1Status;
  noteCode: string;
  /** ['TA1', ISA13, ISA09, ISA10, TA104, TA105]. */
  segment: string[];
}

export interface BuiltTransactionAck {
  setId: string;
  control: string;
  status: TransactionAckStatus;
  /** AK502-AK506 / IK502-IK506. */
  codes: string[];
  /**
   * Whether its AK2 loop is written: not for an accepted set under `includeAccepted: false`, nor for a
   * set whose ST01/ST02 cannot be echoed (see the notes); the AK9 counts include it either way.
   */
  listed: boolean;
}

export interface BuiltFunctionalAck {
  type: '997' | '999';
  /** GS08 of the FA group holding it (and ST03 of a 999). */
  version: string;
  /** The inbound group acknowledged. */
  acknowledges: { functionalId: string; control: string; version: string };
  /** AK901. */
  status: GroupAckStatus;
  /** AK905-AK909. */
  groupCodes: string[];
  /** AK902-AK904. */
  counts: { included: number; received: number; accepted: number };
  /** The sets it holds: all of the group's, or its share when the group takes several (`part`). */
  transactions: BuiltTransactionAck[];
  /** Set when the group's acknowledgment is split over several 997/999s (see buildFunctional); 1-based. */
  part?: { index: number; of: number };
  /** ST02 given to this 997/999. */
  control: string;
  /** GS06 of the FA group it is written in. */
  groupControl: string;
  /** The full segment list ST..SE (SE computed), composites as arrays. */
  segments: WriteSegment[];
}

export interface BuiltAcks {
  /** What the interchange's envelope earned, whether or not a TA1 is sent. */
  interchangeStatus: Ta1Status;
  ta1: BuiltTa1 | null;
  functional: BuiltFunctionalAck[];
  /** The outbound interchange as writer input; null when there is nothing to send. */
  interchange: InterchangeInput | null;
  /** The serialized acknowledgment interchange; null when there is nothing to send. */
  text: string | null;
  /** Why something was not acknowledged (ack groups, a rejected interchange, policy 'none', ...). */
  notes: string[];
}

// ---------------------------------------------------------------- helpers

function mapping(i: X12Issue): CatalogueEntry | undefined {
  return isKnownCode(i.code) ? catalogue[i.code] : undefined;
}

function hasAckMapping(i: X12Issue): boolean {
  const m = mapping(i);
  return !!m && (m.ak502 !== undefined || m.ak304 !== undefined || m.ak403 !== undefined || m.ak905 !== undefined || m.ta105 !== undefined);
}

function uniq(values: Iterable<string>, max: number): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (!out.includes(v)) out.push(v);
    if (out.length === max) break;
  }
  return out;
}

/** A group that is itself an acknowledgment (never acknowledged). */
export function isAcknowledgmentGroup(g: GroupReport): boolean {
  if (g.header.functionalId.trim() === 'FA') return true;
  return g.transactions.length > 0 && g.transactions.every((t) => t.setId.trim() === '997' || t.setId.trim() === '999');
}

function makeSanitizer(d: WriterDelimiters): (v: string) => string {
  const bad = new Set<string>([d.element, d.component, d.segment, ...(d.repetition ? [d.repetition] : []), ...[...(d.suffix ?? '')]]);
  return (v: string) => {
    let out = '';
    // code points: a lone surrogate (half of a pair) is a character the writer refuses, like a control character
    for (const ch of v) out += bad.has(ch) || /[\u0000-\u001f\u007f]/.test(ch) || /^[\ud800-\udfff]$/.test(ch) ? ' ' : ch;
    return out;
  };
}

function allocator(source: ControlSource | undefined, what: string, minWidth: number): (index: number) => string {
  if (source === undefined) {
    return () => {
      throw new Error(`buildAcks: controls.${what} is required when a 997/999 is produced`);
    };
  }
  // numbers are zero-padded to minWidth (ST02 is 4-9 characters); strings keep their width
  const fmt = (v: string | number): string => (typeof v === 'number' ? String(v).padStart(minWidth, '0') : v);
  if (typeof source === 'function') return (i) => fmt(source(i));
  const base = String(source);
  if (!/^\d+$/.test(base)) {
    return (i) => {
      if (i === 0) return base;
      throw new Error(`buildAcks: controls.${what} ${JSON.stringify(base)} is not numeric and cannot number more than one`);
    };
  }
  const width = typeof source === 'number' ? minWidth : base.length;
  return (i) => String(BigInt(base) + BigInt(i)).padStart(width, '0');
}

function trimComposite(parts: string[]): string[] {
  let n = parts.length;
  while (n > 1 && parts[n - 1] === '') n--;
  return parts.slice(0, n);
}

// ---------------------------------------------------------------- TA1

/** TA104/TA105 for an interchange report. */
export function interchangeAckStatus(report: InterchangeReport): { status: Ta1Status; noteCode: string } {
  const errors = report.issues.filter((i) => i.severity === 'error');
  const warnings = report.issues.filter((i) => i.severity === 'warning' && mapping(i)?.ta105 !== undefined);
  if (errors.length > 0) {
    const withCode = errors.find((i) => mapping(i)?.ta105 !== undefined);
    return { status: 'R', noteCode: withCode ? mapping(withCode)!.ta105! : '022' };
  }
  if (warnings.length > 0) return { status: 'E', noteCode: mapping(warnings[0])!.ta105! };
  return { status: 'A', noteCode: '000' };
}

/** TA105 when a group of an otherwise accepted interchange cannot be named by any 997/999 (I18 024). */
const UNNAMED_GROUP_NOTE = '024';

/**
 * The TA1 segment. TA101 is ISA13 (N0 9/9): a short numeric ISA13 (read from a non-fixed-width ISA) is
 * zero-padded. TA102/TA103 are ISA09 (YYMMDD) and ISA10 (HHMM): an ISA09 sent as CCYYMMDD or an ISA10
 * with seconds is echoed in the TA1's form (echo.ts); one that is no date or time at all cannot be
 * echoed, and the TA1 (whose TA105 then reports the bad date or time, 014/015) carries the date and time
 * it was made instead: both elements are mandatory, and TA101 alone identifies the interchange.
 */
function ta1Segment(header: InterchangeReport['header'], status: Ta1Status, noteCode: string, clock: AckClock, clean: (v: string) => string): string[] {
  const control = header.control.trim();
  const ta101 = /^\d{1,8}$/.test(control) ? control.padStart(9, '0') : clean(header.control);
  const ta102 = interchangeDateEcho(header.date) ?? clock.date6;
  const ta103 = interchangeTimeEcho(header.time) ?? clock.time4;
  return ['TA1', ta101, ta102, ta103, status, noteCode];
}

// ---------------------------------------------------------------- 997 / 999

interface SegmentErrorGroup {
  segmentId: string;
  position: number;
  loopId: string;
  code: string;
  elements: X12Issue[];
}

/**
 * AK501 of a transaction set and the findings its AK3/AK4/AK5 report. `groupRejected`: its group has an
 * error of its own (AK9 R with AK905 codes). "A rejection of a functional group is a rejection of all
 * transaction sets in that functional group" (element 715), so each of its sets is R, and AK904 (the
 * number of AK5 A/E) is then 0 as the AK5s say; the gateway does not translate them either
 * (X12_GROUP_REJECTED). A set with no finding of its own gets no AK502: no 718 code means "rejected with
 * its group" (reusing the AK905 code would name another error: 718 code 5 is "one or more segments in
 * error", not "GE01 count wrong"), and the AK905 codes in the same acknowledgment say why.
 */
function transactionStatus(t: TransactionReport, groupRejected: boolean): { status: TransactionAckStatus; reported: X12Issue[] } {
  const errors = t.issues.filter((i) => i.severity === 'error');
  if (errors.length > 0 || !t.valid || groupRejected) return { status: 'R', reported: errors };
  const warnings = t.issues.filter((i) => i.severity === 'warning' && hasAckMapping(i));
  if (warnings.length > 0) return { status: 'E', reported: warnings };
  return { status: 'A', reported: [] };
}

/** What the 997/999 of one group is written with. */
interface LoopContext {
  kind: '997' | '999';
  /** GS08 of the acknowledgment: which codes it may use (ackCodeForVersion). */
  version: string;
  /** The 005010 layout (AK103, AK203, AK401.3, longer AK302, shorter AK303). */
  v5010: boolean;
  clean: (v: string) => string;
  options: BuildAcksOptions;
  /** The group has an error of its own: every set is rejected with it. */
  groupRejected: boolean;
  /** Where the builder says what it could not write. */
  notes: string[];
}

function setName(t: TransactionReport, g: GroupReport): string {
  return `transaction set ${JSON.stringify(t.setId)} ${JSON.stringify(t.control)} at line ${t.loc.line} (group ${g.header.control.trim()})`;
}

/**
 * AK2 of a transaction set, or undefined when its ST01 or ST02 cannot be echoed (empty, too long, ...:
 * see echo.ts). The AK2 loop is optional, so such a set is acknowledged by the AK9 counts alone: it is
 * received and, with the error its ST01/ST02 has, rejected.
 */
function ak2Segment(t: TransactionReport, g: GroupReport, ctx: LoopContext): string[] | undefined {
  const setId = identifierEcho(t.setId, 3, 3);
  const control = controlNumberEcho(t.control, ctx.clean);
  if (setId === undefined || control === undefined) {
    const what = setId === undefined ? `ST01 cannot be written in AK201 (3 letters or digits)` : `ST02 cannot be written in AK202 (4-9 characters)`;
    ctx.notes.push(`${setName(t, g)} has no AK2 loop: its ${what}; AK9 counts it`);
    return undefined;
  }
  const ak2 = ['AK2', setId, control];
  // AK203 (ST03, AN 1/35) is optional: left out when it does not fit
  const ref = ctx.v5010 ? optionalTextEcho(t.implementationRef, 35, ctx.clean) : undefined;
  if (ref !== undefined) ak2.push(ref);
  return ak2;
}

/**
 * AK3/IK3 of a segment in error, or undefined when the segment cannot be named: AK301 is a 2-3
 * character segment id (an unrecognized 'ABCDEFG' or 'b10' cannot be written, and a cut or upper-cased
 * id would name another segment), AK302 a position of at most 6 digits (10 from 005010). The AK5 still
 * says the set has segments in error (code 5). AK303 (the loop id) is optional: left out when longer than
 * the version allows (6, 4 from 005010).
 */
function segmentNote(s: SegmentErrorGroup, ctx: LoopContext): string[] | undefined {
  const id = identifierEcho(s.segmentId, 2, 3);
  const position = positionEcho(s.position, ctx.v5010 ? 10 : 6);
  if (id === undefined || position === undefined) return undefined;
  const loopId = optionalTextEcho(s.loopId, ctx.v5010 ? 4 : 6, ctx.clean) ?? '';
  return [ctx.kind === '999' ? 'IK3' : 'AK3', id, position, loopId, s.code];
}

/**
 * AK4/IK4 of an element in error, or undefined when its position cannot be written (AK401: element and
 * component positions of 1-99, repetition 1-9999). AK402 (the element reference, N0 1/4) is optional and
 * left out when it is not one; AK404 is the bad value with delimiters replaced, cut to its 99 characters.
 */
function elementNote(e: X12Issue, ctx: LoopContext): ElementValue[] | undefined {
  const code = ackCodeForVersion(ctx.kind === '999' ? '621' : '723', mapping(e)!.ak403!, ctx.version);
  const element = positionEcho(e.elementPosition, 2);
  const component = e.componentPosition !== undefined ? positionEcho(e.componentPosition, 2) : '';
  const repetition = ctx.v5010 && e.repetition !== undefined ? positionEcho(e.repetition, 4) : '';
  if (code === null || element === undefined || component === undefined || repetition === undefined) return undefined;
  const pos = trimComposite([element, component, repetition]);
  const ref = e.elementRef !== undefined && /^\d{1,4}$/.test(e.elementRef.trim()) ? e.elementRef.trim() : '';
  const seg: ElementValue[] = [ctx.kind === '999' ? 'IK4' : 'AK4', pos.length > 1 ? pos : pos[0], ref, code];
  const bad = e.badValue !== undefined ? badDataCopy(e.badValue, ctx.clean) : '';
  if (bad) seg.push(bad);
  return seg;
}

function transactionLoop(t: TransactionReport, g: GroupReport, ctx: LoopContext): { segments: WriteSegment[]; ack: BuiltTransactionAck } {
  const { status, reported } = transactionStatus(t, ctx.groupRejected);
  const segErrors: SegmentErrorGroup[] = [];
  const txCodes: string[] = [];
  let segmentLevel = false;
  for (const i of reported) {
    const m = mapping(i);
    const ak502 = m?.ak502 !== undefined ? ackCodeForVersion(ctx.kind === '999' ? '618' : '718', m.ak502, ctx.version) : null;
    if (ak502 !== null) txCodes.push(ak502);
    if (m?.ak304 === undefined) continue;
    segmentLevel = true;
    if (!i.segmentId || i.segmentPosition === undefined) continue; // cannot be located: AK5 code 5 only
    const isElement = m.ak403 !== undefined && i.elementPosition !== undefined;
    let grp = segErrors.find((s) => s.position === i.segmentPosition && s.segmentId === i.segmentId && s.code === m.ak304);
    if (!grp) {
      grp = { segmentId: i.segmentId, position: i.segmentPosition, loopId: i.loopId ?? '', code: m.ak304, elements: [] };
      segErrors.push(grp);
    }
    if (isElement) grp.elements.push(i);
  }
  segErrors.sort((a, b) => a.position - b.position);
  if (segmentLevel) txCodes.push('5');
  const codes = uniq(txCodes, 5);
  const ack: BuiltTransactionAck = { setId: t.setId, control: t.control, status, codes, listed: false };

  const ak2 = ak2Segment(t, g, ctx);
  if (!ak2) return { segments: [], ack };
  ack.listed = true;
  const segments: WriteSegment[] = [ak2];
  const unit = ctx.kind === '999' ? ctx.options.businessUnit?.(t, g) : undefined;
  for (const s of segErrors) {
    const note = segmentNote(s, ctx);
    if (!note) {
      ctx.notes.push(`${setName(t, g)}: no ${ctx.kind === '999' ? 'IK3' : 'AK3'} for segment ${JSON.stringify(s.segmentId)} at position ${s.position}: it cannot be named there (AK5 code 5 still reports it)`);
      continue;
    }
    segments.push(note);
    if (unit) segments.push(['CTX', trimComposite([ctx.clean(unit.name), ctx.clean(unit.reference ?? '')])]);
    const elementNotes = s.elements.map((e) => elementNote(e, ctx));
    const dropped = elementNotes.filter((n) => n === undefined).length;
    if (dropped > 0) ctx.notes.push(`${setName(t, g)}: ${dropped} element error(s) of segment ${s.segmentId} at position ${s.position} have positions ${ctx.kind === '999' ? 'IK401' : 'AK401'} cannot hold`);
    // at most 99 AK4 per AK3
    for (const n of elementNotes.filter((x): x is ElementValue[] => x !== undefined).slice(0, 99)) segments.push(n);
  }
  segments.push([ctx.kind === '999' ? 'IK5' : 'AK5', status, ...codes]);
  return { segments, ack };
}

interface PlannedAck {
  type: '997' | '999';
  version: string;
  group: GroupReport;
}

/** The 999 implementation guide (005010X231, 005010X231A1): the GS08 and ST03 of a 999, never a 997's GS08. */
const IG_999 = /^\d{6}X231/;
const DEFAULT_999_VERSION = '005010X231A1';

/** A group's own version: the first 6 characters of its GS08 (004010VICS -> 004010), 004010 when it names none. */
function groupVersion(g: GroupReport): string {
  const inbound = g.header.version.trim();
  return /^\d{6}/.test(inbound) ? inbound.slice(0, 6) : '004010';
}

/**
 * What acknowledges a group (see the policy notes at the top): a 999 when one is asked for, the group
 * is 005010 or later and so is the acknowledgment's version (a 999 describes a 5010 implementation
 * guide); its GS08/ST03 is the 999 guide `version` names, else 005010X231A1. Otherwise a 997 whose GS08
 * is `version`, or the group's own version when `version` is not given, names no version (it must start
 * with 6 digits), or is the 999 guide. Notes say when the acknowledgment differs from what was asked.
 */
function planAck(g: GroupReport, policy: AckPolicy, notes: string[]): PlannedAck | null {
  const functional = policy.functional ?? '997';
  if (functional === 'none') return null;
  const own = groupVersion(g);
  const name = `group ${g.header.control.trim()}`;
  let asked = policy.version?.trim();
  if (asked !== undefined && !/^\d{6}/.test(asked)) {
    notes.push(`${name}: the acknowledgment version ${JSON.stringify(asked)} names no X12 version (e.g. 004010, 005010X231A1); the group's ${own} is used`);
    asked = undefined;
  }
  if (functional === '999') {
    if (is5010OrLater(own) && (asked === undefined || is5010OrLater(asked))) {
      return { type: '999', version: asked !== undefined && IG_999.test(asked) ? asked : DEFAULT_999_VERSION, group: g };
    }
    const version = asked !== undefined && !IG_999.test(asked) ? asked : own;
    notes.push(
      !is5010OrLater(own)
        ? `${name} is ${own}: a 999 acknowledges 005010 or later groups only, a ${version} 997 is sent instead`
        : `${name}: the acknowledgment version ${asked} is before 005010, which a 999 needs; a ${version} 997 is sent instead`,
    );
    return { type: '997', version, group: g };
  }
  if (asked !== undefined && IG_999.test(asked)) {
    notes.push(`${name}: ${asked} is the 999's implementation guide, not a 997 version; the 997 is ${own}, the group's version`);
    return { type: '997', version: own, group: g };
  }
  return { type: '997', version: asked ?? own, group: g };
}

/**
 * AK1 of a group, or undefined when the group cannot be named: AK101 is GS01 (2 letters or digits),
 * AK102 GS06 (a number of 1-9 digits, N0). Without AK1 there is no 997/999 for the group (see
 * UNNAMED_GROUP_NOTE). AK103 (GS08, AN 1/12, 005010 layout) is optional: left out when it does not fit.
 */
function ak1Segment(g: GroupReport, v5010: boolean, clean: (v: string) => string): string[] | undefined {
  const functionalId = identifierEcho(g.header.functionalId, 2, 2);
  const control = numberEcho(g.header.control, 9);
  if (functionalId === undefined || control === undefined) return undefined;
  const ak1 = ['AK1', functionalId, control];
  const version = v5010 ? optionalTextEcho(g.header.version, 12, clean) : undefined;
  if (version !== undefined) ak1.push(version);
  return ak1;
}

/**
 * The most AK2 loops one 997/999 holds: 999,999 in the 004010 layout, 99,999 from 005010 (x12-notes
 * 5.1 and 6.1). Every group of more sets than that is acknowledged by several 997/999s (splitLoops).
 */
export function maxAk2Loops(v5010: boolean): number {
  return v5010 ? 99_999 : 999_999;
}

/**
 * The number of 997/999 transaction sets buildAcks may write for `report`, whatever the policy: one
 * per group, more for a group of more than 99,999 sets (maxAk2Loops). A caller that takes ST02s from
 * a ledger reserves this many for `controls.transaction`.
 */
export function maxFunctionalAcks(report: InterchangeReport): number {
  const groups = report.groups.filter((g) => !isAcknowledgmentGroup(g));
  return groups.reduce((n, g) => n + Math.max(1, Math.ceil(g.transactions.length / maxAk2Loops(true))), 0);
}

interface TransactionLoop {
  ack: BuiltTransactionAck;
  segments: WriteSegment[];
}

/**
 * The group's sets in shares of at most `max` written AK2 loops, in order (at least one share, maybe
 * empty). A set without an AK2 loop goes with the share it stands among.
 */
function splitLoops(loops: TransactionLoop[], max: number): TransactionLoop[][] {
  const shares: TransactionLoop[][] = [[]];
  let listed = 0;
  for (const loop of loops) {
    if (loop.ack.listed && listed === max) {
      shares.push([]);
      listed = 0;
    }
    shares[shares.length - 1].push(loop);
    if (loop.ack.listed) listed++;
  }
  return shares;
}

/**
 * The 997/999 of one group: usually one. A group of more sets than one 997/999 may list (maxAk2Loops)
 * is acknowledged by several, one after the other in the same FA group: each holds the group's AK1,
 * the AK2 loops of its share of the sets, and the group's AK9. The AK9 speaks for the whole group in
 * each (the status and the counts of all its sets, as in a single 997), so that no part contradicts
 * another or GE01, and each part stays consistent on its own (AK2 loops <= AK903, AK5 A/E <= AK904).
 * `nextControl` gives each part its ST02.
 */
function buildFunctional(
  plan: PlannedAck,
  nextControl: () => string,
  groupControl: string,
  clean: (v: string) => string,
  options: BuildAcksOptions,
  notes: string[],
): BuiltFunctionalAck[] {
  const { group: g, type } = plan;
  const v5010 = is5010OrLater(plan.version);
  const includeAccepted = options.policy?.includeAccepted ?? true;
  // planAck only plans groups that ak1Segment can name
  const ak1 = ak1Segment(g, v5010, clean)!;

  const groupErrors = g.issues.filter((i) => i.severity === 'error');
  const groupWarnings = g.issues.filter((i) => i.severity === 'warning' && mapping(i)?.ak905 !== undefined);
  const ctx: LoopContext = { kind: type, version: plan.version, v5010, clean, options, groupRejected: groupErrors.length > 0, notes };
  const loops: TransactionLoop[] = g.transactions.map((t) => {
    const loop = transactionLoop(t, g, ctx);
    if (!includeAccepted && loop.ack.status === 'A') loop.ack.listed = false;
    return loop;
  });
  const txAcks = loops.map((l) => l.ack);

  const received = g.transactions.length;
  // AK902 is GE01 as declared (N0 1/6); a GE01 that is missing or too long for AK902 ('12345678')
  // cannot be echoed, and the count received stands in for it (AK905 5 then says GE01 was wrong).
  const declared = g.declaredCount !== null ? numberEcho(g.declaredCount, 6) : undefined;
  const included = declared !== undefined ? Number(declared) : received;
  // AK904 counts the AK5 A/E, so that the counts and the AK5s always agree
  const accepted = txAcks.filter((a) => a.status !== 'R').length;
  let status: GroupAckStatus;
  if (groupErrors.length > 0) status = 'R';
  else if (received > 0 && accepted === 0) status = 'R';
  else if (accepted < received) status = 'P';
  else if (groupWarnings.length > 0 || txAcks.some((a) => a.status === 'E')) status = 'E';
  else status = 'A';
  const source = groupErrors.length > 0 ? groupErrors : groupWarnings;
  const groupCodes = uniq(
    source.map((i) => mapping(i)?.ak905).filter((c): c is string => c !== undefined).map((c) => ackCodeForVersion('716', c, plan.version)).filter((c): c is string => c !== null),
    5,
  );
  const ak9 = ['AK9', status, String(included), String(received), String(accepted), ...groupCodes];

  const max = maxAk2Loops(v5010);
  const shares = splitLoops(loops, max);
  if (shares.length > 1) {
    const listed = txAcks.filter((a) => a.listed).length;
    notes.push(`group ${g.header.control.trim()}: ${listed} AK2 loops are more than one ${plan.version} ${type} holds (${max}): it is acknowledged by ${shares.length} ${type}s, each with the group's AK1 and AK9`);
  }
  return shares.map((share, index) => {
    const control = nextControl();
    const body: WriteSegment[] = [ak1, ...share.flatMap((l) => (l.ack.listed ? l.segments : [])), ak9];
    const st: string[] = ['ST', type, control];
    if (type === '999') st.push(plan.version);
    return {
      type,
      version: plan.version,
      acknowledges: { functionalId: g.header.functionalId, control: g.header.control, version: g.header.version },
      status,
      groupCodes,
      counts: { included, received, accepted },
      transactions: share.map((l) => l.ack),
      ...(shares.length > 1 && { part: { index: index + 1, of: shares.length } }),
      control,
      groupControl,
      segments: [st, ...body, ['SE', String(body.length + 2), control]],
    };
  });
}

/**
 * ST02 must be unique within its FA group: a control source that repeats itself (a caller that
 * reserved fewer numbers than maxFunctionalAcks and falls back to the first) would make an ack its
 * partner rejects, so the builder refuses it.
 */
function requireDistinctControls(acks: BuiltFunctionalAck[]): void {
  const seen = new Set<string>();
  for (const a of acks) {
    if (seen.has(a.control)) {
      throw new Error(`buildAcks: controls.transaction gave ST02 ${a.control} twice in one FA group (reserve maxFunctionalAcks(report) numbers)`);
    }
    seen.add(a.control);
  }
}

// ---------------------------------------------------------------- entry point

/**
 * Builds the acknowledgments for one inbound interchange. Returns `text: null` (and no segments) when
 * nothing is to be sent. Throws a WaybillError from the writer when the envelope cannot be written
 * (e.g. an inbound sender id longer than 15 characters, delimiters unusable for writing).
 */
export function buildAcks(report: InterchangeReport, options: BuildAcksOptions): BuiltAcks {
  const policy = options.policy ?? {};
  const notes: string[] = [];
  const { status: interchangeStatus, noteCode } = interchangeAckStatus(report);
  const empty: BuiltAcks = { interchangeStatus, ta1: null, functional: [], interchange: null, text: null, notes };

  const ackGroups = report.groups.filter(isAcknowledgmentGroup);
  for (const g of ackGroups) notes.push(`group ${g.header.control} (${g.header.functionalId}) is an acknowledgment and is not acknowledged`);
  if (report.ta1s.length > 0) notes.push(`${report.ta1s.length} TA1 segment(s) are interchange acknowledgments and are not acknowledged`);
  const ackOnly = ackGroups.length === report.groups.length && (report.groups.length > 0 || report.ta1s.length > 0);
  if (ackOnly) {
    notes.push('the interchange holds only acknowledgments: nothing is sent');
    return empty;
  }

  const header = report.header;
  // A line suffix only makes sense when the terminator is not itself a line break (a newline-terminated
  // interchange already ends every segment with one).
  const inboundBreaks = header.delimiters.segment === '\n' || header.delimiters.segment === '\r';
  const delimiters: WriterDelimiters = options.delimiters ?? { ...header.delimiters, suffix: inboundBreaks ? '' : options.suffix ?? '' };
  const clean = makeSanitizer(delimiters);

  // 997 / 999
  const plans: PlannedAck[] = [];
  let unnamed = 0;
  if (interchangeStatus === 'R') {
    if (report.groups.length > ackGroups.length) notes.push('the interchange is rejected at envelope level: no 997/999 for its groups');
  } else if ((policy.functional ?? '997') === 'none') {
    if (report.groups.length > ackGroups.length) notes.push("functional acknowledgments are off (policy 'none')");
  } else {
    for (const g of report.groups) {
      if (isAcknowledgmentGroup(g)) continue;
      const plan = planAck(g, policy, notes);
      if (!plan) continue;
      if (!ak1Segment(g, is5010OrLater(plan.version), clean)) {
        unnamed++;
        notes.push(`group ${JSON.stringify(g.header.control)} (GS01 ${JSON.stringify(g.header.functionalId)}) gets no ${plan.type}: AK101/AK102 cannot name it (GS01 is 2 letters or digits, GS06 a number of 1-9 digits); the TA1 reports it (${UNNAMED_GROUP_NOTE})`);
        continue;
      }
      plans.push(plan);
    }
  }

  const clock = ackClock(options.now, options.timezone);

  // TA1. A group no 997/999 can name would otherwise go unanswered: the interchange is then accepted
  // with errors, TA105 024 "invalid interchange content (e.g., invalid GS segment)".
  const envelope = unnamed > 0 && interchangeStatus === 'A' ? { status: 'E' as const, noteCode: UNNAMED_GROUP_NOTE } : { status: interchangeStatus, noteCode };
  const ta1Policy = policy.ta1 ?? 'on-request';
  const wantTa1 =
    ta1Policy === 'always' ||
    (ta1Policy === 'on-request' && (header.ackRequested || envelope.status !== 'A')) ||
    (ta1Policy === 'on-error' && envelope.status !== 'A');
  const ta1: BuiltTa1 | null = wantTa1 ? { ...envelope, segment: ta1Segment(header, envelope.status, envelope.noteCode, clock, clean) } : null;

  if (!ta1 && plans.length === 0) return { ...empty, interchangeStatus: envelope.status };
  // A blank inbound ISA06 leaves nobody to send to, a blank ISA08 nobody to send as (both are errors the TA1
  // would name): an interchange addressed to blanks is no acknowledgment.
  const ackSender = options.sender?.id ?? header.receiverId.trim();
  const ackReceiver = options.partner?.id ?? header.senderId.trim();
  if (ackSender.trim() === '' || ackReceiver.trim() === '') {
    notes.push(`the acknowledgment cannot be addressed: the inbound ${ackReceiver.trim() === '' ? 'ISA06 (sender)' : 'ISA08 (receiver)'} is blank, so nothing is sent`);
    return empty;
  }

  // FA groups: one per (version, GS02, GS03), in order of first appearance.
  const nextGroup = allocator(options.controls.group, 'group', 1);
  const nextTx = allocator(options.controls.transaction, 'transaction', 4);
  const gsGroups: { key: string; gs: GroupInput['header']; plans: PlannedAck[]; acks: BuiltFunctionalAck[] }[] = [];
  for (const plan of plans) {
    // A blank inbound GS03/GS02 (a rejected group) falls back to the ISA ids: GS02/GS03 are mandatory.
    const gsSender = clean(options.sender?.applicationId ?? (plan.group.header.receiverId.trim() || ackSender));
    const gsReceiver = clean(options.partner?.applicationId ?? (plan.group.header.senderId.trim() || ackReceiver));
    const key = `${plan.version}\u0000${gsSender}\u0000${gsReceiver}`;
    let target = gsGroups.find((x) => x.key === key);
    if (!target) {
      target = {
        key,
        gs: { functionalId: 'FA', senderId: gsSender, receiverId: gsReceiver, date: clock.date8, time: clock.time4, control: nextGroup(gsGroups.length), version: plan.version },
        plans: [],
        acks: [],
      };
      gsGroups.push(target);
    }
    target.plans.push(plan);
  }
  // ST02s are numbered in the order the sets are written
  const functional: BuiltFunctionalAck[] = [];
  let txIndex = 0;
  for (const target of gsGroups) {
    for (const plan of target.plans) {
      const built = buildFunctional(plan, () => nextTx(txIndex++), String(target.gs.control), clean, options, notes);
      target.acks.push(...built);
      functional.push(...built);
    }
    requireDistinctControls(target.acks);
  }

  const inboundVersion = header.version.trim();
  const version =
    options.interchangeVersion ??
    (isKnownInterchangeVersion(inboundVersion) ? inboundVersion : functional.some((f) => is5010OrLater(f.version)) ? '00501' : '00401');
  const usage = options.usage ?? (/^[PTI]$/.test(header.usage.trim()) ? header.usage.trim() : 'P');
  const interchange: InterchangeInput = {
    header: {
      senderQualifier: options.sender?.qualifier ?? header.receiverQualifier.trim(),
      senderId: ackSender,
      receiverQualifier: options.partner?.qualifier ?? header.senderQualifier.trim(),
      receiverId: ackReceiver,
      date: clock.date6,
      time: clock.time4,
      version,
      control: options.controls.interchange,
      ackRequested: false,
      usage,
    },
    ta1s: ta1 ? [ta1.segment] : [],
    groups: gsGroups.map((x) => ({
      header: x.gs,
      transactions: x.acks.map((a): TransactionInput => {
        const st = a.segments[0] as string[];
        return { setId: st[1], control: st[2], implementationRef: st[3], segments: a.segments.slice(1, -1) };
      }),
    })),
  };
  const text = writeInterchange(interchange, delimiters, options.writer);
  return { interchangeStatus: envelope.status, ta1, functional, interchange, text, notes };
}
