import { openSync, readSync, closeSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { PartnerRegistry } from '../../mappings/registry.js';
import { formatDiagnostic } from '../../mappings/diagnostics.js';
import { translateX12InWorkers } from '../../mappings/parallel.js';
import { fileIdOf, sniffFormat, translateCsv, translateX12, translateXml, type TranslatedUnit } from '../../mappings/translate.js';
import { didYouMean } from '../../mappings/diagnostics.js';
import { CliError } from '../cli-error.js';
import { requireReadableFile } from '../files.js';

export interface TranslateFlags {
  partner?: string;
  partners: string;
  json?: boolean;
  receivedAt?: string;
  workers?: string;
}

function head(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    const n = readSync(fd, buf, 0, 512, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export async function translateCommand(file: string, flags: TranslateFlags): Promise<number> {
  requireReadableFile(file);
  const workers = Number(flags.workers ?? '1');
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new CliError('CLI_USAGE', `--workers takes a whole number from 1 to 64, not '${flags.workers}'`);
  const { registry, diagnostics } = PartnerRegistry.load(flags.partners);
  if (flags.partner && !registry.get(flags.partner)) {
    const broken = diagnostics.filter((d) => d.file.includes(`/${flags.partner}/`));
    if (broken.length) {
      for (const d of broken) process.stderr.write(`${formatDiagnostic(d)}\n`);
      throw new CliError('CLI_USAGE', `partner '${flags.partner}' has configuration errors (run waybill lint)`);
    }
    const hint = didYouMean(flags.partner, registry.list().map((p) => p.id));
    throw new CliError('CLI_USAGE', `unknown partner '${flags.partner}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
  }
  const receivedAt = flags.receivedAt ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const opts = { partner: flags.partner, fileId: await fileIdOf(file), fileName: basename(file), receivedAt };
  const units: TranslatedUnit[] = [];
  const format = sniffFormat(head(file));
  if (format === 'x12' && workers > 1) {
    for await (const { eventIds: _ids, ordinal: _ordinal, ...u } of translateX12InWorkers(file, flags.partners, opts, { workers })) {
      units.push({ ...u, events: u.events.map((e) => JSON.parse(e) as TranslatedUnit['events'][number]) });
    }
  } else if (format === 'x12') {
    for await (const u of translateX12(file, registry, opts)) units.push(u);
  } else {
    if (!flags.partner) throw new CliError('CLI_USAGE', `${format.toUpperCase()} files carry no sender id: name the partner with --partner`);
    const partner = registry.get(flags.partner)!;
    if (format === 'csv') for await (const u of translateCsv(file, partner, opts)) units.push(u);
    else units.push(translateXml(readFileSync(file), partner, opts));
  }
  const events = units.flatMap((u) => u.events);
  const failed = units.filter((u) => u.status !== 'translated');
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({
      file, format, valid: failed.length === 0, events,
      units: units.map((u) => ({ label: u.label, line: u.line, partner: u.partner, status: u.status, events: u.events.length, errors: u.errors })),
    }, null, 2)}\n`);
  } else {
    for (const u of units) {
      process.stdout.write(`${u.status === 'translated' ? 'ok ' : 'BAD'} ${u.label}  line ${u.line}  ${u.status}  ${u.events.length} event(s)${u.partner ? `  partner ${u.partner}` : ''}\n`);
      for (const e of u.errors) {
        const m = e.mapping ? `  (mapping ${e.mapping.file}:${e.mapping.line}:${e.mapping.column})` : '';
        process.stdout.write(`    ${file}:${e.line}:${e.column} ${e.severity} ${e.code} ${e.message}${m}\n`);
      }
    }
    for (const e of events) process.stdout.write(`${JSON.stringify(e)}\n`);
    process.stderr.write(`translate: ${units.length} unit(s), ${events.length} event(s), ${failed.length} failed\n`);
  }
  return failed.length > 0 ? 1 : 0;
}
