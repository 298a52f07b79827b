// Characters a text format cannot carry as data: C0 control characters and DEL (a reader drops or refuses
// them), and half of a surrogate pair (encoded as U+FFFD). The X12 and CSV writers refuse a value holding
// one rather than hand a partner other data than was given; CSV allows tab and line breaks, which it quotes.

const ANY_CONTROL = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const CONTROL_BUT_TAB_AND_LINE_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export interface UnwritableChar {
  character: string;
  offset: number;
  /** e.g. "a control character U+000D", "half of a surrogate pair U+D800". */
  description: string;
}

/** The first character of `value` no output can carry (tab, CR and LF allowed with `lineBreaks`), or null. */
export function firstUnwritable(value: string, options: { lineBreaks?: boolean } = {}): UnwritableChar | null {
  const m = (options.lineBreaks ? CONTROL_BUT_TAB_AND_LINE_BREAKS : ANY_CONTROL).exec(value);
  if (!m) return null;
  const code = m[0].charCodeAt(0);
  const what = code >= 0xd800 && code <= 0xdfff ? 'half of a surrogate pair' : 'a control character';
  return { character: m[0], offset: m.index, description: `${what} U+${code.toString(16).toUpperCase().padStart(4, '0')}` };
}
