// Translation: an inbound file -> canonical events, one unit at a time (an X12 transaction set, a CSV
// record, an XML document). A unit that fails (invalid X12, a mapping failure, an event the canonical
// schema refuses) yields its errors and no events; its siblings go on.

import { didYouMean } from './diagnostics.js';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { TextDecoder } from 'node:util';
import { WaybillError } from '../errors/catalogue.js';
import { eventIdFromSource, schemaKeyOrder, validateCanonical, type TypeKey } from '../canonical/index.js';
import { readCsv, type CsvReadOptions } from '../translators/csv/reader.js';
import { bomlessUtf16Xml, parseXml, readXmlFile } from '../translators/xml/reader.js';
import type { InterchangeHeader, TransactionSet, X12Event, X12Issue } from '../translators/x12/model.js';
import { readX12Batches, utf16Form, type X12Source } from '../translators/x12/reader.js';
import { fixedWidthIsaAt } from '../translators/x12/tokenizer.js';
import { validateTransaction, type TransactionValidation } from '../translators/x12/validate-transaction.js';
import { isFunctionalAckSet, translateFunctionalAck, translateTa1 } from './functional-ack.js';
import type { CompiledInbound } from './inbound.js';
import type { CompiledPartner, InboundRoute, PartnerRegistry } from './registry.js';
import { MappingFailure, type EvalEnv, type SourceLoc, type Value } from './spec.js';

export interface TranslationError {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  line: number;
  column: number;
  offset?: number;
  /** The mapping line responsible, for mapping failures. */
  mapping?: { file: string; line: number; column: number };
}

export type CanonicalEvent = Record<string, unknown> & { id: string; type: string };

export interface TranslatedUnit {
  format: 'x12' | 'csv' | 'xml';
  partner?: string;
  /** Human label: "214 0001 (interchange 000000001, group 1)", "record 3", "document". */
  label: string;
  line: number;
  /**
   * translated: events produced (maybe none, when the mapping filtered everything out);
   * rejected: the source data is invalid (it will be rejected in the 997); failed: the mapping failed;
   * unmapped: no mapping for this document; unidentified: no partner could be determined.
   */
  status: 'translated' | 'rejected' | 'failed' | 'unmapped' | 'unidentified';
  events: CanonicalEvent[];
  errors: TranslationError[];
  /** X12 only: which transaction this was. */
  x12?: { interchange: string; group: string; setId: string; control: string };
  /** Only under TranslateOptions.share: the unit's position among all the file's units (0-based). */
  ordinal?: number;
}

export interface TranslationShare {
  index: number;
  of: number;
  blockBytes: number;
}

export interface TranslateOptions {
  /** Force the partner instead of identifying it from the file. */
  partner?: string;
  fileId: string;
  fileName?: string;
  receivedAt: string;
  /**
   * X12: the extra event-id part of an interchange that reuses the control numbers of an earlier
   * interchange of the same partner (eventIdFromSource). Set per interchange by the gateway, which knows
   * what came before; unset, events get the ids of the frozen recipe.
   */
  interchangeReuse?: string;
  /**
   * Translate only one worker's part of the file (translateX12InWorkers). The file is cut into blocks of
   * `blockBytes` bytes dealt round-robin to `of` workers; a unit (a transaction set, a TA1, a finding
   * outside any interchange) belongs to the block its first byte lies in. The transaction sets of other
   * blocks are skimmed (TokenizerOptions.skimSetAt), not read into elements. Units yielded carry their
   * `ordinal` in the whole file, so the parts merge back into file order.
   */
  share?: TranslationShare;
}

function fromIssue(i: X12Issue): TranslationError {
  return { code: i.code, severity: i.severity, message: i.message, line: i.loc.line, column: i.loc.column, offset: i.loc.offset };
}

function fromFailure(f: MappingFailure, fallbackLine: number): TranslationError {
  return {
    code: f.code, severity: 'error', message: f.message,
    line: f.source?.line ?? fallbackLine, column: f.source?.column ?? 1, offset: f.source?.offset,
    ...(f.mapping && { mapping: f.mapping }),
  };
}

/** What the gateway sets on every event; the mapping gives the rest (the body). */
interface EventEnvelope {
  id: string;
  partner: string;
  receivedAt: string;
  source: Record<string, unknown>;
}

/** An event's top-level value for `key`: the gateway's envelope first, then the mapping's body. */
function topLevelValue(key: string, type: string, body: Record<string, Value>, envelope: EventEnvelope): unknown {
  switch (key) {
    case 'kind': return 'event';
    case 'type': return type;
    case 'id': return envelope.id;
    case 'partner': return envelope.partner;
    case 'receivedAt': return envelope.receivedAt;
    case 'source': return envelope.source;
    case 'references': return body.references ?? {};
    default: return body[key];
  }
}

type CandidateBuilder = (type: string, body: Record<string, Value>, envelope: EventEnvelope) => Record<string, unknown>;

/** The expression topLevelValue stands for, per key, in the generated builders. */
function topLevelExpression(key: string): string {
  switch (key) {
    case 'kind': return "'event'";
    case 'type': return 'type';
    case 'id': case 'partner': case 'receivedAt': case 'source': return `envelope.${key}`;
    case 'references': return 'body.references ?? {}';
    default: return `body[${JSON.stringify(key)}]`;
  }
}

const candidateBuilders = new Map<readonly string[], CandidateBuilder>();

/**
 * The function that assembles an event with keys in `order`: topLevelValue for each key, unrolled, with a
 * store of its own per key. Generated for the same reason as the mappings' plan builders (spec.ts
 * planBuilder): one computed store for every key of every event was V8's slowest kind of store. The
 * keys come from the canonical schema, and appear only as JSON string literals.
 */
function candidateBuilder(order: readonly string[]): CandidateBuilder {
  let build = candidateBuilders.get(order);
  if (!build) {
    const lines = ['const c = {};', 'let v;'];
    for (const key of order) lines.push(`v = ${topLevelExpression(key)};`, `if (v !== undefined) c[${JSON.stringify(key)}] = v;`);
    lines.push('return c;');
    build = new Function('type', 'body', 'envelope', `'use strict';\n${lines.join('\n')}`) as CandidateBuilder;
    candidateBuilders.set(order, build);
  }
  return build;
}

/**
 * Adds the envelope the gateway owns and validates the whole event; throws MappingFailure when invalid.
 * The event lists its keys in the schema's order (the body already is: see orderPlan), as zod's own
 * output would, so the fast validation path and zod give the same JSON.
 */
function finishEvent(
  type: string, body: Record<string, Value>, envelope: EventEnvelope, mapping: CompiledInbound<unknown>,
  ctx: unknown, index: number, env: EvalEnv,
): CanonicalEvent {
  const order = schemaKeyOrder(type as TypeKey, (key) => topLevelValue(key, type, body, envelope));
  const candidate = order ? candidateBuilder(order)(type, body, envelope) : { kind: 'event', ...envelope, type, references: {}, ...body };
  const parsed = validateCanonical(type as TypeKey, candidate);
  if (!parsed.ok) {
    const problems = parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new MappingFailure('MAP_CANONICAL_INVALID', `the event does not satisfy ${type}: ${problems}`, invalidFieldSource(parsed.issues, mapping, ctx, index, env),
      { file: mapping.file, ...invalidFieldPosition(parsed.issues, mapping) });
  }
  return parsed.value as unknown as CanonicalEvent;
}

/**
 * Where in the source the first refused field's value is (the segment, record or element), when the
 * mapping can say: `ctx` is what the mapping ran on, `index` the event's place among the events it made.
 */
function invalidFieldSource(issues: readonly { path: string }[], mapping: CompiledInbound<unknown>, ctx: unknown, index: number, env: EvalEnv): SourceLoc | undefined {
  for (const issue of issues) {
    const at = mapping.fieldSource(issuePath(issue.path), ctx, index, env);
    if (at) return at;
  }
  return undefined;
}

/**
 * The mapping line of the first refused field a mapping field gives (CompiledInbound.fieldPosition), else
 * the top of the mapping (an envelope field, or a rule no field of the mapping answers for). Only for an
 * invalid event: valid ones never come here.
 */
function invalidFieldPosition(issues: readonly { path: string }[], mapping: CompiledInbound<unknown>): { line: number; column: number } {
  for (const issue of issues) {
    const at = mapping.fieldPosition(issuePath(issue.path));
    if (at) return at;
  }
  return { line: 1, column: 1 };
}

/** A canonical issue's path (`parties[0].role`, `a["odd key"]`, `(root)`: canonical/parse.ts formatPath) as keys and indexes. */
function issuePath(path: string): (string | number)[] {
  if (path === '(root)') return [];
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/g)) {
    out.push(m[1] !== undefined ? Number(m[1]) : m[2] !== undefined ? (JSON.parse(m[2]) as string) : m[3]);
  }
  return out;
}

/** Content hash of a file: the file id the ledger will use. */
export async function fileIdOf(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return `sha256-${h.digest('hex')}`;
}

/** Translates an X12 file one unit at a time (see translateX12Batches, which this wraps). */
export async function* translateX12(source: X12Source, registry: PartnerRegistry, opts: TranslateOptions): AsyncGenerator<TranslatedUnit> {
  for await (const units of translateX12Batches(source, registry, opts)) yield* units;
}

/**
 * Translates an X12 file, yielding the units of each chunk read as one array, in file order: one await
 * per chunk rather than one per unit. Each await of an async generator costs a promise and a trip through
 * the microtask queue; per unit that came to 20-70 ms for 100,000 transactions. Hot consumers (the CLI,
 * the translation workers, the benchmark) take the batches; translateX12 hands out the same units one by
 * one.
 */
export async function* translateX12Batches(source: X12Source, registry: PartnerRegistry, opts: TranslateOptions): AsyncGenerator<TranslatedUnit[]> {
  const forced = opts.partner ? registry.get(opts.partner) : undefined;
  if (opts.partner && !forced) throw new Error(`unknown partner '${opts.partner}'`);
  // Who sent the interchange (by its ISA), and who sent the current group (by its GS02 too: a partner
  // that declares a GS id must use it). Transactions take the group's.
  let interchangePartner: CompiledPartner | undefined;
  let interchangeError: TranslationError | undefined;
  let interchangeHeader: InterchangeHeader | undefined;
  let partner: CompiledPartner | undefined;
  let identifyError: TranslationError | undefined;
  // headerRejection of the current interchange, and of the current group (or its interchange's).
  let interchangeRejection: TranslationError | undefined;
  let rejection: TranslationError | undefined;
  // With a partner forced on an interchange whose ISA sender is not that partner's: a warning on each of
  // its units, so the output does not quietly contradict the file (`waybill translate --partner` on a file
  // holding another carrier's interchange).
  let forcedOnOther: TranslationError | undefined;
  let ta1Index = 0; // position of a TA1 among the TA1s of its interchange (part of its event id)
  let ordinal = -1; // units so far (TA1s, findings and transactions), in file order
  const share = opts.share;
  const mine = share ? (offset: number) => Math.floor(offset / share.blockBytes) % share.of === share.index : null;
  const numbered = (u: TranslatedUnit): TranslatedUnit => {
    u.ordinal = ordinal;
    return u;
  };

  for await (const batch of readX12Batches(source, mine ? { skimSetAt: (offset) => !mine(offset) } : {})) {
    const units: TranslatedUnit[] = [];
    for (let e = 0; e < batch.length; e++) {
      const ev = batch[e];
      if (ev.type === 'interchange-start') {
        partner = forced;
        identifyError = undefined;
        rejection = interchangeRejection = headerRejection(ev);
        ta1Index = 0;
        interchangeHeader = ev.header;
        forcedOnOther = undefined;
        if (!forced) {
          const who = registry.identifyX12(ev.header);
          if ('partner' in who) partner = who.partner;
          else identifyError = { code: who.code, severity: 'error', message: who.message, line: ev.header.isa.loc.line, column: ev.header.isa.loc.column };
        } else {
          const who = registry.identifyX12(ev.header);
          if (!('partner' in who) || who.partner.id !== forced.id) {
            const sender = `${ev.header.senderQualifier}/${ev.header.senderId}`;
            const is = 'partner' in who ? `partner '${who.partner.id}'` : 'no partner';
            forcedOnOther = { code: 'PARTNER_FORCED', severity: 'warning', line: ev.header.isa.loc.line, column: ev.header.isa.loc.column,
              message: `the ISA sender ${sender} is ${is}; translated as '${forced.id}' because that partner was named` };
          }
        }
        interchangePartner = partner;
        interchangeError = identifyError;
      } else if (ev.type === 'group-start') {
        partner = interchangePartner;
        identifyError = interchangeError;
        rejection = interchangeRejection ?? headerRejection(ev);
        if (!forced && interchangePartner && interchangeHeader) {
          const who = registry.identifyX12(interchangeHeader, ev.header);
          if (!('partner' in who)) {
            partner = undefined;
            identifyError = { code: who.code, severity: 'error', message: who.message, line: ev.header.gs.loc.line, column: ev.header.gs.loc.column };
          }
        }
      } else if (ev.type === 'group-end') {
        partner = interchangePartner;
        identifyError = interchangeError;
        rejection = interchangeRejection;
      }
      // The envelope's own findings (ISA, GS, GE, IEA: counts, control numbers, field formats) are a unit
      // of their own, so that they are reported (the 997/TA1 carries them too) rather than lost.
      if (ev.type === 'interchange-start' || ev.type === 'group-start' || ev.type === 'group-end' || ev.type === 'interchange-end') {
        if (ev.issues.length === 0) continue;
        ordinal++;
        if (!mine || mine(ev.issues[0].loc.offset)) {
          const u = envelopeUnit(ev, interchangeHeader, partner ?? interchangePartner);
          units.push(mine ? numbered(u) : u);
        }
        continue;
      }
      // Built-in (functional-ack.ts): an inbound TA1 is a unit of its own, one functional.ack@1 event, never mapped.
      if (ev.type === 'ta1') {
        const index = ta1Index++;
        ordinal++;
        if (!mine) units.push(translateTa1(ev.segment, ev.interchange, partner, identifyError, opts, index));
        else if (mine(ev.segment.loc.offset)) units.push(numbered(translateTa1(ev.segment, ev.interchange, partner, identifyError, opts, index)));
        continue;
      }
      // Data outside any interchange (garbage, no ISA, an empty file): a unit of its own, as CSV's file-level
      // findings are, so that a file of nothing readable is reported rather than translated to nothing.
      if (ev.type === 'issue') {
        ordinal++;
        if (!mine) units.push(fileIssueUnit(ev.issue));
        else if (mine(ev.issue.loc.offset)) units.push(numbered(fileIssueUnit(ev.issue)));
        continue;
      }
      if (ev.type !== 'transaction') continue;
      ordinal++;
      if (mine && !mine(ev.transaction.segments[0].loc.offset)) continue;
      const u = rejection && partner ? rejectedWithEnvelope(ev.transaction, partner, rejection, opts) : translateTransaction(ev.transaction, partner, identifyError, opts);
      if (forcedOnOther) u.errors.push(forcedOnOther);
      units.push(mine ? numbered(u) : u);
    }
    if (units.length > 0) yield units;
  }
}

/**
 * What rejects every transaction set of an interchange or group before one is read: an error in its
 * ISA header (an ISA13 that is no number, ...: the TA1 rejects the interchange) or its GS header (GS06
 * missing, a duplicate GS06, ...: the 997/999 rejects the group, AK9 R with none accepted). Their sets
 * are not translated either: events published from what the acknowledgment rejected would be sent
 * again when the partner resends it, under new control numbers. Undefined for a clean header (warnings
 * included). Findings only a trailer reveals (IEA/GE counts) cannot withhold what was already
 * translated while the file streamed; the README says so.
 */
export function headerRejection(ev: Extract<X12Event, { type: 'interchange-start' | 'group-start' }>): TranslationError | undefined {
  const first = ev.issues.find((i) => i.severity === 'error');
  if (!first) return undefined;
  const isa = ev.type === 'interchange-start';
  const at = isa ? ev.header.isa.loc : ev.header.gs.loc;
  return {
    code: isa ? 'X12_INTERCHANGE_REJECTED' : 'X12_GROUP_REJECTED', severity: 'error', line: at.line, column: at.column,
    message: `rejected with its ${isa ? 'interchange' : 'functional group'}: the ${isa ? 'ISA' : 'GS'} header at line ${at.line} has errors (${first.code}: ${first.message})`,
  };
}

/** A transaction set of an interchange or group rejected at its header (headerRejection): not translated; its own findings stay. */
export function rejectedWithEnvelope(
  tx: TransactionSet, partner: CompiledPartner | undefined, rejection: TranslationError, opts: TranslateOptions, validation?: TransactionValidation,
): TranslatedUnit {
  const u = translateTransaction(tx, undefined, undefined, opts, validation);
  u.partner = partner?.id;
  u.status = 'rejected';
  u.errors.push(rejection);
  return u;
}

/** The unit of an interchange's or group's envelope findings (see translateX12Batches; the pipeline records them too). */
export function envelopeUnit(
  ev: Extract<X12Event, { type: 'interchange-start' | 'group-start' | 'group-end' | 'interchange-end' }>,
  interchange: InterchangeHeader | undefined, partner: CompiledPartner | undefined,
): TranslatedUnit {
  const ic = interchange?.control.trim() || '?';
  const isGroup = ev.type === 'group-start' || ev.type === 'group-end';
  const label = isGroup ? `group ${ev.header.control.trim() || '?'} (interchange ${ic})` : `interchange ${ic}`;
  const segment = ev.type === 'interchange-start' ? ev.header.isa : ev.type === 'group-start' ? ev.header.gs : ev.trailer;
  const errors = ev.issues.map(fromIssue);
  return {
    format: 'x12', partner: partner?.id, label, line: segment?.loc.line ?? errors[0].line,
    status: errors.some((e) => e.severity === 'error') ? 'rejected' : 'translated', events: [], errors,
  };
}

/** The unit of a finding outside any interchange (garbage, no ISA, an empty file), labelled 'file'. */
export function fileIssueUnit(i: X12Issue): TranslatedUnit {
  return {
    format: 'x12', label: 'file', line: i.loc.line, status: i.severity === 'error' ? 'rejected' : 'translated', events: [], errors: [fromIssue(i)],
  };
}

/** The partner's inbound route for an X12 set, looked up once per partner and set id. */
const x12Routes = new WeakMap<CompiledPartner, Map<string, InboundRoute | undefined>>();

function x12Route(partner: CompiledPartner, setId: string): InboundRoute | undefined {
  let bySet = x12Routes.get(partner);
  if (!bySet) {
    bySet = new Map();
    x12Routes.set(partner, bySet);
  }
  if (!bySet.has(setId)) bySet.set(setId, partner.inbound.find((r) => r.document === `x12/${setId}`));
  return bySet.get(setId);
}

/**
 * Translates one transaction set. `validation` may be passed in when the caller already validated the
 * transaction (the pipeline validates once for both the events and the 997).
 */
export function translateTransaction(
  tx: TransactionSet, partner: CompiledPartner | undefined, identifyError: TranslationError | undefined, opts: TranslateOptions,
  validation: TransactionValidation = validateTransaction(tx, { tree: true }),
): TranslatedUnit {
  const st = tx.segments[0];
  const interchange = tx.interchange?.control.trim() ?? '';
  const group = tx.group?.control.trim() ?? '';
  const unit: TranslatedUnit = {
    format: 'x12', partner: partner?.id,
    label: `${tx.setId} ${tx.control} (interchange ${interchange || '?'}, group ${group || '?'})`,
    line: st?.loc.line ?? 1, status: 'translated', events: [], errors: [],
    x12: { interchange, group, setId: tx.setId, control: tx.control },
  };
  let rejected = !tx.interchange || !tx.group;
  const issues = validation.issues.length === 0 ? tx.issues : tx.issues.length === 0 ? validation.issues : [...tx.issues, ...validation.issues];
  for (let k = 0; k < issues.length; k++) {
    const i = issues[k];
    unit.errors.push(fromIssue(i));
    if (i.severity === 'error') rejected = true;
  }
  if (rejected) {
    unit.status = 'rejected';
    return unit;
  }
  if (!partner) {
    unit.status = 'unidentified';
    if (identifyError) unit.errors.push(identifyError);
    return unit;
  }
  const route = x12Route(partner, tx.setId);
  // Built-in (functional-ack.ts): a 997/999 becomes one functional.ack@1 event without a partner mapping,
  // unless the partner routes x12/997 or x12/999 to a mapping of its own.
  if (!route && isFunctionalAckSet(tx.setId)) return translateFunctionalAck(tx, partner, unit, opts);
  if (!route) {
    unit.status = 'unmapped';
    unit.errors.push({ code: 'MAP_NO_MAPPING', severity: 'error', message: `partner '${partner.id}' has no inbound mapping for x12/${tx.setId}`, line: unit.line, column: 1 });
    return unit;
  }
  if (!validation.schemaChecked) {
    // Without a schema the segments are not placed in loops, so a mapping's loop paths (LX/AT7) find
    // nothing: the unit would be "translated" into no events, its data silently gone.
    unit.status = 'failed';
    unit.errors.push({ code: 'MAP_VERSION_UNSUPPORTED', severity: 'error', line: unit.line, column: 1,
      message: `x12/${tx.setId} of version '${tx.group?.version ?? ''}' (GS08) has no schema, so its loops cannot be read; Waybill reads 004010, 0040x0 (as 004030) and 0050x0 (as 005010)` });
    return unit;
  }
  try {
    const root = validation.tree ?? validateTransaction(tx, { tree: true }).tree!;
    const ctx = { node: root, delimiters: tx.interchange!.delimiters };
    const env = { timezone: partner.config.timezone };
    const bodies = route.mapping.run(ctx, env);
    const version = tx.group!.version;
    const events = new Array<CanonicalEvent>(bodies.length);
    for (let index = 0; index < bodies.length; index++) {
      // Two literals rather than a spread of the optional fileName: one object, built in the key order
      // the event keeps (the fast validation path does not reorder).
      const sourceRef = opts.fileName
        ? {
          format: 'x12' as const, fileId: opts.fileId, fileName: opts.fileName, index, interchangeControlNumber: interchange,
          groupControlNumber: group, transactionControlNumber: tx.control, transactionSetId: tx.setId, version, line: unit.line,
        }
        : {
          format: 'x12' as const, fileId: opts.fileId, index, interchangeControlNumber: interchange,
          groupControlNumber: group, transactionControlNumber: tx.control, transactionSetId: tx.setId, version, line: unit.line,
        };
      const envelope = {
        id: eventIdFromSource(partner.id, sourceRef, opts.interchangeReuse), partner: partner.id, receivedAt: opts.receivedAt, source: sourceRef,
      };
      events[index] = finishEvent(route.mapping.target, bodies[index], envelope, route.mapping, ctx, index, env);
    }
    unit.events = events;
  } catch (err) {
    if (!(err instanceof MappingFailure)) throw err;
    unit.status = 'failed';
    unit.events = [];
    unit.errors.push(fromFailure(err, unit.line));
  }
  return unit;
}

/**
 * The delimiter a header of one column seems to be written with, when it is not the one configured: a
 * European spreadsheet exports ';', others '|' or a tab. Undefined when the header has several columns.
 */
function otherDelimiter(names: string[], configured: string): string | undefined {
  if (names.length !== 1) return undefined;
  return [';', '\t', '|', ','].find((d) => d !== configured && names[0].includes(d));
}

/**
 * The partner's route for a CSV or XML file of this name: the first entry of the format whose `match`
 * takes the name (or that has none). One rule for translateCsv/translateXml and for the gateway, which
 * fails a file no route takes (process-file.ts) so that it can be sent again the right way.
 */
export function fileRoute(partner: CompiledPartner, format: 'csv' | 'xml', name: string): InboundRoute | undefined {
  return partner.inbound.find((r) => r.document === format && (!r.match || r.match.test(name)));
}

/**
 * Why no mapping reads a CSV or XML file, in terms an analyst can act on: the partner maps the format but
 * under other file names, or not at all (then what it does map, and why the file was taken for CSV: a
 * file with neither an ISA nor '<' at its start is read as CSV, which is often the real surprise).
 */
export function noMappingMessage(partner: CompiledPartner, format: 'csv' | 'xml', name: string): string {
  const label = format.toUpperCase();
  const base = `partner '${partner.id}' has no ${label} mapping for '${name}'`;
  if (partner.inbound.some((r) => r.document === format)) return `${base}: the file name matches none of its ${label} routes' patterns (partner.yaml inbound)`;
  const maps = [...new Set(partner.inbound.map((r) => r.document))];
  const why = format === 'csv' ? ' (a file that starts with neither an X12 ISA header nor \'<\' is read as CSV)' : '';
  return `${base}${why}: it maps ${maps.length ? maps.join(', ') : 'nothing inbound'}`;
}

/**
 * Translates a CSV file, one unit per record. The file is read with the options of the partner's route
 * that matches its name (partner.yaml `csv:`: delimiter, header, quote, encoding, ...); `opts.csv`, when
 * given, overrides them key by key.
 */
export async function* translateCsv(
  source: string | Buffer, partner: CompiledPartner, opts: TranslateOptions & { csv?: CsvReadOptions },
): AsyncGenerator<TranslatedUnit> {
  const name = opts.fileName ?? (typeof source === 'string' ? basename(source) : 'input.csv');
  const route = fileRoute(partner, 'csv', name);
  if (!route) {
    yield { format: 'csv', partner: partner.id, label: name, line: 1, status: 'unmapped', events: [],
      errors: [{ code: 'MAP_NO_MAPPING', severity: 'error', message: noMappingMessage(partner, 'csv', name), line: 1, column: 1 }] };
    return;
  }
  // Keys the caller leaves undefined keep the route's value.
  const csv = opts.csv ? { ...route.csv, ...Object.fromEntries(Object.entries(opts.csv).filter(([, v]) => v !== undefined)) } : route.csv;
  for await (const item of readCsv(source, csv)) {
    if (item.kind === 'header') {
      const missing = missingColumns(route.mapping.columns ?? [], item.names);
      if (missing.length > 0) {
        const other = otherDelimiter(item.names, csv?.delimiter ?? ',');
        const why = other ? `; the header is one column holding ${JSON.stringify(other)}: is the file ${JSON.stringify(other)}-delimited? (partner.yaml csv: delimiter)` : '';
        yield { format: 'csv', partner: partner.id, label: 'header', line: item.line, status: 'translated', events: [], errors: missing.map((m, k) => ({
          code: 'MAP_CSV_COLUMN_MISSING', severity: 'warning' as const, line: item.line, column: 1,
          // The delimiter hint once, on the first: it is the one cause of every warning of the list.
          message: `the mapping reads column '${m.name}', which this file's header does not have${m.hint ? ` (did you mean '${m.hint}'?)` : ''}; columns: ${item.names.join(', ')}${k === 0 ? why : ''}`,
        })) };
      }
      continue;
    }
    if (item.kind === 'issue') {
      yield { format: 'csv', partner: partner.id, label: item.index ? `record ${item.index}` : 'file', line: item.line, status: 'rejected', events: [],
        errors: [{ code: item.code, severity: item.severity, message: item.message, line: item.line, column: item.column }] };
      continue;
    }
    const unit: TranslatedUnit = { format: 'csv', partner: partner.id, label: `record ${item.index}`, line: item.line, status: 'translated', events: [], errors: [] };
    mapInto(unit, route, partner, { record: item }, (index) =>
      // In CsvSource's key order (index, then line): the fast validation path keeps the candidate as it is.
      ({ format: 'csv' as const, fileId: opts.fileId, ...(opts.fileName && { fileName: opts.fileName }), index, line: item.line }), opts);
    yield unit;
  }
}

/**
 * The columns a CSV mapping reads that a file's header lacks, each with the closest header name. Such a
 * column gives no value in any record: a required field then fails every record, an optional one is
 * silently empty, so the file says which name is wrong once, at its header.
 */
function missingColumns(columns: readonly string[], header: readonly string[]): { name: string; hint: string | undefined }[] {
  const have = new Set(header);
  return columns.filter((c) => !have.has(c)).map((name) => ({ name, hint: didYouMean(name, header) }));
}

/**
 * translateXml of a file on disk: a file over the XML size cap is a rejected unit (XML_TOO_LARGE) without
 * being read into memory.
 */
export function translateXmlFile(path: string, partner: CompiledPartner, opts: TranslateOptions): TranslatedUnit {
  let bytes: Buffer;
  try {
    bytes = readXmlFile(path);
  } catch (err) {
    if (!(err instanceof WaybillError)) throw err;
    const details = err.details as { line?: number; column?: number } | undefined;
    return { format: 'xml', partner: partner.id, label: opts.fileName ?? basename(path), line: 1, status: 'rejected', events: [],
      errors: [{ code: err.code, severity: 'error', message: err.message, line: details?.line ?? 1, column: details?.column ?? 1 }] };
  }
  return translateXml(bytes, partner, { ...opts, fileName: opts.fileName ?? basename(path) });
}

export function translateXml(input: Buffer | string, partner: CompiledPartner, opts: TranslateOptions): TranslatedUnit {
  const name = opts.fileName ?? 'input.xml';
  const unit: TranslatedUnit = { format: 'xml', partner: partner.id, label: name, line: 1, status: 'translated', events: [], errors: [] };
  const route = fileRoute(partner, 'xml', name);
  if (!route) {
    unit.status = 'unmapped';
    unit.errors.push({ code: 'MAP_NO_MAPPING', severity: 'error', message: noMappingMessage(partner, 'xml', name), line: 1, column: 1 });
    return unit;
  }
  let doc;
  try {
    doc = parseXml(input);
  } catch (err) {
    const e = err as Error & { code?: string; details?: { line?: number; column?: number } };
    unit.status = 'rejected';
    unit.errors.push({ code: e.code ?? 'XML_MALFORMED', severity: 'error', message: e.message, line: e.details?.line ?? 1, column: e.details?.column ?? 1 });
    return unit;
  }
  mapInto(unit, route, partner, { node: doc, root: doc, path: '' }, (index) =>
    ({ format: 'xml' as const, fileId: opts.fileId, ...(opts.fileName && { fileName: opts.fileName }), index }), opts);
  return unit;
}

/**
 * Runs a CSV or XML route over one context and fills the unit with its events (envelope added and
 * validated), or marks it failed with the mapping's coded error: one unit never sinks another.
 */
function mapInto(
  unit: TranslatedUnit, route: InboundRoute, partner: CompiledPartner, ctx: unknown,
  sourceFor: (index: number) => Parameters<typeof eventIdFromSource>[1] & Record<string, unknown>, opts: TranslateOptions,
): void {
  try {
    const env = { timezone: partner.config.timezone };
    const bodies = route.mapping.run(ctx, env);
    bodies.forEach((body, index) => {
      const sourceRef = sourceFor(index);
      unit.events.push(finishEvent(route.mapping.target, body, {
        id: eventIdFromSource(partner.id, sourceRef), partner: partner.id, receivedAt: opts.receivedAt, source: sourceRef,
      }, route.mapping, ctx, index, env));
    });
  } catch (err) {
    if (!(err instanceof MappingFailure)) throw err;
    unit.status = 'failed';
    unit.events = [];
    const e = fromFailure(err, unit.line);
    // A CSV record is one line, and an XML line may hold many elements: the column, or the element's path,
    // names what the failing value is, beside where it is.
    const what = err.source?.what;
    if (what && (what.startsWith('column ') || what.startsWith('/'))) e.message += ` (${what.startsWith('/') ? `at ${what}` : what})`;
    unit.errors.push(e);
  }
}

/**
 * What kind of file this is, from its first non-blank bytes (decoded first when they are UTF-16 with a
 * byte order mark, or an "ISA" in UTF-16). Failing those, a file is X12 when a fixed-width ISA stands
 * further into its head, behind something else (a mail header, a transfer banner, a stray line): the X12
 * reader then reports what stands before it, rather than the file failing as a CSV nobody maps.
 */
export function sniffFormat(head: Buffer): 'x12' | 'xml' | 'csv' {
  // UTF-16 XML may come without a BOM too, when its declaration shows it (what the XML reader reads).
  const form = utf16Form(head) ?? bomlessUtf16Xml(head);
  let s = form ? new TextDecoder(form).decode(head) : head.toString('latin1');
  if (s.startsWith('\u00ef\u00bb\u00bf')) s = s.slice(3);
  s = s.trimStart();
  if (/^ISA.|^(ST|GS)[^A-Za-z0-9]/.test(s)) return 'x12';
  if (s.startsWith('<')) return 'xml';
  for (let at = s.indexOf('ISA'); at >= 0; at = s.indexOf('ISA', at + 1)) if (fixedWidthIsaAt(s, at)) return 'x12';
  return 'csv';
}

/** File signatures of formats people send by mistake (or packed), by the bytes they start with. */
const BINARY_SIGNATURES: [string, string][] = [
  ['\x1f\x8b', 'gzip-compressed data'],
  ['PK\x03\x04', 'a ZIP archive (also .xlsx and .docx files)'],
  ['%PDF-', 'a PDF document'],
  ['\x89PNG', 'a PNG image'],
  ['\xff\xd8\xff', 'a JPEG image'],
  ['7z\xbc\xaf\x27\x1c', 'a 7-Zip archive'],
  ['\xd0\xcf\x11\xe0', 'an old Office document (.xls, .doc)'],
];

/** Control characters text holds: tab, LF, VT, FF, CR, and the Ctrl-Z end mark. */
const TEXT_CONTROLS = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1a]); // and NUL, counted apart

/**
 * What a file is when it is not text Waybill reads (X12, CSV or XML), from its first bytes (and their
 * format, when the caller has sniffed it already): a packed or
 * office format by its signature, else "binary data" when it holds NUL bytes (unless it starts with a
 * UTF-16 byte order mark: such CSV has NULs and is text). Null for text. X12 may use control characters
 * as delimiters, never NUL; X12 and XML (UTF-16 ones with their NULs too) are recognised first anyway.
 */
export function binaryKind(head: Buffer, format: 'x12' | 'xml' | 'csv' = sniffFormat(head)): string | null {
  const s = head.toString('latin1');
  for (const [magic, what] of BINARY_SIGNATURES) if (s.startsWith(magic)) return what;
  if (s.startsWith('\xff\xfe') || s.startsWith('\xfe\xff')) return null;
  if (format !== 'csv') return null;
  // A NUL or two in text is a corrupt record, which the CSV reader fails on its own (CSV_NUL_CHARACTER)
  // while the other records are read; binary data holds them by the hundred.
  let nuls = 0;
  let controls = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) nuls++;
    else if ((c < 0x20 && !TEXT_CONTROLS.has(c)) || c === 0x7f) controls++;
  }
  // Encrypted, compressed or random bytes hold NULs only by the few (1 in 256), but control characters
  // by the tenth: a gpg-encrypted .edi was read as a CSV and asked for a partner.
  if (nuls > 0 && controls >= Math.max(8, s.length / 20)) return 'binary data (it holds NUL bytes and control characters: encrypted or compressed?)';
  if (nuls < Math.max(4, s.length / 100)) return null;
  let alternating = s.length >= 4;
  for (let i = 1; i < s.length && alternating; i += 2) if (s.charCodeAt(i) !== 0 || s.charCodeAt(i - 1) === 0) alternating = false;
  return alternating ? 'UTF-16 text without a byte order mark (save it with one, or as UTF-8)' : 'binary data (it holds NUL bytes)';
}

/** Bytes of a file's head the format is told from: enough to see an ISA behind a mail header or a banner. */
const HEAD_BYTES = 4096;

/** The first HEAD_BYTES bytes of a file (fewer when it is shorter): what the format is told from. */
function fileHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    return buf.subarray(0, readSync(fd, buf, 0, HEAD_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

/** Whitespace, and the Ctrl-Z (SUB) end-of-file mark: a file of only these holds nothing. */
const BLANK = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1a]);

/** Whether `bytes` (the start of a file when `first`) hold nothing but BLANK bytes, after a UTF-8 BOM at the start. */
function allBlank(bytes: Buffer, first: boolean): boolean {
  const bom = first && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  for (let i = bom ? 3 : 0; i < bytes.length; i++) if (!BLANK.has(bytes[i])) return false;
  return true;
}

/**
 * Whether the file holds nothing but whitespace (after a UTF-8 BOM) and end-of-file marks, given its head.
 * Such a file is sniffed as CSV and would fail as a CSV without partner or mapping, which says nothing
 * about what is wrong. Reads past the head only while all it has seen is blank.
 */
function isBlankFile(path: string, head: Buffer): boolean {
  if (!allBlank(head, true)) return false;
  if (head.length < HEAD_BYTES) return true; // the head is the whole file
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (let at = HEAD_BYTES, n = readSync(fd, buf, 0, buf.length, at); n > 0; at += n, n = readSync(fd, buf, 0, buf.length, at)) {
      if (!allBlank(buf.subarray(0, n), false)) return false;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/** Names that say a file is X12: what a text file so named is read as, unless a CSV route is meant for it. */
export const X12_FILE_NAME = /\.(edi|x12)$/i;

/**
 * The format a file is read in, given examineFile's sniff, its name and the partners: text with no X12
 * header is sniffed as CSV, but named as X12 (.edi, .x12) and meant for no CSV route, it is read as the
 * X12 it claims to be. Its findings (X12_NO_ISA, X12_UNEXPECTED_DATA) then say what stands there, where a
 * CSV reading only said the partner has no CSV mapping. "Meant for a CSV route": with the partner known
 * (the gateway's account or folder, `translate --partner`), that partner has one; otherwise a CSV route's
 * file-name pattern names the file. One rule for the gateway and `waybill translate`.
 */
export function readingFormat(sniffed: 'x12' | 'xml' | 'csv', fileName: string, registry: PartnerRegistry, partnerId?: string): 'x12' | 'xml' | 'csv' {
  if (sniffed !== 'csv' || !X12_FILE_NAME.test(fileName)) return sniffed;
  const csvRoute = partnerId !== undefined
    ? registry.get(partnerId)?.inbound.some((r) => r.document === 'csv') ?? false
    : registry.list().some((p) => p.inbound.some((r) => r.document === 'csv' && r.match !== null && r.match.test(fileName)));
  return csvRoute ? 'csv' : 'x12';
}

/**
 * What the gateway and `waybill translate` make of a file before any partner is asked, from one read of
 * its head: its format, and why it is refused whole, if it is (PIPELINE_NOT_TEXT for a binary or packed
 * file, PIPELINE_EMPTY_FILE for one with nothing in it), as a file-level error at 1:1.
 */
export function examineFile(path: string): { format: 'x12' | 'xml' | 'csv'; binary: boolean; refusal: TranslationError | null } {
  const head = fileHead(path);
  const format = sniffFormat(head);
  const binary = binaryKind(head, format);
  if (binary !== null) {
    return { format, binary: true, refusal: { code: 'PIPELINE_NOT_TEXT', severity: 'error', message: `the file is ${binary}, not X12, CSV or XML text`, line: 1, column: 1 } };
  }
  if (format === 'csv' && isBlankFile(path, head)) {
    return { format, binary: false, refusal: { code: 'PIPELINE_EMPTY_FILE', severity: 'error', message: 'the file is empty or holds only whitespace', line: 1, column: 1 } };
  }
  return { format, binary: false, refusal: null };
}
