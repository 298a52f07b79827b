import { WaybillError, type ErrorCode } from '../../errors/catalogue.js';
import { buildAcks, type BuiltAcks, type Ta1Policy } from '../../translators/x12/acks/build.js';
import { ACK_VERSION } from '../../translators/x12/acks/codes.js';
import { ReportBuilder } from '../../translators/x12/inspect.js';
import type { InterchangeReport } from '../../translators/x12/model.js';
import { readX12 } from '../../translators/x12/reader.js';
import { parseControlFlag } from '../flags.js';
import { CliError } from '../cli-error.js';
import { requireReadableFile } from '../files.js';

export interface AckFlags {
  ta1: Ta1Policy;
  functional: '997' | '999' | 'none';
  ackVersion?: string;
  control: string;
  json?: boolean;
}

/** The largest ISA13: numbering goes on from 1 after it, as partners' control numbers wrap. */
const CONTROL_MAX = 999_999_999;

/** One inbound interchange's outcome: its acknowledgments, or why they could not be written. */
interface InterchangeAck {
  inbound: string;
  line: number;
  column: number;
  built?: BuiltAcks;
  failure?: { code: ErrorCode; message: string };
}

export async function ackCommand(file: string, flags: AckFlags): Promise<number> {
  requireReadableFile(file);
  let next = parseControlFlag(flags.control);
  // GS08 of the acknowledgment: a version code (004010, 005010X231A1), or the acknowledgment says nothing a partner can read.
  if (flags.ackVersion !== undefined && !ACK_VERSION.test(flags.ackVersion)) {
    throw new CliError('CLI_USAGE', `--ack-version takes a GS08 version such as 004010 or 005010X231A1, not '${flags.ackVersion}'`);
  }
  const now = new Date();
  const results: InterchangeAck[] = [];
  // One acknowledgment interchange per inbound interchange, built as soon as that interchange is read
  // whole: the report keeps no interchange's sets after that, so memory follows the largest interchange.
  // Control numbers count up from --control.
  const acknowledge = (ic: InterchangeReport): void => {
    const base = next;
    next = next >= CONTROL_MAX ? 1 : next + 1;
    const result: InterchangeAck = { inbound: ic.header.control.trim(), line: ic.header.isa.loc.line, column: ic.header.isa.loc.column };
    try {
      result.built = buildAcks(ic, {
        policy: { ta1: flags.ta1, functional: flags.functional, version: flags.ackVersion },
        controls: { interchange: base, group: base, transaction: (i: number) => String(i + 1).padStart(4, '0') },
        now,
        suffix: '\n',
      });
    } catch (err) {
      // A value of this interchange the acknowledgment cannot carry (an ISA06 of 18 characters): this
      // interchange goes unacknowledged, said with the writer's code; the others are still answered.
      if (!(err instanceof WaybillError)) throw err;
      result.failure = { code: err.code, message: err.message };
    }
    if (flags.json) results.push(result);
    else {
      // Printed now and let go: a file of many interchanges is answered in the memory of one.
      printText(file, result);
      if (result.failure) results.push({ ...result, built: undefined });
    }
  };
  const builder = new ReportBuilder({ onInterchangeDone: acknowledge });
  for await (const ev of readX12(file)) builder.accept(ev);
  const report = builder.finish();
  const failed = results.some((r) => r.failure);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({
      file,
      valid: report.valid,
      acknowledgments: results.map(({ inbound, built, failure }) => ({
        inboundInterchange: inbound,
        ...(built
          ? { interchangeStatus: built.interchangeStatus, ta1: built.ta1, functional: built.functional, text: built.text, notes: built.notes }
          : { error: failure }),
      })),
      ...(report.interchanges.length === 0 && { notes: ['no interchange could be read, so there is nothing to acknowledge (see waybill inspect)'] }),
    }, null, 2)}\n`);
    return report.interchanges.length === 0 || failed ? 1 : 0;
  }
  if (report.interchanges.length === 0) {
    // Invalid input data (exit 1), said with the code of what stands there instead (X12_NO_ISA, X12_EMPTY_FILE, ...).
    const first = report.issues[0];
    const code = first?.code ?? ('X12_NO_ISA' satisfies ErrorCode);
    const where = first ? `${file}:${first.loc.line}:${first.loc.column}: ${first.message}; ` : `${file}: `;
    process.stderr.write(`waybill: ${code}: ${where}no interchange could be read, so there is nothing to acknowledge (waybill inspect ${file} shows why)\n`);
    return 1;
  }
  return failed ? 1 : 0;
}

function printText(file: string, { inbound, line, column, built, failure }: InterchangeAck): void {
  if (failure) {
    process.stderr.write(`waybill: ${failure.code}: ${file}:${line}:${column}: interchange ${inbound} is not acknowledged: ${failure.message}\n`);
    return;
  }
  if (!built) return;
  const fa = built.functional.map((f) => `, ${f.type} ${f.status} for group ${f.acknowledges.functionalId} ${f.acknowledges.control}`).join('');
  process.stdout.write(`# interchange ${inbound}: envelope ${built.interchangeStatus}${built.ta1 ? ' (TA1 sent)' : ''}${fa}\n`);
  for (const n of built.notes) process.stdout.write(`# ${n}\n`);
  if (built.text) process.stdout.write(built.text.endsWith('\n') ? built.text : `${built.text}\n`);
}
