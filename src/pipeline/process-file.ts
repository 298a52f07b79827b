// Translating one stored file: stream its units (X12 transactions, CSV records, XML documents), map
// them, and commit unit states plus outbox events in batched SQLite transactions. The work is
// idempotent and resumable: unit and event ids are deterministic, inserts ignore what exists, and a
// checkpoint skips the mapping of units a crashed run already committed. The file's final state and its
// acknowledgments are committed together, so exactly one acknowledgment exists per interchange.

import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { WaybillError } from '../errors/catalogue.js';
import type {
  EventIdCollision, FileRecord, InterchangeRecord, InterchangeSeen, NewOutboundDocument, OutboxEvent, UnitBatch, UnitRecord, LedgerError,
} from '../ledger/ledger.js';
import type { CompiledPartner, PartnerRegistry } from '../mappings/registry.js';
import {
  envelopeUnit, examineFile, fileIssueUnit, fileRoute, headerRejection, noMappingMessage, readingFormat, rejectedWithEnvelope, translateCsv, translateTransaction, translateXmlFile,
  type CanonicalEvent, type TranslateOptions, type TranslatedUnit, type TranslationError,
} from '../mappings/translate.js';
import { translateTa1 } from '../mappings/functional-ack.js';
import { partnerAckOptions } from '../mappings/partner-acks.js';
import { buildAcks, maxFunctionalAcks, type BuiltAcks } from '../translators/x12/acks/build.js';
import { ReportBuilder } from '../translators/x12/inspect.js';
import { issue } from '../translators/x12/issues.js';
import type { InterchangeHeader, InterchangeReport, TransactionSet } from '../translators/x12/model.js';
import { readX12Batches } from '../translators/x12/reader.js';
import { validateTransaction, type TransactionValidation } from '../translators/x12/validate-transaction.js';
import type { PipelineContext } from './context.js';
import { translateXmlFileInWorker, XML_WORKER_MIN_BYTES } from './xml-worker.js';
import { XML_MAX_BYTES } from '../translators/xml/reader.js';
import { factKey, referencesOf, type PreparedUnit } from './unit-rows.js';

export { factKey };

export interface ProcessResult {
  fileId: string;
  state: 'translated' | 'failed' | 'duplicate' | 'skipped';
  units: number;
  newEvents: number;
  duplicateFacts: number;
  /** Events whose id the outbox already held from another file (BatchResult.eventIdCollisions). */
  eventIdCollisions: number;
  acks: number;
}

function toLedgerErrors(errors: TranslationError[]): LedgerError[] {
  return errors.map((e) => ({ code: e.code, message: e.message, line: e.line, column: e.column }));
}

/**
 * Units in a file's first batch; each next batch is twice as large up to ctx.batchSize. Large batches
 * make the ledger cheaper per unit (each page of the random-key indexes is written once per commit for
 * more rows), small first ones let the relay start publishing while the rest is being translated.
 */
export const FIRST_BATCH_UNITS = 250;
/** Batches translated ahead of the ledger's commits (see BatchWriter.send). */
const COMMITS_IN_FLIGHT = 2;
/**
 * Units per part handed to the ledger ahead of its batch (Ledger.stage). A batch of 2,000 units takes
 * tens of milliseconds to fill; held that long on the translating thread, its rows were copied by every
 * young-generation GC on the way (in bench/gateway.mjs the main thread's scavenges cost several times
 * what they cost translateX12). Parts of 250 are gone from this heap within a few milliseconds.
 */
const STAGE_UNITS = 250;

class BatchWriter {
  private units: UnitRecord[] = [];
  private events: OutboxEvent[] = [];
  private interchanges: InterchangeSeen[] = [];
  private limit: number;
  /** Units of the batch being filled, staged parts included, and how many parts were staged. */
  private batchUnits = 0;
  private stagedParts = 0;
  /** Batches handed to the ledger and not yet committed (a ledger that commits on its own thread), oldest first. */
  private committing: Promise<void>[] = [];
  newEvents = 0;
  duplicateFacts = 0;
  eventIdCollisions = 0;
  count = 0;

  constructor(private readonly ctx: PipelineContext, private readonly fileId: string, private readonly resumeFrom: number) {
    this.limit = Math.min(FIRST_BATCH_UNITS, ctx.batchSize);
  }

  /** Adds the next unit (in file order). Units a crashed run already committed are skipped. */
  async add(unit: TranslatedUnit | null, make: () => TranslatedUnit): Promise<void> {
    const index = this.count++;
    if (index < this.resumeFrom) return;
    const u = unit ?? make();
    const unitId = this.addUnit(index, u, referencesOf(u.events));
    for (const e of u.events) {
      this.events.push({ id: e.id, fileId: this.fileId, unitId, type: e.type, partner: String(e.partner), payload: JSON.stringify(e),
        factKey: factKey(String(e.partner), e) });
    }
    await this.added();
  }

  /** add() for a unit whose events are rows already (made on a worker thread: prepareUnit). */
  async addPrepared(u: PreparedUnit): Promise<void> {
    const index = this.count++;
    if (index < this.resumeFrom) return;
    const unitId = this.addUnit(index, u, u.references);
    for (const e of u.events) this.events.push({ ...e, fileId: this.fileId, unitId });
    await this.added();
  }

  /** The unit's row; returns its id. */
  private addUnit(index: number, u: Omit<TranslatedUnit, 'events'>, references: Record<string, unknown>): string {
    const unitId = `${this.fileId}-u${index}`;
    this.units.push({
      id: unitId, fileId: this.fileId, index, partner: u.partner ?? null, label: u.label,
      setId: u.x12?.setId, control: u.x12?.control, interchangeControl: u.x12?.interchange, groupControl: u.x12?.group,
      state: u.status === 'translated' ? 'translated' : u.status, errors: toLedgerErrors(u.errors), references,
    });
    return unitId;
  }

  private async added(): Promise<void> {
    if (++this.batchUnits >= this.limit) await this.send();
    else if (this.units.length >= STAGE_UNITS) this.stage();
  }

  /** Hands the rows gathered so far to the ledger, to be committed with the batch they belong to. */
  private stage(): void {
    this.ctx.ledger.stage({ fileId: this.fileId, units: this.units, events: this.events, interchanges: this.interchanges });
    this.units = [];
    this.events = [];
    this.interchanges = [];
    this.stagedParts++;
  }

  /** An interchange header read from the file: recorded with the next batch (Ledger.priorInterchange). */
  noteInterchange(seen: InterchangeSeen): void {
    this.interchanges.push(seen);
  }

  /**
   * Hands the batch to the ledger. Up to COMMITS_IN_FLIGHT batches wait to commit while the next is
   * translated; the ledger commits them in the order they were handed over (file order).
   */
  private async send(): Promise<void> {
    while (this.committing.length >= COMMITS_IN_FLIGHT) await this.committing.shift();
    if (this.units.length === 0 && this.interchanges.length === 0 && this.stagedParts === 0) return;
    const batch: UnitBatch = {
      fileId: this.fileId, units: this.units, events: this.events, unitsDone: this.count, interchanges: this.interchanges, staged: this.stagedParts,
    };
    this.units = [];
    this.events = [];
    this.interchanges = [];
    this.batchUnits = 0;
    this.stagedParts = 0;
    this.limit = Math.min(this.limit * 2, this.ctx.batchSize);
    const committed = this.ctx.ledger.commitBatch(batch).then((r) => {
      this.newEvents += r.newEvents;
      this.duplicateFacts += r.duplicateFacts.length;
      if (r.eventIdCollisions) this.reportCollisions(r.eventIdCollisions);
      if (r.newEvents > 0) this.ctx.onEvents?.();
    });
    // A failed commit fails the file when it is awaited (the next send or the flush); not unhandled before.
    committed.catch(() => {});
    this.committing.push(committed);
  }

  /**
   * Events the outbox already held from another file. Those with other content were lost, and the ledger
   * recorded it on their units (LEDGER_EVENT_ID_TAKEN): said here once per unit. Those with the same
   * content are one interchange taken in twice at the same moment, kept once: said for the record.
   */
  private reportCollisions(collisions: EventIdCollision[]): void {
    this.eventIdCollisions += collisions.length;
    const byUnit = new Map<string, EventIdCollision[]>();
    for (const c of collisions) byUnit.set(c.unitId, [...(byUnit.get(c.unitId) ?? []), c]);
    for (const [unitId, list] of byUnit) {
      const lost = list.filter((c) => !c.sameContent);
      const fields = { fileId: this.fileId, unitId, otherFileIds: [...new Set(list.map((c) => c.otherFileId))], eventIds: list.map((c) => c.eventId) };
      if (lost.length > 0) {
        this.ctx.log.warn({ ...fields, code: 'LEDGER_EVENT_ID_TAKEN', lost: lost.length },
          'events not recorded: their ids are taken by another file\'s events with other content; the unit is marked failed');
      } else {
        this.ctx.log.info(fields, 'events already recorded from another file with the same content (the same interchange taken in twice at once); kept once');
      }
    }
  }

  /** Commits what is left and waits until every batch has committed. */
  async flush(): Promise<void> {
    await this.send();
    while (this.committing.length > 0) await this.committing.shift();
  }
}

/**
 * How a file ends: its state, its acknowledgments, and its file-level findings (FileRecord.errors; the
 * units that report them are committed before this).
 */
async function finish(ctx: PipelineContext, fileId: string, state: 'translated' | 'failed', acks: NewOutboundDocument[], errors: LedgerError[]): Promise<void> {
  // The final state, the file's findings and its acknowledgments in one commit: a crash can leave none
  // of them (the file is translated again) but never the state without its reasons or its acks.
  await ctx.ledger.finishFile(fileId, state, acks, errors.length > 0 ? errors : undefined);
}


export async function processFile(ctx: PipelineContext, fileId: string): Promise<ProcessResult> {
  const file = await ctx.ledger.getFile(fileId);
  if (!file) throw new Error(`no file ${fileId} in the ledger`);
  if (file.state === 'translated' || file.state === 'failed' || file.state === 'duplicate') {
    return { fileId, state: 'skipped', units: 0, newEvents: 0, duplicateFacts: 0, eventIdCollisions: 0, acks: 0 };
  }
  await ctx.ledger.setFileState(fileId, 'translating');
  try {
    return await translateFile(ctx, file);
  } finally {
    // Its interchanges are in the ledger now (or the file failed, to be translated again from the ledger's view).
    ctx.inFlight?.release(fileId);
  }
}

async function translateFile(ctx: PipelineContext, file: FileRecord): Promise<ProcessResult> {
  const fileId = file.id;
  const path = join(ctx.dataDir, file.storedPath);
  const registry = ctx.registry();
  const opts = { fileId, fileName: file.originalName, receivedAt: file.receivedAt, partner: file.partner ?? undefined };
  const writer = new BatchWriter(ctx, fileId, file.unitsDone);
  const examined = examineFile(path);
  const { refusal } = examined;
  // As `waybill translate` reads it: a .edi without an X12 header, for a partner with no CSV route, is bad X12.
  const format = refusal === null ? readingFormat(examined.format, file.originalName, registry, file.partner ?? undefined) : examined.format;
  let outcome: FileOutcome = { state: 'translated', acks: [], errors: [] };

  if (refusal !== null) {
    // A binary file, or one with nothing in it: said as such, whichever folder or account it came through
    // (not as a CSV without partner or mapping).
    const u: TranslatedUnit = { format, partner: file.partner ?? undefined, label: 'file', line: 1, status: 'rejected', events: [], errors: [refusal] };
    await writer.add(u, () => u);
    outcome = { state: 'failed', acks: [], errors: toLedgerErrors([refusal]) };
  } else if (format !== 'x12') {
    // CSV and XML carry no sender id: the folder or account the file came through is its partner.
    const partner = file.partner ? registry.get(file.partner) : undefined;
    if (!partner) {
      // Why the partner is unknown decides the remedy: a folder with configuration errors is fixed, not
      // sent to again (registry.whyNotServed).
      const why = file.partner ? registry.whyNotServed(file.partner) : outsideAnyPartner(registry, format, file.originalName);
      await finish(ctx, fileId, 'failed', [], [{ code: 'PARTNER_UNKNOWN', message:
        `a ${format.toUpperCase()} file needs a known partner (the folder or account it arrived through); got '${file.partner ?? 'none'}': ${why}` }]);
      // Said, not only recorded: the remedy is to send the same file again through a working partner's folder or account.
      ctx.log.warn({ fileId, code: 'PARTNER_UNKNOWN', format, partner: file.partner, state: 'failed', why },
        'file failed: it needs a working partner\'s folder or account; sent again through one, it is translated');
      return { fileId, state: 'failed', units: 0, newEvents: 0, duplicateFacts: 0, eventIdCollisions: 0, acks: 0 };
    }
    if (format === 'csv') {
      for await (const u of translateCsv(path, partner, opts)) await writer.add(u, () => u);
    } else {
      outcome = await translateXml(ctx, path, partner, opts, writer);
    }
    if (!fileRoute(partner, format, file.originalName)) {
      // No route of this partner takes the file (its unit is 'unmapped', MAP_NO_MAPPING): nothing of it was
      // translated. Failed, not 'translated': it shows among the failed files, and the same bytes sent
      // again through the right partner's account or folder (a CSV uploaded with the wrong account), or
      // once the partner maps it, are re-opened and translated (intake). A 'translated' file stays the
      // first partner's for good (PIPELINE_FILE_OTHER_PARTNER): its data could never be routed.
      const error: TranslationError = { code: 'MAP_NO_MAPPING', severity: 'error', line: 1, column: 1,
        message: noMappingMessage(partner, format, file.originalName) };
      outcome = { state: 'failed', acks: [], errors: toLedgerErrors([error]) };
      ctx.log.warn({ fileId, code: error.code, format, partner: partner.id, name: file.originalName, state: 'failed' },
        'file failed: no mapping of its partner takes it; sent again through the right partner\'s folder or account, or once mapped, it is translated');
    }
  } else {
    outcome = await translateX12File(ctx, file, path, writer, opts);
  }
  await writer.flush();
  await finish(ctx, fileId, outcome.state, outcome.acks, outcome.errors);
  const { state, acks } = outcome;
  const counts = { units: writer.count, newEvents: writer.newEvents, duplicateFacts: writer.duplicateFacts, eventIdCollisions: writer.eventIdCollisions };
  ctx.log.info({ fileId, ...counts, acks: acks.length, state }, 'file translated');
  ctx.onProcessed?.({ fileId, state, units: writer.count, newEvents: writer.newEvents, receivedAt: file.receivedAt });
  return { fileId, state, ...counts, acks: acks.length };
}

/**
 * Why a CSV or XML file at the inbound root has no partner, with the partners whose routes take its name
 * (partner.yaml `match`), so that the analyst knows which folder it belongs in rather than only that it
 * needs one.
 */
function outsideAnyPartner(registry: PartnerRegistry, format: 'csv' | 'xml', name: string): string {
  const why = 'it arrived outside any partner\'s folder or account';
  const takers = registry.list().filter((p) => fileRoute(p, format, name)).map((p) => p.id);
  if (takers.length === 0) return `${why}; no partner's ${format.toUpperCase()} route takes the name '${name}'`;
  return `${why}; the ${format.toUpperCase()} routes of ${takers.map((t) => `'${t}'`).join(', ')} take its name: send it again through that partner's folder (inbound/<partner>/) or account`;
}

/**
 * An XML file: one unit. From XML_WORKER_MIN_BYTES up to the XML size cap it is read and mapped on a worker
 * thread (xml-worker.ts), so the main thread stays free; a worker that fails makes the unit failed and the
 * file failed, with TRANSLATION_WORKER_FAILED. Smaller files, larger ones (refused unread, XML_TOO_LARGE)
 * and files whose partner the worker could not compile as the gateway has it are translated here.
 */
async function translateXml(ctx: PipelineContext, path: string, partner: CompiledPartner, opts: TranslateOptions, writer: BatchWriter): Promise<FileOutcome> {
  const size = statSync(path).size;
  if (size >= (ctx.xmlWorker?.minBytes ?? XML_WORKER_MIN_BYTES) && size <= XML_MAX_BYTES) {
    const r = await translateXmlFileInWorker(path, partner, opts, { resourceLimits: ctx.xmlWorker?.resourceLimits });
    if (r.kind === 'unit') {
      await writer.addPrepared(r.unit);
      return { state: 'translated', acks: [], errors: [] };
    }
    if (r.kind === 'failed') {
      const error: TranslationError = { code: 'TRANSLATION_WORKER_FAILED', severity: 'error', message: r.error.message, line: 1, column: 1 };
      const u: TranslatedUnit = { format: 'xml', partner: partner.id, label: opts.fileName ?? basename(path), line: 1, status: 'failed', events: [], errors: [error] };
      await writer.add(u, () => u);
      ctx.log.error({ fileId: opts.fileId, code: error.code, err: r.error.message, ...r.error.details }, 'XML translation worker failed; the file is failed');
      return { state: 'failed', acks: [], errors: toLedgerErrors([error]) };
    }
    ctx.log.warn({ fileId: opts.fileId, partner: partner.id, reason: r.reason },
      'XML file translated on the main thread: the partner\'s files on disk are not those the gateway has loaded');
  }
  const u = translateXmlFile(path, partner, opts);
  await writer.add(u, () => u);
  return { state: 'translated', acks: [], errors: [] };
}

interface FileOutcome {
  state: 'translated' | 'failed';
  acks: NewOutboundDocument[];
  /** Findings about the file as a whole (FileRecord.errors). */
  errors: LedgerError[];
}

/** An interchange read from the file, and who it is from. */
interface Interchange {
  header: InterchangeHeader;
  /** The partner its ISA sender (ISA05/06) identifies; undefined when unknown or refused (accountMismatch). */
  partner?: CompiledPartner;
  identifyError?: TranslationError;
  /**
   * Set when the file came through a partner's folder or account and the ISA sender is another partner,
   * or none: the interchange is then neither translated (under either partner) nor acknowledged.
   */
  accountMismatch?: TranslationError;
  duplicateOf: string | null;
  /** What its transactions and TA1s are translated with: the file's options, plus its interchangeReuse if any. */
  opts: TranslateOptions;
  ta1s?: number;
}

/**
 * Who sent an interchange: always its ISA sender, even for a file that came through a partner's folder
 * or account. The folder says who uploaded it, not whose it is; trusting it translated one partner's
 * interchange under another's mapping and sent the 997 to the wrong partner.
 */
function identifyInterchange(registry: PartnerRegistry, header: InterchangeHeader, filePartner: string | null): Omit<Interchange, 'duplicateOf' | 'opts'> {
  const at = { line: header.isa.loc.line, column: header.isa.loc.column };
  const who = registry.identifyX12(header);
  const partner = 'partner' in who ? who.partner : undefined;
  if (filePartner && partner?.id !== filePartner) {
    const whose = partner ? `partner '${partner.id}'` : 'no configured partner';
    // An unknown sender is said as identifyX12 says it (the closest configured id, the configured ones,
    // a partner with configuration errors): a sender id in lower case or under another qualifier is
    // most often the account's own partner, and "no configured partner" alone left the analyst guessing.
    const why = 'code' in who ? `: ${who.message}` : '';
    return {
      header, accountMismatch: {
        code: 'PARTNER_ACCOUNT_MISMATCH', severity: 'error', ...at,
        message: `interchange ${header.control.trim()} from ISA ${header.senderQualifier}/${header.senderId} (${whose}) arrived through the folder/account of partner '${filePartner}'; not translated, not acknowledged${why}`,
      },
    };
  }
  if ('code' in who) return { header, identifyError: { code: who.code, severity: 'error', message: who.message, ...at } };
  return { header, partner };
}

/**
 * A transaction of a refused interchange (Interchange.accountMismatch): unidentified, whatever else is
 * wrong with it (its validation findings are kept). Not 'rejected': no 997 will tell its sender.
 */
function refusedTransaction(tx: TransactionSet, mismatch: TranslationError, opts: TranslateOptions, validation: TransactionValidation): TranslatedUnit {
  const u = translateTransaction(tx, undefined, mismatch, opts, validation);
  if (u.status !== 'unidentified') {
    u.status = 'unidentified';
    u.errors.unshift(mismatch);
  }
  return u;
}

/**
 * X12: one pass over the file feeds the translation and the acknowledgment report; each transaction is
 * validated once for both. Every finding becomes a unit in file order, as `waybill translate` reports
 * them: data outside any interchange ('file'), envelope findings ('interchange N', 'group N
 * (interchange M)'), transactions and TA1s. Which units there are depends on the file's bytes alone, so a
 * resumed run numbers them as the first did.
 */
async function translateX12File(ctx: PipelineContext, file: FileRecord, path: string, writer: BatchWriter, opts: TranslateOptions): Promise<FileOutcome> {
  const fileId = file.id;
  const registry = ctx.registry();
  // Each interchange is answered (buildAcks) as soon as it has been read whole, and the report then lets
  // its sets go: memory follows the largest interchange, not the file. The answers are stored with the
  // file's outcome (finish), never before.
  const finished: InterchangeReport[] = [];
  // A shallow copy: the builder empties the report's `groups` once this returns, and the answer is built later.
  const report = new ReportBuilder({ onInterchangeDone: (ic) => finished.push({ ...ic }) });
  const interchanges: Interchange[] = [];
  const acks: NewOutboundDocument[] = [];
  let answered = 0;
  const answerFinished = async (): Promise<void> => {
    for (let ic = finished.shift(); ic !== undefined; ic = finished.shift()) {
      const index = answered++;
      const ack = await acknowledgeInterchange(ctx, file, ic, interchanges[index], index, errors);
      if (ack) acks.push(ack);
    }
  };
  // File-level findings, gathered from the reader's events rather than from the units (which a resumed
  // run skips up to its checkpoint), so the file's errors are complete either way.
  const errors: LedgerError[] = [];
  let current: Interchange | undefined;
  // The current group's sender, when its GS02 is not the GS id its interchange's partner declares
  // (registry.identifyX12 with the group): its transactions are then unidentified. Acknowledgments
  // still follow the interchange's partner.
  let groupMismatch: TranslationError | undefined;
  // The current interchange's and group's header errors (translate.ts headerRejection): their sets are
  // rejected with them, as the TA1 or 997/999 rejects them.
  let interchangeRejection: TranslationError | undefined;
  let rejection: TranslationError | undefined;
  // Partner + ISA13 of the interchanges read so far in this file (interchangeReuseOf).
  const controlsInFile = new Set<string>();
  // One await per chunk read (readX12Batches), not per event.
  for await (const batch of readX12Batches(path)) {
    for (const ev of batch) {
      if (ev.type === 'interchange-start') {
        current = { ...identifyInterchange(registry, ev.header, file.partner), duplicateOf: null, opts };
        groupMismatch = undefined;
        rejection = interchangeRejection = headerRejection(ev);
        interchanges.push(current);
        const issues = [...ev.issues];
        if (current.accountMismatch) {
          // Not recorded as seen either: when its sender sends it the right way, it is no duplicate.
          errors.push(...toLedgerErrors([current.accountMismatch]));
          ctx.log.warn({ fileId, interchange: ev.header.control.trim(), sender: `${ev.header.senderQualifier}/${ev.header.senderId}`, account: file.partner },
            'interchange arrived through another partner\'s folder/account; not translated');
        } else if (current.identifyError) {
          // A sender no partner answers to (unknown, claimed by two partners, or its partner's folder does not
          // compile): nothing of it is translated or acknowledged. Not recorded as seen, and the file's error:
          // once the partner is configured, the same bytes sent again re-open the failed file (intake), and
          // a file made anew under the same ISA13 is no duplicate. Recorded, the resend was 'again' or an
          // X12_DUPLICATE_INTERCHANGE_CONTROL, and the interchange could never be translated.
          errors.push(...toLedgerErrors([current.identifyError]));
          ctx.log.warn({ fileId, code: current.identifyError.code, interchange: ev.header.control.trim(), sender: `${ev.header.senderQualifier}/${ev.header.senderId}` },
            'interchange from a sender no partner answers to; not translated, not acknowledged');
        } else {
          const duplicateOf = await checkInterchange(ctx, registry, writer, file, current, interchanges.length - 1, controlsInFile);
          if (duplicateOf && ctx.duplicates.interchange === 'reject') {
            issues.push(issue('X12_DUPLICATE_INTERCHANGE_CONTROL',
              `interchange ${ev.header.control.trim()} from ${ev.header.senderQualifier}/${ev.header.senderId} was already received in file ${duplicateOf}`, ev.header.isa.loc,
              { segmentId: 'ISA', elementPosition: 13, badValue: ev.header.control }));
          }
          if (duplicateOf) ctx.log.warn({ fileId, interchange: ev.header.control.trim(), duplicateOf, policy: ctx.duplicates.interchange }, 'duplicate interchange');
        }
        await addEnvelopeUnit(writer, ev, current);
        report.accept({ ...ev, issues });
        continue;
      }
      if (ev.type === 'group-start' || ev.type === 'group-end') {
        groupMismatch = undefined;
        rejection = interchangeRejection ?? (ev.type === 'group-start' ? headerRejection(ev) : undefined);
        if (ev.type === 'group-start' && current?.partner) {
          const who = registry.identifyX12(current.header, ev.header);
          if ('code' in who) groupMismatch = { code: who.code, severity: 'error', message: who.message, line: ev.header.gs.loc.line, column: ev.header.gs.loc.column };
        }
        await addEnvelopeUnit(writer, ev, current);
      } else if (ev.type === 'interchange-end') {
        await addEnvelopeUnit(writer, ev, current);
      }
      if (ev.type === 'transaction') {
        const tx = ev.transaction;
        const validation = validateTransaction(tx, { tree: true });
        report.acceptTransaction(tx, validation);
        const ic = current;
        const mismatch = groupMismatch;
        const rejected = rejection;
        await writer.add(null, () => {
          if (ic?.accountMismatch) return refusedTransaction(tx, ic.accountMismatch, opts, validation);
          if (ic?.duplicateOf) {
            return { format: 'x12', partner: ic.partner?.id, label: `${tx.setId} ${tx.control}`, line: tx.segments[0]?.loc.line ?? 1,
              status: 'duplicate' as TranslatedUnit['status'], events: [], errors: [{ code: 'X12_DUPLICATE_INTERCHANGE_CONTROL', severity: 'error',
                message: `interchange already received in file ${ic.duplicateOf}`, line: tx.segments[0]?.loc.line ?? 1, column: 1 }],
              x12: { interchange: tx.interchange?.control.trim() ?? '', group: tx.group?.control.trim() ?? '', setId: tx.setId, control: tx.control } };
          }
          const icOpts = ic?.opts ?? opts;
          if (rejected && ic?.partner && !mismatch) return rejectedWithEnvelope(tx, ic.partner, rejected, icOpts, validation);
          return mismatch
            ? translateTransaction(tx, undefined, mismatch, icOpts, validation)
            : translateTransaction(tx, ic?.partner, ic?.identifyError, icOpts, validation);
        });
        continue;
      }
      if (ev.type === 'ta1') {
        const ic = current;
        const ta1Index = ic ? (ic.ta1s = (ic.ta1s ?? 0) + 1) - 1 : 0;
        await writer.add(null, () => translateTa1(ev.segment, ev.interchange, ic?.partner, ic?.accountMismatch ?? ic?.identifyError, ic?.opts ?? opts, ta1Index));
      }
      if (ev.type === 'issue') {
        // Data outside any interchange (garbage, a truncated ISA): no acknowledgment can answer it, so the
        // ledger is the only place it is reported.
        const u = fileIssueUnit(ev.issue);
        errors.push(...toLedgerErrors(u.errors));
        await writer.add(u, () => u);
      }
      report.accept(ev);
    }
    await answerFinished();
  }
  await writer.flush();
  report.finish();
  await answerFinished();
  // Failed when nothing in the file was taken as an interchange: none read, or every one refused or of a
  // sender no partner answers to.
  const state = interchanges.some((ic) => ic.partner !== undefined) ? 'translated' : 'failed';
  return { state, acks, errors };
}

/**
 * An interchange of the file that is not refused, against those recorded before: the earlier file that
 * brought the same sender + ISA13 within the duplicate window (Interchange.duplicateOf, also returned), and whether it reuses its
 * partner's control numbers (its translate options then carry the extra event-id part). Noted for the
 * file's next batch, with that decision.
 */
async function checkInterchange(
  ctx: PipelineContext, registry: PartnerRegistry, writer: BatchWriter, file: FileRecord, ic: Interchange, position: number, controlsInFile: Set<string>,
): Promise<string | null> {
  const { header } = ic;
  const seen: InterchangeSeen = {
    senderQualifier: header.senderQualifier, senderId: header.senderId, control: header.control.trim(), fileId: file.id, receivedAt: file.receivedAt,
    partner: ic.partner?.id ?? null,
  };
  // Claimed before the ledger is asked: a file in flight that this claim does not show (it claimed later,
  // or let go after its commit) has recorded its interchange before the look-ups below, or will see this one.
  const inFlight = ctx.inFlight?.claim(seen) ?? [];
  const since = Date.parse(seen.receivedAt) - ctx.duplicates.windowDays * 86_400_000;
  const duplicateOf = (await ctx.ledger.priorInterchange(seen, ctx.duplicates.windowDays)).duplicateOf
    ?? inFlight.find((c) => c.senderQualifier === seen.senderQualifier && c.senderId === seen.senderId && Date.parse(c.receivedAt) >= since)?.fileId
    ?? null;
  ic.duplicateOf = duplicateOf;
  seen.interchangeReuse = ic.partner ? await interchangeReuseOf(ctx, registry, seen, position, controlsInFile, inFlight) ?? null : null;
  ctx.inFlight?.decide(seen);
  if (seen.interchangeReuse) {
    ic.opts = { ...ic.opts, interchangeReuse: seen.interchangeReuse };
    ctx.log.info({ fileId: file.id, interchange: seen.control, sender: `${seen.senderQualifier}/${seen.senderId}`, partner: seen.partner, idPart: seen.interchangeReuse },
      'interchange reuses the control numbers of an earlier one of its partner; its events get ids of their own');
  }
  writer.noteInterchange(seen);
  return duplicateOf;
}

/**
 * The extra event-id part (eventIdFromSource) of an interchange of an identified partner, or undefined for
 * the frozen recipe. X12 event ids are partner + ISA13 + GS06 + ST02 + index, with no sender and nothing
 * that tells two interchanges under one ISA13 apart: an interchange reusing the ISA13 of an earlier one of
 * the same partner (from another of its sender ids, or from the same sender after the duplicate window:
 * counters wrap and reset) would give the earlier one's ids, and the outbox would drop its events as
 * already present. Such an interchange gets `<file id>#<its position among the file's interchanges>`:
 * - the file id, not the interchange's sender + ISA09/ISA10: a counter that resets can repeat the whole
 *   header, date and time included (and a sender id is no help from the same sender), while different
 *   bytes are always another file; a file taken in again is the same file and never translated twice;
 * - the position, for two such interchanges in one file (two sender ids of the partner).
 * An interchange that reuses nothing keeps the frozen ids, so no id given before changes. The decision is
 * recorded with the interchange (InterchangeSeen.interchangeReuse), and a file translated again (a crash, a
 * retry) takes its own recorded decision: the same ids whatever was recorded since. A file translating at
 * the same moment counts by its claim (`inFlight`, PipelineContext.inFlight) until its interchange is
 * recorded. What this cannot see (another process translating at the same moment) the ledger reports when
 * the ids collide (BatchResult.eventIdCollisions).
 */
async function interchangeReuseOf(
  ctx: PipelineContext, registry: PartnerRegistry, seen: InterchangeSeen, position: number, controlsInFile: Set<string>,
  inFlight: readonly InterchangeSeen[],
): Promise<string | undefined> {
  const partner = seen.partner!;
  const key = `${partner}\u0000${seen.control}`;
  const earlierInFile = controlsInFile.has(key);
  controlsInFile.add(key);
  const recorded = await ctx.ledger.interchangesWithControl(seen.control);
  const own = recorded.find((r) => r.fileId === seen.fileId && r.senderQualifier === seen.senderQualifier && r.senderId === seen.senderId);
  if (own) return own.interchangeReuse ?? undefined;
  const elsewhere = recorded.some((r) => r.fileId !== seen.fileId && recordedPartner(registry, r) === partner)
    || inFlight.some((c) => c.partner === partner);
  return earlierInFile || elsewhere ? `${seen.fileId}#${position}` : undefined;
}

/**
 * Whose an interchange the ledger recorded was: as recorded (null: nobody's, it gave no events), or, for
 * one recorded before the ledger kept it, whose its sender id is now.
 */
function recordedPartner(registry: PartnerRegistry, r: InterchangeRecord): string | null | undefined {
  return r.partner !== undefined ? r.partner : registry.partnerIdForSender(r.senderQualifier, r.senderId);
}

/**
 * The unit of an envelope event's own findings, if it has any (a missing IEA, a GE count, ...): the
 * TA1/997 reports them to the sender, the ledger keeps them here. Attributed to the interchange's
 * identified partner (none when refused).
 */
async function addEnvelopeUnit(writer: BatchWriter, ev: Parameters<typeof envelopeUnit>[0], ic: Interchange | undefined): Promise<void> {
  if (ev.issues.length === 0) return;
  await writer.add(null, () => envelopeUnit(ev, ic?.header, ic?.partner));
}

/**
 * The acknowledgment of one interchange, per its partner's policy, with control numbers from the ledger
 * (never reused): to the partner its ISA sender identifies. An interchange of an unknown sender, a
 * refused one (accountMismatch) and an ignored duplicate get none. One whose answer cannot be written (an
 * ISA06 of 18 characters cannot be the answer's ISA08) gets none either: the writer's code goes into the
 * file's errors, and the file and its other interchanges go on (it stayed 'translating' for ever).
 */
async function acknowledgeInterchange(
  ctx: PipelineContext, file: FileRecord, icReport: InterchangeReport, ic: Interchange | undefined, index: number, errors: LedgerError[],
): Promise<NewOutboundDocument | null> {
  const partner = ic?.partner;
  if (!partner || ic.accountMismatch || (ic.duplicateOf && ctx.duplicates.interchange === 'ignore')) return null;
  const [isa] = await ctx.ledger.nextControlNumbers(partner.id, 'interchange');
  const groups = await ctx.ledger.nextControlNumbers(partner.id, 'group', Math.max(1, icReport.groups.length));
  // One ST02 per 997/999: a group of more sets than one may list is answered by several.
  const sets = await ctx.ledger.nextControlNumbers(partner.id, 'transaction', Math.max(1, maxFunctionalAcks(icReport)));
  let built: BuiltAcks;
  try {
    built = buildAcks(icReport, {
      ...partnerAckOptions(partner),
      controls: { interchange: isa, group: (n: number) => groups[n] ?? groups[0], transaction: (n: number) => String(sets[n] ?? sets[0]).padStart(4, '0') },
      now: ctx.now?.() ?? new Date(),
    });
  } catch (err) {
    if (!(err instanceof WaybillError)) throw err;
    const control = icReport.header.control.trim();
    const { line, column } = icReport.header.isa.loc;
    errors.push({ code: err.code, message: `interchange ${control} is not acknowledged: ${err.message}`, line, column });
    ctx.log.error({ fileId: file.id, interchange: control, partner: partner.id, code: err.code, err: err.message }, 'acknowledgment could not be written');
    return null;
  }
  if (!built.text) return null;
  return {
    id: `ack-${file.id}-${index}`, partner: partner.id, kind: built.functional[0]?.type ?? 'TA1', relatedFileId: file.id,
    content: built.text, controls: { interchange: String(isa), group: String(groups[0]), transaction: String(sets[0]) },
  };
}
