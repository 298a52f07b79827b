// The JSON shape of `waybill inspect --json`: stable keys, one object per file.
import type { FileReport, GroupReport, InterchangeReport, TransactionReport, X12Issue } from '../translators/x12/model.js';
import { inReportText, type GroupTransactions } from './report-text.js';
import { hasErrors } from '../translators/x12/issues.js';
import { allIssues } from '../translators/x12/inspect.js';

export function issueJson(i: X12Issue) {
  return {
    code: i.code,
    severity: i.severity,
    message: i.message,
    line: i.loc.line,
    column: i.loc.column,
    offset: i.loc.offset,
    ...(i.segmentId !== undefined && { segment: i.segmentId }),
    ...(i.segmentPosition !== undefined && { segmentPosition: i.segmentPosition }),
    ...(i.loopId !== undefined && { loop: i.loopId }),
    ...(i.elementPosition !== undefined && { element: i.elementPosition }),
    ...(i.componentPosition !== undefined && { component: i.componentPosition }),
    ...(i.repetition !== undefined && { repetition: i.repetition }),
    ...(i.elementRef !== undefined && { elementRef: i.elementRef }),
    ...(i.badValue !== undefined && { value: i.badValue }),
  };
}

export function transactionJson(t: TransactionReport) {
  return {
    set: t.setId,
    control: t.control,
    ...(t.implementationRef && { implementationRef: t.implementationRef }),
    valid: t.valid,
    line: t.loc.line,
    segments: t.segmentCount,
    schemaChecked: t.schemaChecked,
  };
}

/** Where each group's transactions array stands in the skeleton writeReportJson stringifies. */
const MARKER = (i: number) => `\u0001waybill-transactions-${i}\u0001`;
const MARKER_TEXT = /"\\u0001waybill-transactions-(\d+)\\u0001"/g;

/**
 * The indentation of a transaction in the JSON layout (JSON.stringify(_, null, 2)): the report,
 * interchanges, an interchange, groups, a group, transactions: five levels in.
 */
const ITEM_INDENT = ' '.repeat(12);

/** One transaction as an item of its group's array: a comma unless first, a new line, indented. */
export function transactionItem(t: TransactionReport, first: boolean): string {
  return `${first ? '' : ','}\n${ITEM_INDENT}${JSON.stringify(transactionJson(t), null, 2).replace(/\n/g, `\n${ITEM_INDENT}`)}`;
}

/** Every transaction kept in the report, as JSON items. */
export const inReportJson: GroupTransactions = {
  summary: inReportText.summary,
  write: (g, out) => g.transactions.forEach((t, i) => out(transactionItem(t, i === 0))),
};

function interchangeJson(ic: InterchangeReport, groups: GroupTransactions, marker: (g: GroupReport) => unknown) {
  const h = ic.header;
  return {
    control: h.control,
    sender: { qualifier: h.senderQualifier, id: h.senderId },
    receiver: { qualifier: h.receiverQualifier, id: h.receiverId },
    date: h.date,
    time: h.time,
    version: h.version,
    usage: h.usage,
    ackRequested: h.ackRequested,
    delimiters: h.delimiters,
    line: h.isa.loc.line,
    valid: !hasErrors(ic.issues) && ic.groups.every((g) => !hasErrors(g.issues) && groups.summary(g).valid),
    ta1: ic.ta1s.length,
    groups: ic.groups.map((g) => ({
      control: g.header.control,
      functionalId: g.header.functionalId,
      version: g.header.version,
      sender: g.header.senderId,
      receiver: g.header.receiverId,
      line: g.header.gs.loc.line,
      valid: !hasErrors(g.issues) && groups.summary(g).valid,
      transactions: marker(g),
    })),
  };
}

function reportObject(report: FileReport, file: string | undefined, groups: GroupTransactions, marker: (g: GroupReport) => unknown) {
  const issues = allIssues(report);
  return {
    ...(file !== undefined && { file }),
    valid: report.valid,
    interchanges: report.interchanges.map((ic) => interchangeJson(ic, groups, marker)),
    ...(report.orphanTransactions.length > 0 && { orphanTransactions: report.orphanTransactions.map(transactionJson) }),
    counts: {
      interchanges: report.interchanges.length,
      groups: report.interchanges.reduce((n, ic) => n + ic.groups.length, 0),
      transactions: report.interchanges.reduce((n, ic) => n + ic.groups.reduce((m, g) => m + groups.summary(g).transactions, 0), 0),
    },
    errors: issues.filter((i) => i.severity === 'error').map(issueJson),
    warnings: issues.filter((i) => i.severity === 'warning').map(issueJson),
  };
}

/** The report as one JSON value (every transaction kept in it). */
export function reportJson(report: FileReport, file?: string) {
  return reportObject(report, file, inReportJson, (g) => g.transactions.map(transactionJson));
}

/**
 * The report as JSON text, to `out`, exactly as JSON.stringify(reportJson(report, file), null, 2) lays it
 * out, but with each group's transactions written by `groups` (from a spool: never all in memory).
 */
export function writeReportJson(report: FileReport, file: string, out: (s: string | Buffer) => void, groups: GroupTransactions = inReportJson): void {
  const all = report.interchanges.flatMap((ic) => ic.groups);
  const index = new Map(all.map((g, i) => [g, i]));
  const text = JSON.stringify(reportObject(report, file, groups, (g) => MARKER(index.get(g)!)), null, 2);
  let last = 0;
  for (const m of text.matchAll(MARKER_TEXT)) {
    out(text.slice(last, m.index));
    const g = all[Number(m[1])];
    if (groups.summary(g).transactions === 0) out('[]');
    else {
      out('[');
      groups.write(g, out);
      out(`\n${ITEM_INDENT.slice(2)}]`);
    }
    last = m.index! + m[0].length;
  }
  out(`${text.slice(last)}\n`);
}
