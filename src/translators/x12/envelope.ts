// Segments -> envelope events. Tracks ISA/GS/ST nesting, checks trailers against headers (counts and
// control numbers), reports missing trailers, and hands out one TransactionSet at a time.
// A broken envelope never hides its siblings: every transaction is still yielded with its own findings.

import type { ErrorCode } from '../../errors/catalogue.js';
import type {
  Delimiters, GroupHeader, InterchangeHeader, Location, Segment, TransactionSet, X12Event, X12Issue,
} from './model.js';
import { elementIssue, issue } from './issues.js';
import type { Token } from './tokenizer.js';
import { allDigits, validDate, validTime } from './value-checks.js';

const CONTROL_DIGITS = /^\d{1,9}$/;
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

interface OpenGroup {
  header: GroupHeader;
  count: number;
  controls: Set<string>;
}

interface OpenInterchange {
  header: InterchangeHeader;
  groupCount: number;
  groupControls: Set<string>;
}

export class EnvelopeAssembler {
  private interchange: OpenInterchange | null = null;
  private group: OpenGroup | null = null;
  private tx: TransactionSet | null = null;
  /** ISA13 values seen per sender in this file, for duplicate detection. */
  private readonly seenInterchanges = new Set<string>();

  accept(token: Token, out: X12Event[]): void {
    if (!('kind' in token)) return this.onSegment(token, out); // a segment (the common case)
    switch (token.kind) {
      case 'isa':
        return this.onIsa(token.segment, token.delimiters, token.issues, out);
      case 'junk': {
        // Whatever was open cannot continue past unreadable data.
        this.closeAll(out, token.loc);
        out.push({ type: 'issue', issue: issue(token.code, junkMessage(token.code, token.text), token.loc) });
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
    const control = header.control.trim();
    if (!/^\d{9}$/.test(control)) {
      issues.push(elementIssue('X12_ISA_FIELD_INVALID', `ISA13 interchange control number '${header.control}' is not 9 digits`, isa, delimiters,
        { segmentId: 'ISA', elementPosition: 13, badValue: header.control, severity: /^\d{1,9}$/.test(control) ? 'warning' : 'error' }));
    }
    if (!/^[01]$/.test(el(isa, 14).trim())) {
      issues.push(elementIssue('X12_ISA_FIELD_INVALID', `ISA14 acknowledgment requested '${el(isa, 14)}' is not 0 or 1`, isa, delimiters,
        { segmentId: 'ISA', elementPosition: 14, badValue: el(isa, 14), severity: 'warning' }));
    }
    // The header's date, time and version: a value that is none is a corrupt header (TA1 014, 015, 017).
    const date = el(isa, 9).trim();
    if (date.length !== 6 || !allDigits(date, 0, 6) || !validDate(date, 0, 6)) {
      issues.push(elementIssue('X12_ISA_DATE_INVALID', `ISA09 interchange date '${el(isa, 9)}' is not a date (YYMMDD)`, isa, delimiters,
        { segmentId: 'ISA', elementPosition: 9, badValue: el(isa, 9) }));
    }
    const time = el(isa, 10).trim();
    if (time.length !== 4 || !allDigits(time, 0, 4) || !validTime(time, 0, 4)) {
      issues.push(elementIssue('X12_ISA_TIME_INVALID', `ISA10 interchange time '${el(isa, 10)}' is not a time (HHMM)`, isa, delimiters,
        { segmentId: 'ISA', elementPosition: 10, badValue: el(isa, 10) }));
    }
    if (!/^\d{5}$/.test(header.version)) {
      issues.push(elementIssue('X12_ISA_VERSION_INVALID', `ISA12 interchange control version '${el(isa, 12)}' is not a 5-digit version (00401, 00501)`, isa, delimiters,
        { segmentId: 'ISA', elementPosition: 12, badValue: el(isa, 12) }));
    }
    const key = `${header.senderQualifier}/${header.senderId}/${control}`;
    if (this.seenInterchanges.has(key)) {
      issues.push(elementIssue('X12_DUPLICATE_INTERCHANGE_CONTROL',
        `interchange control number ${control} from ${header.senderQualifier}/${header.senderId} appears twice in this file`, isa, delimiters,
        { segmentId: 'ISA', elementPosition: 13, badValue: header.control }));
    }
    this.seenInterchanges.add(key);
    this.interchange = { header, groupCount: 0, groupControls: new Set() };
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
    for (const [n, name] of [[1, 'GS01 functional identifier'], [6, 'GS06 group control number'], [8, 'GS08 version']] as const) {
      if (el(gs, n) === '') {
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
    this.group = { header, count: 0, controls: new Set() };
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
    out.push({ type: 'interchange-end', header: ic.header, trailer: iea, groupCount: ic.groupCount, issues });
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

function junkMessage(code: ErrorCode, text: string): string {
  const shown = JSON.stringify(text.length > 30 ? `${text.slice(0, 30)}…` : text);
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
