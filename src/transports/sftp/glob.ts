// File-name globs for the hosted SFTP server's `tempPattern` and `completion.pattern`: `*` (any run of
// characters), `?` (one character) and `[...]` classes (`[!...]` negates), matched against the whole
// name and case-insensitively (carriers mix `.EDI` and `.edi`). Several globs are separated by commas.
// No `/` is ever matched: names in a mailbox have no directories.

export type NameMatcher = (name: string) => boolean;

/** Splits `'*.tmp, *.part,.*'` (or a list) into trimmed, non-empty globs. */
export function splitGlobs(input: string | readonly string[]): string[] {
  const parts = typeof input === 'string' ? input.split(',') : input.flatMap((s) => s.split(','));
  return parts.map((s) => s.trim()).filter((s) => s.length > 0);
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) { re += '\\['; continue; }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\/\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

/** A matcher for a comma-separated glob list; an empty list matches nothing. */
export function compileGlobs(input: string | readonly string[]): NameMatcher {
  const res = splitGlobs(input).map(globToRegExp);
  return (name) => res.some((r) => r.test(name));
}
