// The JSON shape of `waybill inspect --json`: stable keys, one object per file.
import type { FileReport, InterchangeReport, TransactionReport, X12Issue } from '../translators/x12/model.js';
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

function transactionJson(t: TransactionReport) {
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

function interchangeJson(ic: InterchangeReport) {
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
    valid: !hasErrors(ic.issues) && ic.groups.every((g) => !hasErrors(g.issues) && g.transactions.every((t) => t.valid)),
    ta1: ic.ta1s.length,
    groups: ic.groups.map((g) => ({
      control: g.header.control,
      functionalId: g.header.functionalId,
      version: g.header.version,
      sender: g.header.senderId,
      receiver: g.header.receiverId,
      line: g.header.gs.loc.line,
      valid: !hasErrors(g.issues) && g.transactions.every((t) => t.valid),
      transactions: g.transactions.map(transactionJson),
    })),
  };
}

export function reportJson(report: FileReport, file?: string) {
  const issues = allIssues(report);
  return {
    ...(file !== undefined && { file }),
    valid: report.valid,
    interchanges: report.interchanges.map(interchangeJson),
    ...(report.orphanTransactions.length > 0 && { orphanTransactions: report.orphanTransactions.map(transactionJson) }),
    counts: {
      interchanges: report.interchanges.length,
      groups: report.interchanges.reduce((n, ic) => n + ic.groups.length, 0),
      transactions: report.interchanges.reduce((n, ic) => n + ic.groups.reduce((m, g) => m + g.transactions.length, 0), 0),
    },
    errors: issues.filter((i) => i.severity === 'error').map(issueJson),
    warnings: issues.filter((i) => i.severity === 'warning').map(issueJson),
  };
}
