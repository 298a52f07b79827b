// Diagnostics as data: every config or mapping problem is collected (never first-error-only), with
// file:line:column, a stable code and, where a name is close to a known one, a did-you-mean.

export interface Diagnostic {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  file: string;
  line: number;
  column: number;
  /** A close known name, when the problem is an unknown name. */
  suggestion?: string;
}

/**
 * `file:line:col CODE message (did you mean 'X'?)`, the form every command prints diagnostics in. A
 * warning is marked at the end of its line, ` (warning)`, so the code is always the second field that
 * editors and scripts split on.
 */
export function formatDiagnostic(d: Diagnostic): string {
  // A suggestion that is itself quoted text to write ('090', for a code YAML reads as the number 90) is
  // shown as it is: "(did you mean ''090''?)" read as two empty strings around a number.
  const quoted = d.suggestion !== undefined && /^(['"]).*\1$/.test(d.suggestion);
  const hint = d.suggestion ? (quoted ? ` (did you mean ${d.suggestion}?)` : ` (did you mean '${d.suggestion}'?)`) : '';
  return `${d.file}:${d.line}:${d.column} ${d.code} ${d.message}${hint}${d.severity === 'warning' ? ' (warning)' : ''}`;
}

/**
 * A file named inside a message, as commands print a diagnostic's own file: relative to the working
 * folder when it is inside it (`partners/x/mappings/214.yaml`, not the absolute path a folder given to
 * lint resolves to).
 */
export function shownPath(file: string): string {
  const cwd = process.cwd();
  return file.startsWith(`${cwd}/`) ? file.slice(cwd.length + 1) : file;
}

export function hasErrorDiagnostics(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment): `tabel` is one edit from `table`,
 * as a typist sees it, not two.
 */
function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let before = new Array<number>(b.length + 1).fill(0); // row i-2
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j); // row i-1
  let cur = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1);
      cur[j] = d;
    }
    [before, prev, cur] = [prev, cur, before];
  }
  return prev[b.length];
}

/** The known name closest to `name`, when it is close enough to be a plausible typo. */
export function didYouMean(name: string, known: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const score = editDistance(lower, k.toLowerCase());
    if (score < bestScore) {
      best = k;
      bestScore = score;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(Math.max(name.length, best.length) / 3)));
  return bestScore <= limit ? best : undefined;
}

/** File, then line, then column order: how people read a list of problems. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}
