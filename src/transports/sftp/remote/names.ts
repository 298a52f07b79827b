// File names: glob matching for poll patterns and temporary names, and outbound names from a pattern.
// Outbound names come only from the document (never the clock), so a retry after a crash produces the
// same name and cannot leave a second copy under another name.

/** A shell-style glob (* ? only) as an anchored, case-insensitive RegExp. */
export function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i');
}

export function matchesAny(name: string, globs: readonly string[]): boolean {
  return globs.some((g) => globToRegExp(g).test(name));
}

export interface NameSource {
  id: string;
  kind: string;
  /** ISO timestamp the document was created; {date} and {time} come from it (UTC). */
  createdAt: string;
  controls?: { interchange?: string; group?: string; transaction?: string } | null;
}

/** Characters safe in a file name on any server we may meet; anything else becomes "_". */
function safe(v: string): string {
  return v.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Renders {kind} {id} {control} {date} {time}; control is the interchange control (ISA13) when there is one. */
export function renderFileName(pattern: string, doc: NameSource): string {
  const at = new Date(doc.createdAt);
  const iso = Number.isNaN(at.getTime()) ? '19700101T000000' : at.toISOString().replace(/[-:]/g, '');
  const control = doc.controls?.interchange ?? doc.controls?.group ?? doc.controls?.transaction ?? '';
  const values: Record<string, string> = {
    kind: safe(doc.kind), id: safe(doc.id), control: safe(control), date: iso.slice(0, 8), time: iso.slice(9, 15),
  };
  const name = pattern.replace(/\{(\w+)\}/g, (m, key: string) => values[key] ?? m);
  if (!name || name === '.' || name === '..' || name.includes('/')) throw new Error(`file name pattern '${pattern}' gives an unusable name '${name}'`);
  return name;
}

/** posix join for remote paths (the remote side is always "/"-separated, whatever we run on). */
export function remoteJoin(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name}`;
}
