// The canonical fixtures (test/canonical/fixtures/<type>/*.json), for the tests that go over all of them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTypeKey, type TypeKey } from '../../src/canonical/index.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Every fixture of a registered type, in name order: its type, `<type>/<file>` and the parsed document. */
export function canonicalFixtures(): { type: TypeKey; name: string; doc: Record<string, unknown> }[] {
  const out: { type: TypeKey; name: string; doc: Record<string, unknown> }[] = [];
  for (const dir of readdirSync(FIXTURES).sort()) {
    if (!isTypeKey(dir)) continue;
    for (const f of readdirSync(join(FIXTURES, dir)).filter((x) => x.endsWith('.json')).sort()) {
      out.push({ type: dir, name: `${dir}/${f}`, doc: JSON.parse(readFileSync(join(FIXTURES, dir, f), 'utf8')) as Record<string, unknown> });
    }
  }
  return out;
}
