// XML inbound benchmark: a Sangamon Valley XML freight invoice (bench/gen-xml-invoice.mjs) just under the
// 20 MiB XML size cap, translated as `waybill translate` does (translateXmlFile on the main thread), read
// only (parseXml), and taken through the gateway's processFile (intake, translation on the XML worker
// thread, ledger commit on its commit thread) while a 10 ms interval measures the main thread's largest
// event-loop gap.
//
//   npm run build && node bench/xml.mjs [--quick] [--runs N] [--json]
//
// File (generated into bench/out/, reused while its recorded size matches): 137,000 charges, 19.9 MB;
// --quick: 13,700 charges, 2 MB. Each measurement runs in its own child process (peak RSS is its own),
// with the V8 flags waybill runs with. "MB/s" is the median run, "best" the fastest. Informational: exit
// code 0 either way (2 when dist/ is missing).

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { generateXmlInvoiceFile } from './gen-xml-invoice.mjs';
import { fmt, median, outDir, peakRssMB, positiveIntArg, printTable, runChild, WAYBILL_NODE_FLAGS } from './harness.mjs';

const dist = (rel) => new URL(`../dist/${rel}`, import.meta.url).href;
const partnersDir = new URL('../partners', import.meta.url).pathname;

/** bench/out/svxp_invoice_<charges>.xml, generated unless it is there with the size its sidecar records. */
function ensureInvoice(charges) {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `svxp_invoice_${charges}.xml`);
  const metaFile = `${file}.json`;
  try {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    if (meta.charges === charges && meta.bytes === statSync(file).size) return file;
  } catch { /* generate */ }
  const bytes = generateXmlInvoiceFile(file, charges);
  writeFileSync(metaFile, JSON.stringify({ charges, bytes }));
  return file;
}

// ---------------------------------------------------------------------------------------------------
// Child mode: one measurement, one JSON line.

async function loadPartner() {
  const { PartnerRegistry } = await import(dist('mappings/registry.js'));
  return PartnerRegistry.load(partnersDir).registry;
}

async function childTranslate(file) {
  const { translateXmlFile } = await import(dist('mappings/translate.js'));
  const partner = (await loadPartner()).get('sangamon-valley');
  const t0 = performance.now();
  const u = translateXmlFile(file, partner, { fileId: 'sha256-bench', receivedAt: '2025-05-14T12:00:00Z' });
  const ms = performance.now() - t0;
  if (u.status !== 'translated') throw new Error(`unit ${u.status}: ${JSON.stringify(u.errors)}`);
  return { ms, events: u.events.length };
}

async function childParse(file) {
  const { parseXml, readXmlFile } = await import(dist('translators/xml/reader.js'));
  const t0 = performance.now();
  parseXml(readXmlFile(file));
  return { ms: performance.now() - t0, events: 0 };
}

async function childGateway(file) {
  const { SqliteLedger } = await import(dist('ledger/sqlite.js'));
  const { intake } = await import(dist('pipeline/intake.js'));
  const { processFile } = await import(dist('pipeline/process-file.js'));
  const registry = await loadPartner();
  const dataDir = mkdtempSync(join(tmpdir(), 'wb-bench-xml-'));
  const ledger = new SqliteLedger(join(dataDir, 'ledger.db'), { commitThread: true });
  const quiet = { info() {}, warn() {}, error() {} };
  const ctx = { dataDir, ledger, registry: () => registry, log: quiet, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 2000 };
  try {
    // The largest gap between two turns of a 10 ms timer (Node's event-loop delay histogram, plus its period).
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const t0 = performance.now();
    const { fileId } = await intake(ctx, { input: { path: file }, transport: 'bench', originalName: 'svxp_invoice_bench.xml', partner: 'sangamon-valley' });
    const r = await processFile(ctx, fileId);
    const ms = performance.now() - t0;
    delay.disable();
    const maxGap = delay.max / 1e6 + 10;
    if (r.state !== 'translated') throw new Error(`file ${r.state}`);
    return { ms, events: r.newEvents, maxGapMs: maxGap };
  } finally {
    await ledger.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Parent mode.

function parseArgs(argv) {
  const o = { quick: false, runs: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--runs') o.runs = positiveIntArg(a, argv[++i]);
    else if (a === '--json') o.json = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/xml.mjs [--quick] [--runs N] [--json]');
      process.exit(0);
    } else if (a === '--skip-baseline' || a === '--profile') {
      // options of the other benchmarks (npm run bench passes its arguments to each): nothing to skip here
    } else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  return o;
}

function measure(label, kind, file, runs) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`  ${label} run ${i + 1}/${runs}... `);
    const r = runChild(import.meta.url, kind, file, WAYBILL_NODE_FLAGS);
    if (r.failed) {
      process.stderr.write('FAILED\n');
      return { label, failed: r.failed };
    }
    process.stderr.write(`${(r.ms / 1000).toFixed(2)} s, ${r.rssMB.toFixed(0)} MB${r.maxGapMs === undefined ? '' : `, max gap ${r.maxGapMs.toFixed(0)} ms`}\n`);
    results.push(r);
  }
  const bytes = statSync(file).size;
  const ms = median(results.map((r) => r.ms));
  const best = Math.min(...results.map((r) => r.ms));
  const gaps = results.map((r) => r.maxGapMs).filter((g) => g !== undefined);
  return {
    label, bytes, ms, mbPerSec: bytes / 1e6 / (ms / 1000), bestMbPerSec: bytes / 1e6 / (best / 1000),
    rssMB: Math.max(...results.map((r) => r.rssMB)), maxGapMs: gaps.length ? Math.max(...gaps) : null, runs,
  };
}


async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const [, kind, file] = argv;
    const r = kind === 'translate' ? await childTranslate(file) : kind === 'parse' ? await childParse(file) : await childGateway(file);
    process.stdout.write(`${JSON.stringify({ ...r, rssMB: peakRssMB() })}\n`);
    return;
  }
  if (!existsSync(new URL(dist('pipeline/xml-worker.js')))) {
    console.error('run npm run build first (dist/pipeline/xml-worker.js is missing)');
    process.exit(2);
  }
  const o = parseArgs(argv);
  const charges = o.quick ? 13_700 : 137_000;
  const file = ensureInvoice(charges);
  const size = `${charges.toLocaleString('en-US')} charges, ${(statSync(file).size / 1e6).toFixed(1)} MB`;
  console.error(`node ${process.version}, ${o.runs} run(s) per measurement (median time, max peak RSS, max gap)`);
  const load = loadavg()[0];
  const cores = availableParallelism();
  if (load > cores * 0.5) console.error(`note: load average ${load.toFixed(1)} on ${cores} cores: other work is running, timings will be low and noisy`);
  const rows = [
    measure(`${'parseXml'.padEnd(19)} (${size})`, 'parse', file, o.runs),
    measure(`${'translateXmlFile'.padEnd(19)} (${size})`, 'translate', file, o.runs),
    measure(`gateway processFile (${size})`, 'gateway', file, o.runs),
  ];
  if (o.json) {
    console.log(JSON.stringify({ rows }, null, 2));
    return;
  }
  const header = ['measurement', 'MB/s', 'best MB/s', 'peak RSS MB', 'max event-loop gap ms'];
  const body = rows.map((r) => r.failed
    ? [r.label, 'FAILED', '', '', r.failed.replace(/\s+/g, ' ').slice(0, 60)]
    : [r.label, fmt(r.mbPerSec), fmt(r.bestMbPerSec), fmt(r.rssMB, 0), r.maxGapMs === null ? '' : fmt(r.maxGapMs, 0)]);
  printTable(header, body);
  console.log('processFile: intake (hash and store) + translation on the XML worker thread + ledger commit; the gap is');
  console.log('the main thread\'s longest pause between two turns of a 10 ms interval (translated on the main thread, it');
  console.log('was the whole translation).');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
