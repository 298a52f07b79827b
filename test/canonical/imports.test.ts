// src/canonical is the contract with the ERP: it imports nothing else from src/ (only zod, ajv for the fast
// validation path, node: built-ins and its own files).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('../../src/canonical/', import.meta.url));

it('src/canonical imports only zod, ajv, node built-ins and its own modules', () => {
  const bad: string[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(DIR, file), 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      const ok = spec === 'zod' || spec === 'ajv' || spec.startsWith('ajv/dist/') || spec.startsWith('node:') || /^\.\/[a-z0-9-]+\.js$/.test(spec);
      if (!ok) bad.push(`${file}: ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});
