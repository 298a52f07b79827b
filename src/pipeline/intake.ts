// intake(): the single entry for every transport. It stores the file durably and records it in the
// ledger (a synchronous=FULL commit) and only then returns: a transport may acknowledge its sender
// (delete the remote file, answer the upload, send the MDN) only after intake has returned.
// The file id is the content hash: the same bytes again are the same file. Every arrival is kept in the
// ledger; one that finds the file failed re-opens it (translated anew, as this arrival brought it: a file
// refused for the folder it came through can be sent again the right way); any other finds it translated
// or on its way, and produces nothing new.
import type { FileRecord, RecordFileResult } from '../ledger/ledger.js';
import type { Dispatcher, PipelineContext } from './context.js';
import { storeFile, type FileInput } from './file-store.js';

export interface IntakeRequest {
  input: FileInput;
  transport: string;
  originalName: string;
  originalPath?: string;
  /** Known for CSV/XML (the folder or account it came through); X12 senders are identified from the ISA. */
  partner?: string | null;
  correlationId?: string;
}

export interface IntakeResult {
  fileId: string;
  /** False when the same bytes were taken in before. */
  created: boolean;
  /**
   * True when the same bytes had failed (refused for the folder or account they came through, say) and
   * this arrival re-opened them: they are translated anew, as this arrival brought them. When neither
   * created nor reopened, no new events will come of them.
   */
  reopened: boolean;
  file: FileRecord;
}

export async function intake(ctx: PipelineContext & { dispatcher?: Dispatcher }, req: IntakeRequest): Promise<IntakeResult> {
  const stored = await storeFile(ctx.dataDir, req.input);
  const receivedAt = (ctx.now?.() ?? new Date()).toISOString();
  const recorded = await ctx.ledger.recordFile({
    id: stored.id, size: stored.size, partner: req.partner ?? null, transport: req.transport,
    originalName: req.originalName, originalPath: req.originalPath ?? null, storedPath: stored.storedPath, receivedAt,
  });
  const { file, created, reopened } = recorded;
  await report(ctx, req, stored.size, recorded);
  if ((created || reopened) && ctx.dispatcher) {
    try {
      await ctx.dispatcher.dispatch(file.id, reopened ? { again: true } : undefined);
    } catch (err) {
      // The file is durable; the recovery sweep will dispatch it. Never fail the sender for this.
      ctx.log.warn({ fileId: file.id, err: (err as Error).message }, 'dispatch failed; the recovery sweep will pick the file up');
    }
  }
  return { fileId: file.id, created, reopened, file };
}

/** The audit entry and log line of an arrival: what it did, and for a re-opened file what it had been. */
async function report(ctx: PipelineContext, req: IntakeRequest, size: number, recorded: RecordFileResult): Promise<void> {
  const { file, created, reopened, previous } = recorded;
  const arrival = { transport: req.transport, name: req.originalName, size, partner: req.partner ?? null };
  const fields = { fileId: file.id, transport: req.transport, name: req.originalName, size, partner: req.partner ?? null };
  if (created) {
    await ctx.ledger.audit({ action: 'file.received', fileId: file.id, correlationId: req.correlationId, details: arrival });
    ctx.log.info({ ...fields, created }, 'file taken in');
  } else if (reopened && previous) {
    const was = { state: previous.state, partner: previous.partner, transport: previous.transport, name: previous.originalName,
      receivedAt: previous.receivedAt, errors: previous.errors.map((e) => e.code) };
    await ctx.ledger.audit({ action: 'file.reopened', fileId: file.id, correlationId: req.correlationId, details: { ...arrival, previous: was } });
    ctx.log.info({ ...fields, previousPartner: previous.partner, previousErrors: was.errors },
      'failed file taken in again: translating it anew as this arrival brought it');
  } else {
    const otherPartner = otherPartnerArrival(req, file);
    await ctx.ledger.audit({ action: 'file.received-again', fileId: file.id, correlationId: req.correlationId,
      details: otherPartner ? { ...arrival, code: otherPartner } : arrival });
    if (otherPartner) {
      ctx.log.warn({ ...fields, code: otherPartner, recordedPartner: file.partner, state: file.state },
        'same file taken in again through another partner\'s folder/account; it stays the first partner\'s and is not translated again');
    } else {
      ctx.log.info({ ...fields, created, state: file.state }, 'same file taken in again');
    }
  }
}

/**
 * PIPELINE_FILE_OTHER_PARTNER when bytes already taken in (and not failed) for one partner arrive through
 * another partner's folder or account. A file is one partner's: for CSV and XML the account it came
 * through, for X12 its ISA senders (a file through another partner's account is refused, interchange by
 * interchange). Translating it again for the second partner would publish the first one's data as the
 * second's, and a translated file must produce nothing new; so it is said, and the arrival kept.
 */
function otherPartnerArrival(req: IntakeRequest, file: FileRecord): 'PIPELINE_FILE_OTHER_PARTNER' | undefined {
  const partner = req.partner ?? null;
  return partner !== null && file.partner !== null && partner !== file.partner ? 'PIPELINE_FILE_OTHER_PARTNER' : undefined;
}
