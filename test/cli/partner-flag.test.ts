// --partner for translate and render: one answer for both commands, telling a partner that does not
// exist (did-you-mean) from one that exists with configuration errors (printed, and lint named).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requirePartner } from '../../src/cli/partner-flag.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import { repoRoot } from '../helpers/cli.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'wb-partner-flag-'));
  for (const id of ['prairie-line', 'granite-ridge']) cpSync(join(repoRoot, 'partners', id), join(root, id), { recursive: true });
  const mapping = join(root, 'granite-ridge/mappings/204-tender.yaml');
  writeFileSync(mapping, readFileSync(mapping, 'utf8').replace(/\bB2A:/, 'B2Z:'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('requirePartner', () => {
  it('gives the partner, or says unknown (did you mean) or broken (its diagnostics printed)', () => {
    const { registry, diagnostics } = PartnerRegistry.load(root, { prepareValidation: false });
    expect(requirePartner(registry, diagnostics, 'prairie-line').id).toBe('prairie-line');
    expect(() => requirePartner(registry, diagnostics, 'prairie-lin')).toThrow("unknown partner 'prairie-lin' (did you mean 'prairie-line'?)");
    // A template folder is never a partner: said so, not "unknown partner".
    expect(() => requirePartner(registry, diagnostics, '_template')).toThrow("'_template' is a template (a partners folder whose name starts with '_' is never loaded as a partner)");
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => requirePartner(registry, diagnostics, 'granite-ridge')).toThrow("partner 'granite-ridge' has configuration errors (run waybill lint)");
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toMatch(/granite-ridge\/mappings\/204-tender\.yaml:\d+:\d+ MAP_UNKNOWN_SEGMENT/);
    } finally {
      stderr.mockRestore();
    }
  });
});
