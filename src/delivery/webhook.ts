// Webhook delivery (optional, per deployment): a BullMQ worker on the events queue POSTs every canonical
// event to the ERP's URL, signed, with the event id as idempotency key. The ledger records every attempt;
// a 2xx marks the event consumed; an event that cannot be delivered ends in the dead-letter state, where
// `waybill dlq list|replay` finds it.
//
// The request
//   POST <url>
//   Content-Type: application/json
//   X-Waybill-Event-Id: <event id>          (also sent as Idempotency-Key: <event id>)
//   X-Waybill-Event-Type: <event type>      (e.g. shipment.status@1)
//   X-Waybill-Timestamp: <unix seconds when this attempt was signed>
//   X-Waybill-Signature: sha256=<hex>
//   body: the canonical event as JSON (UTF-8)
//
// Signature scheme (for ERP teams)
//   hex = lowercase hex of HMAC-SHA256(key = shared secret as UTF-8,
//                                      message = X-Waybill-Timestamp + "." + raw request body bytes)
//   To verify: take the body bytes exactly as received (before any JSON parsing or re-serialising),
//   recompute the HMAC, compare in constant time, and reject timestamps more than a few minutes from your
//   clock (replay protection). Every retry is signed afresh with a new timestamp. `verifyWaybillSignature()`
//   below does all of this for Node receivers.
//
// Delivery contract: at least once. The same event can arrive more than once (a timeout after the ERP
// already stored it, a replay from the dead-letter queue, a worker crash): deduplicate by Idempotency-Key
// (= X-Waybill-Event-Id = the event's `id`), which never changes for an event, replays included.
//
// Answers and retries
//   2xx                       delivered: the ledger marks the event consumed.
//   5xx, 408, 429             retried with exponential backoff (baseDelayMs * 2^(attempt-1), at most
//                             maxDelayMs); on 429 and 503 a Retry-After (seconds or HTTP date) is honoured,
//                             capped at maxDelayMs.
//   timeout, connection error retried the same way (each attempt has its own timeout, an AbortSignal).
//   any other 4xx, 3xx        not retried (redirects are not followed: configure the final URL): the event
//                             goes to the dead-letter state at once.
//   after `attempts` attempts the event goes to the dead-letter state.
//   gateway died mid-attempt  the job is taken up again once its lock expires (up to lockDuration +
//                             stalledInterval, about a minute); that counts as an attempt, and an event
//                             whose attempts all ended so goes to the dead-letter state unsent.
// Only the status decides. Of the answer's body at most MAX_ANSWER_BYTES (64 KiB) is read, for the error
// message; the rest is discarded unread, so a huge or endless body costs neither memory nor the timeout.
// Retries do not depend on the job options the producer chose (the relay's attempts/backoff are for ERP
// consumers reading the queue): a retry moves the job to BullMQ's delayed set itself (DelayedError), and
// a final failure throws UnrecoverableError so BullMQ never retries it on its own; the job then stays in
// the failed set, and the relay (which records consumption from the completed set) never marks it
// consumed. Completed jobs are left to the job options and the relay, which removes them once recorded. The attempt number is the job's `attemptsStarted` (a replay is a new job, so it gets a full
// set of attempts again, as the ledger's revived delivery does).

import { createHmac, timingSafeEqual } from 'node:crypto';
import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../pipeline/context.js';
import { EVENTS_QUEUE } from '../queue/queues.js';

export const SIGNATURE_HEADER = 'x-waybill-signature';
export const TIMESTAMP_HEADER = 'x-waybill-timestamp';
export const EVENT_ID_HEADER = 'x-waybill-event-id';
export const EVENT_TYPE_HEADER = 'x-waybill-event-type';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export interface WebhookRetryOptions {
  /** Attempts in all, the first one included (default 8). */
  attempts?: number;
  /** Delay before the first retry; doubles each time (default 1,000 ms). */
  baseDelayMs?: number;
  /** Upper bound for any delay, Retry-After included (default 300,000 ms). */
  maxDelayMs?: number;
  /** Random reduction of each backoff delay, 0..1 (default 0.1: up to 10% shorter), so retries spread out. */
  jitter?: number;
}

export interface WebhookTarget {
  url: string;
  /** Shared secret for the HMAC signature. */
  secret: string;
  /** Per-request timeout, whole answer included (default 10,000 ms). */
  timeoutMs?: number;
  /** Extra request headers (e.g. an Authorization the ERP gateway wants). Waybill's own headers win. */
  headers?: Record<string, string>;
}

export interface WebhookDeliveryOptions extends WebhookTarget, WebhookRetryOptions {
  ledger: Ledger;
  /**
   * BullMQ connection: `{ url }`, or an ioredis client made for workers (createConnection(url, { role:
   * 'worker' }) from src/queue/queues.ts: maxRetriesPerRequest null, so it waits out Redis outages).
   */
  connection: ConnectionOptions;
  /** BullMQ key prefix (default BullMQ's `bull`, as src/queue). */
  prefix?: string;
  queueName?: string;
  /** Events in flight at once (default 4). */
  concurrency?: number;
  log?: Logger;
  now?: () => Date;
  /**
   * BullMQ's job lock (default max(30 s, 3 x timeoutMs)) and stalled-job check interval (default 30 s):
   * how soon a job whose gateway died mid-attempt is taken up again. Tests shorten them.
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

/** The part of an event the webhook needs; the whole object is the body. */
export interface DeliverableEvent {
  id: string;
  type?: string;
  [key: string]: unknown;
}

export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  /** Worth another attempt; `retryAfterMs` when the server said how long to wait. */
  | { kind: 'retry'; status: number | null; error: string; retryAfterMs?: number }
  /** Retrying cannot help (a 4xx other than 408/429, a redirect). */
  | { kind: 'reject'; status: number; error: string };

// ---------------------------------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------------------------------

/** `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. */
export function signWaybillPayload(secret: string, timestamp: string | number, body: string | Uint8Array): string {
  const h = createHmac('sha256', secret);
  h.update(`${timestamp}.`, 'utf8');
  h.update(body);
  return `sha256=${h.digest('hex')}`;
}

export interface VerifyInput {
  /** The shared secret; several during a rotation (any may match). */
  secret: string | readonly string[];
  /** The raw request body exactly as received. */
  body: string | Uint8Array;
  /** The X-Waybill-Signature header. */
  signature: string | null | undefined;
  /** The X-Waybill-Timestamp header (unix seconds). */
  timestamp: string | null | undefined;
  /** How far the timestamp may be from `now` (default 300 s); 0 or less switches the check off. */
  toleranceSeconds?: number;
  now?: Date;
}

/**
 * Verifies a Waybill webhook request: HMAC over `timestamp + "." + raw body` with the shared secret, compared
 * in constant time, and the timestamp within the tolerance. Returns false for anything malformed.
 *
 *   const ok = verifyWaybillSignature({ secret, body: rawBody, signature: req.headers['x-waybill-signature'],
 *     timestamp: req.headers['x-waybill-timestamp'] });
 */
export function verifyWaybillSignature(input: VerifyInput): boolean {
  const { signature, timestamp } = input;
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || !/^\d{1,15}$/.test(timestamp)) return false;
  const m = /^sha256=([0-9a-f]{64})$/i.exec(signature.trim());
  if (!m) return false;
  const tolerance = input.toleranceSeconds ?? 300;
  if (tolerance > 0) {
    const nowSeconds = Math.floor((input.now ?? new Date()).getTime() / 1000);
    if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) return false;
  }
  const given = Buffer.from(m[1].toLowerCase(), 'hex');
  const secrets = typeof input.secret === 'string' ? [input.secret] : input.secret;
  let ok = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signWaybillPayload(secret, timestamp, input.body).slice('sha256='.length), 'hex');
    // No early exit: every secret is compared, so timing says nothing about which one matched.
    if (timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

// ---------------------------------------------------------------------------------------------------
// One attempt
// ---------------------------------------------------------------------------------------------------

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: Date = new Date()): number | null {
  if (value == null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return null;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `timeout: no answer within ${timeoutMs} ms`;
  if (e?.name === 'AbortError') return 'aborted';
  const cause = e?.cause;
  if (cause && (cause.code || cause.message)) return `connection error: ${cause.code ?? ''}${cause.code && cause.message ? ' ' : ''}${cause.message ?? ''}`.trim();
  return `connection error: ${e?.message ?? String(err)}`;
}

/** At most this much of an answer's body is read (the rest is discarded unread): enough for an error snippet. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Reads at most `max` bytes of the body, then cancels the rest, so an endpoint that answers with a huge or
 * endless body costs neither memory nor the whole timeout. Null when the body could not be read.
 */
async function readCapped(res: Response, max = MAX_ANSWER_BYTES): Promise<Buffer | null> {
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      size += value.byteLength;
    }
    return Buffer.concat(chunks).subarray(0, max);
  } catch {
    return size > 0 ? Buffer.concat(chunks) : null;
  } finally {
    // Whatever is left is not wanted: cancelling closes the connection instead of reading it to the end.
    reader.cancel().catch(() => undefined);
  }
}

async function readSnippet(res: Response, max = 200): Promise<string> {
  const bytes = await readCapped(res);
  if (!bytes) return '';
  const oneLine = bytes.toString('utf8').replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}...` : oneLine;
}

/**
 * Makes one signed POST of `body` (the event's JSON) and classifies the answer. Never throws for HTTP or
 * network failures; `signal` (optional) aborts it from outside as well as the per-request timeout.
 */
export async function postEvent(
  target: WebhookTarget,
  event: DeliverableEvent,
  body: string,
  opts: { now?: Date; signal?: AbortSignal } = {},
): Promise<AttemptOutcome> {
  const timeoutMs = target.timeoutMs ?? 10_000;
  const now = opts.now ?? new Date();
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const own = new Set(['content-type', EVENT_ID_HEADER, IDEMPOTENCY_HEADER, EVENT_TYPE_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER]);
  const headers: Record<string, string> = {
    // Configured extras, minus any spelling of a header Waybill sets itself (no merged duplicates).
    ...Object.fromEntries(Object.entries(target.headers ?? {}).filter(([name]) => !own.has(name.toLowerCase()))),
    'content-type': 'application/json',
    [EVENT_ID_HEADER]: event.id,
    [IDEMPOTENCY_HEADER]: event.id,
    [EVENT_TYPE_HEADER]: typeof event.type === 'string' ? event.type : '',
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: signWaybillPayload(target.secret, timestamp, body),
  };
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  let res: Response;
  try {
    res = await fetch(target.url, { method: 'POST', headers, body, signal, redirect: 'manual' });
  } catch (err) {
    return { kind: 'retry', status: null, error: describeFetchError(timeout.aborted ? timeout.reason : err, timeoutMs) };
  }
  const status = res.status;
  if (status >= 200 && status < 300) {
    // Drain a short body (bounded by the same timeout) so the connection goes back to the pool; a long one
    // is cut off after MAX_ANSWER_BYTES, never read into memory whole. Its content does not matter.
    await readCapped(res);
    return { kind: 'delivered', status };
  }
  const snippet = await readSnippet(res);
  const error = `HTTP ${status}${res.statusText ? ` ${res.statusText}` : ''}${snippet ? `: ${snippet}` : ''}`;
  if (status >= 500 || status === 408 || status === 429) {
    const retryAfter = status === 429 || status === 503 ? parseRetryAfter(res.headers.get('retry-after'), now) : null;
    return retryAfter === null ? { kind: 'retry', status, error } : { kind: 'retry', status, error, retryAfterMs: retryAfter };
  }
  if (status >= 300 && status < 400) {
    return { kind: 'reject', status, error: `${error} (redirects are not followed; configure the final URL${res.headers.get('location') ? `: ${res.headers.get('location')}` : ''})` };
  }
  return { kind: 'reject', status, error };
}

/**
 * Delay before the next attempt after attempt number `attempt` (1-based) failed: exponential from
 * baseDelayMs, capped at maxDelayMs; a server's Retry-After replaces it (also capped).
 */
export function retryDelay(attempt: number, opts: WebhookRetryOptions = {}, retryAfterMs?: number, random: () => number = Math.random): number {
  const base = opts.baseDelayMs ?? 1_000;
  const max = opts.maxDelayMs ?? 300_000;
  if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), max);
  const exp = Math.min(max, base * 2 ** Math.max(0, Math.min(attempt - 1, 52)));
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.1));
  return Math.max(0, Math.round(exp * (1 - jitter * random())));
}

// ---------------------------------------------------------------------------------------------------
// The worker
// ---------------------------------------------------------------------------------------------------

export interface WebhookJobResult {
  status: number | null;
  attempt: number;
  /** True when the ledger already had the event consumed and nothing was sent. */
  skipped?: boolean;
}

/** Processes one events-queue job: one attempt, recorded in the ledger; retry via BullMQ's delayed set. */
function attemptsOf(opts: WebhookRetryOptions): number {
  return Math.max(1, Math.floor(opts.attempts ?? 8));
}

export function webhookProcessor(opts: WebhookDeliveryOptions) {
  const attempts = attemptsOf(opts);
  const clock = opts.now ?? (() => new Date());
  const log = opts.log;
  return async (job: Job<DeliverableEvent>, token?: string, signal?: AbortSignal): Promise<WebhookJobResult> => {
    const event = job.data;
    if (!event || typeof event !== 'object' || typeof event.id !== 'string' || event.id === '') {
      throw new UnrecoverableError(`job ${job.id} holds no event (an object with a string id)`);
    }
    const eventId = event.id;
    const attempt = Math.max(1, job.attemptsStarted);
    const row = await opts.ledger.getEvent(eventId);
    if (row?.consumedAt) {
      // Already delivered (a republish after Redis lost its data, a duplicate job): nothing to send.
      log?.info({ eventId, jobId: job.id }, 'event already consumed; not sent again');
      return { status: null, attempt, skipped: true };
    }
    if (attempt > attempts) {
      // Every attempt was started, the last cut short by a gateway that died mid-attempt (its job stalled
      // and was taken up again): the event has had its attempts and goes to the dead-letter state unsent.
      const error = `${attempt - 1} attempt(s) started (${attempts} allowed), the last without an answer: the gateway stopped during it`;
      await opts.ledger.recordDelivery(eventId, { ok: false, status: null, error, dead: true });
      await opts.ledger.audit({ action: 'event.dead-lettered', eventId, details: { status: null, error, attempt, jobId: job.id } });
      log?.error({ eventId, jobId: job.id, err: error, attempt }, `event dead-lettered (after ${attempt - 1} attempt(s))`);
      throw new UnrecoverableError(`event ${eventId} dead-lettered after ${attempt - 1} attempt(s): ${error}`);
    }
    const body = JSON.stringify(event);
    const outcome = await postEvent(opts, event, body, { now: clock(), signal });
    if (outcome.kind === 'delivered') {
      await opts.ledger.recordDelivery(eventId, { ok: true, status: outcome.status });
      await opts.ledger.markConsumed([eventId], clock().toISOString());
      await opts.ledger.audit({ action: 'event.delivered', eventId, details: { status: outcome.status, attempt, jobId: job.id } });
      log?.info({ eventId, jobId: job.id, status: outcome.status, attempt }, 'event delivered');
      return { status: outcome.status, attempt };
    }
    const dead = outcome.kind === 'reject' || attempt >= attempts;
    const state = await opts.ledger.recordDelivery(eventId, { ok: false, status: outcome.status, error: outcome.error, dead });
    if (dead) {
      const why = outcome.kind === 'reject' ? 'not retryable' : `after ${attempt} attempt(s)`;
      await opts.ledger.audit({ action: 'event.dead-lettered', eventId, details: { status: outcome.status, error: outcome.error, attempt, jobId: job.id } });
      log?.error({ eventId, jobId: job.id, status: outcome.status, err: outcome.error, attempt }, `event dead-lettered (${why})`);
      throw new UnrecoverableError(`event ${eventId} dead-lettered ${why}: ${outcome.error}`);
    }
    const delay = retryDelay(attempt, opts, outcome.retryAfterMs);
    log?.warn({ eventId, jobId: job.id, status: outcome.status, err: outcome.error, attempt, ledgerAttempts: state.attempts, retryInMs: delay }, 'event delivery failed; will retry');
    if (!token) throw new Error(`event ${eventId}: delivery failed (${outcome.error}); no lock token to delay the job with`);
    await job.moveToDelayed(Date.now() + delay, token);
    throw new DelayedError();
  };
}

export interface WebhookDelivery {
  worker: Worker<DeliverableEvent, WebhookJobResult>;
  close(): Promise<void>;
}

/** Starts the webhook worker on the events queue. */
export function startWebhookDelivery(opts: WebhookDeliveryOptions): WebhookDelivery {
  if (!/^https?:\/\//i.test(opts.url)) throw new Error(`webhook url must be http(s): ${opts.url}`);
  if (!opts.secret) throw new Error('webhook secret is empty: the ERP could not verify any request');
  const worker = new Worker<DeliverableEvent, WebhookJobResult>(opts.queueName ?? EVENTS_QUEUE, webhookProcessor(opts), {
    connection: opts.connection,
    ...(opts.prefix !== undefined && { prefix: opts.prefix }),
    concurrency: opts.concurrency ?? 4,
    // A request may take up to timeoutMs; keep the lock comfortably longer than one attempt.
    lockDuration: opts.lockDurationMs ?? Math.max(30_000, (opts.timeoutMs ?? 10_000) * 3),
    ...(opts.stalledIntervalMs !== undefined && { stalledInterval: opts.stalledIntervalMs }),
    // A job whose gateway died mid-attempt is always taken up again (BullMQ's default, 1 stall, failed it
    // on the second: neither delivered nor dead-lettered, out of sight of `waybill dlq`). Each take-up
    // counts as an attempt (attemptsStarted), so webhookProcessor dead-letters it once they run out.
    maxStalledCount: attemptsOf(opts) + 1,
  });
  worker.on('error', (err) => opts.log?.error({ err: err.message }, 'webhook worker error'));
  return {
    worker,
    close: () => worker.close(),
  };
}
