// partners/<id>/partner.yaml: who the partner is, how we talk X12 with them, how they are acknowledged,
// and which mappings handle which documents. Validated with positions; problems are collected.
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';
import { z } from 'zod';
import { didYouMean, type Diagnostic } from './diagnostics.js';
import { notAFile, YamlSource, type YamlPath } from './yaml-source.js';
import { zodDiagnostics } from './zod-diagnostics.js';
import { isValidZone } from './transforms.js';
import { hostedSftpAccountSchema } from '../transports/sftp/config.js';
import { remoteSftpSchema } from '../transports/sftp/remote/config.js';
import { supportedSchemas } from '../translators/x12/schema.js';
import { ACK_VERSION } from '../translators/x12/acks/codes.js';

const isaId = z.strictObject({
  qualifier: z.string().regex(/^[0-9A-Z]{2}$/, 'an ISA qualifier is 2 characters (ZZ, 01, 02, 12, ...)'),
  id: z.string().min(1).max(15, 'an ISA id is at most 15 characters'),
});

const delimiterChar = z.string().length(1, 'a delimiter is one character');

/** One ASCII character other than CR or LF: what the CSV reader takes as a delimiter, quote or escape. */
const csvChar = z.string().regex(/^[\x00-\x09\x0b\x0c\x0e-\x7f]$/, 'one ASCII character other than CR or LF');

/**
 * How a CSV inbound document is read: the CSV reader's own options (CsvReadOptions in
 * translators/csv/reader.ts), same names, same meanings, same defaults; `chunkSize` (a read-buffer size,
 * not a property of the file) is left to the gateway. Checked here as readCsv would check them, so a bad
 * block is a lint error with a position instead of a failure on the partner's first file.
 */
export const csvInboundOptionsSchema = z.strictObject({
  /** true (default): the first record names the columns; false: none (#N positions); a list: the names, no header row. */
  header: z.union([
    z.boolean(),
    z.array(z.string().refine((n) => n.trim() !== '', 'a column name must not be empty'))
      .min(1, 'a list of column names must not be empty')
      .superRefine((names, ctx) => {
        const seen = new Map<string, number>();
        names.forEach((n, i) => {
          const first = seen.get(n);
          if (first !== undefined) ctx.addIssue({ code: 'custom', message: `column name '${n}' is given twice (columns ${first + 1} and ${i + 1})`, path: [i] });
          else seen.set(n, i);
        });
      }),
  ], { error: 'header is true (the first record names the columns), false (no header row, columns by #N) or a list of column names' }).optional(),
  delimiter: csvChar.optional(),
  quote: csvChar.optional(),
  escape: csvChar.optional(),
  encoding: z.enum(['utf8', 'latin1', 'utf16le']).optional(),
  skipEmptyLines: z.boolean().optional(),
  trim: z.boolean().optional(),
  maxRecordSize: z.number().int('maxRecordSize is a whole number of bytes').positive('maxRecordSize is a positive number of bytes').optional(),
  relaxColumnCount: z.boolean().optional(),
}).superRefine((o, ctx) => {
  // The reader's own cross-checks (normalizeOptions), with its defaults.
  const delimiter = o.delimiter ?? ',';
  const quote = o.quote ?? '"';
  const escape = o.escape ?? quote;
  if (delimiter === quote) ctx.addIssue({ code: 'custom', message: `the delimiter and the quote must differ (both ${JSON.stringify(quote)})`, path: [o.quote !== undefined ? 'quote' : 'delimiter'] });
  if (escape === delimiter && delimiter !== quote) ctx.addIssue({ code: 'custom', message: `the escape and the delimiter must differ (both ${JSON.stringify(escape)})`, path: [o.escape !== undefined ? 'escape' : 'delimiter'] });
});

export const partnerSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'partner ids are lowercase letters, digits and dashes'),
  name: z.string().min(1),
  scac: z.string().regex(/^[A-Z0-9]{2,4}$/, 'a SCAC is 2-4 uppercase letters or digits').optional(),
  timezone: z.string().default('UTC'),
  x12: z.strictObject({
    /** The partner's interchange id: ISA05/06 on what they send, ISA07/08 on what we send them. */
    isa: isaId,
    /** Extra ISA ids the partner also sends from (test ids, old ids). */
    aliases: z.array(isaId).default([]),
    /** The partner's GS02/GS03 application id (defaults to the ISA id). */
    gs: z.string().min(1).max(15).optional(),
    /** Version of what we send them (GS08 / ISA12 follow). */
    version: z.enum(['004010', '005010']).default('004010'),
    usage: z.enum(['P', 'T']).default('P'),
    delimiters: z.strictObject({
      element: delimiterChar.default('*'),
      component: delimiterChar.default('>'),
      repetition: delimiterChar.nullable().default(null),
      segment: delimiterChar.default('~'),
      lineEnding: z.enum(['', '\n', '\r\n']).default('\n'),
    }).prefault({}),
  }).optional(),
  /** Our identity toward this partner. */
  ours: z.strictObject({ isa: isaId, gs: z.string().min(1).max(15).optional() }).optional(),
  acknowledgments: z.strictObject({
    ta1: z.enum(['always', 'on-request', 'on-error', 'never']).default('on-request'),
    functional: z.enum(['997', '999', 'none']).default('997'),
    /** GS08 of our 997/999 (default: the version of the group acknowledged). */
    version: z.string().regex(ACK_VERSION, "a GS08 version: six digits and an optional guide id, such as '004010' or '005010X231A1'").optional(),
  }).prefault({}),
  inbound: z.array(z.strictObject({
    /** x12/<set>, csv or xml. */
    document: z.string().regex(/^(x12\/\d{3}|csv|xml)$/, "a document is 'x12/<set>' (x12/214), 'csv' or 'xml'"),
    mapping: z.string().min(1),
    /** For CSV/XML: file-name glob that selects this mapping (default: every file of that format). */
    match: z.string().optional(),
    /** For CSV only: how the file is read (delimiter, header, quote, encoding, ...); default: the reader's defaults. */
    csv: csvInboundOptionsSchema.optional(),
  })).default([]),
  outbound: z.array(z.strictObject({
    command: z.string().regex(/^[a-z.]+@\d+$/, "a command is a canonical type with version, e.g. 'load.tender@1'"),
    format: z.enum(['x12', 'csv', 'xml']),
    mapping: z.string().min(1),
  })).default([]),
  /** Filled in by the transport issues (SFTP, AS2); kept opaque here. */
  transports: z.record(z.string(), z.unknown()).default({}),
});

export type PartnerConfig = z.infer<typeof partnerSchema>;

/**
 * The x12 block read past unknown keys (in it and in its delimiters): what bestEffort falls back to when
 * the strict block fails, so that a misspelt key does not also hide the block's delimiter and version
 * checks. The unknown keys themselves are reported by the strict schema.
 */
const x12Strict = partnerSchema.shape.x12.unwrap();
const x12IgnoringUnknownKeys = z.object({
  ...x12Strict.shape,
  delimiters: z.object(x12Strict.shape.delimiters.unwrap().shape).prefault({}),
});

export interface LoadedPartner {
  dir: string;
  file: string;
  config: PartnerConfig | null;
  diagnostics: Diagnostic[];
}

export function loadPartner(dir: string): LoadedPartner {
  const file = join(dir, 'partner.yaml');
  let present;
  try {
    present = lstatSync(file, { throwIfNoEntry: false });
  } catch (err) {
    // A partner folder the gateway's user may not enter (an analyst's copy made with umask 077): EACCES
    // here threw out of the reload's timer and took the whole gateway down, every partner with it.
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { dir, file, config: null, diagnostics: [{ code: 'YAML_FILE_UNREADABLE', severity: 'error', file, line: 1, column: 1,
      message: `'partner.yaml' cannot be read (${why}): the folder ${dir} must be readable and searchable by the user Waybill runs as` }] };
  }
  if (!present) {
    // partner.yml, Partner.yaml, partner.yaml.txt: the file is there under a name Waybill does not read.
    let near: string[] = [];
    try {
      near = readdirSync(dir).filter((n) => /^partner\b/i.test(n));
    } catch { /* an unreadable folder: no hint */ }
    const suggestion = didYouMean('partner.yaml', near) ?? near[0];
    const hint = suggestion !== undefined ? ` (there is '${suggestion}': rename it partner.yaml)` : '';
    return { dir, file, config: null, diagnostics: [{ code: 'PARTNER_FILE_MISSING', severity: 'error', message: `no partner.yaml in ${dir}${hint}`, file, line: 1, column: 1 }] };
  }
  // A folder or a broken link named partner.yaml is no partner.yaml either (said as such, not a crash).
  const src = YamlSource.load(file, 'PARTNER_FILE_MISSING');
  const diagnostics = [...src.diagnostics];
  if (src.diagnostics.some((d) => d.severity === 'error')) return { dir, file, config: null, diagnostics };
  diagnostics.push(...zodDiagnostics(src, partnerSchema, 'PARTNER_CONFIG_INVALID'));
  const parsed = partnerSchema.safeParse(src.value ?? {});
  // With errors, go on with what can be read (defaults for the broken parts), so the mappings are
  // checked in the same run; the errors already collected keep the partner from being used.
  const config = parsed.success ? parsed.data : bestEffort(src.value);
  if (!config) return { dir, file, config: null, diagnostics };
  const folder = basename(dir);
  if (config.id !== folder && config.id !== 'invalid' && folder !== '_template') {
    diagnostics.push(src.diagnostic('PARTNER_ID_MISMATCH', `id '${config.id}' differs from its folder name '${folder}'`, ['id']));
  }
  if (!isValidZone(config.timezone)) {
    diagnostics.push(src.diagnostic('PARTNER_CONFIG_INVALID', `unknown time zone '${config.timezone}' (use an IANA name such as America/Chicago, or an offset such as -06:00)`, ['timezone']));
  }
  // Transport blocks are defined by their transports; checked here so lint shows them with positions.
  const t = config.transports;
  if (t.sftp !== undefined) diagnostics.push(...zodDiagnostics(src, hostedSftpAccountSchema, 'PARTNER_TRANSPORT_INVALID', ['transports', 'sftp']));
  if (t.remote !== undefined) diagnostics.push(...zodDiagnostics(src, remoteSftpSchema, 'PARTNER_TRANSPORT_INVALID', ['transports', 'remote']));
  if (t.outbound !== undefined && t.outbound !== 'hosted' && t.outbound !== 'remote') {
    diagnostics.push(src.diagnostic('PARTNER_TRANSPORT_INVALID', "transports.outbound is 'hosted' or 'remote'", ['transports', 'outbound'],
      { suggestion: typeof t.outbound === 'string' ? didYouMean(t.outbound, ['hosted', 'remote']) : undefined }));
  }
  for (const k of Object.keys(t)) {
    if (!['sftp', 'remote', 'outbound', 'as2'].includes(k)) {
      diagnostics.push(src.diagnostic('PARTNER_TRANSPORT_INVALID', `unknown transport '${k}' (sftp, remote, outbound)`, ['transports', k],
        { key: true, suggestion: didYouMean(k, ['sftp', 'remote', 'outbound']) }));
    }
  }
  const x12Documents = [...new Set(supportedSchemas().map((v) => `x12/${v.setId}`))];
  config.inbound.forEach((entry, i) => {
    // `x12/241` has the shape of a document but no schema: said here, where the typo is, with the fix.
    if (entry.document.startsWith('x12/') && !x12Documents.includes(entry.document)) {
      diagnostics.push(src.diagnostic('PARTNER_CONFIG_INVALID', `no X12 transaction set schema for '${entry.document}'; Waybill reads ${x12Documents.join(', ')}`,
        ['inbound', i, 'document'], { suggestion: didYouMean(entry.document, x12Documents) }));
    }
    if (entry.csv !== undefined && entry.document !== 'csv') {
      diagnostics.push(src.diagnostic('PARTNER_CONFIG_INVALID', `a 'csv' block only applies to document 'csv', not '${entry.document}'`, ['inbound', i, 'csv'], { key: true }));
    }
    const missing = mappingMissing(src, dir, entry.mapping, ['inbound', i, 'mapping']);
    if (missing) diagnostics.push(missing);
  });
  config.outbound.forEach((entry, i) => {
    const missing = mappingMissing(src, dir, entry.mapping, ['outbound', i, 'mapping']);
    if (missing) diagnostics.push(missing);
  });
  if (config.x12) {
    const d = config.x12.delimiters;
    const set = [d.element, d.component, d.segment, ...(d.repetition ? [d.repetition] : [])];
    if (new Set(set).size !== set.length || set.some((c) => /[A-Za-z0-9 ]/.test(c))) {
      diagnostics.push(src.diagnostic('PARTNER_CONFIG_INVALID', 'x12 delimiters must be distinct, and none may be a letter, digit or space', ['x12', 'delimiters']));
    }
    if (!d.repetition && config.x12.version === '005010') {
      diagnostics.push(src.diagnostic('PARTNER_CONFIG_INVALID', 'version 005010 writes a repetition separator in ISA11: set x12.delimiters.repetition (e.g. "^", or "{" when "^" is the component separator)', ['x12', 'delimiters']));
    }
    if (d.repetition && config.x12.version === '004010') {
      diagnostics.push(src.diagnostic('PARTNER_CONFIG_INVALID', 'a repetition separator needs version 005010 (ISA12 00402 or later)', ['x12', 'delimiters', 'repetition']));
    }
  }
  return { dir, file, config, diagnostics };
}

/**
 * PARTNER_MAPPING_MISSING at a partner.yaml `mapping:` value that names no readable file: nothing there,
 * a folder (`mappings/`), a broken link. The registry skips such entries, so this is their one report.
 */
function mappingMissing(src: YamlSource, dir: string, mapping: string, path: YamlPath): Diagnostic | null {
  const file = join(dir, mapping);
  const why = notAFile(file);
  if (why === null) return null;
  const inside = isFolder(file) ? listYaml(file).map((f) => join(mapping, f)) : [];
  const hint = inside.length ? `; name one of its files (${inside.slice(0, 5).join(', ')}${inside.length > 5 ? ', ...' : ''})` : '';
  // Only files that can be read are suggested: a link loop is listed in its folder like a file, itself included.
  return src.diagnostic('PARTNER_MAPPING_MISSING', `mapping file '${mapping}' ${why}${hint}`, path,
    { suggestion: didYouMean(mapping, listMappings(dir).filter((m) => notAFile(join(dir, m)) === null)) });
}

function isFolder(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false; // ELOOP, EACCES: not a folder we can list
  }
}

/** The names in a folder, [] when it cannot be listed: they only feed hints. */
function namesIn(dir: string): string[] {
  try {
    return isFolder(dir) ? readdirSync(dir).sort() : [];
  } catch {
    return [];
  }
}

function listYaml(dir: string): string[] {
  return namesIn(dir).filter((f) => /\.ya?ml$/.test(f));
}

function listMappings(dir: string): string[] {
  return namesIn(join(dir, 'mappings')).map((f) => `mappings/${f}`);
}

/** Every partner folder under `root` (folders starting with `_` are templates, loaded but never matched). */
export function partnerDirs(root: string): string[] {
  if (!isFolder(root)) return [];
  // A broken link or a plain file among the partner folders is not a partner: skipped, not a crash.
  return readdirSync(root)
    .filter((name) => !name.startsWith('.') && isFolder(join(root, name)))
    .sort()
    .map((name) => join(root, name));
}

/** A config built from the valid parts of a broken partner.yaml, for checking its mappings anyway. */
function bestEffort(value: unknown): PartnerConfig | null {
  if (typeof value !== 'object' || value === null) return null;
  const raw = value as Record<string, unknown>;
  const pick = <K extends keyof typeof partnerSchema.shape>(key: K): unknown => {
    const r = partnerSchema.shape[key].safeParse(raw[key]);
    return r.success ? r.data : undefined;
  };
  const candidate = {
    id: pick('id') ?? 'invalid', name: pick('name') ?? 'invalid',
    timezone: pick('timezone'), x12: pick('x12') ?? lenientX12(raw.x12), ours: pick('ours'), acknowledgments: pick('acknowledgments'),
    inbound: pick('inbound'), outbound: pick('outbound'), transports: pick('transports'),
  };
  const r = partnerSchema.safeParse(candidate);
  return r.success ? r.data : null;
}

/** The x12 block without its unknown keys, when that is all that is wrong with it (else undefined). */
function lenientX12(value: unknown): unknown {
  if (value === undefined) return undefined;
  const r = x12IgnoringUnknownKeys.safeParse(value);
  return r.success ? r.data : undefined;
}
