import { inspectX12 } from '../../translators/x12/inspect.js';
import { reportJson } from '../report-json.js';
import { reportText } from '../report-text.js';
import { requireReadableFile } from '../files.js';

export interface InspectFlags {
  json?: boolean;
  isaWidth: 'warn' | 'error';
  envelopeOnly?: boolean;
}

export async function inspectCommand(file: string, flags: InspectFlags): Promise<number> {
  requireReadableFile(file);
  const report = await inspectX12(file, { isaWidth: flags.isaWidth, envelopeOnly: flags.envelopeOnly });
  if (flags.json) process.stdout.write(`${JSON.stringify(reportJson(report, file), null, 2)}\n`);
  else process.stdout.write(`${reportText(report, file)}\n`);
  return report.valid ? 0 : 1;
}
