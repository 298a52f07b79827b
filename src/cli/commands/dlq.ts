// `waybill dlq list|replay`: the webhook deliveries that ended in the dead-letter state.
// list reads the ledger only; replay revives the delivery in the ledger and puts the event back on the
// events queue under a new job id (`<eventId>-replay-<n>`). The event itself (its id included) is
// unchanged, so the ERP still deduplicates it by id.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SqliteLedger } from '../../ledger/sqlite.js';
import { LedgerFault, type DeliveryState, type OutboxRow } from '../../ledger/ledger.js';
import { EVENTS_QUEUE, assertJobId } from '../../queue/queues.js';
import { EVENT_JOB_OPTIONS } from '../../queue/relay.js';
import { loadConfig, type GatewayConfig } from '../../gateway/config.js';
import { formatDiagnostic } from '../../mappings/diagnostics.js';
import { CliError } from '../cli-error.js';

export interface DlqFlags {
  /** The gateway's waybill.yaml, for what the options below do not say. */
  config?: string;
  /** The data directory; the ledger is `<data>/ledger.db`. */
  data?: string;
  redisUrl?: string;
  /** BullMQ key prefix of the events queue. */
  queuePrefix?: string;
  json?: boolean;
  all?: boolean;
}

/** Where the dead letters are: the ledger's folder, and the events queue's Redis and prefix. */
interface DlqSettings {
  data: string;
  redisUrl: string;
  queuePrefix: string;
}

/**
 * Each setting from its option, else its environment variable, else the gateway's config (--config),
 * else the default: the same dataDir, redisUrl and queuePrefix as the gateway that dead-lettered them.
 */
function settingsOf(flags: DlqFlags, env: NodeJS.ProcessEnv = process.env): DlqSettings {
  let config: GatewayConfig | null = null;
  if (flags.config !== undefined) {
    const loaded = loadConfig(flags.config, env, { checkPartnersDir: false });
    for (const d of loaded.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
    if (!loaded.config) throw new CliError('CLI_USAGE', `the configuration ${flags.config} has errors`);
    config = loaded.config;
  }
  return {
    data: flags.data ?? env.WAYBILL_DATA ?? config?.dataDir ?? '.data',
    redisUrl: flags.redisUrl ?? env.REDIS_URL ?? config?.redisUrl ?? 'redis://127.0.0.1:6379',
    queuePrefix: flags.queuePrefix ?? env.WAYBILL_QUEUE_PREFIX ?? config?.queuePrefix ?? 'bull',
  };
}

/** Far more than any dead-letter queue should ever hold; the ledger's default page is 1,000. */
const ALL = 10_000_000;
/** How many earlier replays of one event we look past when choosing the next job id. */
const MAX_REPLAYS = 10_000;

function openLedger(dataDir: string): SqliteLedger {
  const file = join(dataDir, 'ledger.db');
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new CliError('CLI_FILE_NOT_FOUND', `no data directory ${dataDir} (set --data or WAYBILL_DATA)`);
  }
  if (!existsSync(file)) throw new CliError('CLI_FILE_NOT_FOUND', `no ledger at ${file} (set --data or WAYBILL_DATA to the gateway's data directory)`);
  try {
    return new SqliteLedger(file);
  } catch (err) {
    // The ledger's own faults name the file already (LEDGER_OPEN_FAILED, LEDGER_SCHEMA_TOO_NEW).
    if (err instanceof LedgerFault) throw new CliError('CLI_FILE_UNREADABLE', `${err.code}: ${err.message}`);
    const code = (err as { code?: string }).code;
    throw new CliError('CLI_FILE_UNREADABLE', `cannot open the ledger ${file}: ${code ? `${code}: ` : ''}${(err as Error).message}`);
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

async function connectRedis(url: string): Promise<Redis> {
  let client: Redis;
  try {
    client = new Redis(url, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  } catch (err) {
    throw new CliError('CLI_USAGE', `invalid --redis-url ${redactUrl(url)}: ${(err as Error).message}`);
  }
  // The socket's own error (ECONNREFUSED, ENOTFOUND, ...): connect() itself rejects only with "Connection
  // is closed." once ioredis has given up, which says nothing of why.
  let cause: Error | undefined;
  client.on('error', (err: Error) => { cause ??= err; });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    const why = [cause?.message, (err as Error).message].filter((m, i, all) => m && all.indexOf(m) === i).join('; ') || 'connection failed';
    throw new CliError('CLI_USAGE', `cannot reach Redis at ${redactUrl(url)} (${why}); set --redis-url or REDIS_URL`);
  }
  return client;
}

interface DeadEntry {
  eventId: string;
  type: string | null;
  partner: string | null;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  updatedAt: string;
}

async function deadEntries(ledger: SqliteLedger): Promise<DeadEntry[]> {
  const dead = await ledger.deliveries({ state: 'dead', limit: ALL });
  const out: DeadEntry[] = [];
  for (const d of dead) {
    const ev = await ledger.getEvent(d.eventId);
    out.push({
      eventId: d.eventId, type: ev?.type ?? null, partner: ev?.partner ?? null, attempts: d.attempts,
      lastStatus: d.lastStatus, lastError: d.lastError, updatedAt: d.updatedAt,
    });
  }
  return out;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => rows.reduce((w, r) => Math.max(w, r[i].length), 0));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

export async function dlqListCommand(flags: DlqFlags): Promise<number> {
  const ledger = openLedger(settingsOf(flags).data);
  try {
    const entries = await deadEntries(ledger);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ count: entries.length, dead: entries }, null, 2)}\n`);
      return 0;
    }
    if (entries.length === 0) {
      process.stderr.write('dlq: no dead-lettered events\n');
      return 0;
    }
    const rows = [['EVENT ID', 'TYPE', 'PARTNER', 'ATTEMPTS', 'STATUS', 'UPDATED', 'LAST ERROR']];
    for (const e of entries) {
      rows.push([e.eventId, e.type ?? '-', e.partner ?? '-', String(e.attempts), e.lastStatus === null ? '-' : String(e.lastStatus),
        e.updatedAt, (e.lastError ?? '-').replace(/\s+/g, ' ')]);
    }
    process.stdout.write(`${table(rows)}\n`);
    process.stderr.write(`dlq: ${entries.length} dead-lettered event(s)\n`);
    return 0;
  } finally {
    await ledger.close();
  }
}

/**
 * A word on stderr when no worker consumes the events queue under this prefix: the replays wait there
 * until one does. Under a prefix other than the gateway's (its queuePrefix), that is never; said before
 * anything is queued, naming the prefix used.
 */
async function warnWithoutConsumer(queue: Queue, prefix: string): Promise<void> {
  let workers: number;
  try {
    workers = await queue.getWorkersCount();
  } catch {
    return; // a Redis that refuses CLIENT LIST (some managed ones): nothing to say either way
  }
  if (workers > 0) return;
  process.stderr.write(`dlq: note: no worker consumes ${prefix}:${EVENTS_QUEUE} right now; replays wait there until the gateway runs ` +
    `with queuePrefix '${prefix}' (pass its waybill.yaml with --config, or --queue-prefix)\n`);
}

interface ReplayTarget {
  delivery: DeliveryState;
  event: OutboxRow;
}

export async function dlqReplayCommand(ids: string[], flags: DlqFlags): Promise<number> {
  if (flags.all && ids.length) throw new CliError('CLI_USAGE', 'give event ids or --all, not both');
  if (!flags.all && !ids.length) throw new CliError('CLI_USAGE', 'give the event ids to replay, or --all');
  const settings = settingsOf(flags);
  const ledger = openLedger(settings.data);
  let redis: Redis | null = null;
  let queue: Queue | null = null;
  try {
    // Check every id before anything changes: an unknown id replays nothing.
    const dead = new Map((await ledger.deliveries({ state: 'dead', limit: ALL })).map((d) => [d.eventId, d]));
    const targets: ReplayTarget[] = [];
    let unreplayable = 0;
    const wanted = flags.all ? [...dead.keys()] : [...new Set(ids)];
    for (const id of wanted) {
      const event = await ledger.getEvent(id);
      const delivery = dead.get(id);
      if (!event && !delivery) throw new CliError('CLI_USAGE', `unknown event id '${id}': not in the ledger ${join(settings.data, 'ledger.db')}`);
      if (!delivery) {
        const why = event?.consumedAt ? `it was delivered at ${event.consumedAt}` : 'it is not in the dead-letter state';
        throw new CliError('CLI_USAGE', `event '${id}' cannot be replayed: ${why} (see waybill dlq list)`);
      }
      if (!event) {
        const msg = `event '${id}' is dead-lettered but its payload is not in the ledger's outbox; it cannot be replayed`;
        if (!flags.all) throw new CliError('CLI_USAGE', msg);
        // --all: replay the others, report this one, exit 1.
        process.stderr.write(`waybill: CLI_USAGE: ${msg}\n`);
        unreplayable++;
        continue;
      }
      targets.push({ delivery, event });
    }
    if (targets.length === 0) {
      process.stderr.write('dlq: no dead-lettered events to replay\n');
      return unreplayable ? 1 : 0;
    }
    redis = await connectRedis(settings.redisUrl);
    queue = new Queue(EVENTS_QUEUE, { connection: redis, prefix: settings.queuePrefix });
    await warnWithoutConsumer(queue, settings.queuePrefix);
    let failed = unreplayable;
    for (const { event } of targets) {
      const jobId = await nextReplayJobId(queue, event.id);
      const revived = await ledger.reviveDelivery(event.id);
      if (!revived) {
        // Someone else replayed it since we looked.
        process.stderr.write(`waybill: CLI_USAGE: event '${event.id}' is no longer dead-lettered; skipped\n`);
        failed++;
        continue;
      }
      try {
        // The relay's job options (retention for the ERP team), the event unchanged, a new job id.
        await queue.add(event.type, JSON.parse(event.payload) as Record<string, unknown>, { ...EVENT_JOB_OPTIONS, jobId });
      } catch (err) {
        // Back to the dead-letter state, so it stays listed and can be replayed again.
        await ledger.recordDelivery(event.id, { ok: false, dead: true, error: `replay could not be queued: ${(err as Error).message}` });
        process.stderr.write(`waybill: CLI_USAGE: event '${event.id}': could not queue the replay: ${(err as Error).message}\n`);
        failed++;
        continue;
      }
      await ledger.audit({ action: 'event.replayed', eventId: event.id, details: { jobId } });
      process.stdout.write(`replayed ${event.id} as job ${jobId}\n`);
    }
    process.stderr.write(`dlq: ${targets.length + unreplayable - failed} of ${targets.length + unreplayable} event(s) replayed\n`);
    return failed ? 1 : 0;
  } finally {
    await queue?.close().catch(() => undefined);
    redis?.disconnect();
    await ledger.close();
  }
}

/** `<eventId>-replay-<n>` with the smallest n that no job in the queue uses yet. */
async function nextReplayJobId(queue: Queue, eventId: string): Promise<string> {
  for (let n = 1; n <= MAX_REPLAYS; n++) {
    const id = assertJobId(`${eventId}-replay-${n}`);
    if (!(await queue.getJob(id))) return id;
  }
  throw new CliError('CLI_USAGE', `event '${eventId}' has been replayed more than ${MAX_REPLAYS} times; remove old replay jobs first`);
}
