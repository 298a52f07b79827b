// `waybill serve`: one gateway process. It wires the rooms together: intake from the configured
// transports, translation (BullMQ worker, or in-process while Redis is away), the outbox relay, optional
// webhook delivery, partner reloads, and HTTP health/readiness/metrics. stop() shuts down in order:
// stop intake, finish in-flight work, close cleanly.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { startHttp } from '../api/http.js';
import { GatewayMetrics } from '../api/metrics.js';
import { startWebhookDelivery, type WebhookDelivery } from '../delivery/webhook.js';
import { SqliteLedger } from '../ledger/sqlite.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { assertLedgerNotLost, cleanStopNoted, forgetCleanStop, noteCleanStop } from './ledger-presence.js';
import type { Ledger } from '../ledger/ledger.js';
import type { PartnerRegistry } from '../mappings/registry.js';
import type { Logger, PipelineContext } from '../pipeline/context.js';
import { removeStalePartials, tmpDirOf } from '../pipeline/file-store.js';
import { intake, type IntakeRequest } from '../pipeline/intake.js';
import { InFlightInterchanges } from '../pipeline/in-flight.js';
import { QueueDispatcher, startInboundWorker, startRecoverySweeps } from '../queue/dispatcher.js';
import { createConnection, EVENTS_QUEUE, INBOUND_QUEUE, redisStatus } from '../queue/queues.js';
import { RelayThread, type RelayControl } from '../queue/relay-thread.js';
import { FolderTransport } from '../transports/folder/folder.js';
import { OutboundDelivery } from '../transports/delivery/outbound-delivery.js';
import { RemotePollerSet } from '../transports/sftp/remote/index.js';
import { hostedSftpAccounts } from '../transports/sftp/config.js';
import { HostedSftpServer } from '../transports/sftp/server/index.js';
import type { GatewayConfig } from './config.js';
import { PartnerHolder } from './partners.js';

export interface Gateway {
  url: string;
  /** Port of the hosted SFTP server, when it runs. */
  sftpPort: number | null;
  ledger: Ledger;
  partners: PartnerHolder;
  relay: RelayControl;
  /** Takes a file in as a transport would (tests, the CLI). */
  intake(req: IntakeRequest): ReturnType<typeof intake>;
  /** One pass over the inbound folder (tests and the demo use it to avoid waiting for the poll). */
  pollInbound(): Promise<number>;
  stop(): Promise<void>;
}

/** The parts of a gateway that run, each set once it has started: shutdown() stops what is set. */
interface Parts {
  /** Held from the start to the end of shutdown: one gateway per data folder (data-dir-lock.ts). */
  lock?: DataDirLock;
  ledger?: SqliteLedger;
  partners?: PartnerHolder;
  producer?: Redis;
  workerConnection?: Redis;
  dispatcher?: QueueDispatcher;
  inboundWorker?: ReturnType<typeof startInboundWorker>;
  sweeps?: ReturnType<typeof startRecoverySweeps>;
  relay?: RelayControl;
  webhook?: WebhookDelivery;
  sftp?: HostedSftpServer;
  folder?: FolderTransport;
  remote?: RemotePollerSet;
  delivery?: OutboundDelivery;
  depthQueues: Queue[];
  http?: Awaited<ReturnType<typeof startHttp>>;
}

/** How often a stop that is still waiting says what for. */
const STOP_REPORT_MS = 5_000;

export interface StartOptions {
  /** How often a stop that is still waiting logs what for (default STOP_REPORT_MS; tests shorten it). */
  stopReportMs?: number;
}

export async function startGateway(config: GatewayConfig, log: Logger, options: StartOptions = {}): Promise<Gateway> {
  // The whole start is one try, and each part is recorded in `parts` as it starts: when any step fails
  // (a port in use, a bad host key path, an inbound folder that cannot be made), shutdown() stops what
  // already runs and the start rejects. Left running, the workers, pollers, relay thread and Redis
  // connections would keep alive a process that had reported it could not start, still taking files in.
  const parts: Parts = { depthQueues: [] };
  const startedAt = Date.now();
  const remoteDownloads = join(config.dataDir, 'tmp', 'remote');
  try {
    mkdirSync(config.dataDir, { recursive: true });
    parts.lock = lockDataDir(config.dataDir);
    // A run killed during an intake or a remote download left its partial file behind; this run owns the
    // data folder now (the lock), and nothing of its own is under way yet.
    const stale = await removeStalePartials(parts.lock, [tmpDirOf(config.dataDir), remoteDownloads], startedAt);
    if (stale.length) log.info({ count: stale.length, files: stale.slice(0, 20) }, 'removed partial files an earlier run left');
    // Under the lock (no other gateway is creating the ledger right now): a missing or empty ledger in a
    // data folder that has taken files in is refused, never silently replaced by a new one.
    assertLedgerNotLost(config.dataDir, join(config.dataDir, 'ledger.db'));
    // After a run that did not stop cleanly (killed, crashed, the machine lost power), every page of the
    // ledger is checked before it is used: see SqliteLedgerOptions.checkIntegrity.
    const unclean = !cleanStopNoted(config.dataDir);
    const checkStarted = Date.now();
    const ledger = (parts.ledger = new SqliteLedger(join(config.dataDir, 'ledger.db'), {
      checkIntegrity: unclean,
      backgroundCheckpoints: true,
      commitThread: true,
      // Said once per run of failures (then at most once a minute, with the count), not at every pass.
      onCheckpointError: (err, { failures }) => log.warn({ code: 'LEDGER_CHECKPOINT_FAILED', err, failures },
        'ledger: background WAL checkpoints fail (commits checkpoint by themselves meanwhile); said again at most once a minute while it lasts'),
      onCheckpointRecovered: ({ failures }) => log.info({ failures }, 'ledger: background WAL checkpoints work again'),
    }));
    if (unclean) log.info({ ms: Date.now() - checkStarted }, 'ledger: the last run did not stop cleanly (or this is the first); every page checked, no damage');
    // Noted again at the next clean stop: until then this run counts as one that did not stop cleanly.
    forgetCleanStop(config.dataDir);
    const partners = (parts.partners = new PartnerHolder(config.partnersDir, log));
    partners.reload();
    partners.watch(config.reloadMs);
    const metrics = new GatewayMetrics();

    const onRedisError = (() => {
      let last = 0;
      return (err: Error) => {
        if (Date.now() - last > 30_000) log.warn({ err: err.message }, 'redis connection problem (retrying)');
        last = Date.now();
      };
    })();
    const producer = (parts.producer = createConnection(config.redisUrl, { role: 'producer', name: 'waybill-producer', onError: onRedisError }));
    const workerConnection = (parts.workerConnection = createConnection(config.redisUrl, { role: 'worker', name: 'waybill-worker', onError: onRedisError }));
    const prefix = config.queuePrefix;

    const ctx: PipelineContext = {
      dataDir: config.dataDir, ledger, registry: () => partners.current, log,
      duplicates: config.duplicates, batchSize: config.translation.batchSize, inFlight: new InFlightInterchanges(),
      onEvents: () => relay.wake(),
      onProcessed: (done) => metrics.fileLatency.observe((Date.now() - Date.parse(done.receivedAt)) / 1000),
    };
    const dispatcher = (parts.dispatcher = new QueueDispatcher(ctx, producer, { prefix }));
    const intakeCtx = { ...ctx, dispatcher };
    parts.inboundWorker = startInboundWorker(ctx, workerConnection, { concurrency: config.translation.concurrency, prefix, locks: dispatcher.locks });
    parts.sweeps = startRecoverySweeps(ctx, dispatcher, { intervalMs: 30_000 });
    // The relay runs on a thread of its own (relay-thread.ts): publishing overlaps translation.
    const relay: RelayControl = (parts.relay = new RelayThread({
      ledger: ledger.location, redisUrl: config.redisUrl,
      options: { prefix, batchSize: config.relay.batchSize, idleMs: config.relay.idleMs, epochFile: join(config.dataDir, 'relay-epoch') },
    }, log));
    relay.start();
    if (config.webhook) {
      const w = config.webhook;
      parts.webhook = startWebhookDelivery({
        url: w.url, secret: w.secret, timeoutMs: w.timeoutMs, attempts: w.attempts, baseDelayMs: w.backoffMs, maxDelayMs: w.maxBackoffMs,
        concurrency: w.concurrency, ledger, connection: workerConnection, prefix, log,
      });
    }

    // The hosted SFTP server: accounts come from the current partner registry at every login, so a
    // partner reload applies without a restart. It binds its port before the inbound folder is polled,
    // so a port in use fails the start before any file has been taken in.
    let sftpPort: number | null = null;
    if (config.sftp) {
      let seen: unknown = null;
      let hosted = hostedSftpAccounts([]);
      const accounts = () => {
        if (partners.current !== seen) {
          seen = partners.current;
          hosted = hostedSftpAccounts(partners.current.list().map((p) => ({ id: p.id, transports: p.config.transports })));
          for (const problem of hosted.problems) log.error({ problem }, 'hosted SFTP account problem');
        }
        return hosted.accounts;
      };
      const sftp = (parts.sftp = new HostedSftpServer({
        dataDir: config.dataDir, config: config.sftp, accounts, log,
        take: async (f) => {
          await intake(intakeCtx, { input: { path: f.path }, transport: 'sftp', originalName: f.name, originalPath: f.virtualPath, partner: f.partner });
        },
      }));
      const started = await sftp.start();
      sftpPort = started.port;
      log.info({ port: started.port, fingerprint: started.fingerprint }, 'hosted SFTP server listening');
    }

    const folder = config.inbound.folder
      ? (parts.folder = new FolderTransport({
        folder: config.inbound.folder, pollMs: config.inbound.pollMs, afterIntake: config.inbound.afterIntake,
        minAgeSeconds: config.inbound.minAgeSeconds, retry: config.inbound.retry, log, // it logs its own failures (FOLDER_* codes)
        take: async (f) => {
          await intake(intakeCtx, { input: { path: f.path }, transport: 'folder', originalName: f.name, originalPath: f.path, partner: f.partner });
        },
      }))
      : null;
    await folder?.start();

    // Partners whose server we poll (transports.remote): one independent poller each, following partner
    // reloads. The file came through that partner's account, which identifies it (CSV/XML need that; X12
    // keeps its ISA check).
    const remote = (parts.remote = new RemotePollerSet({
      ledger, log, workDir: remoteDownloads,
      take: (path, meta) => intake(intakeCtx, { input: { path }, transport: 'sftp-poll', originalName: meta.name, originalPath: meta.remotePath, partner: meta.partner }),
    }));
    const syncPollers = async (registry: PartnerRegistry) => {
      const problems = await remote.sync(registry.list().map((p) => ({ id: p.id, transports: p.config.transports })));
      for (const problem of problems) log.error({ problem }, 'remote SFTP configuration problem');
    };
    await syncPollers(partners.current);
    partners.onReload((registry) => {
      syncPollers(registry).catch((err: Error) => log.error({ err: err.message }, 'remote SFTP pollers could not follow the partner reload'));
    });
    // Acknowledgments (and later tenders and invoices) go out through each partner's transport.
    const delivery = (parts.delivery = new OutboundDelivery({ ledger, dataDir: config.dataDir, log, partnerTransports: (id) => partners.current.get(id)?.config.transports }));
    delivery.start();

    const depthQueues = parts.depthQueues;
    for (const name of [INBOUND_QUEUE, EVENTS_QUEUE]) {
      const q = new Queue(name, { connection: producer, prefix });
      q.on('error', () => undefined);
      depthQueues.push(q);
    }
    const http = (parts.http = await startHttp({
      host: config.http.host, port: config.http.port, metrics,
      checks: [
        { name: 'ledger', check: async () => ({ ok: true, detail: await ledger.countEvents() }) },
        { name: 'redis', check: async () => { const r = await redisStatus(producer); return { ok: r.ok, detail: r }; } },
        { name: 'relay', check: async () => { const s = relay.status(); return { ok: s.redisReachable, detail: s }; } },
        { name: 'partners', check: async () => ({ ok: partners.current.list().length > 0, detail: partners.current.list().map((p) => p.id) }) },
      ],
      beforeMetrics: async () => {
        metrics.fromLedger(await ledger.stats());
        const r = await redisStatus(producer);
        metrics.redisUp.set(r.ok ? 1 : 0);
        if (r.ok) {
          for (const q of depthQueues) metrics.queueDepth.set({ queue: q.name }, await q.getWaitingCount().catch(() => 0));
        }
      },
    }));
    log.info({ url: http.url, dataDir: config.dataDir, partners: partners.current.list().map((p) => p.id), inbound: config.inbound.folder }, 'gateway started');

    let stopping: Promise<void> | null = null;
    return {
      url: http.url, sftpPort, ledger, partners, relay,
      intake: (req) => intake(intakeCtx, req),
      pollInbound: async () => (folder ? folder.poll() : 0),
      stop() {
        stopping ??= shutdown('gateway stopping: no new intake, finishing in-flight work');
        return stopping;
      },
    };
  } catch (err) {
    // Stop what already runs, then report the failure that stopped the start (not a later one of the stop).
    await shutdown('gateway could not start; stopping what was started')
      .catch((stopErr: Error) => log.error({ err: stopErr.message }, 'error while stopping after the failed start'));
    throw err;
  }

  /**
   * Stops what runs, also after a start that failed part-way (a part that never started is not in
   * `parts`). Roughly the start order reversed, except that intake stops first and HTTP (health) stays up
   * until the work in flight has finished: intake, in-flight work, workers, relay, HTTP, connections, the
   * ledger.
   */
  async function shutdown(why: string): Promise<void> {
    const { ledger, partners, producer, workerConnection, dispatcher, inboundWorker, sweeps, relay, webhook, sftp, folder, remote, delivery, depthQueues, http } = parts;
    log.info({}, why);
    // A stop waits for the translations in flight, which a large file can make long; every few seconds the
    // log says what it is still waiting for (also what tells a stop that hangs from a slow one).
    const started = Date.now();
    let step = '';
    const watch = setInterval(() => log.warn({ step, seconds: Math.round((Date.now() - started) / 1000) }, 'gateway still stopping'), options.stopReportMs ?? STOP_REPORT_MS);
    watch.unref();
    const stage = async (name: string, work: () => Promise<unknown> | unknown) => {
      step = name;
      log.debug?.({ step }, 'stopping');
      await work();
    };
    try {
      await stage('inbound folder', () => folder?.stop());
      await stage('hosted SFTP server', () => sftp?.stop());
      await stage('remote SFTP pollers', () => remote?.stop());
      await stage('outbound delivery', () => delivery?.stop());
      await stage('recovery sweeps', () => sweeps?.stop());
      // Finish the translations in flight (BullMQ worker or local runner), taking no new inbound job; then
      // close the workers. While Redis is unreachable BullMQ's graceful close() never returns (it waits
      // for its blocking connection), so they are closed with force then: nothing of theirs is in flight.
      await stage('pausing the inbound worker', () => inboundWorker?.pause(true));
      if (dispatcher && ledger) {
        await stage('translations in flight', async () => {
          await dispatcher.idle();
          for (;;) {
            const open = await ledger.listFiles({ state: ['received', 'translating'] });
            if (!open.some((f) => dispatcher.isBusy(f.id))) break;
            await new Promise((r) => setTimeout(r, 50));
          }
        });
      }
      const redisDown = workerConnection?.status !== 'ready';
      await stage('closing the inbound worker', () => inboundWorker?.close(redisDown));
      await stage('closing the dispatcher', () => dispatcher?.close());
      if (webhook) await stage('webhook delivery', () => (redisDown ? webhook.worker.close(true) : webhook.close()));
      await stage('event relay', () => relay?.stop());
      await stage('HTTP server', () => http?.app.close());
      partners?.stop();
      await stage('queue depth gauges', async () => { for (const q of depthQueues) await q.close().catch(() => undefined); });
      producer?.disconnect();
      workerConnection?.disconnect();
      await stage('ledger', () => ledger?.close());
      if (ledger) noteCleanStop(config.dataDir);
      parts.lock?.release();
    } finally {
      clearInterval(watch);
    }
    log.info({}, 'gateway stopped');
  }
}
