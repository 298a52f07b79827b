// intake(): the single entry for every transport. It stores the file durably and records it in the
// ledger (a synchronous=FULL commit) and only then returns: a transport may acknowledge its sender
// (delete the remote file, answer the upload, send the MDN) only after intake has returned.
import type { FileRecord } from '../ledger/ledger.js';
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
  /** False when the same bytes were taken in before: no new events will come of them. */
  created: boolean;
  file: FileRecord;
}

export async function intake(ctx: PipelineContext & { dispatcher?: Dispatcher }, req: IntakeRequest): Promise<IntakeResult> {
  const stored = await storeFile(ctx.dataDir, req.input);
  const receivedAt = (ctx.now?.() ?? new Date()).toISOString();
  const { file, created } = await ctx.ledger.recordFile({
    id: stored.id, size: stored.size, partner: req.partner ?? null, transport: req.transport,
    originalName: req.originalName, originalPath: req.originalPath ?? null, storedPath: stored.storedPath, receivedAt,
  });
  await ctx.ledger.audit({ action: created ? 'file.received' : 'file.received-again', fileId: file.id, correlationId: req.correlationId,
    details: { transport: req.transport, name: req.originalName, size: stored.size } });
  ctx.log.info({ fileId: file.id, transport: req.transport, name: req.originalName, size: stored.size, created }, created ? 'file taken in' : 'same file taken in again');
  if (created && ctx.dispatcher) {
    try {
      await ctx.dispatcher.dispatch(file.id);
    } catch (err) {
      // The file is durable; the recovery sweep will dispatch it. Never fail the sender for this.
      ctx.log.warn({ fileId: file.id, err: (err as Error).message }, 'dispatch failed; the recovery sweep will pick the file up');
    }
  }
  return { fileId: file.id, created, file };
}
