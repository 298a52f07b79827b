import { readFileSync } from 'node:fs';
import { parseAs, type TypeKey } from '../../canonical/index.js';
import { didYouMean, formatDiagnostic } from '../../mappings/diagnostics.js';
import { frozenControls } from '../../mappings/partner-tests.js';
import { PartnerRegistry } from '../../mappings/registry.js';
import { MappingFailure } from '../../mappings/spec.js';
import { CliError } from '../cli-error.js';
import { requireReadableFile } from '../files.js';

export interface RenderFlags {
  partner: string;
  partners: string;
  format?: 'x12' | 'csv' | 'xml';
  frozen?: boolean;
  control?: string;
}

export async function renderCommand(file: string, flags: RenderFlags): Promise<number> {
  requireReadableFile(file);
  let command: unknown;
  try {
    command = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError('CLI_FILE_UNREADABLE', `${file} is not JSON: ${(err as Error).message}`);
  }
  const type = String((command as { type?: unknown })?.type ?? '');
  const checked = parseAs(type as TypeKey, command);
  if (!checked.ok) {
    for (const i of checked.issues) process.stderr.write(`${file}: ${i.path}: ${i.message}\n`);
    throw new CliError('CLI_USAGE', `${file} is not a valid command${type ? ` of type ${type}` : ' (no type)'}`, 1);
  }
  const { registry, diagnostics } = PartnerRegistry.load(flags.partners);
  const partner = registry.get(flags.partner);
  if (!partner) {
    for (const d of diagnostics.filter((x) => x.file.includes(`/${flags.partner}/`))) process.stderr.write(`${formatDiagnostic(d)}\n`);
    const hint = didYouMean(flags.partner, registry.list().map((p) => p.id));
    throw new CliError('CLI_USAGE', `unknown or invalid partner '${flags.partner}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
  }
  const routes = partner.outbound.filter((r) => r.command === type && (!flags.format || r.format === flags.format));
  if (routes.length === 0) {
    throw new CliError('CLI_USAGE', `partner '${partner.id}' has no outbound mapping for ${type}${flags.format ? ` as ${flags.format}` : ''}`);
  }
  let controls = frozenControls();
  if (!flags.frozen && flags.control) {
    const start = Number(flags.control);
    let n = start;
    controls = { next: (kind) => (kind === 'transaction' ? String(n++).padStart(4, '0') : String(start)) };
  }
  const now = flags.frozen ? new Date('2025-01-01T00:00:00Z') : new Date();
  try {
    const doc = routes[0].mapping.render(checked.value, { controls, now });
    process.stdout.write(doc.text);
  } catch (err) {
    if (err instanceof MappingFailure) {
      const m = err.mapping ? ` (mapping ${err.mapping.file}:${err.mapping.line}:${err.mapping.column})` : '';
      process.stderr.write(`waybill: ${err.code}: ${err.message}${m}\n`);
      return 1;
    }
    throw err;
  }
  return 0;
}
