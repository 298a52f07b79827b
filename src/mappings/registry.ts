// The partner registry: every partner folder loaded, its tables assembled and its mappings compiled,
// with all diagnostics collected. Also answers "who sent this?" for inbound files.

import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { GroupHeader, InterchangeHeader } from '../translators/x12/model.js';
import { getSchema, resolveSchemaVersion } from '../translators/x12/schema.js';
import { prepareFastValidation } from '../canonical/fast-validate.js';
import { canonicalTarget, canonicalTypes } from './canonical-target.js';
import { didYouMean, hasErrorDiagnostics, type Diagnostic } from './diagnostics.js';
import { compileInbound, type CompiledInbound } from './inbound.js';
import { loadPartner, partnerDirs, type PartnerConfig } from './partner-config.js';
import type { SourceAdapter } from './spec.js';
import { sharedTables, type CodeTables } from './tables.js';
import { schemaView, X12Adapter } from './x12-adapter.js';
import { YamlSource } from './yaml-source.js';
import { compileOutbound, type CompiledOutbound } from './outbound.js';
import { adapterForDocument } from './adapters.js';

export interface InboundRoute {
  /** `x12/214`, `csv` or `xml`. */
  document: string;
  /** File-name glob for CSV/XML, as a RegExp; null matches every file of the format. */
  match: RegExp | null;
  mapping: CompiledInbound<unknown>;
}

export interface OutboundRoute {
  command: string;
  format: 'x12' | 'csv' | 'xml';
  mapping: CompiledOutbound;
}

export interface CompiledPartner {
  id: string;
  dir: string;
  config: PartnerConfig;
  tables: CodeTables;
  inbound: InboundRoute[];
  outbound: OutboundRoute[];
}

export function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i');
}

/** Loads, validates and compiles one partner folder. The partner is null when anything has an error. */
export function compilePartner(dir: string): { partner: CompiledPartner | null; diagnostics: Diagnostic[] } {
  const loaded = loadPartner(dir);
  const diagnostics = [...loaded.diagnostics];
  const config = loaded.config;
  if (!config) return { partner: null, diagnostics };

  const shared = sharedTables();
  diagnostics.push(...shared.diagnostics);
  const tables = shared.tables.clone();
  diagnostics.push(...tables.loadDir(join(dir, 'tables')));

  const inbound: InboundRoute[] = [];
  for (const entry of config.inbound) {
    const file = join(dir, entry.mapping);
    if (!existsSync(file)) continue; // reported by loadPartner
    const src = YamlSource.load(file);
    const declared = (src.value as { version?: unknown } | undefined)?.version;
    const adapter = adapterForDocument(entry.document, typeof declared === 'string' ? declared : config.x12?.version);
    const { mapping, diagnostics: d } = compileInbound({
      src, adapter: adapter as SourceAdapter<unknown>, tables,
      canonical: (t) => canonicalTarget(t, 'inbound'), canonicalTypes,
    });
    diagnostics.push(...d);
    const source = (src.value as { source?: unknown } | undefined)?.source;
    if (source !== undefined && source !== entry.document) {
      diagnostics.push(src.diagnostic('MAP_SOURCE_MISMATCH', `mapping source '${String(source)}' differs from the partner's document '${entry.document}'`, ['source']));
    }
    if (mapping) {
      // The canonical validator of what the mapping makes is compiled now, not on the first event.
      prepareFastValidation(mapping.target);
      inbound.push({ document: entry.document, match: entry.match ? globToRegExp(entry.match) : null, mapping });
    }
  }

  const outbound: OutboundRoute[] = [];
  for (const entry of config.outbound) {
    const file = join(dir, entry.mapping);
    if (!existsSync(file)) continue;
    const { mapping, diagnostics: d } = compileOutbound({ src: YamlSource.load(file), tables, format: entry.format, command: entry.command, partner: config });
    diagnostics.push(...d);
    if (mapping) outbound.push({ command: entry.command, format: entry.format, mapping });
  }

  if (hasErrorDiagnostics(diagnostics)) return { partner: null, diagnostics };
  return { partner: { id: config.id, dir, config, tables, inbound, outbound }, diagnostics };
}

export class PartnerRegistry {
  private readonly partners = new Map<string, CompiledPartner>();
  /** "qualifier/id" of every ISA sender we know -> partner id. */
  private readonly byIsa = new Map<string, string>();

  static load(root: string): { registry: PartnerRegistry; diagnostics: Diagnostic[] } {
    const registry = new PartnerRegistry();
    const diagnostics: Diagnostic[] = [];
    for (const dir of partnerDirs(root)) {
      const { partner, diagnostics: d } = compilePartner(dir);
      diagnostics.push(...d);
      if (partner && !basename(dir).startsWith('_')) registry.add(partner, diagnostics);
    }
    return { registry, diagnostics };
  }

  add(p: CompiledPartner, diagnostics: Diagnostic[] = []): void {
    this.partners.set(p.id, p);
    if (!p.config.x12) return;
    for (const isa of [p.config.x12.isa, ...p.config.x12.aliases]) {
      const key = `${isa.qualifier}/${isa.id}`;
      const other = this.byIsa.get(key);
      if (other && other !== p.id) {
        diagnostics.push({ code: 'PARTNER_DUPLICATE_ISA', severity: 'error', message: `ISA id ${key} is claimed by both '${other}' and '${p.id}'`,
          file: join(p.dir, 'partner.yaml'), line: 1, column: 1 });
      }
      this.byIsa.set(key, p.id);
    }
  }

  get(id: string): CompiledPartner | undefined {
    return this.partners.get(id);
  }

  list(): CompiledPartner[] {
    return [...this.partners.values()];
  }

  /** The partner who sent an interchange, by ISA05/06 (and GS02 when the partner declares one). */
  identifyX12(isa: InterchangeHeader, gs?: GroupHeader | null): { partner: CompiledPartner } | { code: 'PARTNER_UNKNOWN_SENDER'; message: string } {
    const key = `${isa.senderQualifier}/${isa.senderId}`;
    const id = this.byIsa.get(key);
    const partner = id ? this.partners.get(id) : undefined;
    if (partner) {
      const gsId = partner.config.x12?.gs;
      if (!gs || !gsId || gs.senderId.trim() === gsId) return { partner };
      return { code: 'PARTNER_UNKNOWN_SENDER', message: `interchange from ${key} is partner '${partner.id}', but GS02 '${gs.senderId}' is not its GS id '${gsId}'` };
    }
    const known = [...this.byIsa.keys()];
    const close = didYouMean(key, known) ?? didYouMean(isa.senderId, [...this.byIsa.keys()].map((k) => k.split('/')[1]));
    return {
      code: 'PARTNER_UNKNOWN_SENDER',
      message: `no partner sends as ISA ${key}${gs ? ` (GS02 '${gs.senderId}')` : ''}; configured: ${known.length ? known.join(', ') : 'none'}` +
        (close ? `; closest: ${close}` : ''),
    };
  }
}

export { resolveSchemaVersion, getSchema, schemaView, X12Adapter };
