// Prometheus metrics of one gateway (own registry, so tests can run several gateways in one process).
// Totals come from the ledger at scrape time, so they are right across restarts and processes; the
// latency histogram is fed as files finish.
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LedgerStats } from '../ledger/ledger.js';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly files = new Gauge({ name: 'waybill_files', help: 'Files in the ledger, by state', labelNames: ['state'] as const, registers: [this.registry] });
  readonly units = new Gauge({ name: 'waybill_transactions', help: 'Units (X12 transactions, CSV records, XML documents), by state', labelNames: ['state'] as const, registers: [this.registry] });
  readonly events = new Gauge({ name: 'waybill_events', help: 'Canonical events in the outbox, by status', labelNames: ['status'] as const, registers: [this.registry] });
  readonly errors = new Gauge({ name: 'waybill_errors', help: 'Errors by code: those recorded on units (transactions, records, documents) and on files (why a file failed as a whole), each finding once', labelNames: ['code'] as const, registers: [this.registry] });
  readonly deliveries = new Gauge({ name: 'waybill_webhook_deliveries', help: 'Webhook deliveries, by state (dead = dead letters)', labelNames: ['state'] as const, registers: [this.registry] });
  // Without these an acknowledgment that could not be delivered was visible only in the logs and the ledger.
  readonly outbound = new Gauge({ name: 'waybill_outbound_documents', help: 'Outbound documents (acknowledgments, ...) to deliver to partners, by state', labelNames: ['state'] as const, registers: [this.registry] });
  readonly outboundFailing = new Gauge({ name: 'waybill_outbound_failing', help: 'Pending outbound documents whose last delivery attempt failed, by error code (retried with backoff)', labelNames: ['code'] as const, registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'waybill_queue_depth', help: 'Jobs waiting in a BullMQ queue', labelNames: ['queue'] as const, registers: [this.registry] });
  readonly redisUp = new Gauge({ name: 'waybill_redis_up', help: '1 when Redis answers', registers: [this.registry] });
  readonly fileLatency = new Histogram({
    name: 'waybill_file_seconds', help: 'Seconds from file arrival to its translation committed',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800], registers: [this.registry],
  });

  constructor() {
    // prom-client's own names start process_ and nodejs_: prefixed waybill_ they read waybill_process_cpu_seconds_total
    // (with 'waybill_process_' they were waybill_process_process_...).
    collectDefaultMetrics({ register: this.registry, prefix: 'waybill_' });
  }

  fromLedger(s: LedgerStats): void {
    const set = (g: Gauge<string>, label: string, values: Record<string, number>) => {
      g.reset();
      for (const [k, v] of Object.entries(values)) g.set({ [label]: k ?? 'unknown' }, v);
    };
    set(this.files, 'state', s.files);
    set(this.units, 'state', s.units);
    set(this.events, 'status', { unpublished: s.events.unpublished, published: s.events.published, consumed: s.events.consumed, duplicate_fact: s.events.duplicateFacts });
    set(this.errors, 'code', s.errors);
    set(this.deliveries, 'state', s.deliveries);
    set(this.outbound, 'state', { pending: 0, delivered: 0, ...s.outbound });
    set(this.outboundFailing, 'code', s.outboundFailing);
  }
}
