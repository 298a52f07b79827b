// Human output of `waybill inspect`: a tree of interchanges, groups and transactions, then the findings.
import type { Delimiters, FileReport, GroupReport, TransactionReport, X12Issue } from '../translators/x12/model.js';
import { allIssues } from '../translators/x12/inspect.js';
import { hasErrors } from '../translators/x12/issues.js';

function showChar(c: string | null): string {
  if (c === null) return 'none';
  const names: Record<string, string> = { '\n': '\\n (newline)', '\r': '\\r', '\t': '\\t', ' ': 'space' };
  if (names[c]) return names[c];
  const code = c.codePointAt(0)!;
  return code < 0x20 || code === 0x7f ? `0x${code.toString(16).padStart(2, '0')}` : `'${c}'`;
}

export function delimitersText(d: Delimiters): string {
  return `element ${showChar(d.element)}, component ${showChar(d.component)}, repetition ${showChar(d.repetition)}, segment ${showChar(d.segment)}`;
}

export function issueLine(i: X12Issue, file?: string): string {
  const where = `${file ? `${file}:` : ''}${i.loc.line}:${i.loc.column}`;
  const at = [
    i.segmentId && `${i.segmentId}${i.segmentPosition ? ` #${i.segmentPosition}` : ''}`,
    i.elementPosition !== undefined &&
      `element ${i.elementPosition}${i.componentPosition ? `-${i.componentPosition}` : ''}${i.repetition && i.repetition > 1 ? ` rep ${i.repetition}` : ''}`,
  ].filter(Boolean).join(', ');
  return `${where} ${i.severity} ${i.code} ${i.message}${at ? ` [${at}]` : ''}`;
}

/** One transaction's line in the tree. */
export function transactionLine(t: TransactionReport): string {
  return `      ${t.valid ? 'ok ' : 'BAD'} ${t.setId} ${t.control}  ${t.segmentCount} segments  line ${t.loc.line}${t.schemaChecked ? '' : '  (envelope only)'}\n`;
}

/**
 * Where a group's transactions come from: the report itself (every transaction kept), or elsewhere (a
 * spool, when the report kept only those with findings: `waybill inspect`).
 */
export interface GroupTransactions {
  summary(g: GroupReport): { transactions: number; valid: boolean };
  /** Writes the group's transaction lines (text) or items (JSON), in file order. */
  write(g: GroupReport, out: (s: string | Buffer) => void): void;
}

/** Every transaction kept in the report, as text lines. */
export const inReportText: GroupTransactions = {
  summary: (g) => ({ transactions: g.transactions.length, valid: g.transactions.every((t) => t.valid) }),
  write: (g, out) => {
    for (const t of g.transactions) out(transactionLine(t));
  },
};

/** The report as text, line by line (each ending with a newline), to `out`. */
export function writeReportText(report: FileReport, file: string, out: (s: string | Buffer) => void, groups: GroupTransactions = inReportText): void {
  const mark = (ok: boolean) => (ok ? 'ok ' : 'BAD');
  out(`${file}: ${report.valid ? 'valid' : 'INVALID'}\n`);
  for (const ic of report.interchanges) {
    const h = ic.header;
    const icOk = !hasErrors(ic.issues) && ic.groups.every((g) => !hasErrors(g.issues) && groups.summary(g).valid);
    out(`  ${mark(icOk)} interchange ${h.control.trim()}  ${h.senderQualifier}/${h.senderId} -> ${h.receiverQualifier}/${h.receiverId}  ` +
      `version ${h.version}  ${h.usage === 'T' ? 'TEST' : 'production'}  line ${h.isa.loc.line}\n`);
    out(`      delimiters: ${delimitersText(h.delimiters)}\n`);
    for (const g of ic.groups) {
      const sum = groups.summary(g);
      out(`    ${mark(!hasErrors(g.issues) && sum.valid)} group ${g.header.control}  ${g.header.functionalId}  ${g.header.version}  ${sum.transactions} transaction set(s)\n`);
      groups.write(g, out);
    }
    if (ic.ta1s.length) out(`    TA1 interchange acknowledgment(s): ${ic.ta1s.length}\n`);
  }
  for (const t of report.orphanTransactions) {
    out(`  BAD ${t.setId} ${t.control} outside any interchange/group, line ${t.loc.line}\n`);
  }
  const issues = allIssues(report);
  const errors = issues.filter((i) => i.severity === 'error');
  const warnings = issues.filter((i) => i.severity === 'warning');
  if (issues.length) {
    out(`\n${errors.length} error(s), ${warnings.length} warning(s):\n`);
    for (const i of issues) out(`  ${issueLine(i, file)}\n`);
  }
}

export function reportText(report: FileReport, file: string): string {
  const parts: string[] = [];
  writeReportText(report, file, (s) => parts.push(String(s)));
  return parts.join('').slice(0, -1);
}
