// End-to-end gateway benchmark: a generated 214 dropped in the inbound folder of a running gateway
// (`node bin/waybill.js serve`, a child process on the dist build) until every canonical event is in the
// BullMQ events queue, against the raw BullMQ addBulk rate for the same event payloads (read back from the
// gateway's ledger), measured in the same run into a separate key prefix.
//
//   npm run build && node bench/gateway.mjs [--quick] [--runs N] [--profile] [--keep] [--json]
//                                           [--translation-batch N] [--relay-batch N]   (override the defaults)
//
//   100,000 transactions (~37 MB; --quick: 10,000), one shipment.status@1 event per transaction.
//   Redis: REDIS_URL or redis://127.0.0.1:6379 (shared: everything goes under a prefix of its own and is
//   obliterated afterwards; nothing else is touched).
// Reported: events/s from file arrival (the rename into the inbound folder) to the last event in the queue;
// the raw addBulk events/s (same payloads, job ids and options, batches of the relay's size); their ratio
// (target >= 70%); time from file arrival to the first event in the queue; peak RSS of the gateway process
// (VmHWM). --profile runs the gateway with --cpu-prof and prints where its CPU time went.
// The target is informational: exit code 0 either way (2 when dist/ is missing or Redis is unreachable).

import { spawn } from 'node:child_process';
import { WAYBILL_NODE_FLAGS, ensureFile, positiveIntArg } from './harness.mjs';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const outDir = join(root, 'bench/out');
const dist = (rel) => new URL(`../dist/${rel}`, import.meta.url);
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

function parseArgs(argv) {
  const o = { quick: false, runs: 1, profile: false, keep: false, json: false, translationBatch: null, relayBatch: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--runs') o.runs = positiveIntArg(a, argv[++i]);
    else if (a === '--profile') o.profile = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--translation-batch') o.translationBatch = positiveIntArg(a, argv[++i]);
    else if (a === '--relay-batch') o.relayBatch = positiveIntArg(a, argv[++i]);
    else if (a === '--json') o.json = true;
    else if (a === '--skip-baseline') { /* accepted for `npm run bench -- --skip-baseline`: the raw rate is this benchmark's measure */ }
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/gateway.mjs [--quick] [--runs N] [--profile] [--keep] [--json] [--translation-batch N] [--relay-batch N]');
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  return o;
}

/** bench/out/214-<n>.edi, shared with bench/x12.mjs and bench/translate.mjs (same sidecar). */

/**
 * The partners folder: the example LTL carrier prairie-line answering to the generator's sender
 * (02/WAYBILLCARR); its 214 mapping fills estimatedAt for AT7 status AG, so that every generated
 * transaction yields exactly one event.
 */
function writePartners(dir) {
  const p = join(dir, 'gen-carrier');
  cpSync(join(root, 'partners/prairie-line'), p, { recursive: true });
  const yaml = readFileSync(join(p, 'partner.yaml'), 'utf8')
    .replace('id: prairie-line', 'id: gen-carrier')
    .replace('isa: { qualifier: "02", id: PRLF }', 'isa: { qualifier: "02", id: WAYBILLCARR }')
    .replace('gs: PRLF', 'gs: WAYBILLCARR');
  if (!yaml.includes('id: WAYBILLCARR }')) throw new Error('partners/prairie-line/partner.yaml changed; update bench/gateway.mjs');
  writeFileSync(join(p, 'partner.yaml'), yaml);
  // prairie-line's 214 mapping fills estimatedAt for AG itself, as the generated AG statuses need.
  const map = readFileSync(join(p, 'mappings/214-status.yaml'), 'utf8');
  if (!/^ {2}estimatedAt: .*AG/m.test(map)) throw new Error('partners/prairie-line/mappings/214-status.yaml changed; update bench/gateway.mjs');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function peakRssMB(pid) {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds a process has used so far, all its threads (utime + stime from /proc, in clock ticks of 10 ms). */
function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds the Redis server has used so far (INFO cpu: main thread and its helpers). */
async function redisCpuSeconds(redis) {
  const info = await redis.info('cpu');
  const num = (k) => Number((new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info) ?? [])[1] ?? NaN);
  return num('used_cpu_user') + num('used_cpu_sys');
}

async function cleanPrefix(connection, Queue, prefix, relayMarkerKey) {
  for (const name of ['waybill-inbound', 'waybill-events']) {
    const q = new Queue(name, { connection, prefix });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
  await connection.del(relayMarkerKey(prefix));
}

/** One measurement: a fresh gateway and data folder, the file dropped in, then the raw addBulk rate. */
async function measure(file, transactions, o, libs, runIndex) {
  const { Queue, Database, createConnection, EVENT_JOB_OPTIONS, relayMarkerKey } = libs;
  const work = join(outDir, `gateway-${process.pid}-${runIndex}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'partners'), { recursive: true });
  writePartners(join(work, 'partners'));
  const prefix = `wbbench-${process.pid}-${randomBytes(3).toString('hex')}`;
  const rawPrefix = `${prefix}-raw`;
  // The gateway's defaults (src/gateway/config.ts), except a faster inbound poll than the 500 ms default,
  // so that the arrival latency is the gateway's and not mostly the poll period, and no settle time
  // (minAgeSeconds: 0; default 2): the benchmark drops its file by renaming it into place, whole, which is
  // what the settle time waits for a writer to have done.
  const { configSchema } = libs;
  const config = configSchema.parse({
    ...(o.translationBatch && { translation: { batchSize: o.translationBatch } }),
    ...(o.relayBatch && { relay: { batchSize: o.relayBatch } }),
  });
  writeFileSync(join(work, 'waybill.yaml'), [
    'dataDir: data', 'partnersDir: partners', `redisUrl: ${REDIS_URL}`, `queuePrefix: ${prefix}`,
    'http: { port: 0 }', 'inbound: { folder: inbound, pollMs: 100, minAgeSeconds: 0 }', 'reloadMs: 0', 'log: { level: info }',
    `translation: { batchSize: ${config.translation.batchSize} }`, `relay: { batchSize: ${config.relay.batchSize}, idleMs: ${config.relay.idleMs} }`, '',
  ].join('\n'));
  const profDir = join(outDir, 'prof', 'gateway');
  if (o.profile) {
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
  }
  // Started as `npm run serve` starts it (and as bin/waybill.js's shebang does): same V8 flags.
  const nodeArgs = [...WAYBILL_NODE_FLAGS, ...(o.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])];
  const gw = spawn(process.execPath, [...nodeArgs, join(root, 'bin/waybill.js'), 'serve', '--config', join(work, 'waybill.yaml')], {
    cwd: work, env: { ...process.env, REDIS_URL }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  gw.stdout.on('data', (c) => { out += c; });
  gw.stderr.on('data', (c) => { out += c; });
  const exited = new Promise((resolve) => gw.once('exit', (code, signal) => resolve({ code, signal })));
  const redis = createConnection(REDIS_URL);
  const events = new Queue('waybill-events', { connection: redis, prefix });
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('"msg":"gateway started"')) {
      if (gw.exitCode !== null || Date.now() > deadline) throw new Error(`the gateway did not start:\n${out.slice(-2000)}`);
      await sleep(20);
    }
    const inbound = join(work, 'inbound');
    mkdirSync(inbound, { recursive: true });
    cpSync(file, join(inbound, '.arriving.tmp')); // hidden name: not taken until renamed

    const gwCpu0 = processCpuSeconds(gw.pid);
    const redisCpu0 = await redisCpuSeconds(redis);
    const arrival = performance.now();
    renameSync(join(inbound, '.arriving.tmp'), join(inbound, `214-${transactions}.edi`));
    let first = null;
    let count = 0;
    const bound = Date.now() + 600_000;
    while (count < transactions) {
      if (gw.exitCode !== null) throw new Error(`the gateway exited:\n${out.slice(-2000)}`);
      if (Date.now() > bound) throw new Error(`only ${count} of ${transactions} events reached the queue in 10 minutes`);
      count = await events.count();
      if (count > 0 && first === null) first = performance.now();
      await sleep(first === null ? 5 : 25);
    }
    const done = performance.now();
    const rssMB = peakRssMB(gw.pid);
    const gatewayCpu = processCpuSeconds(gw.pid) - gwCpu0;
    const gatewayRedisCpu = (await redisCpuSeconds(redis)) - redisCpu0;

    // The ledger's view of the same run (read-only): intake and translation times. The relay publishes
    // while the file is translated, so the last events can be in the queue just before the file's final
    // commit: give that commit a moment.
    const db = new Database(join(work, 'data', 'ledger.db'), { readonly: true });
    const fileRow = () => db.prepare('SELECT received_at, updated_at, state, units_done FROM files').get();
    for (let i = 0; i < 100 && fileRow()?.state === 'translating'; i++) await sleep(50);
    const f = fileRow();
    const rows = db.prepare('SELECT o.id, o.type, p.payload FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq ORDER BY o.seq').all();
    db.close();

    gw.kill('SIGTERM');
    const stopped = await Promise.race([exited, sleep(60_000).then(() => ({ code: null, signal: 'timeout' }))]);
    if (stopped.signal === 'timeout') gw.kill('SIGKILL');

    // Raw BullMQ: the same payloads, job ids and options, addBulk in batches of the relay's size, one at a
    // time (as the relay does), on a producer connection like the gateway's; JSON parsing is not timed.
    const relayBatch = config.relay.batchSize;
    const jobs = rows.map((r) => ({ name: r.type, data: JSON.parse(r.payload), opts: { ...EVENT_JOB_OPTIONS, jobId: r.id } }));
    const raw = new Queue('waybill-events', { connection: redis, prefix: rawPrefix });
    await raw.waitUntilReady();
    const rawRedisCpu0 = await redisCpuSeconds(redis);
    const c0 = process.cpuUsage();
    const r0 = performance.now();
    for (let i = 0; i < jobs.length; i += relayBatch) await raw.addBulk(jobs.slice(i, i + relayBatch));
    const rawMs = performance.now() - r0;
    const rawCpu = process.cpuUsage(c0);
    const rawClientCpu = (rawCpu.user + rawCpu.system) / 1e6;
    const rawRedisCpu = (await redisCpuSeconds(redis)) - rawRedisCpu0;
    const rawCount = await raw.count();
    await raw.close();

    const ms = done - arrival;
    return {
      transactions, events: rows.length, queued: count, rawQueued: rawCount, fileState: f?.state,
      ms, eventsPerSec: rows.length / (ms / 1000),
      firstEventMs: first - arrival,
      intakeMs: f ? Date.parse(f.received_at) - (performance.timeOrigin + arrival) : null,
      translatedMs: f ? Date.parse(f.updated_at) - (performance.timeOrigin + arrival) : null,
      rawMs, rawEventsPerSec: rows.length / (rawMs / 1000), relayBatch,
      ratio: (rows.length / (ms / 1000)) / (rows.length / (rawMs / 1000)),
      rssMB, stopped, profDir: o.profile ? profDir : null, translationBatch: config.translation.batchSize,
      // CPU seconds, for a view that does not move with the host's load as elapsed times do.
      cpu: { gateway: gatewayCpu, gatewayRedis: gatewayRedisCpu, rawClient: rawClientCpu, rawRedis: rawRedisCpu },
    };
  } finally {
    if (gw.exitCode === null && gw.signalCode === null) {
      gw.kill('SIGKILL');
      await exited;
    }
    await events.close().catch(() => undefined);
    await cleanPrefix(redis, Queue, prefix, relayMarkerKey).catch(() => undefined);
    await cleanPrefix(redis, Queue, rawPrefix, relayMarkerKey).catch(() => undefined);
    redis.disconnect();
    if (!o.keep) rmSync(work, { recursive: true, force: true });
  }
}

/** Self time by function and by area from a V8 .cpuprofile. */
function summariseProfile(dir) {
  // One profile per thread (the relay and WAL checkpoints have their own): the main thread's is the largest.
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size) : [];
  if (files.length === 0) return null;
  const prof = JSON.parse(readFileSync(join(dir, files[0]), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const area = (url, fn) => {
    if (!url) return fn.startsWith('(') ? fn : '(native/builtin)';
    const m = /\/(dist|node_modules)\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (!m) return url.startsWith('node:') ? `node:${url.slice(5).split('/')[0]}` : 'other';
    return m[1] === 'dist' ? `dist/${m[2]}` : m[2];
  };
  const fns = new Map();
  const areas = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    const { functionName, url, lineNumber } = n.callFrame;
    const fn = functionName || '(anonymous)';
    const key = `${fn} ${url ? `${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
    const a = area(url, fn);
    areas.set(a, (areas.get(a) ?? 0) + us);
    total += us;
  }
  const top = (m, n) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => ({ name: k, ms: us / 1000, pct: (100 * us) / total }));
  return { file: join(dir, files[0]), totalMs: total / 1000, areas: top(areas, 14), functions: top(fns, 25) };
}

const fmt = (n, d = 0) => (n === null || n === undefined || Number.isNaN(n) ? 'n/a' : n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(dist('cli/main.js'))) {
    console.error('run npm run build first (dist/cli/main.js is missing)');
    process.exit(2);
  }
  const [{ Queue }, { default: Database }, queues, relay, gatewayConfig] = await Promise.all([
    import('bullmq'), import('better-sqlite3'), import(dist('queue/queues.js').href), import(dist('queue/relay.js').href), import(dist('gateway/config.js').href),
  ]);
  const libs = {
    Queue, Database, createConnection: queues.createConnection, EVENT_JOB_OPTIONS: relay.EVENT_JOB_OPTIONS, relayMarkerKey: relay.relayMarkerKey,
    configSchema: gatewayConfig.configSchema,
  };
  const probe = queues.createConnection(REDIS_URL);
  const ok = await queues.waitForRedis(probe, 3000);
  probe.disconnect();
  if (!ok) {
    console.error(`Redis is not reachable at ${REDIS_URL}; start one (redis-server --save "" --appendonly no) or set REDIS_URL`);
    process.exit(2);
  }

  const transactions = o.quick ? 10_000 : 100_000;
  const file = await ensureFile(transactions);
  const load = loadavg()[0];
  const cores = availableParallelism();
  console.error(`node ${process.version}, ${transactions.toLocaleString('en-US')} transactions (${(statSync(file).size / 1e6).toFixed(1)} MB), ${o.runs} run(s), Redis ${REDIS_URL}`);
  if (load > cores * 0.5) console.error(`note: load average ${load.toFixed(1)} on ${cores} cores: other work is running, timings will be low and noisy`);

  const results = [];
  for (let i = 0; i < o.runs; i++) {
    process.stderr.write(`  run ${i + 1}/${o.runs}... `);
    const r = await measure(file, transactions, { ...o, profile: o.profile && i === o.runs - 1 }, libs, i);
    process.stderr.write(`${(r.ms / 1000).toFixed(2)} s end to end (${fmt(r.eventsPerSec)} events/s), raw addBulk ${(r.rawMs / 1000).toFixed(2)} s (${fmt(r.rawEventsPerSec)}/s), ${fmt(r.rssMB)} MB\n`);
    if (r.events !== transactions || r.queued < transactions || r.fileState !== 'translated') {
      console.error(`WARNING: expected ${transactions} events; the ledger has ${r.events}, the queue ${r.queued}, the file is ${r.fileState}`);
    }
    results.push(r);
  }
  const med = (k) => [...results.map((r) => r[k])].sort((a, b) => a - b)[Math.floor(results.length / 2)];
  const summary = {
    transactions, runs: results.length,
    eventsPerSec: med('eventsPerSec'), rawEventsPerSec: med('rawEventsPerSec'), ratio: med('ratio'),
    firstEventMs: med('firstEventMs'), intakeMs: med('intakeMs'), translatedMs: med('translatedMs'), ms: med('ms'),
    rssMB: Math.max(...results.map((r) => r.rssMB ?? 0)), relayBatch: results[0].relayBatch, translationBatch: results[0].translationBatch,
    cpu: Object.fromEntries(Object.keys(results[0].cpu).map((k) => [k, [...results.map((r) => r.cpu[k])].sort((a, b) => a - b)[Math.floor(results.length / 2)]])),
  };
  const profile = o.profile ? summariseProfile(results.at(-1).profDir) : null;
  if (o.json) {
    console.log(JSON.stringify({ summary, results, profile }, null, 2));
    return;
  }
  const rows = [
    [`gateway: file arrival -> all events in the queue (translation batch ${summary.translationBatch}, relay batch ${summary.relayBatch})`, fmt(summary.eventsPerSec), `${fmt(summary.ms / 1000, 2)} s`],
    [`raw BullMQ addBulk (same payloads, batches of ${summary.relayBatch})`, fmt(summary.rawEventsPerSec), `${fmt(transactions / summary.rawEventsPerSec, 2)} s`],
  ];
  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(8, ...rows.map((r) => r[1].length)), Math.max(7, ...rows.map((r) => r[2].length))];
  console.log();
  console.log(`| ${'measurement'.padEnd(w[0])} | ${'events/s'.padStart(w[1])} | ${'elapsed'.padStart(w[2])} |`);
  console.log(`|${'-'.repeat(w[0] + 2)}|${'-'.repeat(w[1] + 1)}:|${'-'.repeat(w[2] + 1)}:|`);
  for (const r of rows) console.log(`| ${r[0].padEnd(w[0])} | ${r[1].padStart(w[1])} | ${r[2].padStart(w[2])} |`);
  console.log();
  console.log(`  arrival -> taken in (ledger)      ${fmt(summary.intakeMs)} ms`);
  console.log(`  arrival -> first event in queue   ${fmt(summary.firstEventMs)} ms`);
  console.log(`  arrival -> file translated        ${fmt(summary.translatedMs)} ms`);
  console.log(`  peak RSS of the gateway process   ${fmt(summary.rssMB)} MB`);
  const c = summary.cpu;
  const per100k = (sec) => fmt((sec * 100_000) / transactions, 1);
  console.log(`  CPU per 100,000 events (median s): gateway ${per100k(c.gateway)} + Redis ${per100k(c.gatewayRedis)} = ${per100k(c.gateway + c.gatewayRedis)}; ` +
    `raw client ${per100k(c.rawClient)} + Redis ${per100k(c.rawRedis)} = ${per100k(c.rawClient + c.rawRedis)}`);
  const met = summary.ratio >= 0.7;
  console.log(`targets (from the issue):\n  [${met ? '  met ' : 'MISSED'}] end-to-end vs raw addBulk  target >= 70%  measured ${fmt(summary.ratio * 100, 1)}%`);
  if (profile) {
    console.log(`\ngateway CPU profile (${profile.file}), ${fmt(profile.totalMs)} ms sampled; self time by area:`);
    for (const a of profile.areas) console.log(`  ${fmt(a.pct, 1).padStart(5)}%  ${fmt(a.ms).padStart(7)} ms  ${a.name}`);
    console.log('top functions by self time:');
    for (const f of profile.functions) console.log(`  ${fmt(f.pct, 1).padStart(5)}%  ${fmt(f.ms).padStart(7)} ms  ${f.name}`);
  }
}

await main();
