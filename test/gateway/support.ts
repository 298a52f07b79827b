// Shared pieces of the gateway tests: temp workspaces with a waybill.yaml, a partner that answers to
// bench/gen-214.mjs's sender ids, `waybill serve` as a real child process (from source through tsx), a
// read-only view of a running gateway's ledger, per-test BullMQ prefixes and their cleanup, bounded waits.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { repoRoot } from '../helpers/cli.js';
import { cleanRedisPrefix } from '../helpers/redis.js';

export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
export { repoRoot };

/** A BullMQ prefix no other test (or test run) uses. */
export function uniquePrefix(name: string): string {
  return `wbg-${name}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` is true; fails with `what` after `timeoutMs` (a bound, not a timing assertion). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(intervalMs);
  }
}

/** A local TCP port nothing listens on (bound, read, released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `wb-${name}-`));
}

/**
 * A partners folder with `gen-carrier`: prairie-line's 214 setup answering to the generator's sender
 * (02/WAYBILLCARR). Its 214 mapping fills `estimatedAt` for AT7 status AG (estimated delivery), so every
 * generated transaction translates into exactly one shipment.status@1 event.
 */
export function genCarrierPartners(root: string): string {
  const dir = join(root, 'gen-carrier');
  cpSync(join(repoRoot, 'partners/prairie-line'), dir, { recursive: true });
  const yamlFile = join(dir, 'partner.yaml');
  const yaml = readFileSync(yamlFile, 'utf8')
    .replace('id: prairie-line', 'id: gen-carrier')
    .replace('isa: { qualifier: "02", id: PRLF }', 'isa: { qualifier: "02", id: WAYBILLCARR }')
    .replace('gs: PRLF', 'gs: WAYBILLCARR');
  if (!yaml.includes('id: WAYBILLCARR }') || !yaml.includes('gs: WAYBILLCARR')) throw new Error('partners/prairie-line/partner.yaml changed; update test/gateway/support.ts');
  writeFileSync(yamlFile, yaml);
  // prairie-line's 214 mapping fills estimatedAt for AG itself, as the generated AG statuses need.
  const map = readFileSync(join(dir, 'mappings/214-status.yaml'), 'utf8');
  if (!/^ {2}estimatedAt: .*AG/m.test(map)) throw new Error('partners/prairie-line/mappings/214-status.yaml changed; update test/gateway/support.ts');
  return root;
}

export interface Workspace {
  dir: string;
  configFile: string;
  dataDir: string;
  partnersDir: string;
  inbound: string;
  prefix: string;
  ledgerFile: string;
}

/** A temp folder with waybill.yaml (paths relative to it), data/, partners/ and inbound/. */
export function workspace(name: string, partners: (root: string) => void, config: Record<string, unknown> = {}): Workspace {
  const dir = tempDir(name);
  const partnersDir = join(dir, 'partners');
  mkdirSync(partnersDir, { recursive: true });
  partners(partnersDir);
  const prefix = uniquePrefix(name);
  const full = {
    dataDir: 'data', partnersDir: 'partners', queuePrefix: prefix, redisUrl: REDIS_URL,
    http: { port: 0 }, inbound: { folder: 'inbound', pollMs: 100 }, reloadMs: 0, log: { level: 'info' },
    ...config,
  };
  const configFile = join(dir, 'waybill.yaml');
  writeFileSync(configFile, stringify(full));
  return { dir, configFile, dataDir: join(dir, 'data'), partnersDir, inbound: join(dir, 'inbound'), prefix, ledgerFile: join(dir, 'data', 'ledger.db') };
}

/** Drops a file into a folder as a sender should: written under a temporary name, then renamed. */
export function dropFile(folder: string, name: string, data: Buffer | string | { copyFrom: string }): string {
  mkdirSync(folder, { recursive: true });
  const target = join(folder, name);
  const part = `${target}.part`;
  if (typeof data === 'object' && 'copyFrom' in data) cpSync(data.copyFrom, part);
  else writeFileSync(part, data);
  renameSync(part, target);
  return target;
}

/**
 * How to start `waybill`: from dist/ through bin/waybill.js when the build is newer than every source file
 * (CI builds before it tests), else from the sources through tsx.
 *
 * Why not always tsx: from the sources, each of the gateway's worker threads (relay, ...) registers tsx's
 * module hooks itself (Node 20 carries none into a thread), and on a loaded machine a thread was seen to
 * hang for good in that registration (a diagnostic report: `register` -> `makeSyncRequest` ->
 * `waitForWorker`), together with the process, whose stop then waited on it. Compiled code registers no
 * hooks; what is tested is then the artifact that ships.
 */
function waybillCommand(): string[] {
  const built = join(repoRoot, 'dist/cli/main.js');
  if (existsSync(built) && newestSource(join(repoRoot, 'src')) <= statSync(built).mtimeMs) {
    const shebang = readFileSync(join(repoRoot, 'bin/waybill.js'), 'utf8').split('\n', 1)[0];
    const v8Flags = shebang.split(' ').filter((a) => a.startsWith('--'));
    return [...v8Flags, join(repoRoot, 'bin/waybill.js')];
  }
  return ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts')];
}

/** The latest modification time of the files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** `waybill serve` (or any waybill command) as a child process (see waybillCommand). */
export class WaybillProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private out = '';

  private constructor(readonly proc: ChildProcess) {
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** stdout+stderr are kept in memory and, when `logFile` is given, appended to it as well. */
  static start(args: string[], opts: { env?: NodeJS.ProcessEnv; logFile?: string; cwd?: string } = {}): WaybillProcess {
    const fd = opts.logFile ? openSync(opts.logFile, 'a') : null;
    const proc = spawn(process.execPath, [...waybillCommand(), ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new WaybillProcess(proc);
    const keep = (chunk: Buffer) => {
      p.out += chunk.toString('utf8');
      if (fd !== null) writeFileSync(fd, chunk);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    if (fd !== null) void p.exited.then(() => closeSync(fd));
    return p;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get output(): string {
    return this.out;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The JSON log lines printed so far (pino). */
  logLines(): { msg?: string; level?: number; [k: string]: unknown }[] {
    return this.out.split('\n').filter((l) => l.startsWith('{')).map((l) => {
      try {
        return JSON.parse(l) as { msg?: string };
      } catch {
        return {};
      }
    });
  }

  /** Resolves with the gateway's URL once it logged 'gateway started'. */
  async started(timeoutMs = 30_000): Promise<string> {
    let url = '';
    await waitFor('gateway started', () => {
      if (!this.alive) throw new Error(`waybill exited before starting:\n${this.out.slice(-3000)}`);
      const line = this.logLines().find((l) => l.msg === 'gateway started');
      url = (line?.url as string | undefined) ?? '';
      return url !== '';
    }, timeoutMs, 25);
    return url;
  }

  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  async terminate(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A read-only connection to a gateway's ledger (WAL: reads never block the gateway's writes). */
export class LedgerView {
  private db: Database.Database | null = null;

  constructor(readonly path: string) {}

  private open(): Database.Database | null {
    if (this.db) return this.db;
    if (!existsSync(this.path)) return null;
    try {
      this.db = new Database(this.path, { readonly: true, fileMustExist: true });
      this.db.pragma('busy_timeout = 5000');
      return this.db;
    } catch {
      return null;
    }
  }

  /** Rows of a query, or [] while the ledger does not exist yet (or its schema is not created). */
  all<T>(sql: string, ...args: unknown[]): T[] {
    const db = this.open();
    if (!db) return [];
    try {
      return db.prepare(sql).all(...args) as T[];
    } catch (err) {
      if (/no such table/.test((err as Error).message)) return [];
      throw err;
    }
  }

  get<T>(sql: string, ...args: unknown[]): T | undefined {
    return this.all<T>(sql, ...args)[0];
  }

  files(): { id: string; state: string; units_done: number; attempts: number; partner: string | null; original_name: string; transport: string }[] {
    return this.all('SELECT id, state, units_done, attempts, partner, original_name, transport FROM files ORDER BY received_at, id');
  }

  events(): { total: number; unpublished: number; published: number; consumed: number } {
    return this.get('SELECT COUNT(*) AS total, TOTAL(published_at IS NULL) AS unpublished, TOTAL(published_at IS NOT NULL) AS published, TOTAL(consumed_at IS NOT NULL) AS consumed FROM outbox')
      ?? { total: 0, unpublished: 0, published: 0, consumed: 0 };
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}

/** Removes everything a test left under its prefix (both queues and the relay marker). Never FLUSHALL. */
/** Removes everything a test left under its prefix (both queues and the relay marker). Never FLUSHALL. */
export async function cleanRedis(prefix: string, url = REDIS_URL): Promise<void> {
  await cleanRedisPrefix(url, prefix);
}

export function ensureDir(file: string): string {
  mkdirSync(dirname(file), { recursive: true });
  return file;
}
