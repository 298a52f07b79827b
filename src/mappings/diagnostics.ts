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

/** `file:line:col code message (did you mean X?)`, the form `waybill lint` prints. */
export function formatDiagnostic(d: Diagnostic): string {
  const hint = d.suggestion ? ` (did you mean '${d.suggestion}'?)` : '';
  return `${d.file}:${d.line}:${d.column} ${d.severity === 'warning' ? 'warning ' : ''}${d.code} ${d.message}${hint}`;
}

export function hasErrorDiagnostics(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
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
