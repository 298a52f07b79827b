// Shared pieces of the queue tests: a private redis-server (for tests that flush, stop or restart
// Redis; the shared one is never touched that way), per-test BullMQ prefixes, a pipeline context on a
// temp data folder, and bounded waiting.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import { silentLogger, type Dispatcher, type Logger, type PipelineContext } from '../../src/pipeline/context.js';
import { intake } from '../../src/pipeline/intake.js';
import { processFile } from '../../src/pipeline/process-file.js';
import { generate214String } from '../../bench/gen-214.mjs';
import { cleanRedisPrefix } from '../helpers/redis.js';

export const SHARED_REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ROOT = new URL('../../', import.meta.url).pathname;

/** A BullMQ prefix no other test (or test run) uses. */
export function uniquePrefix(name: string): string {
  return `wbq-${name}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` is true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(intervalMs);
  }
}

/** A redis-server of our own, without persistence, in a temp folder, on a fixed port across restarts. */
export class PrivateRedis {
  private proc: ChildProcess | null = null;

  private constructor(readonly port: number, readonly dir: string) {}

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), mkdtempSync(join(tmpdir(), 'wb-redis-')));
    await r.launch();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async launch(): Promise<void> {
    this.proc = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.dir, '--logfile', join(this.dir, 'redis.log'),
    ], { stdio: 'ignore' });
    const probe = new Redis(this.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    try {
      await waitFor(`redis-server on port ${this.port}`, async () => {
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          probe.disconnect();
          return false;
        }
      }, 10_000, 50);
    } finally {
      probe.disconnect();
    }
  }

  /** kill -9: Redis loses everything (no persistence). */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    const exited = once(p, 'exit');
    p.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A temp partners folder: prairie-line as is, plus a copy that answers to bench/gen-214.mjs's sender. */
export function partnersRoot(dir: string): string {
  const root = join(dir, 'partners');
  cpSync(join(ROOT, 'partners/prairie-line'), join(root, 'prairie-line'), { recursive: true });
  cpSync(join(ROOT, 'partners/prairie-line'), join(root, 'gen-carrier'), { recursive: true });
  const yaml = readFileSync(join(root, 'gen-carrier/partner.yaml'), 'utf8')
    .replace('id: prairie-line', 'id: gen-carrier')
    .replace('isa: { qualifier: "02", id: PRLF }', 'isa: { qualifier: "02", id: WAYBILLCARR }')
    .replace('gs: PRLF', 'gs: WAYBILLCARR');
  if (!yaml.includes('WAYBILLCARR }') || !yaml.includes('gs: WAYBILLCARR')) throw new Error('partner.yaml of prairie-line changed; update test/queue/support.ts');
  writeFileSync(join(root, 'gen-carrier/partner.yaml'), yaml);
  return root;
}

export type TestContext = PipelineContext & { dispatcher?: Dispatcher; ledger: SqliteLedger };

export interface Workspace {
  dir: string;
  ctx: TestContext;
  close(): Promise<void>;
}

export function workspace(log: Logger = silentLogger): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'wb-queue-'));
  const { registry, diagnostics } = PartnerRegistry.load(partnersRoot(dir));
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`partner folders do not compile: ${errors.map((d) => d.message).join('; ')}`);
  const ledger = new SqliteLedger(join(dir, 'data', 'ledger.db'));
  const ctx: TestContext = {
    dataDir: join(dir, 'data'), ledger, registry: () => registry, log, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 100,
  };
  return {
    dir, ctx,
    async close() {
      await ledger.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Input files: real fixtures of prairie-line (distinct interchanges and shipments) and generated 214s. */
export const FIXTURES = {
  status214: join(ROOT, 'fixtures/edi/214/004010/ltl-multi-status.edi'),
  weight214: join(ROOT, 'fixtures/edi/214/004010/at8-weight-comma.edi'),
  invoice210: join(ROOT, 'fixtures/edi/210/004010/ltl-invoice-n9.edi'),
  badTx214: join(ROOT, 'partners/prairie-line/samples/214-one-bad-transaction.edi'),
};

/**
 * A generated multi-transaction 214 from gen-carrier. `interchange` becomes the ISA13/IEA02 and `seed`
 * varies the content, so several generated files are distinct interchanges.
 */
export function generated214(transactions: number, interchange = 1, seed = 214): Buffer {
  const isa13 = String(interchange).padStart(9, '0');
  const text = generate214String(transactions, { seed, perGroup: 10_000, groupsPerInterchange: 1 })
    .replace(/\*000000001\*0\*P\*/, `*${isa13}*0*P*`)
    .replace(/IEA\*1\*000000001/, `IEA*1*${isa13}`);
  return Buffer.from(text);
}

export type Input = { name: string; data: Buffer };

export function inputs(list: (keyof typeof FIXTURES)[]): Input[] {
  return list.map((k) => ({ name: `${k}.edi`, data: readFileSync(FIXTURES[k]) }));
}

export async function take(ctx: TestContext, input: Input): Promise<string> {
  return (await intake(ctx, { input: input.data, transport: 'cli', originalName: input.name })).fileId;
}

/** The event ids the inputs must produce: the same files translated without any queue, in a fresh ledger. */
export async function expectedEventIds(list: Input[]): Promise<Set<string>> {
  const ws = workspace();
  try {
    for (const input of list) await processFile(ws.ctx, await take(ws.ctx, input));
    return new Set((await ws.ctx.ledger.unpublished(1_000_000)).map((r) => r.id));
  } finally {
    await ws.close();
  }
}

/** Every event id in the outbox, in insertion order (read through a second, read-only connection). */
export function allEventIds(ledger: SqliteLedger): string[] {
  const db = new Database(ledger.path, { readonly: true });
  try {
    return (db.prepare('SELECT id FROM outbox ORDER BY seq').all() as { id: string }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

/** Removes everything a test left under its prefix (queues and the relay marker). */
/** Removes everything a test left under its prefix (queues and the relay marker). */
export async function cleanRedis(url: string, prefix: string): Promise<void> {
  await cleanRedisPrefix(url, prefix);
}

/** A logger that keeps what it is told, for assertions on warnings. */
export function memoryLogger(): Logger & { lines: { level: string; msg?: string; obj: Record<string, unknown> }[] } {
  const lines: { level: string; msg?: string; obj: Record<string, unknown> }[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
}
