// What an acknowledgment may echo of the inbound data. A 997/999/TA1 repeats the partner's identifiers
// (GS01/GS06 in AK1, ST01/ST02 in AK2, segment ids and positions in AK3/AK4, ISA13/ISA09/ISA10 in TA1)
// so that the partner can match it to what it sent. But the acknowledgment must itself be valid X12
// (the partner's translator, and Waybill's own reader, refuse it otherwise), and an echo must still name
// what the partner sent: a truncated control number names another transaction set.
//
// Each function returns the value to write, or undefined when the inbound value cannot be written in
// that element without saying something else. The builder then leaves out what the standard lets it
// leave out (an optional element, an AK3 or AK4, an AK2 loop) and says so in its notes; the error itself
// is reported by the codes the inbound finding maps to (AK502 6/7 for a bad ST01/ST02, AK905 6 for a bad
// GS06, ...).

/** X12 identifiers (ST01, GS01, segment ids) are upper-case letters and digits. */
const IDENTIFIER = /^[A-Z0-9]+$/;

/**
 * An identifier (ID type) of `min`-`max` characters, echoed as sent. Trailing spaces are not part of
 * an X12 value (they only pad fixed-width fields), so they are dropped; anything else that does not fit
 * (a lower-case segment id, a 4-character ST01, a delimiter replaced in the value) cannot be echoed.
 */
export function identifierEcho(raw: string, min: number, max: number): string | undefined {
  const v = raw.trimEnd();
  return v.length >= min && v.length <= max && IDENTIFIER.test(v) ? v : undefined;
}

/**
 * ST02 in AK202 (AN 4/9). X12 string values suppress trailing spaces "unless they are necessary to
 * satisfy a minimum length requirement": a 1-3 character ST02 ('001') is written with trailing spaces
 * ('001 '), which is the same string value in a form the element allows; zero-padding ('0001') would
 * name another control number. An empty ST02, one longer than 9 characters (truncating it would name
 * another set) or one that held a delimiter cannot be echoed.
 */
export function controlNumberEcho(raw: string, clean: (v: string) => string): string | undefined {
  const v = raw.trimEnd();
  if (v.trim() === '' || v.length > 9 || clean(v) !== v) return undefined;
  return v.padEnd(4, ' ');
}

/**
 * A number (N0) of at most `maxDigits` digits. Leading zeros of a number are not significant: they are
 * dropped when, and only when, the value is too long with them ('0000000012' in a 9-digit element is 12).
 */
export function numberEcho(raw: string | number, maxDigits: number): string | undefined {
  const v = typeof raw === 'number' ? (Number.isSafeInteger(raw) && raw >= 0 ? String(raw) : '') : raw.trim();
  if (!/^\d+$/.test(v)) return undefined;
  if (v.length <= maxDigits) return v;
  const short = v.replace(/^0+(?=\d)/, '');
  return short.length <= maxDigits ? short : undefined;
}

/** A position (segment, element, component or repetition): a whole number from 1 with at most `maxDigits` digits. */
export function positionEcho(n: number | undefined, maxDigits: number): string | undefined {
  return n !== undefined && Number.isSafeInteger(n) && n >= 1 && String(n).length <= maxDigits ? String(n) : undefined;
}

/**
 * An optional string (AN) element of at most `max` characters (GS08 in AK103, ST03 in AK203, a loop id
 * in AK303): written when it fits, left out when it does not (a cut version or loop id would name
 * another one) or when cleaning it changed it.
 */
export function optionalTextEcho(raw: string | undefined, max: number, clean: (v: string) => string): string | undefined {
  const v = (raw ?? '').trim();
  return v !== '' && [...v].length <= max && clean(v) === v ? v : undefined;
}

/**
 * ISA09 in TA102 (YYMMDD). An ISA09 sent as CCYYMMDD ('20250416') is the same date as its last six
 * digits; anything else that is not six digits cannot be echoed.
 */
export function interchangeDateEcho(raw: string): string | undefined {
  const v = raw.trim();
  if (/^\d{6}$/.test(v)) return v;
  return /^\d{8}$/.test(v) ? v.slice(2) : undefined;
}

/** ISA10 in TA103 (HHMM). An ISA10 sent with seconds ('110500') is the same minute as its first four digits. */
export function interchangeTimeEcho(raw: string): string | undefined {
  const v = raw.trim();
  if (/^\d{4}$/.test(v)) return v;
  return /^\d{6}$/.test(v) ? v.slice(0, 4) : undefined;
}

/**
 * AK404/IK404, the copy of the bad data element (AN 1/99): the inbound value with the characters the
 * ack cannot carry already replaced by `clean`, cut to 99 characters (code points: a cut through a
 * surrogate pair would leave half a character the writer refuses), without trailing spaces; empty when
 * nothing is left (the element is then left out).
 */
export function badDataCopy(raw: string, clean: (v: string) => string): string {
  return [...clean(raw)].slice(0, 99).join('').trimEnd();
}
