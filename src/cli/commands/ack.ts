import type { ErrorCode } from '../../errors/catalogue.js';
import { buildAcks, type Ta1Policy } from '../../translators/x12/acks/build.js';
import { ACK_VERSION } from '../../translators/x12/acks/codes.js';
import { inspectX12 } from '../../translators/x12/inspect.js';
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

export async function ackCommand(file: string, flags: AckFlags): Promise<number> {
  requireReadableFile(file);
  let next = parseControlFlag(flags.control);
  // GS08 of the acknowledgment: a version code (004010, 005010X231A1), or the acknowledgment says nothing a partner can read.
  if (flags.ackVersion !== undefined && !ACK_VERSION.test(flags.ackVersion)) {
    throw new CliError('CLI_USAGE', `--ack-version takes a GS08 version such as 004010 or 005010X231A1, not '${flags.ackVersion}'`);
  }
  const report = await inspectX12(file);
  // One acknowledgment interchange per inbound interchange; control numbers count up from --control.
  const now = new Date();
  const results = report.interchanges.map((ic) => {
    const base = next;
    const built = buildAcks(ic, {
      policy: { ta1: flags.ta1, functional: flags.functional, version: flags.ackVersion },
      controls: { interchange: base, group: base, transaction: (i: number) => String(i + 1).padStart(4, '0') },
      now,
      suffix: '\n',
    });
    next += 1;
    return { inbound: ic.header.control.trim(), built };
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({
      file,
      valid: report.valid,
      acknowledgments: results.map(({ inbound, built }) => ({
        inboundInterchange: inbound,
        interchangeStatus: built.interchangeStatus,
        ta1: built.ta1,
        functional: built.functional,
        text: built.text,
        notes: built.notes,
      })),
      ...(report.interchanges.length === 0 && { notes: ['no interchange could be read, so there is nothing to acknowledge (see waybill inspect)'] }),
    }, null, 2)}\n`);
    return report.interchanges.length === 0 ? 1 : 0;
  }
  if (report.interchanges.length === 0) {
    // Invalid input data (exit 1), said with the code of what stands there instead (X12_NO_ISA, X12_EMPTY_FILE, ...).
    const first = report.issues[0];
    const code = first?.code ?? ('X12_NO_ISA' satisfies ErrorCode);
    const where = first ? `${file}:${first.loc.line}:${first.loc.column}: ${first.message}; ` : `${file}: `;
    process.stderr.write(`waybill: ${code}: ${where}no interchange could be read, so there is nothing to acknowledge (waybill inspect ${file} shows why)\n`);
    return 1;
  }
  for (const { inbound, built } of results) {
    const fa = built.functional.map((f) => `, ${f.type} ${f.status} for group ${f.acknowledges.functionalId} ${f.acknowledges.control}`).join('');
    process.stdout.write(`# interchange ${inbound}: envelope ${built.interchangeStatus}${built.ta1 ? ' (TA1 sent)' : ''}${fa}\n`);
    for (const n of built.notes) process.stdout.write(`# ${n}\n`);
    if (built.text) process.stdout.write(built.text.endsWith('\n') ? built.text : `${built.text}\n`);
  }
  return 0;
}
