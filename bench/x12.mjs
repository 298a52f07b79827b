// X12 reader benchmark: our streaming reader vs node-x12, on generated 214 files.
//
//   npm run build && node bench/x12.mjs [--quick] [--runs N] [--skip-baseline] [--json]
//
// Files (generated into bench/out/, reused when present with the recorded size):
//   small: 100,000 transactions (~37 MB)        --quick: 10,000 (~3.7 MB)
//   large: 1,000,000 transactions (~370 MB)     --quick: 100,000 (~37 MB)
// Each measurement runs in its own child process, so peak RSS (maxRSS) belongs to that measurement only.
// Results are printed as a table with ratios measured in this same run; "MB/s" is the median run, "best"
// the fastest (the better figure on a busy machine). The targets are informational: exit code 0 either way.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { ensureFile, fmt, runChild, median, peakRssMB, positiveIntArg, printTable } from './harness.mjs';

const here = new URL('./', import.meta.url);
const readerUrl = new URL('../dist/translators/x12/reader.js', import.meta.url);

// ---------------------------------------------------------------------------------------------------
// Child mode: one measurement, prints one JSON line.

async function childOurs(file) {
  const { readX12 } = await import(readerUrl.href);
  const bytes = statSync(file).size;
  let transactions = 0;
  let errors = 0;
  let warnings = 0;
  let events = 0;
  const count = (issues) => {
    for (const i of issues) i.severity === 'error' ? errors++ : warnings++;
  };
  const t0 = performance.now();
  for await (const e of readX12(file)) {
    events++;
    switch (e.type) {
      case 'transaction': transactions++; count(e.transaction.issues); break;
      case 'issue': count([e.issue]); break;
      case 'ta1': break;
      default: count(e.issues);
    }
  }
  const ms = performance.now() - t0;
  return { bytes, ms, transactions, errors, warnings, events };
}

async function childNodeX12(file) {
  // node-x12 is CommonJS (package.json "main": "index.js", webpack bundle, no "exports"/ESM build), so
  // its named exports are reached through the default import.
  const { default: nodeX12 } = await import('node-x12');
  const { X12Parser } = nodeX12;
  const bytes = statSync(file).size;
  const t0 = performance.now();
  const text = readFileSync(file, 'utf8'); // parse() takes a whole string: reading it is part of its cost
  const parsed = new X12Parser(true).parse(text);
  const interchanges = Array.isArray(parsed.interchanges) && parsed.interchanges.length > 0 ? parsed.interchanges : [parsed];
  let transactions = 0;
  for (const ic of interchanges) for (const g of ic.functionalGroups) transactions += g.transactions.length;
  const ms = performance.now() - t0;
  return { bytes, ms, transactions, errors: 0, warnings: 0, events: 0 };
}

// ---------------------------------------------------------------------------------------------------
// Parent mode.

function parseArgs(argv) {
  const o = { quick: false, runs: 3, skipBaseline: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--runs') o.runs = positiveIntArg(a, argv[++i]);
    else if (a === '--skip-baseline') o.skipBaseline = true;
    else if (a === '--json') o.json = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/x12.mjs [--quick] [--runs N] [--skip-baseline] [--json]');
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  return o;
}

/** Generates (or reuses) bench/out/214-<n>.edi; a sidecar .json records the size it was written with. */



/** Runs one measurement `runs` times (each in a fresh process); reports median time and max peak RSS. */
function measure(label, kind, file, runs, extraNodeArgs) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`  ${label} run ${i + 1}/${runs}... `);
    const r = runChild(import.meta.url, kind, file, extraNodeArgs);
    if (r.failed) {
      process.stderr.write('FAILED\n');
      return { label, failed: r.failed };
    }
    process.stderr.write(`${(r.ms / 1000).toFixed(2)} s, ${r.rssMB.toFixed(0)} MB\n`);
    results.push(r);
  }
  const ms = median(results.map((r) => r.ms));
  const best = Math.min(...results.map((r) => r.ms));
  const r0 = results[0];
  return {
    label,
    bytes: r0.bytes,
    transactions: r0.transactions,
    errors: r0.errors,
    ms,
    mbPerSec: r0.bytes / 1e6 / (ms / 1000),
    bestMbPerSec: r0.bytes / 1e6 / (best / 1000),
    txPerSec: r0.transactions / (ms / 1000),
    rssMB: Math.max(...results.map((r) => r.rssMB)),
    runs,
  };
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const [, kind, file] = argv;
    const r = kind === 'ours' ? await childOurs(file) : await childNodeX12(file);
    process.stdout.write(`${JSON.stringify({ ...r, rssMB: peakRssMB() })}\n`);
    return;
  }

  if (!existsSync(readerUrl)) {
    console.error('run npm run build first (dist/translators/x12/reader.js is missing)');
    process.exit(2);
  }
  const o = parseArgs(argv);
  const smallN = o.quick ? 10_000 : 100_000;
  const largeN = o.quick ? 100_000 : 1_000_000;
  const small = await ensureFile(smallN);
  const large = await ensureFile(largeN);
  const sizeMB = (f) => (statSync(f).size / 1e6).toFixed(1);

  console.error(`node ${process.version}, ${o.runs} run(s) per measurement (median time, max peak RSS)`);
  const load = loadavg()[0];
  const cores = availableParallelism();
  if (load > cores * 0.5) {
    console.error(`note: load average ${load.toFixed(1)} on ${cores} cores: other work is running, timings will be low and noisy`);
  }
  const rows = [];
  rows.push(measure(`waybill readX12  small (${smallN.toLocaleString('en-US')} tx, ${sizeMB(small)} MB)`, 'ours', small, o.runs));
  rows.push(measure(`waybill readX12  large (${largeN.toLocaleString('en-US')} tx, ${sizeMB(large)} MB)`, 'ours', large, o.runs));
  let baseline = null;
  if (!o.skipBaseline) {
    // node-x12 needs ~48x the file in memory (1.8 GB for 37 MB); give it heap room so it is measured
    // rather than killed by the default heap limit.
    baseline = measure(`node-x12 parse   small (${smallN.toLocaleString('en-US')} tx, ${sizeMB(small)} MB)`, 'node-x12', small,
      o.runs, ['--max-old-space-size=8192']);
    rows.push(baseline);
  }

  const [ourSmall, ourLarge] = rows;
  const ratios = {
    throughputVsNodeX12: baseline && !baseline.failed && !ourSmall.failed ? ourSmall.mbPerSec / baseline.mbPerSec : null,
    bestThroughputVsNodeX12: baseline && !baseline.failed && !ourSmall.failed ? ourSmall.bestMbPerSec / baseline.bestMbPerSec : null,
    rssGrowthMB: !ourSmall.failed && !ourLarge.failed ? ourLarge.rssMB - ourSmall.rssMB : null,
    largeVsSmallThroughput: !ourSmall.failed && !ourLarge.failed ? ourLarge.mbPerSec / ourSmall.mbPerSec : null,
  };

  if (o.json) {
    console.log(JSON.stringify({ rows, ratios }, null, 2));
    return;
  }

  const header = ['measurement', 'MB/s', 'best MB/s', 'tx/s', 'peak RSS MB', 'transactions', 'errors'];
  const body = rows.map((r) => r.failed
    ? [r.label, 'FAILED', '', '', '', '', r.failed.replace(/\s+/g, ' ').slice(0, 60)]
    : [r.label, fmt(r.mbPerSec), fmt(r.bestMbPerSec), fmt(r.txPerSec, 0), fmt(r.rssMB, 0), r.transactions.toLocaleString('en-US'), String(r.errors)]);
  body.push(['node-x12 parse   large', 'not run', '', '', '', '', '']);
  printTable(header, body);
  console.log('node-x12 is not run on the large file: X12Parser.parse takes the whole file as one string and builds');
  console.log('an object per segment and per element: ~48x the file size in memory (1.8 GB for 37 MB), so the large');
  console.log('file would need ~18 GB; and any file over ~512 MB cannot even be held as one string (V8 limit).');
  console.log();

  const check = (ok) => (ok === null ? ' n/a  ' : ok ? '  met ' : 'MISSED');
  const targets = [
    ['throughput (small)', '>= 40 MB/s', ourSmall.failed ? null : `${fmt(ourSmall.mbPerSec)} MB/s`, ourSmall.failed ? null : ourSmall.mbPerSec >= 40],
    ['throughput (large)', '>= 40 MB/s', ourLarge.failed ? null : `${fmt(ourLarge.mbPerSec)} MB/s`, ourLarge.failed ? null : ourLarge.mbPerSec >= 40],
    ['vs node-x12 throughput', '>= 8x', ratios.throughputVsNodeX12 === null ? null : `${fmt(ratios.throughputVsNodeX12, 2)}x`,
      ratios.throughputVsNodeX12 === null ? null : ratios.throughputVsNodeX12 >= 8],
    ['peak RSS (small)', '< 150 MB', ourSmall.failed ? null : `${fmt(ourSmall.rssMB, 0)} MB`, ourSmall.failed ? null : ourSmall.rssMB < 150],
    ['peak RSS (large)', '< 150 MB', ourLarge.failed ? null : `${fmt(ourLarge.rssMB, 0)} MB`, ourLarge.failed ? null : ourLarge.rssMB < 150],
    // "No growth": allow GC timing noise of 10% of the small run's peak, and nothing proportional to size.
    ['RSS growth large vs small', 'no growth (<= 10%)', ratios.rssGrowthMB === null ? null : `${ratios.rssGrowthMB >= 0 ? '+' : ''}${fmt(ratios.rssGrowthMB, 0)} MB`,
      ratios.rssGrowthMB === null ? null : ratios.rssGrowthMB <= ourSmall.rssMB * 0.1],
  ];
  const tw = [Math.max(...targets.map((t) => t[0].length)), Math.max(...targets.map((t) => t[1].length)), Math.max(...targets.map((t) => (t[2] ?? 'n/a').length))];
  console.log('targets (from the issue):');
  for (const [name, goal, got, ok] of targets) {
    console.log(`  [${check(ok)}] ${name.padEnd(tw[0])}  target ${goal.padEnd(tw[1])}  measured ${(got ?? 'n/a').padStart(tw[2])}`);
  }
  if (ratios.bestThroughputVsNodeX12 !== null) {
    console.log(`  (best-run throughput vs node-x12: ${fmt(ratios.bestThroughputVsNodeX12, 2)}x)`);
  }
  if (ratios.largeVsSmallThroughput !== null) {
    console.log(`  (large/small throughput ${fmt(ratios.largeVsSmallThroughput, 2)}x)`);
  }
  if (ourSmall.errors > 0 || ourLarge.errors > 0) {
    console.log('WARNING: the generated files are valid, but the reader reported errors on them');
  }
}

await main();
