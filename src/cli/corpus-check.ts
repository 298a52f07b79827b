// Corpus check: runs the inspector over every file a corpus's EXPECTED.json names and compares the
// verdict (and, for accepted files, the interchange/group/transaction counts). Exit 1 on any mismatch.
//   npm run corpus -- ../shared/corpus
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspectX12 } from '../translators/x12/inspect.js';
import { allIssues } from '../translators/x12/inspect.js';

interface Expectation {
  verdict: 'accept' | 'reject' | 'any';
  interchanges: number;
  groups: number;
  transactions: number;
  reasons?: string;
}

export interface CorpusResult {
  file: string;
  ok: boolean;
  expected: Expectation;
  verdict: 'accept' | 'reject';
  counts: { interchanges: number; groups: number; transactions: number };
  errors: string[];
  crashed?: string;
}

export async function checkCorpus(dir: string): Promise<CorpusResult[]> {
  const expectations = JSON.parse(readFileSync(join(dir, 'EXPECTED.json'), 'utf8')) as Record<string, Expectation>;
  const results: CorpusResult[] = [];
  for (const [file, expected] of Object.entries(expectations)) {
    const counts = { interchanges: 0, groups: 0, transactions: 0 };
    try {
      const report = await inspectX12(join(dir, file));
      counts.interchanges = report.interchanges.length;
      counts.groups = report.interchanges.reduce((n, ic) => n + ic.groups.length, 0);
      counts.transactions = report.interchanges.reduce((n, ic) => n + ic.groups.reduce((m, g) => m + g.transactions.length, 0), 0);
      const errors = allIssues(report).filter((i) => i.severity === 'error').map((i) => `${i.loc.line}:${i.loc.column} ${i.code}`);
      const verdict = report.valid ? 'accept' : 'reject';
      const countsOk = counts.interchanges === expected.interchanges && counts.groups === expected.groups &&
        counts.transactions === expected.transactions;
      const ok = expected.verdict === 'any' || (expected.verdict === verdict && (verdict === 'reject' || countsOk));
      results.push({ file, ok, expected, verdict, counts, errors });
    } catch (err) {
      results.push({ file, ok: false, expected, verdict: 'reject', counts, errors: [], crashed: (err as Error).stack ?? String(err) });
    }
  }
  return results;
}

async function run(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h') || args.length !== 1) {
    process.stdout.write('usage: npm run corpus -- DIR\n  DIR holds X12 files and an EXPECTED.json (verdict accept|reject|any and counts per file)\n');
    return args.length === 1 ? 0 : 2;
  }
  const dir = resolve(args[0]);
  if (!existsSync(join(dir, 'EXPECTED.json'))) {
    process.stderr.write(`corpus: CLI_FILE_NOT_FOUND: no EXPECTED.json in ${dir}\n`);
    return 2;
  }
  const results = await checkCorpus(dir);
  for (const r of results) {
    const c = r.counts;
    const detail = r.crashed ? `CRASHED ${r.crashed.split('\n')[0]}`
      : `expected ${r.expected.verdict}, got ${r.verdict} (${c.interchanges}/${c.groups}/${c.transactions})` +
        (r.errors.length ? `: ${r.errors.slice(0, 4).join('; ')}${r.errors.length > 4 ? '; …' : ''}` : '');
    process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.file}  ${detail}\n`);
  }
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(`corpus: ${results.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await run();
