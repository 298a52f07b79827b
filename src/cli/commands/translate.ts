import { basename, dirname, resolve } from 'node:path';
import { Timestamp } from '../../canonical/index.js';
import { PartnerRegistry } from '../../mappings/registry.js';
import { formatDiagnostic, type Diagnostic } from '../../mappings/diagnostics.js';
import { translateX12InWorkers } from '../../mappings/parallel.js';
import { examineFile, fileIdOf, readingFormat, translateCsv, translateX12Batches, translateXmlFile, X12_FILE_NAME, type CanonicalEvent, type TranslatedUnit } from '../../mappings/translate.js';
import { CliError } from '../cli-error.js';
import { requirePartner } from '../partner-flag.js';
import { requirePartnersFolder, requireReadableFile } from '../files.js';
import { Spool } from '../spool.js';

export interface TranslateFlags {
  partner?: string;
  partners: string;
  json?: boolean;
  receivedAt?: string;
  workers?: string;
}


/**
 * The configuration errors that decide who sent an X12 file: ISA ids two partners claim
 * (PARTNER_DUPLICATE_ISA), whose interchanges the registry refuses. With --partner, only that partner's.
 */
function senderConfigErrors(diagnostics: readonly Diagnostic[], partnerDir: string | undefined): Diagnostic[] {
  return diagnostics.filter((d) => d.code === 'PARTNER_DUPLICATE_ISA' && (partnerDir === undefined || resolve(dirname(d.file)) === partnerDir));
}

/**
 * `--received-at` is stamped on every event as its receivedAt, so it must pass the same rule the canonical
 * schema applies there (Timestamp): checked once here, or every transaction fails with MAP_CANONICAL_INVALID.
 */
function checkReceivedAt(value: string): void {
  const checked = Timestamp.safeParse(value);
  // The schema's own message names the form and gives an example.
  if (!checked.success) throw new CliError('CLI_USAGE', `--received-at '${value}': ${checked.error.issues[0].message}`);
}

export async function translateCommand(file: string, flags: TranslateFlags): Promise<number> {
  requireReadableFile(file);
  requirePartnersFolder(flags.partners);
  const workers = Number(flags.workers ?? '1');
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new CliError('CLI_USAGE', `--workers takes a whole number from 1 to 64, not '${flags.workers}'`);
  if (flags.receivedAt !== undefined) checkReceivedAt(flags.receivedAt);
  const { registry, diagnostics } = PartnerRegistry.load(flags.partners, { prepareValidation: false });
  if (flags.partner) requirePartner(registry, diagnostics, flags.partner);
  const receivedAt = flags.receivedAt ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const opts = { partner: flags.partner, fileId: await fileIdOf(file), fileName: basename(file), receivedAt };
  // Refused whole (binary, or empty) before any partner or mapping is asked, as the gateway's pipeline refuses it.
  const examined = examineFile(file);
  const { binary, refusal: rejection } = examined;
  const format = rejection === null ? readingFormat(examined.format, basename(file), registry, flags.partner) : examined.format;
  if (rejection !== null) {
    // Bad data, not a bad command line: a rejected file unit, exit 1, as the gateway records it.
    // An empty file shows no format of its own: its name's, when it has one (.edi, .xml), rather than CSV's.
    const named = X12_FILE_NAME.test(file) ? 'x12' : /\.xml$/i.test(file) ? 'xml' : format;
    const report = new TranslateReport(file, binary ? 'binary' : named, flags.json === true);
    try {
      report.unit({ format, partner: flags.partner, label: 'file', line: 1, status: 'rejected', errors: [rejection] }, []);
      return report.finish();
    } finally {
      report.dispose();
    }
  }
  if (format === 'x12') {
    const forced = flags.partner ? registry.get(flags.partner)?.dir : undefined;
    for (const d of senderConfigErrors(diagnostics, forced && resolve(forced))) process.stderr.write(`${formatDiagnostic(d)}\n`);
  }
  let partnerId = flags.partner;
  if (format !== 'x12' && !partnerId) {
    // No sender id in the file: the partner whose route pattern (partner.yaml inbound `match`) names this
    // file, when exactly one does. The gateway knows it from the account or folder a file came through.
    const name = basename(file);
    const named = registry.list().filter((p) => p.inbound.some((r) => r.document === format && r.match !== null && r.match.test(name)));
    if (named.length === 1) {
      partnerId = named[0].id;
      process.stderr.write(`translate: partner ${partnerId}: its ${format} route's pattern matches ${name} (--partner to choose another)\n`);
    } else {
      // CSV is what a file is taken for when it is neither X12 nor XML: say so, or a stray file (or
      // garbage) reads as a question about partners.
      const why = format === 'csv' ? ` (this file is read as CSV: it starts with neither an X12 ISA, GS or ST nor an XML '<')` : '';
      const which = named.length > 1
        ? `; the ${format} route patterns of ${named.map((p) => p.id).join(', ')} all match ${name}`
        : `; no partner's ${format} route pattern matches ${name}`;
      throw new CliError('CLI_USAGE', `${format.toUpperCase()} files carry no sender id: name the partner with --partner${which}${why}`);
    }
  }
  opts.partner = partnerId;
  const report = new TranslateReport(file, format, flags.json === true);
  try {
    if (format === 'x12' && workers > 1) {
      // Events arrive as JSON text: printed as they are, never parsed back into objects.
      for await (const u of translateX12InWorkers(file, flags.partners, opts, { workers })) report.unit(u, u.events);
    } else if (format === 'x12') {
      for await (const units of translateX12Batches(file, registry, opts)) for (const u of units) report.unit(u, u.events);
    } else {
      const partner = registry.get(partnerId!)!;
      const units = format === 'csv' ? translateCsv(file, partner, opts) : [translateXmlFile(file, partner, opts)];
      for await (const u of units) report.unit(u, u.events);
    }
    return report.finish();
  } finally {
    report.dispose();
  }
}

/**
 * Prints units as they are translated, so that memory stays flat however large the file: events go out
 * at once; for --json, the per-unit summaries (printed after the events) wait in a temporary file.
 * Text: each unit's status line, its errors, then its events as JSON lines; a count on stderr at the end.
 * JSON: one object, { file, format, events, units, valid }, in the layout JSON.stringify(_, null, 2) gives.
 */
class TranslateReport {
  private units = 0;
  private events = 0;
  private failed = 0;
  /** --json: the unit summaries, printed after the events. */
  private readonly spool: Spool | null = null;

  constructor(private readonly file: string, private readonly format: string, private readonly json: boolean) {
    if (!json) return;
    this.spool = new Spool('waybill-translate-');
    process.stdout.write(`{\n  "file": ${JSON.stringify(file)},\n  "format": ${JSON.stringify(format)},\n  "events": [`);
  }

  /** A unit and its events, as objects or as JSON text (from the workers). */
  unit(u: Omit<TranslatedUnit, 'events'>, events: readonly (CanonicalEvent | string)[]): void {
    if (u.status !== 'translated') this.failed++;
    if (this.spool) {
      for (const e of events) {
        const pretty = JSON.stringify(typeof e === 'string' ? JSON.parse(e) : e, null, 2);
        process.stdout.write(`${this.events++ === 0 ? '' : ','}\n    ${pretty.replace(/\n/g, '\n    ')}`);
      }
      const summary = { label: u.label, line: u.line, partner: u.partner, status: u.status, events: events.length, errors: u.errors };
      this.spool.append(`${this.units++ === 0 ? '' : ','}\n    ${JSON.stringify(summary, null, 2).replace(/\n/g, '\n    ')}`);
      return;
    }
    this.units++;
    this.events += events.length;
    let out = `${u.status === 'translated' ? 'ok ' : 'BAD'} ${u.label}  line ${u.line}  ${u.status}  ${events.length} event(s)${u.partner ? `  partner ${u.partner}` : ''}\n`;
    for (const e of u.errors) {
      const m = e.mapping ? `  (mapping ${e.mapping.file}:${e.mapping.line}:${e.mapping.column})` : '';
      out += `    ${this.file}:${e.line}:${e.column} ${e.severity} ${e.code} ${e.message}${m}\n`;
    }
    for (const e of events) out += `${typeof e === 'string' ? e : JSON.stringify(e)}\n`;
    process.stdout.write(out);
  }

  /** Ends the output; returns the exit status (1 when a unit failed). */
  finish(): number {
    if (this.spool) {
      process.stdout.write(`${this.events === 0 ? '' : '\n  '}],\n  "units": [`);
      this.spool.copyTo((chunk) => process.stdout.write(chunk));
      process.stdout.write(`${this.units === 0 ? '' : '\n  '}],\n  "valid": ${this.failed === 0}\n}\n`);
    } else {
      process.stderr.write(`translate: ${this.units} unit(s), ${this.events} event(s), ${this.failed} failed\n`);
    }
    return this.failed > 0 ? 1 : 0;
  }

  dispose(): void {
    this.spool?.dispose();
  }

}
