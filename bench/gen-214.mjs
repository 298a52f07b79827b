// Generates realistic X12 4010 214 (shipment status) files for benchmarks and tests.
//
//   node bench/gen-214.mjs <out-file> [transactions=100000] [--crlf]
//
// Each transaction has 16 segments (ST, B10, L11 x2, N1/N3/N4 shipper and consignee, LX, AT7, MS1, MS2,
// AT8, SE), about 370 bytes with `~` + LF terminators. Interchanges hold up to `groupsPerInterchange`
// groups of up to `perGroup` transactions; every count and control number is valid. Output is
// deterministic for given options (seeded PRNG), so a file of the right size can be reused.
// Large files are written by streaming (bounded memory), never built in memory.

import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** Small deterministic PRNG (mulberry32). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CITIES = [
  ['CHICAGO', 'IL', '60601'], ['DALLAS', 'TX', '75201'], ['ATLANTA', 'GA', '30303'], ['DENVER', 'CO', '80202'],
  ['MEMPHIS', 'TN', '38103'], ['COLUMBUS', 'OH', '43215'], ['RENO', 'NV', '89501'], ['FRESNO', 'CA', '93721'],
  ['SAVANNAH', 'GA', '31401'], ['LAREDO', 'TX', '78040'], ['NEWARK', 'NJ', '07102'], ['TACOMA', 'WA', '98402'],
];
const SHIPPERS = ['ACME SHIPPER INC', 'GLOBEX MANUFACTURING', 'INITECH SUPPLY CO', 'UMBRELLA FOODS LLC', 'STARK PARTS'];
const CONSIGNEES = ['BIG BOX RETAIL DC 4471', 'NORTHWIND TRADERS', 'CONTOSO WAREHOUSE', 'WAYNE DISTRIBUTION', 'TYRELL LOGISTICS'];
const STREETS = ['MAIN ST', 'ELM AVE', 'INDUSTRIAL PKWY', 'COMMERCE DR', 'LOGISTICS BLVD', 'RAILROAD AVE'];
const STATUS = ['X3', 'X1', 'AF', 'X6', 'D1', 'AG', 'P1'];
const REASON = ['NS', 'A2', 'BG', 'AM', 'NA'];

const pad = (s, n) => String(s).padEnd(n, ' ').slice(0, n);
const zero = (v, n) => String(v).padStart(n, '0');

/**
 * Yields the file as text pieces (one interchange header, one transaction, ... at a time).
 * @param {object} o
 * @param {number} o.transactions total number of transaction sets
 * @param {number} [o.perGroup=1000] transaction sets per functional group
 * @param {number} [o.groupsPerInterchange=10] functional groups per interchange
 * @param {number} [o.seed=214] PRNG seed
 * @param {string} [o.terminator='~\n'] segment terminator plus optional line break
 */
export function* generate214Pieces(o) {
  const total = o.transactions;
  const perGroup = o.perGroup ?? 1000;
  const groupsPerIc = o.groupsPerInterchange ?? 10;
  const T = o.terminator ?? '~\n';
  const rnd = prng(o.seed ?? 214);
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  const num = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));

  let written = 0;
  let icn = 0;
  let gcn = 0;
  while (written < total) {
    icn++;
    const isa13 = zero(icn, 9);
    yield `ISA*00*${pad('', 10)}*00*${pad('', 10)}*02*${pad('WAYBILLCARR', 15)}*ZZ*${pad('WAYBILLERP', 15)}*240115*0930*U*00401*${isa13}*0*P*>${T}`;
    let groups = 0;
    while (groups < groupsPerIc && written < total) {
      gcn++;
      groups++;
      yield `GS*QM*WAYBILLCARR*WAYBILLERP*20240115*0930*${gcn}*X*004010${T}`;
      let inGroup = 0;
      const parts = [];
      while (inGroup < perGroup && written < total) {
        inGroup++;
        written++;
        const st02 = zero(inGroup, 4);
        const [c1, s1, z1] = pick(CITIES);
        const [c2, s2, z2] = pick(CITIES);
        const pro = `PRO${zero(written, 9)}`;
        const day = zero(num(1, 28), 2);
        const hhmm = `${zero(num(0, 23), 2)}${zero(num(0, 59), 2)}`;
        parts.push(
          `ST*214*${st02}${T}` +
          `B10*${pro}*SHP${zero(num(0, 99999999), 8)}*WBCR${T}` +
          `L11*PO${zero(num(0, 9999999), 7)}*PO${T}` +
          `L11*BOL${zero(written, 8)}*BM${T}` +
          `N1*SH*${pick(SHIPPERS)}*93*SH${zero(num(1, 999), 4)}${T}` +
          `N3*${num(1, 9999)} ${pick(STREETS)}${T}` +
          `N4*${c1}*${s1}*${z1}*US${T}` +
          `N1*CN*${pick(CONSIGNEES)}*93*CN${zero(num(1, 999), 4)}${T}` +
          `N3*${num(1, 9999)} ${pick(STREETS)}*SUITE ${num(100, 900)}${T}` +
          `N4*${c2}*${s2}*${z2}*US${T}` +
          `LX*1${T}` +
          `AT7*${pick(STATUS)}*${pick(REASON)}***202401${day}*${hhmm}*LT${T}` +
          `MS1*${c1}*${s1}*US${T}` +
          `MS2*WBCR*TRL${zero(num(0, 999999), 6)}${T}` +
          `AT8*G*L*${num(100, 44000)}*${num(1, 30)}*${num(1, 3000)}*E*${num(10, 2800)}${T}` +
          `SE*16*${st02}${T}`,
        );
        if (parts.length >= 64) yield parts.splice(0).join('');
      }
      if (parts.length > 0) yield parts.join('');
      yield `GE*${inGroup}*${gcn}${T}`;
    }
    yield `IEA*${groups}*${isa13}${T}`;
  }
}

/** The whole file as a string (small counts only: tests, examples). */
export function generate214String(transactions, options = {}) {
  let s = '';
  for (const p of generate214Pieces({ ...options, transactions })) s += p;
  return s;
}

/**
 * Streams a generated file to `path`, honouring backpressure. Resolves to the number of bytes written.
 * @returns {Promise<number>}
 */
export async function generate214File(path, transactions, options = {}) {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  let bytes = 0;
  let batch = '';
  try {
    for (const p of generate214Pieces({ ...options, transactions })) {
      batch += p;
      if (batch.length >= 1 << 20) {
        bytes += batch.length;
        if (!out.write(batch, 'latin1')) await once(out, 'drain');
        batch = '';
      }
    }
    if (batch.length > 0) {
      bytes += batch.length;
      out.write(batch, 'latin1');
    }
  } finally {
    out.end();
  }
  await once(out, 'finish');
  return bytes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const crlf = process.argv.includes('--crlf');
  if (args.length < 1) {
    console.error('usage: node bench/gen-214.mjs <out-file> [transactions=100000] [--crlf]');
    process.exit(2);
  }
  const n = Number(args[1] ?? 100000);
  const t0 = performance.now();
  const bytes = await generate214File(args[0], n, crlf ? { terminator: '~\r\n' } : {});
  console.log(`${args[0]}: ${n} transactions, ${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
