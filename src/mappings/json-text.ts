// JSON that people write (test expectations, commands for `waybill render`): parsed with the place of the
// first problem, as line and column, for diagnostics; a UTF-8 byte order mark, which editors on Windows
// put first, is not a problem.

export type JsonText = { ok: true; value: unknown } | { ok: false; message: string; line: number; column: number };

export function parseJsonText(text: string): JsonText {
  const body = text.startsWith('\ufeff') ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    const message = (err as Error).message;
    const { line, column } = jsonErrorPosition(body, message);
    // The offset is in the position already; what is left is V8's own sentence.
    return { ok: false, message: message.replace(/ in JSON at position \d+.*$/, ''), line, column };
  }
}

/**
 * Where JSON.parse stopped. V8 gives the offset ("at position 12"; newer versions add "(line 2 column 5)")
 * except at the end of the input ("Unexpected end of JSON input"), which is then the place.
 */
export function jsonErrorPosition(text: string, message: string): { line: number; column: number } {
  const lc = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const at = /at position (\d+)/.exec(message);
  const before = text.slice(0, at ? Number(at[1]) : text.length).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}
