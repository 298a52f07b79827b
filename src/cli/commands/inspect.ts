import { ReportBuilder } from '../../translators/x12/inspect.js';
import { readX12 } from '../../translators/x12/reader.js';
import type { GroupReport } from '../../translators/x12/model.js';
import { transactionItem, writeReportJson } from '../report-json.js';
import { transactionLine, writeReportText, type GroupTransactions } from '../report-text.js';
import { requireReadableFile } from '../files.js';
import { Spool } from '../spool.js';

export interface InspectFlags {
  json?: boolean;
  isaWidth: 'warn' | 'error';
  envelopeOnly?: boolean;
}

/**
 * The report says first whether the file is valid, which only its end tells. So each transaction's line
 * (or JSON item) goes to a spool as it is read, and the report keeps only the transactions with findings
 * and each group's counts: memory grows with the findings, not with the file.
 */
export async function inspectCommand(file: string, flags: InspectFlags): Promise<number> {
  requireReadableFile(file);
  return (await writeInspection(file, flags, (s) => process.stdout.write(s))) ? 0 : 1;
}

/** Reads, checks and reports `file` to `out` (text, or JSON with flags.json); true when it is valid. */
export async function writeInspection(file: string, flags: InspectFlags, out: (s: string | Buffer) => void): Promise<boolean> {
  const spool = new Spool('waybill-inspect-');
  try {
    const ranges = new Map<GroupReport, { from: number; to: number }>();
    const builder = new ReportBuilder({
      isaWidth: flags.isaWidth, envelopeOnly: flags.envelopeOnly, keep: 'with-issues',
      onTransaction: (t, g) => {
        if (!g) return; // outside any group: kept in the report
        const range = ranges.get(g);
        const from = spool.size;
        spool.append(flags.json ? transactionItem(t, range === undefined) : transactionLine(t));
        if (range) range.to = spool.size;
        else ranges.set(g, { from, to: spool.size });
      },
    });
    for await (const ev of readX12(file, { isaWidth: flags.isaWidth })) builder.accept(ev);
    const report = builder.finish();
    const groups: GroupTransactions = {
      summary: (g) => builder.groupSummary(g),
      write: (g, out) => {
        const range = ranges.get(g);
        if (range) spool.copyTo(out, range.from, range.to);
      },
    };
    if (flags.json) writeReportJson(report, file, out, groups);
    else writeReportText(report, file, out, groups);
    return report.valid;
  } finally {
    spool.dispose();
  }
}
