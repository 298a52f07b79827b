// Differential test: our reader against node-x12 on files both should read the same way.
//
// node-x12 (1.7.1) is a sound cross-check for splitting valid files into segments and elements (see
// /work/shared/design/library-notes.md), but only within its known limits. For every corpus file marked
// `accept`, every fixture MANIFEST.json marks `valid`, and a few generated 214s, we parse with
// `readX12Sync` and with node-x12's strict `X12Parser.parse`, flatten both into the list of segments in
// file order (ISA, GS, ST..SE, GE, IEA) and compare segment ids and element values.
//
// Where node-x12 is NOT sound (files are excluded, each with its reason):
//   - it finds the delimiters at fixed character positions (3, 104, 105) of the string, once for the whole
//     file: an ISA that is not 106 fixed-width characters (padding stripped, hard-wrapped at 80 columns)
//     makes it throw or mis-split;
//   - a second interchange with other delimiters is silently read with the first one's delimiters: so
//     node-x12 is given each interchange on its own (cut at the ISA offsets our reader reports; a wrong
//     offset would make node-x12 fail or differ, so this stays a check).
// Non-fixed-width ISAs are detected from the raw bytes (`soundForNodeX12`), and the list of corpus files
// this excludes is pinned below so the exclusion cannot grow silently.
//
// Normalisations (each undoes a documented node-x12 behaviour, never one of ours):
//   N1. node-x12 reads delimiters at absolute positions, so a UTF-8 BOM or blank lines before the ISA shift
//       them: it is given each interchange from its "ISA" on. (Our reader skips them itself.)
//   N2. node-x12 replaces ISA13 and IEA02 by `String(parseInt(v, 10))` ("000000001" -> "1"); we pass ours
//       through the same function before comparing those two elements.
//   N3. node-x12 keeps CR/LF inside element values when the segment terminator is not a line break (its
//       tag reader skips whitespace, its value reader does not); our reader drops line breaks inside a
//       segment by design. CR and LF are removed from node-x12's values only.
//   N4. node-x12 parses a JS string: the file is decoded as UTF-8 when it is valid UTF-8, else as latin1 —
//       the same rule our reader applies per value.
// node-x12 has no event for TA1 or for segments outside the envelope structure; valid files have none
// (a TA1 would make strict node-x12 throw, and the test would say so).

import { isUtf8 } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nodeX12 from 'node-x12';
import { describe, expect, it } from 'vitest';
import { generate214String } from '../../../bench/gen-214.mjs';
import type { X12Event } from '../../../src/translators/x12/model.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';

// node-x12 is CommonJS (a webpack bundle, no ESM entry): its classes hang off the default export.
const { X12Parser } = nodeX12;

const corpusDir = fileURLToPath(new URL('../../../../shared/corpus/', import.meta.url));
const hasCorpus = existsSync(`${corpusDir}EXPECTED.json`);
const fixturesDir = fileURLToPath(new URL('../../../fixtures/edi/', import.meta.url));
const manifestPath = `${fixturesDir}MANIFEST.json`;

/** Corpus files marked accept that node-x12 cannot read soundly, and why. Checked against the rule below. */
const EXCLUDED_CORPUS: Record<string, string> = {
  '210/staedi__ts210_80char.edi': 'hard-wrapped at 80 columns: the ISA is not 106 fixed-width characters (node-x12 strict throws)',
  '850/bots__850-004010.16_wrapped.edi': 'hard-wrapped lines: the ISA is not fixed width, node-x12 reads the wrong delimiters',
};

type Flat = string[][];

interface Case {
  name: string;
  bytes: Buffer;
}

function corpusCases(): Case[] {
  if (!hasCorpus) return [];
  const expected = JSON.parse(readFileSync(`${corpusDir}EXPECTED.json`, 'utf8')) as Record<string, { verdict: string }>;
  return Object.entries(expected)
    .filter(([, v]) => v.verdict === 'accept')
    .map(([rel]) => ({ name: `corpus/${rel}`, bytes: readFileSync(`${corpusDir}${rel}`) }));
}

/** Valid fixtures per MANIFEST.json, whatever shape it has grown into: keyed object or array of entries. */
function fixtureCases(): Case[] {
  if (!existsSync(manifestPath)) return [];
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return []; // being written right now; the fixtures' own tests report a broken manifest
  }
  const entries: Array<[string, Record<string, unknown>]> = Array.isArray(manifest)
    ? (manifest as Array<Record<string, unknown>>).map((e) => [String(e.file ?? e.path ?? ''), e])
    : Object.entries(manifest as Record<string, Record<string, unknown>>);
  return entries
    .filter(([rel, v]) => rel !== '' && (v?.valid === true || v?.verdict === 'accept') && existsSync(`${fixturesDir}${rel}`))
    .map(([rel]) => ({ name: `fixtures/${rel}`, bytes: readFileSync(`${fixturesDir}${rel}`) }));
}

function generatedCases(): Case[] {
  return [
    { name: 'generated 214 x25, ~ + LF', bytes: Buffer.from(generate214String(25, { perGroup: 10, groupsPerInterchange: 2 }), 'latin1') },
    { name: 'generated 214 x12, ~ only (one line)', bytes: Buffer.from(generate214String(12, { terminator: '~', perGroup: 5 }), 'latin1') },
    { name: 'generated 214 x12, ~ + CRLF', bytes: Buffer.from(generate214String(12, { terminator: '~\r\n', seed: 7 }), 'latin1') },
  ];
}

/** Our segments in file order. */
function ours(bytes: Buffer): { segments: Flat; events: X12Event[] } {
  const events = [...readX12Sync(bytes)];
  const segments: Flat = [];
  for (const e of events) {
    switch (e.type) {
      case 'interchange-start': segments.push(e.header.isa.elements); break;
      case 'group-start': segments.push(e.header.gs.elements); break;
      case 'transaction': for (const s of e.transaction.segments) segments.push(s.elements); break;
      case 'group-end': if (e.trailer) segments.push(e.trailer.elements); break;
      case 'interchange-end': if (e.trailer) segments.push(e.trailer.elements); break;
      case 'ta1': segments.push(e.segment.elements); break;
      case 'issue': break;
    }
  }
  // N2: the same integer normalisation node-x12 applies to ISA13 and IEA02.
  return {
    events,
    segments: segments.map((s) => {
      const c = [...s];
      if (c[0] === 'ISA' && c.length > 13) c[13] = String(parseInt(c[13], 10));
      if (c[0] === 'IEA' && c.length > 2) c[2] = String(parseInt(c[2], 10));
      return c;
    }),
  };
}

interface NxSegment { tag: string; elements: Array<{ value: string }> }
interface NxTransaction { header: NxSegment; segments: NxSegment[]; trailer: NxSegment }
interface NxGroup { header: NxSegment; transactions: NxTransaction[]; trailer: NxSegment }
interface NxInterchange { header: NxSegment; functionalGroups: NxGroup[]; trailer: NxSegment }

/** Byte offsets of the interchanges' ISAs, as our reader found them. */
function isaOffsets(events: X12Event[]): number[] {
  return events.flatMap((e) => (e.type === 'interchange-start' ? [e.header.isa.loc.offset] : []));
}

/** node-x12's segments in file order, each interchange parsed on its own, with N1, N3, N4 applied. */
function theirs(bytes: Buffer, starts: number[]): Flat {
  const interchanges: NxInterchange[] = [];
  starts.forEach((at, i) => {
    const part = bytes.subarray(at, starts[i + 1] ?? bytes.length); // N1
    const text = isUtf8(part) ? part.toString('utf8') : part.toString('latin1'); // N4
    const parsed = new X12Parser(true).parse(text) as unknown as NxInterchange | { interchanges: NxInterchange[] };
    interchanges.push(...('interchanges' in parsed ? parsed.interchanges : [parsed]));
  });
  const out: Flat = [];
  const add = (seg: NxSegment | undefined) => {
    if (seg) out.push([seg.tag, ...seg.elements.map((e) => e.value.replace(/[\r\n]/g, ''))]); // N3
  };
  for (const ic of interchanges) {
    add(ic.header);
    for (const g of ic.functionalGroups) {
      add(g.header);
      for (const t of g.transactions) {
        add(t.header);
        t.segments.forEach(add);
        add(t.trailer);
      }
      add(g.trailer);
    }
    add(ic.trailer);
  }
  return out;
}

// ISA layout: 0-based offsets of the 16 element separators in a fixed-width ISA.
const ISA_SEPARATORS = [3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103];

/**
 * Whether node-x12 can read the file soundly, decided from the raw bytes at each interchange start (our
 * reader only says where the ISAs are): every ISA must be fixed width.
 */
function soundForNodeX12(bytes: Buffer, starts: number[]): { sound: boolean; why: string } {
  if (starts.length === 0) return { sound: false, why: 'no interchange' };
  for (const at of starts) {
    const isa = bytes.subarray(at, at + 106).toString('latin1');
    const sep = isa[3];
    if (isa.length < 106 || !ISA_SEPARATORS.every((p) => isa[p] === sep)) {
      return { sound: false, why: `ISA at byte ${at} is not 106 fixed-width characters` };
    }
  }
  return { sound: true, why: '' };
}

const cases = [...corpusCases(), ...fixtureCases(), ...generatedCases()];

describe('differential: readX12Sync vs node-x12 on valid files', () => {
  it.skipIf(!hasCorpus)('excludes exactly the corpus files known to be beyond node-x12', () => {
    const excluded: Record<string, string> = {};
    for (const c of corpusCases()) {
      const { events } = ours(c.bytes);
      const v = soundForNodeX12(c.bytes, isaOffsets(events));
      if (!v.sound) excluded[c.name.replace(/^corpus\//, '')] = v.why;
    }
    expect(Object.keys(excluded).sort()).toEqual(Object.keys(EXCLUDED_CORPUS).sort());
  });

  for (const c of cases) {
    it(c.name, (ctx) => {
      const { segments, events } = ours(c.bytes);
      const starts = isaOffsets(events);
      const verdict = soundForNodeX12(c.bytes, starts);
      if (!verdict.sound) {
        // Listed (with reason) in the test output; corpus exclusions are pinned by the test above.
        ctx.skip(`beyond node-x12: ${verdict.why}`);
        return;
      }
      const expected = theirs(c.bytes, starts);
      expect(segments.length).toBe(expected.length);
      expect(segments).toEqual(expected);
      // Both read the file as valid: no error-level finding from our reader either.
      const errors = events.flatMap((e) =>
        e.type === 'issue' || e.type === 'interchange-issue' ? [e.issue] : e.type === 'transaction' ? e.transaction.issues : e.type === 'ta1' ? [] : e.issues,
      ).filter((i) => i.severity === 'error');
      expect(errors).toEqual([]);
    });
  }
});
