// translateX12InWorkers: the same units, in the same order, as translateX12 in one thread, whatever the
// number of workers; worker failures surface as errors; stopping early leaves no worker behind.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import { translateX12, type TranslatedUnit } from '../../src/mappings/translate.js';
import { translateX12InWorkers, type SerializedUnit } from '../../src/mappings/parallel.js';
import { FIXTURES, generated214, partnersRoot } from '../queue/support.js';
import { waybill } from '../helpers/cli.js';

let dir: string;
let partners: string;
let file: string;
const opts = { fileId: 'sha256-test', fileName: 'mixed.edi', receivedAt: '2024-02-01T00:00:00Z' };

/** A file with several interchanges: a generated 214 (500 transactions), a fixture, and one with a bad transaction. */
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wb-parallel-'));
  partners = partnersRoot(dir);
  file = join(dir, 'mixed.edi');
  writeFileSync(file, Buffer.concat([
    generated214(500, 7), Buffer.from('\n'), readFileSync(FIXTURES.status214), Buffer.from('\n'), readFileSync(FIXTURES.badTx214),
  ]));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function inOneThread(): Promise<TranslatedUnit[]> {
  const { registry } = PartnerRegistry.load(partners);
  const out: TranslatedUnit[] = [];
  for await (const u of translateX12(file, registry, opts)) out.push(u);
  return out;
}

function revive(u: SerializedUnit): TranslatedUnit {
  const { eventIds, events, ordinal: _ordinal, ...rest } = u;
  const parsed = events.map((e) => JSON.parse(e) as TranslatedUnit['events'][number]);
  expect(parsed.map((e) => e.id)).toEqual(eventIds);
  return { ...rest, events: parsed };
}

describe('translateX12InWorkers', () => {
  it.each([1, 2, 3])('gives the single-thread units, in order, on %i worker(s)', async (workers) => {
    const expected = await inOneThread();
    expect(expected.length).toBeGreaterThan(500);
    expect(expected.some((u) => u.status !== 'translated')).toBe(true); // the bad transaction is in there
    const got: TranslatedUnit[] = [];
    for await (const u of translateX12InWorkers(file, partners, opts, { workers, batchSize: 16, window: 2 })) got.push(revive(u));
    expect(got).toEqual(expected);
  }, 60_000);

  it('reports a worker failure as an error (unknown forced partner)', async () => {
    const run = async () => {
      for await (const _ of translateX12InWorkers(file, partners, { ...opts, partner: 'nobody' }, { workers: 2 })) { /* drain */ }
    };
    await expect(run()).rejects.toMatchObject({ code: 'TRANSLATION_WORKER_FAILED', message: expect.stringMatching(/translation worker failed: unknown partner 'nobody'/) });
  }, 60_000);

  it('stops its workers when the consumer stops early', async () => {
    let n = 0;
    for await (const _ of translateX12InWorkers(file, partners, opts, { workers: 2, batchSize: 8 })) {
      if (++n === 20) break;
    }
    expect(n).toBe(20); // and the test run does not hang on live workers
  }, 60_000);

  it('waybill translate --workers N prints what --workers 1 prints; a bad count is a usage error', async () => {
    // A small file: the test reads the whole output of both runs.
    const small = join(dir, 'small.edi');
    writeFileSync(small, Buffer.concat([generated214(60, 8), Buffer.from('\n'), readFileSync(FIXTURES.badTx214)]));
    const args = ['translate', small, '--partners', partners, '--json', '--received-at', '2024-02-01T00:00:00Z'];
    const one = await waybill(args);
    const two = await waybill([...args, '--workers', '2']);
    expect(one.status).toBe(1); // the bad transaction
    expect(two.status).toBe(1);
    expect(JSON.parse(two.stdout)).toEqual(JSON.parse(one.stdout));
    expect(JSON.parse(one.stdout).events.length).toBeGreaterThan(40);
    const bad = await waybill([...args, '--workers', '0']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--workers takes a whole number from 1 to 64/);
  }, 120_000);
});
