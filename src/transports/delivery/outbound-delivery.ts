// Delivers the ledger's pending outbound documents (acknowledgments now; tenders and invoices later)
// through each partner's configured transport: its folder on our hosted SFTP server, or its own server.
// Every attempt and its result is recorded in the ledger (attempts, last error). A document is never
// delivered twice: its file name comes from the document, and the final rename is noted in the ledger
// before it happens, so after a crash "temp file gone" proves the rename was done. Partners are served
// independently: a partner whose server hangs delays only its own documents.
import { WaybillError } from '../../errors/catalogue.js';
import type { Ledger, OutboundDocument } from '../../ledger/ledger.js';
import { statOrNull } from '../sftp/remote/after-intake.js';
import { backoffMs } from '../sftp/remote/backoff.js';
import type { RemoteSftpConfig } from '../sftp/remote/config.js';
import { connectRemote, type RemoteConnection } from '../sftp/remote/connect.js';
import { quietLogger, type TransportLogger } from '../sftp/remote/log.js';
import { renderFileName } from '../sftp/remote/names.js';
import { pushFile, type PushHooks, type PushResult } from '../sftp/remote/push.js';
import { hostedOutboundDir, hostedWasPlaced, placeHosted, type OnExists } from './hosted-outbound.js';
import { routeFor, type Route } from './routes.js';

export interface OutboundDeliveryOptions {
  ledger: Ledger;
  /** The data directory; hosted outbound folders are <dataDir>/sftp/<partner>/outbound/. */
  dataDir: string;
  /** The partner's `transports` block from partner.yaml (undefined: unknown partner). */
  partnerTransports: (partnerId: string) => Record<string, unknown> | undefined;
  /** Whether a partner has a hosted SFTP account (default: a `transports.sftp` block exists). */
  hasHostedAccount?: (transports: Record<string, unknown>) => boolean;
  /** Names and clash handling in hosted outbound folders. */
  hosted?: { fileName?: string; onExists?: OnExists };
  /** Backoff for hosted delivery failures (remote partners use their own retry block). */
  retry?: { baseSeconds: number; maxSeconds: number };
  intervalMs?: number;
  /** Pending documents read per partner and pass (default 5000). */
  batchSize?: number;
  log?: TransportLogger;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** Seam for tests: awaited after the upload/rename of a document; a throw acts as a crash there. */
  onStep?: (step: 'placed', info: { docId: string; partner: string; path: string }) => void | Promise<void>;
}

export interface DeliveryResult {
  delivered: number;
  /** Attempted and failed this time (retried with backoff). */
  failed: number;
  /** Not attempted: waiting for their backoff, or the partner has no usable transport. */
  deferred: number;
}

const DEFAULT_HOSTED_NAME = '{kind}_{control}_{id}.edi';

export class OutboundDelivery {
  private readonly log: TransportLogger;
  private readonly inflight = new Map<string, Promise<DeliveryResult>>();
  /** Earliest next attempt per document and per partner connection (in memory: a restart retries at once). */
  private readonly docNextAt = new Map<string, number>();
  private readonly partnerNextAt = new Map<string, { at: number; failures: number }>();
  private readonly loggedOnce = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  /** Set while stop() waits: partners in flight end after their current document. */
  private stopping = false;

  constructor(private readonly opts: OutboundDeliveryOptions) {
    this.log = opts.log ?? quietLogger;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      // Not awaited as a whole: each partner runs on its own; a slow one is simply still in flight next tick.
      void this.runOnce().catch((err: Error) => this.log.error({ err: err.message }, 'outbound delivery pass failed'));
      this.timer = setTimeout(tick, this.opts.intervalMs ?? 5_000);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopping = true;
    try {
      await Promise.allSettled([...this.inflight.values()]);
    } finally {
      this.stopping = false;
    }
  }

  /** One pass: every partner with pending documents, in parallel; a partner already in flight is joined. */
  async runOnce(): Promise<DeliveryResult> {
    // A page per partner, not one page for all: documents that wait (a partner whose server is down, one
    // without a route) stay pending, and in one page ordered by age a backlog of one partner's crowded out
    // every other partner's documents for as long as it lasted.
    const limit = this.opts.batchSize ?? 5_000;
    const byPartner = new Map<string, OutboundDocument[]>();
    const total: DeliveryResult = { delivered: 0, failed: 0, deferred: 0 };
    for (const partner of await this.opts.ledger.pendingOutboundPartners()) {
      if (partner !== null && this.inflight.has(partner)) { byPartner.set(partner, []); continue; } // joined below
      const docs = await this.opts.ledger.listOutboundDocuments({ partner, state: 'pending', limit });
      if (partner === null) {
        for (const doc of docs) {
          this.once(`nopartner:${doc.id}`, () => this.log.warn({ docId: doc.id, code: 'DELIVERY_NO_TRANSPORT' }, 'outbound document has no partner; left pending'));
        }
        total.deferred += docs.length;
        continue;
      }
      if (docs.length) byPartner.set(partner, docs);
    }
    const runs = [...byPartner].flatMap(([partner, docs]) => {
      let run = this.inflight.get(partner);
      if (!run) {
        if (!docs.length) return []; // was in flight when listed, and has finished since: next pass
        run = this.deliverPartner(partner, docs).finally(() => this.inflight.delete(partner));
        this.inflight.set(partner, run);
      }
      return [run];
    });
    for (const r of await Promise.allSettled(runs)) {
      if (r.status === 'fulfilled') {
        total.delivered += r.value.delivered;
        total.failed += r.value.failed;
        total.deferred += r.value.deferred;
      } else {
        const cause = (r.reason as { code?: unknown } | null)?.code;
        this.log.error({ code: 'DELIVERY_FAILED', ...(typeof cause === 'string' && { cause }), err: (r.reason as Error).message }, 'outbound delivery: partner run failed');
      }
    }
    return total;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private once(key: string, fn: () => void): void {
    if (this.loggedOnce.has(key)) return;
    this.loggedOnce.add(key);
    fn();
  }

  private async deliverPartner(partner: string, docs: OutboundDocument[]): Promise<DeliveryResult> {
    const result: DeliveryResult = { delivered: 0, failed: 0, deferred: 0 };
    const route = routeFor(this.opts.partnerTransports(partner), this.opts.hasHostedAccount);
    if (route.kind === 'none') {
      this.once(`noroute:${partner}:${route.reason}`, () => this.log.warn({ partner, code: 'DELIVERY_NO_TRANSPORT', reason: route.reason, pending: docs.length },
        'outbound documents stay pending: the partner has no usable outbound transport'));
      result.deferred = docs.length;
      return result;
    }
    this.loggedOnce.forEach((k) => { if (k.startsWith(`noroute:${partner}:`)) this.loggedOnce.delete(k); });
    const now = this.now();
    const blocked = this.partnerNextAt.get(partner);
    const due = docs.filter((d) => (this.docNextAt.get(d.id) ?? 0) <= now);
    result.deferred = docs.length - due.length;
    if (!due.length) return result;
    if (blocked && blocked.at > now) {
      result.deferred += due.length;
      return result;
    }
    let conn: RemoteConnection | null = null;
    if (route.kind === 'remote') {
      try {
        conn = await connectRemote(route.config, { partner, log: this.log, env: this.opts.env });
        this.partnerNextAt.delete(partner);
      } catch (err) {
        const failures = (blocked?.failures ?? 0) + 1;
        this.partnerNextAt.set(partner, { at: this.now() + backoffMs(failures, route.config.retry.baseSeconds, route.config.retry.maxSeconds), failures });
        for (const doc of due) await this.recordFailure(doc, route, err as Error);
        result.failed += due.length;
        return result;
      }
    }
    try {
      for (const doc of due) {
        if (this.stopping) { result.deferred++; continue; }
        if (conn && !conn.alive()) { result.deferred++; continue; }
        try {
          await this.deliverOne(doc, route, conn);
          result.delivered++;
        } catch (err) {
          await this.recordFailure(doc, route, conn && route.kind === 'remote' ? connectionFault(conn, route.config, err as Error) : err as Error);
          result.failed++;
        }
      }
    } finally {
      await conn?.close();
    }
    return result;
  }

  private async deliverOne(doc: OutboundDocument, route: Exclude<Route, { kind: 'none' }>, conn: RemoteConnection | null): Promise<void> {
    const { ledger } = this.opts;
    const partner = doc.partner as string;
    const note = await ledger.getOutboundTransfer(doc.id);
    // Where the noted rename was made: for a remote route the server too, since "temp gone" is only
    // evidence on the server the temp was written to. A partner moved to another host between a crash
    // and the restart had its document taken for delivered because the new server had no such temp file.
    // (Notes from before the server was recorded say only 'remote' and are trusted as before.)
    const destination = route.kind === 'remote' ? `remote ${route.config.username}@${route.config.host}:${route.config.port}` : 'hosted';
    if (note) {
      if (note.transport === destination || (route.kind === 'remote' && note.transport === 'remote')) {
        // A previous attempt noted its final rename and then stopped (crash, dropped connection).
        const placed = route.kind === 'remote'
          ? (await statOrNull(conn as RemoteConnection, note.temp)) === null
          : await hostedWasPlaced(note.target, note.temp);
        if (placed) {
          await this.markDelivered(doc, route.kind, note.target, 'recovered');
          return;
        }
      }
      // That attempt did not place the file, so its note is void; the attempt below notes its own rename.
      // Kept, it outlived a re-upload that failed and removed its temp file (disk full at the partner): the
      // next pass found "temp gone" and marked the document delivered, though nothing had been renamed.
      await ledger.setOutboundTransfer(doc.id, null);
    }
    const hooks: PushHooks = {
      beforeRename: (target, temp) => ledger.setOutboundTransfer(doc.id, { transport: destination, target, temp }),
      renameRefused: () => ledger.setOutboundTransfer(doc.id, null),
    };
    let placed: PushResult;
    if (route.kind === 'remote') {
      placed = await pushFile(conn as RemoteConnection, route.outbound, renderFileName(route.outbound.fileName, doc), doc.content, hooks);
    } else {
      const h = this.opts.hosted ?? {};
      const dir = hostedOutboundDir(this.opts.dataDir, partner);
      placed = await placeHosted(dir, renderFileName(h.fileName ?? DEFAULT_HOSTED_NAME, doc), doc.content, h.onExists ?? 'unique', hooks);
    }
    await this.opts.onStep?.('placed', { docId: doc.id, partner, path: placed.path });
    await this.markDelivered(doc, route.kind, placed.path, 'placed');
  }

  private async markDelivered(doc: OutboundDocument, transport: string, path: string, how: 'placed' | 'recovered'): Promise<void> {
    const { ledger } = this.opts;
    await ledger.setOutboundState(doc.id, 'delivered', null);
    await ledger.setOutboundTransfer(doc.id, null);
    this.docNextAt.delete(doc.id);
    await ledger.audit({ action: 'outbound.delivered', details: { docId: doc.id, partner: doc.partner, kind: doc.kind, transport, path, how } });
    this.log.info({ docId: doc.id, partner: doc.partner, kind: doc.kind, transport, path, how }, 'outbound document delivered');
  }

  private async recordFailure(doc: OutboundDocument, route: Exclude<Route, { kind: 'none' }>, err: Error): Promise<void> {
    const code = err instanceof WaybillError ? err.code : 'DELIVERY_FAILED';
    await this.opts.ledger.setOutboundState(doc.id, 'pending', `${code}: ${err.message}`);
    const retry = route.kind === 'remote' ? route.config.retry : (this.opts.retry ?? { baseSeconds: 5, maxSeconds: 600 });
    const wait = backoffMs(doc.attempts + 1, retry.baseSeconds, retry.maxSeconds);
    this.docNextAt.set(doc.id, this.now() + wait);
    this.log.warn({ docId: doc.id, partner: doc.partner, transport: route.kind, attempt: doc.attempts + 1, code, err: err.message, retryInMs: wait },
      'outbound delivery failed; retrying with backoff');
  }
}

/**
 * A failure that closed the connection, with a code of its own: ssh2 says only 'No response from server'
 * (recorded as DELIVERY_FAILED, the same as any other fault). Closed by the stall watchdog:
 * SFTP_REMOTE_STALLED, as for the poller; dropped: DELIVERY_CONNECTION_LOST.
 */
function connectionFault(conn: RemoteConnection, cfg: RemoteSftpConfig, err: Error): Error {
  if (conn.alive() || err instanceof WaybillError) return err;
  const where = { host: cfg.host, port: cfg.port };
  const stalled = conn.stalledAfter();
  if (stalled !== null) {
    return new WaybillError('SFTP_REMOTE_STALLED', `${cfg.host}:${cfg.port} left an SFTP request unanswered for ${stalled} s (operationTimeoutSeconds) during a delivery; connection closed, retried with backoff`, where);
  }
  return new WaybillError('DELIVERY_CONNECTION_LOST', `the connection to ${cfg.host}:${cfg.port} dropped during the delivery (${err.message}); retried with backoff on a new connection`, where);
}
