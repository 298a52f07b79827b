// Webhook delivery against real Redis and a real HTTP receiver standing in for the ERP endpoint.
// The receiver deduplicates by Idempotency-Key as the delivery contract asks ERP teams to, and counts the
// raw requests too. No timing assertions: phases are driven by request counts, waits are bounded polls.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import {
  MAX_ANSWER_BYTES, parseRetryAfter, postEvent, retryDelay, signWaybillPayload, startWebhookDelivery, verifyWaybillSignature,
  type DeliverableEvent, type WebhookDelivery,
} from '../../src/delivery/webhook.js';
import { EVENTS_QUEUE } from '../../src/queue/queues.js';
import { EVENT_JOB_OPTIONS } from '../../src/queue/relay.js';
import { waybill } from '../helpers/cli.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'test-shared-secret';

// ---------------------------------------------------------------------------------------------------
// Pure parts: signature, Retry-After, backoff
// ---------------------------------------------------------------------------------------------------

describe('webhook signature and retry arithmetic', () => {
  const body = '{"id":"evt_a","type":"shipment.status@1"}';
  const now = new Date('2025-01-01T00:00:00Z');
  const ts = String(now.getTime() / 1000);

  it('signs timestamp + "." + body with HMAC-SHA256 and verifies it', async () => {
    const sig = signWaybillPayload(SECRET, ts, body);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWaybillSignature({ secret: SECRET, body, signature: sig, timestamp: ts, now })).toBe(true);
    expect(verifyWaybillSignature({ secret: SECRET, body: Buffer.from(body), signature: sig, timestamp: ts, now })).toBe(true);
    // Rotation: any of several secrets.
    expect(verifyWaybillSignature({ secret: ['old', SECRET], body, signature: sig, timestamp: ts, now })).toBe(true);
  });

  it('rejects a changed body, timestamp or secret, a stale timestamp and malformed headers', async () => {
    const sig = signWaybillPayload(SECRET, ts, body);
    expect(verifyWaybillSignature({ secret: SECRET, body: `${body} `, signature: sig, timestamp: ts, now })).toBe(false);
    expect(verifyWaybillSignature({ secret: SECRET, body, signature: sig, timestamp: String(Number(ts) + 1), now })).toBe(false);
    expect(verifyWaybillSignature({ secret: 'other', body, signature: sig, timestamp: ts, now })).toBe(false);
    const late = new Date(now.getTime() + 301_000);
    expect(verifyWaybillSignature({ secret: SECRET, body, signature: sig, timestamp: ts, now: late })).toBe(false);
    expect(verifyWaybillSignature({ secret: SECRET, body, signature: sig, timestamp: ts, now: late, toleranceSeconds: 0 })).toBe(true);
    for (const bad of [undefined, '', 'sha256=', 'sha1=abc', sig.slice(0, -2), `${sig}00`]) {
      expect(verifyWaybillSignature({ secret: SECRET, body, signature: bad, timestamp: ts, now })).toBe(false);
    }
    expect(verifyWaybillSignature({ secret: SECRET, body, signature: sig, timestamp: 'x', now })).toBe(false);
  });

  it('reads Retry-After as seconds or an HTTP date', async () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter(new Date(now.getTime() + 5000).toUTCString(), now)).toBe(5000);
    expect(parseRetryAfter(new Date(now.getTime() - 5000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter('-1', now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
  });

  it('backs off exponentially up to the max delay; Retry-After replaces it, capped too', async () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelay(a, opts))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(retryDelay(60, opts)).toBe(1000);
    expect(retryDelay(2, opts, 50)).toBe(50);
    expect(retryDelay(2, opts, 60_000)).toBe(1000);
    const jittered = retryDelay(3, { ...opts, jitter: 0.5 }, undefined, () => 1);
    expect(jittered).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------------
// Real Redis, real HTTP
// ---------------------------------------------------------------------------------------------------

describe('one webhook attempt: how answers are classified', () => {
  it('2xx delivered; 5xx, 408, 429, timeouts and refused connections retried; other 4xx and 3xx rejected', async () => {
    const receiver = new Receiver((_n, d): Answer => {
      const want = JSON.parse(d.body).want as number | 'hang';
      if (want === 'hang') return 'hang';
      const headers: Record<string, string> = want === 429 || want === 503 ? { 'retry-after': '7' } : want === 302 ? { location: 'http://elsewhere/' } : {};
      return { status: want, headers };
    });
    await receiver.start();
    try {
      // A short timeout only where the receiver hangs: a loaded machine (a full test run on 2 cores) took
      // more than 300 ms to answer a 200 once.
      const target = { url: receiver.url, secret: SECRET, timeoutMs: 10_000 };
      const attempt = (want: number | 'hang') => postEvent(want === 'hang' ? { ...target, timeoutMs: 300 } : target,
        { id: 'evt_x', type: 't@1', want }, JSON.stringify({ id: 'evt_x', want }));
      expect(await attempt(200)).toEqual({ kind: 'delivered', status: 200 });
      expect(await attempt(204)).toEqual({ kind: 'delivered', status: 204 });
      expect(await attempt(500)).toMatchObject({ kind: 'retry', status: 500, error: expect.stringMatching(/^HTTP 500/) });
      expect(await attempt(502)).not.toHaveProperty('retryAfterMs');
      expect(await attempt(503)).toMatchObject({ kind: 'retry', status: 503, retryAfterMs: 7000 });
      expect(await attempt(429)).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: 7000 });
      expect(await attempt(408)).toMatchObject({ kind: 'retry', status: 408 });
      expect(await attempt('hang')).toMatchObject({ kind: 'retry', status: null, error: 'timeout: no answer within 300 ms' });
      for (const status of [400, 401, 403, 404, 409, 410, 413, 422]) {
        expect(await attempt(status)).toMatchObject({ kind: 'reject', status, error: expect.stringMatching(new RegExp(`^HTTP ${status}.*answer ${status} for evt_x`)) });
      }
      expect(await attempt(302)).toMatchObject({ kind: 'reject', status: 302, error: expect.stringMatching(/redirects are not followed.*http:\/\/elsewhere\//) });
      expect(receiver.raw.every((r) => r.verified)).toBe(true);
      // Extra configured headers go along; they cannot replace Waybill's own.
      const extra = { ...target, headers: { Authorization: 'Bearer erp-token', 'Content-Type': 'text/plain', 'IDEMPOTENCY-KEY': 'other' } };
      expect(await postEvent(extra, { id: 'evt_x', type: 't@1' }, JSON.stringify({ id: 'evt_x', want: 200 }))).toMatchObject({ kind: 'delivered' });
      expect(receiver.raw.at(-1)!.headers).toMatchObject({ authorization: 'Bearer erp-token', 'content-type': 'application/json', 'idempotency-key': 'evt_x' });
    } finally {
      await receiver.stop();
    }
    // A port that was just free: nothing listens there any more.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await postEvent({ url: `http://127.0.0.1:${port}/`, secret: SECRET, timeoutMs: 2000 }, { id: 'evt_x' }, '{}');
    expect(refused).toMatchObject({ kind: 'retry', status: null, error: expect.stringMatching(/^connection error: ECONNREFUSED/) });
  });
});

describe('one webhook attempt: a huge or endless answer body', () => {
  it('reads at most MAX_ANSWER_BYTES of it, for a 2xx and for an error alike, and does not wait for its end', async () => {
    // The endpoint answers with a body that never ends (a misbehaving proxy streaming a file): data keeps
    // coming as fast as the sender reads it. Reading it whole would fill memory, or run to the timeout.
    const streams = new Set<ServerResponse>();
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = Number(req.headers['x-want']);
        res.writeHead(status, { 'content-type': 'text/plain' });
        streams.add(res);
        const chunk = Buffer.alloc(64 * 1024, 'x');
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) { /* until the socket pushes back */ }
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
        res.on('close', () => streams.delete(res));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    try {
      // A timeout far beyond the test's own: only a bounded read lets these attempts end at all.
      const attempt = (want: number) => Promise.race([
        postEvent({ url, secret: SECRET, timeoutMs: 600_000, headers: { 'x-want': String(want) } }, { id: 'evt_x' }, '{}'),
        new Promise((resolve) => setTimeout(() => resolve('still reading'), 30_000)),
      ]);
      expect(await attempt(200)).toEqual({ kind: 'delivered', status: 200 });
      expect(await attempt(500)).toEqual({ kind: 'retry', status: 500, error: `HTTP 500 Internal Server Error: ${'x'.repeat(200)}...` });
      expect(await attempt(400)).toMatchObject({ kind: 'reject', status: 400, error: expect.stringMatching(/^HTTP 400 Bad Request: x{200}\.\.\.$/) });
      expect(MAX_ANSWER_BYTES).toBe(64 * 1024);
      // The sender hung up on each of them.
      expect(await waitFor(() => streams.size === 0, 200)).toBe(true);
    } finally {
      for (const res of streams) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 120_000);
});

interface RawDelivery {
  id: string;
  headers: IncomingMessage['headers'];
  body: string;
  verified: boolean;
}

type Answer = { status: number; headers?: Record<string, string> } | 'hang';

/** The ERP stand-in: dedupes by Idempotency-Key, records every raw request. */
class Receiver {
  readonly raw: RawDelivery[] = [];
  /** Idempotency-Key -> how many times the ERP took the event in (must end at 1). */
  readonly accepted = new Map<string, number>();
  private server!: Server;
  private readonly hung = new Set<ServerResponse>();
  /** Requests the sender gave up on (closed the connection) while we held the answer back. */
  abandoned = 0;
  url = '';

  /** `decide` picks the answer from the 1-based request number and the request. */
  constructor(private decide: (n: number, d: RawDelivery) => Answer) {}

  setDecide(decide: (n: number, d: RawDelivery) => Answer): void {
    this.decide = decide;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const d: RawDelivery = {
          id: String(req.headers['idempotency-key'] ?? ''),
          headers: req.headers,
          body: body.toString('utf8'),
          verified: verifyWaybillSignature({
            secret: SECRET, body, signature: req.headers['x-waybill-signature'] as string | undefined,
            timestamp: req.headers['x-waybill-timestamp'] as string | undefined,
          }),
        };
        this.raw.push(d);
        const answer = this.decide(this.raw.length, d);
        if (answer === 'hang') {
          // The ERP stored the event but its answer never arrives in time (the sender gives up first).
          this.accept(d);
          this.hung.add(res);
          res.on('close', () => {
            if (this.hung.delete(res)) this.abandoned++;
          });
          return;
        }
        if (answer.status >= 200 && answer.status < 300) this.accept(d);
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.status >= 400 ? `answer ${answer.status} for ${d.id}` : 'ok');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/events`;
  }

  private accept(d: RawDelivery): void {
    if (!d.verified) return;
    // Dedupe by Idempotency-Key: a key seen before is answered but not taken in again.
    if (!this.accepted.has(d.id)) this.accepted.set(d.id, 1);
  }

  requestsFor(id: string): RawDelivery[] {
    return this.raw.filter((r) => r.id === id);
  }

  async stop(): Promise<void> {
    const hung = [...this.hung];
    this.hung.clear();
    for (const res of hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls `cond` at most `tries` times (bounded), `everyMs` apart; returns whether it became true. */
async function waitFor(cond: () => boolean | Promise<boolean>, tries = 600, everyMs = 50): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

function makeEvent(i: number, tag: string): DeliverableEvent {
  return {
    id: `evt_${tag}${String(i).padStart(4, '0')}`,
    type: 'shipment.status@1',
    partner: 'acme-freight',
    occurredAt: '2025-01-01T12:00:00Z',
    shipment: { pro: `PRO${i}` },
    status: { code: 'delivered', rawCode: 'D1' },
  };
}

interface Rig {
  dir: string;
  ledger: SqliteLedger;
  prefix: string;
  queue: Queue;
  receiver: Receiver;
  delivery?: WebhookDelivery;
  events: DeliverableEvent[];
}

const rigs: Rig[] = [];
let redisOk = false;

beforeAll(async () => {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    redisOk = (await probe.ping()) === 'PONG';
  } catch {
    redisOk = false;
  } finally {
    probe.disconnect();
  }
});

afterEach(async () => {
  while (rigs.length) {
    const rig = rigs.pop()!;
    await rig.delivery?.close().catch(() => {});
    await rig.queue.obliterate({ force: true }).catch(() => {});
    await rig.queue.close().catch(() => {});
    const redis = new Redis(REDIS_URL);
    try {
      // Anything else under this test's prefix (events stream, meta, markers).
      let cursor = '0';
      for (let i = 0; i < 10_000; i++) {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${rig.prefix}:*`, 'COUNT', 500);
        if (keys.length) await redis.del(...keys);
        cursor = next;
        if (cursor === '0') break;
      }
    } finally {
      redis.disconnect();
    }
    await rig.receiver.stop();
    await rig.ledger.close();
    rmSync(rig.dir, { recursive: true, force: true });
  }
});

async function makeRig(count: number, tag: string, decide: (n: number, d: RawDelivery) => Answer): Promise<Rig> {
  if (!redisOk) throw new Error(`Redis is not reachable at ${REDIS_URL}: start one (e.g. \`redis-server --daemonize yes\`) or set REDIS_URL`);
  const dir = mkdtempSync(join(tmpdir(), 'wb-webhook-'));
  const ledger = new SqliteLedger(join(dir, 'ledger.db'));
  const prefix = `wbtest-${randomBytes(6).toString('hex')}`;
  const queue = new Queue(EVENTS_QUEUE, { connection: { url: REDIS_URL }, prefix });
  const receiver = new Receiver(decide);
  await receiver.start();
  const events = Array.from({ length: count }, (_, i) => makeEvent(i, tag));
  // The events as the pipeline leaves them: in the ledger's outbox, then published to the queue.
  await ledger.commitBatch({
    fileId: 'sha256-test', unitsDone: count, units: [],
    events: events.map((e) => ({ id: e.id, fileId: 'sha256-test', unitId: `u-${e.id}`, type: e.type!, partner: 'acme-freight', payload: JSON.stringify(e) })),
  });
  const rig: Rig = { dir, ledger, prefix, queue, receiver, events };
  rigs.push(rig);
  return rig;
}

async function publish(rig: Rig): Promise<void> {
  // As the relay publishes: its job options (attempts/backoff for ERP consumers, which the webhook
  // worker does not use), job id = event id.
  await rig.queue.addBulk(rig.events.map((e) => ({ name: e.type!, data: e, opts: { ...EVENT_JOB_OPTIONS, jobId: e.id } })));
  await rig.ledger.markPublished(rig.events.map((e) => e.id), new Date().toISOString());
}

function cli(rig: Rig, args: string[]) {
  return waybill([...args, '--data', rig.dir, '--redis-url', REDIS_URL, '--queue-prefix', rig.prefix]);
}

describe('webhook delivery (real Redis, real HTTP receiver)', { timeout: 180_000 }, () => {
  it('receiver failing with 500s, then timing out, then back: every event delivered, each id accepted once, all signed', async () => {
    const EVENTS = 6;
    const FIVE_HUNDREDS = 8;
    const HANGS = 4;
    const rig = await makeRig(EVENTS, 'a', (n) => (n <= FIVE_HUNDREDS ? { status: 500 } : n <= FIVE_HUNDREDS + HANGS ? 'hang' : { status: 200 }));
    rig.delivery = startWebhookDelivery({
      url: rig.receiver.url, secret: SECRET, ledger: rig.ledger, connection: { url: REDIS_URL }, prefix: rig.prefix,
      // Enough attempts that even one event taking every failure is still delivered.
      // The timeout is what a hanging answer costs, and long enough that a loaded machine's real answers
      // never hit it (the request count below is exact).
      attempts: FIVE_HUNDREDS + HANGS + 2, baseDelayMs: 10, maxDelayMs: 100, jitter: 0, timeoutMs: 1500, concurrency: 3,
    });
    await publish(rig);

    const done = await waitFor(async () => {
      for (const e of rig.events) if (!(await rig.ledger.getEvent(e.id))?.consumedAt) return false;
      return true;
    }, 1200);
    expect(done, `not all events consumed; receiver saw ${rig.receiver.raw.length} requests`).toBe(true);

    const ids = rig.events.map((e) => e.id).sort();
    // Each id taken in exactly once by the ERP after dedupe ...
    expect([...rig.receiver.accepted.keys()].sort()).toEqual(ids);
    expect([...rig.receiver.accepted.values()].every((n) => n === 1)).toBe(true);
    // ... while the raw requests are every failure plus one accepted answer per event; the held-back
    // answers were given up on by the sender (per-request timeout), not waited for.
    expect(rig.receiver.raw.length).toBe(FIVE_HUNDREDS + HANGS + EVENTS);
    expect(rig.receiver.abandoned).toBe(HANGS);
    expect(new Set(rig.receiver.raw.map((r) => r.id))).toEqual(new Set(ids));
    // Every request is signed, carries the idempotency headers and the event exactly as queued.
    for (const r of rig.receiver.raw) {
      expect(r.verified).toBe(true);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-waybill-event-id']).toBe(r.id);
      expect(r.headers['x-waybill-event-type']).toBe('shipment.status@1');
      expect(JSON.parse(r.body)).toEqual(rig.events.find((e) => e.id === r.id));
      expect(verifyWaybillSignature({ secret: 'wrong', body: r.body, signature: r.headers['x-waybill-signature'] as string, timestamp: r.headers['x-waybill-timestamp'] as string })).toBe(false);
    }
    // The ledger has every attempt: all delivered, none dead, attempts add up to the raw requests.
    const deliveries = await rig.ledger.deliveries();
    expect(deliveries.map((d) => d.eventId).sort()).toEqual(ids);
    expect(deliveries.every((d) => d.state === 'delivered' && d.lastStatus === 200)).toBe(true);
    expect(deliveries.reduce((n, d) => n + d.attempts, 0)).toBe(rig.receiver.raw.length);
    expect(deliveries.some((d) => d.attempts > 1)).toBe(true);
    expect(await rig.ledger.deliveries({ state: 'dead' })).toEqual([]);
    const counts = await rig.ledger.countEvents();
    expect(counts.consumed).toBe(EVENTS);

    // The same event queued again (a relay republishing after Redis lost it) is not sent again.
    const before = rig.receiver.raw.length;
    await rig.queue.add(rig.events[0].type!, rig.events[0], { jobId: `${rig.events[0].id}-again` });
    const again = await waitFor(async () => (await rig.queue.getJob(`${rig.events[0].id}-again`))?.finishedOn !== undefined);
    expect(again).toBe(true);
    expect((await rig.queue.getJob(`${rig.events[0].id}-again`))?.returnvalue).toMatchObject({ skipped: true });
    expect(rig.receiver.raw.length).toBe(before);
  });

  it('400 is dead-lettered at once, 429 with Retry-After is retried, 503s run out of attempts; dlq list and replay through the CLI', async () => {
    // Events: 0 -> 400, 1 -> 429 (Retry-After) then 200, 2 -> 503 always, 3 -> 422, 4 -> 200.
    const rig = await makeRig(5, 'b', () => ({ status: 200 }));
    const [bad, limited, down, unprocessable, fine] = rig.events.map((e) => e.id);
    rig.receiver.setDecide((_n, d) => {
      if (d.id === bad) return { status: 400 };
      if (d.id === unprocessable) return { status: 422 };
      if (d.id === down) return { status: 503 };
      if (d.id === limited && rig.receiver.requestsFor(limited).length === 1) return { status: 429, headers: { 'retry-after': '1' } };
      return { status: 200 };
    });
    const retries: Array<Record<string, unknown>> = [];
    const log = { info() {}, error() {}, warn: (o: Record<string, unknown>) => { retries.push(o); } };
    rig.delivery = startWebhookDelivery({
      url: rig.receiver.url, secret: SECRET, ledger: rig.ledger, connection: { url: REDIS_URL }, prefix: rig.prefix,
      attempts: 3, baseDelayMs: 10, maxDelayMs: 200, jitter: 0, timeoutMs: 2000, concurrency: 2, log,
    });
    await publish(rig);

    const settled = await waitFor(async () => {
      const d = await rig.ledger.deliveries();
      return d.length === 5 && d.every((x) => x.state !== 'pending');
    }, 1200);
    expect(settled, JSON.stringify(await rig.ledger.deliveries())).toBe(true);

    const byId = new Map((await rig.ledger.deliveries()).map((d) => [d.eventId, d]));
    // 400 and 422: one request each, dead at once, the job failed for good (no BullMQ retry either).
    for (const id of [bad, unprocessable]) {
      expect(rig.receiver.requestsFor(id)).toHaveLength(1);
      expect(byId.get(id)).toMatchObject({ state: 'dead', attempts: 1, lastStatus: id === bad ? 400 : 422 });
      expect(byId.get(id)!.lastError).toMatch(/^HTTP 4\d\d/);
      const job = await rig.queue.getJob(id);
      expect(await job!.getState()).toBe('failed');
      expect(job!.failedReason).toMatch(/not retryable/);
    }
    // 429 with Retry-After: retried (the 1 s wait capped at maxDelayMs), then delivered.
    expect(rig.receiver.requestsFor(limited)).toHaveLength(2);
    expect(byId.get(limited)).toMatchObject({ state: 'delivered', attempts: 2, lastStatus: 200 });
    // The delays chosen (not measured): Retry-After 1 s capped at maxDelayMs for the 429, exponential for the 503s.
    expect(retries.filter((r) => r.eventId === limited).map((r) => r.retryInMs)).toEqual([200]);
    expect(retries.filter((r) => r.eventId === down).map((r) => r.retryInMs)).toEqual([10, 20]);
    expect(retries.filter((r) => r.eventId === bad || r.eventId === unprocessable)).toEqual([]);
    expect(byId.get(fine)).toMatchObject({ state: 'delivered', attempts: 1 });
    // 503 every time: exactly `attempts` requests, then dead.
    expect(rig.receiver.requestsFor(down)).toHaveLength(3);
    expect(byId.get(down)).toMatchObject({ state: 'dead', attempts: 3, lastStatus: 503 });
    expect((await rig.ledger.getEvent(down))?.consumedAt).toBeNull();

    // waybill dlq list --json
    const listed = await cli(rig, ['dlq', 'list', '--json']);
    expect(listed.stderr).toBe('');
    expect(listed.status).toBe(0);
    const list = JSON.parse(listed.stdout) as { count: number; dead: Array<Record<string, unknown>> };
    expect(list.count).toBe(3);
    expect(list.dead.map((d) => d.eventId).sort()).toEqual([bad, down, unprocessable].sort());
    expect(list.dead.find((d) => d.eventId === bad)).toMatchObject({
      type: 'shipment.status@1', partner: 'acme-freight', attempts: 1, lastStatus: 400, lastError: expect.stringMatching(/^HTTP 400/),
    });
    expect(list.dead.find((d) => d.eventId === down)).toMatchObject({ attempts: 3, lastStatus: 503 });
    // ... and the readable table
    const text = await cli(rig, ['dlq', 'list']);
    expect(text.status).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^EVENT ID\s+TYPE\s+PARTNER\s+ATTEMPTS\s+STATUS\s+UPDATED\s+LAST ERROR$/);
    expect(text.stdout).toMatch(new RegExp(`${bad}\\s+shipment\\.status@1\\s+acme-freight\\s+1\\s+400\\s+\\S+\\s+HTTP 400`));
    expect(text.stderr).toMatch(/3 dead-lettered/);

    // Unknown ids and ids that are not dead: one coded line, exit 2, nothing replayed.
    const unknown = await cli(rig, ['dlq', 'replay', bad, 'evt_nosuchevent']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/^waybill: CLI_USAGE: unknown event id 'evt_nosuchevent'/);
    expect(await rig.queue.getJob(`${bad}-replay-1`)).toBeUndefined();
    const delivered = await cli(rig, ['dlq', 'replay', fine]);
    expect(delivered.status).toBe(2);
    expect(delivered.stderr).toMatch(/^waybill: CLI_USAGE: event '.*' cannot be replayed: it was delivered at /);
    expect((await cli(rig, ['dlq', 'replay'])).status).toBe(2);
    expect((await cli(rig, ['dlq', 'replay', bad, '--all'])).status).toBe(2);

    // The ERP fixed what made it refuse: replay one by id, the rest with --all.
    rig.receiver.setDecide(() => ({ status: 200 }));
    const one = await cli(rig, ['dlq', 'replay', bad]);
    expect(one.stderr).toMatch(/1 of 1 event\(s\) replayed/);
    expect(one.status).toBe(0);
    expect(one.stdout.trim()).toBe(`replayed ${bad} as job ${bad}-replay-1`);
    const replayJob = await rig.queue.getJob(`${bad}-replay-1`);
    expect(replayJob?.data).toEqual(rig.events[0]);
    expect(await waitFor(async () => (await rig.ledger.getEvent(bad))?.consumedAt != null)).toBe(true);
    expect(rig.receiver.requestsFor(bad)).toHaveLength(2);
    expect(rig.receiver.requestsFor(bad)[1].headers['idempotency-key']).toBe(bad);

    const all = await cli(rig, ['dlq', 'replay', '--all']);
    expect(all.status).toBe(0);
    expect(all.stdout.trim().split('\n').sort()).toEqual([
      `replayed ${down} as job ${down}-replay-1`, `replayed ${unprocessable} as job ${unprocessable}-replay-1`,
    ].sort());
    expect(await waitFor(async () => {
      for (const id of [down, unprocessable]) if (!(await rig.ledger.getEvent(id))?.consumedAt) return false;
      return true;
    })).toBe(true);
    expect((await rig.ledger.deliveries()).every((d) => d.state === 'delivered')).toBe(true);
    expect([...rig.receiver.accepted.keys()].sort()).toEqual(rig.events.map((e) => e.id).sort());

    const empty = await cli(rig, ['dlq', 'list', '--json']);
    expect(JSON.parse(empty.stdout)).toEqual({ count: 0, dead: [] });
    // A delivered event cannot be replayed a second time.
    expect((await cli(rig, ['dlq', 'replay', bad])).status).toBe(2);
  });

  it('dlq --config reads the gateway\'s dataDir, redisUrl and queuePrefix; a replay under a prefix nothing consumes says so', async () => {
    const rig = await makeRig(2, 'd', () => ({ status: 400 }));
    rig.delivery = startWebhookDelivery({
      url: rig.receiver.url, secret: SECRET, ledger: rig.ledger, connection: { url: REDIS_URL }, prefix: rig.prefix, attempts: 2, baseDelayMs: 10,
    });
    await publish(rig);
    const [first, second] = rig.events.map((e) => e.id);
    expect(await waitFor(async () => (await rig.ledger.deliveries({ state: 'dead' })).length === 2)).toBe(true);
    const config = join(rig.dir, 'waybill.yaml');
    writeFileSync(config, [`dataDir: ${rig.dir}`, `redisUrl: ${REDIS_URL}`, `queuePrefix: ${rig.prefix}`, ''].join('\n'));
    const listed = await waybill(['dlq', 'list', '--json', '--config', config]);
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout).dead.map((d: { eventId: string }) => d.eventId).sort()).toEqual([first, second].sort());
    // With the gateway's own config, and no other option: replayed into the queue its worker consumes.
    rig.receiver.setDecide(() => ({ status: 200 }));
    const replayed = await waybill(['dlq', 'replay', first, '--config', config]);
    expect(replayed.stderr).toBe('dlq: 1 of 1 event(s) replayed\n');
    expect(replayed.status).toBe(0);
    expect(await waitFor(async () => (await rig.ledger.getEvent(first))?.consumedAt != null)).toBe(true);
    // Under a prefix no worker consumes (the default 'bull' when the gateway runs with another): said.
    const other = `${rig.prefix}-nobody`;
    const stranded = new Queue(EVENTS_QUEUE, { connection: { url: REDIS_URL }, prefix: other });
    try {
      const r = await waybill(['dlq', 'replay', second, '--config', config, '--queue-prefix', other]);
      expect(r.stderr).toContain(`dlq: note: no worker consumes ${other}:${EVENTS_QUEUE} right now; replays wait there until the gateway runs with queuePrefix '${other}'`);
      expect(r.status).toBe(0);
      expect(await stranded.getJob(`${second}-replay-1`)).toBeDefined();
    } finally {
      await stranded.obliterate({ force: true }).catch(() => {});
      await stranded.close();
    }
  });

  it('a gateway killed mid-attempt, twice: the job is taken up again each time, delivered, or dead-lettered once its attempts are used up', async () => {
    // BullMQ's default (a job may stall once) failed the job on the second stall: never delivered, not
    // dead-lettered either (nothing in the ledger, nothing for `waybill dlq`).
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const childFile = fileURLToPath(new URL('./webhook-worker-child.ts', import.meta.url));
    const children: ChildProcess[] = [];
    const killMidAttempt = async (rig: Rig, attempts: number, requests: number) => {
      const child = spawn(process.execPath, ['--import', tsx, childFile, rig.receiver.url, rig.dir, rig.prefix, String(attempts)], {
        stdio: 'ignore', env: { ...process.env, REDIS_URL, NODE_NO_WARNINGS: '1' },
      });
      children.push(child);
      const got = await waitFor(() => rig.receiver.raw.length === requests, 1200);
      child.kill('SIGKILL');
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
      expect(got, `request ${requests} never came`).toBe(true);
    };
    try {
      // Three attempts allowed: two cut short by a dying gateway, the third answered.
      const rig = await makeRig(1, 'k', (n) => (n <= 2 ? 'hang' : { status: 200 }));
      const [id] = rig.events.map((e) => e.id);
      await publish(rig);
      await killMidAttempt(rig, 3, 1);
      await killMidAttempt(rig, 3, 2);
      rig.delivery = startWebhookDelivery({
        url: rig.receiver.url, secret: SECRET, ledger: rig.ledger, connection: { url: REDIS_URL }, prefix: rig.prefix,
        attempts: 3, lockDurationMs: 1000, stalledIntervalMs: 500,
      });
      const delivered = await waitFor(async () => (await rig.ledger.getEvent(id))?.consumedAt != null, 600);
      const job = await rig.queue.getJob(id);
      expect(delivered, `job ${await job?.getState()}: ${job?.failedReason}`).toBe(true);
      expect(rig.receiver.raw).toHaveLength(3);
      expect(await rig.ledger.deliveries()).toMatchObject([{ eventId: id, state: 'delivered', lastStatus: 200 }]);

      // Two attempts allowed, both cut short: the next gateway dead-letters it without sending a third.
      const rig2 = await makeRig(1, 'l', () => 'hang');
      const [id2] = rig2.events.map((e) => e.id);
      await publish(rig2);
      await killMidAttempt(rig2, 2, 1);
      await killMidAttempt(rig2, 2, 2);
      rig2.delivery = startWebhookDelivery({
        url: rig2.receiver.url, secret: SECRET, ledger: rig2.ledger, connection: { url: REDIS_URL }, prefix: rig2.prefix,
        attempts: 2, lockDurationMs: 1000, stalledIntervalMs: 500,
      });
      expect(await waitFor(async () => (await rig2.ledger.deliveries({ state: 'dead' })).length === 1, 600)).toBe(true);
      expect(rig2.receiver.raw).toHaveLength(2);
      expect((await rig2.ledger.deliveries({ state: 'dead' }))[0]).toMatchObject({
        eventId: id2, lastStatus: null, lastError: '2 attempt(s) started (2 allowed), the last without an answer: the gateway stopped during it',
      });
      const listed = await cli(rig2, ['dlq', 'list', '--json']);
      expect(JSON.parse(listed.stdout).dead.map((d: { eventId: string }) => d.eventId)).toEqual([id2]);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  });

  it('dlq without a ledger or with Redis unreachable: one coded line, exit 2', async () => {
    const rig = await makeRig(1, 'c', () => ({ status: 400 }));
    const noLedger = await waybill(['dlq', 'list', '--data', join(rig.dir, 'nope')]);
    expect(noLedger.status).toBe(2);
    expect(noLedger.stderr).toMatch(/^waybill: CLI_FILE_NOT_FOUND: no data directory .*nope/);
    // A ledger.db that is no database: the ledger's own code, naming the file once.
    const junkDir = join(rig.dir, 'junk');
    mkdirSync(junkDir);
    writeFileSync(join(junkDir, 'ledger.db'), 'not a ledger\n'.repeat(500));
    const damaged = await waybill(['dlq', 'list', '--data', junkDir]);
    expect(damaged.status).toBe(2);
    expect(damaged.stderr).toBe(`waybill: CLI_FILE_UNREADABLE: LEDGER_OPEN_FAILED: cannot open ledger ${join(junkDir, 'ledger.db')}: file is not a database `
      + '(SQLITE_NOTADB); the file is damaged or is not a Waybill ledger: restore it from a backup, or move it aside to start with an empty ledger\n');
    rig.delivery = startWebhookDelivery({
      url: rig.receiver.url, secret: SECRET, ledger: rig.ledger, connection: { url: REDIS_URL }, prefix: rig.prefix, attempts: 2, baseDelayMs: 10,
    });
    await publish(rig);
    expect(await waitFor(async () => (await rig.ledger.deliveries({ state: 'dead' })).length === 1)).toBe(true);
    const r = await waybill(['dlq', 'replay', rig.events[0].id, '--data', rig.dir, '--redis-url', 'redis://127.0.0.1:1', '--queue-prefix', rig.prefix]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^waybill: CLI_USAGE: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    // Why, as the socket said it (it was only "Connection is closed.").
    expect(r.stderr).toContain('ECONNREFUSED');
    // Still dead and listed: nothing changed.
    expect((await rig.ledger.deliveries({ state: 'dead' })).map((d) => d.eventId)).toEqual([rig.events[0].id]);
  });
});
