// unknownKeys finds the keys zod would silently drop: none in any fixture (every fixture uses only known
// keys), and each one added anywhere in a fixture (top level, nested objects, array items, either side
// of a union), with its path and the keys known there.
import { describe, expect, it } from 'vitest';
import { parseAs, unknownKeys } from '../../src/canonical/index.js';
import { canonicalFixtures } from './support.js';

const fixtures = canonicalFixtures();

/** Every object inside a document, with its path as parse.ts writes it. */
function objects(v: unknown, path = '', out: { path: string; obj: Record<string, unknown> }[] = []): typeof out {
  if (Array.isArray(v)) v.forEach((x, i) => objects(x, `${path}[${i}]`, out));
  else if (v && typeof v === 'object') {
    out.push({ path: path || '(root)', obj: v as Record<string, unknown> });
    for (const [k, x] of Object.entries(v)) objects(x, path ? `${path}.${k}` : k, out);
  }
  return out;
}

describe('unknownKeys', () => {
  it('finds none in the fixtures', () => {
    expect(fixtures.length).toBeGreaterThan(10);
    for (const f of fixtures) expect(unknownKeys(f.type, f.doc), f.name).toEqual([]);
  });

  it('finds a key added to any object of any fixture, at its path, and that key only', () => {
    let checked = 0;
    for (const f of fixtures) {
      for (const { path } of objects(f.doc)) {
        const doc = structuredClone(f.doc);
        const target = objects(doc).find((o) => o.path === path)!.obj;
        target.zzExtra = 'x';
        // Still valid for zod (it drops the key): the case render and the partner tests guard against.
        expect(parseAs(f.type, doc).ok, `${f.name} ${path}`).toBe(true);
        const found = unknownKeys(f.type, doc);
        expect(found.map((u) => [u.path, u.key, u.at]), `${f.name} ${path}`).toEqual([[path, 'zzExtra', path === '(root)' ? 'zzExtra' : `${path}.zzExtra`]]);
        expect(found[0].known.length).toBeGreaterThan(0);
        expect(found[0].known).not.toContain('zzExtra');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('lists the keys known at the place, for a did-you-mean', () => {
    const tender = fixtures.find((f) => f.name === 'load.tender@1/original-three-stops.json')!;
    const doc = structuredClone(tender.doc) as Record<string, unknown>;
    doc.equipmnt = doc.equipment;
    delete doc.equipment;
    const [u] = unknownKeys('load.tender@1', doc);
    expect(u).toMatchObject({ path: '(root)', key: 'equipmnt', at: 'equipmnt' });
    expect(u.known).toContain('equipment');
  });
});
