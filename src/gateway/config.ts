// waybill.yaml: how one gateway process runs. Validated with positions like partner files; every
// setting has a sensible default, so an empty file (or none) runs on embedded defaults.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import type { Diagnostic } from '../mappings/diagnostics.js';
import { YamlSource } from '../mappings/yaml-source.js';
import { zodDiagnostics } from '../mappings/zod-diagnostics.js';
import { hostedSftpServerSchema } from '../transports/sftp/config.js';

/** The shortest webhook secret taken. */
const SECRET_MIN = 8;

export const configSchema = z.strictObject({
  /** Where raw files, the SQLite ledger and the SFTP host key live. */
  dataDir: z.string().default('.data'),
  /** The partners root (partner folders with partner.yaml). */
  partnersDir: z.string().default('partners'),
  /** Redis for BullMQ; the environment variable REDIS_URL overrides it. */
  redisUrl: z.string().default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix, so several gateways (or tests) can share one Redis. */
  queuePrefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default('bull'),
  http: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
  }).prefault({}),
  inbound: z.strictObject({
    /** Local drop folder: files in <folder>/<partner-id>/ belong to that partner; X12 anywhere is identified by its ISA. */
    folder: z.string().nullable().default('inbound'),
    pollMs: z.number().int().min(50).default(500),
    /** What happens to a file once it is durably taken in: moved to <folder>/.archive, or deleted. */
    afterIntake: z.enum(['archive', 'delete']).default('archive'),
    /**
     * Settle time: a file is taken only once its size and mtime have stayed the same this long, as seen by
     * the poller (its own clock, not the file's mtime), so a writer pausing mid-file is not cut off. 2 s
     * covers short local stalls at little latency; writers should write under a .tmp/.part/hidden name
     * and rename (such names are never taken). Why 2 s: src/transports/folder/folder.ts.
     */
    minAgeSeconds: z.number().min(0).default(2),
    /** A failed intake (or archive/delete) is retried without waiting for the file to change: baseSeconds, doubling up to maxSeconds. */
    retry: z.strictObject({
      baseSeconds: z.number().min(0.01).default(1),
      maxSeconds: z.number().min(0.01).default(60),
    }).refine((r) => r.maxSeconds >= r.baseSeconds, { message: 'retry.maxSeconds must be at least retry.baseSeconds', path: ['maxSeconds'] }).prefault({}),
  }).prefault({}),
  duplicates: z.strictObject({
    windowDays: z.number().min(0).default(30),
    interchange: z.enum(['ignore', 'reject']).default('ignore'),
  }).prefault({}),
  translation: z.strictObject({
    /**
     * Units per ledger commit, at most: a file's first commit holds 250 units and each next one twice as
     * many up to this (process-file.ts), so first events appear early while large batches dirty each
     * random-key index page once for more rows. A crash re-maps up to one batch. (bench/gateway.mjs,
     * 100k-transaction 214, before the ledger's migration 3: 500 -> 3.9k events/s, 2000 -> 4.6-5.1k/s.)
     */
    batchSize: z.number().int().min(1).max(10_000).default(2000),
    concurrency: z.number().int().min(1).max(32).default(1),
  }).prefault({}),
  relay: z.strictObject({
    /** Events per BullMQ addBulk (its rate is flat from 100 to 1000 per call; the relay's own default). */
    batchSize: z.number().int().min(1).max(10_000).default(1000),
    idleMs: z.number().int().min(10).default(200),
  }).prefault({}),
  webhook: z.strictObject({
    /**
     * Where events are POSTed. http(s) only: z.url() alone takes any scheme (ftp://, file://), which the
     * webhook worker would refuse only once the gateway is half started.
     */
    url: z.url({
      protocol: /^https?$/,
      error: (iss) => (iss.code === 'invalid_format' ? `'${String(iss.input)}' is not an http:// or https:// URL` : undefined),
    }),
    /**
     * HMAC-SHA256 secret, at least 8 characters; `env:NAME` reads it from the environment, and then the
     * variable's value is held to that length (loadConfig), not the reference: `env:WH` was refused as
     * too short, and `env:WEBHOOK_SECRET` holding `abc` was taken.
     */
    secret: z.string().refine((v) => (v.startsWith('env:') ? v.length > 4 : v.length >= SECRET_MIN), {
      error: (iss) => (String(iss.input).startsWith('env:') ? 'env: needs the name of an environment variable after it' : `a secret is at least ${SECRET_MIN} characters (or env:NAME to read it from the environment)`),
    }),
    attempts: z.number().int().min(1).max(100).default(8),
    timeoutMs: z.number().int().min(100).default(10_000),
    backoffMs: z.number().int().min(10).default(1_000),
    maxBackoffMs: z.number().int().min(10).default(300_000),
    /**
     * Events POSTed at once. Each slot waits up to timeoutMs for an answer: endpoints that hang hold the
     * slots, and the events behind them wait, so a slow ERP may want more.
     */
    concurrency: z.number().int().min(1).max(64).default(4),
  }).nullable().default(null),
  /** The hosted SFTP server partners log into (accounts in each partner.yaml, transports.sftp); null: off. */
  sftp: hostedSftpServerSchema.nullable().default(null),
  log: z.strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }).prefault({}),
  /** How often partner files are checked for changes (reload without restart). 0 turns it off. */
  reloadMs: z.number().int().min(0).default(2_000),
});

export type GatewayConfig = z.infer<typeof configSchema>;

export interface LoadConfigOptions {
  /**
   * Check that partnersDir is an existing folder (default true). A gateway started on a missing one would
   * run with no partners and fail every file; commands that never read partners (sftp host-key) opt out.
   */
  checkPartnersDir?: boolean;
}

/** Loads a config file (or the defaults when `file` is undefined), resolving paths against the file's folder. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, opts: LoadConfigOptions = {}): { config: GatewayConfig | null; diagnostics: Diagnostic[] } {
  let value: unknown = {};
  const diagnostics: Diagnostic[] = [];
  let base = process.cwd();
  let src: YamlSource | null = null;
  if (file) {
    if (!existsSync(file)) {
      return { config: null, diagnostics: [{ code: 'CONFIG_FILE_MISSING', severity: 'error', message: `no config file ${file}`, file, line: 1, column: 1 }] };
    }
    // Read here rather than in YamlSource.load: a folder (EISDIR) or a file we may not read (EACCES) is
    // the operator's mistake, to be reported as such, not an internal error with a stack trace.
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      const message = statSync(file, { throwIfNoEntry: false })?.isDirectory()
        ? `${file} is a folder, not a config file (name the waybill.yaml inside it)`
        : `cannot read config file ${file}: ${(err as Error).message}`;
      return { config: null, diagnostics: [{ code: 'CONFIG_FILE_UNREADABLE', severity: 'error', message, file, line: 1, column: 1 }] };
    }
    src = YamlSource.fromBytes(bytes, file);
    diagnostics.push(...src.diagnostics);
    if (!diagnostics.some((d) => d.severity === 'error')) diagnostics.push(...zodDiagnostics(src, configSchema, 'CONFIG_INVALID'));
    value = src.value ?? {};
    base = dirname(resolve(file));
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { config: null, diagnostics };
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) return { config: null, diagnostics };
  const config = parsed.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  // An empty variable is unset, as for REDIS_URL below: `WAYBILL_PARTNERS=${X}` in a compose file or unit
  // with X unset made '' resolve to the config's own folder, whose subfolders (inbound, data) were then
  // served as partners with errors, and the data folder's ledger writes a reload every poll.
  if (env.WAYBILL_DATA) config.dataDir = env.WAYBILL_DATA;
  if (env.WAYBILL_PARTNERS) config.partnersDir = env.WAYBILL_PARTNERS;
  config.dataDir = abs(config.dataDir);
  config.partnersDir = abs(config.partnersDir);
  if (opts.checkPartnersDir ?? true) {
    const problem = folderProblem(config.partnersDir);
    if (problem) {
      const fromEnv = !!env.WAYBILL_PARTNERS;
      const message = `partnersDir ${config.partnersDir}${fromEnv ? ' (from WAYBILL_PARTNERS)' : ''} ${problem}; it must be the folder holding the partner folders`;
      // At the partnersDir line when the file sets it (1:1 when it is the default or comes from the environment).
      const at = src && !fromEnv ? src.position(['partnersDir']) : { line: 1, column: 1 };
      return { config: null, diagnostics: [...diagnostics, { code: 'CONFIG_INVALID', severity: 'error', message, file: file ?? '(defaults)', ...at }] };
    }
  }
  if (config.inbound.folder) config.inbound.folder = abs(config.inbound.folder);
  if (config.sftp?.hostKeyPath) config.sftp.hostKeyPath = abs(config.sftp.hostKeyPath);
  if (env.REDIS_URL) config.redisUrl = env.REDIS_URL;
  const at = (path: (string | number)[], fromEnv: boolean) => (src && !fromEnv ? src.position(path) : { line: 1, column: 1 });
  const overlap = inboundOverlap(config, file && resolve(file));
  if (overlap) {
    return { config: null, diagnostics: [...diagnostics, { code: 'CONFIG_INVALID', severity: 'error', message: overlap, file: file ?? '(defaults)', ...at(['inbound', 'folder'], false) }] };
  }
  const inPartners = partnersOverlap(config);
  if (inPartners) {
    return { config: null, diagnostics: [...diagnostics, { code: 'CONFIG_INVALID', severity: 'error', message: inPartners.message, file: file ?? '(defaults)', ...at(inPartners.path, false) }] };
  }
  const badRedis = redisUrlProblem(config.redisUrl);
  if (badRedis) {
    const fromEnv = env.REDIS_URL !== undefined;
    return { config: null, diagnostics: [...diagnostics, { code: 'CONFIG_INVALID', severity: 'error',
      message: `redisUrl '${config.redisUrl}'${fromEnv ? ' (from REDIS_URL)' : ''} ${badRedis}; it looks like redis://127.0.0.1:6379`, file: file ?? '(defaults)', ...at(['redisUrl'], fromEnv) }] };
  }
  if (config.webhook?.secret.startsWith('env:')) {
    const name = config.webhook.secret.slice(4);
    const secret = env[name];
    if (!secret) {
      // At the secret's value, as every other problem in the file is (it was at 1:1, which sent the
      // operator looking at the top of the file).
      return { config: null, diagnostics: [...diagnostics, { code: 'CONFIG_INVALID', severity: 'error', message: `webhook.secret names environment variable ${name}, which is not set`, file: file ?? '(defaults)', ...at(['webhook', 'secret'], false) }] };
    }
    if (secret.length < SECRET_MIN) {
      return { config: null, diagnostics: [...diagnostics, { code: 'CONFIG_INVALID', severity: 'error', message: `webhook.secret: environment variable ${name} holds ${secret.length} character(s); a secret is at least ${SECRET_MIN}`, file: file ?? '(defaults)', ...at(['webhook', 'secret'], false) }] };
    }
    config.webhook.secret = secret;
  }
  return { config, diagnostics };
}

/** Why `dir` cannot be a folder to read from, or null when it is one. */
function folderProblem(dir: string): string | null {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) return 'does not exist';
  return st.isDirectory() ? null : 'is not a folder';
}

/** Whether `inner` is `outer` or inside it (both absolute). */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Why the inbound folder cannot be the one configured, or null. Every file in it, and every folder as a
 * partner's, is taken in and archived: over the data folder or the config, the gateway moved its own
 * ledger, lock and waybill.yaml into .archive and split the ledger from its WAL.
 */
function inboundOverlap(config: GatewayConfig, configFile: string | undefined): string | null {
  const inbound = config.inbound.folder;
  if (!inbound) return null;
  if (within(config.dataDir, inbound)) return `inbound.folder ${inbound} holds the data folder ${config.dataDir}: the gateway would take in (and archive) its own ledger; give each its own folder`;
  if (within(config.partnersDir, inbound)) return `inbound.folder ${inbound} holds the partners folder ${config.partnersDir}: the gateway would take in (and archive) the partner files; give each its own folder`;
  if (configFile && within(configFile, inbound)) return `inbound.folder ${inbound} holds this config file: the gateway would take it in (and archive it); give the inbound files a folder of their own`;
  return null;
}

/**
 * Why the data folder or the inbound folder cannot be where it is configured, or null: inside the
 * partners folder, each subfolder is taken for a partner folder (served with PARTNER_FILE_MISSING), and
 * the partner reload's change check walks it every reloadMs: the ledger's writes and each arriving file
 * then reload every partner, and a data folder of many stored files is walked at each check.
 */
function partnersOverlap(config: GatewayConfig): { message: string; path: string[] } | null {
  const partners = config.partnersDir;
  const give = 'give each its own folder (partner folders only under partnersDir)';
  if (within(config.dataDir, partners)) return { path: ['dataDir'], message: `dataDir ${config.dataDir} is inside the partners folder ${partners}: its files would be watched, and its folders taken for partners; ${give}` };
  const inbound = config.inbound.folder;
  if (inbound && within(inbound, partners)) return { path: ['inbound', 'folder'], message: `inbound.folder ${inbound} is inside the partners folder ${partners}: every arriving file would reload the partners, and the folder would be taken for a partner; ${give}` };
  return null;
}

/** Why `url` is no Redis URL ioredis can connect to, or null. */
function redisUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  return parsed.protocol === 'redis:' || parsed.protocol === 'rediss:' ? null : `has the scheme ${parsed.protocol} where redis: or rediss: belongs`;
}
