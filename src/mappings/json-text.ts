// JSON that people write (test expectations, commands for `waybill render`): parsed with the place of the
// first problem, as line and column, for diagnostics; a UTF-8 byte order mark, which editors on Windows
// put first, is not a problem.
import { findNodeAtLocation, parse as parseLocating, parseTree, ParseErrorCode, visit, type ParseError } from 'jsonc-parser';

export type JsonText = { ok: true; value: unknown } | { ok: false; message: string; line: number; column: number };

export function parseJsonText(text: string): JsonText {
  const body = text.startsWith('\ufeff') ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    return { ok: false, ...jsonProblem(body, (err as Error).message) };
  }
  const duplicate = firstDuplicateKey(body);
  if (duplicate) return { ok: false, ...duplicate };
  return { ok: true, value };
}

/**
 * A key an object of the text has twice, where the second stands: JSON.parse keeps the later value and
 * says nothing, so a command with `carrierScac` twice rendered one of them. Only objects' own keys count.
 */
function firstDuplicateKey(text: string): { message: string; line: number; column: number } | null {
  if (!text.includes('{')) return null;
  const keys: Set<string>[] = [];
  let found: { message: string; line: number; column: number } | null = null;
  visit(text, {
    onObjectBegin: () => { keys.push(new Set()); },
    onObjectEnd: () => { keys.pop(); },
    onObjectProperty: (name, offset) => {
      const seen = keys[keys.length - 1];
      if (found || !seen) return;
      if (seen.has(name)) found = { message: `the key ${JSON.stringify(name)} appears twice in one object (the later value would silently win)`, ...lineColumn(text, offset) };
      seen.add(name);
    },
  }, { disallowComments: true, allowTrailingComma: false });
  return found;
}

/**
 * What is wrong with text JSON.parse refused, and where. V8's message often says neither usefully: an
 * unexpected token comes with no position and an excerpt of the text (line breaks and all), and at the
 * end of a literal such as `tru` it names the character after it. jsonc-parser (run only on such text, in
 * strict JSON mode) reports the first problem's offset; V8's own sentence is the fallback.
 */
export function jsonProblem(text: string, v8Message: string): { message: string; line: number; column: number } {
  const errors: ParseError[] = [];
  parseLocating(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first !== undefined) {
    return { message: describe(first, text), ...lineColumn(text, first.offset) };
  }
  const at = /at position (\d+)/.exec(v8Message);
  // The sentence alone: no position (the location says it) and no excerpt of the text.
  const sentence = v8Message.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
  return { message: sentence, ...lineColumn(text, at ? Number(at[1]) : text.length) };
}

function describe(e: ParseError, text: string): string {
  // Control characters (a binary file given as JSON) are shown escaped, not written to the terminal.
  const found = text.slice(e.offset, e.offset + Math.min(e.length, 20)).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const shown = found.length > 0 ? `'${found}'` : 'the end of the text';
  switch (e.error) {
    case ParseErrorCode.InvalidSymbol:
      if (completeBefore(text, e.offset)) return `nothing may follow the JSON value, found ${shown}`;
      return `unexpected ${shown} (strings need double quotes; true, false and null are lower case)`;
    case ParseErrorCode.InvalidNumberFormat: return `${shown} is not a JSON number`;
    // The hint only where it is the mistake: a '}' after a comma. Before, `"a": 1,, "b": 2` (a comma
    // twice) was also told "no comma after the last property", which is not what is wrong there.
    case ParseErrorCode.PropertyNameExpected: return `a property name in double quotes is expected, found ${shown}${found.startsWith('}') ? ' (no comma after the last property)' : ''}`;
    case ParseErrorCode.ValueExpected: return `a value is expected, found ${shown}${found.startsWith(']') && text.slice(0, e.offset).trimEnd().endsWith(',') ? ' (no comma after the last item)' : ''}`;
    case ParseErrorCode.ColonExpected: return `':' is expected after the property name, found ${shown}`;
    case ParseErrorCode.CommaExpected: return `',' is expected, found ${shown}`;
    case ParseErrorCode.CloseBraceExpected: return `'}' is expected, found ${shown}`;
    case ParseErrorCode.CloseBracketExpected: return `']' is expected, found ${shown}`;
    case ParseErrorCode.EndOfFileExpected: return `nothing may follow the JSON value, found ${shown}`;
    case ParseErrorCode.InvalidCommentToken: return 'comments are not allowed in JSON';
    case ParseErrorCode.UnexpectedEndOfComment: return 'a comment is not closed (comments are not allowed in JSON)';
    case ParseErrorCode.UnexpectedEndOfString: return 'a string is not closed on its line (a line break or tab inside a string is written \\n or \\t)';
    case ParseErrorCode.UnexpectedEndOfNumber: return `${shown} is not a complete number`;
    case ParseErrorCode.InvalidUnicode: return `${shown} is not a valid \\u escape`;
    case ParseErrorCode.InvalidEscapeCharacter: return `${shown} is not a valid escape (use \\\\ for a backslash)`;
    case ParseErrorCode.InvalidCharacter: return 'a control character inside a string (write it as an escape such as \\t)';
    default: return `not valid JSON at ${shown}`;
  }
}

/** Whether the text before `offset` is a whole JSON value (what follows it is then the mistake). */
function completeBefore(text: string, offset: number): boolean {
  try {
    JSON.parse(text.slice(0, offset));
    return true;
  } catch {
    return false;
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** A path as canonical issues write it (`stops[1].party.name`, `["odd key"]`, `(root)`) as its keys and indexes; null if it is none. */
function pathParts(path: string): (string | number)[] | null {
  if (path === '(root)') return [];
  const parts: (string | number)[] = [];
  const token = /^(?:\.?([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\])/;
  let rest = path;
  while (rest.length > 0) {
    const m = token.exec(rest);
    if (!m) return null;
    parts.push(m[1] !== undefined ? m[1] : m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]) as string));
    rest = rest.slice(m[0].length);
  }
  return parts;
}

/**
 * Where the value at `path` (as canonical issues write paths) starts in a JSON text, or with `key: true`
 * where its key does; when the text has no such value (a key that is missing), where the nearest
 * enclosing value starts, with `exact: false`.
 */
export function jsonPosition(text: string, path: string, opts: { key?: boolean } = {}): { line: number; column: number; exact: boolean } {
  const body = text.startsWith('\ufeff') ? text.slice(1) : text;
  const root = parseTree(body);
  const parts = pathParts(path);
  if (!root || !parts) return { line: 1, column: 1, exact: false };
  for (let n = parts.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, parts.slice(0, n));
    if (!node) continue;
    const keyNode = opts.key && n === parts.length && node.parent?.type === 'property' ? node.parent.children?.[0] : undefined;
    return { ...lineColumn(body, (keyNode ?? node).offset), exact: n === parts.length };
  }
  return { line: 1, column: 1, exact: false };
}
