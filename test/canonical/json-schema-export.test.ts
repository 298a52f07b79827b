// The checked-in JSON Schemas (schemas/canonical) must match what the zod schemas export.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  SCHEMA_DIR,
  checkJsonSchemas,
  exportJsonSchemas,
  findRepoRoot,
  schemaFileName,
} from '../../src/canonical/export-json-schema.js';
import { MILESTONES, catalogue } from '../../src/canonical/index.js';

const dir = join(findRepoRoot(), SCHEMA_DIR);

describe('JSON Schema export', () => {
  it('finds the repository root from the module file', () => {
    expect(existsSync(join(findRepoRoot(), 'package.json'))).toBe(true);
    expect(existsSync(join(findRepoRoot(), 'src', 'canonical'))).toBe(true);
  });

  it('is deterministic and has one file per registered schema', () => {
    const a = exportJsonSchemas();
    expect(exportJsonSchemas()).toEqual(a);
    expect(Object.keys(a)).toEqual(catalogue.map((c) => schemaFileName(c.type)));
  });

  it('is checked in and up to date', () => {
    const { stale, missing, orphaned } = checkJsonSchemas(dir);
    const problems = [
      ...stale.map((f) => `stale: ${f}`),
      ...missing.map((f) => `missing: ${f}`),
      ...orphaned.map((f) => `orphaned: ${f}`),
    ];
    expect(
      problems,
      `${SCHEMA_DIR} is out of date; regenerate with \`npx tsx src/canonical/export-json-schema.ts\` and commit`,
    ).toEqual([]);
  });

  it('writes draft 2020-12 documents named after their type', () => {
    for (const entry of catalogue) {
      const doc = JSON.parse(readFileSync(join(dir, schemaFileName(entry.type)), 'utf8'));
      expect(doc.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(doc.$id).toBe(`${entry.type}.schema.json`);
      expect(doc.title).toBe(entry.type);
    }
  });

  it('carries the zod constraints (enums, patterns)', () => {
    const files = exportJsonSchemas();
    const doc = JSON.parse(files['shipment.status@1.schema.json']);
    expect(doc.$defs.Milestone.enum).toEqual([...MILESTONES]);
    expect(doc.$defs.Timestamp.format).toBe('date-time');
    const invoice = JSON.parse(files['freight.invoice@1.schema.json']);
    expect(invoice.$defs.DecimalString.pattern).toBe('^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?$');
    expect(invoice.oneOf).toHaveLength(2);
    expect(doc.required).toEqual(expect.arrayContaining(['id', 'type', 'partner', 'occurredAt', 'receivedAt', 'source', 'references']));
  });
});
