// What the benchmarks share: the generated 214 input files (bench/out, reused while their recorded size
// matches) and running one measurement in a fresh child process, so its peak RSS is its own.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate214File } from './gen-214.mjs';

export const outDir = fileURLToPath(new URL('out/', import.meta.url));

/** Generates (or reuses) bench/out/214-<n>.edi; a sidecar .json records the size it was written with. */
export async function ensureFile(transactions) {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `214-${transactions}.edi`);
  const metaFile = `${file}.json`;
  if (existsSync(file) && existsSync(metaFile)) {
    try {
      const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
      if (meta.transactions === transactions && meta.bytes === statSync(file).size) return file;
    } catch { /* regenerate */ }
  }
  process.stderr.write(`generating ${file} (${transactions.toLocaleString('en-US')} transactions)... `);
  const t0 = performance.now();
  const bytes = await generate214File(file, transactions);
  writeFileSync(metaFile, JSON.stringify({ transactions, bytes }));
  process.stderr.write(`${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return file;
}

/**
 * Runs `script --child kind file` in a new node process and returns the JSON object it prints last,
 * or { failed } with the end of its stderr.
 */
export function runChild(scriptUrl, kind, file, extraNodeArgs = []) {
  const r = spawnSync(process.execPath, [...extraNodeArgs, fileURLToPath(scriptUrl), '--child', kind, file], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    const why = (r.stderr || '').trim().split('\n').slice(-5).join('\n') || `exit ${r.status} signal ${r.signal}`;
    return { failed: why };
  }
  return JSON.parse(line);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * The V8 flags Waybill runs with, read from bin/waybill.js's shebang (which package.json's serve/demo
 * scripts repeat): 32 MB semi-spaces from the start, no allocation-site pretenuring (see bin/waybill.js
 * for why). Benchmarks of the product start it the same way, and a change to the shebang reaches them.
 */
export const WAYBILL_NODE_FLAGS = readFileSync(new URL('../bin/waybill.js', import.meta.url), 'utf8')
  .split('\n', 1)[0]
  .split(' ')
  .filter((a) => a.startsWith('--'));

/**
 * The host's cost of a first touch of a memory page, in microseconds: one write per 4 KiB page of a fresh
 * 128 MiB ArrayBuffer (zero pages the kernel maps in on that write), the least of three tries. It moves
 * node-x12's figures far more than ours: node-x12 holds the whole 37 MB file as objects and touches about
 * 1.9 GB of new memory, our translation about 160 MB. Measured 1.6 to 15 us on the hosts of the README's
 * Benchmarks section, where node-x12 ran at 4.4 to 2.3 MB/s; reports print it so runs on different hosts
 * can be compared.
 */
export function firstTouchMicros() {
  const bytes = 128 << 20;
  const page = 4096;
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const view = new Uint8Array(new ArrayBuffer(bytes));
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < bytes; i += page) view[i] = 1;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000 / (bytes / page));
  }
  return best;
}

/**
 * The value of a numeric option (`--runs 3`): a whole number of at least 1, or the script stops with
 * exit 2 naming the option (a typo once ran the benchmark with 1 run instead, silently).
 */
export function positiveIntArg(flag, text) {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < 1) {
    console.error(`${flag} needs a whole number of at least 1, not ${text === undefined ? 'nothing' : `'${text}'`}`);
    process.exit(2);
  }
  return n;
}

/** This process's peak resident memory in MB: the kernel's high-water mark (VmHWM), else maxRSS (the same figure). */
export function peakRssMB() {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS / 1024;
}

/** A number with `digits` decimals and thousands separators. */
export function fmt(n, digits = 1) {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Prints a Markdown table: the first column left-aligned, the others right-aligned; a blank line before and after. */
export function printTable(header, body) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log();
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const b of body) console.log(line(b));
  console.log();
}
