// The X12 data model shared by the reader, the validators, the writer and the acknowledgment builders.
// Nothing here is trimmed or coerced: element values are exactly the characters between delimiters
// (ISA fields keep their padding). Normalised views live in helpers, not in the model.

/** Where something sits in the source file. `offset` is a 0-based byte offset; line and column are 1-based. */
export interface Location {
  offset: number;
  line: number;
  column: number;
}

export interface Delimiters {
  /** Element separator: the 4th character of the ISA. */
  element: string;
  /** Component (sub-element) separator: ISA16. */
  component: string;
  /** Repetition separator: ISA11 when ISA12 >= 00402, otherwise null. */
  repetition: string | null;
  /** Segment terminator: the character after ISA16 (may be a newline or a multi-byte character). */
  segment: string;
}

export interface Segment {
  /** Segment id, e.g. "ST". Same as elements[0]. */
  id: string;
  /**
   * elements[0] is the segment id; elements[n] is the n-th data element (X12 position n), so
   * `seg.elements[2]` is ST02. Values are raw: components and repetitions are still joined by their
   * separators (see `components()` / `repetitions()` in segment-access.ts).
   */
  elements: string[];
  /** Location of the segment's first character. */
  loc: Location;
  /**
   * 1-based position of the segment within its transaction set (ST = 1), as AK302/IK302 report it;
   * 0 for envelope segments outside a transaction (ISA, GS, GE, IEA, TA1).
   */
  position: number;
  /**
   * Set by the reader when it saw, while cutting the segment, no control character and no component or
   * repetition separator in its elements: validation then need not look for them again. Whoever changes
   * a segment's elements must drop it.
   */
  plain?: boolean;
}

/** A validation finding. Codes are stable and live in src/errors/catalogue.ts. */
export interface X12Issue {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  /**
   * Where the finding points: for one about an element (elementPosition set), that element, or its
   * repetition or component (element-location.ts); otherwise the first character of its segment (or of
   * whatever it is about).
   */
  loc: Location;
  /** Segment id the issue is about, when it is about one. */
  segmentId?: string;
  /** Position of that segment within its transaction (AK302), when inside a transaction. */
  segmentPosition?: number;
  /** Loop id (AK303), when known. */
  loopId?: string;
  /** 1-based element position within the segment (AK401-1). */
  elementPosition?: number;
  /** 1-based component position within the element (AK401-2). */
  componentPosition?: number;
  /** 1-based repetition number (AK401-3, 5010). */
  repetition?: number;
  /** Data element reference number (AK402), when the schema knows it. */
  elementRef?: string;
  /** Copy of the bad data element (AK404), when there is one. */
  badValue?: string;
}

/** What the ISA says, normalised (trimmed) for convenience; the raw segment is kept too. */
export interface InterchangeHeader {
  isa: Segment;
  delimiters: Delimiters;
  senderQualifier: string;
  senderId: string;
  receiverQualifier: string;
  receiverId: string;
  date: string;
  time: string;
  /** ISA12, e.g. "00401". */
  version: string;
  /** ISA13 exactly as sent (not trimmed, not converted to a number). */
  control: string;
  /** ISA14 = "1": the sender asks for a TA1. */
  ackRequested: boolean;
  /** ISA15: "P" production, "T" test. */
  usage: string;
}

export interface GroupHeader {
  gs: Segment;
  /** GS01, e.g. "QM". */
  functionalId: string;
  senderId: string;
  receiverId: string;
  date: string;
  time: string;
  /** GS06 exactly as sent. */
  control: string;
  /** GS07, "X" for X12. */
  agency: string;
  /** GS08, e.g. "004010" or "005010X231A1". */
  version: string;
}

/** One transaction set (ST..SE) with its envelope context, as the reader yields it. */
export interface TransactionSet {
  interchange: InterchangeHeader | null;
  group: GroupHeader | null;
  /** ST01, e.g. "214". */
  setId: string;
  /** ST02 as sent. */
  control: string;
  /** ST03 (5010 implementation convention reference), when present. */
  implementationRef?: string;
  /** All segments ST..SE inclusive, in order. When SE is missing (truncated), up to the last one read. */
  segments: Segment[];
  /** False when the transaction ended without its SE (a truncated file or a stray envelope segment). */
  complete: boolean;
  /** Envelope-level findings about this transaction (SE01, SE02, missing SE, ...). */
  issues: X12Issue[];
  /** Segments too long to read (X12_SEGMENT_TOO_LONG), left out of `segments` but counted against SE01. */
  skippedSegments?: number;
  /** 1-based index of this transaction within its group. */
  index: number;
}

/**
 * One loop instance of a transaction set: its own segments (trigger first) and the loop instances nested
 * in it, in order. The root stands for the transaction itself (id and trigger "ST"). validateTransaction
 * builds this tree as it places segments (option `tree`); mappings read values from it.
 */
export interface LoopInstance {
  /** Loop id from the schema (e.g. "0100"), or "ST" for the transaction itself. */
  id: string;
  /** Trigger segment id (e.g. "N1"); "ST" for the root. */
  trigger: string;
  segments: Segment[];
  children: LoopInstance[];
  parent: LoopInstance | null;
  /** Path evaluation's cache of what a relative path sees beyond this node (x12-path.ts enclosingScopes). */
  scopes?: LoopInstance[][];
  /**
   * The same scopes as value paths see them: without the loops of the kinds iterated nested anywhere in
   * them (x12-path.ts enclosingScopes); the very arrays of `scopes` when there are none.
   */
  valueScopes?: LoopInstance[][];
  /**
   * Path evaluation's cache of the segments value paths found from this node, by X12Path.segmentSlot
   * (null: no such segment). A node belongs to one transaction, whose delimiters never change.
   */
  found?: (Segment | null)[];
  /** The numbering (mapping) `found` is indexed by. */
  foundSlots?: unknown;
}

/**
 * The one string V8 keeps for this text (a property key is internalized): the reader's segment ids are
 * these strings too, so comparing an id from the reader with one from a schema or a mapping path is a
 * pointer comparison; with a string of its own each comparison went through the characters.
 */
export function internalized(s: string): string {
  return Object.keys({ [s]: 0 })[0] ?? s;
}

/**
 * A new loop instance. Every instance is made here, with the caches path evaluation adds later already
 * declared: all instances then share one shape (V8 hidden class), and adding a cache allocates nothing.
 */
export function loopInstance(id: string, trigger: string, segments: Segment[], parent: LoopInstance | null, children: LoopInstance[] = []): LoopInstance {
  return { id, trigger, segments, children, parent, scopes: undefined, valueScopes: undefined, found: undefined, foundSlots: undefined };
}

/** Events the streaming reader produces, in file order. */
export type X12Event =
  | { type: 'interchange-start'; header: InterchangeHeader; issues: X12Issue[] }
  | { type: 'group-start'; header: GroupHeader; issues: X12Issue[] }
  | { type: 'transaction'; transaction: TransactionSet }
  | { type: 'group-end'; header: GroupHeader; trailer: Segment | null; transactionCount: number; issues: X12Issue[] }
  | { type: 'interchange-end'; header: InterchangeHeader; trailer: Segment | null; groupCount: number; issues: X12Issue[] }
  | { type: 'ta1'; segment: Segment; interchange: InterchangeHeader | null }
  /**
   * A finding about an interchange already ended, made after its IEA: X12 data that follows it outside
   * any interchange. It belongs in that interchange's report (its TA1 notes it); the data itself comes
   * as an 'issue' event just before.
   */
  | { type: 'interchange-issue'; header: InterchangeHeader; issue: X12Issue }
  /** Findings that belong to no interchange/group/transaction event (garbage, missing ISA, ...). */
  | { type: 'issue'; issue: X12Issue };

// ---- Reports: what validation concluded, the input of the TA1/997/999 builders and of `inspect`. ----

export interface TransactionReport {
  setId: string;
  control: string;
  implementationRef?: string;
  /** Location of the ST segment. */
  loc: Location;
  /** Number of segments read (ST..SE inclusive). */
  segmentCount: number;
  /**
   * Envelope + schema issues; `valid` is false when any has severity error. Read-only: the transactions
   * without issues share one frozen empty list (inspect.ts).
   */
  issues: readonly X12Issue[];
  valid: boolean;
  /** Whether a transaction-set schema was applied (false: envelope checks only). */
  schemaChecked: boolean;
}

export interface GroupReport {
  header: GroupHeader;
  transactions: TransactionReport[];
  /** Group-level issues (GE01, GE02, missing GE, duplicate ST02, ...). */
  issues: X12Issue[];
  /** GE01 as declared, when the GE was present. */
  declaredCount: number | null;
}

export interface InterchangeReport {
  header: InterchangeHeader;
  groups: GroupReport[];
  /** Interchange-level issues (ISA syntax, IEA01, IEA02, missing IEA, ...). */
  issues: X12Issue[];
  /** TA1 segments found directly inside this interchange (an inbound interchange acknowledgment). */
  ta1s: Segment[];
}

export interface FileReport {
  interchanges: InterchangeReport[];
  /** Findings outside any interchange (no ISA, garbage between interchanges, bare ST..SE). */
  issues: X12Issue[];
  /** Transactions found outside any interchange or group (rejected, but reported). */
  orphanTransactions: TransactionReport[];
  /** True only when no error exists anywhere in the file. */
  valid: boolean;
}
