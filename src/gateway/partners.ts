// Partner configuration that can change while the gateway runs: reload, compile, then swap. A partner
// whose new files do not compile keeps its previous compiled version, and the diagnostics are reported.
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatDiagnostic, type Diagnostic } from '../mappings/diagnostics.js';
import { partnerDirs } from '../mappings/partner-config.js';
import { compilePartner, PartnerRegistry } from '../mappings/registry.js';
import type { Logger } from '../pipeline/context.js';

/**
 * A cheap fingerprint of every file under the partners folder (names, sizes, mtimes). Symbolic links are
 * followed, as the compile follows them (partnerDirs and the file reads stat through links): a partner
 * folder linked in from elsewhere, or a ConfigMap-style `..data` link swapped to a new folder, had its
 * edits compiled by nobody, since a Dirent of a link is neither a file nor a folder. A folder already
 * walked (a link pointing back up) is not walked again.
 */
function fingerprint(dir: string): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  const walk = (d: string, top = false) => {
    let entries;
    try {
      const real = realpathSync(d);
      if (seen.has(real)) return;
      seen.add(real);
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      // What partnerDirs skips is never compiled, so not watched: a `.git` of the analysts' repository
      // (changed by every fetch and status) reloaded all partners, and was walked whole at each check.
      if (top && e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      const st = e.isSymbolicLink() ? statSync(p, { throwIfNoEntry: false }) : e;
      if (!st) parts.push(`${p}:broken-link`); // a link made or mended is a change too
      else if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const s = statSync(p, { throwIfNoEntry: false });
        // ctime too: a same-size edit whose mtime is set back or lands in the same tick of a coarse
        // file system (1-2 s on FAT, some shares; `cp -p`, `tar x`, rsync -t keep the old mtime) left
        // size and mtime as they were, and the edit was never loaded. No one can set ctime.
        if (s) parts.push(`${p}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`);
      }
    }
  };
  walk(dir, true);
  return parts.join('\n');
}

/** Why `dir` cannot be listed as the partners folder, or null when it can. */
function folderProblem(dir: string): string | null {
  try {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (!st) return 'does not exist';
    if (!st.isDirectory()) return 'is not a folder';
    readdirSync(dir);
    return null;
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
}

export class PartnerHolder {
  private registry = new PartnerRegistry();
  private print = '';
  private timer: NodeJS.Timeout | null = null;
  /** Diagnostics of the last load, for /readyz and the logs. */
  lastDiagnostics: Diagnostic[] = [];
  private readonly listeners: Array<(registry: PartnerRegistry) => void> = [];

  constructor(private readonly dir: string, private readonly log: Logger) {}

  get current(): PartnerRegistry {
    return this.registry;
  }

  /** Told after every reload, with the registry now current (transports follow partner changes). */
  onReload(listener: (registry: PartnerRegistry) => void): void {
    this.listeners.push(listener);
  }

  /** Loads every partner; on reload, broken partners keep their previous version. */
  reload(): { swapped: boolean; diagnostics: Diagnostic[] } {
    this.print = fingerprint(this.dir);
    // The partners folder itself gone (an unmounted share, a deploy that deletes and copies), not a
    // folder or not readable: loaded as no partner folders, every partner was dropped (hosted SFTP
    // sessions ended, pollers stopped, every file failed) with nothing logged but an empty list. The
    // partners loaded before stay; each change check tries again (the fingerprint keeps differing).
    const unreadable = this.registry.list().length > 0 ? folderProblem(this.dir) : null;
    if (unreadable) {
      this.print = ''; // what a missing or unreadable folder fingerprints as: reloaded once it is back
      const diagnostic: Diagnostic = { code: 'PARTNER_RELOAD_FAILED', severity: 'error', file: this.dir, line: 1, column: 1,
        message: `the partners folder ${this.dir} ${unreadable}; the partners loaded before stay in use until it can be read again` };
      this.log.error({ diagnostic: formatDiagnostic(diagnostic), code: diagnostic.code }, 'partner reload failed');
      return { swapped: false, diagnostics: [diagnostic] };
    }
    const next = new PartnerRegistry();
    const diagnostics: Diagnostic[] = [];
    for (const dir of partnerDirs(this.dir)) {
      if (basename(dir).startsWith('_')) continue; // templates are linted, never served
      const { partner, config, diagnostics: d } = compilePartner(dir);
      diagnostics.push(...d);
      if (partner) next.add(partner, diagnostics);
      else {
        const old = this.registry.list().find((p) => p.dir === dir);
        if (old) {
          next.add(old, diagnostics);
          this.log.warn({ partner: old.id }, 'partner files do not compile; keeping the previous version');
        } else if (config) next.addBroken(config, diagnostics, dir); // with its folder: an ISA clash with a served partner is reported at both files, as lint does
        else next.addUnreadable(dir);
      }
    }
    for (const d of diagnostics.filter((x) => x.severity === 'error')) this.log.error({ diagnostic: formatDiagnostic(d), code: d.code }, 'partner configuration error');
    this.registry = next;
    this.lastDiagnostics = diagnostics;
    this.log.info({ partners: next.list().map((p) => p.id) }, 'partners loaded');
    for (const listener of this.listeners) listener(next);
    return { swapped: true, diagnostics };
  }

  /**
   * Polls the partners folder and reloads once a change has settled: when two polls in a row see the
   * same new fingerprint. A save in two steps (truncate, then write) or a folder being copied in can be
   * seen half done, and half a partner.yaml or mapping often still compiles (cut before `x12:`, a partner
   * with no ISA id and no inbound entries; cut inside `fields:`, events without the rest): swapped in,
   * it would fail or thin out every file until the next poll. Waiting one poll costs at most one more
   * interval; rapid saves then make one reload, not one per save.
   */
  watch(ms: number): void {
    if (ms <= 0) return;
    let pending: string | null = null;
    this.timer = setInterval(() => {
      const now = fingerprint(this.dir);
      if (now === this.print) pending = null;
      else if (now !== pending) pending = now; // changed (or still changing): look again next poll
      else {
        pending = null;
        try {
          this.reload();
        } catch (err) {
          // Thrown out of a timer, this ended the process: one unreadable file sank every partner.
          // The registry is swapped only at the end of reload(), so the previous one is still whole;
          // reload() took the fingerprint first, so the next change tries again.
          this.log.error({ code: 'PARTNER_RELOAD_FAILED', err: (err as Error).message }, 'partner reload failed; the partners loaded before stay in use');
        }
      }
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
