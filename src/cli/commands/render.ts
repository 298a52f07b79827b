import { readFileSync } from 'node:fs';
import { checkCommand } from '../../mappings/command-json.js';
import { frozenControls } from '../../mappings/partner-tests.js';
import { PartnerRegistry } from '../../mappings/registry.js';
import { jsonPosition, parseJsonText } from '../../mappings/json-text.js';
import { MappingFailure } from '../../mappings/spec.js';
import type { ErrorCode } from '../../errors/catalogue.js';
import { parseControlFlag } from '../flags.js';
import { CliError } from '../cli-error.js';
import { requirePartner } from '../partner-flag.js';
import { requirePartnersFolder, requireReadableFile } from '../files.js';

export interface RenderFlags {
  partner: string;
  partners: string;
  format?: 'x12' | 'csv' | 'xml';
  frozen?: boolean;
  control?: string;
}

/** One coded line on stderr, in the form main.ts gives a thrown error: `waybill: CODE: message`. */
function printError(code: ErrorCode, message: string): void {
  process.stderr.write(`waybill: ${code}: ${message}\n`);
}

export async function renderCommand(file: string, flags: RenderFlags): Promise<number> {
  requireReadableFile(file);
  requirePartnersFolder(flags.partners);
  // Checked before the command, so a bad flag is a usage error (2) whatever the file holds.
  const control = parseControlFlag(flags.control ?? '1');
  // --frozen fixes the control numbers too: a --control beside it would be silently ignored.
  if (flags.frozen && flags.control !== undefined) throw new CliError('CLI_USAGE', '--frozen fixes the control numbers (1, 1, 0001): give --control without --frozen');
  // Not JSON: said with its line and column (a byte order mark is fine).
  const text = readFileSync(file, 'utf8');
  const json = parseJsonText(text);
  if (!json.ok) {
    printError('CLI_COMMAND_INVALID', `${file}:${json.line}:${json.column}: not valid JSON: ${json.message}`);
    return 1;
  }
  // Not an object, no known type, failing its schema, an event, keys its type does not know: one coded
  // line per problem, each at its line and column (the value, the unknown key, or the object a required
  // key is missing from) and with its path (bad input data, not bad arguments: exit 1).
  const checked = checkCommand(json.value, 'waybill render takes');
  if (!checked.ok) {
    for (const p of checked.problems) {
      const at = jsonPosition(text, p.path, { key: p.kind === 'unknown-key' });
      printError('CLI_COMMAND_INVALID', `${file}:${at.line}:${at.column}: ${p.path}: ${p.message}`);
    }
    return 1;
  }
  const type = checked.type;
  const { registry, diagnostics } = PartnerRegistry.load(flags.partners, { prepareValidation: false });
  const partner = requirePartner(registry, diagnostics, flags.partner);
  // The command names the partner it is for: rendering it for another would send one carrier's tender to another.
  const addressee = (checked.value as { partner?: unknown }).partner;
  if (typeof addressee === 'string' && addressee !== partner.id) {
    const at = jsonPosition(text, 'partner');
    printError('CLI_COMMAND_INVALID', `${file}:${at.line}:${at.column}: partner: the command is for '${addressee}', not '${partner.id}' (--partner)`);
    return 1;
  }
  const routes = partner.outbound.filter((r) => r.command === type && (!flags.format || r.format === flags.format));
  if (routes.length === 0) {
    throw new CliError('CLI_USAGE', `partner '${partner.id}' has no outbound mapping for ${type}${flags.format ? ` as ${flags.format}` : ''}`);
  }
  let controls = frozenControls();
  if (!flags.frozen) {
    let n = control;
    controls = { next: (kind) => (kind === 'transaction' ? String(n++).padStart(4, '0') : String(control)) };
  }
  const now = flags.frozen ? new Date('2025-01-01T00:00:00Z') : new Date();
  try {
    const doc = routes[0].mapping.render(checked.value, { controls, now });
    process.stdout.write(doc.text);
  } catch (err) {
    if (err instanceof MappingFailure) {
      const m = err.mapping ? ` (mapping ${err.mapping.file}:${err.mapping.line}:${err.mapping.column})` : '';
      // Where in the command the failing value is (`/stops/2`), unless the message names it already.
      const what = err.source?.what;
      const at = what && what.startsWith('/') && !err.message.includes(what) ? ` at ${what} of the command` : '';
      printError(err.code, `${err.message}${at}${m}`);
      return 1;
    }
    throw err;
  }
  return 0;
}
