// `waybill inspect` keeps only the transactions with findings in memory and spools the others' lines
// (JSON items) until the end of the file tells whether it is valid. Its output must be exactly what the
// whole report gives (reportText, JSON.stringify(reportJson, null, 2)) on every fixture and corpus file.
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeInspection } from '../../src/cli/commands/inspect.js';
import { reportJson } from '../../src/cli/report-json.js';
import { reportText } from '../../src/cli/report-text.js';
import { inspectX12 } from '../../src/translators/x12/inspect.js';
import { corpusDir, ediFiles, hasCorpus } from '../helpers/corpus.js';

async function streamed(file: string, json: boolean): Promise<{ text: string; valid: boolean }> {
  const parts: Buffer[] = [];
  const valid = await writeInspection(file, { json, isaWidth: 'warn' }, (s) => parts.push(Buffer.isBuffer(s) ? s : Buffer.from(s)));
  return { text: Buffer.concat(parts).toString('utf8'), valid };
}

async function compare(file: string): Promise<void> {
  const report = await inspectX12(file, { isaWidth: 'warn' });
  const text = await streamed(file, false);
  expect(text.text, file).toBe(`${reportText(report, file)}\n`);
  expect(text.valid, file).toBe(report.valid);
  const json = await streamed(file, true);
  expect(json.text, file).toBe(`${JSON.stringify(reportJson(report, file), null, 2)}\n`);
}

const spools = () => readdirSync(tmpdir()).filter((n) => n.startsWith('waybill-inspect-')).length;

describe('waybill inspect, streamed', () => {
  it('prints what the whole report gives, text and JSON, on every fixture; its spool is gone after', async () => {
    const before = spools();
    const files = ediFiles(new URL('../../fixtures/edi/', import.meta.url).pathname);
    expect(files.length).toBeGreaterThan(40);
    for (const f of files) await compare(f);
    expect(spools()).toBe(before);
  });

  it.skipIf(!hasCorpus)('and on every corpus file', async () => {
    for (const f of ediFiles(corpusDir)) await compare(f);
  });

  it('a group of many transactions: the counts and validity come from the group, not from what was kept', async () => {
    const file = join(new URL('../../fixtures/edi/', import.meta.url).pathname, 'envelope/multi-group-214-and-210.edi');
    const { text } = await streamed(file, true);
    const out = JSON.parse(text) as { counts: { transactions: number }; interchanges: { groups: { transactions: unknown[] }[] }[] };
    expect(out.counts.transactions).toBe(5);
    expect(out.interchanges[0].groups.map((g) => g.transactions.length)).toEqual([3, 2]);
  });
});
