import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { compilePartner, duplicateIsaDiagnostics } from '../../mappings/registry.js';
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from '../../mappings/diagnostics.js';
import { partnerDirs } from '../../mappings/partner-config.js';
import { sharedTables } from '../../mappings/tables.js';
import { CliError } from '../cli-error.js';
import { nearPathHint } from '../files.js';

export interface LintFlags {
  json?: boolean;
  partners: string;
}

/** Which partner folders a path names: a partners root, one partner folder, or a file inside one. */
export function partnerFoldersFor(path: string, partnersRoot: string): string[] {
  const p = resolve(path);
  if (!existsSync(p)) throw new CliError('CLI_FILE_NOT_FOUND', `no such file or folder: ${path}${nearPathHint(path)}`);
  if (statSync(p).isDirectory()) {
    if (existsSync(join(p, 'partner.yaml'))) return [p];
    const dirs = partnerDirs(p);
    // A partners root has partner folders under it; a partner folder that lost its partner.yaml has
    // mappings/, tables/ and tests/ under it, which are no partners: it is one partner, to be told what it lacks.
    const isRoot = resolve(p) === resolve(partnersRoot) || dirs.some((d) => existsSync(join(d, 'partner.yaml')));
    if (!isRoot && (dirname(p) === resolve(partnersRoot) || looksLikePartnerFolder(p))) return [p];
    if (dirs.length) return dirs;
    throw new CliError('CLI_USAGE', `${path} holds no partner folders (no partner.yaml found)`);
  }
  // A file: the partner folder that contains it.
  for (let d = dirname(p); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'partner.yaml'))) return [d];
    if (resolve(d) === resolve(partnersRoot)) break;
  }
  throw new CliError('CLI_USAGE', `${path} is not inside a partner folder (${basename(p)})`);
}

/** A folder with a partner's own parts (mappings/, or a file named like partner.yaml). */
function looksLikePartnerFolder(dir: string): boolean {
  return existsSync(join(dir, 'mappings')) || readdirSync(dir).some((n) => /^partner\.[a-z]+$/i.test(n));
}

export async function lintCommand(paths: string[], flags: LintFlags): Promise<number> {
  const targets = paths.length ? paths : [flags.partners];
  const folders = [...new Set(targets.flatMap((t) => partnerFoldersFor(t, flags.partners)))];
  const diagnostics: Diagnostic[] = [...sharedTables().diagnostics];
  const compiled = folders.map((dir) => ({ dir, ...compilePartner(dir, { prepareValidation: false }) }));
  for (const c of compiled) diagnostics.push(...c.diagnostics);
  // Each folder compiles on its own; an ISA id it shares with another partner only shows across them.
  diagnostics.push(...duplicateIsaDiagnostics(compiled, flags.partners));
  // Shared-table findings are reported once, not once per partner.
  const seen = new Set<string>();
  const unique = sortDiagnostics(diagnostics).filter((d) => {
    const k = formatDiagnostic(d);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const rel = (f: string) => (f.startsWith(process.cwd() + '/') ? f.slice(process.cwd().length + 1) : f);
  const errors = unique.filter((d) => d.severity === 'error').length;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ partners: folders.map(rel), errors, warnings: unique.length - errors, diagnostics: unique.map((d) => ({ ...d, file: rel(d.file) })) }, null, 2)}\n`);
  } else {
    for (const d of unique) process.stdout.write(`${formatDiagnostic({ ...d, file: rel(d.file) })}\n`);
    process.stderr.write(`lint: ${folders.length} partner(s), ${errors} error(s), ${unique.length - errors} warning(s)\n`);
  }
  return errors > 0 ? 1 : 0;
}
