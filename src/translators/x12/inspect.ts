// Inspection: read a whole file, validate every transaction set against its schema, and assemble the
// FileReport that `waybill inspect`, the acknowledgment builders and the corpus check all use.
// The reader streams; only the per-transaction reports (no segments) are kept.

import type {
  FileReport, GroupReport, InterchangeHeader, InterchangeReport, TransactionReport, TransactionSet, X12Event, X12Issue,
} from './model.js';
import { elementIssue, hasErrors, issue } from './issues.js';
import { readX12, readX12Sync, type ReaderOptions, type X12Source } from './reader.js';
import { validateTransaction, type TransactionValidation } from './validate-transaction.js';

export type InspectOptions = ReaderOptions & {
  /** Skip transaction-set schemas (envelope checks only). */
  envelopeOnly?: boolean;
  /**
   * Severity of X12 syntax-note violations in the transaction-set check (validateTransaction's option):
   * default 'warning' for files we read; a render checks what it writes with 'error'.
   */
  syntaxNotes?: 'error' | 'warning' | 'ignore';
  /**
   * Keep in the report only the transactions that have findings ('with-issues'); each of the others is
   * handed to onTransaction and dropped, and each group keeps its counts (ReportBuilder.groupSummary).
   * Memory then grows with the findings, not with the file (`waybill inspect` of a 1,000,000-set file).
   * Default 'all' (acknowledgments need every set).
   */
  keep?: 'all' | 'with-issues';
  /** Called with every transaction's report, in file order, with its group (null outside any group). */
  onTransaction?: (t: TransactionReport, group: GroupReport | null) => void;
  /**
   * Called with each interchange once nothing more can come to it: at the next ISA, or at finish (data
   * after its IEA is read before either). The report then keeps the interchange's header, issues and
   * validity but lets its groups go (its `groups` becomes a new empty array when this returns: a caller
   * that answers later keeps a shallow copy), so memory follows the largest interchange, not the file
   * (`waybill ack` of a file of many interchanges). finish's report lists them with `groups: []`.
   */
  onInterchangeDone?: (ic: InterchangeReport) => void;
};

/** What a group holds in all, whichever of its transactions the report kept. */
export interface GroupSummary {
  transactions: number;
  valid: boolean;
  setIds: Set<string>;
}

/** GS01 functional identifier expected for each transaction set we know. */
const FUNCTIONAL_ID: Record<string, string> = {
  '204': 'SM', '210': 'IM', '214': 'QM', '990': 'GF', '997': 'FA', '999': 'FA',
  '850': 'PO', '855': 'PR', '856': 'SH', '810': 'IN', '820': 'RA', '824': 'AG', '940': 'OW', '945': 'SW',
};

// A report keeps every transaction's entry until the file ends (its acknowledgment needs them all), so
// an entry holds as little as it can: the issues of a clean transaction are one shared empty list, and a
// known set id one shared string, not one copy each per transaction.
const NO_ISSUES: readonly X12Issue[] = Object.freeze([]);
const SET_IDS = new Map(Object.keys(FUNCTIONAL_ID).map((id) => [id, id]));

/** Incrementally builds a FileReport from reader events. */
export class ReportBuilder {
  private readonly report: FileReport = { interchanges: [], issues: [], orphanTransactions: [], valid: true };
  private interchange: InterchangeReport | null = null;
  private group: GroupReport | null = null;
  private readonly summaries = new Map<GroupReport, GroupSummary>();
  /** The interchange onInterchangeDone has yet to be given (the last one started). */
  private undone: InterchangeReport | null = null;
  /** Whether every interchange released so far was valid (their groups are gone when finish asks). */
  private releasedValid = true;

  constructor(private readonly options: InspectOptions = {}) {}

  accept(ev: X12Event): void {
    switch (ev.type) {
      case 'interchange-start':
        this.release();
        this.interchange = { header: ev.header, groups: [], issues: [...ev.issues], ta1s: [] };
        this.undone = this.interchange;
        this.report.interchanges.push(this.interchange);
        return;
      case 'group-start':
        this.group = { header: ev.header, transactions: [], issues: [...ev.issues], declaredCount: null };
        this.summaries.set(this.group, { transactions: 0, valid: true, setIds: new Set() });
        if (this.interchange) this.interchange.groups.push(this.group);
        return;
      case 'transaction': {
        this.acceptTransaction(ev.transaction);
        return;
      }
      case 'group-end': {
        const g = this.group;
        if (!g) return;
        g.issues.push(...ev.issues);
        if (ev.trailer) {
          const n = Number((ev.trailer.elements[1] ?? '').trim());
          g.declaredCount = Number.isFinite(n) ? n : null;
        }
        this.checkFunctionalId(g);
        this.group = null;
        return;
      }
      case 'interchange-end':
        if (this.interchange) this.interchange.issues.push(...ev.issues);
        this.interchange = null;
        return;
      case 'ta1':
        if (this.interchange) this.interchange.ta1s.push(ev.segment);
        return;
      case 'issue':
        this.report.issues.push(ev.issue);
        return;
      case 'interchange-issue':
        this.endedInterchange(ev.header)?.issues.push(ev.issue);
        return;
    }
  }

  /** The report of an interchange already ended, by its header (the latest first: it is nearly always the last one). */
  private endedInterchange(header: InterchangeHeader): InterchangeReport | undefined {
    const all = this.report.interchanges;
    for (let k = all.length - 1; k >= 0; k--) if (all[k].header === header) return all[k];
    return undefined;
  }

  /** Adds a transaction, reusing a validation the caller already ran (the pipeline validates once). */
  acceptTransaction(tx: TransactionSet, validation?: TransactionValidation): void {
    const tr = this.transactionReport(tx, validation);
    const group = this.group && tx.group === this.group.header ? this.group : null;
    this.options.onTransaction?.(tr, group);
    if (!group) {
      this.report.orphanTransactions.push(tr);
      return;
    }
    const summary = this.summaries.get(group)!;
    summary.transactions++;
    summary.valid &&= tr.valid;
    summary.setIds.add(tr.setId);
    if (this.options.keep !== 'with-issues' || tr.issues.length > 0) group.transactions.push(tr);
  }

  /** A group's counts over all its transactions (its `transactions` may hold only those with findings). */
  groupSummary(g: GroupReport): GroupSummary {
    return this.summaries.get(g) ?? { transactions: g.transactions.length, valid: g.transactions.every((t) => t.valid), setIds: new Set(g.transactions.map((t) => t.setId)) };
  }

  finish(): FileReport {
    this.release();
    const r = this.report;
    r.valid = this.releasedValid && !hasErrors(r.issues) && r.orphanTransactions.length === 0 &&
      r.interchanges.every((ic) => this.interchangeValid(ic));
    return r;
  }

  private interchangeValid(ic: InterchangeReport): boolean {
    return !hasErrors(ic.issues) && ic.groups.every((g) => !hasErrors(g.issues) && this.groupSummary(g).valid);
  }

  /** Hands the last interchange to onInterchangeDone, then keeps only its validity and envelope. */
  private release(): void {
    const ic = this.undone;
    const done = this.options.onInterchangeDone;
    if (!ic || !done) return;
    this.undone = null;
    done(ic);
    this.releasedValid &&= this.interchangeValid(ic);
    for (const g of ic.groups) this.summaries.delete(g);
    ic.groups = [];
  }

  private transactionReport(tx: TransactionSet, precomputed?: TransactionValidation): TransactionReport {
    const issues: X12Issue[] = [...tx.issues];
    let schemaChecked = false;
    if (!this.options.envelopeOnly && tx.segments.length > 0) {
      const result = precomputed ?? validateTransaction(tx, this.options.syntaxNotes ? { syntaxNotes: this.options.syntaxNotes } : {});
      schemaChecked = result.schemaChecked;
      issues.push(...result.issues);
      if (!schemaChecked) {
        issues.push(issue('X12_TRANSACTION_NOT_SUPPORTED',
          `no schema for transaction set ${tx.setId} (${tx.group?.version || 'no version'}); checked at the envelope level only`,
          tx.segments[0].loc, { segmentId: 'ST', segmentPosition: 1 }));
      }
    }
    issues.sort((a, b) => a.loc.offset - b.loc.offset);
    return {
      setId: SET_IDS.get(tx.setId) ?? tx.setId,
      control: tx.control,
      implementationRef: tx.implementationRef,
      loc: tx.segments[0]?.loc ?? { offset: 0, line: 1, column: 1 },
      segmentCount: tx.segments.length,
      issues: issues.length === 0 ? NO_ISSUES : issues,
      valid: !hasErrors(issues),
      schemaChecked,
    };
  }

  private checkFunctionalId(g: GroupReport): void {
    const fid = g.header.functionalId;
    const mismatched = [...this.groupSummary(g).setIds].filter((s) => FUNCTIONAL_ID[s] && FUNCTIONAL_ID[s] !== fid);
    if (mismatched.length > 0) {
      g.issues.push(elementIssue('X12_GROUP_FUNCTIONAL_ID_MISMATCH',
        `GS01 is '${fid}' but the group holds ${mismatched.map((s) => `${s} (expects ${FUNCTIONAL_ID[s]})`).join(', ')}`,
        g.header.gs, this.interchange?.header.delimiters, { segmentId: 'GS', elementPosition: 1, badValue: fid }));
    }
  }
}

/** Reads and validates a whole file (path, stream or buffer). */
export async function inspectX12(source: X12Source, options: InspectOptions = {}): Promise<FileReport> {
  const builder = new ReportBuilder(options);
  for await (const ev of readX12(source, options)) builder.accept(ev);
  return builder.finish();
}

/** Same as inspectX12 for data already in memory. */
export function inspectX12Sync(input: Buffer | Uint8Array | string, options: InspectOptions = {}): FileReport {
  const builder = new ReportBuilder(options);
  for (const ev of readX12Sync(input, options)) builder.accept(ev);
  return builder.finish();
}

/** Every issue in a report, in file order, with where it belongs. */
export function allIssues(report: FileReport): X12Issue[] {
  const out: X12Issue[] = [...report.issues];
  for (const t of report.orphanTransactions) out.push(...t.issues);
  for (const ic of report.interchanges) {
    out.push(...ic.issues);
    for (const g of ic.groups) {
      out.push(...g.issues);
      for (const t of g.transactions) out.push(...t.issues);
    }
  }
  return out.sort((a, b) => a.loc.offset - b.loc.offset);
}
