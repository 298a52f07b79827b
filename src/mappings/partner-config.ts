// partners/<id>/partner.yaml: who the partner is, how we talk X12 with them, how they are acknowledged,
// and which mappings handle which documents. Validated with positions; problems are collected.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';
import { z } from 'zod';
import { didYouMean, type Diagnostic } from './diagnostics.js';
import { YamlSource } from './yaml-source.js';
import { zodDiagnostics } from './zod-diagnostics.js';
import { isValidZone } from './transforms.js';
import { hostedSftpAccountSchema } from '../transports/sftp/config.js';
import { remoteSftpSchema } from '../transports/sftp/remote/config.js';

const isaId = z.strictObject({
  qualifier: z.string().regex(/^[0-9A-Z]{2}$/, 'an ISA qualifier is 2 characters (ZZ, 01, 02, 12, ...)'),
  id: z.string().min(1).max(15, 'an ISA id is at most 15 characters'),
});

const delimiterChar = z.string().length(1, 'a delimiter is one character');

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
    version: z.string().optional(),
  }).prefault({}),
  inbound: z.array(z.strictObject({
    /** x12/<set>, csv or xml. */
    document: z.string().regex(/^(x12\/\d{3}|csv|xml)$/, "a document is 'x12/<set>' (x12/214), 'csv' or 'xml'"),
    mapping: z.string().min(1),
    /** For CSV/XML: file-name glob that selects this mapping (default: every file of that format). */
    match: z.string().optional(),
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

export interface LoadedPartner {
  dir: string;
  file: string;
  config: PartnerConfig | null;
  diagnostics: Diagnostic[];
}

export function loadPartner(dir: string): LoadedPartner {
  const file = join(dir, 'partner.yaml');
  if (!existsSync(file)) {
    return { dir, file, config: null, diagnostics: [{ code: 'PARTNER_FILE_MISSING', severity: 'error', message: `no partner.yaml in ${dir}`, file, line: 1, column: 1 }] };
  }
  const src = YamlSource.load(file);
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
  config.inbound.forEach((entry, i) => {
    if (!existsSync(join(dir, entry.mapping))) {
      diagnostics.push(src.diagnostic('PARTNER_MAPPING_MISSING', `mapping file '${entry.mapping}' does not exist`, ['inbound', i, 'mapping'],
        { suggestion: didYouMean(entry.mapping, listMappings(dir)) }));
    }
  });
  config.outbound.forEach((entry, i) => {
    if (!existsSync(join(dir, entry.mapping))) {
      diagnostics.push(src.diagnostic('PARTNER_MAPPING_MISSING', `mapping file '${entry.mapping}' does not exist`, ['outbound', i, 'mapping'],
        { suggestion: didYouMean(entry.mapping, listMappings(dir)) }));
    }
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

function listMappings(dir: string): string[] {
  const m = join(dir, 'mappings');
  return existsSync(m) ? readdirSync(m).map((f) => `mappings/${f}`) : [];
}

/** Every partner folder under `root` (folders starting with `_` are templates, loaded but never matched). */
export function partnerDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => !name.startsWith('.') && statSync(join(root, name)).isDirectory())
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
    timezone: pick('timezone'), x12: pick('x12'), ours: pick('ours'), acknowledgments: pick('acknowledgments'),
    inbound: pick('inbound'), outbound: pick('outbound'), transports: pick('transports'),
  };
  const r = partnerSchema.safeParse(candidate);
  return r.success ? r.data : null;
}
