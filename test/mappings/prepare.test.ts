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

  it('commands that translate samples compile no validator: zod validates their events, with the same results', async () => {
    const samples = ['214-multi-status.edi', '210-linehaul-fuel-discount.edi', '214-one-bad-transaction.edi'];
    const translateAll = async (prepareValidation: boolean) => {
      vi.resetModules();
      const { compilePartner, PartnerRegistry } = await import('../../src/mappings/registry.js');
      const { translateX12 } = await import('../../src/mappings/translate.js');
      const compile = vi.spyOn(Ajv2020.prototype, 'compile');
      const { partner } = compilePartner(join(repoRoot, 'partners/prairie-line'), { prepareValidation });
      const registry = new PartnerRegistry();
      registry.add(partner!);
      const units: unknown[] = [];
      for (const sample of samples) {
        const file = join(repoRoot, 'partners/prairie-line/samples', sample);
        for await (const u of translateX12(file, registry, { fileId: 'sha256-test', receivedAt: '2025-05-07T12:00:00Z' })) units.push(u);
      }
      const compiled = compile.mock.calls.length;
      compile.mockRestore();
      return { units: JSON.parse(JSON.stringify(units)) as unknown[], compiled };
    };
    const lazy = await translateAll(false);
    const prepared = await translateAll(true);
    expect(lazy.compiled).toBe(0);
    expect(prepared.compiled).toBeGreaterThan(0);
    expect(lazy.units.length).toBeGreaterThan(3);
    expect(lazy.units).toEqual(prepared.units);
  });

  it('without preparation, the fast path takes over after ZOD_ONLY_EVENTS events of a type', async () => {
    vi.resetModules();
    const { validateCanonical, ZOD_ONLY_EVENTS } = await import('../../src/canonical/fast-validate.js');
    const { canonicalFixtures } = await import('../canonical/support.js');
    const fixture = canonicalFixtures().find((f) => f.type === 'shipment.status@1')!;
    // The fast path returns the candidate itself; zod returns its own copy.
    const viaFastPath = () => {
      const candidate = structuredClone(fixture.doc) as Record<string, unknown>;
      const r = validateCanonical('shipment.status@1', candidate);
      expect(r.ok).toBe(true);
      return r.ok && r.value === candidate;
    };
    for (let i = 0; i < ZOD_ONLY_EVENTS; i++) expect(viaFastPath()).toBe(false);
    expect(viaFastPath()).toBe(true);
    expect(viaFastPath()).toBe(true);
  });

  it('ignores a type it does not know', async () => {
    const { prepareFastValidation } = await import('../../src/canonical/fast-validate.js');
    expect(() => prepareFastValidation('no.such.type@1')).not.toThrow();
  });
});
