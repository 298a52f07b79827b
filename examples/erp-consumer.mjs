#!/usr/bin/env node
// An ERP-side consumer of Waybill's canonical events: prints each event it receives from the BullMQ
// queue `waybill-events`, deduplicating by event id (delivery is at-least-once).
//
//   npm run build
//   REDIS_URL=redis://127.0.0.1:6379 node examples/erp-consumer.mjs [--json] [--max N] [--idle-exit MS] [--prefix P]
//
//   --json          print whole events (one JSON object per line) instead of one summary line each
//   --max N         stop after N distinct events
//   --idle-exit MS  stop when no event arrived for MS milliseconds (after at least one)
//   --prefix P      the gateway's BullMQ key prefix (default "bull", or WAYBILL_QUEUE_PREFIX)
//
// A real ERP handler records `event.id` in its own database in the same transaction as the effect of
// the event, and returns early for an id it already has. Throwing from the handler means "try again
// later": the event is redelivered with backoff.

import { consumeEvents } from '../dist/queue/consumer.js';
import { createConnection, redisUrlFrom, waitForRedis } from '../dist/queue/queues.js';

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const url = redisUrlFrom();
const prefix = option('--prefix', process.env.WAYBILL_QUEUE_PREFIX || 'bull');
const json = process.argv.includes('--json');
const max = Number(option('--max', 'Infinity'));
const idleExitMs = Number(option('--idle-exit', '0'));

// Say plainly when there is no Redis rather than waiting in silence.
const probe = createConnection(url, { name: 'waybill-example-probe' });
const reachable = await waitForRedis(probe, 3000);
probe.disconnect();
if (!reachable) {
  console.error(`cannot reach Redis at ${url}.\nStart one with:  redis-server  (or: docker run --rm -p 6379:6379 redis:7)\nor point REDIS_URL at yours.`);
  process.exit(1);
}

/** Stand-in for the ERP's table of processed event ids. */
const processed = new Set();
let idleTimer;

function summary(event) {
  const refs = event.references ?? {};
  const ref = refs.proNumber ?? refs.bolNumber ?? refs.invoiceNumber ?? refs.shipmentId ?? '';
  const what = event.status?.milestone ?? event.decision ?? event.amountDue?.amount ?? '';
  return [event.type.padEnd(18), event.id, event.partner, ref, what, event.occurredAt ?? ''].join('  ');
}

const consumer = consumeEvents({
  connection: url,
  prefix,
  // One at a time when counting, so exactly --max events are handled; otherwise a few in parallel.
  concurrency: Number.isFinite(max) ? 1 : 4,
  handler: async (event) => {
    if (processed.has(event.id)) return; // a redelivery: already handled, nothing to do
    processed.add(event.id);
    console.log(json ? JSON.stringify(event) : summary(event));
    if (processed.size >= max) void stop(0);
    if (idleExitMs > 0) {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => void stop(0), idleExitMs);
    }
  },
  onFailure: (err, meta) => console.error(`event ${meta.id} failed (attempt ${meta.attempt}/${meta.maxAttempts}): ${err.message}`),
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  clearTimeout(idleTimer);
  await consumer.close();
  console.error(`${processed.size} distinct event(s) received`);
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
console.error(`waiting for events on ${url} (queue waybill-events, prefix ${prefix}); Ctrl-C to stop`);
