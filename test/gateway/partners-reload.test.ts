// PartnerHolder's change check (src/gateway/partners.ts), driven with fake timers so that each poll is one
// step: what a poll sees on disk, and whether it reloads.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartnerHolder } from '../../src/gateway/partners.js';
import { loadPartner } from '../../src/mappings/partner-config.js';
import { repoRoot } from '../helpers/cli.js';

const POLL_MS = 1_000;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

function holderOn(root: string): PartnerHolder {
  const holder = new PartnerHolder(root, silent as never);
  holder.reload();
  holder.watch(POLL_MS);
  return holder;
}

describe('partner reload: what the poll sees', () => {
  let holder: PartnerHolder | undefined;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    holder?.stop();
    vi.useRealTimers();
  });

  it('an edit inside a symlinked partner folder is reloaded', () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-reload-audit-link-'));
    const real = mkdtempSync(join(tmpdir(), 'wb-reload-audit-real-'));
    cpSync(join(repoRoot, 'partners/prairie-line'), join(real, 'prairie-line'), { recursive: true });
    symlinkSync(join(real, 'prairie-line'), join(root, 'prairie-line'));
    holder = holderOn(root);
    const before = holder.current.get('prairie-line');
    expect(before).toBeDefined();
    const file = join(real, 'prairie-line', 'partner.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('name: Prairie Line Freight', 'name: Prairie Line Freight Inc'));
    vi.advanceTimersByTime(POLL_MS * 3);
    expect(holder.current.get('prairie-line')?.config.name).toBe('Prairie Line Freight Inc');
  });

  it('a same-size edit whose mtime is kept (cp -p, tar x, a coarse file system) is reloaded', () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-reload-audit-mtime-'));
    cpSync(join(repoRoot, 'partners/prairie-line'), join(root, 'prairie-line'), { recursive: true });
    const file = join(root, 'prairie-line', 'partner.yaml');
    const second = Math.floor(Date.now() / 1000) - 60; // whole seconds, as a coarse file system keeps them
    utimesSync(file, second, second);
    holder = holderOn(root);
    const before = statSync(file);
    writeFileSync(file, readFileSync(file, 'utf8').replace('name: Prairie Line Freight', 'name: Prairie Line Freighz'));
    utimesSync(file, second, second);
    expect([statSync(file).size, statSync(file).mtimeMs]).toEqual([before.size, before.mtimeMs]);
    vi.advanceTimersByTime(POLL_MS * 3);
    expect(holder.current.get('prairie-line')?.config.name).toBe('Prairie Line Freighz');
  });

  it('a half-written partner.yaml (a save in two steps) is not loaded even when it compiles', () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-reload-audit-half-'));
    cpSync(join(repoRoot, 'partners/prairie-line'), join(root, 'prairie-line'), { recursive: true });
    holder = holderOn(root);
    const file = join(root, 'prairie-line', 'partner.yaml');
    const full = readFileSync(file, 'utf8').replace('name: Prairie Line Freight', 'name: Prairie Line Freight Inc');
    // The editor has truncated the file and written its first part when the poll looks: cut before
    // `x12:`, it is a valid partner.yaml of a partner with no ISA id and no inbound entries.
    writeFileSync(file, full.slice(0, full.indexOf('x12:')));
    vi.advanceTimersByTime(POLL_MS);
    // Never the half file: its interchanges would fail as from an unknown sender meanwhile.
    expect(holder.current.get('prairie-line')?.config.x12?.isa.id).toBe('PRLF');
    expect(holder.current.get('prairie-line')?.inbound).toHaveLength(2);
    writeFileSync(file, full); // the rest of the save
    vi.advanceTimersByTime(POLL_MS);
    expect(holder.current.get('prairie-line')?.config.x12?.isa.id).toBe('PRLF');
    vi.advanceTimersByTime(POLL_MS * 2);
    expect(holder.current.get('prairie-line')?.config.name).toBe('Prairie Line Freight Inc');
  });

  it('a partner that does not compile and claims a served partner\'s ISA id: the clash is reported at both partner.yaml files', () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-reload-audit-isa-'));
    cpSync(join(repoRoot, 'partners/prairie-line'), join(root, 'prairie-line'), { recursive: true });
    cpSync(join(repoRoot, 'partners/granite-ridge'), join(root, 'aaa-copy'), { recursive: true });
    const file = join(root, 'aaa-copy', 'partner.yaml');
    // A copy made to start a new partner: the id not yet changed (PARTNER_ID_MISMATCH), the ISA id set to prairie-line's.
    writeFileSync(file, readFileSync(file, 'utf8').replace(/isa: \{ qualifier: "?\w+"?, id: \w+ \}/, 'isa: { qualifier: "02", id: PRLF }'));
    holder = holderOn(root);
    const clash = holder.lastDiagnostics.filter((d) => d.code === 'PARTNER_DUPLICATE_ISA').map((d) => d.file).sort();
    expect(clash).toEqual([file, join(root, 'prairie-line', 'partner.yaml')]);
  });

  it('changes in a hidden folder of the partners root (a .git) do not reload the partners', () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-reload-audit-git-'));
    cpSync(join(repoRoot, 'partners/prairie-line'), join(root, 'prairie-line'), { recursive: true });
    mkdirSync(join(root, '.git'));
    holder = holderOn(root);
    const loaded = holder.current;
    writeFileSync(join(root, '.git', 'index'), 'changed by git status');
    vi.advanceTimersByTime(POLL_MS * 3);
    expect(holder.current).toBe(loaded);
  });

  it('the partners folder gone for a while: the partners loaded stay, and come back reloaded with it', () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-reload-audit-gone-'));
    const partners = join(root, 'partners');
    cpSync(join(repoRoot, 'partners/prairie-line'), join(partners, 'prairie-line'), { recursive: true });
    holder = holderOn(partners);
    renameSync(partners, join(root, 'partners.old')); // a deploy: move away, then copy the new one in
    vi.advanceTimersByTime(POLL_MS * 3);
    expect(holder.current.list().map((p) => p.id)).toEqual(['prairie-line']);
    cpSync(join(root, 'partners.old'), partners, { recursive: true });
    const file = join(partners, 'prairie-line', 'partner.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('name: Prairie Line Freight', 'name: Prairie Line Freight Inc'));
    vi.advanceTimersByTime(POLL_MS * 3);
    expect(holder.current.get('prairie-line')?.config.name).toBe('Prairie Line Freight Inc');
  });

  it('a reload that throws is logged (PARTNER_RELOAD_FAILED) and the partners stay; the process goes on', () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-reload-audit-throw-'));
    cpSync(join(repoRoot, 'partners/prairie-line'), join(root, 'prairie-line'), { recursive: true });
    const errors: unknown[] = [];
    holder = new PartnerHolder(root, { ...silent, error: (o: unknown) => errors.push(o) } as never);
    holder.reload();
    holder.watch(POLL_MS);
    const loaded = holder.current;
    vi.spyOn(holder, 'reload').mockImplementation(() => {
      throw Object.assign(new Error('EACCES: permission denied, scandir'), { code: 'EACCES' });
    });
    writeFileSync(join(root, 'prairie-line', 'partner.yaml'), readFileSync(join(root, 'prairie-line', 'partner.yaml'), 'utf8') + '\n');
    expect(() => vi.advanceTimersByTime(POLL_MS * 3)).not.toThrow();
    expect(holder.current).toBe(loaded);
    expect(errors).toEqual([expect.objectContaining({ code: 'PARTNER_RELOAD_FAILED' })]);
  });
});

describe('loadPartner on a folder it cannot look into', () => {
  it('is a coded diagnostic, not a throw (EACCES on a partner folder threw out of the reload timer)', () => {
    // As root, chmod cannot deny; ENOTDIR comes from the same lstat call EACCES came from.
    const root = mkdtempSync(join(tmpdir(), 'wb-reload-audit-notdir-'));
    writeFileSync(join(root, 'acme'), 'not a folder');
    const r = loadPartner(join(root, 'acme'));
    expect(r.config).toBeNull();
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'YAML_FILE_UNREADABLE', message: expect.stringContaining('ENOTDIR') })]);
  });
});
