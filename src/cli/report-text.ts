// Human output of `waybill inspect`: a tree of interchanges, groups and transactions, then the findings.
import type { Delimiters, FileReport, X12Issue } from '../translators/x12/model.js';
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

export function reportText(report: FileReport, file: string): string {
  const lines: string[] = [];
  const mark = (ok: boolean) => (ok ? 'ok ' : 'BAD');
  lines.push(`${file}: ${report.valid ? 'valid' : 'INVALID'}`);
  for (const ic of report.interchanges) {
    const h = ic.header;
    const icOk = !hasErrors(ic.issues) && ic.groups.every((g) => !hasErrors(g.issues) && g.transactions.every((t) => t.valid));
    lines.push(`  ${mark(icOk)} interchange ${h.control.trim()}  ${h.senderQualifier}/${h.senderId} -> ${h.receiverQualifier}/${h.receiverId}  ` +
      `version ${h.version}  ${h.usage === 'T' ? 'TEST' : 'production'}  line ${h.isa.loc.line}`);
    lines.push(`      delimiters: ${delimitersText(h.delimiters)}`);
    for (const g of ic.groups) {
      const gOk = !hasErrors(g.issues) && g.transactions.every((t) => t.valid);
      lines.push(`    ${mark(gOk)} group ${g.header.control}  ${g.header.functionalId}  ${g.header.version}  ${g.transactions.length} transaction set(s)`);
      for (const t of g.transactions) {
        lines.push(`      ${mark(t.valid)} ${t.setId} ${t.control}  ${t.segmentCount} segments  line ${t.loc.line}${t.schemaChecked ? '' : '  (envelope only)'}`);
      }
    }
    if (ic.ta1s.length) lines.push(`    TA1 interchange acknowledgment(s): ${ic.ta1s.length}`);
  }
  for (const t of report.orphanTransactions) {
    lines.push(`  BAD ${t.setId} ${t.control} outside any interchange/group, line ${t.loc.line}`);
  }
  const issues = allIssues(report);
  const errors = issues.filter((i) => i.severity === 'error');
  const warnings = issues.filter((i) => i.severity === 'warning');
  if (issues.length) {
    lines.push('', `${errors.length} error(s), ${warnings.length} warning(s):`);
    for (const i of issues) lines.push(`  ${issueLine(i, file)}`);
  }
  return lines.join('\n');
}
