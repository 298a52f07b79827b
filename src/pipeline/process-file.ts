// Translating one stored file: stream its units (X12 transactions, CSV records, XML documents), map
// them, and commit unit states plus outbox events in batched SQLite transactions. The work is
// idempotent and resumable: unit and event ids are deterministic, inserts ignore what exists, and a
// checkpoint skips the mapping of units a crashed run already committed. The file's final state and its
// acknowledgments are committed together, so exactly one acknowledgment exists per interchange.

import { hash } from 'node:crypto';
import { join } from 'node:path';
import type { InterchangeSeen, NewOutboundDocument, OutboxEvent, UnitBatch, UnitRecord, LedgerError } from '../ledger/ledger.js';
import type { CompiledPartner } from '../mappings/registry.js';
import {
  sniffFileFormat, translateCsv, translateTransaction, translateXmlFile, type CanonicalEvent, type TranslatedUnit, type TranslationError,
} from '../mappings/translate.js';
import { translateTa1 } from '../mappings/functional-ack.js';
import { buildAcks } from '../translators/x12/acks/build.js';
import { ReportBuilder } from '../translators/x12/inspect.js';
import { issue } from '../translators/x12/issues.js';
import type { InterchangeHeader } from '../translators/x12/model.js';
import { readX12Batches } from '../translators/x12/reader.js';
import { validateTransaction } from '../translators/x12/validate-transaction.js';
import type { PipelineContext } from './context.js';

export interface ProcessResult {
  fileId: string;
  state: 'translated' | 'failed' | 'duplicate' | 'skipped';
  units: number;
  newEvents: number;
  duplicateFacts: number;
  acks: number;
}

/** A stable key for "the same business fact": same shipment, same status, same time. */
export function factKey(partner: string, event: CanonicalEvent): string | undefined {
  const refs = (event.references ?? {}) as Record<string, unknown>;
  const shipment = refs.proNumber ?? refs.shipmentId ?? refs.bolNumber;
  let parts: unknown[] | null = null;
  if (event.type === 'shipment.status@1' && shipment) {
    const status = event.status as { milestone?: string; rawStatusCode?: string } | undefined;
    parts = [partner, event.type, shipment, status?.milestone, status?.rawStatusCode, event.occurredAt];
  } else if (event.type === 'freight.invoice@1' && refs.invoiceNumber) {
    parts = [partner, event.type, refs.invoiceNumber, event.purpose, JSON.stringify(event.amountDue)];
  } else if (event.type === 'tender.response@1' && shipment) {
    parts = [partner, event.type, shipment, event.decision, event.occurredAt];
  }
  return parts ? hash('sha256', parts.map(String).join('\u0000'), 'hex') : undefined;
}

function referencesOf(events: CanonicalEvent[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of events) Object.assign(out, e.references as Record<string, unknown> | undefined);
  return out;
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
  count = 0;

  constructor(private readonly ctx: PipelineContext, private readonly fileId: string, private readonly resumeFrom: number) {
    this.limit = Math.min(FIRST_BATCH_UNITS, ctx.batchSize);
  }

  /** Adds the next unit (in file order). Units a crashed run already committed are skipped. */
  async add(unit: TranslatedUnit | null, make: () => TranslatedUnit): Promise<void> {
    const index = this.count++;
    if (index < this.resumeFrom) return;
    const u = unit ?? make();
    const unitId = `${this.fileId}-u${index}`;
    this.units.push({
      id: unitId, fileId: this.fileId, index, partner: u.partner ?? null, label: u.label,
      setId: u.x12?.setId, control: u.x12?.control, interchangeControl: u.x12?.interchange, groupControl: u.x12?.group,
      state: u.status === 'translated' ? 'translated' : u.status, errors: toLedgerErrors(u.errors), references: referencesOf(u.events),
    });
    for (const e of u.events) {
      this.events.push({ id: e.id, fileId: this.fileId, unitId, type: e.type, partner: String(e.partner), payload: JSON.stringify(e),
        factKey: factKey(String(e.partner), e) });
    }
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
      if (r.newEvents > 0) this.ctx.onEvents?.();
    });
    // A failed commit fails the file when it is awaited (the next send or the flush); not unhandled before.
    committed.catch(() => {});
    this.committing.push(committed);
  }

  /** Commits what is left and waits until every batch has committed. */
  async flush(): Promise<void> {
    await this.send();
    while (this.committing.length > 0) await this.committing.shift();
  }
}

export async function processFile(ctx: PipelineContext, fileId: string): Promise<ProcessResult> {
  const file = await ctx.ledger.getFile(fileId);
  if (!file) throw new Error(`no file ${fileId} in the ledger`);
  if (file.state === 'translated' || file.state === 'failed' || file.state === 'duplicate') {
    return { fileId, state: 'skipped', units: 0, newEvents: 0, duplicateFacts: 0, acks: 0 };
  }
  await ctx.ledger.setFileState(fileId, 'translating');
  const path = join(ctx.dataDir, file.storedPath);
  const registry = ctx.registry();
  const opts = { fileId, fileName: file.originalName, receivedAt: file.receivedAt, partner: file.partner ?? undefined };
  const writer = new BatchWriter(ctx, fileId, file.unitsDone);
  const format = sniffFileFormat(path);
  const acks: NewOutboundDocument[] = [];
  let finalState: 'translated' | 'failed' = 'translated';

  if (format !== 'x12') {
    const partner = file.partner ? registry.get(file.partner) : undefined;
    if (!partner) {
      await ctx.ledger.finishFile(fileId, 'failed', []);
      await ctx.ledger.setFileState(fileId, 'failed', { errors: [{ code: 'PARTNER_UNKNOWN', message:
        `a ${format.toUpperCase()} file needs a known partner (the folder or account it arrived through); got '${file.partner ?? 'none'}'` }] });
      return { fileId, state: 'failed', units: 0, newEvents: 0, duplicateFacts: 0, acks: 0 };
    }
    if (format === 'csv') {
      for await (const u of translateCsv(path, partner, opts)) await writer.add(u, () => u);
    } else {
      const u = translateXmlFile(path, partner, opts);
      await writer.add(u, () => u);
    }
  } else {
    // X12: one pass over the file feeds the translation and the acknowledgment report; each transaction
    // is validated once for both.
    const report = new ReportBuilder();
    const interchanges: { header: InterchangeHeader; partner?: CompiledPartner; duplicateOf: string | null; identifyError?: TranslationError; ta1s?: number }[] = [];
    let current: (typeof interchanges)[number] | undefined;
    // The current group's sender, when its GS02 is not the GS id its interchange's partner declares
    // (registry.identifyX12 with the group): its transactions are then unidentified. Acknowledgments
    // still follow the interchange's partner.
    let groupMismatch: TranslationError | undefined;
    // One await per chunk read (readX12Batches), not per event.
    for await (const batch of readX12Batches(path)) for (const ev of batch) {
      if (ev.type === 'interchange-start') {
        const who = file.partner ? { partner: registry.get(file.partner) } : registry.identifyX12(ev.header);
        const partner = 'partner' in who ? who.partner : undefined;
        const identifyError = 'code' in who ? { code: who.code, severity: 'error' as const, message: who.message, line: ev.header.isa.loc.line, column: ev.header.isa.loc.column } : undefined;
        const seen = { senderQualifier: ev.header.senderQualifier, senderId: ev.header.senderId, control: ev.header.control.trim(), fileId, receivedAt: file.receivedAt };
        const { duplicateOf } = await ctx.ledger.priorInterchange(seen, ctx.duplicates.windowDays);
        writer.noteInterchange(seen);
        const issues = [...ev.issues];
        if (duplicateOf && ctx.duplicates.interchange === 'reject') {
          issues.push(issue('X12_DUPLICATE_INTERCHANGE_CONTROL',
            `interchange ${ev.header.control.trim()} from ${ev.header.senderQualifier}/${ev.header.senderId} was already received in file ${duplicateOf}`, ev.header.isa.loc,
            { segmentId: 'ISA', elementPosition: 13, badValue: ev.header.control }));
        }
        if (duplicateOf) ctx.log.warn({ fileId, interchange: ev.header.control.trim(), duplicateOf, policy: ctx.duplicates.interchange }, 'duplicate interchange');
        current = { header: ev.header, partner, duplicateOf, identifyError };
        groupMismatch = undefined;
        interchanges.push(current);
        report.accept({ ...ev, issues });
        continue;
      }
      if (ev.type === 'group-start' || ev.type === 'group-end') {
        groupMismatch = undefined;
        if (ev.type === 'group-start' && !file.partner && current?.partner) {
          const who = registry.identifyX12(current.header, ev.header);
          if ('code' in who) groupMismatch = { code: who.code, severity: 'error', message: who.message, line: ev.header.gs.loc.line, column: ev.header.gs.loc.column };
        }
      }
      if (ev.type === 'transaction') {
        const tx = ev.transaction;
        const validation = validateTransaction(tx, { tree: true });
        report.acceptTransaction(tx, validation);
        const ic = current;
        const mismatch = groupMismatch;
        await writer.add(null, () => {
          if (ic?.duplicateOf) {
            return { format: 'x12', partner: ic.partner?.id, label: `${tx.setId} ${tx.control}`, line: tx.segments[0]?.loc.line ?? 1,
              status: 'duplicate' as TranslatedUnit['status'], events: [], errors: [{ code: 'X12_DUPLICATE_INTERCHANGE_CONTROL', severity: 'error',
                message: `interchange already received in file ${ic.duplicateOf}`, line: tx.segments[0]?.loc.line ?? 1, column: 1 }],
              x12: { interchange: tx.interchange?.control.trim() ?? '', group: tx.group?.control.trim() ?? '', setId: tx.setId, control: tx.control } };
          }
          return mismatch
            ? translateTransaction(tx, undefined, mismatch, opts, validation)
            : translateTransaction(tx, ic?.partner, ic?.identifyError, opts, validation);
        });
        continue;
      }
      if (ev.type === 'ta1') {
        const partner = current?.partner;
        const ta1Index = current ? (current.ta1s = (current.ta1s ?? 0) + 1) - 1 : 0;
        await writer.add(null, () => translateTa1(ev.segment, ev.interchange, partner, current?.identifyError, opts, ta1Index));
      }
      report.accept(ev);
    }
    await writer.flush();

    // Acknowledgments, per partner policy, with control numbers from the ledger (never reused).
    const fileReport = report.finish();
    for (const [i, icReport] of fileReport.interchanges.entries()) {
      const ic = interchanges[i];
      const partner = ic?.partner;
      if (!partner || (ic.duplicateOf && ctx.duplicates.interchange === 'ignore')) continue;
      const policy = partner.config.acknowledgments;
      const x12 = partner.config.x12;
      const [isa] = await ctx.ledger.nextControlNumbers(partner.id, 'interchange');
      const groups = await ctx.ledger.nextControlNumbers(partner.id, 'group', Math.max(1, icReport.groups.length));
      const sets = await ctx.ledger.nextControlNumbers(partner.id, 'transaction', Math.max(1, icReport.groups.length));
      const built = buildAcks(icReport, {
        policy: { ta1: policy.ta1, functional: policy.functional, version: policy.version },
        controls: { interchange: isa, group: (n: number) => groups[n] ?? groups[0], transaction: (n: number) => String(sets[n] ?? sets[0]).padStart(4, '0') },
        now: ctx.now?.() ?? new Date(),
        ...(partner.config.ours && { sender: { qualifier: partner.config.ours.isa.qualifier, id: partner.config.ours.isa.id, applicationId: partner.config.ours.gs ?? partner.config.ours.isa.id } }),
        suffix: x12?.delimiters.lineEnding ?? '\n',
      });
      if (built.text) {
        acks.push({
          id: `ack-${fileId}-${i}`, partner: partner.id, kind: built.functional[0]?.type ?? 'TA1', relatedFileId: fileId,
          content: built.text, controls: { interchange: String(isa), group: String(groups[0]), transaction: String(sets[0]) },
        });
      }
    }
    if (fileReport.interchanges.length === 0) finalState = 'failed';
  }
  await writer.flush();
  await ctx.ledger.finishFile(fileId, finalState, acks);
  ctx.log.info({ fileId, units: writer.count, newEvents: writer.newEvents, duplicateFacts: writer.duplicateFacts, acks: acks.length, state: finalState }, 'file translated');
  ctx.onProcessed?.({ fileId, state: finalState, units: writer.count, newEvents: writer.newEvents, receivedAt: file.receivedAt });
  return { fileId, state: finalState, units: writer.count, newEvents: writer.newEvents, duplicateFacts: writer.duplicateFacts, acks: acks.length };
}
