// Segments -> envelope events. Tracks ISA/GS/ST nesting, checks trailers against headers (counts and
// control numbers), reports missing trailers, and hands out one TransactionSet at a time.
// A broken envelope never hides its siblings: every transaction is still yielded with its own findings.

import type { ErrorCode } from '../../errors/catalogue.js';
import type {
  Delimiters, GroupHeader, InterchangeHeader, Location, Segment, TransactionSet, X12Event, X12Issue,
} from './model.js';
import { elementLocation } from './element-location.js';
import { elementIssue, issue } from './issues.js';
import type { Token } from './tokenizer.js';
import { allDigits, validDate, validTime } from './value-checks.js';
import {
  ACK_REQUESTED_CODES, AUTHORIZATION_QUALIFIERS, FIRST_REPETITION_VERSION, ID_QUALIFIERS, SECURITY_QUALIFIERS,
  STANDARDS_IDENTIFIER, USAGE_INDICATORS, isKnownInterchangeVersion, isLaterInterchangeVersion,
} from './isa-fields.js';

const CONTROL_DIGITS = /^\d{1,9}$/;
const GS_ELEMENTS = [
  [1, 'GS01 functional identifier'], [2, "GS02 application sender's code"], [3, "GS03 application receiver's code"],
  [4, 'GS04 group date'], [5, 'GS05 group time'], [6, 'GS06 group control number'], [7, 'GS07 responsible agency'],
  [8, 'GS08 version'],
] as const;
const SET_ID = /^\d{3}$/;

function el(seg: Segment, n: number): string {
  return seg.elements[n] ?? '';
}

/** Parses a count element: digits only (zero padding is legal); NaN otherwise. */
function parseCount(v: string): number {
  const s = v.trim();
  return /^\d{1,10}$/.test(s) ? Number(s) : NaN;
}

/** Control numbers compare as numbers when both are numeric (zero padding differs in the wild), else as text. */
function sameControl(a: string, b: string): boolean {
  const x = a.trim();
  const y = b.trim();
  if (/^\d+$/.test(x) && /^\d+$/.test(y)) return BigInt(x) === BigInt(y);
  return x === y;
}

/**
 * The control numbers seen, for duplicate detection: exactly a Set<string> of them, in memory that does
 * not grow with their number when they ascend, as senders number them. A Set of 2 million ST02s of one
 * group (or ISA13s of a file of a million small interchanges) held 100 MB: a file's memory then grew with
 * its size. Digit strings are kept as runs of consecutive numbers, per length (so "0001" and "1" stay
 * different values, as strings); a value that is not a digit string, or comes below the last run, is kept
 * as it is.
 */
export class ControlNumbers {
  /** Per digit-string length: ascending runs [lo, hi] of values added in ascending order. */
  private readonly runs = new Map<number, { lo: number[]; hi: number[] }>();
  private readonly other = new Set<string>();

  has(value: string): boolean {
    if (this.other.has(value)) return true;
    const n = numericValue(value);
    if (n < 0) return false;
    const r = this.runs.get(value.length);
    if (!r) return false;
    // The last run whose lo <= n (runs ascend and do not overlap).
    let a = 0;
    let b = r.lo.length - 1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (r.lo[m] <= n) a = m + 1;
      else b = m - 1;
    }
    return b >= 0 && n <= r.hi[b];
  }

  add(value: string): void {
    const n = numericValue(value);
    if (n < 0) { this.other.add(value); return; }
    let r = this.runs.get(value.length);
    if (!r) { r = { lo: [], hi: [] }; this.runs.set(value.length, r); }
    const last = r.hi.length - 1;
    if (last >= 0 && n === r.hi[last] + 1) r.hi[last] = n;
    else if (last < 0 || n > r.hi[last]) { r.lo.push(n); r.hi.push(n); }
    else this.other.add(value); // out of order: kept as a string
  }
}

/** A digit string of at most 15 digits (exact as a number) as its number; -1 for anything else. */
function numericValue(value: string): number {
  if (value.length === 0 || value.length > 15) return -1;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
  }
  return Number(value);
}

interface OpenGroup {
  header: GroupHeader;
  count: number;
  controls: ControlNumbers;
}

interface OpenInterchange {
  header: InterchangeHeader;
  groupCount: number;
  groupControls: ControlNumbers;
}

export class EnvelopeAssembler {
  private interchange: OpenInterchange | null = null;
  private group: OpenGroup | null = null;
  private tx: TransactionSet | null = null;
  /** ISA13 values seen per sender (qualifier/id) in this file, for duplicate detection. */
  private readonly seenInterchanges = new Map<string, ControlNumbers>();
  /** The interchange that ended with its IEA last, until the next ISA: what X12 data after it follows. */
  private endedWithIea: InterchangeHeader | null = null;

  accept(token: Token, out: X12Event[]): void {
    if (!('kind' in token)) return this.onSegment(token, out); // a segment (the common case)
    switch (token.kind) {
      case 'isa':
        return this.onIsa(token.segment, token.delimiters, token.issues, out);
      case 'junk': {
        // Whatever was open cannot continue past unreadable data.
        this.closeAll(out, token.loc);
        out.push({ type: 'issue', issue: issue(token.code, junkMessage(token.code, token.text), token.loc) });
        this.noteDataAfter(token.code, token.text, token.loc, out);
        return;
      }
      case 'issue':
        out.push({ type: 'issue', issue: token.issue });
        return;
      case 'oversize': {
        const mib = token.limit % (1024 * 1024) === 0 ? `${token.limit / (1024 * 1024)} MiB` : `${token.limit} bytes`;
        const found = issue('X12_SEGMENT_TOO_LONG',
          `segment ${token.segmentId} is longer than ${mib}, the most Waybill reads as one segment: it is skipped up to its terminator`,
          token.loc, { segmentId: token.segmentId, ...(this.tx && { segmentPosition: token.position }) });
        if (this.tx) {
          // It stays counted (SE01 counts it), and its transaction set is rejected for it.
          this.tx.skippedSegments = (this.tx.skippedSegments ?? 0) + 1;
          this.tx.issues.push(found);
        } else out.push({ type: 'issue', issue: found });
        return;
      }
    }
  }

  end(out: X12Event[], loc: Location): void {
    this.closeAll(out, loc);
  }

  /** The open interchange's delimiters, to locate findings about an element (undefined outside one). */
  private get delimiters(): Delimiters | undefined {
    return this.interchange?.header.delimiters;
  }

  // ------------------------------------------------------------------------------------------------

  private onIsa(isa: Segment, delimiters: Delimiters, issues: X12Issue[], out: X12Event[]): void {
    this.closeAll(out, isa.loc);
    this.endedWithIea = null;
    const header: InterchangeHeader = {
      isa,
      delimiters,
      senderQualifier: el(isa, 5).trim(),
      senderId: el(isa, 6).trim(),
      receiverQualifier: el(isa, 7).trim(),
      receiverId: el(isa, 8).trim(),
      date: el(isa, 9).trim(),
      time: el(isa, 10).trim(),
      version: el(isa, 12).trim(),
      control: el(isa, 13),
      ackRequested: el(isa, 14).trim() === '1',
      usage: el(isa, 15).trim(),
    };
    issues.push(...isaFieldIssues(isa, header));
    const control = header.control.trim();
    const sender = `${header.senderQualifier}/${header.senderId}`;
    let seen = this.seenInterchanges.get(sender);
    if (!seen) { seen = new ControlNumbers(); this.seenInterchanges.set(sender, seen); }
    if (seen.has(control)) {
      issues.push(elementIssue('X12_DUPLICATE_INTERCHANGE_CONTROL',
        `interchange control number ${control} from ${header.senderQualifier}/${header.senderId} appears twice in this file`, isa, delimiters,
        { segmentId: 'ISA', elementPosition: 13, badValue: header.control }));
    }
    seen.add(control);
    this.interchange = { header, groupCount: 0, groupControls: new ControlNumbers() };
    out.push({ type: 'interchange-start', header, issues });
  }

  private onSegment(seg: Segment, out: X12Event[]): void {
    switch (seg.id) {
      case 'GS': return this.onGs(seg, out);
      case 'ST': return this.onSt(seg, out);
      case 'SE': return this.onSe(seg, out);
      case 'GE': return this.onGe(seg, out);
      case 'IEA': return this.onIea(seg, out);
      case 'TA1':
        if (this.interchange && !this.group) {
          out.push({ type: 'ta1', segment: seg, interchange: this.interchange.header });
          return;
        }
        break;
    }
    if (this.tx) {
      this.tx.segments.push(seg);
      return;
    }
    if (this.group) {
      this.report(out, 'X12_SEGMENT_OUTSIDE_GROUP', `segment ${seg.id} stands between transaction sets (after SE, before ST)`, seg);
    } else {
      this.report(out, 'X12_SEGMENT_OUTSIDE_GROUP', `segment ${seg.id} stands outside any functional group (GS..GE)`, seg);
    }
  }

  private onGs(gs: Segment, out: X12Event[]): void {
    if (this.tx) this.closeTransaction(out, gs.loc, `a GS started before SE`);
    if (this.group) this.closeGroup(out, null, gs.loc);
    const issues: X12Issue[] = [];
    const delimiters = this.delimiters;
    const header: GroupHeader = {
      gs,
      functionalId: el(gs, 1),
      senderId: el(gs, 2),
      receiverId: el(gs, 3),
      date: el(gs, 4),
      time: el(gs, 5),
      control: el(gs, 6),
      agency: el(gs, 7),
      version: el(gs, 8),
    };
    // Every GS element is mandatory. A blank GS02/GS03 would also leave the 997/999's GS03/GS02 blank.
    for (const [n, name] of GS_ELEMENTS) {
      if (el(gs, n).trim() === '') {
        issues.push(elementIssue('X12_GS_ELEMENT_MISSING', `${name} is missing`, gs, delimiters, { segmentId: 'GS', elementPosition: n }));
      }
    }
    // GS04/GS05/GS07 that are no date, time or agency: warnings (no 997 code names them; the data stays readable).
    const gsDate = header.date.trim();
    if (gsDate !== '' && (gsDate.length !== 8 || !allDigits(gsDate, 0, 8) || !validDate(gsDate, 0, 8))) {
      issues.push(elementIssue('X12_GS_FIELD_INVALID', `GS04 group date '${header.date}' is not a date (CCYYMMDD)`, gs, delimiters,
        { segmentId: 'GS', elementPosition: 4, badValue: header.date }));
    }
    const gsTime = header.time.trim();
    if (gsTime !== '' && (!allDigits(gsTime, 0, gsTime.length) || !validTime(gsTime, 0, gsTime.length))) {
      issues.push(elementIssue('X12_GS_FIELD_INVALID', `GS05 group time '${header.time}' is not a time (HHMM, HHMMSS or HHMMSSd..)`, gs, delimiters,
        { segmentId: 'GS', elementPosition: 5, badValue: header.time }));
    }
    if (header.agency.trim() !== '' && header.agency.trim() !== 'X' && header.agency.trim() !== 'T') {
      issues.push(elementIssue('X12_GS_FIELD_INVALID', `GS07 responsible agency '${header.agency}' is neither X (ASC X12) nor T (TDCC)`, gs, delimiters,
        { segmentId: 'GS', elementPosition: 7, badValue: header.agency }));
    }
    if (header.control !== '' && !CONTROL_DIGITS.test(header.control)) {
      issues.push(elementIssue('X12_GS_CONTROL_INVALID', `GS06 '${header.control}' is not a 1-9 digit number`, gs, delimiters,
        { segmentId: 'GS', elementPosition: 6, badValue: header.control }));
    }
    if (this.interchange) {
      const key = header.control.trim();
      if (this.interchange.groupControls.has(key)) {
        issues.push(elementIssue('X12_DUPLICATE_GROUP_CONTROL', `group control number ${key} appears twice in interchange ${this.interchange.header.control.trim()}`,
          gs, delimiters, { segmentId: 'GS', elementPosition: 6, badValue: header.control }));
      }
      this.interchange.groupControls.add(key);
      this.interchange.groupCount++;
    }
    this.group = { header, count: 0, controls: new ControlNumbers() };
    out.push({ type: 'group-start', header, issues });
  }

  private onSt(st: Segment, out: X12Event[]): void {
    if (this.tx) this.closeTransaction(out, st.loc, `ST ${el(st, 2)} started before it`);
    const issues: X12Issue[] = [];
    const delimiters = this.delimiters;
    const setId = el(st, 1);
    const control = el(st, 2);
    if (!SET_ID.test(setId)) {
      issues.push(elementIssue('X12_ST_SET_ID_INVALID', `ST01 '${setId}' is not a transaction set identifier`, st, delimiters,
        { segmentId: 'ST', segmentPosition: 1, elementPosition: 1, badValue: setId }));
    }
    if (control.length < 4 || control.length > 9) {
      issues.push(elementIssue('X12_ST_CONTROL_INVALID', `ST02 '${control}' must be 4-9 characters`, st, delimiters,
        { segmentId: 'ST', segmentPosition: 1, elementPosition: 2, badValue: control }));
    }
    if (!this.group) {
      issues.push(issue(this.interchange ? 'X12_SEGMENT_OUTSIDE_GROUP' : 'X12_BARE_TRANSACTION',
        `transaction set ${setId} ${control} is not inside a functional group (GS..GE)`, st.loc, { segmentId: 'ST', segmentPosition: 1 }));
    } else {
      if (this.group.controls.has(control)) {
        issues.push(elementIssue('X12_DUPLICATE_TRANSACTION_CONTROL', `ST02 ${control} appears twice in group ${this.group.header.control}`, st, delimiters,
          { segmentId: 'ST', segmentPosition: 1, elementPosition: 2, badValue: control }));
      }
      this.group.controls.add(control);
      this.group.count++;
    }
    this.tx = {
      interchange: this.interchange?.header ?? null,
      group: this.group?.header ?? null,
      setId,
      control,
      implementationRef: st.elements.length > 3 && el(st, 3) !== '' ? el(st, 3) : undefined,
      segments: [st],
      complete: false,
      issues,
      index: this.group?.count ?? 1,
    };
  }

  private onSe(se: Segment, out: X12Event[]): void {
    const tx = this.tx;
    if (!tx) {
      this.report(out, 'X12_SE_WITHOUT_ST', `SE ${el(se, 2)} has no matching ST`, se);
      return;
    }
    tx.segments.push(se);
    const declared = parseCount(el(se, 1));
    const actual = tx.segments.length + (tx.skippedSegments ?? 0);
    if (declared !== actual) {
      tx.issues.push(elementIssue('X12_SE_COUNT_MISMATCH', `SE01 says ${el(se, 1) || '(empty)'} segments but ST..SE holds ${actual}`, se, this.delimiters,
        { segmentId: 'SE', segmentPosition: se.position, elementPosition: 1, badValue: el(se, 1) }));
    }
    if (el(se, 2) !== tx.control) {
      tx.issues.push(elementIssue('X12_SE_CONTROL_MISMATCH', `SE02 '${el(se, 2)}' does not match ST02 '${tx.control}'`, se, this.delimiters,
        { segmentId: 'SE', segmentPosition: se.position, elementPosition: 2, badValue: el(se, 2) }));
    }
    tx.complete = true;
    this.tx = null;
    out.push({ type: 'transaction', transaction: tx });
  }

  private onGe(ge: Segment, out: X12Event[]): void {
    if (this.tx) this.closeTransaction(out, ge.loc, 'GE came first');
    if (!this.group) {
      this.report(out, 'X12_GE_WITHOUT_GS', `GE ${el(ge, 2)} has no matching GS`, ge);
      return;
    }
    this.closeGroup(out, ge, ge.loc);
  }

  private onIea(iea: Segment, out: X12Event[]): void {
    if (this.tx) this.closeTransaction(out, iea.loc, 'IEA came first');
    if (this.group) this.closeGroup(out, null, iea.loc);
    if (!this.interchange) {
      this.report(out, 'X12_IEA_WITHOUT_ISA', `IEA ${el(iea, 2)} has no matching ISA`, iea);
      return;
    }
    this.closeInterchange(out, iea, iea.loc);
  }

  // ------------------------------------------------------------------------------------------------

  private closeTransaction(out: X12Event[], loc: Location, why: string): void {
    const tx = this.tx!;
    tx.issues.push(issue('X12_SE_MISSING', `transaction set ${tx.setId} ${tx.control} has no SE trailer (${why})`, loc,
      { segmentId: 'SE' }));
    this.tx = null;
    out.push({ type: 'transaction', transaction: tx });
  }

  private closeGroup(out: X12Event[], ge: Segment | null, loc: Location): void {
    const group = this.group!;
    const issues: X12Issue[] = [];
    if (!ge) {
      issues.push(issue('X12_GE_MISSING', `functional group ${group.header.control.trim() || '(no GS06)'} has no GE trailer`, loc, { segmentId: 'GE' }));
    } else {
      const declared = parseCount(el(ge, 1));
      if (declared !== group.count) {
        issues.push(elementIssue('X12_GE_COUNT_MISMATCH', `GE01 says ${el(ge, 1) || '(empty)'} transaction sets but the group holds ${group.count}`,
          ge, this.delimiters, { segmentId: 'GE', elementPosition: 1, badValue: el(ge, 1) }));
      }
      if (!sameControl(el(ge, 2), group.header.control)) {
        issues.push(elementIssue('X12_GE_CONTROL_MISMATCH', `GE02 '${el(ge, 2)}' does not match GS06 '${group.header.control}'`, ge, this.delimiters,
          { segmentId: 'GE', elementPosition: 2, badValue: el(ge, 2) }));
      }
    }
    this.group = null;
    out.push({ type: 'group-end', header: group.header, trailer: ge, transactionCount: group.count, issues });
  }

  private closeInterchange(out: X12Event[], iea: Segment | null, loc: Location): void {
    const ic = this.interchange!;
    const issues: X12Issue[] = [];
    if (!iea) {
      issues.push(issue('X12_IEA_MISSING', `interchange ${ic.header.control.trim() || '(no ISA13)'} has no IEA trailer`, loc, { segmentId: 'IEA' }));
    } else {
      const declared = parseCount(el(iea, 1));
      if (declared !== ic.groupCount) {
        issues.push(elementIssue('X12_IEA_COUNT_MISMATCH', `IEA01 says ${el(iea, 1) || '(empty)'} functional groups but the interchange holds ${ic.groupCount}`,
          iea, ic.header.delimiters, { segmentId: 'IEA', elementPosition: 1, badValue: el(iea, 1) }));
      }
      if (!sameControl(el(iea, 2), ic.header.control)) {
        issues.push(elementIssue('X12_IEA_CONTROL_MISMATCH', `IEA02 '${el(iea, 2)}' does not match ISA13 '${ic.header.control}'`, iea, ic.header.delimiters,
          { segmentId: 'IEA', elementPosition: 2, badValue: el(iea, 2) }));
      }
    }
    this.interchange = null;
    // Only an interchange its IEA ended: one cut short is IEA_MISSING already, by what cut it short.
    this.endedWithIea = iea ? ic.header : null;
    out.push({ type: 'interchange-end', header: ic.header, trailer: iea, groupCount: ic.groupCount, issues });
  }

  /**
   * X12 segments after an IEA, without an ISA of their own (a group or transaction set, a stray trailer):
   * no TA1 can answer them, and nothing acknowledges them. The interchange they follow is sound, so it is
   * accepted, but its TA1 must not say all is well: it gets a warning its TA1 notes (E, 024), with where
   * the data stands. Data that is not X12 (a transport banner) is no part of any interchange and is not noted.
   */
  private noteDataAfter(code: ErrorCode, text: string, loc: Location, out: X12Event[]): void {
    const ended = this.endedWithIea;
    if (!ended || !STRAY_X12.has(code)) return;
    const found = issue('X12_DATA_AFTER_INTERCHANGE',
      `${strayWhat(code)} follows the IEA of interchange ${ended.control.trim()} without an ISA of its own: ` +
      `it is not read and nothing acknowledges it (${excerpt(text)})`, loc);
    out.push({ type: 'interchange-issue', header: ended, issue: found });
  }

  private closeAll(out: X12Event[], loc: Location): void {
    if (this.tx) this.closeTransaction(out, loc, 'the data ended');
    if (this.group) this.closeGroup(out, null, loc);
    if (this.interchange) this.closeInterchange(out, null, loc);
  }

  private report(out: X12Event[], code: ErrorCode, message: string, seg: Segment): void {
    out.push({ type: 'issue', issue: issue(code, message, seg.loc, { segmentId: seg.id }) });
  }
}

// ---- ISA header fields --------------------------------------------------------------------------------
// Each field has its own code, so the TA1 names it (TA105). What decides error or warning: a value that
// leaves the interchange unaddressable (blank ISA06/ISA08), unnumbered (a non-numeric ISA13), of an
// unknown syntax (ISA12 no version) or of unknown standing (ISA15: test or production?) is an error, and
// the TA1 rejects the interchange. A code outside its list in a field that changes nothing about how the
// interchange is read or answered (ISA01, ISA03, ISA05, ISA07, ISA11 before 00402, ISA14) is a warning:
// such files are common (the shared corpus has an accepted file with ISA07 '1B'), and the TA1 still notes
// it (TA104 E).

const ISA_ELEMENTS = 16;

/**
 * Where ISA element `n` starts, as every other element finding is located (element-location.ts): also in
 * an ISA that is not fixed width, wrapped or holds non-ASCII bytes (its raw text is kept for that). These
 * findings pointed at the ISA's first character there, while X12_DUPLICATE_INTERCHANGE_CONTROL on the
 * same ISA pointed at ISA13.
 */
function isaFieldLoc(isa: Segment, n: number, delimiters: Delimiters): Location {
  return elementLocation(isa, { elementPosition: n }, delimiters);
}

type IsaFinding = (code: ErrorCode, n: number, message: string, severity?: 'error' | 'warning') => void;

/** The findings about the ISA's fields. */
function isaFieldIssues(isa: Segment, header: InterchangeHeader): X12Issue[] {
  // With too few or too many elements, which field is which is unknown: X12_ISA_ELEMENT_COUNT says so.
  if (isa.elements.length !== ISA_ELEMENTS + 1) return [];
  const found: X12Issue[] = [];
  const report: IsaFinding = (code, n, message, severity) => {
    found.push(issue(code, message, isaFieldLoc(isa, n, header.delimiters),
      { segmentId: 'ISA', elementPosition: n, badValue: el(isa, n), ...(severity && { severity }) }));
  };
  checkQualifiers(isa, report);
  checkParties(isa, report);
  checkDateAndTime(isa, report);
  checkStandardsOrRepetition(isa, header, report);
  checkVersion(header.version, report);
  checkControlNumber(header.control, report);
  checkFlags(isa, report);
  return found;
}

/** ISA01, ISA03, ISA05, ISA07: codes of their lists (warnings: they change nothing in how the data is read). */
function checkQualifiers(isa: Segment, report: IsaFinding): void {
  const isa01 = el(isa, 1).trim();
  if (!AUTHORIZATION_QUALIFIERS.has(isa01)) {
    report('X12_ISA_AUTH_QUALIFIER_INVALID', 1, `ISA01 authorization information qualifier '${el(isa, 1)}' is not a code of its list (00 to 06)`);
  }
  const isa03 = el(isa, 3).trim();
  if (!SECURITY_QUALIFIERS.has(isa03)) {
    report('X12_ISA_SECURITY_QUALIFIER_INVALID', 3, `ISA03 security information qualifier '${el(isa, 3)}' is neither 00 nor 01`);
  }
  if (!ID_QUALIFIERS.has(el(isa, 5).trim())) {
    report('X12_ISA_SENDER_QUALIFIER_INVALID', 5, `ISA05 interchange sender id qualifier '${el(isa, 5)}' is not an interchange id qualifier (01, 02, 08, 12, 14, ZZ, ...)`);
  }
  if (!ID_QUALIFIERS.has(el(isa, 7).trim())) {
    report('X12_ISA_RECEIVER_QUALIFIER_INVALID', 7, `ISA07 interchange receiver id qualifier '${el(isa, 7)}' is not an interchange id qualifier (01, 02, 08, 12, 14, ZZ, ...)`);
  }
}

/** ISA06, ISA08: an interchange nobody sent, or sent to nobody, cannot be routed or answered. */
function checkParties(isa: Segment, report: IsaFinding): void {
  if (el(isa, 6).trim() === '') report('X12_ISA_SENDER_ID_MISSING', 6, 'ISA06 interchange sender id is blank');
  if (el(isa, 8).trim() === '') report('X12_ISA_RECEIVER_ID_MISSING', 8, 'ISA08 interchange receiver id is blank');
}

/** ISA09, ISA10: a value that is no date or time is a corrupt header (TA1 014, 015). */
function checkDateAndTime(isa: Segment, report: IsaFinding): void {
  const date = el(isa, 9).trim();
  if (date.length !== 6 || !allDigits(date, 0, 6) || !validDate(date, 0, 6)) {
    report('X12_ISA_DATE_INVALID', 9, `ISA09 interchange date '${el(isa, 9)}' is not a date (YYMMDD)`);
  }
  const time = el(isa, 10).trim();
  if (time.length !== 4 || !allDigits(time, 0, 4) || !validTime(time, 0, 4)) {
    report('X12_ISA_TIME_INVALID', 10, `ISA10 interchange time '${el(isa, 10)}' is not a time (HHMM)`);
  }
}

/**
 * ISA11: before 00402 the standards identifier, whose one code is U; from 00402 on the repetition
 * separator, which the tokenizer takes only when it is usable as one (no letter, digit or space, no other
 * delimiter). Unknown when ISA12 is no version Waybill knows (that is reported on its own).
 */
function checkStandardsOrRepetition(isa: Segment, header: InterchangeHeader, report: IsaFinding): void {
  const version = header.version;
  if (!isKnownInterchangeVersion(version)) return;
  if (version < FIRST_REPETITION_VERSION) {
    if (el(isa, 11) !== STANDARDS_IDENTIFIER) {
      report('X12_ISA_STANDARDS_ID_INVALID', 11, `ISA11 interchange control standards identifier '${el(isa, 11)}' is not U (ASC X12), its only code before version 00402`);
    }
  } else if (header.delimiters.repetition === null) {
    report('X12_ISA_REPETITION_SEPARATOR_INVALID', 11,
      `ISA11 repetition separator '${el(isa, 11)}' cannot be one (a letter, digit or space, or another delimiter): repeated elements are read as one value in this interchange`);
  }
}

/** ISA12: a published control version; a later-looking one is "not supported" (TA1 003), anything else no version (017). */
function checkVersion(version: string, report: IsaFinding): void {
  if (isKnownInterchangeVersion(version)) return;
  if (!/^\d{5}$/.test(version)) {
    report('X12_ISA_VERSION_INVALID', 12, `ISA12 interchange control version '${version}' is not a 5-digit version (00401, 00501)`);
  } else if (isLaterInterchangeVersion(version)) {
    report('X12_ISA_VERSION_UNSUPPORTED', 12, `ISA12 interchange control version '${version}' is later than the versions Waybill knows (up to 00801)`);
  } else {
    report('X12_ISA_VERSION_INVALID', 12, `ISA12 interchange control version '${version}' is no published version (00200 to 00801, e.g. 00401, 00501)`);
  }
}

/** ISA13: 9 digits. Numeric but of another width is read unambiguously (a warning); not numeric, an error. */
function checkControlNumber(control: string, report: IsaFinding): void {
  const c = control.trim();
  if (/^\d{9}$/.test(c)) return;
  report('X12_ISA_CONTROL_INVALID', 13, `ISA13 interchange control number '${control}' is not 9 digits`,
    /^\d{1,9}$/.test(c) ? 'warning' : 'error');
}

/** ISA14 (0 or 1: a warning, the TA1 policy decides anyway) and ISA15 (P, T or I: an error, test data must never pass for production). */
function checkFlags(isa: Segment, report: IsaFinding): void {
  if (!ACK_REQUESTED_CODES.has(el(isa, 14).trim())) {
    report('X12_ISA_ACK_REQUESTED_INVALID', 14, `ISA14 acknowledgment requested '${el(isa, 14)}' is not 0 or 1`);
  }
  if (!USAGE_INDICATORS.has(el(isa, 15).trim())) {
    report('X12_ISA_USAGE_INVALID', 15, `ISA15 usage indicator '${el(isa, 15)}' is not P (production), T (test) or I (information): whether the interchange is production data is unknown`);
  }
}

/** What the tokenizer calls X12 segments standing outside any interchange (junkMessage words them). */
const STRAY_X12: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'X12_BARE_TRANSACTION', 'X12_IEA_WITHOUT_ISA', 'X12_GE_WITHOUT_GS', 'X12_SE_WITHOUT_ST', 'X12_NO_ISA',
]);

function strayWhat(code: ErrorCode): string {
  switch (code) {
    case 'X12_BARE_TRANSACTION': return 'a functional group or transaction set';
    case 'X12_IEA_WITHOUT_ISA': return 'an IEA trailer';
    case 'X12_GE_WITHOUT_GS': return 'a GE trailer';
    case 'X12_SE_WITHOUT_ST': return 'an SE trailer';
    default: return 'a segment';
  }
}

function excerpt(text: string): string {
  return JSON.stringify(text.length > 30 ? `${text.slice(0, 30)}…` : text);
}

function junkMessage(code: ErrorCode, text: string): string {
  const shown = excerpt(text);
  switch (code) {
    case 'X12_BARE_TRANSACTION': return `a transaction set or group without an ISA interchange header: ${shown}`;
    case 'X12_IEA_WITHOUT_ISA': return `an IEA trailer with no open interchange: ${shown}`;
    case 'X12_GE_WITHOUT_GS': return `a GE trailer with no open interchange: ${shown}`;
    case 'X12_SE_WITHOUT_ST': return `an SE trailer with no open interchange: ${shown}`;
    case 'X12_INVALID_DELIMITERS': return `the ISA declares unusable delimiters (element separator, component separator and terminator must be distinct non-alphanumeric characters): ${shown}`;
    case 'X12_ISA_TRUNCATED': return `the ISA ends before its 16th element: ${shown}`;
    case 'X12_NO_ISA': return `expected an ISA interchange header, found ${shown}`;
    default: return `data that is not X12: ${shown}`;
  }
}
