// How translateX12InWorkers splits a file (TranslateOptions.share): the parts, merged by ordinal, must be
// exactly what one reader gives, on every fixture, partner sample and corpus file, on messy hand-made
// files, and for block sizes down to one byte (a block boundary inside every segment). The reader's skim
// mode (TokenizerOptions.skimSetAt), which the parts rely on, must give the envelope a full read gives.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import { translateX12, type TranslatedUnit } from '../../src/mappings/translate.js';
import type { X12Event } from '../../src/translators/x12/model.js';
import { readX12Sync } from '../../src/translators/x12/reader.js';
import { generated214 } from '../queue/support.js';
import { corpusDir, ediFiles, hasCorpus } from '../helpers/corpus.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { registry } = PartnerRegistry.load(join(root, 'partners'));
const opts = { fileId: 'sha256-share', fileName: 'share.edi', receivedAt: '2024-02-01T00:00:00Z' };

const X12_FILES = /\.(edi|x12|txt)$/;

async function collect(source: Buffer, share?: { index: number; of: number; blockBytes: number }): Promise<TranslatedUnit[]> {
  const out: TranslatedUnit[] = [];
  for await (const u of translateX12(source, registry, { ...opts, ...(share && { share }) })) out.push(u);
  return out;
}

/** Translates `source` in `of` parts and merges them by ordinal; checks the ordinals cover 0..n-1 once each. */
async function inParts(source: Buffer, of: number, blockBytes: number): Promise<TranslatedUnit[]> {
  const parts = await Promise.all(Array.from({ length: of }, (_, index) => collect(source, { index, of, blockBytes })));
  const merged = parts.flat().sort((a, b) => a.ordinal! - b.ordinal!);
  expect(merged.map((u) => u.ordinal)).toEqual(merged.map((_, i) => i));
  for (const part of parts) {
    for (let i = 1; i < part.length; i++) expect(part[i].ordinal!).toBeGreaterThan(part[i - 1].ordinal!); // each part in file order
  }
  return merged.map(({ ordinal: _ordinal, ...u }) => u);
}

async function sameInParts(source: Buffer): Promise<number> {
  const whole = await collect(source);
  for (const [of, blockBytes] of [[2, 1], [2, 53], [3, 200], [2, 4096]]) {
    expect(await inParts(source, of, blockBytes), `${of} parts of ${blockBytes} bytes`).toEqual(whole);
  }
  return whole.length;
}

const ISA = 'ISA*00*          *00*          *02*PRAIRIELN      *ZZ*WAYBILL        *240115*0930*U*00401*000000001*0*P*>';
const GS = 'GS*QM*PRAIRIELN*WAYBILL*20240115*0930*1*X*004010';
const tx = (control: string) => [`ST*214*${control}`, 'B10*PRO1*BOL1*PRLN', 'LX*1', 'AT7*X6*NS***20240115*0930*CT', 'MS1*DENVER*CO*US', `SE*6*${control}`];

/** Messy files: junk between interchanges, a missing SE, an ISA inside a set, a TA1, a line break inside an id. */
const MESSY: Record<string, string> = {
  'junk between interchanges': [ISA, GS, ...tx('0001'), 'GE*1*1', 'IEA*1*000000001', 'THIS IS NOT X12 AT ALL', ISA.replace('000000001', '000000002'), GS, ...tx('0002'), 'GE*1*1', 'IEA*1*000000002', ''].join('~\n'),
  'missing SE and trailers': [ISA, GS, ...tx('0001').slice(0, -1), ...tx('0002'), ''].join('~\n'),
  'ISA inside a set': [ISA, GS, ...tx('0001').slice(0, 3), ISA.replace('000000001', '000000003'), GS, ...tx('0004'), 'GE*1*1', 'IEA*1*000000003', ''].join('~\n'),
  'TA1 and a segment outside any group': [ISA, 'TA1*000000009*240115*0930*A*000', 'B10*X*Y*Z', GS, ...tx('0001'), 'GE*1*1', 'IEA*1*000000001', ''].join('~\n'),
  'line break inside an id': [ISA, GS, 'ST*214*0001', 'B1\n0*PRO1*BOL1*PRLN', 'LX*1', 'S\nE*4*0001', 'GE*1*1', 'IEA*1*000000001', ''].join('~'),
  'sets cut short by GS, GE and IEA': [ISA, GS, ...tx('0001').slice(0, -1), GS.replace('*1*X', '*2*X'), ...tx('0002').slice(0, -1), 'GE*1*2',
    GS.replace('*1*X', '*3*X'), ...tx('0003').slice(0, -1), 'IEA*3*000000001', ''].join('~\n'),
  'an ISA with other delimiters inside a set': [ISA, GS, ...tx('0001').slice(0, 3), ''].join('~\n') + [ISA.replace('000000001', '000000005'), GS,
    ...tx('0005'), 'GE*1*1', 'IEA*1*000000005', ''].join('~\n').replaceAll('*', '|'),
  'garbage only': 'hello, world\n',
};

describe('translating a file in parts (TranslateOptions.share)', () => {
  it('matches one reader on every fixture and partner sample', async () => {
    const files = [...ediFiles(join(root, 'fixtures/edi'), X12_FILES), ...ediFiles(join(root, 'partners'), X12_FILES).filter((f) => f.includes('/samples/'))];
    expect(files.length).toBeGreaterThan(40);
    let units = 0;
    for (const f of files) units += await sameInParts(readFileSync(f));
    expect(units).toBeGreaterThan(50);
  }, 60_000);

  it.skipIf(!hasCorpus)('matches one reader on every corpus file', async () => {
    for (const f of ediFiles(corpusDir, X12_FILES)) await sameInParts(readFileSync(f));
  }, 60_000);

  it.each(Object.keys(MESSY))('matches one reader on a messy file: %s', async (name) => {
    expect(await sameInParts(Buffer.from(MESSY[name], 'latin1'))).toBeGreaterThan(0);
  });

  it('matches one reader on a generated file of several interchanges', async () => {
    const file = Buffer.concat([generated214(300, 3), Buffer.from('\n'), generated214(200, 4)]);
    expect(await sameInParts(file)).toBe(500);
  }, 60_000);
});

describe('skimming transaction sets (TokenizerOptions.skimSetAt)', () => {
  const envelope = (events: X12Event[]) => events.map((e) => e.type === 'transaction'
    ? { type: e.type, setId: e.transaction.setId, control: e.transaction.control, complete: e.transaction.complete }
    : e);

  it('gives the envelope a full read gives, and sets holding only ST and SE', () => {
    // (An id with a line break in it is read in full even when skimming: not in this file.)
    const messy = Object.entries(MESSY).filter(([name]) => name !== 'line break inside an id').map(([, text]) => text);
    const file = Buffer.concat([generated214(50, 5), Buffer.from(messy.join('\n'), 'latin1')]);
    const full = [...readX12Sync(file)];
    const skimmed = [...readX12Sync(file, { skimSetAt: () => true })];
    expect(envelope(skimmed)).toEqual(envelope(full));
    const sets = skimmed.flatMap((e) => (e.type === 'transaction' ? [e.transaction] : []));
    expect(sets.length).toBeGreaterThan(50);
    // Every set was skimmed: only its ST and its trailer (when it has one) were cut into elements.
    for (const t of sets) expect(t.segments.map((s) => s.id)).toEqual(t.complete ? ['ST', 'SE'] : ['ST']);
  });

  it('skims only the sets it is asked to', () => {
    const file = generated214(40, 6);
    const full = [...readX12Sync(file)].flatMap((e) => (e.type === 'transaction' ? [e.transaction] : []));
    const odd = (o: number) => full.findIndex((t) => t.segments[0].loc.offset === o) % 2 === 1;
    const part = [...readX12Sync(file, { skimSetAt: odd })].flatMap((e) => (e.type === 'transaction' ? [e.transaction] : []));
    part.forEach((t, i) => expect(t.segments.length).toBe(i % 2 === 1 ? 2 : full[i].segments.length));
    expect(part.filter((_, i) => i % 2 === 0)).toEqual(full.filter((_, i) => i % 2 === 0));
  });
});
