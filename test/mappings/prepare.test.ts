import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it, vi } from 'vitest';
import { repoRoot } from './support.js';

describe('canonical validation is compiled with the partner, not on the first event', () => {
  it('loading a partner compiles the validators of its mapping targets; translating compiles nothing more', async () => {
    const compile = vi.spyOn(Ajv2020.prototype, 'compile');
    // Fresh modules: no validator compiled yet by another test in this process.
    vi.resetModules();
    const { compilePartner, PartnerRegistry } = await import('../../src/mappings/registry.js');
    const { translateX12 } = await import('../../src/mappings/translate.js');

    const { partner } = compilePartner(join(repoRoot, 'partners/prairie-line'));
    expect(partner).not.toBeNull();
    const afterLoad = compile.mock.calls.length;
    expect(afterLoad).toBeGreaterThan(0);

    const registry = new PartnerRegistry();
    registry.add(partner!);
    let events = 0;
    for (const sample of ['214-multi-status.edi', '210-linehaul-fuel-discount.edi']) {
      const file = join(repoRoot, 'partners/prairie-line/samples', sample);
      for await (const u of translateX12(file, registry, { fileId: 'sha256-test', receivedAt: '2025-05-07T12:00:00Z' })) events += u.events.length;
    }
    expect(events).toBeGreaterThan(1);
    expect(compile.mock.calls.length).toBe(afterLoad);
    compile.mockRestore();
  });

  it('ignores a type it does not know', async () => {
    const { prepareFastValidation } = await import('../../src/canonical/fast-validate.js');
    expect(() => prepareFastValidation('no.such.type@1')).not.toThrow();
  });
});
