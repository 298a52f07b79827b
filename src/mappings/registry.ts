// The partner registry: every partner folder loaded, its tables assembled and its mappings compiled,
// with all diagnostics collected. Also answers "who sent this?" for inbound files.

import { lstatSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { CsvReadOptions } from '../translators/csv/reader.js';
import type { GroupHeader, InterchangeHeader } from '../translators/x12/model.js';
import { getSchema, resolveSchemaVersion, supportedSchemas } from '../translators/x12/schema.js';
import { prepareFastValidation } from '../canonical/fast-validate.js';
import { canonicalTarget, canonicalTypes } from './canonical-target.js';
import { didYouMean, hasErrorDiagnostics, type Diagnostic } from './diagnostics.js';
import { compileInbound, type CompiledInbound } from './inbound.js';
import { loadPartner, partnerDirs, type PartnerConfig } from './partner-config.js';
import type { SourceAdapter } from './spec.js';
import { sharedTables, type CodeTables } from './tables.js';
import { schemaView, X12Adapter } from './x12-adapter.js';
import { notAFile, YamlSource, type YamlPath } from './yaml-source.js';
import { compileOutbound, type CompiledOutbound } from './outbound.js';
import { adapterForDocument } from './adapters.js';

export interface InboundRoute {
  /** `x12/214`, `csv` or `xml`. */
  document: string;
  /** File-name glob for CSV/XML, as a RegExp; null matches every file of the format. */
  match: RegExp | null;
  mapping: CompiledInbound<unknown>;
  /** CSV only: how the file is read (partner.yaml `csv:`); absent means the reader's defaults. */
  csv?: CsvReadOptions;
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
  /**
   * The files it was compiled from (partnerStamp), as they were then: another thread that compiles the
   * same folder (the gateway's XML worker) tells by it whether it has the same partner.
   */
  stamp?: string;
}

export function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i');
}

/**
 * Loads, validates and compiles one partner folder. The partner is null when anything has an error;
 * `config` is there whenever partner.yaml itself was readable (so that an interchange from a partner whose
 * mappings do not compile can be told apart from one from a stranger).
 */
export interface CompileOptions {
  /**
   * Compile the canonical validators of the mappings' targets now (default true): what a gateway wants
   * before its first file. Commands that translate a few samples (lint, test, translate, render) pass
   * false, and validation compiles them only if a file brings enough events (ZOD_ONLY_EVENTS).
   */
  prepareValidation?: boolean;
}

export function compilePartner(dir: string, options: CompileOptions = {}): { partner: CompiledPartner | null; config?: PartnerConfig; diagnostics: Diagnostic[] } {
  const loaded = loadPartner(dir);
  const diagnostics = [...loaded.diagnostics];
  const config = loaded.config;
  if (!config) return { partner: null, diagnostics };

  const shared = sharedTables();
  diagnostics.push(...shared.diagnostics);
  const tables = shared.tables.clone();
  diagnostics.push(...loadPartnerTables(tables, join(dir, 'tables')));

  const inbound: InboundRoute[] = [];
  let partnerYaml: YamlSource | undefined; // read again only to place a column check's findings
  for (const [index, entry] of config.inbound.entries()) {
    const file = join(dir, entry.mapping);
    if (notAFile(file) !== null) continue; // reported by loadPartner (PARTNER_MAPPING_MISSING)
    const src = YamlSource.load(file);
    const declared = inboundVersion(src, entry.document, diagnostics);
    const adapter = adapterForDocument(entry.document, declared ?? config.x12?.version);
    const { mapping, diagnostics: d } = compileInbound({
      src, adapter: adapter as SourceAdapter<unknown>, tables,
      canonical: (t) => canonicalTarget(t, 'inbound'), canonicalTypes,
    });
    diagnostics.push(...d);
    const source = (src.value as { source?: unknown } | undefined)?.source;
    if (source !== undefined && source !== entry.document) {
      diagnostics.push(src.diagnostic('MAP_SOURCE_MISMATCH', `mapping source '${String(source)}' differs from the partner's document '${entry.document}'`, ['source']));
    }
    const names = entry.csv?.header;
    if (mapping && Array.isArray(names)) {
      // Column names given in partner.yaml (the files have no header row): a name the mapping reads that
      // is not among them is known now, not file by file.
      const missing = (mapping.columns ?? []).filter((c) => !names.includes(c));
      if (missing.length > 0) partnerYaml ??= YamlSource.load(loaded.file);
      for (const name of missing) {
        const hint = didYouMean(name, names);
        diagnostics.push(partnerYaml!.diagnostic('MAP_CSV_COLUMN_MISSING',
          `${entry.mapping} reads column '${name}', which this csv header does not name; columns: ${names.join(', ')}`,
          ['inbound', index, 'csv', 'header'], { severity: 'warning', suggestion: hint }));
      }
    }
    if (mapping) {
      // The canonical validator of what the mapping makes is compiled now, not halfway through the first file.
      if (options.prepareValidation !== false) prepareFastValidation(mapping.target);
      inbound.push({ document: entry.document, match: entry.match ? globToRegExp(entry.match) : null, mapping, ...(entry.csv && { csv: entry.csv }) });
    }
  }

  const outbound: OutboundRoute[] = [];
  for (const entry of config.outbound) {
    const file = join(dir, entry.mapping);
    if (notAFile(file) !== null) continue; // reported by loadPartner (PARTNER_MAPPING_MISSING)
    const { mapping, diagnostics: d } = compileOutbound({ src: YamlSource.load(file), tables, format: entry.format, command: entry.command, partner: config });
    diagnostics.push(...d);
    if (mapping) outbound.push({ command: entry.command, format: entry.format, mapping });
  }

  // Only when partner.yaml itself is sound: an entry it failed to read would make its mapping look unused.
  if (!diagnostics.some((d) => d.severity === 'error' && basename(d.file) === 'partner.yaml')) {
    diagnostics.push(...unusedMappings(dir, [...config.inbound, ...config.outbound].map((e) => e.mapping)));
    // Likewise a mapping that did not compile may have named a table it never reached.
    if (!hasErrorDiagnostics(diagnostics)) diagnostics.push(...unusedTables(join(dir, 'tables'), tables));
  }
  if (hasErrorDiagnostics(diagnostics)) return { partner: null, config, diagnostics };
  return { partner: { id: config.id, dir, config, tables, inbound, outbound, stamp: partnerStamp(dir, loaded.file, config) }, config, diagnostics };
}

/**
 * The name, size and modification time of each file a partner is compiled from: partner.yaml, the mappings
 * it names and its tables/ folder (the shared tables come with Waybill itself). Two compiles of a folder
 * with equal stamps read the same files (the partners folder's reload check trusts the same facts).
 */
export function partnerStamp(dir: string, partnerFile: string, config: PartnerConfig): string {
  const files = [partnerFile, ...[...config.inbound, ...config.outbound].map((e) => join(dir, e.mapping))];
  const tables = join(dir, 'tables');
  try {
    for (const name of readdirSync(tables).sort()) files.push(join(tables, name));
  } catch {
    // no tables/ folder
  }
  return files.map((f) => {
    const st = statSync(f, { throwIfNoEntry: false });
    return st ? `${f}:${st.size}:${st.mtimeMs}` : `${f}:none`;
  }).join('\n');
}

/**
 * Mapping files in the partner's mappings/ folder that no inbound or outbound entry names: never used, so
 * never compiled either; an analyst who wrote one and linted it would otherwise be told all is well.
 */
function unusedMappings(dir: string, used: string[]): Diagnostic[] {
  const folder = join(dir, 'mappings');
  let names: string[];
  try {
    names = readdirSync(folder).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch {
    return [];
  }
  const named = new Set(used.map((m) => resolve(dir, m)));
  // A reference that names no file (a typo, reported as PARTNER_MAPPING_MISSING) may mean one of these.
  if ([...named].some((f) => notAFile(f) !== null)) return [];
  return names.filter((n) => !named.has(resolve(folder, n))).map((n) => ({
    code: 'PARTNER_MAPPING_UNUSED', severity: 'warning' as const, file: join(folder, n), line: 1, column: 1,
    message: `no inbound or outbound entry of partner.yaml names mappings/${n}, so it is neither used nor checked`,
  }));
}

/**
 * A partner's tables/*.yaml, onto the shared tables. Done here rather than with CodeTables.loadDir, which
 * would throw on a `tables` that is a file, or on a folder or broken link named like a table: those are
 * TABLE_INVALID at their path, and the partner's other tables still load.
 */
/**
 * The partner's table files no mapping names: a misspelt file name (`x12-shipment-statu.yaml`) leaves the
 * mappings on the shared table, and the partner's codes silently unused.
 */
function unusedTables(folder: string, tables: CodeTables): Diagnostic[] {
  let names: string[];
  try {
    names = readdirSync(folder).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch {
    return [];
  }
  const asked = [...tables.asked];
  return names.filter((n) => !tables.asked.has(n.replace(/\.ya?ml$/, ''))).map((n) => {
    const name = n.replace(/\.ya?ml$/, '');
    const hint = didYouMean(name, asked);
    return {
      code: 'TABLE_UNUSED', severity: 'warning' as const, file: join(folder, n), line: 1, column: 1,
      message: `no mapping of this partner names table '${name}', so its codes are never used${hint ? ` (the mappings name '${hint}')` : ''}`,
      ...(hint !== undefined && { suggestion: hint }),
    };
  });
}

function loadPartnerTables(tables: CodeTables, folder: string): Diagnostic[] {
  let names: string[];
  try {
    names = readdirSync(folder).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !lstatSync(folder, { throwIfNoEntry: false })) return []; // no tables of its own
    const why = code === 'ENOTDIR' ? 'is a file, not a folder' : code === 'ENOENT' ? notAFile(folder) : `cannot be read (${code})`;
    return [{ code: 'TABLE_INVALID', severity: 'error', message: `'tables' ${why}; a partner's code tables go in a tables/ folder of *.yaml files`, file: folder, line: 1, column: 1 }];
  }
  const out: Diagnostic[] = [];
  for (const name of names) {
    const file = join(folder, name);
    out.push(...(notAFile(file) === null ? tables.loadFile(file) : YamlSource.load(file, 'TABLE_INVALID').diagnostics));
  }
  return out;
}

/**
 * An inbound X12 mapping's own `version` (the version the partner sends that document in, when it is not
 * partner.yaml's x12.version, which is what we send), checked: an X12 version Waybill has the set's schema
 * for. Undefined when absent or unusable (the problem is in `diagnostics`).
 */
function inboundVersion(src: YamlSource, document: string, diagnostics: Diagnostic[]): string | undefined {
  const raw = src.value;
  if (typeof raw !== 'object' || raw === null || !('version' in raw)) return undefined;
  const declared = (raw as { version?: unknown }).version;
  if (!document.startsWith('x12/')) {
    diagnostics.push(src.diagnostic('MAP_VERSION_INVALID', `'version' applies to X12 mappings only, not to ${document}`, ['version'], { key: true }));
    return undefined;
  }
  const setId = document.slice(4);
  const version = typeof declared === 'string' || typeof declared === 'number' ? resolveSchemaVersion(String(declared)) : null;
  if (!version || !getSchema(setId, version)) {
    const known = supportedSchemas().filter((x) => x.setId === setId).map((x) => x.version);
    diagnostics.push(src.diagnostic('MAP_VERSION_INVALID',
      `version '${String(declared)}' is not an X12 version Waybill has a ${setId} schema for; use ${known.length ? known.map((v) => `"${v}"`).join(' or ') : '(none: this set has no schema)'}`,
      ['version'], { suggestion: known.length ? didYouMean(String(declared), known) : undefined }));
    return undefined;
  }
  return version;
}

/** Where partner.yaml gives each ISA sender id a partner sends from: its `x12.isa`, then its aliases. */
function isaClaims(config: PartnerConfig): { key: string; path: YamlPath }[] {
  if (!config.x12) return [];
  return [config.x12.isa, ...config.x12.aliases].map((isa, i) => ({
    key: `${isa.qualifier}/${isa.id}`,
    path: i === 0 ? ['x12', 'isa', 'id'] : ['x12', 'aliases', i - 1, 'id'],
  }));
}

interface IsaClaimant {
  id: string;
  /** The partner folder, when known: where the diagnostic goes. */
  dir?: string;
  path: YamlPath;
}

/**
 * Which partners claim which ISA sender ids. An id two partners claim tells neither apart, so it is
 * ambiguous (identifyX12 refuses it) and each claimant's partner.yaml gets a PARTNER_DUPLICATE_ISA at
 * that id, naming the other: whichever folder an analyst lints, the clash shows.
 */
class IsaClaims {
  private readonly first = new Map<string, IsaClaimant>();
  private readonly rivals = new Map<string, string[]>();

  claim(id: string, dir: string | undefined, config: PartnerConfig, diagnostics: Diagnostic[]): void {
    for (const { key, path } of isaClaims(config)) {
      const first = this.first.get(key);
      if (!first) {
        this.first.set(key, { id, dir, path });
        continue;
      }
      // The same partner again (its previous version kept by a reload, a copy under test): no clash.
      const ids = this.rivals.get(key) ?? [first.id];
      if (ids.includes(id)) continue;
      this.rivals.set(key, [...ids, id]);
      const mine = duplicateIsa({ id, dir, path }, key, first.id);
      const theirs = duplicateIsa(first, key, id);
      if (mine) diagnostics.push(mine);
      if (theirs) diagnostics.push(theirs);
    }
  }

  /** Every partner claiming `key`, when more than one does. */
  ambiguous(key: string): string[] | undefined {
    return this.rivals.get(key);
  }
}

/** PARTNER_DUPLICATE_ISA at the claimant's ISA id in its partner.yaml (read again: clashes are rare). */
function duplicateIsa(c: IsaClaimant, key: string, other: string): Diagnostic | null {
  if (!c.dir) return null;
  const src = YamlSource.load(join(c.dir, 'partner.yaml'));
  return src.diagnostic('PARTNER_DUPLICATE_ISA',
    `ISA id ${key} of partner '${c.id}' is also claimed by partner '${other}': interchanges from it are refused, as neither partner can be told from the other, until only one partner.yaml has it`,
    c.path);
}

/**
 * PARTNER_DUPLICATE_ISA for the partner folders being linted, against each other and every partner under
 * `root`: lint compiles folder by folder, so a clash with a partner it was not asked about would go
 * unseen. A linted folder with the id of a partner under `root` stands for it (a copy being edited), as
 * in `waybill test`. Only the linted folders' own partner.yaml files get diagnostics.
 */
export function duplicateIsaDiagnostics(folders: readonly { dir: string; config?: PartnerConfig }[], root: string): Diagnostic[] {
  const served = (dir: string) => !basename(dir).startsWith('_'); // templates are never matched
  const linted = folders.filter((f) => served(f.dir) && f.config).map((f) => ({ dir: resolve(f.dir), config: f.config! }));
  const ids = new Set(linted.map((f) => f.config.id));
  const dirs = new Set(linted.map((f) => f.dir));
  const others = partnerDirs(root).map((d) => resolve(d)).filter((d) => served(d) && !dirs.has(d))
    .flatMap((dir) => {
      const config = loadPartner(dir).config;
      return config && !ids.has(config.id) ? [{ dir, config }] : [];
    });
  const claims = new IsaClaims();
  const all: Diagnostic[] = [];
  for (const p of [...linted, ...others]) claims.claim(p.config.id, p.dir, p.config, all);
  const files = new Set(linted.map((f) => join(f.dir, 'partner.yaml')));
  return all.filter((d) => files.has(d.file));
}

export class PartnerRegistry {
  private readonly partners = new Map<string, CompiledPartner>();
  /** "qualifier/id" of every ISA sender we know -> partner id. */
  private readonly byIsa = new Map<string, string>();
  /** The same for partners whose folder has errors: their interchanges are not a stranger's. */
  private readonly brokenByIsa = new Map<string, string>();
  /** Every claim, working or broken partner: an id two partners claim identifies neither. */
  private readonly claims = new IsaClaims();

  static load(root: string, options: CompileOptions = {}): { registry: PartnerRegistry; diagnostics: Diagnostic[] } {
    const registry = new PartnerRegistry();
    const diagnostics: Diagnostic[] = [];
    for (const dir of partnerDirs(root)) {
      const { partner, config, diagnostics: d } = compilePartner(dir, options);
      diagnostics.push(...d);
      if (basename(dir).startsWith('_')) continue;
      if (partner) registry.add(partner, diagnostics);
      else if (config) registry.addBroken(config, diagnostics, dir);
      else registry.addUnreadable(dir);
    }
    return { registry, diagnostics };
  }

  /** Partner folders whose partner.yaml could not be read at all (no file, bad YAML): their ISA ids are unknown. */
  private readonly unreadable: string[] = [];
  /** Folders of partners whose partner.yaml was read but whose files do not compile (addBroken). */
  private readonly broken = new Set<string>();

  /**
   * Why no partner answers to the folder or account name `id`, in words for the analyst: a partner folder
   * there with configuration errors (run waybill lint on it, then send the file again), or no such partner
   * folder at all (with the closest served one). A CSV or XML file that came through that partner's own
   * folder was told to be "sent again through it", which does nothing while its folder does not compile.
   */
  whyNotServed(id: string): string {
    if (this.broken.has(id) || this.unreadable.includes(id)) {
      return `partner folder '${id}' has configuration errors and has no working version loaded (logged as 'partner configuration error'; run waybill lint on it); once it compiles, send the file again: it is translated then`;
    }
    const ids = [...this.partners.keys()];
    const hint = didYouMean(id, ids);
    return `there is no partner '${id}' (its folder was removed or renamed, or the name is misspelt${hint ? `; did you mean '${hint}'?` : ''}); send the file again through a configured partner's folder or account: ${ids.length ? ids.map((i) => `'${i}'`).join(', ') : 'none configured'}`;
  }

  /**
   * Remembers a partner folder whose partner.yaml could not be read (see identifyX12): an interchange
   * from no known sender may be that partner's, and an analyst who just broke its partner.yaml was told
   * "configured: none".
   */
  addUnreadable(dir: string): void {
    this.unreadable.push(basename(dir));
  }

  /**
   * Remembers the ISA ids of a partner that failed to compile (see identifyX12). With its folder, a clash
   * of its ids with another partner's is reported into `diagnostics`.
   */
  addBroken(config: PartnerConfig, diagnostics: Diagnostic[] = [], dir?: string): void {
    this.broken.add(dir ? basename(dir) : config.id);
    this.claims.claim(config.id, dir, config, diagnostics);
    for (const { key } of isaClaims(config)) this.brokenByIsa.set(key, config.id);
  }

  /** Adds a compiled partner; an ISA id another partner claims too is reported into `diagnostics`. */
  add(p: CompiledPartner, diagnostics: Diagnostic[] = []): void {
    this.partners.set(p.id, p);
    this.claims.claim(p.id, p.dir, p.config, diagnostics);
    for (const { key } of isaClaims(p.config)) this.byIsa.set(key, p.id);
  }

  get(id: string): CompiledPartner | undefined {
    return this.partners.get(id);
  }

  list(): CompiledPartner[] {
    return [...this.partners.values()];
  }

  /**
   * The id of the partner an ISA sender qualifier/id belongs to, with no GS check and no message: undefined
   * when none, or when two partners claim it. For interchanges the ledger recorded without their partner.
   */
  partnerIdForSender(qualifier: string, id: string): string | undefined {
    const key = `${qualifier}/${id}`;
    return this.claims.ambiguous(key) ? undefined : this.byIsa.get(key);
  }

  /**
   * The partner who sent an interchange, by ISA05/06, and GS02 when the group header is given and the
   * partner declares a GS id. When none fits, the message names the ids seen, the closest configured
   * partner and every configured one, or says that the sender's partner has configuration errors.
   */
  identifyX12(isa: InterchangeHeader, gs?: GroupHeader | null): { partner: CompiledPartner } | { code: 'PARTNER_UNKNOWN_SENDER'; message: string } {
    const key = `${isa.senderQualifier}/${isa.senderId}`;
    const gsSeen = gs ? gs.senderId.trim() : undefined;
    // Not a guess between partners: their events would carry the wrong partner, their acks go to the wrong one.
    const rivals = this.claims.ambiguous(key);
    if (rivals) {
      return { code: 'PARTNER_UNKNOWN_SENDER', message: `ISA ${key} is claimed by partners ${rivals.map((r) => `'${r}'`).join(' and ')} (PARTNER_DUPLICATE_ISA): the interchange is not given to either; keep the id in one partner.yaml only (run waybill lint)` };
    }
    const id = this.byIsa.get(key);
    const partner = id ? this.partners.get(id) : undefined;
    if (partner) {
      const gsId = partner.config.x12?.gs;
      if (gsSeen === undefined || !gsId || gsSeen === gsId) return { partner };
      return { code: 'PARTNER_UNKNOWN_SENDER', message: `interchange from ISA ${key} is partner '${partner.id}', but its group's GS02 '${gsSeen}' is not that partner's GS id '${gsId}'` };
    }
    const seen = `ISA ${key}${gsSeen === undefined ? '' : ` (GS02 '${gsSeen}')`}`;
    const broken = this.brokenByIsa.get(key);
    if (broken) {
      return { code: 'PARTNER_UNKNOWN_SENDER', message: `${seen} is partner '${broken}', which has configuration errors (run waybill lint)` };
    }
    const named = (k: string) => `'${this.byIsa.get(k)}' (ISA ${k})`;
    const known = [...this.byIsa.keys()];
    // The closest by the whole "qualifier/id", else by the id alone (a right id under another qualifier).
    const close = didYouMean(key, known) ?? known.find((k) => k.split('/')[1] === didYouMean(isa.senderId, known.map((q) => q.split('/')[1])));
    const list = known.length === 0 ? 'none' : known.length <= 12 ? known.map(named).join(', ') : `${known.slice(0, 12).map(named).join(', ')} and ${known.length - 12} more`;
    const unread = this.unreadable.length === 0 ? ''
      : `; not read: the partner.yaml of ${this.unreadable.map((u) => `'${u}'`).join(', ')}, which has errors, so its ISA ids are unknown (run waybill lint)`;
    return {
      code: 'PARTNER_UNKNOWN_SENDER',
      message: `no partner sends as ${seen}${close ? `; closest: ${named(close)}` : ''}; configured: ${list}${unread}`,
    };
  }
}

export { resolveSchemaVersion, getSchema, schemaView, X12Adapter };
