// Serializing X12 with a partner's delimiters: ISA..IEA with computed trailers (SE01/SE02, GE01/GE02,
// IEA01/IEA02), a fixed-width ISA, and a refusal (thrown WaybillError) for any value that the chosen
// delimiters would corrupt. Output is deterministic: the same input always gives the same characters.
// Control numbers are inputs (the ledger owns them); the writer never invents one.
//
// Three ways to use it:
//   writeInterchange(input, delimiters)            -> string (everything in memory)
//   interchangeChunks / streamInterchange(...)     -> (async) generator of strings, one per envelope
//                                                     segment or transaction set
//   writeInterchangeTo(writable, input, delimiters) -> Promise, honours back-pressure
// or drive `X12Writer` yourself (beginInterchange / beginGroup / transaction / endGroup / endInterchange).

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { firstUnwritable } from '../unwritable.js';
import { WaybillError } from '../../errors/catalogue.js';

/** The delimiters to write with. A reader's `Delimiters` is assignable to this. */
export interface WriterDelimiters {
  element: string;
  component: string;
  /** Written as ISA11 when given; null writes ISA11 = 'U' (versions before 00402). */
  repetition: string | null;
  segment: string;
  /** Written after every segment terminator, e.g. '\n' or '\r\n' ("~" + newline). Default ''. */
  suffix?: string;
}

/**
 * One data element: a simple value; a composite as its components (`string[]`); or a repeating element
 * as its repetitions (`string[][]`, each repetition a list of components, `['x']` for a simple one).
 * An array holding at least one array is read as repetitions (a plain string item is then a one-component
 * repetition); an array of strings only is read as components.
 */
export type ElementValue = string | readonly string[] | readonly (readonly string[])[];

/** A segment to write: the segment id first, then its elements in X12 position order (index n = element n). */
export type WriteSegment = readonly ElementValue[];

export interface IsaHeader {
  /** ISA01, default '00'. */
  authorizationQualifier?: string;
  /** ISA02, padded to 10; default blank. */
  authorization?: string;
  /** ISA03, default '00'. */
  securityQualifier?: string;
  /** ISA04, padded to 10; default blank. */
  security?: string;
  /** ISA05 (2 characters). */
  senderQualifier: string;
  /** ISA06, padded to 15. */
  senderId: string;
  /** ISA07 (2 characters). */
  receiverQualifier: string;
  /** ISA08, padded to 15. */
  receiverId: string;
  /** ISA09, YYMMDD. */
  date: string;
  /** ISA10, HHMM. */
  time: string;
  /** ISA12, e.g. '00401' or '00501'. */
  version: string;
  /** ISA13, up to 9 digits; zero-padded to 9. IEA02 repeats it. */
  control: string | number;
  /** ISA14: true/'1' asks the receiver for a TA1. Default false. */
  ackRequested?: boolean | '0' | '1';
  /** ISA15: 'P' production (default), 'T' test, 'I' information. */
  usage?: string;
}

export interface GsHeader {
  /** GS01, e.g. 'SM', 'QM', 'FA'. */
  functionalId: string;
  /** GS02, application sender's code. */
  senderId: string;
  /** GS03, application receiver's code. */
  receiverId: string;
  /** GS04, CCYYMMDD. */
  date: string;
  /** GS05, HHMM[SS[DD]]. */
  time: string;
  /** GS06, 1-9 digits, written as given (GE02 repeats it). */
  control: string | number;
  /** GS07, default 'X'. */
  agency?: string;
  /** GS08, e.g. '004010' or '005010X231A1'. */
  version: string;
}

export interface TransactionInput {
  /** ST01, e.g. '204'. */
  setId: string;
  /** ST02, 4-9 characters; a number is zero-padded to 4 digits. SE02 repeats it. */
  control: string | number;
  /** ST03 (5010 implementation convention reference), when wanted. */
  implementationRef?: string;
  /** The segments between ST and SE (exclusive); the writer adds ST and SE. */
  segments: readonly WriteSegment[];
}

/**
 * A transaction set either described (`TransactionInput`) or given as its full segment list starting with
 * ST; a final SE in that list is replaced by a computed one.
 */
export type TransactionLike = TransactionInput | readonly WriteSegment[];

export interface GroupInput {
  header: GsHeader;
  transactions: Iterable<TransactionLike>;
}

export interface InterchangeInput {
  header: IsaHeader;
  /** TA1 segments written right after the ISA, before any group (an interchange acknowledgment). */
  ta1s?: readonly WriteSegment[];
  groups: Iterable<GroupInput>;
}

export interface StreamGroupInput {
  header: GsHeader;
  transactions: Iterable<TransactionLike> | AsyncIterable<TransactionLike>;
}

export interface StreamInterchangeInput {
  header: IsaHeader;
  ta1s?: readonly WriteSegment[];
  groups: Iterable<StreamGroupInput> | AsyncIterable<StreamGroupInput>;
}

export interface X12WriterOptions {
  /**
   * Drop trailing empty elements, components and repetitions, as X12 syntax requires (default true).
   * The ISA is always written with all 16 fields.
   */
  trimTrailingEmpty?: boolean;
}

/** Where a value sits, for the error a refusal throws (`formatSegment`'s optional context). */
export interface ValueContext {
  segmentId: string;
  /** 0-based index of the segment in the interchange being written (ISA = 0), when known. */
  segmentIndex?: number;
  /** Position within the transaction set (ST = 1), when inside one. */
  position?: number;
  transactionControl?: string;
  groupControl?: string;
}

const DELIMITER_NAMES = ['element', 'component', 'repetition', 'segment', 'suffix'] as const;
type DelimiterName = (typeof DELIMITER_NAMES)[number];

function charList(s: string): string[] {
  return [...s];
}

function escapeForClass(ch: string): string {
  return ch.replace(/[\\\]^\-[]/g, '\\$&');
}

function show(ch: string): string {
  return JSON.stringify(ch);
}

/**
 * Checks a delimiter set for writing: element, component, segment (and repetition when given) must be
 * single, distinct characters that are neither letters, digits nor a space; the suffix may only hold
 * CR/LF characters that are not themselves delimiters. Throws X12_WRITE_INVALID_DELIMITERS.
 */
export function validateWriterDelimiters(d: WriterDelimiters): Required<WriterDelimiters> {
  const named: Array<[string, string | null]> = [
    ['element', d.element],
    ['component', d.component],
    ['repetition', d.repetition],
    ['segment', d.segment],
  ];
  const seen = new Map<string, string>();
  for (const [name, value] of named) {
    if (value === null && name === 'repetition') continue;
    if (typeof value !== 'string' || charList(value).length !== 1) {
      throw new WaybillError('X12_WRITE_INVALID_DELIMITERS', `the ${name} delimiter must be exactly one character, got ${show(String(value))}`, {
        delimiter: name,
        value,
      });
    }
    if (/^[\p{L}\p{N}\s]$/u.test(value) && !(name === 'segment' && /^[\r\n]$/.test(value))) {
      throw new WaybillError('X12_WRITE_INVALID_DELIMITERS', `the ${name} delimiter ${show(value)} is a letter, digit or space`, {
        delimiter: name,
        value,
      });
    }
    const other = seen.get(value);
    if (other !== undefined) {
      throw new WaybillError('X12_WRITE_INVALID_DELIMITERS', `the ${name} and ${other} delimiters are both ${show(value)}`, {
        delimiter: name,
        other,
        value,
      });
    }
    seen.set(value, name);
  }
  const suffix = d.suffix ?? '';
  for (const ch of charList(suffix)) {
    if (ch !== '\r' && ch !== '\n') {
      throw new WaybillError('X12_WRITE_INVALID_DELIMITERS', `the line suffix may only hold CR/LF characters, got ${show(suffix)}`, {
        delimiter: 'suffix',
        value: suffix,
      });
    }
    const other = seen.get(ch);
    if (other !== undefined) {
      throw new WaybillError('X12_WRITE_INVALID_DELIMITERS', `the line suffix ${show(suffix)} contains the ${other} delimiter`, {
        delimiter: 'suffix',
        other,
        value: suffix,
      });
    }
  }
  return { element: d.element, component: d.component, repetition: d.repetition, segment: d.segment, suffix };
}

function describeWhere(ctx: ValueContext, elementPosition: number, componentPosition?: number, repetition?: number): string {
  const parts = [`${ctx.segmentId}${String(elementPosition).padStart(2, '0')}`];
  if (repetition !== undefined) parts.push(`repetition ${repetition}`);
  if (componentPosition !== undefined) parts.push(`component ${componentPosition}`);
  const seg: string[] = [];
  if (ctx.position !== undefined) seg.push(`position ${ctx.position} of transaction ${ctx.transactionControl ?? '?'}`);
  if (ctx.segmentIndex !== undefined) seg.push(`segment #${ctx.segmentIndex + 1} of the interchange`);
  return parts.join(' ') + (seg.length ? ` (${seg.join(', ')})` : '');
}

const ISA_WIDTHS = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1] as const;

/** Format a date as X12 wants it, in UTC: 'YYMMDD' (ISA09) or 'CCYYMMDD' (GS04). */
export function formatX12Date(d: Date, width: 6 | 8 = 8): string {
  const s = `${String(d.getUTCFullYear()).padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  return width === 6 ? s.slice(2) : s;
}

/** Format a time as 'HHMM' in UTC (ISA10, GS05). */
export function formatX12Time(d: Date): string {
  return `${String(d.getUTCHours()).padStart(2, '0')}${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

function isTransactionInput(tx: TransactionLike): tx is TransactionInput {
  return !Array.isArray(tx);
}

/**
 * A stateful X12 serializer. Each method returns the text for what it wrote (terminator and suffix
 * included), so callers may concatenate, push to a stream, or yield from a generator.
 * Order: beginInterchange, [ta1...], (beginGroup, transaction..., endGroup)..., endInterchange; repeat for
 * further interchanges.
 */
export class X12Writer {
  readonly delimiters: Readonly<Required<WriterDelimiters>>;
  private readonly trim: boolean;
  private readonly forbidden: RegExp;
  private readonly nameOf = new Map<string, DelimiterName>();

  private state: 'idle' | 'interchange' | 'group' = 'idle';
  private isaControl = '';
  private gsControl = '';
  private groupCount = 0;
  private transactionCount = 0;
  private segmentIndex = 0;

  constructor(delimiters: WriterDelimiters, options: X12WriterOptions = {}) {
    this.delimiters = validateWriterDelimiters(delimiters);
    this.trim = options.trimTrailingEmpty ?? true;
    const chars: string[] = [];
    for (const name of DELIMITER_NAMES) {
      const v = this.delimiters[name];
      if (!v) continue;
      for (const ch of charList(v)) {
        if (!this.nameOf.has(ch)) this.nameOf.set(ch, name);
        chars.push(escapeForClass(ch));
      }
    }
    this.forbidden = new RegExp(`[${chars.join('')}]`, 'u');
  }

  // ---------------------------------------------------------------- values and segments

  private checkValue(value: string, ctx: ValueContext, elementPosition: number, componentPosition?: number, repetition?: number): void {
    if (typeof value !== 'string') {
      throw new WaybillError('X12_WRITE_VALUE_INVALID', `${describeWhere(ctx, elementPosition, componentPosition, repetition)}: value is not a string`, {
        ...ctx,
        elementPosition,
        componentPosition,
        repetition,
      });
    }
    const m = this.forbidden.exec(value);
    if (!m) {
      // A control character (a CR or LF in a value: readers drop line breaks inside segments) or half of a
      // surrogate pair (written as U+FFFD) would reach the partner as other data than was given.
      const bad = firstUnwritable(value);
      if (bad) {
        throw new WaybillError('X12_WRITE_CHARACTER_INVALID',
          `${describeWhere(ctx, elementPosition, componentPosition, repetition)} contains ${bad.description} at offset ${bad.offset}, which X12 data cannot carry`,
          { ...ctx, elementPosition, componentPosition, repetition, character: bad.character, offset: bad.offset, value });
      }
      return;
    }
    const ch = m[0];
    const delimiter = this.nameOf.get(ch) ?? 'segment';
    throw new WaybillError(
      'X12_WRITE_DELIMITER_IN_DATA',
      `${describeWhere(ctx, elementPosition, componentPosition, repetition)} contains the ${delimiter} delimiter ${show(ch)} at offset ${m.index}`,
      { ...ctx, elementPosition, componentPosition, repetition, delimiter, character: ch, offset: m.index, value },
    );
  }

  private trimEnd(parts: string[]): string[] {
    if (!this.trim) return parts;
    let n = parts.length;
    while (n > 0 && parts[n - 1] === '') n--;
    return n === parts.length ? parts : parts.slice(0, n);
  }

  private formatComposite(components: readonly string[], ctx: ValueContext, elementPosition: number, repetition?: number): string {
    const out: string[] = [];
    components.forEach((c, i) => {
      this.checkValue(c, ctx, elementPosition, i + 1, repetition);
      out.push(c);
    });
    return this.trimEnd(out).join(this.delimiters.component);
  }

  private formatElement(value: ElementValue, ctx: ValueContext, elementPosition: number): string {
    if (typeof value === 'string') {
      this.checkValue(value, ctx, elementPosition);
      return value;
    }
    if (!Array.isArray(value)) {
      throw new WaybillError('X12_WRITE_VALUE_INVALID', `${describeWhere(ctx, elementPosition)}: value is neither a string nor an array`, {
        ...ctx,
        elementPosition,
      });
    }
    const isRepeating = value.some((v) => Array.isArray(v));
    if (!isRepeating) return this.formatComposite(value as readonly string[], ctx, elementPosition);
    const reps = (value as readonly (string | readonly string[])[]).map((r, i) =>
      this.formatComposite(typeof r === 'string' ? [r] : r, ctx, elementPosition, i + 1),
    );
    const kept = this.trimEnd(reps);
    if (kept.length > 1 && this.delimiters.repetition === null) {
      throw new WaybillError(
        'X12_WRITE_VALUE_INVALID',
        `${describeWhere(ctx, elementPosition)} has ${kept.length} repetitions but the delimiter set has no repetition separator`,
        { ...ctx, elementPosition },
      );
    }
    return kept.join(this.delimiters.repetition ?? '');
  }

  /**
   * Serializes one segment (terminator and suffix included) without touching the envelope state.
   * `ctx` only feeds the error details.
   */
  formatSegment(seg: WriteSegment, ctx: Partial<ValueContext> = {}): string {
    const id = seg[0];
    if (typeof id !== 'string' || !/^[A-Z0-9]{2,3}$/.test(id)) {
      throw new WaybillError('X12_WRITE_VALUE_INVALID', `segment id ${show(String(id))} is not 2-3 upper-case letters or digits`, {
        ...ctx,
        segmentId: id,
      });
    }
    const where: ValueContext = { ...ctx, segmentId: id };
    const parts = [id];
    for (let i = 1; i < seg.length; i++) parts.push(this.formatElement(seg[i], where, i));
    const kept = this.trim ? this.trimEnd(parts.slice(1)) : parts.slice(1);
    const body = kept.length ? id + this.delimiters.element + kept.join(this.delimiters.element) : id;
    return body + this.delimiters.segment + this.delimiters.suffix;
  }

  private emit(seg: WriteSegment, extra: Partial<ValueContext> = {}): string {
    const text = this.formatSegment(seg, {
      segmentIndex: this.segmentIndex,
      groupControl: this.state === 'group' ? this.gsControl : undefined,
      ...extra,
    });
    this.segmentIndex++;
    return text;
  }

  // ---------------------------------------------------------------- ISA

  private isaField(n: number, value: string, mode: 'pad' | 'exact' | 'digits-pad'): string {
    const width = ISA_WIDTHS[n - 1];
    const name = `ISA${String(n).padStart(2, '0')}`;
    if (typeof value !== 'string') {
      throw new WaybillError('X12_WRITE_VALUE_INVALID', `${name} is not a string`, { segmentId: 'ISA', elementPosition: n, value });
    }
    this.checkValue(value, { segmentId: 'ISA', segmentIndex: this.segmentIndex }, n);
    if (charList(value).length > width) {
      throw new WaybillError('X12_WRITE_VALUE_TOO_LONG', `${name} ${show(value)} is longer than its ${width} characters`, {
        segmentId: 'ISA',
        elementPosition: n,
        width,
        value,
      });
    }
    if (mode === 'digits-pad') {
      if (!/^\d+$/.test(value)) {
        throw new WaybillError('X12_WRITE_VALUE_INVALID', `${name} ${show(value)} is not a number`, { segmentId: 'ISA', elementPosition: n, value });
      }
      return value.padStart(width, '0');
    }
    if (mode === 'exact' && charList(value).length !== width) {
      throw new WaybillError('X12_WRITE_VALUE_INVALID', `${name} ${show(value)} must be exactly ${width} characters`, {
        segmentId: 'ISA',
        elementPosition: n,
        width,
        value,
      });
    }
    return value + ' '.repeat(width - charList(value).length);
  }

  /** The 16 ISA field values, padded to their fixed widths (ISA13 zero-padded). */
  isaFields(h: IsaHeader): string[] {
    const control = typeof h.control === 'number' ? controlFromNumber(h.control, 'ISA13') : h.control;
    const ack = h.ackRequested === true || h.ackRequested === '1' ? '1' : h.ackRequested === undefined || h.ackRequested === false || h.ackRequested === '0' ? '0' : String(h.ackRequested);
    const fields = [
      this.isaField(1, h.authorizationQualifier ?? '00', 'exact'),
      this.isaField(2, h.authorization ?? '', 'pad'),
      this.isaField(3, h.securityQualifier ?? '00', 'exact'),
      this.isaField(4, h.security ?? '', 'pad'),
      this.isaField(5, h.senderQualifier, 'exact'),
      this.isaField(6, h.senderId, 'pad'),
      this.isaField(7, h.receiverQualifier, 'exact'),
      this.isaField(8, h.receiverId, 'pad'),
      this.isaField(9, h.date, 'exact'),
      this.isaField(10, h.time, 'exact'),
      this.delimiters.repetition ?? 'U',
      this.isaField(12, h.version, 'exact'),
      this.isaField(13, control, 'digits-pad'),
      this.isaField(14, ack, 'exact'),
      this.isaField(15, h.usage ?? 'P', 'exact'),
      this.delimiters.component,
    ];
    for (const [n, re, what] of [
      [9, /^\d{6}$/, 'a YYMMDD date'],
      [10, /^\d{4}$/, 'an HHMM time'],
      [12, /^\d{5}$/, 'a 5-digit version'],
      [14, /^[01]$/, "'0' or '1'"],
    ] as const) {
      if (!re.test(fields[n - 1])) {
        throw new WaybillError('X12_WRITE_VALUE_INVALID', `ISA${String(n).padStart(2, '0')} ${show(fields[n - 1])} is not ${what}`, {
          segmentId: 'ISA',
          elementPosition: n,
          value: fields[n - 1],
        });
      }
    }
    return fields;
  }

  /** The ISA segment text: always 106 characters plus the suffix (when delimiters are one UTF-16 unit each). */
  formatIsa(h: IsaHeader): string {
    return 'ISA' + this.delimiters.element + this.isaFields(h).join(this.delimiters.element) + this.delimiters.segment + this.delimiters.suffix;
  }

  // ---------------------------------------------------------------- envelope state machine

  private expectState(state: 'idle' | 'interchange' | 'group', action: string): void {
    if (this.state !== state) throw new Error(`X12Writer: cannot ${action} while ${this.state === 'idle' ? 'outside an interchange' : `inside ${this.state === 'group' ? 'a group' : 'an interchange'}`}`);
  }

  beginInterchange(header: IsaHeader): string {
    this.expectState('idle', 'begin an interchange');
    this.segmentIndex = 0;
    const fields = this.isaFields(header);
    const text = 'ISA' + this.delimiters.element + fields.join(this.delimiters.element) + this.delimiters.segment + this.delimiters.suffix;
    this.isaControl = fields[12];
    this.segmentIndex = 1;
    this.groupCount = 0;
    this.state = 'interchange';
    return text;
  }

  /** A TA1 (or another interchange-level segment) between the ISA and the first GS. */
  ta1(seg: WriteSegment): string {
    this.expectState('interchange', 'write a TA1');
    if (this.groupCount > 0) throw new Error('X12Writer: TA1 segments must come before the first functional group');
    return this.emit(seg);
  }

  beginGroup(h: GsHeader): string {
    this.expectState('interchange', 'begin a group');
    const control = typeof h.control === 'number' ? controlFromNumber(h.control, 'GS06') : h.control;
    if (typeof control !== 'string' || !/^\d{1,9}$/.test(control)) {
      throw new WaybillError('X12_WRITE_VALUE_INVALID', `GS06 ${show(String(control))} is not a 1-9 digit number`, {
        segmentId: 'GS',
        elementPosition: 6,
        segmentIndex: this.segmentIndex,
        value: control,
      });
    }
    if (typeof h.date !== 'string' || !/^\d{8}$/.test(h.date)) {
      throw new WaybillError('X12_WRITE_VALUE_INVALID', `GS04 ${show(String(h.date))} is not a CCYYMMDD date`, {
        segmentId: 'GS',
        elementPosition: 4,
        segmentIndex: this.segmentIndex,
        value: h.date,
      });
    }
    if (typeof h.time !== 'string' || !/^\d{4}(\d{2}(\d{1,2})?)?$/.test(h.time)) {
      throw new WaybillError('X12_WRITE_VALUE_INVALID', `GS05 ${show(String(h.time))} is not an HHMM[SS[D[D]]] time`, {
        segmentId: 'GS',
        elementPosition: 5,
        segmentIndex: this.segmentIndex,
        value: h.time,
      });
    }
    const text = this.emit(['GS', h.functionalId, h.senderId, h.receiverId, h.date, h.time, control, h.agency ?? 'X', h.version]);
    this.gsControl = control;
    this.transactionCount = 0;
    this.groupCount++;
    this.state = 'group';
    return text;
  }

  /** Writes ST, the body and a computed SE (SE01 = segment count ST..SE, SE02 = ST02). */
  transaction(tx: TransactionLike): string {
    this.expectState('group', 'write a transaction set');
    const t = normalizeTransaction(tx, this.segmentIndex);
    const control = t.control;
    const ctx = (position: number): Partial<ValueContext> => ({ position, transactionControl: control });
    const st: ElementValue[] = ['ST', t.setId, control];
    if (t.implementationRef !== undefined && t.implementationRef !== '') st.push(t.implementationRef);
    const start = this.segmentIndex;
    let out = '';
    try {
      out += this.emit(st, ctx(1));
      t.segments.forEach((seg, i) => {
        if (seg[0] === 'ST' || seg[0] === 'SE') {
          throw new WaybillError('X12_WRITE_VALUE_INVALID', `a transaction body may not contain an ${String(seg[0])} segment (position ${i + 2})`, {
            segmentId: seg[0],
            position: i + 2,
            transactionControl: control,
            segmentIndex: this.segmentIndex,
          });
        }
        out += this.emit(seg, ctx(i + 2));
      });
      out += this.emit(['SE', String(t.segments.length + 2), control], ctx(t.segments.length + 2));
    } catch (e) {
      // nothing of a refused transaction counts as written
      this.segmentIndex = start;
      throw e;
    }
    this.transactionCount++;
    return out;
  }

  endGroup(): string {
    this.expectState('group', 'end a group');
    this.state = 'interchange';
    return this.emit(['GE', String(this.transactionCount), this.gsControl]);
  }

  endInterchange(): string {
    this.expectState('interchange', 'end an interchange');
    const text = this.emit(['IEA', String(this.groupCount), this.isaControl]);
    this.state = 'idle';
    return text;
  }
}

function controlFromNumber(n: number, field: string): string {
  if (!Number.isSafeInteger(n) || n < 0 || n > 999_999_999) {
    throw new WaybillError('X12_WRITE_VALUE_INVALID', `${field} control number ${n} is not an integer between 0 and 999999999`, {
      field,
      value: n,
    });
  }
  return String(n);
}

function normalizeTransaction(tx: TransactionLike, segmentIndex: number): { setId: string; control: string; implementationRef?: string; segments: readonly WriteSegment[] } {
  let setId: unknown;
  let control: unknown;
  let implementationRef: unknown;
  let segments: readonly WriteSegment[];
  if (isTransactionInput(tx)) {
    ({ setId, control, implementationRef, segments } = tx);
    if (typeof control === 'number') control = controlFromNumber(control, 'ST02').padStart(4, '0');
  } else {
    const st = tx[0];
    if (!st || st[0] !== 'ST') {
      throw new WaybillError('X12_WRITE_VALUE_INVALID', 'a transaction given as a segment list must start with ST', { segmentIndex, segmentId: st?.[0] });
    }
    [, setId, control, implementationRef] = st;
    const last = tx[tx.length - 1];
    segments = tx.length > 1 && last[0] === 'SE' ? tx.slice(1, -1) : tx.slice(1);
  }
  if (typeof setId !== 'string' || !/^[A-Z0-9]{3}$/.test(setId)) {
    throw new WaybillError('X12_WRITE_VALUE_INVALID', `ST01 ${show(String(setId))} is not a transaction set identifier`, {
      segmentId: 'ST',
      elementPosition: 1,
      segmentIndex,
      value: setId,
    });
  }
  if (typeof control !== 'string' || control.length < 4 || control.length > 9) {
    throw new WaybillError('X12_WRITE_VALUE_INVALID', `ST02 ${show(String(control))} is not 4-9 characters`, {
      segmentId: 'ST',
      elementPosition: 2,
      segmentIndex,
      value: control,
    });
  }
  if (implementationRef !== undefined && typeof implementationRef !== 'string') {
    throw new WaybillError('X12_WRITE_VALUE_INVALID', 'ST03 must be a string', { segmentId: 'ST', elementPosition: 3, segmentIndex });
  }
  return { setId, control, implementationRef: implementationRef as string | undefined, segments };
}

// ---------------------------------------------------------------- convenience forms

/** Yields the interchange piece by piece: ISA, each TA1, each GS, each transaction set, each GE, IEA. */
export function* interchangeChunks(input: InterchangeInput, delimiters: WriterDelimiters, options: X12WriterOptions = {}): Generator<string> {
  const w = new X12Writer(delimiters, options);
  yield w.beginInterchange(input.header);
  for (const t of input.ta1s ?? []) yield w.ta1(t);
  for (const g of input.groups) {
    yield w.beginGroup(g.header);
    for (const tx of g.transactions) yield w.transaction(tx);
    yield w.endGroup();
  }
  yield w.endInterchange();
}

/** The whole interchange as one string. */
export function writeInterchange(input: InterchangeInput, delimiters: WriterDelimiters, options: X12WriterOptions = {}): string {
  let out = '';
  for (const chunk of interchangeChunks(input, delimiters, options)) out += chunk;
  return out;
}

/**
 * Async form: groups and transactions may come from async iterables (a database cursor, a mapping run), so
 * only one transaction set is in memory at a time.
 */
export async function* streamInterchange(
  input: StreamInterchangeInput,
  delimiters: WriterDelimiters,
  options: X12WriterOptions = {},
): AsyncGenerator<string> {
  const w = new X12Writer(delimiters, options);
  yield w.beginInterchange(input.header);
  for (const t of input.ta1s ?? []) yield w.ta1(t);
  for await (const g of input.groups) {
    yield w.beginGroup(g.header);
    for await (const tx of g.transactions) yield w.transaction(tx);
    yield w.endGroup();
  }
  yield w.endInterchange();
}

/**
 * Writes the interchange into a Writable (strings; the stream's encoding applies), waiting for 'drain'
 * when the stream asks. Does not end the stream unless `end` is true.
 */
export async function writeInterchangeTo(
  sink: Writable,
  input: StreamInterchangeInput,
  delimiters: WriterDelimiters,
  options: X12WriterOptions & { end?: boolean } = {},
): Promise<void> {
  for await (const chunk of streamInterchange(input, delimiters, options)) {
    if (!sink.write(chunk)) await once(sink, 'drain');
  }
  if (options.end) {
    sink.end();
    await once(sink, 'finish');
  }
}
