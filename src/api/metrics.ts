// Prometheus metrics of one gateway (own registry, so tests can run several gateways in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly files = new Counter({ name: 'waybill_files_total', help: 'Files taken in and translated, by state', labelNames: ['state'] as const, registers: [this.registry] });
  readonly units = new Counter({ name: 'waybill_transactions_total', help: 'Units (X12 transactions, CSV records, XML documents) translated, by state', labelNames: ['state'] as const, registers: [this.registry] });
  readonly events = new Counter({ name: 'waybill_events_total', help: 'Canonical events written to the outbox', registers: [this.registry] });
  readonly published = new Counter({ name: 'waybill_events_published_total', help: 'Events published to the events queue', registers: [this.registry] });
  readonly errors = new Counter({ name: 'waybill_errors_total', help: 'Errors by code', labelNames: ['code'] as const, registers: [this.registry] });
  readonly outboxPending = new Gauge({ name: 'waybill_outbox_unpublished', help: 'Events waiting in the outbox for the queue', registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'waybill_queue_depth', help: 'Jobs waiting in a BullMQ queue', labelNames: ['queue'] as const, registers: [this.registry] });
  readonly fileLatency = new Histogram({
    name: 'waybill_file_seconds', help: 'Seconds from file arrival to translation committed',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300], registers: [this.registry],
  });
  readonly redisUp = new Gauge({ name: 'waybill_redis_up', help: '1 when Redis answers', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'waybill_process_' });
  }
}
